/* The synthetic soil-moisture territory: parcels of known moisture and vegetation whose sigma0 comes
 * from the same forward model the network inverts, with speckle-like noise, for tests and demo data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "soilmoisture.h"

const char *const nd_sm_crop_names[4] = {"wheat", "maize", "grassland", "vineyard"};

/* NDVI range of each crop at the date of the territory. */
static const double ndvi_lo[4] = {0.5, 0.2, 0.4, 0.3}, ndvi_hi[4] = {0.8, 0.6, 0.7, 0.5};

void nd_sm_territory_free(nd_sm_territory *t) {
    free(t->ids), free(t->sigma_db), free(t->theta), free(t->ndvi), free(t->mv), free(t->veg), free(t->crop);
    memset(t, 0, sizeof *t);
}

int nd_sm_territory_make(nd_sm_territory *t, size_t width, size_t height, size_t cell, uint64_t seed, double noise_db) {
    memset(t, 0, sizeof *t);
    if (cell < 6 || width < cell || height < cell) return -1;
    size_t nx = width / cell, ny = height / cell, n = width * height;
    t->width = width, t->height = height, t->nparcels = nx * ny;
    t->ids = calloc(n, sizeof *t->ids);
    t->sigma_db = malloc(n * sizeof *t->sigma_db);
    t->theta = malloc(n * sizeof *t->theta);
    t->ndvi = malloc(n * sizeof *t->ndvi);
    t->mv = malloc(t->nparcels * sizeof *t->mv);
    t->veg = malloc(t->nparcels * sizeof *t->veg);
    t->crop = malloc(t->nparcels * sizeof *t->crop);
    if (!t->ids || !t->sigma_db || !t->theta || !t->ndvi || !t->mv || !t->veg || !t->crop) {
        nd_sm_territory_free(t);
        return -1;
    }
    nd_rng rng;
    nd_rng_seed(&rng, seed);
    for (size_t k = 0; k < t->nparcels; k++) {
        double u = nd_rng_uniform(&rng);
        t->crop[k] = u < 0.35 ? 0 : u < 0.65 ? 1 : u < 0.9 ? 2 : 3;
        t->mv[k] = 5.0 + 35.0 * nd_rng_uniform(&rng);
        t->veg[k] = ndvi_lo[t->crop[k]] + (ndvi_hi[t->crop[k]] - ndvi_lo[t->crop[k]]) * nd_rng_uniform(&rng);
    }
    /* Parcels fill their cell less a 2-pixel lane; every 7th is a 3x3 plot, too small to invert. */
    for (size_t py = 0; py < ny; py++)
        for (size_t px = 0; px < nx; px++) {
            size_t k = py * nx + px, w = (k % 7 == 6) ? 3 : cell - 2;
            for (size_t y = 0; y < w; y++)
                for (size_t x = 0; x < w; x++) t->ids[(py * cell + 1 + y) * width + px * cell + 1 + x] = (int)k + 1;
        }
    for (size_t y = 0; y < height; y++)
        for (size_t x = 0; x < width; x++) {
            size_t i = y * width + x;
            int id = t->ids[i];
            double mv = id ? t->mv[id - 1] : 15.0, veg = id ? t->veg[id - 1] : 0.15;
            double th = 30.0 + 15.0 * (double)x / (double)width; /* near to far range */
            double nd = veg + 0.02 * nd_rng_normal(&rng);
            double s = nd_sm_db(nd_sm_forward_vv(mv / 100.0, th, veg)) + noise_db * nd_rng_normal(&rng);
            t->theta[i] = (float)th, t->ndvi[i] = (float)nd, t->sigma_db[i] = (float)s;
        }
    return 0;
}
