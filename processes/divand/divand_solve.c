/* DIVAnd solvers: iP φ = Hᵀ R⁻¹ d by CHOLMOD's sparse Cholesky or by conjugate gradients
 * (Jacobi-preconditioned, matrix-free), and the error variance exactly (diagonal of iP⁻¹ from the
 * factor) or by the clever poor man's method (Beckers et al. 2014). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "divand_impl.h"

/* The length factor of the clever poor man's error (DIVAnd_cpme: best in 2-D). */
#define CPME_LEN_FACTOR (1 / 1.70766)
/* Nonzeros of the preconditioner's factor allowed (8 bytes each: 800 MB). */
#define PRECOND_MAX_LNZ 1e8

void nd_divand_result_free(nd_divand_result *res) {
    free(res->field);
    free(res->err);
    res->field = res->err = NULL;
}

static int report(const nd_divand_opts *o, int pct, const char *msg) {
    return o && o->progress ? o->progress(o->ctx, pct, msg) : 0;
}

/* diag(iP): (1/coeff) V (A^m)_ii + Σ Hs². */
static void diag_iP(const nd_dv_problem *p, double *d, double *w) {
    const nd_dv_long *Ap = p->A->p, *Ai = p->A->i;
    const double *Ax = p->A->x;
    size_t n = p->nsea;
    for (size_t i = 0; i < n; i++) w[i] = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        if (p->m == 2) {
            for (nd_dv_long q = Ap[i]; q < Ap[i + 1]; q++) s += Ax[q] * Ax[q];
        } else if (p->m == 3) {
            for (nd_dv_long q = Ap[i]; q < Ap[i + 1]; q++) w[Ai[q]] = Ax[q];
            for (nd_dv_long q = Ap[i]; q < Ap[i + 1]; q++) {
                nd_dv_long j = Ai[q];
                for (nd_dv_long r = Ap[j]; r < Ap[j + 1]; r++) s += Ax[q] * Ax[r] * w[Ai[r]];
            }
            for (nd_dv_long q = Ap[i]; q < Ap[i + 1]; q++) w[Ai[q]] = 0;
        } else {
            double a = 0;
            for (nd_dv_long q = Ap[i]; q < Ap[i + 1]; q++)
                if ((size_t)Ai[q] == i) a = Ax[q];
            s = pow(a, p->m);
        }
        d[i] = s * p->sqrtv[i] * p->sqrtv[i] / p->coeff;
    }
    const cholmod_sparse *M[2] = {p->Hs, p->Adv};
    for (int k = 0; k < 2 && M[k]; k++) {
        const nd_dv_long *Mp = M[k]->p;
        const double *Mx = M[k]->x;
        for (size_t j = 0; j < n; j++)
            for (nd_dv_long q = Mp[j]; q < Mp[j + 1]; q++) d[j] += Mx[q] * Mx[q];
    }
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* The preconditioner: iB⁻¹ = coeff V^-½ A^-m V^-½ applied exactly through the sparse Cholesky factor of
 * the second-order operator A (far sparser than that of iP), so that the preconditioned system is
 * I + B Hᵀ R⁻¹ H, whose spectrum is bounded by the observation density and not by the resolution. When
 * A cannot be factorised, the diagonal of iP (Jacobi) takes over. */
typedef struct precond {
    cholmod_factor *LA;
    double *minv;       /* Jacobi */
    cholmod_common *c;
} precond;

static int precond_apply(const nd_dv_problem *p, const precond *pc, const double *r, double *z) {
    size_t n = p->nsea;
    if (!pc->LA) {
        for (size_t i = 0; i < n; i++) z[i] = pc->minv[i] * r[i];
        return 0;
    }
    for (size_t i = 0; i < n; i++) z[i] = r[i] / p->sqrtv[i];
    cholmod_dense B = {.nrow = n, .ncol = 1, .nzmax = n, .d = n, .x = z, .xtype = CHOLMOD_REAL, .dtype = CHOLMOD_DOUBLE};
    for (int k = 0; k < p->m; k++) {
        cholmod_dense *X = cholmod_l_solve(CHOLMOD_A, pc->LA, &B, pc->c);
        if (!X) return -1;
        memcpy(z, X->x, n * sizeof *z);
        cholmod_l_free_dense(&X, pc->c);
    }
    for (size_t i = 0; i < n; i++) z[i] *= p->coeff / p->sqrtv[i];
    return 0;
}

/* A with the couplings between horizontal levels (depth, time) removed but their diagonal kept:
 * block diagonal, so its factor is that of one 2-D problem per level. */
