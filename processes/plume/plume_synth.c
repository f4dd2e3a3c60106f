/* The synthetic trace-gas maps of plume_synth.h. */
#include "plume_synth.h"

#include <math.h>
#include <stdlib.h>

static uint64_t mix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unif(uint64_t *s) { return ((double)(mix(s) >> 11) + 0.5) / 9007199254740992.0; }

static double gauss(uint64_t *s) { return sqrt(-2 * log(unif(s))) * cos(2 * M_PI * unif(s)); }

double nd_plume_synth_column(const nd_plume_scene *sc, double q, double speed, double a, double c) {
    if (a < 0 || speed <= 0) return 0;
    double sg = sc->sigma0 + sc->growth * a;
    double decay = sc->lifetime > 0 ? exp(-a / (speed * sc->lifetime)) : 1;
    return q / (speed * sqrt(2 * M_PI) * sg) * exp(-0.5 * c * c / (sg * sg)) * decay;
}

void nd_plume_synth_map(const nd_plume_scene *sc, const nd_plume_truth *src, size_t nsrc, double u, double v,
                        uint64_t seed, double *omega, double *truth_enh) {
    uint64_t r = seed * 0x2545F4914F6CDD1Dull + 17;
    double speed = hypot(u, v), wx = speed > 0 ? u / speed : 1, wy = speed > 0 ? v / speed : 0;
    int nx = sc->nx, ny = sc->ny;
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++) {
            double enh = 0;
            for (size_t k = 0; k < nsrc; k++) {
                double px = (x - src[k].col) * sc->dx, py = (y - src[k].row) * sc->dy;
                enh += nd_plume_synth_column(sc, src[k].q, speed, px * wx + py * wy, -px * wy + py * wx);
            }
            double bg = sc->bg0 + sc->gx * x + sc->gy * y + sc->wave * sin(2 * M_PI * x / 400.0) * cos(2 * M_PI * y / 300.0);
            size_t i = (size_t)y * nx + x;
            omega[i] = bg + enh + (sc->noise > 0 ? sc->noise * gauss(&r) : 0);
            if (truth_enh) truth_enh[i] = enh;
        }
    /* clouds: discs of 3 to 12 pixels until the share is reached */
    size_t n = (size_t)nx * ny, gaps = 0;
    while (sc->gap_fraction > 0 && (double)gaps < sc->gap_fraction * n) {
        double cx = unif(&r) * nx, cy = unif(&r) * ny, rad = 3 + 9 * unif(&r);
        for (int y = (int)(cy - rad); y <= (int)(cy + rad); y++)
            for (int x = (int)(cx - rad); x <= (int)(cx + rad); x++) {
                if (x < 0 || y < 0 || x >= nx || y >= ny || hypot(x - cx, y - cy) > rad) continue;
                size_t i = (size_t)y * nx + x;
                if (!isnan(omega[i])) omega[i] = NAN, gaps++;
            }
    }
}
