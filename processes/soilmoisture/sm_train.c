/* The soil-moisture trainer: simulates (sigma0, incidence, NDVI) -> moisture through the forward model
 * with noise, trains the network and writes it as weights.c; `nadir train soil-moisture` runs it. */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soilmoisture.h"

nd_sm_train_conf nd_sm_train_defaults(void) {
    nd_sm_train_conf c = {
        .seed = 42,
        .samples = 20000,
        .noise_db = 0.3,
        .ndvi_noise = 0.01,
        .opt = {.epochs = 60, .batch = 32, .lr = 3e-3, .lr_final = 1e-4, .seed = 42},
        .hidden = {16, 16},
    };
    return c;
}

void nd_sm_simulate(nd_rng *rng, size_t n, double noise_db, double ndvi_noise, double *x, double *y) {
    for (size_t i = 0; i < n; i++) {
        double mv = 5.0 + 35.0 * nd_rng_uniform(rng);
        double th = 25.0 + 25.0 * nd_rng_uniform(rng);
        double nd = 0.9 * nd_rng_uniform(rng);
        double s = nd_sm_db(nd_sm_forward_vv(mv / 100.0, th, nd));
        double en = nd_rng_normal(rng), ev = nd_rng_normal(rng); /* always drawn: same stream whatever the noise */
        x[3 * i] = s + noise_db * en;
        x[3 * i + 1] = th;
        x[3 * i + 2] = nd + ndvi_noise * ev;
        y[i] = mv;
    }
}

int nd_sm_train(const nd_sm_train_conf *conf, nd_mlp *out, void (*progress)(void *ctx, int epoch, double mse),
                void *ctx) {
    nd_rng rng;
    nd_rng_seed(&rng, conf->seed);
    int sizes[4] = {3, conf->hidden[0], conf->hidden[1], 1};
    if (nd_mlp_init(out, 3, sizes, &rng) < 0) return -1;
    double *x = malloc(conf->samples * 3 * sizeof *x), *y = malloc(conf->samples * sizeof *y);
    if (!x || !y) {
        free(x), free(y);
        nd_mlp_free(out);
        return -1;
    }
    nd_sm_simulate(&rng, conf->samples, conf->noise_db, conf->ndvi_noise, x, y);
    nd_mlp_fit_scaling(out, x, y, conf->samples);
    nd_mlp_train(out, x, y, conf->samples, &conf->opt, progress, ctx);
    free(x), free(y);
    return 0;
}

/* Appends printf-style text to a growing buffer. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *q = realloc(b->p, cap);
        if (!q) return;
        b->p = q, b->cap = cap;
    }
}

char *nd_sm_weights_source(const nd_mlp *m, const nd_sm_train_conf *c) {
    sbuf b = {0};
    sb_printf(&b,
              "/* The shipped soil-moisture network, written by `nadir train soil-moisture --seed %" PRIu64
              "`: do not edit\n"
              " * (samples %zu, sigma0 noise %g dB, NDVI noise %g, hidden %d-%d, epochs %d, batch %d,\n"
              " * Adam %g -> %g); values are hex floats, exact. */\n"
              "#include \"soilmoisture.h\"\n\n"
              "static const double weights[%zu] = {\n",
              c->seed, c->samples, c->noise_db, c->ndvi_noise, c->hidden[0], c->hidden[1], c->opt.epochs,
              c->opt.batch, c->opt.lr, c->opt.lr_final, m->nparams);
    for (size_t i = 0; i < m->nparams; i++) sb_printf(&b, "    %a,\n", m->w[i]);
    sb_printf(&b, "};\n\nconst nd_sm_weights_blob nd_sm_weights = {\n    .nlayers = %d,\n    .sizes = {", m->nlayers);
    for (int l = 0; l <= m->nlayers; l++) sb_printf(&b, "%s%d", l ? ", " : "", m->sizes[l]);
    sb_printf(&b, "},\n    .in_mean = {%a, %a, %a},\n    .in_scale = {%a, %a, %a},\n", m->in_mean[0], m->in_mean[1],
              m->in_mean[2], m->in_scale[0], m->in_scale[1], m->in_scale[2]);
    sb_printf(&b, "    .out_mean = %a,\n    .out_scale = %a,\n    .nparams = %zu,\n    .w = weights,\n};\n",
              m->out_mean[0], m->out_scale[0], m->nparams);
    return b.p;
}

void nd_sm_shipped(nd_mlp *m) {
    memset(m, 0, sizeof *m);
    m->nlayers = nd_sm_weights.nlayers;
    memcpy(m->sizes, nd_sm_weights.sizes, sizeof m->sizes);
    m->nparams = nd_sm_weights.nparams;
    m->w = (double *)nd_sm_weights.w; /* read-only use: the forward pass never writes */
    for (int i = 0; i < ND_MLP_MAX_WIDTH; i++) m->in_scale[i] = m->out_scale[i] = 1.0;
    for (int i = 0; i < 3; i++) m->in_mean[i] = nd_sm_weights.in_mean[i], m->in_scale[i] = nd_sm_weights.in_scale[i];
    m->out_mean[0] = nd_sm_weights.out_mean;
    m->out_scale[0] = nd_sm_weights.out_scale;
}

static void print_progress(void *ctx, int epoch, double mse) {
    if ((epoch + 1) % 10 == 0) fprintf(stderr, "epoch %d: training MSE (standardised) %.6f\n", epoch + 1, mse);
}

int nd_sm_train_main(int argc, char **argv) {
    nd_sm_train_conf c = nd_sm_train_defaults();
    const char *out = "processes/soilmoisture/weights.c";
    static const struct option opts[] = {{"seed", required_argument, 0, 's'}, {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0}};
    optind = 1;
    for (int ch; (ch = getopt_long(argc, argv, "s:o:h", opts, NULL)) != -1;) {
        if (ch == 's') {
            char *end;
            c.seed = strtoull(optarg, &end, 10);
            if (*end) return fprintf(stderr, "nadir train: --seed takes an integer\n"), 2;
            c.opt.seed = c.seed;
        } else if (ch == 'o') {
            out = optarg;
        } else if (ch == 'h') {
            printf("usage: nadir train soil-moisture [--seed N] [--out FILE]\n"
                   "Trains the soil-moisture network on simulated data and writes it as C source\n"
                   "(default %s, the file the program is built with).\n", out);
            return 0;
        } else {
            return 2;
        }
    }
    if (optind != argc - 1 || strcmp(argv[optind], "soil-moisture") != 0)
        return fprintf(stderr, "nadir train: expected the model name: soil-moisture\n"), 2;
    nd_mlp m;
    if (nd_sm_train(&c, &m, print_progress, NULL) < 0) return fprintf(stderr, "nadir train: out of memory\n"), 1;
    char *text = nd_sm_weights_source(&m, &c);
    nd_mlp_free(&m);
    FILE *f = text ? fopen(out, "w") : NULL;
    int rc = 0;
    if (!f || fputs(text, f) < 0) rc = 1;
    if (f && fclose(f) != 0) rc = 1;
    free(text);
    if (rc) fprintf(stderr, "nadir train: cannot write %s\n", out);
    else printf("weights written to %s\n", out);
    return rc;
}
