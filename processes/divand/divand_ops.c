/* DIVAnd assembly: the sea-point state vector, the smoothness operator A = I + V^-½ Dn V^-½ on the
 * masked grid with its metric scale factors, and the observation operator (multilinear
 * interpolation), all as CHOLMOD sparse matrices built from triplets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "divand_impl.h"

static double pm_at(const nd_divand_grid *g, int k, size_t i) { return g->pm[k] ? g->pm[k][i] : 1.0 / g->dx[k]; }

static bool sea(const nd_divand_grid *g, size_t i) { return !g->mask || g->mask[i]; }

void nd_dv_free(nd_dv_problem *p) {
    if (p->c) {
        if (p->A) cholmod_l_free_sparse(&p->A, p->c);
        if (p->Hs) cholmod_l_free_sparse(&p->Hs, p->c);
        if (p->HsT) cholmod_l_free_sparse(&p->HsT, p->c);
        if (p->Adv) cholmod_l_free_sparse(&p->Adv, p->c);
    }
    free(p->pack);
    free(p->unpack);
    free(p->sqrtv);
    free(p->ds);
    memset(p, 0, sizeof *p);
}

/* The cell volume over the dimensions that have a correlation length. */
static double volume(const nd_divand_grid *g, const double *L, size_t i) {
    double v = 1;
    for (int k = 0; k < g->ndim; k++)
        if (L[k] > 0) v /= pm_at(g, k, i);
    return v;
}

static int build_A(nd_dv_problem *p, const nd_divand_grid *g, const double *L, char *err, size_t errlen) {
    size_t stride[ND_DIVAND_MAXDIM], nfaces = 0;
    stride[0] = 1;
    for (int k = 1; k < g->ndim; k++) stride[k] = stride[k - 1] * g->n[k - 1];
    /* Faces joining two sea points along a dimension with a length. */
    for (int k = 0; k < g->ndim; k++) {
        if (!(L[k] > 0)) continue;
        for (size_t i = 0; i < p->ntot; i++) {
            size_t ik = (i / stride[k]) % g->n[k];
            if (ik + 1 < g->n[k] && p->pack[i] >= 0 && p->pack[i + stride[k]] >= 0) nfaces++;
        }
    }
    cholmod_triplet *T = cholmod_l_allocate_triplet(p->nsea, p->nsea, p->nsea + 4 * nfaces, 0, CHOLMOD_REAL, p->c);
    if (!T) {
        snprintf(err, errlen, "out of memory assembling the smoothness operator (%zu points)", p->nsea);
        return -1;
    }
    nd_dv_long *ti = T->i, *tj = T->j;
    double *tx = T->x;
    size_t t = 0;
    for (size_t s = 0; s < p->nsea; s++) {
        ti[t] = tj[t] = (nd_dv_long)s;
        tx[t++] = 1;
    }
    for (int k = 0; k < g->ndim; k++) {
        if (!(L[k] > 0)) continue;
        for (size_t i = 0; i < p->ntot; i++) {
            size_t ik = (i / stride[k]) % g->n[k];
            if (!(ik + 1 < g->n[k])) continue;
            size_t j = i + stride[k];
            nd_dv_long a = p->pack[i], b = p->pack[j];
            if (a < 0 || b < 0) continue;
            /* Gradient at the face: (φb - φa) * pm_face; flux weight: face volume * L². */
            double pms = 0.5 * (pm_at(g, k, i) + pm_at(g, k, j)), vs = 1;
            for (int q = 0; q < g->ndim; q++)
                if (L[q] > 0) vs /= 0.5 * (pm_at(g, q, i) + pm_at(g, q, j));
            double w = vs * L[k] * L[k] * pms * pms;
            double sa = p->sqrtv[a], sb = p->sqrtv[b];
            ti[t] = tj[t] = a;
            tx[t++] = w / (sa * sa);
            ti[t] = tj[t] = b;
            tx[t++] = w / (sb * sb);
            ti[t] = a, tj[t] = b;
            tx[t++] = -w / (sa * sb);
            ti[t] = b, tj[t] = a;
            tx[t++] = -w / (sa * sb);
        }
    }
    T->nnz = t;
    p->A = cholmod_l_triplet_to_sparse(T, t, p->c);
    cholmod_l_free_triplet(&T, p->c);
    if (!p->A) {
        snprintf(err, errlen, "out of memory assembling the smoothness operator (%zu points)", p->nsea);
        return -1;
    }
    return 0;
}

/* The advection operator: at each sea point, Σ_k v_k L_k ∂_k φ by central differences (one-sided beside land or
 * the edge), weighted like the smoothness norm by (V/coeff)^½. */
