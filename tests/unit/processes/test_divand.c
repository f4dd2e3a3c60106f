/* DIVAnd kernel against analytic truth: the Matérn kernels of the binomial norm in 1-, 2- and 3-D,
 * the peak of a unit observation, the single-observation error variance, Cholesky against PCG, a
 * land barrier between two basins and the refusals. */
#include <math.h>
#include <stdlib.h>

#include "../../../processes/divand/divand.h"
#include "test.h"

ND_TEST(divand_analytic_constants) {
    /* 2-D: K(r) = r K1(r), the values the issue quotes. */
    CHECK_NEAR(nd_divand_kernel(2, 0.5), 0.8282, 1e-4);
    CHECK_NEAR(nd_divand_kernel(2, 1.0), 0.6019, 1e-4);
    CHECK_NEAR(nd_divand_kernel(2, 2.0), 0.2797, 1e-4);
    CHECK_NEAR(nd_divand_besselk(0.5, 1.3), sqrt(M_PI / (2 * 1.3)) * exp(-1.3), 1e-12);
    CHECK_NEAR(nd_divand_besselk(1, 1), 0.6019072301972346, 1e-12);
    /* 1-D and 3-D: ν = 3/2, K = (1 + s r) e^{-s r} with s chosen so that K(1) = K1(1). */
    CHECK_INT(nd_divand_order(1), 2);
    CHECK_INT(nd_divand_order(2), 2);
    CHECK_INT(nd_divand_order(3), 3);
    CHECK_INT(nd_divand_order(4), 3);
    double s = nd_divand_len_scale(1);
    CHECK_NEAR((1 + s) * exp(-s), 0.6019072301972346, 1e-9);
    CHECK_NEAR(nd_divand_len_scale(3), s, 1e-12);
    CHECK_NEAR(nd_divand_len_scale(2), 1.0, 1e-9);
    CHECK_NEAR(nd_divand_kernel(1, 1.0), 0.6019072301972346, 1e-9);
    CHECK_NEAR(nd_divand_kernel(3, 1.0), 0.6019072301972346, 1e-9);
    /* mu: (4π)^{n/2} Γ(m)/Γ(ν); 1-D: 2√π·1/(√π/2) = 4; 2-D: 4π. */
    CHECK_NEAR(nd_divand_mu(1), 4.0, 1e-12);
    CHECK_NEAR(nd_divand_mu(2), 4 * M_PI, 1e-12);
}

/* One observation at the centre of a cube [-1,1]^nd of n points per side; returns the field. */
static double *one_obs(int nd, size_t n, double len, double eps2, double value, nd_divand_solver sv,
                       nd_divand_errmode em, nd_divand_result *res) {
    nd_divand_grid g = {.ndim = nd};
    double xc[ND_DIVAND_MAXDIM], v = value;
    nd_divand_obs o = {.n = 1, .value = &v, .eps2_all = eps2};
    for (int k = 0; k < nd; k++) {
        g.n[k] = n, g.dx[k] = 2.0 / (double)(n - 1), g.len[k] = len;
        xc[k] = (double)(n - 1) / 2;
        o.x[k] = &xc[k];
    }
    nd_divand_opts opts = {.solver = sv, .error = em};
    char err[256];
    if (nd_divand_run(&g, &o, &opts, res, err, sizeof err) < 0) ND_FAIL_AT("divand: %s", err);
    CHECK_INT(res->nused, 1);
    return res->field;
}

/* The field along dimension 0 from the centre, at distance r·len, over its peak, against K(r). */
static void check_kernel(int nd, size_t n, double len, double tolrel) {
    nd_divand_result res;
    double *f = one_obs(nd, n, len, 0.01, 1.0, ND_DIVAND_AUTO, ND_DIVAND_ERR_NONE, &res);
    size_t c = (n - 1) / 2, centre = 0, stride = 1;
    for (int k = 0; k < nd; k++) centre += c * stride, stride *= n;
    double dx = 2.0 / (double)(n - 1), peak = f[centre];
    fprintf(stderr, "%d-D: %zu points, solver %d, %d iterations, peak %.4f\n", nd, res.nsea, (int)res.solver_used, res.iterations, peak);
    const double rs[] = {0.5, 1.0, 2.0};
    for (int i = 0; i < 3; i++) {
        double cells = rs[i] * len / dx;
        size_t i0 = (size_t)floor(cells);
        double w = cells - (double)i0;
        double got = ((1 - w) * f[centre + i0] + w * f[centre + i0 + 1]) / peak;
        double want = nd_divand_kernel(nd, rs[i]);
        fprintf(stderr, "%d-D r=%.1f: %.4f (analytic %.4f, %.2f%%)\n", nd, rs[i], got, want, 100 * (got - want) / want);
        CHECK_NEAR(got, want, tolrel * want);
    }
    nd_divand_result_free(&res);
}

