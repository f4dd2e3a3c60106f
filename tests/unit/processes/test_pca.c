/* The PCA screening kernel against known truth: chi2(M-K) residuals on event-free spectra, eigenvalues
 * equal to numpy.linalg.eigh on the same matrix, injected events found at a low false-positive rate. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../processes/pca/pca.h"
#include "../../../processes/pca/swir_synth.h"
#include "test.h"

#define M 200
#define NTRAIN 20000
#define NTEST 20000

static double *spectra(const nd_swir_model *mod, size_t n, uint64_t seed, const unsigned char *ev, int noise_only) {
    double *x = malloc(n * (size_t)mod->m * sizeof *x);
    nd_swir_simulate(mod, n, seed, ev, noise_only, x);
    return x;
}

static void train(const nd_swir_model *mod, const double *x, size_t n, int k, nd_pca_cov_method meth, nd_pca_basis *b) {
    nd_pca_acc a;
    CHECK(nd_pca_acc_init(&a, mod->m, meth) == 0);
    nd_pca_acc_add(&a, x, n, mod->noise, NULL);
    char err[256];
    if (nd_pca_train(&a, mod->noise, k, 0.0, b, err, sizeof err) < 0) ND_FAIL_AT("train: %s", err);
    nd_pca_acc_free(&a);
}

static void moments(const double *v, size_t n, double *mean, double *sd) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    for (size_t i = 0; i < n; i++) s2 += (v[i] - *mean) * (v[i] - *mean);
    *sd = sqrt(s2 / (n - 1));
}

/* Trains on one set, scores an independent one and checks mean and sd of the score against chi2(M-K). */
static void chi2_case(int noise_only, int k) {
    nd_swir_model mod;
    CHECK(nd_swir_model_init(&mod, M, 100) == 0);
    double *xt = spectra(&mod, NTRAIN, 1, NULL, noise_only), *xs = spectra(&mod, NTEST, 2, NULL, noise_only);
    nd_pca_basis b;
    train(&mod, xt, NTRAIN, k, ND_PCA_SYRK, &b);
    double *score = malloc(NTEST * sizeof *score);
    nd_pca_result r = {.score = score};
    nd_pca_score(&b, xs, NTEST, &r);
    double mean, sd, dof = M - k;
    moments(score, NTEST, &mean, &sd);
    fprintf(stderr, "chi2 %s K=%d: mean %.3f (dof %.0f, %+.2f%%), sd %.3f (expected %.3f, %+.2f%%)\n",
            noise_only ? "noise-only" : "scenes", k, mean, dof, 100 * (mean / dof - 1), sd, sqrt(2 * dof),
            100 * (sd / sqrt(2 * dof) - 1));
    CHECK(fabs(mean / dof - 1) <= 0.05);
    CHECK(fabs(sd / sqrt(2 * dof) - 1) <= 0.05);
    free(score);
    free(xt);
    free(xs);
    nd_pca_basis_free(&b);
    nd_swir_model_free(&mod);
}

ND_TEST(pca_chi2_noise_only) { chi2_case(1, 10); }

ND_TEST(pca_chi2_scenes) { chi2_case(0, 12); }

/* The same covariance from dsyrk and from dgemm, and from blocks added in pieces. */
ND_TEST(pca_syrk_equals_gemm) {
    nd_swir_model mod;
    CHECK(nd_swir_model_init(&mod, M, 100) == 0);
    size_t n = 5000;
    double *x = spectra(&mod, n, 3, NULL, 0);
    nd_pca_acc a, g;
    nd_pca_acc_init(&a, M, ND_PCA_SYRK);
    nd_pca_acc_init(&g, M, ND_PCA_GEMM);
    nd_pca_acc_add(&a, x, n, mod.noise, NULL);
    for (size_t i = 0; i < n; i += 777) nd_pca_acc_add(&g, x + i * M, n - i < 777 ? n - i : 777, mod.noise, NULL);
    double *ca = malloc(M * M * sizeof *ca), *cg = malloc(M * M * sizeof *cg), big = 0, diff = 0;
    CHECK(nd_pca_acc_covariance(&a, ca, NULL) == 0);
    CHECK(nd_pca_acc_covariance(&g, cg, NULL) == 0);
    for (int i = 0; i < M * M; i++) big = fmax(big, fabs(ca[i])), diff = fmax(diff, fabs(ca[i] - cg[i]));
    CHECK(diff <= 1e-12 * big);
    /* the shifted one-pass covariance equals the two-pass textbook one */
    double mean[M] = {0};
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < M; j++) mean[j] += x[i * M + j] / mod.noise[j] / n;
    double c01 = 0, c55 = 0;
    for (size_t i = 0; i < n; i++) {
        c01 += (x[i * M] / mod.noise[0] - mean[0]) * (x[i * M + 1] / mod.noise[1] - mean[1]);
        c55 += pow(x[i * M + 5] / mod.noise[5] - mean[5], 2);
    }
    CHECK_NEAR(ca[1], c01 / (n - 1), 1e-9 * fabs(c01 / (n - 1)));
    CHECK_NEAR(ca[5 * M + 5], c55 / (n - 1), 1e-9 * c55 / (n - 1));
    free(ca);
    free(cg);
    free(x);
    nd_pca_acc_free(&a);
    nd_pca_acc_free(&g);
    nd_swir_model_free(&mod);
}

