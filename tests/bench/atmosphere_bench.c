/* The atmosphere kernels timed alone for tests/bench/case_atmosphere.sh: PCA covariance (OpenBLAS dsyrk
 * through nd_pca_acc_add) against OpenBLAS dgemm's peak measured in the same run, PCA screening
 * throughput, and plume detection on one map. Prints "name value" lines; writes the spectra it used
 * (raw float64, N x M) to argv[1] so that the numpy peer works on the same numbers. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../processes/pca/pca.h"
#include "../../processes/pca/swir_synth.h"
#include "../../processes/plume/plume.h"
#include "../../processes/plume/plume_synth.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static size_t env_size(const char *name, size_t def) {
    const char *s = getenv(name);
    return s && *s ? (size_t)strtoull(s, NULL, 10) : def;
}

int main(int argc, char **argv) {
    size_t n = env_size("ATM_SPECTRA", 50000), m = env_size("ATM_CHANNELS", 300);
    size_t px = env_size("ATM_PLUME_NX", 7200), py = env_size("ATM_PLUME_NY", 3600), gn = env_size("ATM_GEMM_N", 2000);
    /* the peak: square dgemm, best of three */
    double *a = malloc(gn * gn * sizeof *a), *b = malloc(gn * gn * sizeof *b), *c = calloc(gn * gn, sizeof *c);
    for (size_t i = 0; i < gn * gn; i++) a[i] = (double)(i % 7) - 3, b[i] = (double)(i % 5) - 2;
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)gn, (int)gn, (int)gn, 1, a, (int)gn, b, (int)gn, 0, c, (int)gn);
        t = now() - t;
        if (t < best) best = t;
    }
    printf("dgemm_gflops %.3f\n", 2.0 * gn * gn * gn / best / 1e9);
    free(a), free(b), free(c);

    nd_swir_model mod;
    nd_swir_model_init(&mod, (int)m, 100);
    double *x = malloc(n * m * sizeof *x);
    nd_swir_simulate(&mod, n, 42, NULL, 0, x);
    if (argc > 1) {
        FILE *f = fopen(argv[1], "wb");
        if (!f || fwrite(x, sizeof *x, n * m, f) != n * m) return 1;
        fclose(f);
        f = fopen(argc > 2 ? argv[2] : "/dev/null", "wb");
        if (f) fwrite(mod.noise, sizeof(double), m, f), fclose(f);
    }
    /* covariance: each method timed on the same blocks, best of two */
    for (int meth = 0; meth < 2; meth++) {
        double tb = 1e30;
        for (int r = 0; r < 2; r++) {
            nd_pca_acc acc;
            nd_pca_acc_init(&acc, (int)m, meth ? ND_PCA_GEMM : ND_PCA_SYRK);
            double t = now();
            nd_pca_acc_add(&acc, x, n, mod.noise, NULL);
            double *cov = malloc(m * m * sizeof *cov);
            nd_pca_acc_covariance(&acc, cov, NULL);
            t = now() - t;
            if (t < tb) tb = t;
            free(cov);
            nd_pca_acc_free(&acc);
        }
        /* the flops a covariance needs (one triangle of X^T X counted twice, as numpy's X.T @ X does) */
        printf("cov_%s_gflops %.3f\n", meth ? "dgemm" : "dsyrk", 2.0 * n * m * m / tb / 1e9);
        printf("cov_%s_s %.4f\n", meth ? "dgemm" : "dsyrk", tb);
    }
    nd_pca_acc acc;
    nd_pca_acc_init(&acc, (int)m, ND_PCA_SYRK);
    nd_pca_acc_add(&acc, x, n, mod.noise, NULL);
    nd_pca_basis basis;
    char err[256];
    double te = now();
    if (nd_pca_train(&acc, mod.noise, 12, 0, &basis, err, sizeof err) < 0) return fprintf(stderr, "%s\n", err), 1;
    printf("train_s %.4f\n", now() - te);
    double *score = malloc(n * sizeof *score);
    double t = now();
    nd_pca_score(&basis, x, n, &(nd_pca_result){.score = score});
    t = now() - t;
    printf("score_spectra_per_s %.0f\n", n / t);
    printf("score_gb_per_s %.3f\n", n * m * sizeof(double) / t / 1e9);
    free(score);
    nd_pca_basis_free(&basis);
    nd_pca_acc_free(&acc);
    free(x);
    nd_swir_model_free(&mod);

    /* plume detection on a px x py map (0.05 degree global: 7200 x 3600) with 200 sources */
    if (px >= 3 && py >= 3) {
        nd_plume_scene sc = {.nx = (int)px, .ny = (int)py, .dx = 5000, .dy = 5000, .bg0 = 0.03, .gx = 1e-8,
                             .noise = 1e-4, .gap_fraction = 0, .sigma0 = 3000, .growth = 0.06};
        nd_plume_truth src[200];
        for (int k = 0; k < 200; k++)
            src[k] = (nd_plume_truth){.col = (double)((k * 7919) % px), .row = (double)((k * 104729) % py), .q = 200};
        size_t np = px * py;
        double *om = malloc(np * sizeof *om), *u = malloc(np * sizeof *u), *v = malloc(np * sizeof *v);
        /* the plumes: only near each source (a full synthesis over 26 M pixels x 200 sources is the slow part) */
        nd_plume_scene bgsc = sc;
        nd_plume_synth_map(&bgsc, NULL, 0, 5, 0, 1, om, NULL);
        for (int k = 0; k < 200; k++)
            for (int dy = -40; dy <= 40; dy++)
                for (int dx = 0; dx <= 120; dx++) {
                    long xx = (long)src[k].col + dx, yy = (long)src[k].row + dy;
                    if (xx < 0 || yy < 0 || xx >= (long)px || yy >= (long)py) continue;
                    om[(size_t)yy * px + xx] += nd_plume_synth_column(&sc, src[k].q, 5, dx * sc.dx, dy * sc.dy);
                }
        for (size_t i = 0; i < np; i++) u[i] = 5, v[i] = 0;
        nd_plume_map map = {.nx = (int)px, .ny = (int)py, .dx = sc.dx, .dy = sc.dy, .omega = om, .u = u, .v = v};
        nd_plume_params p;
        nd_plume_params_default(&p);
        p.threads = (int)env_size("ATM_PLUME_THREADS", 2); /* the goal is stated for 2 cores */
        nd_plume_source *found = NULL;
        size_t nf = 0;
        unsigned char *flag = malloc(np);
        t = now();
        double tc = cpu();
        int rc = nd_plume_detect(&map, &p, 0, &(nd_plume_out){.flag = flag}, &found, &nf, err, sizeof err);
        t = now() - t;
        printf("plume_s %.3f\n", t);
        printf("plume_cpu_s %.3f\n", cpu() - tc);
        printf("plume_sources %d\n", rc);
        free(found), free(flag), free(om), free(u), free(v);
    }
    return 0;
}
