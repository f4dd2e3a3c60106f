/* A small multilayer perceptron in float64: forward pass and mini-batch Adam training by
 * backpropagation, deterministic for a seed (fixed operation order, own random numbers). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "soilmoisture.h"

static size_t layer_params(const nd_mlp *m, int l) { return (size_t)m->sizes[l + 1] * (size_t)(m->sizes[l] + 1); }

int nd_mlp_init(nd_mlp *m, int nlayers, const int *sizes, nd_rng *rng) {
    memset(m, 0, sizeof *m);
    if (nlayers < 1 || nlayers > ND_MLP_MAX_LAYERS) return -1;
    m->nlayers = nlayers;
    for (int l = 0; l <= nlayers; l++) {
        if (sizes[l] < 1 || sizes[l] > ND_MLP_MAX_WIDTH) return -1;
        m->sizes[l] = sizes[l];
    }
    for (int l = 0; l < nlayers; l++) m->nparams += layer_params(m, l);
    m->w = calloc(m->nparams, sizeof *m->w);
    if (!m->w) return -1;
    double *w = m->w;
    for (int l = 0; l < nlayers; l++) {
        int in = sizes[l], out = sizes[l + 1];
        double r = sqrt(6.0 / (in + out));
        for (int i = 0; i < out * in; i++) w[i] = (2.0 * nd_rng_uniform(rng) - 1.0) * r;
        w += layer_params(m, l); /* biases stay 0 */
    }
    for (int i = 0; i < ND_MLP_MAX_WIDTH; i++) m->in_scale[i] = m->out_scale[i] = 1.0;
    return 0;
}

void nd_mlp_free(nd_mlp *m) {
    free(m->w);
    m->w = NULL;
}

void nd_mlp_fit_scaling(nd_mlp *m, const double *x, const double *y, size_t n) {
    int in = m->sizes[0], out = m->sizes[m->nlayers];
    for (int j = 0; j < in + out; j++) {
        const double *src = j < in ? x : y;
        int stride = j < in ? in : out, c = j < in ? j : j - in;
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += src[i * (size_t)stride + (size_t)c];
        double mean = s / (double)n;
        for (size_t i = 0; i < n; i++) {
            double d = src[i * (size_t)stride + (size_t)c] - mean;
            s2 += d * d;
        }
        double sd = sqrt(s2 / (double)n);
        if (!(sd > 0)) sd = 1.0;
        if (j < in) m->in_mean[c] = mean, m->in_scale[c] = sd;
        else m->out_mean[c] = mean, m->out_scale[c] = sd;
    }
}

/* Forward on standardised input z; act[l] receives the activations of layer l (act[0] = z). */
static void forward_std(const nd_mlp *m, const double *z, double act[][ND_MLP_MAX_WIDTH]) {
    memcpy(act[0], z, (size_t)m->sizes[0] * sizeof(double));
    const double *w = m->w;
    for (int l = 0; l < m->nlayers; l++) {
        int in = m->sizes[l], out = m->sizes[l + 1];
        const double *b = w + (size_t)out * (size_t)in;
        for (int o = 0; o < out; o++) {
            double s = b[o];
            const double *row = w + (size_t)o * (size_t)in;
            for (int i = 0; i < in; i++) s += row[i] * act[l][i];
            act[l + 1][o] = l + 1 < m->nlayers ? tanh(s) : s;
        }
        w += layer_params(m, l);
    }
}

void nd_mlp_forward(const nd_mlp *m, const double *x, double *y) {
    double act[ND_MLP_MAX_LAYERS + 1][ND_MLP_MAX_WIDTH], z[ND_MLP_MAX_WIDTH];
    for (int i = 0; i < m->sizes[0]; i++) z[i] = (x[i] - m->in_mean[i]) / m->in_scale[i];
    forward_std(m, z, act);
    for (int o = 0; o < m->sizes[m->nlayers]; o++) y[o] = act[m->nlayers][o] * m->out_scale[o] + m->out_mean[o];
}