/* Eigenvalues of the scene covariance against numpy.linalg.eigh on the same bytes. */
ND_TEST(pca_eigen_vs_numpy) {
    nd_swir_model mod;
    CHECK(nd_swir_model_init(&mod, M, 100) == 0);
    size_t n = 8000;
    double *x = spectra(&mod, n, 4, NULL, 0);
    nd_pca_acc a;
    nd_pca_acc_init(&a, M, ND_PCA_SYRK);
    nd_pca_acc_add(&a, x, n, mod.noise, NULL);
    double *cov = malloc(M * M * sizeof *cov), ev[M], *vec = malloc(5 * M * sizeof *vec);
    CHECK(nd_pca_acc_covariance(&a, cov, NULL) == 0);
    CHECK(nd_pca_eigen(cov, M, 5, ev, vec) == 0);
    char path[512], out[512], cmd[2048];
    snprintf(path, sizeof path, "%s/pca_cov.f64", nd_test_tmp_dir());
    snprintf(out, sizeof out, "%s/pca_eig.txt", nd_test_tmp_dir());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(cov, sizeof *cov, M * M, f) == M * M);
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c 'import numpy as np,sys; c=np.fromfile(sys.argv[1]).reshape(%d,%d); "
             "w=np.linalg.eigh(c)[0][::-1]; np.savetxt(sys.argv[2], w, fmt=\"%%.17g\")' '%s' '%s'",
             M, M, path, out);
    CHECK(system(cmd) == 0);
    f = fopen(out, "r");
    CHECK(f != NULL);
    double worst = 0;
    for (int i = 0; i < M; i++) {
        double w;
        CHECK(fscanf(f, "%lf", &w) == 1);
        worst = fmax(worst, fabs(ev[i] - w) / fabs(w));
    }
    fclose(f);
    fprintf(stderr, "eigenvalues %.6g .. %.6g, worst relative difference to numpy %.3g\n", ev[0], ev[M - 1], worst);
    CHECK(worst <= 1e-8);
    /* eigenvectors: unit length, C v = lambda v */
    for (int c = 0; c < 5; c++) {
        double norm = 0, res = 0;
        for (int i = 0; i < M; i++) {
            double cv = 0;
            for (int j = 0; j < M; j++) cv += cov[i * M + j] * vec[c * M + j];
            res = fmax(res, fabs(cv - ev[c] * vec[c * M + i]));
            norm += vec[c * M + i] * vec[c * M + i];
        }
        CHECK_NEAR(norm, 1, 1e-12);
        CHECK(res <= 1e-10 * ev[0]);
    }
    free(cov);
    free(vec);
    free(x);
    nd_pca_acc_free(&a);
    nd_swir_model_free(&mod);
}

/* Injected events (2% of the scenes, the three kinds in turn) against a threshold at the 99.9%
 * quantile of the training scores. */
ND_TEST(pca_detects_events) {
    nd_swir_model mod;
    CHECK(nd_swir_model_init(&mod, M, 100) == 0);
    double *xt = spectra(&mod, NTRAIN, 5, NULL, 0);
    unsigned char *ev = calloc(NTEST, 1);
    for (size_t i = 0; i < NTEST; i += 50) ev[i + 7] = (unsigned char)(1 + (i / 50) % 3);
    double *xs = spectra(&mod, NTEST, 6, ev, 0);
    nd_pca_basis b;
    train(&mod, xt, NTRAIN, 12, ND_PCA_SYRK, &b);
    double *st = malloc(NTRAIN * sizeof *st), *ss = malloc(NTEST * sizeof *ss);
    nd_pca_score(&b, xt, NTRAIN, &(nd_pca_result){.score = st});
    nd_pca_score(&b, xs, NTEST, &(nd_pca_result){.score = ss});
    double thr = nd_pca_quantile(st, NTRAIN, 0.999);
    size_t tp[4] = {0}, pos[4] = {0}, fp = 0, neg = 0;
    for (size_t i = 0; i < NTEST; i++) {
        int flag = ss[i] > thr;
        if (ev[i]) pos[ev[i]]++, tp[ev[i]] += flag;
        else neg++, fp += flag;
    }
    size_t tps = tp[1] + tp[2] + tp[3], poss = pos[1] + pos[2] + pos[3];
    fprintf(stderr, "threshold %.1f (chi2 99.9%% %.1f): recall CO %zu/%zu absorber %zu/%zu spike %zu/%zu, FPR %zu/%zu\n",
            thr, nd_pca_chi2_quantile(M - 12, 0.999), tp[1], pos[1], tp[2], pos[2], tp[3], pos[3], fp, neg);
    CHECK((double)tps / poss >= 0.95);
    for (int k = 1; k <= 3; k++) CHECK((double)tp[k] / pos[k] >= 0.9);
    CHECK((double)fp / neg <= 0.005);
    free(st);
    free(ss);
    free(ev);
    free(xt);
    free(xs);
    nd_pca_basis_free(&b);
    nd_swir_model_free(&mod);
}