ND_TEST(divand_kernel_2d) { check_kernel(2, 101, 0.2, 0.02); }
ND_TEST(divand_kernel_1d) { check_kernel(1, 201, 0.2, 0.02); }
ND_TEST(divand_kernel_3d) { check_kernel(3, 51, 0.25, 0.02); }

ND_TEST(divand_unit_obs_peak) {
    /* ε² = 1: the analysis at a unit observation is B00/(B00 + 1) ≈ 1/2. */
    nd_divand_result res;
    double *f = one_obs(2, 101, 0.2, 1.0, 1.0, ND_DIVAND_CHOLESKY, ND_DIVAND_ERR_NONE, &res);
    double peak = f[50 + 50 * 101];
    fprintf(stderr, "peak with eps2=1: %.4f\n", peak);
    CHECK_NEAR(peak, 0.5, 0.05);
    nd_divand_result_free(&res);
}

/* Error variance of one observation: 1 - K(r)²/(1 + ε²), exact diagonal of P. */
ND_TEST(divand_single_obs_error) {
    nd_divand_result res;
    size_t n = 101;
    double len = 0.2, dx = 2.0 / (double)(n - 1);
    one_obs(2, n, len, 1.0, 1.0, ND_DIVAND_CHOLESKY, ND_DIVAND_ERR_EXACT, &res);
    CHECK(res.err != NULL);
    CHECK_INT(res.error_used, ND_DIVAND_ERR_EXACT);
    size_t c = 50;
    const double rs[] = {0.0, 0.5, 1.0, 2.0};
    for (int i = 0; i < 4; i++) {
        double cells = rs[i] * len / dx;
        size_t i0 = (size_t)floor(cells);
        double w = cells - (double)i0;
        double got = (1 - w) * res.err[c + i0 + c * n] + w * res.err[c + i0 + 1 + c * n];
        double K = nd_divand_kernel(2, rs[i]);
        double want = 1 - K * K / 2;
        fprintf(stderr, "error variance r=%.1f: %.4f (analytic %.4f)\n", rs[i], got, want);
        CHECK_NEAR(got, want, 0.02);
    }
    nd_divand_result_free(&res);
    /* The clever poor man's error: 0 far below 1 at the observation, 1 far away, monotone between. */
    one_obs(2, n, len, 1.0, 1.0, ND_DIVAND_CHOLESKY, ND_DIVAND_ERR_CPME, &res);
    CHECK_INT(res.error_used, ND_DIVAND_ERR_CPME);
    double e0 = res.err[c + c * n], e1 = res.err[c + 5 + c * n], e2 = res.err[c + 20 + c * n];
    fprintf(stderr, "cpme: %.4f %.4f %.4f\n", e0, e1, e2);
    CHECK_NEAR(e0, 0.5, 0.05);
    CHECK(e0 < e1 && e1 < e2 && e2 <= 1.0 && e2 > 0.95);
    nd_divand_result_free(&res);
}

static unsigned rnd_state = 12345;
static double rnd(void) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return ((rnd_state >> 8) & 0xffffff) / (double)0x1000000;
}

