/* The synthetic land-use scene: Voronoi polygons of known classes crossed by roads, rendered as a
 * SPOT-like VHR image with class textures and noise, and a Sentinel-2-like NDVI series. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../soilmoisture/soilmoisture.h"
#include "landuse.h"

const char *const nd_lu_class_names[LU_NCLASSES] = {"wheat", "maize", "grassland", "forest", "urban", "water", "road"};

/* Blue, green, red, NIR reflectance x 10000 at the VHR date. */
static const double spectra[LU_NCLASSES][4] = {
    {400, 700, 500, 3500}, {600, 800, 900, 2500}, {450, 750, 600, 3000}, {300, 500, 350, 3200},
    {1200, 1300, 1400, 1800}, {600, 500, 300, 150}, {1000, 1050, 1100, 1300},
};

/* NDVI over eight dates (March to October): winter wheat peaks in May, maize in August. */
#define NDATES 8
static const double pheno[LU_NCLASSES][NDATES] = {
    {0.35, 0.6, 0.8, 0.75, 0.4, 0.2, 0.2, 0.25},   {0.15, 0.15, 0.2, 0.4, 0.75, 0.85, 0.6, 0.3},
    {0.55, 0.65, 0.7, 0.65, 0.55, 0.5, 0.55, 0.6}, {0.6, 0.75, 0.85, 0.85, 0.85, 0.8, 0.7, 0.6},
    {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1},      {-0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3},
    {0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05},
};

void nd_lu_scene_free(nd_lu_scene *s) {
    free(s->image), free(s->truth_poly), free(s->poly_class), free(s->poly_sample), free(s->series);
    memset(s, 0, sizeof *s);
}

int nd_lu_scene_make(nd_lu_scene *s, int width, int height, int npoly, uint64_t seed) {
    memset(s, 0, sizeof *s);
    if (width < 64 || height < 64 || npoly < 2 * LU_NCLASSES) return -1;
    size_t n = (size_t)width * (size_t)height;
    int nroads = 3;
    s->width = width, s->height = height, s->nbands = 4, s->npoly = npoly + nroads;
    s->image = malloc(4 * n * sizeof *s->image);
    s->truth_poly = malloc(n * sizeof *s->truth_poly);
    s->poly_class = malloc((size_t)s->npoly * sizeof *s->poly_class);
    s->poly_sample = calloc((size_t)s->npoly, 1);
    s->ts_factor = 4, s->ts_width = width / 4, s->ts_height = height / 4, s->ndates = NDATES;
    s->series = malloc((size_t)NDATES * (size_t)s->ts_width * (size_t)s->ts_height * sizeof *s->series);
    double *sx = malloc((size_t)npoly * sizeof *sx), *sy = malloc((size_t)npoly * sizeof *sy);
    double *gain = malloc((size_t)s->npoly * 4 * sizeof *gain), *shift = malloc((size_t)s->npoly * sizeof *shift);
    if (!s->image || !s->truth_poly || !s->poly_class || !s->poly_sample || !s->series || !sx || !sy || !gain || !shift) {
        free(sx), free(sy), free(gain), free(shift);
        nd_lu_scene_free(s);
        return -1;
    }
    nd_rng r;
    nd_rng_seed(&r, seed);
    /* Six land classes in turn over the Voronoi cells; the three roads are polygons of their own. */
    for (int k = 0; k < npoly; k++) {
        sx[k] = nd_rng_uniform(&r) * width, sy[k] = nd_rng_uniform(&r) * height;
        s->poly_class[k] = k % (LU_NCLASSES - 1);
        s->poly_sample[k] = (k / (LU_NCLASSES - 1)) % 2 == 0;
    }
    for (int k = npoly; k < s->npoly; k++) s->poly_class[k] = LU_ROAD, s->poly_sample[k] = 1;
    for (int k = 0; k < s->npoly; k++) {
        for (int b = 0; b < 4; b++) gain[k * 4 + b] = 1.0 + 0.06 * nd_rng_normal(&r);
        shift[k] = 0.05 * nd_rng_normal(&r);
    }
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            int best = 0;
            double bd = INFINITY;
            for (int k = 0; k < npoly; k++) {
                double d = (x - sx[k]) * (x - sx[k]) + (y - sy[k]) * (y - sy[k]);
                if (d < bd) bd = d, best = k;
            }
            if (abs(y - height / 3) <= 2) best = npoly;
            else if (abs(y - 2 * height / 3) <= 2) best = npoly + 1;
            else if (abs(x - width / 2) <= 2) best = npoly + 2;
            s->truth_poly[(size_t)y * width + x] = best;
        }
    /* Urban blocks: one offset per 8x8 block (buildings and yards). */
    int bw = (width + 7) / 8, bh = (height + 7) / 8;
    double *block = malloc((size_t)bw * (size_t)bh * sizeof *block);
    for (int i = 0; i < bw * bh; i++) block[i] = 400.0 * (2.0 * nd_rng_uniform(&r) - 1.0);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            size_t i = (size_t)y * width + x;
            int k = s->truth_poly[i], c = s->poly_class[k];
            for (int b = 0; b < 4; b++) {
                double v = spectra[c][b] * gain[k * 4 + b];
                switch (c) {
                case LU_WHEAT: v += b == 3 ? 250.0 * sin(2 * M_PI * x / 6.0) : 0; break;
                case LU_MAIZE: v += 150.0 * sin(2 * M_PI * (x + y) / 4.0); break;
                case LU_GRASS: v += 150.0 * nd_rng_normal(&r); break;
                case LU_FOREST: v += (b == 3 ? 450.0 : 120.0) * nd_rng_normal(&r); break;
                case LU_URBAN: v += block[(y / 8) * bw + x / 8]; break;
                case LU_WATER: v += 30.0 * nd_rng_normal(&r); break;
                default: v += 50.0 * nd_rng_normal(&r); break;
                }
                v += 60.0 * nd_rng_normal(&r); /* sensor noise */
                s->image[(size_t)b * n + i] = (float)(v < 0 ? 0 : v);
            }
        }
    free(block);
    /* The series: each coarse pixel averages the phenology of the fine pixels it covers. */
    size_t tn = (size_t)s->ts_width * (size_t)s->ts_height;
    for (int ty = 0; ty < s->ts_height; ty++)
        for (int tx = 0; tx < s->ts_width; tx++)
            for (int d = 0; d < NDATES; d++) {
                double acc = 0;
                for (int y = ty * 4; y < ty * 4 + 4; y++)
                    for (int x = tx * 4; x < tx * 4 + 4; x++) {
                        int k = s->truth_poly[(size_t)y * width + x];
                        acc += pheno[s->poly_class[k]][d] + shift[k];
                    }
                double v = acc / 16.0 + 0.03 * nd_rng_normal(&r);
                s->series[(size_t)d * tn + (size_t)ty * s->ts_width + tx] = (float)(v > 1 ? 1 : v < -1 ? -1 : v);
            }
    free(sx), free(sy), free(gain), free(shift);
    return 0;
}