static int build_adv(nd_dv_problem *p, const nd_divand_grid *g, const double *L, char *err, size_t errlen) {
    size_t stride[ND_DIVAND_MAXDIM];
    stride[0] = 1;
    for (int k = 1; k < g->ndim; k++) stride[k] = stride[k - 1] * g->n[k - 1];
    cholmod_triplet *T = cholmod_l_allocate_triplet(p->nsea, p->nsea, 4 * (size_t)g->ndim * p->nsea, 0, CHOLMOD_REAL,
                                                    p->c);
    if (!T) {
        snprintf(err, errlen, "out of memory for the advection operator");
        return -1;
    }
    nd_dv_long *ti = T->i, *tj = T->j;
    double *tx = T->x;
    size_t t = 0;
    for (size_t i = 0; i < p->ntot; i++) {
        nd_dv_long r = p->pack[i];
        if (r < 0) continue;
        double w = p->sqrtv[r] / sqrt(p->coeff);
        for (int k = 0; k < g->ndim; k++) {
            double v = g->vel[k] ? g->vel[k][i] : 0;
            if (!(L[k] > 0) || v == 0 || !isfinite(v)) continue;
            size_t ik = (i / stride[k]) % g->n[k];
            nd_dv_long lo = ik > 0 ? p->pack[i - stride[k]] : -1, hi = ik + 1 < g->n[k] ? p->pack[i + stride[k]] : -1;
            if (lo < 0 && hi < 0) continue;
            nd_dv_long a = lo >= 0 ? lo : r, b = hi >= 0 ? hi : r;
            double c = w * v * L[k] * pm_at(g, k, i) / (lo >= 0 && hi >= 0 ? 2 : 1);
            ti[t] = r, tj[t] = b, tx[t++] = c;
            ti[t] = r, tj[t] = a, tx[t++] = -c;
        }
    }
    T->nnz = t;
    p->Adv = cholmod_l_triplet_to_sparse(T, t, p->c);
    cholmod_l_free_triplet(&T, p->c);
    if (!p->Adv) {
        snprintf(err, errlen, "out of memory for the advection operator");
        return -1;
    }
    return 0;
}

static int build_H(nd_dv_problem *p, const nd_divand_grid *g, const nd_divand_obs *obs, char *err, size_t errlen) {
    int nd = g->ndim, ncorner = 1 << nd;
    size_t stride[ND_DIVAND_MAXDIM];
    stride[0] = 1;
    for (int k = 1; k < nd; k++) stride[k] = stride[k - 1] * g->n[k - 1];
    cholmod_triplet *T = cholmod_l_allocate_triplet(obs->n ? obs->n : 1, p->nsea, (obs->n ? obs->n : 1) * ncorner, 0,
                                                    CHOLMOD_REAL, p->c);
    p->ds = malloc((obs->n ? obs->n : 1) * sizeof *p->ds);
    if (!T || !p->ds) {
        if (T) cholmod_l_free_triplet(&T, p->c);
        snprintf(err, errlen, "out of memory for %zu observations", obs->n);
        return -1;
    }
    nd_dv_long *ti = T->i, *tj = T->j;
    double *tx = T->x;
    size_t t = 0, row = 0;
    for (size_t o = 0; o < obs->n; o++) {
        double e2 = obs->eps2 ? obs->eps2[o] : obs->eps2_all;
        double v = obs->value ? obs->value[o] : 1.0;
        size_t base[ND_DIVAND_MAXDIM];
        double w[ND_DIVAND_MAXDIM];
        bool ok = isfinite(v) && e2 > 0 && isfinite(e2);
        for (int k = 0; k < nd && ok; k++) {
            double x = obs->x[k][o];
            if (g->n[k] == 1) {
                ok = fabs(x) <= 0.5;
                base[k] = 0, w[k] = 0;
                continue;
            }
            if (!(x >= 0 && x <= (double)(g->n[k] - 1))) {
                ok = false;
                break;
            }
            size_t i0 = (size_t)floor(x);
            if (i0 >= g->n[k] - 1) i0 = g->n[k] - 2;
            base[k] = i0, w[k] = x - (double)i0;
        }
        size_t t0 = t;
        for (int cnr = 0; cnr < ncorner && ok; cnr++) {
            double wt = 1;
            size_t idx = 0;
            for (int k = 0; k < nd; k++) {
                int up = (cnr >> k) & 1;
                if (g->n[k] == 1 && up) wt = 0;
                wt *= up ? w[k] : 1 - w[k];
                idx += (base[k] + (size_t)up) * stride[k];
            }
            if (wt == 0) continue;
            if (p->pack[idx] < 0) { /* a land corner: DIVAnd drops the observation */
                ok = false;
                break;
            }
            ti[t] = (nd_dv_long)row, tj[t] = p->pack[idx];
            tx[t++] = wt / sqrt(e2);
        }
        if (!ok) {
            t = t0;
            p->ndropped++;
            continue;
        }
        p->ds[row++] = v / sqrt(e2);
    }
    p->nused = row;
    T->nnz = t;
    T->nrow = row ? row : 1;
    p->Hs = cholmod_l_triplet_to_sparse(T, t, p->c);
    cholmod_l_free_triplet(&T, p->c);
    if (p->Hs) p->HsT = cholmod_l_transpose(p->Hs, 1, p->c);
    if (!p->Hs || !p->HsT) {
        snprintf(err, errlen, "out of memory for the observation operator");
        return -1;
    }
    return 0;
}

