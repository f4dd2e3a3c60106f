/* DIVAnd's advection constraint: one observation in a uniform flow spreads further along the flow than across
 * it (and equally without a flow); Cholesky and conjugate gradients solve the same constrained problem. */
#include <math.h>
#include <stdlib.h>

#include "../../../processes/divand/divand.h"
#include "test.h"

#define N 81

/* Distance (in grid steps) from the centre along dimension k where the field first falls below half its peak. */
static double half_width(const double *f, int k) {
    size_t c = (N - 1) / 2, centre = c + c * N, step = k == 0 ? 1 : N;
    double peak = f[centre];
    for (size_t d = 1; d <= c; d++)
        if (f[centre + d * step] < peak / 2) return (double)d;
    return (double)c;
}

static double *analyse(double speed, nd_divand_solver sv, double *u, double *v) {
    for (size_t i = 0; i < N * N; i++) u[i] = speed, v[i] = 0;
    nd_divand_grid g = {.ndim = 2, .n = {N, N}, .dx = {1.0 / (N - 1), 1.0 / (N - 1)}, .len = {0.1, 0.1}};
    if (speed > 0) g.vel[0] = u, g.vel[1] = v;
    double x = (N - 1) / 2.0, y = (N - 1) / 2.0, val = 1;
    nd_divand_obs o = {.n = 1, .x = {&x, &y}, .value = &val, .eps2_all = 0.1};
    nd_divand_opts opts = {.solver = sv, .error = ND_DIVAND_ERR_NONE, .tol = 1e-12};
    nd_divand_result res;
    char err[256];
    if (nd_divand_run(&g, &o, &opts, &res, err, sizeof err) < 0) {
        fprintf(stderr, "divand: %s\n", err);
        return NULL;
    }
    return res.field;
}

ND_TEST(divand_advection_elongates_along_the_flow) {
    static double u[N * N], v[N * N];
    double *still = analyse(0, ND_DIVAND_CHOLESKY, u, v), *flow = analyse(5, ND_DIVAND_CHOLESKY, u, v);
    CHECK(still && flow);
    if (!still || !flow) return;
    double sx = half_width(still, 0), sy = half_width(still, 1), fx = half_width(flow, 0), fy = half_width(flow, 1);
    fprintf(stderr, "half widths without flow %.0f x %.0f, with flow %.0f x %.0f\n", sx, sy, fx, fy);
    CHECK(fabs(sx - sy) <= 1);
    CHECK(fx >= 1.5 * fy);
    CHECK(fx > sx);
    double *pcg = analyse(5, ND_DIVAND_PCG, u, v);
    CHECK(pcg != NULL);
    double worst = 0;
    for (size_t i = 0; pcg && i < N * N; i++) worst = fmax(worst, fabs(pcg[i] - flow[i]));
    fprintf(stderr, "Cholesky vs PCG with advection: %.2g\n", worst);
    CHECK(worst < 1e-6);
    free(still), free(flow), free(pcg);
}
