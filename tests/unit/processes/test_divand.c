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