static cholmod_sparse *decoupled(const nd_dv_problem *p) {
    cholmod_sparse *U = cholmod_l_copy(p->A, 1, 1, p->c);
    if (!U) return NULL;
    nd_dv_long *Up = U->p, *Ui = U->i, q = 0;
    double *Ux = U->x;
    for (size_t j = 0; j < U->ncol; j++) {
        nd_dv_long start = Up[j];
        Up[j] = q;
        for (nd_dv_long k = start; k < Up[j + 1]; k++)
            if (p->unpack[Ui[k]] / p->plane == p->unpack[j] / p->plane) Ui[q] = Ui[k], Ux[q++] = Ux[k];
    }
    Up[U->ncol] = q;
    return U;
}

static void precond_init(const nd_dv_problem *p, precond *pc, double *work, double max_lnz) {
    memset(pc, 0, sizeof *pc);
    pc->c = p->c;
    cholmod_sparse *U = cholmod_l_copy(p->A, 1, 1, p->c);
    if (U) {
        pc->LA = cholmod_l_analyze(U, p->c);
        /* A factor over the memory budget (3-D grids of several 10^5 points): decouple the levels. */
        if (pc->LA && p->c->lnz > max_lnz) {
            cholmod_l_free_factor(&pc->LA, p->c);
            cholmod_l_free_sparse(&U, p->c);
            if (p->plane < p->ntot && (U = decoupled(p)) != NULL) {
                pc->LA = cholmod_l_analyze(U, p->c);
                if (pc->LA && p->c->lnz > max_lnz) cholmod_l_free_factor(&pc->LA, p->c);
            }
        }
        if (pc->LA && !cholmod_l_factorize(U, pc->LA, p->c)) cholmod_l_free_factor(&pc->LA, p->c);
        if (pc->LA && p->c->status != CHOLMOD_OK) cholmod_l_free_factor(&pc->LA, p->c);
        if (U) cholmod_l_free_sparse(&U, p->c);
    }
    if (pc->LA) return;
    p->c->status = CHOLMOD_OK;
    pc->minv = malloc(p->nsea * sizeof *pc->minv);
    if (!pc->minv) return;
    diag_iP(p, pc->minv, work);
    for (size_t i = 0; i < p->nsea; i++) pc->minv[i] = pc->minv[i] > 0 ? 1 / pc->minv[i] : 1;
}

static void precond_free(precond *pc) {
    if (pc->LA) cholmod_l_free_factor(&pc->LA, pc->c);
    free(pc->minv);
}

/* Preconditioned conjugate gradients from x = 0. Returns iterations, -1 when stopped, -2 on memory. */
static int pcg(const nd_dv_problem *p, const double *b, double *x, const nd_divand_opts *o, double *resid,
               int pct0, int pct1) {
    size_t n = p->nsea;
    double tol = o && o->tol > 0 ? o->tol : 1e-10;
    int maxit = o && o->maxit > 0 ? o->maxit : 20000;
    double *mem = malloc((6 * n + p->nused + 1) * sizeof *mem);
    if (!mem) return -2;
    double *r = mem, *z = r + n, *d = z + n, *q = d + n, *work = q + n;
    precond pc;
    precond_init(p, &pc, work, o && o->precond_max_nnz > 0 ? o->precond_max_nnz : PRECOND_MAX_LNZ);
    if (!pc.LA && !pc.minv) {
        free(mem);
        return -2;
    }
    double bn = sqrt(dot(b, b, n));
    memset(x, 0, n * sizeof *x);
    *resid = 0;
    int it = 0;
    if (bn == 0) goto out;
    memcpy(r, b, n * sizeof *r);
    if (precond_apply(p, &pc, r, z) < 0) goto oom;
    memcpy(d, z, n * sizeof *d);
    double rz = dot(r, z, n);
    for (it = 1; it <= maxit; it++) {
        nd_dv_apply(p, d, q, work);
        double alpha = rz / dot(d, q, n);
        for (size_t i = 0; i < n; i++) x[i] += alpha * d[i], r[i] -= alpha * q[i];
        *resid = sqrt(dot(r, r, n)) / bn;
        if (*resid < tol) break;
        if (precond_apply(p, &pc, r, z) < 0) goto oom;
        double rz1 = dot(r, z, n);
        double beta = rz1 / rz;
        rz = rz1;
        for (size_t i = 0; i < n; i++) d[i] = z[i] + beta * d[i];
        if (it % 20 == 0 && report(o, pct0 + (int)((pct1 - pct0) * (double)it / maxit), "conjugate gradients")) {
            it = -1;
            goto out;
        }
    }
    if (it > maxit) it = maxit;
out:
    precond_free(&pc);
    free(mem);
    return it;
oom:
    precond_free(&pc);
    free(mem);
    return -2;
}