/* Adds the gradient of 0.5 * |out - t|^2 for one sample to g; returns the squared error. */
static double backprop(const nd_mlp *m, const double *z, const double *t, double *g) {
    double act[ND_MLP_MAX_LAYERS + 1][ND_MLP_MAX_WIDTH], delta[ND_MLP_MAX_WIDTH], prev[ND_MLP_MAX_WIDTH];
    forward_std(m, z, act);
    int L = m->nlayers, nout = m->sizes[L];
    double se = 0;
    for (int o = 0; o < nout; o++) {
        delta[o] = act[L][o] - t[o];
        se += delta[o] * delta[o];
    }
    size_t off[ND_MLP_MAX_LAYERS + 1] = {0};
    for (int l = 0; l < L; l++) off[l + 1] = off[l] + layer_params(m, l);
    for (int l = L - 1; l >= 0; l--) {
        int in = m->sizes[l], out = m->sizes[l + 1];
        const double *W = m->w + off[l];
        double *gW = g + off[l], *gb = gW + (size_t)out * (size_t)in;
        for (int o = 0; o < out; o++) {
            double d = delta[o];
            double *row = gW + (size_t)o * (size_t)in;
            for (int i = 0; i < in; i++) row[i] += d * act[l][i];
            gb[o] += d;
        }
        if (l == 0) break;
        for (int i = 0; i < in; i++) {
            double s = 0;
            for (int o = 0; o < out; o++) s += W[(size_t)o * (size_t)in + (size_t)i] * delta[o];
            prev[i] = s * (1.0 - act[l][i] * act[l][i]); /* tanh' */
        }
        memcpy(delta, prev, (size_t)in * sizeof(double));
    }
    return se;
}

double nd_mlp_train(nd_mlp *m, const double *x, const double *y, size_t n, const nd_mlp_train_opts *o,
                    void (*progress)(void *ctx, int epoch, double mse), void *ctx) {
    int in = m->sizes[0], out = m->sizes[m->nlayers];
    double *zx = malloc(n * (size_t)in * sizeof *zx), *zy = malloc(n * (size_t)out * sizeof *zy);
    double *g = malloc(m->nparams * sizeof *g), *mo = calloc(m->nparams, sizeof *mo),
           *ve = calloc(m->nparams, sizeof *ve);
    size_t *order = malloc(n * sizeof *order);
    double mse = NAN;
    if (!zx || !zy || !g || !mo || !ve || !order || n == 0) goto done;
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < in; j++) zx[i * in + j] = (x[i * in + j] - m->in_mean[j]) / m->in_scale[j];
        for (int j = 0; j < out; j++) zy[i * out + j] = (y[i * out + j] - m->out_mean[j]) / m->out_scale[j];
        order[i] = i;
    }
    nd_rng rng;
    nd_rng_seed(&rng, o->seed ^ 0x5eed5eedULL);
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double p1 = 1, p2 = 1;
    size_t batch = o->batch > 0 ? (size_t)o->batch : 32;
    for (int e = 0; e < o->epochs; e++) {
        double lr = o->epochs > 1 ? o->lr * pow(o->lr_final / o->lr, (double)e / (o->epochs - 1)) : o->lr;
        for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
            size_t j = (size_t)(nd_rng_next(&rng) % (i + 1)), t = order[i];
            order[i] = order[j], order[j] = t;
        }
        double sse = 0;
        for (size_t s = 0; s < n; s += batch) {
            size_t e_ = s + batch < n ? s + batch : n;
            memset(g, 0, m->nparams * sizeof *g);
            for (size_t k = s; k < e_; k++) sse += backprop(m, zx + order[k] * in, zy + order[k] * out, g);
            double inv = 1.0 / (double)(e_ - s);
            p1 *= b1, p2 *= b2;
            for (size_t k = 0; k < m->nparams; k++) {
                double gk = g[k] * inv;
                mo[k] = b1 * mo[k] + (1 - b1) * gk;
                ve[k] = b2 * ve[k] + (1 - b2) * gk * gk;
                m->w[k] -= lr * (mo[k] / (1 - p1)) / (sqrt(ve[k] / (1 - p2)) + eps);
            }
        }
        mse = sse / (double)(n * (size_t)out);
        if (progress) progress(ctx, e, mse);
    }
done:
    free(zx), free(zy), free(g), free(mo), free(ve), free(order);
    return mse;
}