/* Many observations on a masked 2-D grid with a non-uniform metric: both solvers agree. */
ND_TEST(divand_cholesky_vs_pcg) {
    size_t nx = 80, ny = 60, no = 300;
    unsigned char *mask = malloc(nx * ny);
    double *pmx = malloc(nx * ny * sizeof(double)), *pmy = malloc(nx * ny * sizeof(double));
    for (size_t j = 0; j < ny; j++)
        for (size_t i = 0; i < nx; i++) {
            double di = (double)i - 40, dj = (double)j - 30;
            mask[i + j * nx] = di * di + dj * dj > 64; /* a round island */
            pmx[i + j * nx] = 1 / (0.5 * cos((20 + 0.5 * (double)j) * M_PI / 180)); /* lon-like */
            pmy[i + j * nx] = 1 / 0.5;
        }
    double *x = malloc(no * sizeof(double)), *y = malloc(no * sizeof(double)), *v = malloc(no * sizeof(double));
    for (size_t k = 0; k < no; k++) {
        x[k] = rnd() * (double)(nx - 1), y[k] = rnd() * (double)(ny - 1);
        v[k] = sin(x[k] / 10) * cos(y[k] / 7) + 0.1 * (rnd() - 0.5);
    }
    nd_divand_grid g = {.ndim = 2, .n = {nx, ny}, .mask = mask, .pm = {pmx, pmy}, .len = {4, 4}};
    nd_divand_obs o = {.n = no, .x = {x, y}, .value = v, .eps2_all = 0.5};
    nd_divand_opts oc = {.solver = ND_DIVAND_CHOLESKY, .error = ND_DIVAND_ERR_NONE};
    nd_divand_opts op = {.solver = ND_DIVAND_PCG, .error = ND_DIVAND_ERR_NONE};
    nd_divand_result rc, rp;
    char err[256];
    CHECK(nd_divand_run(&g, &o, &oc, &rc, err, sizeof err) == 0);
    CHECK(nd_divand_run(&g, &o, &op, &rp, err, sizeof err) == 0);
    CHECK_INT(rc.solver_used, ND_DIVAND_CHOLESKY);
    CHECK_INT(rp.solver_used, ND_DIVAND_PCG);
    CHECK(rc.ndropped > 0 && rc.nused + rc.ndropped == no); /* some fall on the island */
    double maxd = 0, maxf = 0;
    for (size_t i = 0; i < nx * ny; i++) {
        if (!mask[i]) {
            CHECK(isnan(rc.field[i]) && isnan(rp.field[i]));
            continue;
        }
        maxd = fmax(maxd, fabs(rc.field[i] - rp.field[i]));
        maxf = fmax(maxf, fabs(rc.field[i]));
    }
    fprintf(stderr, "cholesky vs pcg: max diff %.3g (max |field| %.3g), %d iterations, %zu dropped\n", maxd, maxf,
            rp.iterations, rc.ndropped);
    CHECK(maxd < 1e-6 && maxf > 0.5);
    nd_divand_result_free(&rc);
    nd_divand_result_free(&rp);
    free(mask), free(pmx), free(pmy), free(x), free(y), free(v);
}

/* Two basins separated by a land strip: an observation in one leaves the other at exactly 0;
 * without the strip, the same point sees it. */
ND_TEST(divand_land_barrier) {
    size_t nx = 60, ny = 30;
    unsigned char *mask = malloc(nx * ny);
    for (size_t i = 0; i < nx * ny; i++) mask[i] = (i % nx) < 29 || (i % nx) > 31;
    double ox = 25, oy = 15, val = 1;
    nd_divand_grid g = {.ndim = 2, .n = {nx, ny}, .mask = mask, .dx = {1, 1}, .len = {10, 10}};
    nd_divand_obs o = {.n = 1, .x = {&ox, &oy}, .value = &val, .eps2_all = 0.1};
    nd_divand_opts opts = {.error = ND_DIVAND_ERR_EXACT};
    nd_divand_result r;
    char err[256];
    CHECK(nd_divand_run(&g, &o, &opts, &r, err, sizeof err) == 0);
    double left = r.field[27 + 15 * nx], right = r.field[34 + 15 * nx], eright = r.err[34 + 15 * nx];
    fprintf(stderr, "barrier: left %.4f right %.4g, error right %.4f\n", left, right, eright);
    CHECK(left > 0.4);
    CHECK(right == 0.0);
    CHECK(isnan(r.field[30 + 15 * nx]));
    nd_divand_result_free(&r);
    /* The error behind the strip is the prior variance: the same with the observation elsewhere. */
    ox = 3;
    CHECK(nd_divand_run(&g, &o, &opts, &r, err, sizeof err) == 0);
    CHECK_NEAR(r.err[34 + 15 * nx], eright, 1e-9);
    CHECK(r.err[25 + 15 * nx] > 2 * r.err[3 + 15 * nx]);
    nd_divand_result_free(&r);
    ox = 25;
    g.mask = NULL;
    CHECK(nd_divand_run(&g, &o, &opts, &r, err, sizeof err) == 0);
    fprintf(stderr, "no barrier: right %.4f\n", r.field[34 + 15 * nx]);
    CHECK(r.field[34 + 15 * nx] > 0.3);
    nd_divand_result_free(&r);
    free(mask);
}

/* 4-D (lon, lat, depth, time): with no time coupling, time slices are independent analyses; with
 * coupling, both solvers agree. */
