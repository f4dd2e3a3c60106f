/* Image quality of a super-resolved band against the truth: PSNR and SSIM as train.py computes them,
 * so the figures the trainer prints and those the tests assert are the same figures. */
#include <math.h>
#include <stdlib.h>

#include "superres.h"

double nd_sr_psnr(const float *ref, const float *x, int h, int w, int border, double peak) {
    double se = 0;
    size_t n = 0;
    for (int y = border; y < h - border; y++)
        for (int i = border; i < w - border; i++) {
            double d = (double)ref[(size_t)y * w + i] - (double)x[(size_t)y * w + i];
            se += d * d, n++;
        }
    return n && se > 0 ? 10 * log10(peak * peak / (se / (double)n)) : INFINITY;
}

/* Wang et al. 2004: local means, variances and covariance under an 11 x 11 Gaussian (sigma 1.5), over
 * the windows that fit inside the cropped image. */
double nd_sr_ssim(const float *ref, const float *x, int h, int w, int border, double peak) {
    double g[11], sum = 0;
    for (int k = 0; k < 11; k++) sum += g[k] = exp(-0.5 * ((k - 5) / 1.5) * ((k - 5) / 1.5));
    for (int k = 0; k < 11; k++) g[k] /= sum;
    int ch = h - 2 * border, cw = w - 2 * border, oh = ch - 10, ow = cw - 10;
    if (oh < 1 || ow < 1) return NAN;
    double c1 = (0.01 * peak) * (0.01 * peak), c2 = (0.03 * peak) * (0.03 * peak), total = 0;
    for (int y = 0; y < oh; y++)
        for (int i = 0; i < ow; i++) {
            double ma = 0, mb = 0, aa = 0, bb = 0, ab = 0;
            for (int ky = 0; ky < 11; ky++)
                for (int kx = 0; kx < 11; kx++) {
                    size_t p = (size_t)(border + y + ky) * w + (size_t)(border + i + kx);
                    double wt = g[ky] * g[kx], a = ref[p], b = x[p];
                    ma += wt * a, mb += wt * b, aa += wt * a * a, bb += wt * b * b, ab += wt * a * b;
                }
            double va = aa - ma * ma, vb = bb - mb * mb, cov = ab - ma * mb;
            total += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        }
    return total / ((double)oh * ow);
}
