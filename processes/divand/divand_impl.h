/* Internals shared by the DIVAnd assembly and solvers: the packed sea-point state vector and the
 * sparse operators (CHOLMOD compressed columns) the cost function is made of. */
#ifndef NADIR_PROCESSES_DIVAND_IMPL_H
#define NADIR_PROCESSES_DIVAND_IMPL_H

#include <cholmod.h>

#include "divand.h"

typedef SuiteSparse_long nd_dv_long;

/* The discretised problem: iB = (1/coeff) V^½ A^m V^½ with A = I + V^-½ Dn V^-½ (Dn: the volume
 * weighted, length scaled negative Laplacian), iP = iB + Advᵀ Adv + Hsᵀ Hs with Hs = R^-½ H. */
typedef struct nd_dv_problem {
    size_t ntot, nsea;
    size_t plane;           /* points of one horizontal level (n0 * n1) */
    nd_dv_long *pack;       /* full index -> sea index, -1 on land */
    size_t *unpack;         /* sea index -> full index */
    double *sqrtv;          /* V^½ per sea point (cell volume over the dimensions with a length) */
    double coeff;           /* mu * product of the rescaled lengths */
    int m, neff;
    cholmod_sparse *A;      /* nsea x nsea, unsymmetric storage of a symmetric matrix */
    cholmod_sparse *Hs;     /* nobs_used x nsea: R^-½ H */
    cholmod_sparse *HsT;    /* nsea x nobs_used */
    cholmod_sparse *Adv;    /* nsea x nsea, or NULL: (coeff⁻¹ V)^½ (v·∇), the advection term of iP is Advᵀ Adv */
    double *ds;             /* R^-½ d for the used observations */
    size_t nused, ndropped;
    cholmod_common *c;
} nd_dv_problem;

/* Builds the state vector, A, and the observation operator; lenfac multiplies every length (the
 * clever poor man's error uses 1/1.70766). values may be NULL (all ones). */
int nd_dv_build(nd_dv_problem *p, const nd_divand_grid *g, const nd_divand_obs *obs, double lenfac,
                cholmod_common *c, char *err, size_t errlen);
void nd_dv_free(nd_dv_problem *p);

/* y = iP x, matrix-free (A applied m times); work holds 2*nsea + nused doubles. */
void nd_dv_apply(const nd_dv_problem *p, const double *x, double *y, double *work);
/* iP assembled as an upper-triangular symmetric CHOLMOD matrix. */
cholmod_sparse *nd_dv_assemble(const nd_dv_problem *p);
/* The sparse Cholesky factor of iP, or NULL (p->c->status says why: out of memory, not positive definite). */
cholmod_factor *nd_dv_factor(const nd_dv_problem *p);
/* rhs = Hsᵀ ds */
void nd_dv_rhs(const nd_dv_problem *p, double *rhs);

#endif
