/* Generalised cross-validation of the correlation length and the noise/signal ratio ε² (the "GCV" method of
 * DIVAnd_cv): for each candidate pair (a factor on every length, ε²),
 * score = (‖d − Hφ‖²/m) / (1 − tr(A)/m)² with A = H iP⁻¹ Hᵀ R⁻¹ the influence matrix of the m observations; tr(A)
 * is estimated by Girard's randomised trace (Rademacher probes z: zᵀ A z), one extra solve per probe with the
 * factor of the analysis. The candidate with the least score wins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "divand_impl.h"

/* A small xorshift: the probes must be reproducible from the seed, not cryptographic. */
static unsigned next_bit(unsigned long long *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (unsigned)(*s >> 32) & 1u;
}

/* y = Hs x (m values) */
static void apply_hs(const nd_dv_problem *p, const double *x, double *y) {
    cholmod_dense X = {.nrow = p->nsea, .ncol = 1, .nzmax = p->nsea, .d = p->nsea, .x = (void *)x, .xtype = CHOLMOD_REAL,
                       .dtype = CHOLMOD_DOUBLE};
    cholmod_dense Y = {.nrow = p->nused, .ncol = 1, .nzmax = p->nused, .d = p->nused, .x = y, .xtype = CHOLMOD_REAL,
                       .dtype = CHOLMOD_DOUBLE};
    double one[2] = {1, 0}, zero[2] = {0, 0};
    cholmod_l_sdmult(p->Hs, 0, one, zero, &X, &Y, p->c);
}

/* iP⁻¹ Hsᵀ v for an m-vector v, with the factor L. NULL when out of memory. */
static double *solve_obs(const nd_dv_problem *p, cholmod_factor *L, const double *v) {
    cholmod_dense V = {.nrow = p->nused, .ncol = 1, .nzmax = p->nused, .d = p->nused, .x = (void *)v,
                       .xtype = CHOLMOD_REAL, .dtype = CHOLMOD_DOUBLE};
    cholmod_dense *B = cholmod_l_zeros(p->nsea, 1, CHOLMOD_REAL, p->c);
    if (!B) return NULL;
    double one[2] = {1, 0}, zero[2] = {0, 0};
    cholmod_l_sdmult(p->HsT, 0, one, zero, &V, B, p->c);
    cholmod_dense *X = cholmod_l_solve(CHOLMOD_A, L, B, p->c);
    cholmod_l_free_dense(&B, p->c);
    if (!X) return NULL;
    double *x = malloc(p->nsea * sizeof *x);
    if (x) memcpy(x, X->x, p->nsea * sizeof *x);
    cholmod_l_free_dense(&X, p->c);
    return x;
}

/* The GCV score of one pair; negative with err on failure. */
static double score(const nd_divand_grid *g, const nd_divand_obs *obs, double lenfac, double eps2, int nprobe,
                    unsigned long long seed, cholmod_common *c, char *err, size_t errlen) {
    nd_divand_obs o = *obs;
    o.eps2 = NULL;
    o.eps2_all = eps2;
    nd_dv_problem p;
    double result = -1, *phi = NULL, *w = NULL, *hw = NULL, *z = NULL;
    cholmod_factor *L = NULL;
    if (nd_dv_build(&p, g, &o, lenfac, c, err, errlen) < 0) goto done;
    size_t m = p.nused;
    if (m < 2) {
        snprintf(err, errlen, "cross-validation needs at least two observations in the domain");
        goto done;
    }
    L = nd_dv_factor(&p);
    hw = malloc(m * sizeof *hw);
    z = malloc(m * sizeof *z);
    if (!L || !hw || !z || !(phi = solve_obs(&p, L, p.ds))) {
        snprintf(err, errlen, "cross-validation: sparse Cholesky failed or out of memory");
        goto done;
    }
    /* residual in whitened units: ds − Hs φ = R^-½ (d − Hφ), so ‖d − Hφ‖² = ε² ‖ds − Hs φ‖² */
    apply_hs(&p, phi, hw);
    double rss = 0;
    for (size_t i = 0; i < m; i++) rss += (p.ds[i] - hw[i]) * (p.ds[i] - hw[i]);
    rss *= eps2;
    /* tr(A) = tr(Hs iP⁻¹ Hsᵀ): A is similar to it */
    double tr = 0;
    for (int k = 0; k < nprobe; k++) {
        for (size_t i = 0; i < m; i++) z[i] = next_bit(&seed) ? 1.0 : -1.0;
        free(w);
        if (!(w = solve_obs(&p, L, z))) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        apply_hs(&p, w, hw);
        for (size_t i = 0; i < m; i++) tr += z[i] * hw[i];
    }
    tr /= nprobe;
    double dof = 1 - tr / (double)m;
    result = dof > 0 ? (rss / (double)m) / (dof * dof) : INFINITY;
done:
    if (L) cholmod_l_free_factor(&L, c);
    nd_dv_free(&p);
    free(phi);
    free(w);
    free(hw);
    free(z);
    return result;
}

int nd_divand_cv(const nd_divand_grid *g, const nd_divand_obs *obs, const double *lenfacs, size_t nlen,
                 const double *eps2s, size_t neps, int nprobe, unsigned seed, double *scores, size_t *best, char *err,
                 size_t errlen) {
    if (nlen == 0 || neps == 0 || nprobe < 1) {
        snprintf(err, errlen, "cross-validation needs candidates and probes");
        return -1;
    }
    cholmod_common c;
    cholmod_l_start(&c);
    c.print = 0;
    c.error_handler = NULL;
    int rc = 0;
    *best = 0;
    for (size_t i = 0; i < nlen * neps && rc == 0; i++) {
        double lf = lenfacs[i / neps], e2 = eps2s[i % neps];
        if (!(lf > 0) || !(e2 > 0)) {
            snprintf(err, errlen, "cross-validation candidates must be positive");
            rc = -1;
            break;
        }
        /* the same probes for every candidate, so that scores differ by the parameters alone */
        scores[i] = score(g, obs, lf, e2, nprobe, 0x9E3779B97F4A7C15ull ^ seed, &c, err, errlen);
        if (scores[i] < 0) rc = -1;
        else if (scores[i] < scores[*best]) *best = i;
    }
    cholmod_l_finish(&c);
    return rc;
}
