/* The soil-moisture trainer: simulates (sigma0, incidence, NDVI) -> moisture through the forward model
 * with noise, trains one network per a-priori condition (none, dry, wet: El Hajj et al. 2017 train a network per
 * moisture range) and writes them as weights.c; `nadir train soil-moisture` runs it. */
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soilmoisture.h"

nd_sm_train_conf nd_sm_train_defaults(nd_sm_condition cond, uint64_t seed) {
    static const double range[ND_SM_NCOND][2] = {{5, 40}, {5, 25}, {20, 40}};
    nd_sm_train_conf c = {
        .seed = seed + (uint64_t)cond,
        .samples = 20000,
        .mv_lo = range[cond][0],
        .mv_hi = range[cond][1],
        .noise_db = 0.3,
        .ndvi_noise = 0.01,
        .opt = {.epochs = 60, .batch = 32, .lr = 3e-3, .lr_final = 1e-4, .seed = seed + (uint64_t)cond},
        .hidden = {16, 16},
    };
    return c;
}

void nd_sm_simulate(nd_rng *rng, size_t n, double mv_lo, double mv_hi, double noise_db, double ndvi_noise, double *x,
                    double *y) {
    for (size_t i = 0; i < n; i++) {
        double mv = mv_lo + (mv_hi - mv_lo) * nd_rng_uniform(rng);
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
    nd_sm_simulate(&rng, conf->samples, conf->mv_lo, conf->mv_hi, conf->noise_db, conf->ndvi_noise, x, y);
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

char *nd_sm_weights_source(const nd_mlp m[ND_SM_NCOND], const nd_sm_train_conf c[ND_SM_NCOND]) {
    static const char *const names[ND_SM_NCOND] = {"none", "dry", "wet"};
    sbuf b = {0};
    sb_printf(&b,
              "/* The shipped soil-moisture networks, one per a-priori condition, written by `nadir train soil-moisture "
              "--seed %" PRIu64 "`:\n"
              " * do not edit (samples %zu, sigma0 noise %g dB, NDVI noise %g, hidden %d-%d, epochs %d, batch %d,\n"
              " * Adam %g -> %g); values are hex floats, exact. */\n"
              "#include \"soilmoisture.h\"\n",
              c[0].seed, c[0].samples, c[0].noise_db, c[0].ndvi_noise, c[0].hidden[0], c[0].hidden[1], c[0].opt.epochs,
              c[0].opt.batch, c[0].opt.lr, c[0].opt.lr_final);
    for (int k = 0; k < ND_SM_NCOND; k++) {
        sb_printf(&b, "\n/* %s: moisture %g-%g vol.%%, seed %" PRIu64 " */\nstatic const double weights_%s[%zu] = {\n",
                  names[k], c[k].mv_lo, c[k].mv_hi, c[k].seed, names[k], m[k].nparams);
        for (size_t i = 0; i < m[k].nparams; i++) sb_printf(&b, "    %a,\n", m[k].w[i]);
        sb_printf(&b, "};\n");
    }
    sb_printf(&b, "\nconst nd_sm_weights_blob nd_sm_weights[ND_SM_NCOND] = {\n");
    for (int k = 0; k < ND_SM_NCOND; k++) {
        sb_printf(&b, "    {\n        .nlayers = %d,\n        .sizes = {", m[k].nlayers);
        for (int l = 0; l <= m[k].nlayers; l++) sb_printf(&b, "%s%d", l ? ", " : "", m[k].sizes[l]);
        sb_printf(&b, "},\n        .in_mean = {%a, %a, %a},\n        .in_scale = {%a, %a, %a},\n", m[k].in_mean[0],
                  m[k].in_mean[1], m[k].in_mean[2], m[k].in_scale[0], m[k].in_scale[1], m[k].in_scale[2]);
        sb_printf(&b, "        .out_mean = %a,\n        .out_scale = %a,\n        .nparams = %zu,\n        .w = weights_%s,\n    },\n",
                  m[k].out_mean[0], m[k].out_scale[0], m[k].nparams, names[k]);
    }
    sb_printf(&b, "};\n");
    return b.p;
}

void nd_sm_shipped(nd_mlp *m, nd_sm_condition cond) {
    const nd_sm_weights_blob *w = &nd_sm_weights[cond < ND_SM_NCOND ? cond : ND_SM_COND_NONE];
    memset(m, 0, sizeof *m);
    m->nlayers = w->nlayers;
    memcpy(m->sizes, w->sizes, sizeof m->sizes);
    m->nparams = w->nparams;
    m->w = (double *)w->w; /* read-only use: the forward pass never writes */
    for (int i = 0; i < ND_MLP_MAX_WIDTH; i++) m->in_scale[i] = m->out_scale[i] = 1.0;
    for (int i = 0; i < 3; i++) m->in_mean[i] = w->in_mean[i], m->in_scale[i] = w->in_scale[i];
    m->out_mean[0] = w->out_mean;
    m->out_scale[0] = w->out_scale;
}

static void print_progress(void *ctx, int epoch, double mse) {
    if ((epoch + 1) % 10 == 0) fprintf(stderr, "epoch %d: training MSE (standardised) %.6f\n", epoch + 1, mse);
}

int nd_sm_train_main(int argc, char **argv) {
    uint64_t seed = 42;
    const char *out = "processes/soilmoisture/weights.c";
    static const struct option opts[] = {{"seed", required_argument, 0, 's'}, {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0}};
    optind = 1;
    for (int ch; (ch = getopt_long(argc, argv, "s:o:h", opts, NULL)) != -1;) {
        if (ch == 's') {
            char *end;
            seed = strtoull(optarg, &end, 10);
            if (*end) return fprintf(stderr, "nadir train: --seed takes an integer\n"), 2;
        } else if (ch == 'o') {
            out = optarg;
        } else if (ch == 'h') {
            printf("usage: nadir train soil-moisture [--seed N] [--out FILE]\n"
                   "Trains the soil-moisture networks (one per a-priori condition) on simulated data and writes\n"
                   "them as C source\n"
                   "(default %s, the file the program is built with).\n", out);
            return 0;
        } else {
            return 2;
        }
    }
    if (optind != argc - 1 || strcmp(argv[optind], "soil-moisture") != 0)
        return fprintf(stderr, "nadir train: expected the model name: soil-moisture\n"), 2;
    nd_sm_train_conf c[ND_SM_NCOND];
    nd_mlp m[ND_SM_NCOND];
    for (int k = 0; k < ND_SM_NCOND; k++) {
        c[k] = nd_sm_train_defaults((nd_sm_condition)k, seed);
        fprintf(stderr, "network %d of %d: moisture %g-%g vol.%%\n", k + 1, ND_SM_NCOND, c[k].mv_lo, c[k].mv_hi);
        if (nd_sm_train(&c[k], &m[k], print_progress, NULL) < 0) {
            while (k-- > 0) nd_mlp_free(&m[k]);
            return fprintf(stderr, "nadir train: out of memory\n"), 1;
        }
    }
    char *text = nd_sm_weights_source(m, c);
    for (int k = 0; k < ND_SM_NCOND; k++) nd_mlp_free(&m[k]);
    FILE *f = text ? fopen(out, "w") : NULL;
    int rc = 0;
    if (!f || fputs(text, f) < 0) rc = 1;
    if (f && fclose(f) != 0) rc = 1;
    free(text);
    if (rc) fprintf(stderr, "nadir train: cannot write %s\n", out);
    else printf("weights written to %s\n", out);
    return rc;
}