typedef struct solved {
    cholmod_factor *L; /* kept for the exact error */
    int iterations;
    double resid;
} solved;

/* Solves iP x = Hsᵀ ds with the given solver. */
static int solve(const nd_dv_problem *p, nd_divand_solver sv, bool keep_factor, double *x, solved *out,
                 const nd_divand_opts *o, int pct0, int pct1, char *err, size_t errlen) {
    cholmod_common *c = p->c;
    size_t n = p->nsea;
    double *b = malloc(n * sizeof *b);
    if (!b) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    nd_dv_rhs(p, b);
    if (sv == ND_DIVAND_PCG) {
        int it = pcg(p, b, x, o, &out->resid, pct0, pct1);
        free(b);
        if (it == -1) {
            snprintf(err, errlen, "the analysis was stopped");
            return -1;
        }
        if (it == -2) {
            snprintf(err, errlen, "out of memory for conjugate gradients");
            return -1;
        }
        out->iterations = it;
        double tol = o && o->tol > 0 ? o->tol : 1e-10;
        if (!(out->resid < tol * 1e3)) {
            snprintf(err, errlen, "conjugate gradients did not converge (relative residual %.3g after %d iterations)",
                     out->resid, it);
            return -1;
        }
        return 0;
    }
    cholmod_factor *L = nd_dv_factor(p);
    if (!L) {
        free(b);
        snprintf(err, errlen, "sparse Cholesky failed (%s)", c->status == CHOLMOD_NOT_POSDEF ? "not positive definite"
                                                              : c->status == CHOLMOD_OUT_OF_MEMORY ? "out of memory"
                                                                                                  : "CHOLMOD error");
        return -1;
    }
    if (report(o, (pct0 + pct1) / 2, "factorised")) {
        cholmod_l_free_factor(&L, c);
        free(b);
        snprintf(err, errlen, "the analysis was stopped");
        return -1;
    }
    cholmod_dense B = {.nrow = n, .ncol = 1, .nzmax = n, .d = n, .x = b, .xtype = CHOLMOD_REAL, .dtype = CHOLMOD_DOUBLE};
    cholmod_dense *X = cholmod_l_solve(CHOLMOD_A, L, &B, c);
    free(b);
    if (!X) {
        cholmod_l_free_factor(&L, c);
        snprintf(err, errlen, "out of memory in the Cholesky solve");
        return -1;
    }
    memcpy(x, X->x, n * sizeof *x);
    cholmod_l_free_dense(&X, c);
    if (keep_factor) out->L = L;
    else cholmod_l_free_factor(&L, c);
    return 0;
}

/* diag(iP⁻¹) from the factor, 64 unit columns at a time. */
static int exact_error(const nd_dv_problem *p, cholmod_factor *L, double *e, const nd_divand_opts *o) {
    cholmod_common *c = p->c;
    size_t n = p->nsea, nb = 64;
    cholmod_dense *B = cholmod_l_zeros(n, nb, CHOLMOD_REAL, c);
    if (!B) return -1;
    double *bx = B->x;
    for (size_t j0 = 0; j0 < n; j0 += nb) {
        size_t k = n - j0 < nb ? n - j0 : nb;
        B->ncol = k;
        for (size_t j = 0; j < k; j++) bx[j * n + j0 + j] = 1;
        cholmod_dense *X = cholmod_l_solve(CHOLMOD_A, L, B, c);
        for (size_t j = 0; j < k; j++) bx[j * n + j0 + j] = 0;
        if (!X) {
            cholmod_l_free_dense(&B, c);
            return -1;
        }
        const double *xx = X->x;
        for (size_t j = 0; j < k; j++) e[j0 + j] = xx[j * n + j0 + j];
        cholmod_l_free_dense(&X, c);
        if (report(o, 80 + (int)(15.0 * (double)j0 / n), "exact error")) {
            cholmod_l_free_dense(&B, c);
            return -1;
        }
    }
    B->ncol = nb;
    cholmod_l_free_dense(&B, c);
    return 0;
}

static double *unpack(const nd_dv_problem *p, const double *x) {
    double *f = malloc(p->ntot * sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < p->ntot; i++) f[i] = p->pack[i] >= 0 ? x[p->pack[i]] : NAN;
    return f;
}

