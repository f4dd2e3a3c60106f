/* Super-resolution inference on the CPU (im2col + OpenBLAS sgemm) and the tiling shared with the GPU
 * path: per-band standardisation over the whole input, tiles with a halo as wide as the network's
 * receptive field so that tiles leave no seams, no-data carried through. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "superres.h"

/* PyTorch's cubic convolution coefficients (upsample.h), A = -0.75, in float as it computes them. */
static void cubic_coeffs(float t, float c[4]) {
    const float A = -0.75f;
    float x = t + 1.0f;
    c[0] = ((A * (x - 5.0f) * x + 8.0f * A) * x - 4.0f * A);
    x = t;
    c[1] = ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f;
    x = 1.0f - t;
    c[2] = ((A + 2.0f) * x - (A + 3.0f)) * x * x + 1.0f;
    x = 2.0f - t;
    c[3] = ((A * (x - 5.0f) * x + 8.0f * A) * x - 4.0f * A);
}

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void nd_sr_bicubic(const float *in, int h, int w, int s, float *out) {
    const float inv = 1.0f / (float)s;
    int W = w * s;
    for (int oy = 0; oy < h * s; oy++) {
        float ry = inv * ((float)oy + 0.5f) - 0.5f;
        int iy = (int)floorf(ry);
        float cy[4];
        cubic_coeffs(ry - (float)iy, cy);
        for (int ox = 0; ox < W; ox++) {
            float rx = inv * ((float)ox + 0.5f) - 0.5f;
            int ix = (int)floorf(rx);
            float cx[4], row[4];
            cubic_coeffs(rx - (float)ix, cx);
            for (int k = 0; k < 4; k++) {
                const float *r = in + (size_t)clampi(iy - 1 + k, 0, h - 1) * w;
                row[k] = r[clampi(ix - 1, 0, w - 1)] * cx[0] + r[clampi(ix, 0, w - 1)] * cx[1] +
                         r[clampi(ix + 1, 0, w - 1)] * cx[2] + r[clampi(ix + 2, 0, w - 1)] * cx[3];
            }
            out[(size_t)oy * W + ox] = row[0] * cy[0] + row[1] * cy[1] + row[2] * cy[2] + row[3] * cy[3];
        }
    }
}

/* col[(c*9 + ky*3 + kx)][y*w + x] = in[c][y+ky-1][x+kx-1], zero outside: a 3x3 'same' convolution is
 * then one matrix product. */
static void im2col3(const float *in, int c, int h, int w, float *col) {
    size_t n = (size_t)h * w;
    for (int ch = 0; ch < c; ch++)
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
                float *dst = col + ((size_t)ch * 9 + (size_t)(ky * 3 + kx)) * n;
                for (int y = 0; y < h; y++) {
                    int sy = y + ky - 1;
                    float *d = dst + (size_t)y * w;
                    if (sy < 0 || sy >= h) {
                        memset(d, 0, (size_t)w * sizeof *d);
                        continue;
                    }
                    const float *s = in + ((size_t)ch * h + (size_t)sy) * w;
                    int dx = kx - 1, x0 = dx < 0 ? 1 : 0, x1 = dx > 0 ? w - 1 : w;
                    if (dx < 0) d[0] = 0;
                    if (dx > 0) d[w - 1] = 0;
                    if (x1 > x0) memcpy(d + x0, s + x0 + dx, (size_t)(x1 - x0) * sizeof *d);
                }
            }
}

/* dst (+)= conv(src): with accumulate, dst already holds what the result is added to. */
static void conv3(const nd_sr_conv *cv, const float *src, int h, int w, float *col, float *dst, int accumulate) {
    size_t n = (size_t)h * w;
    for (int o = 0; o < cv->out; o++) {
        float *d = dst + (size_t)o * n, b = cv->b[o];
        if (accumulate)
            for (size_t i = 0; i < n; i++) d[i] += b;
        else
            for (size_t i = 0; i < n; i++) d[i] = b;
    }
    im2col3(src, cv->in, h, w, col);
    int k = cv->in * 9;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->out, (int)n, k, 1.0f, cv->w, k, col, (int)n, 1.0f, dst,
                (int)n);
}