ND_TEST(pca_bad_input) {
    nd_swir_model mod;
    CHECK(nd_swir_model_init(&mod, 20, 100) == 0);
    double *x = spectra(&mod, 100, 7, NULL, 0);
    nd_pca_acc a;
    nd_pca_basis b;
    char err[256];
    nd_pca_acc_init(&a, 20, ND_PCA_SYRK);
    nd_pca_acc_add(&a, x, 100, mod.noise, NULL);
    CHECK(nd_pca_train(&a, mod.noise, 20, 0, &b, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "20 channels");
    nd_pca_acc_free(&a);
    /* all-NaN spectra: nothing usable, refused with a count */
    for (int i = 0; i < 100 * 20; i++) x[i] = NAN;
    size_t skipped = 0;
    nd_pca_acc_init(&a, 20, ND_PCA_SYRK);
    nd_pca_acc_add(&a, x, 100, mod.noise, &skipped);
    CHECK_INT(skipped, 100);
    CHECK(nd_pca_train(&a, mod.noise, 3, 0, &b, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "0 usable spectra");
    nd_pca_acc_free(&a);
    free(x);
    nd_swir_model_free(&mod);
}

/* Explained-variance selection and the analytic chi2 quantile. */
ND_TEST(pca_choose_k_and_quantile) {
    double ev[6] = {101, 51, 11, 1, 1, 1};
    CHECK_INT(nd_pca_choose_k(ev, 6, 0.60, 5), 1);
    CHECK_INT(nd_pca_choose_k(ev, 6, 0.95, 5), 3);
    CHECK_INT(nd_pca_choose_k(ev, 6, 1.0, 2), 2);
    /* chi2(188) 99% and 99.9% quantiles 236.0269 and 253.6586 (regularised incomplete gamma, bisection) */
    CHECK_NEAR(nd_pca_chi2_quantile(188, 0.99), 236.0269, 0.05);
    CHECK_NEAR(nd_pca_chi2_quantile(188, 0.999), 253.6586, 0.1);
    double v[5] = {3, NAN, 1, 2, 4};
    CHECK_NEAR(nd_pca_quantile(v, 5, 0.5), 2.5, 1e-12);
}

/* Iterative retraining: spectra added to an accumulator give the basis of the union, and an absorber
 * that was flagged becomes ordinary once such spectra are part of the reference set. */
ND_TEST(pca_retrain_adds_outliers) {
    nd_swir_model mod;
    CHECK(nd_swir_model_init(&mod, M, 100) == 0);
    size_t n = 10000, ne = 1000;
    double *x = spectra(&mod, n, 8, NULL, 0);
    unsigned char *ev = malloc(ne);
    memset(ev, ND_SWIR_ABSORBER, ne);
    double *xe = spectra(&mod, ne, 9, ev, 0);
    nd_pca_acc a;
    nd_pca_acc_init(&a, M, ND_PCA_SYRK);
    nd_pca_acc_add(&a, x, n, mod.noise, NULL);
    nd_pca_basis b0, b1;
    char err[256];
    CHECK(nd_pca_train(&a, mod.noise, 12, 0, &b0, err, sizeof err) == 0);
    double *s = malloc(ne * sizeof *s);
    nd_pca_score(&b0, xe, ne, &(nd_pca_result){.score = s});
    double before = nd_pca_quantile(s, ne, 0.5);
    nd_pca_acc_add(&a, xe, ne / 2, mod.noise, NULL);
    CHECK(nd_pca_train(&a, mod.noise, 13, 0, &b1, err, sizeof err) == 0);
    CHECK_INT(b1.ntrain, n + ne / 2);
    nd_pca_score(&b1, xe + (ne / 2) * M, ne / 2, &(nd_pca_result){.score = s});
    double after = nd_pca_quantile(s, ne / 2, 0.5);
    fprintf(stderr, "absorber median score: %.1f before retraining, %.1f after (dof %d)\n", before, after, M - 13);
    CHECK(before > 3 * (M - 12));
    CHECK(after < 1.3 * (M - 13));
    free(s);
    free(ev);
    free(x);
    free(xe);
    nd_pca_basis_free(&b0);
    nd_pca_basis_free(&b1);
    nd_pca_acc_free(&a);
    nd_swir_model_free(&mod);
}