int nd_divand_run(const nd_divand_grid *g, const nd_divand_obs *obs, const nd_divand_opts *o,
                  nd_divand_result *res, char *err, size_t errlen) {
    memset(res, 0, sizeof *res);
    if (!(obs->eps2 || obs->eps2_all > 0)) {
        snprintf(err, errlen, "epsilon2 must be positive");
        return -1;
    }
    cholmod_common c;
    cholmod_l_start(&c);
    c.print = 0;
    c.error_handler = NULL;
    nd_dv_problem p;
    double *x = NULL, *e = NULL;
    solved s = {0};
    int rc = -1;
    if (nd_dv_build(&p, g, obs, 1.0, &c, err, errlen) < 0) goto done;
    res->nused = p.nused, res->ndropped = p.ndropped, res->nsea = p.nsea;
    if (p.nused == 0) {
        snprintf(err, errlen, "no observation inside the sea part of the grid (%zu outside or on land)", p.ndropped);
        goto done;
    }
    if (report(o, 5, "assembled")) {
        snprintf(err, errlen, "the analysis was stopped");
        goto done;
    }
    size_t chol_max = o && o->cholesky_max ? o->cholesky_max : (p.neff <= 2 ? 400000 : 60000);
    size_t exact_max = o && o->exact_max ? o->exact_max : 4000;
    nd_divand_solver sv = o ? o->solver : ND_DIVAND_AUTO;
    if (sv == ND_DIVAND_AUTO) sv = p.nsea <= chol_max ? ND_DIVAND_CHOLESKY : ND_DIVAND_PCG;
    nd_divand_errmode em = o ? o->error : ND_DIVAND_ERR_AUTO;
    if (em == ND_DIVAND_ERR_AUTO) em = p.nsea <= exact_max ? ND_DIVAND_ERR_EXACT : ND_DIVAND_ERR_CPME;
    if (em == ND_DIVAND_ERR_EXACT && p.nsea > 20 * exact_max) {
        snprintf(err, errlen, "an exact error for %zu points is too costly (at most %zu): use the clever poor man's error",
                 p.nsea, 20 * exact_max);
        goto done;
    }
    x = malloc(p.nsea * sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    /* The exact error needs the factor: the analysis itself then uses it too. */
    nd_divand_solver sv_an = em == ND_DIVAND_ERR_EXACT ? ND_DIVAND_CHOLESKY : sv;
    if (em == ND_DIVAND_ERR_EXACT && sv == ND_DIVAND_PCG) sv_an = ND_DIVAND_PCG;
    if (solve(&p, sv_an, em == ND_DIVAND_ERR_EXACT && sv_an == ND_DIVAND_CHOLESKY, x, &s, o, 5, 60, err, errlen) < 0)
        goto done;
    res->solver_used = sv_an;
    res->iterations = s.iterations;
    res->residual = s.resid;
    if (!(res->field = unpack(&p, x))) goto oom;
    if (em == ND_DIVAND_ERR_EXACT) {
        e = malloc(p.nsea * sizeof *e);
        if (!e) goto oom;
        cholmod_factor *L = s.L;
        if (!L) { /* PCG analysis: factor once for the error */
            if (!(L = nd_dv_factor(&p))) {
                snprintf(err, errlen, "sparse Cholesky for the exact error failed");
                goto done;
            }
            s.L = L;
        }
        if (exact_error(&p, L, e, o) < 0) {
            snprintf(err, errlen, "exact error: stopped or out of memory");
            goto done;
        }
    } else if (em == ND_DIVAND_ERR_CPME) {
        /* Analysis of unit observations with shortened lengths: error ≈ 1 - that analysis. */
        nd_divand_obs ones = *obs;
        ones.value = NULL;
        nd_dv_problem q;
        if (nd_dv_build(&q, g, &ones, CPME_LEN_FACTOR, &c, err, errlen) < 0) {
            nd_dv_free(&q);
            goto done;
        }
        e = malloc(p.nsea * sizeof *e);
        solved s2 = {0};
        int r2 = e ? solve(&q, sv, false, e, &s2, o, 60, 95, err, errlen) : -1;
        nd_dv_free(&q);
        if (!e) goto oom;
        if (r2 < 0) goto done;
        for (size_t i = 0; i < p.nsea; i++) e[i] = e[i] < 1 ? 1 - e[i] : 0;
    }
    if (e && !(res->err = unpack(&p, e))) goto oom;
    res->error_used = em;
    report(o, 100, "done");
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory");
done:
    if (s.L) cholmod_l_free_factor(&s.L, &c);
    nd_dv_free(&p);
    free(x);
    free(e);
    cholmod_l_finish(&c);
    if (rc < 0) nd_divand_result_free(res);
    return rc;
}