ND_TEST(divand_4d) {
    nd_divand_grid g = {.ndim = 4, .n = {16, 14, 6, 3}, .dx = {1, 1, 1, 1}, .len = {4, 4, 2, 0}};
    double x[2] = {7.5, 3}, y[2] = {6, 6}, z[2] = {2.5, 2}, t[2] = {1, 1}, v[2] = {1, -1};
    nd_divand_obs o = {.n = 2, .x = {x, y, z, t}, .value = v, .eps2_all = 0.5};
    nd_divand_opts opts = {.error = ND_DIVAND_ERR_NONE};
    nd_divand_result r, r2;
    char err[256];
    CHECK(nd_divand_run(&g, &o, &opts, &r, err, sizeof err) == 0);
    size_t s = 16 * 14 * 6;
    for (size_t i = 0; i < s; i++) CHECK(r.field[i] == 0 && r.field[i + 2 * s] == 0);
    CHECK(r.field[7 + 6 * 16 + 2 * 16 * 14 + s] > 0.3);
    nd_divand_result_free(&r);
    g.len[3] = 1;
    nd_divand_opts oc = {.solver = ND_DIVAND_CHOLESKY}, op = {.solver = ND_DIVAND_PCG};
    oc.error = op.error = ND_DIVAND_ERR_NONE;
    CHECK(nd_divand_run(&g, &o, &oc, &r, err, sizeof err) == 0);
    CHECK(nd_divand_run(&g, &o, &op, &r2, err, sizeof err) == 0);
    double maxd = 0;
    for (size_t i = 0; i < 3 * s; i++) maxd = fmax(maxd, fabs(r.field[i] - r2.field[i]));
    fprintf(stderr, "4-D cholesky vs pcg: %.3g (%d iterations, residual %.3g)\n", maxd, r2.iterations, r2.residual);
    CHECK(maxd < 1e-6);
    CHECK(r.field[7 + 6 * 16 + 2 * 16 * 14] > 0.1); /* coupled: the neighbouring time sees it */
    nd_divand_result_free(&r);
    nd_divand_result_free(&r2);
}

/* 3-D with the preconditioner's levels decoupled (as for grids whose full factor is too large):
 * PCG still agrees with Cholesky. */
ND_TEST(divand_pcg_decoupled_levels) {
    nd_divand_grid g = {.ndim = 3, .n = {30, 25, 8}, .dx = {1, 1, 1}, .len = {5, 5, 2}};
    size_t no = 200;
    double x[200], y[200], z[200], v[200];
    for (size_t k = 0; k < no; k++) {
        x[k] = 29 * rnd(), y[k] = 24 * rnd(), z[k] = 7 * rnd();
        v[k] = sin(x[k] / 5) * cos(y[k] / 4) * exp(-z[k] / 4);
    }
    nd_divand_obs o = {.n = no, .x = {x, y, z}, .value = v, .eps2_all = 0.2};
    nd_divand_opts oc = {.solver = ND_DIVAND_CHOLESKY, .error = ND_DIVAND_ERR_NONE};
    nd_divand_opts op = {.solver = ND_DIVAND_PCG, .error = ND_DIVAND_ERR_NONE, .precond_max_nnz = 1e5};
    nd_divand_result rc, rp;
    char err[256];
    CHECK(nd_divand_run(&g, &o, &oc, &rc, err, sizeof err) == 0);
    CHECK(nd_divand_run(&g, &o, &op, &rp, err, sizeof err) == 0);
    double maxd = 0;
    for (size_t i = 0; i < 30 * 25 * 8; i++) maxd = fmax(maxd, fabs(rc.field[i] - rp.field[i]));
    fprintf(stderr, "3-D decoupled preconditioner: max diff %.3g, %d iterations\n", maxd, rp.iterations);
    CHECK(maxd < 1e-6);
    nd_divand_result_free(&rc);
    nd_divand_result_free(&rp);
}

ND_TEST(divand_refusals) {
    double x = 5, y = 5, v = 1;
    nd_divand_grid g = {.ndim = 2, .n = {10, 10}, .dx = {1, 1}, .len = {3, 3}};
    nd_divand_obs o = {.n = 1, .x = {&x, &y}, .value = &v, .eps2_all = 1};
    nd_divand_result r;
    char err[256];
    g.len[0] = -1;
    CHECK(nd_divand_run(&g, &o, NULL, &r, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "correlation length");
    g.len[0] = 0, g.len[1] = 0;
    CHECK(nd_divand_run(&g, &o, NULL, &r, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "correlation length");
    g.len[0] = g.len[1] = 3;
    o.eps2_all = 0;
    CHECK(nd_divand_run(&g, &o, NULL, &r, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "epsilon2");
    o.eps2_all = 1;
    x = 42;
    CHECK(nd_divand_run(&g, &o, NULL, &r, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "no observation");
    g.ndim = 5;
    CHECK(nd_divand_run(&g, &o, NULL, &r, err, sizeof err) < 0);
}
