/* DIVAnd cross-validation against a known noise level: observations of a smooth field with noise whose variance
 * relative to the field's is known; GCV over lengths and ε² must choose an ε² near that ratio, and an analysis
 * within 15% of the best RMSE any candidate gives against the truth everywhere. */
#include <math.h>
#include <stdlib.h>

#include "../../../processes/divand/divand.h"
#include "test.h"

#define N 61
#define NOBS 500

static double truth(double x, double y) { return sin(2 * M_PI * x) * cos(1.5 * M_PI * y) + 0.5 * sin(3 * M_PI * x * y); }

/* Deterministic standard normal numbers (Box-Muller over a small LCG). */
static double gauss(unsigned long long *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    double u1 = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    double u2 = ((double)(*s >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

ND_TEST(divand_gcv_finds_the_noise_level_and_length) {
    nd_divand_grid g = {.ndim = 2, .n = {N, N}, .dx = {1.0 / (N - 1), 1.0 / (N - 1)}, .len = {0.15, 0.15}};
    static double xs[NOBS], ys[NOBS], v[NOBS];
    unsigned long long s = 42;
    double mean = 0, var = 0;
    for (int i = 0; i < N * N; i++) {
        double t = truth((double)(i % N) / (N - 1), (double)(i / N) / (N - 1));
        mean += t / (N * N);
        var += t * t / (N * N);
    }
    var -= mean * mean;
    const double eps2_true = 0.5, sigma = sqrt(eps2_true * var);
    for (int i = 0; i < NOBS; i++) {
        xs[i] = (double)(N - 1) * (0.5 + 0.5 * sin(12.9898 * i)) * 0.999;
        ys[i] = (double)(N - 1) * (0.5 + 0.5 * sin(78.233 * i + 1)) * 0.999;
        v[i] = truth(xs[i] / (N - 1), ys[i] / (N - 1)) - mean + sigma * gauss(&s);
    }
    nd_divand_obs o = {.n = NOBS, .x = {xs, ys}, .value = v, .eps2_all = 1};
    const double lens[] = {0.5, 1, 2}, eps2s[] = {0.01, 0.03, 0.1, 0.3, 1, 3, 10};
    enum { NL = 3, NE = 7 };
    double scores[NL * NE], rmse[NL * NE];
    size_t best;
    char err[256];
    if (nd_divand_cv(&g, &o, lens, NL, eps2s, NE, 10, 1, scores, &best, err, sizeof err) < 0) ND_FAIL_AT("cv: %s", err);
    /* the analysis error against the truth everywhere, for every pair */
    size_t oracle = 0;
    for (size_t k = 0; k < NL * NE; k++) {
        nd_divand_grid gk = g;
        gk.len[0] = gk.len[1] = g.len[0] * lens[k / NE];
        o.eps2_all = eps2s[k % NE];
        nd_divand_opts opts = {.error = ND_DIVAND_ERR_NONE};
        nd_divand_result res;
        if (nd_divand_run(&gk, &o, &opts, &res, err, sizeof err) < 0) ND_FAIL_AT("divand: %s", err);
        double se = 0;
        for (int i = 0; i < N * N; i++) {
            double d = res.field[i] - (truth((double)(i % N) / (N - 1), (double)(i / N) / (N - 1)) - mean);
            se += d * d;
        }
        rmse[k] = sqrt(se / (N * N));
        nd_divand_result_free(&res);
        if (rmse[k] < rmse[oracle]) oracle = k;
        fprintf(stderr, "L x%-4g eps2 %-5g GCV %.5f rmse %.4f%s\n", lens[k / NE], eps2s[k % NE], scores[k], rmse[k],
                k == best ? " <" : "");
    }
    /* ε² near the noise level, and an analysis almost as good as the best any pair gives (which GCV cannot see) */
    CHECK(eps2s[best % NE] >= eps2_true / 3.5 && eps2s[best % NE] <= eps2_true * 3.5);
    CHECK(rmse[best] <= 1.15 * rmse[oracle]);
    CHECK(rmse[best] < rmse[NE] && rmse[best] < rmse[2 * NE - 1]); /* beats ε² = 0.01 and 10 at the given length */
}

ND_TEST(divand_gcv_refusals) {
    nd_divand_grid g = {.ndim = 1, .n = {11}, .dx = {0.1}, .len = {0.3}};
    double x = 5, v = 1, scores[1];
    nd_divand_obs o = {.n = 1, .x = {&x}, .value = &v, .eps2_all = 1};
    size_t best;
    char err[256] = "";
    const double one = 1, bad = 0;
    CHECK(nd_divand_cv(&g, &o, &one, 1, &one, 1, 4, 1, scores, &best, err, sizeof err) < 0); /* one observation */
    CHECK(strstr(err, "two observations") != NULL);
    CHECK(nd_divand_cv(&g, &o, &one, 1, &bad, 1, 4, 1, scores, &best, err, sizeof err) < 0);
    CHECK(nd_divand_cv(&g, &o, &bad, 1, &one, 1, 4, 1, scores, &best, err, sizeof err) < 0);
}