static void relu(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

int nd_sr_forward_cpu(const nd_sr_model *m, const float *x, int h, int w, float *out) {
    int s = m->scale, nf = m->features, nb = m->bands, ntail = nb * s * s;
    size_t n = (size_t)h * w;
    int maxc = nf > ntail ? nf : ntail;
    float *a = malloc((size_t)nf * n * sizeof *a), *t = malloc((size_t)maxc * n * sizeof *t);
    float *col = malloc((size_t)9 * (size_t)(nf > nb ? nf : nb) * n * sizeof *col);
    float *up = malloc(n * (size_t)(s * s) * sizeof *up);
    if (!a || !t || !col || !up) {
        free(a), free(t), free(col), free(up);
        return -1;
    }
    conv3(&m->conv[0], x, h, w, col, a, 0);
    relu(a, (size_t)nf * n);
    for (int b = 0; b < m->blocks; b++) {
        conv3(&m->conv[1 + 2 * b], a, h, w, col, t, 0);
        relu(t, (size_t)nf * n);
        conv3(&m->conv[2 + 2 * b], t, h, w, col, a, 1);
    }
    conv3(&m->conv[m->nconv - 1], a, h, w, col, t, 0);
    /* Pixel shuffle: out[c][y*s+i][x*s+j] = t[c*s*s + i*s + j][y][x], plus the bicubic enlargement. */
    int W = w * s;
    for (int c = 0; c < nb; c++) {
        nd_sr_bicubic(x + (size_t)c * n, h, w, s, up);
        float *o = out + (size_t)c * n * (size_t)(s * s);
        for (int i = 0; i < s; i++)
            for (int j = 0; j < s; j++) {
                const float *src = t + ((size_t)(c * s * s + i * s + j)) * n;
                for (int y = 0; y < h; y++)
                    for (int xx = 0; xx < w; xx++) {
                        size_t k = (size_t)(y * s + i) * W + (size_t)(xx * s + j);
                        o[k] = src[(size_t)y * w + xx] + up[k];
                    }
            }
    }
    free(a), free(t), free(col), free(up);
    return 0;
}

int nd_sr_run(const nd_sr_model *m, const float *in, int h, int w, const nd_sr_opts *o, float *out, char *err,
              size_t errlen) {
    int s = m->scale, nb = m->bands, halo = nd_sr_halo(m);
    size_t n = (size_t)h * w;
    double mean[ND_SR_BANDS], sd[ND_SR_BANDS];
    float *xn = malloc((size_t)nb * n * sizeof *xn);
    if (!xn) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int c = 0; c < nb; c++) {
        const float *x = in + (size_t)c * n;
        double sum = 0, sum2 = 0;
        size_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i])) sum += x[i], cnt++;
        mean[c] = cnt ? sum / (double)cnt : 0;
        for (size_t i = 0; i < n; i++)
            if (!isnan(x[i])) sum2 += ((double)x[i] - mean[c]) * ((double)x[i] - mean[c]);
        sd[c] = cnt ? sqrt(sum2 / (double)cnt) : 1;
        if (sd[c] < 1e-6) sd[c] = 1;
        for (size_t i = 0; i < n; i++)
            xn[(size_t)c * n + i] = isnan(x[i]) ? 0.0f : (float)(((double)x[i] - mean[c]) / sd[c]);
    }
    int T = o && o->tile > 0 ? o->tile : (h > w ? h : w);
    int ty = (h + T - 1) / T, tx = (w + T - 1) / T, rc = 0;
    int ext = T + 2 * halo;
    size_t cap = (size_t)(ext < h ? ext : h) * (size_t)(ext < w ? ext : w);
    float *tin = malloc((size_t)nb * cap * sizeof *tin), *tout = malloc((size_t)nb * cap * (size_t)(s * s) * sizeof *tout);
    if (!tin || !tout) rc = -1, snprintf(err, errlen, "out of memory");
    size_t W = (size_t)w * s;
    for (int by = 0; by < ty && rc == 0; by++)
        for (int bx = 0; bx < tx && rc == 0; bx++) {
            int y0 = by * T, y1 = y0 + T < h ? y0 + T : h, x0 = bx * T, x1 = x0 + T < w ? x0 + T : w;
            int ey0 = y0 - halo > 0 ? y0 - halo : 0, ey1 = y1 + halo < h ? y1 + halo : h;
            int ex0 = x0 - halo > 0 ? x0 - halo : 0, ex1 = x1 + halo < w ? x1 + halo : w;
            int eh = ey1 - ey0, ew = ex1 - ex0;
            for (int c = 0; c < nb; c++)
                for (int y = 0; y < eh; y++)
                    memcpy(tin + ((size_t)c * eh + y) * ew, xn + (size_t)c * n + (size_t)(ey0 + y) * w + ex0,
                           (size_t)ew * sizeof *tin);
            if (o && o->device == ND_SR_CUDA) rc = nd_sr_forward_cuda(m, tin, eh, ew, tout, err, errlen);
            else if (nd_sr_forward_cpu(m, tin, eh, ew, tout) < 0) rc = -1, snprintf(err, errlen, "out of memory");
            if (rc) break;
            size_t EW = (size_t)ew * s, en = (size_t)eh * ew * (size_t)(s * s);
            for (int c = 0; c < nb; c++)
                for (int y = y0 * s; y < y1 * s; y++) {
                    const float *src = tout + (size_t)c * en + (size_t)(y - ey0 * s) * EW + (size_t)(x0 - ex0) * s;
                    float *dst = out + ((size_t)c * h * s + (size_t)y) * W;
                    const float *raw = in + (size_t)c * n + (size_t)(y / s) * w;
                    for (int x = x0 * s; x < x1 * s; x++)
                        dst[x] = isnan(raw[x / s]) ? NAN : (float)((double)src[x - x0 * s] * sd[c] + mean[c]);
                }
            if (o && o->progress && o->progress(o->ctx, by * tx + bx + 1, ty * tx)) rc = -2;
        }
    free(xn), free(tin), free(tout);
    return rc;
}
