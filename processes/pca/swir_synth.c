/* The synthetic SWIR forward model of swir_synth.h: line lists are drawn from fixed seeds, so every
 * build sees the same cross sections, and scenes from the caller's seed. */
#include "swir_synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"

#define WL0 2305.0
#define WL1 2385.0

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double nd_swir_uniform(nd_swir_rng *r) { return ((double)(splitmix(&r->s) >> 11) + 0.5) * (1.0 / 9007199254740992.0); }

double nd_swir_normal(nd_swir_rng *r) {
    double u = nd_swir_uniform(r), v = nd_swir_uniform(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Gaussian lines (already at the instrument resolution) of random position and strength, scaled so
 * that the deepest point of the band has optical depth `peak` for a unit column at unit airmass. */
static void lines(const nd_swir_model *mod, double *xs, uint64_t seed, int nlines, double fwhm, double peak) {
    nd_swir_rng r = {seed};
    double sig = fwhm / 2.3548;
    memset(xs, 0, (size_t)mod->m * sizeof *xs);
    for (int l = 0; l < nlines; l++) {
        double c = WL0 + (WL1 - WL0) * nd_swir_uniform(&r), s = 0.2 + 0.8 * nd_swir_uniform(&r);
        for (int j = 0; j < mod->m; j++) {
            double d = (mod->wl[j] - c) / sig;
            if (fabs(d) < 8) xs[j] += s * exp(-0.5 * d * d);
        }
    }
    double big = 0;
    for (int j = 0; j < mod->m; j++) big = fmax(big, xs[j]);
    for (int j = 0; j < mod->m && big > 0; j++) xs[j] *= peak / big;
}

/* Radiance of a bright reference scene (albedo 0.25, sun at 30 degrees) in the continuum. */
#define F0 1000.0

int nd_swir_model_init(nd_swir_model *mod, int m, double snr) {
    memset(mod, 0, sizeof *mod);
    if (m < 8 || !(snr > 0)) return -1;
    mod->m = m;
    mod->wl = nd_xmalloc((size_t)m * sizeof(double));
    for (int j = 0; j < m; j++) mod->wl[j] = WL0 + (WL1 - WL0) * (j + 0.5) / m;
    double fwhm = fmax(0.25, 2.5 * (WL1 - WL0) / m);
    static const uint64_t seeds[4] = {0xC4, 0xC0, 0x420, 0xE7};
    static const int nl[4] = {40, 12, 15, 10};
    static const double peak[4] = {0.25, 0.06, 0.3, 0.1};
    for (int g = 0; g < 4; g++) {
        mod->xs[g] = nd_xmalloc((size_t)m * sizeof(double));
        lines(mod, mod->xs[g], seeds[g], nl[g], fwhm, peak[g]);
    }
    double ref = F0 * 0.25 * cos(30 * M_PI / 180) / M_PI;
    mod->noise = nd_xmalloc((size_t)m * sizeof(double));
    /* a mildly varying noise (detector pixels differ) so normalisation matters */
    for (int j = 0; j < m; j++) mod->noise[j] = ref / snr * (1 + 0.2 * sin(0.37 * j));
    mod->saturation = 4 * ref;
    return 0;
}

void nd_swir_model_free(nd_swir_model *mod) {
    free(mod->wl);
    for (int g = 0; g < 4; g++) free(mod->xs[g]);
    free(mod->noise);
    memset(mod, 0, sizeof *mod);
}

void nd_swir_simulate(const nd_swir_model *mod, size_t n, uint64_t seed, const unsigned char *event, int noise_only,
                      double *x) {
    nd_swir_rng r = {seed ^ 0x5DEECE66Dull};
    int m = mod->m;
    for (size_t i = 0; i < n; i++) {
        double sza = 30, vza = 10, albedo = 0.25, slope = 0, col[4] = {1, 1, 1, 0};
        if (!noise_only) {
            sza = 10 + 60 * nd_swir_uniform(&r);
            vza = 50 * nd_swir_uniform(&r);
            albedo = 0.08 + 0.32 * nd_swir_uniform(&r);
            slope = 0.15 * (2 * nd_swir_uniform(&r) - 1);
            double psurf = 0.97 + 0.06 * nd_swir_uniform(&r);
            col[0] = psurf * (0.98 + 0.04 * nd_swir_uniform(&r));
            col[1] = psurf * (0.7 + 0.6 * nd_swir_uniform(&r));
            col[2] = psurf * (0.5 + 1.0 * nd_swir_uniform(&r));
        }
        int ev = event ? event[i] : ND_SWIR_NONE;
        if (ev == ND_SWIR_CO) col[1] *= 10 + 20 * nd_swir_uniform(&r);
        if (ev == ND_SWIR_ABSORBER) col[3] = 1.5 + 1.5 * nd_swir_uniform(&r);
        double mu0 = cos(sza * M_PI / 180), amf = 1 / mu0 + 1 / cos(vza * M_PI / 180);
        double *row = x + i * (size_t)m;
        for (int j = 0; j < m; j++) {
            double t = (mod->wl[j] - 0.5 * (WL0 + WL1)) / (WL1 - WL0);
            double tau = 0;
            for (int g = 0; g < 4; g++) tau += col[g] * mod->xs[g][j];
            row[j] = F0 * mu0 * albedo * (1 + slope * t) / M_PI * exp(-amf * tau) + mod->noise[j] * nd_swir_normal(&r);
        }
        if (ev == ND_SWIR_SPIKE) {
            int nspike = 1 + (int)(3 * nd_swir_uniform(&r));
            for (int s = 0; s < nspike; s++) {
                int j = (int)(m * nd_swir_uniform(&r)) % m;
                row[j] = nd_swir_uniform(&r) < 0.5 ? mod->saturation : row[j] + (30 + 70 * nd_swir_uniform(&r)) * mod->noise[j];
            }
        }
    }
}
