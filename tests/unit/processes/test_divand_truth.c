/* DIVAnd on the synthetic ocean: the analysis of noisy cruise data against the known truth (RMSE at
 * unobserved points, calibration of the error field), observation files written and read back in ODV,
 * CSV and NetCDF, and malformed lines reported with their numbers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../../processes/divand/divand.h"
#include "../../../processes/divand/divand_obs.h"
#include "../../../processes/divand/divand_truth.h"
#include "test.h"

ND_TEST(divand_demo_mask) {
    CHECK(nd_divand_demo_land(2.5, 47.0));    /* France */
    CHECK(nd_divand_demo_land(-1.5, 53.0));   /* England */
    CHECK(nd_divand_demo_land(15.0, 60.0));   /* Sweden */
    CHECK(!nd_divand_demo_land(-15.0, 50.0)); /* Atlantic */
    CHECK(!nd_divand_demo_land(3.0, 56.0));   /* North Sea */
    CHECK(!nd_divand_demo_land(19.0, 57.0));  /* Baltic proper */
    CHECK(!nd_divand_demo_land(20.0, 63.0));  /* Gulf of Bothnia */
    CHECK(!nd_divand_demo_land(11.5, 57.0));  /* Kattegat: the Baltic is connected */
}

/* A surface analysis on a 0.5° grid from 100 cruises in one week of July, noise 0.2 °C. */
ND_TEST(divand_synthetic_truth_rmse_and_calibration) {
    const size_t nx = 101, ny = 43;
    const double dlon = 0.5, dlat = 0.5, noise = 0.2;
    unsigned char *mask = malloc(nx * ny);
    double *pmx = malloc(nx * ny * sizeof(double)), *pmy = malloc(nx * ny * sizeof(double));
    for (size_t j = 0; j < ny; j++)
        for (size_t i = 0; i < nx; i++) {
            double lon = ND_DV_DEMO_WEST + dlon * (double)i, lat = ND_DV_DEMO_SOUTH + dlat * (double)j;
            mask[i + j * nx] = !nd_divand_demo_land(lon, lat);
            pmx[i + j * nx] = 1 / (dlon * cos(lat * M_PI / 180)); /* distances in degrees of latitude */
            pmy[i + j * nx] = 1 / dlat;
        }
    double day0;
    CHECK(nd_dv_parse_time("2020-07-10", &day0) == 0);
    nd_dv_table t = {0};
    CHECK(nd_divand_demo_cruises(&t, 7u, 100, day0, 7, noise, 1) == 0);
    CHECK(t.n > 800);
    double *x = malloc(t.n * sizeof(double)), *y = malloc(t.n * sizeof(double)), *d = malloc(t.n * sizeof(double));
    /* Background: the least-squares plane in longitude and latitude (the "fitted trend"). */
    double bg[3];
    CHECK(nd_dv_fit_plane(t.n, t.lon, t.lat, t.value, bg) == 0);
    double var = 0;
    for (size_t k = 0; k < t.n; k++) {
        x[k] = (t.lon[k] - ND_DV_DEMO_WEST) / dlon, y[k] = (t.lat[k] - ND_DV_DEMO_SOUTH) / dlat;
        d[k] = t.value[k] - (bg[0] + bg[1] * t.lon[k] + bg[2] * t.lat[k]);
        var += d[k] * d[k];
    }
    var /= (double)t.n;
    double sb2 = var - noise * noise, eps2 = noise * noise / sb2;
    /* L = 8° (degrees of latitude): the residual truth's structures have wavelengths of 14-18°. The figures
     * measured at L = 4, 6, 8, 10: RMSE 0.142, 0.141, 0.145, 0.148; standardised error std 0.66, 0.81, 0.96, 1.10. */
    nd_divand_grid g = {.ndim = 2, .n = {nx, ny}, .mask = mask, .pm = {pmx, pmy}, .len = {8, 8}};
    nd_divand_obs o = {.n = t.n, .x = {x, y}, .value = d, .eps2_all = eps2};
    nd_divand_opts opts = {.error = ND_DIVAND_ERR_EXACT};
    nd_divand_result r;
    char err[256];
    if (nd_divand_run(&g, &o, &opts, &r, err, sizeof err) < 0) ND_FAIL_AT("%s", err);
    /* Unobserved: no observation in the grid cell. */
    unsigned char *seen = calloc(nx * ny, 1);
    for (size_t k = 0; k < t.n; k++) seen[(size_t)lround(x[k]) + (size_t)lround(y[k]) * nx] = 1;
    double se = 0, sz = 0, sz2 = 0;
    size_t nu = 0;
    for (size_t j = 0; j < ny; j++)
        for (size_t i = 0; i < nx; i++) {
            size_t q = i + j * nx;
            if (!mask[q] || seen[q]) continue;
            double lon = ND_DV_DEMO_WEST + dlon * (double)i, lat = ND_DV_DEMO_SOUTH + dlat * (double)j;
            double truth = nd_divand_demo_truth(lon, lat, 0, day0 + 3.5) - (bg[0] + bg[1] * lon + bg[2] * lat);
            double e = r.field[q] - truth, z = e / sqrt(sb2 * r.err[q]);
            se += e * e, sz += z, sz2 += z * z;
            nu++;
        }
    double rmse = sqrt(se / (double)nu), zm = sz / (double)nu, zsd = sqrt(sz2 / (double)nu - zm * zm);
    fprintf(stderr, "synthetic truth: %zu obs (%zu used), %zu unobserved sea points, signal std %.3f, eps2 %.4f: "
                    "RMSE %.4f degC, standardised error mean %.3f std %.3f\n",
            t.n, r.nused, nu, sqrt(sb2), eps2, rmse, zm, zsd);
    CHECK(rmse < 0.6);
    CHECK(zsd > 0.8 && zsd < 1.2);
    nd_divand_result_free(&r);
    nd_dv_table_free(&t);
    free(mask), free(pmx), free(pmy), free(x), free(y), free(d), free(seen);
}
