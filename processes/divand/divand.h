/* The DIVAnd kernel (Barth et al. 2014): variational analysis of scattered observations onto a masked
 * n-D grid, pure C on arrays (no files, no HTTP). Observations come in fractional grid indices; the
 * adapter maps longitude/latitude/depth/time to them. */
#ifndef NADIR_PROCESSES_DIVAND_H
#define NADIR_PROCESSES_DIVAND_H

#include <stdbool.h>
#include <stddef.h>

#define ND_DIVAND_MAXDIM 4

typedef struct nd_divand_grid {
    int ndim;                          /* 1..4 */
    size_t n[ND_DIVAND_MAXDIM];        /* points per dimension; dimension 0 varies fastest */
    const unsigned char *mask;         /* nonzero: sea (analysed); NULL: every point */
    const double *pm[ND_DIVAND_MAXDIM];/* per point scale factor 1/spacing (metric); NULL: 1/dx[k] */
    double dx[ND_DIVAND_MAXDIM];       /* constant spacing where pm[k] is NULL */
    double len[ND_DIVAND_MAXDIM];      /* correlation length (units of the spacing); 0: no coupling */
    /* Advection constraint (optional): the velocity per dimension on the full grid, NULL for none. The cost gains
     * ‖(v·∇)φ‖² with ∇ in correlation lengths, so |v| = 1 weighs gradients along the flow as much as the
     * smoothness norm weighs any gradient; larger speeds carry the information further along the flow. */
    const double *vel[ND_DIVAND_MAXDIM];
} nd_divand_grid;

typedef struct nd_divand_obs {
    size_t n;
    const double *x[ND_DIVAND_MAXDIM]; /* fractional grid index per dimension (0 .. n[k]-1) */
    const double *value;               /* observation minus background */
    const double *eps2;                /* per observation noise/signal ratio; NULL: eps2_all */
    double eps2_all;
} nd_divand_obs;

typedef enum { ND_DIVAND_AUTO, ND_DIVAND_CHOLESKY, ND_DIVAND_PCG } nd_divand_solver;
typedef enum { ND_DIVAND_ERR_NONE, ND_DIVAND_ERR_AUTO, ND_DIVAND_ERR_CPME, ND_DIVAND_ERR_EXACT } nd_divand_errmode;

typedef struct nd_divand_opts {
    nd_divand_solver solver;
    nd_divand_errmode error;
    size_t cholesky_max;   /* AUTO: Cholesky up to this many sea points (0: default 400,000 for 1-2-D, 60,000 above) */
    size_t exact_max;      /* AUTO error: exact up to this many sea points (0: default 4,000) */
    double tol;            /* PCG relative residual (0: 1e-10) */
    int maxit;             /* PCG iteration limit (0: 20,000) */
    double precond_max_nnz;/* PCG preconditioner factor size limit, beyond which levels are decoupled (0: 1e8) */
    /* Progress 0..100; nonzero return stops the analysis. */
    int (*progress)(void *ctx, int percent, const char *message);
    void *ctx;
} nd_divand_opts;

typedef struct nd_divand_result {
    double *field;         /* full grid, NAN on land (free()) */
    double *err;           /* relative error variance, full grid, NAN on land; NULL without error (free()) */
    size_t nused, ndropped;/* observations used; outside the grid or touching land */
    nd_divand_solver solver_used;
    nd_divand_errmode error_used;
    int iterations;        /* PCG iterations of the analysis (0 with Cholesky) */
    double residual;       /* PCG final relative residual */
    size_t nsea;           /* analysed points */
} nd_divand_result;

/* Runs the analysis. Returns 0, or -1 with a message in err. */
int nd_divand_run(const nd_divand_grid *g, const nd_divand_obs *obs, const nd_divand_opts *opts,
                  nd_divand_result *res, char *err, size_t errlen);
void nd_divand_result_free(nd_divand_result *res);

/* Generalised cross-validation of the lengths and ε² (DIVAnd_cv's GCV): the score of each pair (a factor on every
 * correlation length, a uniform ε² replacing obs->eps2), pair i = (lenfacs[i / neps], eps2s[i % neps]), with nprobe
 * Rademacher probes from seed for the trace of the influence matrix; *best is the index of the least score. Each
 * pair is one sparse Cholesky of the problem. Returns 0, or -1 with err. */
int nd_divand_cv(const nd_divand_grid *g, const nd_divand_obs *obs, const double *lenfacs, size_t nlen,
                 const double *eps2s, size_t neps, int nprobe, unsigned seed, double *scores, size_t *best, char *err,
                 size_t errlen);

/* The analytic kernel of the continuous problem in neff dimensions as a function of distance over the
 * correlation length (the length at which the kernel is K1(1) = 0.6019 in every dimension). */
double nd_divand_kernel(int neff, double r);
/* Highest derivative order m (binomial alpha of order m), the kernel's Bessel order nu = m - neff/2,
 * the normalisation mu and len_scale (the distance where the raw kernel is 0.6019). */
int nd_divand_order(int neff);
double nd_divand_mu(int neff);
double nd_divand_len_scale(int neff);
/* The modified Bessel function of the second kind K_nu(x), x > 0 (any real order). */
double nd_divand_besselk(double nu, double x);

#endif