int nd_dv_build(nd_dv_problem *p, const nd_divand_grid *g, const nd_divand_obs *obs, double lenfac,
                cholmod_common *c, char *err, size_t errlen) {
    memset(p, 0, sizeof *p);
    p->c = c;
    if (g->ndim < 1 || g->ndim > ND_DIVAND_MAXDIM) {
        snprintf(err, errlen, "the grid must have 1 to %d dimensions", ND_DIVAND_MAXDIM);
        return -1;
    }
    p->ntot = 1;
    int neff = 0;
    for (int k = 0; k < g->ndim; k++) {
        if (g->n[k] < 1) {
            snprintf(err, errlen, "dimension %d of the grid is empty", k);
            return -1;
        }
        if (g->len[k] < 0 || !isfinite(g->len[k])) {
            snprintf(err, errlen, "correlation length %d must be positive (or 0 for no coupling)", k);
            return -1;
        }
        if (g->len[k] > 0 && g->n[k] > 1) neff++;
        if (!g->pm[k] && !(g->dx[k] > 0)) {
            snprintf(err, errlen, "grid spacing %d must be positive", k);
            return -1;
        }
        p->ntot *= g->n[k];
    }
    if (neff == 0) {
        snprintf(err, errlen, "at least one correlation length must be positive");
        return -1;
    }
    p->neff = neff;
    p->plane = g->n[0] * (g->ndim > 1 ? g->n[1] : 1);
    p->m = nd_divand_order(neff);
    double L[ND_DIVAND_MAXDIM] = {0}, ls = nd_divand_len_scale(neff);
    p->coeff = nd_divand_mu(neff);
    for (int k = 0; k < g->ndim; k++)
        if (g->len[k] > 0 && g->n[k] > 1) {
            L[k] = g->len[k] * lenfac / ls;
            p->coeff *= L[k];
        }
    p->pack = malloc(p->ntot * sizeof *p->pack);
    if (!p->pack) goto oom;
    for (size_t i = 0; i < p->ntot; i++) p->pack[i] = sea(g, i) ? (nd_dv_long)p->nsea++ : -1;
    if (p->nsea == 0) {
        snprintf(err, errlen, "the mask has no sea point");
        return -1;
    }
    p->unpack = malloc(p->nsea * sizeof *p->unpack);
    p->sqrtv = malloc(p->nsea * sizeof *p->sqrtv);
    if (!p->unpack || !p->sqrtv) goto oom;
    for (size_t i = 0; i < p->ntot; i++)
        if (p->pack[i] >= 0) {
            double v = volume(g, L, i);
            if (!(v > 0) || !isfinite(v)) {
                snprintf(err, errlen, "scale factors must be positive and finite");
                return -1;
            }
            p->unpack[p->pack[i]] = i;
            p->sqrtv[p->pack[i]] = sqrt(v);
        }
    if (build_A(p, g, L, err, errlen) < 0) return -1;
    bool advect = false;
    for (int k = 0; k < g->ndim; k++) advect |= g->vel[k] != NULL;
    if (advect && build_adv(p, g, L, err, errlen) < 0) return -1;
    return build_H(p, g, obs, err, errlen);
oom:
    snprintf(err, errlen, "out of memory for a grid of %zu points", p->ntot);
    return -1;
}

/* y = A x for the symmetric A: row j is column j, a gather loop. */
static void matvec_sym(const cholmod_sparse *A, const double *x, double *y) {
    const nd_dv_long *Ap = A->p, *Ai = A->i;
    const double *Ax = A->x;
    size_t n = A->ncol;
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        for (nd_dv_long q = Ap[j]; q < Ap[j + 1]; q++) s += Ax[q] * x[Ai[q]];
        y[j] = s;
    }
}

