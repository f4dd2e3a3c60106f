/* The divand bench driver: times the DIVAnd kernel on (2d) a ≈250,000-point masked lon/lat grid of the
 * demo ocean with 10^5 observations (sparse Cholesky), and (3d) a 200×200×20 grid with PCG, and prints
 * seconds and peak memory as `KEY value` lines for case_divand.sh. Built by the case script. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "divand.h"
#include "divand_truth.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned seed = 42;
static double urand(void) {
    seed = seed * 1664525u + 1013904223u;
    return ((seed >> 8) & 0xffffff) / (double)0x1000000;
}

/* CPU seconds of this process (all threads): on a shared machine, the wall time overstates. */
static double cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double peak_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "2d";
    size_t nobs = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    char err[256];
    nd_divand_result r;
    if (strcmp(mode, "2d") == 0) {
        const size_t nx = 770, ny = 324;
        const double res = 50.0 / (nx - 1), km = 111.19492664455873;
        unsigned char *mask = malloc(nx * ny);
        double *pmx = malloc(nx * ny * sizeof(double)), *pmy = malloc(nx * ny * sizeof(double));
        for (size_t j = 0; j < ny; j++)
            for (size_t i = 0; i < nx; i++) {
                double lon = -20 + res * (double)i, lat = 45 + res * (double)j;
                mask[i + j * nx] = !nd_divand_demo_land(lon, lat);
                pmx[i + j * nx] = 1 / (res * km * cos(lat * M_PI / 180));
                pmy[i + j * nx] = 1 / (res * km);
            }
        double *x = malloc(nobs * sizeof(double)), *y = malloc(nobs * sizeof(double)), *v = malloc(nobs * sizeof(double));
        for (size_t k = 0; k < nobs;) {
            double lon = -20 + 50 * urand(), lat = 45 + res * (double)(ny - 1) * urand();
            if (nd_divand_demo_land(lon, lat)) continue;
            x[k] = (lon + 20) / res, y[k] = (lat - 45) / res;
            v[k++] = nd_divand_demo_truth(lon, lat, 0, 18458) - 10 + 0.2 * (urand() - 0.5);
        }
        nd_divand_grid g = {.ndim = 2, .n = {nx, ny}, .mask = mask, .pm = {pmx, pmy}, .len = {100, 100}};
        nd_divand_obs o = {.n = nobs, .x = {x, y}, .value = v, .eps2_all = 0.1};
        nd_divand_opts opts = {.solver = ND_DIVAND_CHOLESKY, .error = ND_DIVAND_ERR_NONE};
        double t0 = now(), c0 = cpu();
        if (nd_divand_run(&g, &o, &opts, &r, err, sizeof err) < 0) {
            fprintf(stderr, "divand: %s\n", err);
            return 1;
        }
        double t1 = now();
        printf("GRID %zu\nSEA %zu\nOBS %zu\nSECONDS %.3f\nCPU_SECONDS %.3f\n", nx * ny, r.nsea, r.nused, t1 - t0,
               cpu() - c0);
        nd_divand_result_free(&r);
        opts.error = ND_DIVAND_ERR_CPME;
        t0 = now();
        if (nd_divand_run(&g, &o, &opts, &r, err, sizeof err) < 0) {
            fprintf(stderr, "divand: %s\n", err);
            return 1;
        }
        printf("SECONDS_CPME %.3f\nPEAK_MIB %.1f\n", now() - t0, peak_mib());
        nd_divand_result_free(&r);
        free(mask), free(pmx), free(pmy), free(x), free(y), free(v);
        return 0;
    }
    /* 3d: 200 x 200 x 20, lengths 10, 10 and 3 grid steps, PCG. */
    const size_t nx = 200, ny = 200, nz = 20;
    double *x = malloc(nobs * sizeof(double)), *y = malloc(nobs * sizeof(double)), *z = malloc(nobs * sizeof(double));
    double *v = malloc(nobs * sizeof(double));
    for (size_t k = 0; k < nobs; k++) {
        x[k] = (double)(nx - 1) * urand(), y[k] = (double)(ny - 1) * urand(), z[k] = (double)(nz - 1) * urand();
        v[k] = sin(x[k] / 15) * cos(y[k] / 20) * exp(-z[k] / 10) + 0.1 * (urand() - 0.5);
    }
    nd_divand_grid g = {.ndim = 3, .n = {nx, ny, nz}, .dx = {1, 1, 1}, .len = {10, 10, 3}};
    nd_divand_obs o = {.n = nobs, .x = {x, y, z}, .value = v, .eps2_all = 0.1};
    nd_divand_opts opts = {.solver = ND_DIVAND_PCG, .error = ND_DIVAND_ERR_NONE, .tol = 1e-8};
    double t0 = now(), c0 = cpu();
    if (nd_divand_run(&g, &o, &opts, &r, err, sizeof err) < 0) {
        fprintf(stderr, "divand: %s\n", err);
        return 1;
    }
    printf("GRID %zu\nOBS %zu\nITERATIONS %d\nSECONDS %.3f\nCPU_SECONDS %.3f\nPEAK_MIB %.1f\n", nx * ny * nz, r.nused,
           r.iterations, now() - t0, cpu() - c0, peak_mib());
    nd_divand_result_free(&r);
    free(x), free(y), free(z), free(v);
    return 0;
}