/* y += Mᵀ M x for M stored by columns (one per sea point); t holds M's rows. */
static void add_normal(const cholmod_sparse *M, const double *x, double *y, double *t) {
    const nd_dv_long *Mp = M->p, *Mi = M->i;
    const double *Mx = M->x;
    size_t n = M->ncol;
    memset(t, 0, (M->nrow ? M->nrow : 1) * sizeof *t);
    for (size_t j = 0; j < n; j++)
        for (nd_dv_long q = Mp[j]; q < Mp[j + 1]; q++) t[Mi[q]] += Mx[q] * x[j];
    for (size_t j = 0; j < n; j++) {
        double s = 0;
        for (nd_dv_long q = Mp[j]; q < Mp[j + 1]; q++) s += Mx[q] * t[Mi[q]];
        y[j] += s;
    }
}

void nd_dv_apply(const nd_dv_problem *p, const double *x, double *y, double *work) {
    size_t n = p->nsea;
    double *u = work, *v = work + n, *t = work + 2 * n;
    for (size_t i = 0; i < n; i++) u[i] = p->sqrtv[i] * x[i];
    for (int k = 0; k < p->m; k++) {
        matvec_sym(p->A, u, v);
        double *s = u;
        u = v, v = s;
    }
    double ic = 1 / p->coeff;
    for (size_t i = 0; i < n; i++) y[i] = ic * p->sqrtv[i] * u[i];
    add_normal(p->Hs, x, y, t);
    if (p->Adv) add_normal(p->Adv, x, y, u); /* u is free again: nsea rows */
}

void nd_dv_rhs(const nd_dv_problem *p, double *rhs) {
    const nd_dv_long *Hp = p->Hs->p, *Hi = p->Hs->i;
    const double *Hx = p->Hs->x;
    for (size_t j = 0; j < p->nsea; j++) {
        double s = 0;
        for (nd_dv_long q = Hp[j]; q < Hp[j + 1]; q++) s += Hx[q] * p->ds[Hi[q]];
        rhs[j] = s;
    }
}

cholmod_factor *nd_dv_factor(const nd_dv_problem *p) {
    cholmod_sparse *U = nd_dv_assemble(p);
    if (!U) {
        p->c->status = CHOLMOD_OUT_OF_MEMORY;
        return NULL;
    }
    cholmod_factor *L = cholmod_l_analyze(U, p->c);
    if (L) cholmod_l_factorize(U, L, p->c);
    cholmod_l_free_sparse(&U, p->c);
    if (L && p->c->status != CHOLMOD_OK) cholmod_l_free_factor(&L, p->c);
    return L;
}

cholmod_sparse *nd_dv_assemble(const nd_dv_problem *p) {
    cholmod_common *c = p->c;
    cholmod_sparse *Am = cholmod_l_copy_sparse(p->A, c);
    for (int k = 1; k < p->m && Am; k++) {
        cholmod_sparse *N = cholmod_l_ssmult(Am, p->A, 0, 1, 1, c);
        cholmod_l_free_sparse(&Am, c);
        Am = N;
    }
    if (!Am) return NULL;
    cholmod_dense *s = cholmod_l_allocate_dense(p->nsea, 1, p->nsea, CHOLMOD_REAL, c);
    if (!s) {
        cholmod_l_free_sparse(&Am, c);
        return NULL;
    }
    double *sx = s->x, sc = 1 / sqrt(p->coeff);
    for (size_t i = 0; i < p->nsea; i++) sx[i] = sc * p->sqrtv[i];
    cholmod_l_scale(s, CHOLMOD_SYM, Am, c);
    cholmod_l_free_dense(&s, c);
    cholmod_sparse *HtH = cholmod_l_aat(p->HsT, NULL, 0, 1, c);
    cholmod_sparse *S = NULL;
    if (HtH) {
        double one[2] = {1, 0};
        S = cholmod_l_add(Am, HtH, one, one, 1, 1, c);
        cholmod_l_free_sparse(&HtH, c);
    }
    cholmod_l_free_sparse(&Am, c);
    if (S && p->Adv) { /* + Advᵀ Adv, as the transpose's A Aᵀ */
        cholmod_sparse *AdvT = cholmod_l_transpose(p->Adv, 1, c);
        cholmod_sparse *AtA = AdvT ? cholmod_l_aat(AdvT, NULL, 0, 1, c) : NULL;
        cholmod_sparse *S2 = NULL;
        if (AtA) {
            double one[2] = {1, 0};
            S2 = cholmod_l_add(S, AtA, one, one, 1, 1, c);
        }
        if (AdvT) cholmod_l_free_sparse(&AdvT, c);
        if (AtA) cholmod_l_free_sparse(&AtA, c);
        cholmod_l_free_sparse(&S, c);
        S = S2;
    }
    if (!S) return NULL;
    cholmod_sparse *U = cholmod_l_copy(S, 1, 1, c);
    cholmod_l_free_sparse(&S, c);
    return U;
}
