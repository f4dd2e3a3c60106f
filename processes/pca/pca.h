/* The PCA screening kernel: noise-normalised spectra, a covariance accumulated block by block, its
 * eigen-decomposition, and per spectrum the projection, truncated reconstruction, residual and score.
 * Pure C on arrays (OpenBLAS, LAPACKE): no files, no HTTP. */
#ifndef NADIR_PROCESSES_PCA_H
#define NADIR_PROCESSES_PCA_H

#include <stddef.h>
#include <stdint.h>

/* How the covariance is accumulated: measured on the build machine (tests/bench/case_atmosphere.sh),
 * OpenBLAS dsyrk beat dgemm on the tall-skinny blocks used here, so it is the default. */
typedef enum { ND_PCA_SYRK = 0, ND_PCA_GEMM = 1 } nd_pca_cov_method;

/* Rows of spectra handled at once: bounds the memory to a few blocks of B x M doubles. */
#ifndef ND_PCA_BLOCK
#define ND_PCA_BLOCK 2048
#endif

/* The running sums of a reference set in noise-normalised units, shifted by the first spectrum seen
 * so that the one-pass covariance does not lose digits to cancellation. */
typedef struct nd_pca_acc {
    int m;               /* channels */
    size_t n;            /* spectra accumulated */
    double *shift;       /* m: the first spectrum (normalised) */
    double *sum;         /* m: sum of (y - shift) */
    double *cross;       /* m x m, upper triangle valid: sum of (y - shift)(y - shift)^T */
    double *block;       /* ND_PCA_BLOCK x m: scratch, shifted rows waiting for the rank-B update */
    size_t nblock;
    nd_pca_cov_method method;
} nd_pca_acc;

/* A trained basis: what a later run needs to score spectra the same way. */
typedef struct nd_pca_basis {
    int m, k;
    size_t ntrain;       /* spectra the covariance came from */
    double *noise;       /* m: noise standard deviation per channel, in radiance units */
    double *mean;        /* m: mean normalised spectrum */
    double *eigval;      /* m: all eigenvalues of the covariance, descending */
    double *vec;         /* k x m, row-major: the leading eigenvectors (unit length) */
} nd_pca_basis;

/* Per-spectrum results of nd_pca_score. */
typedef struct nd_pca_result {
    double *score;       /* n: squared residual norm in noise units (~ chi2(m-k) for ordinary spectra) */
    double *zscore;      /* n or NULL: (score - (m-k)) / sqrt(2 (m-k)) */
    double *pcs;         /* n x npcs or NULL: leading principal-component scores */
    int npcs;
    double *residual;    /* n x m or NULL: residual spectra in radiance units */
} nd_pca_result;

int nd_pca_acc_init(nd_pca_acc *a, int m, nd_pca_cov_method method);
void nd_pca_acc_free(nd_pca_acc *a);
/* Adds n spectra (row-major n x m, radiance units) divided by noise[m]; rows holding a non-finite
 * value are skipped (their count is returned through *skipped when not NULL). */
void nd_pca_acc_add(nd_pca_acc *a, const double *x, size_t n, const double *noise, size_t *skipped);
/* The covariance (m x m, full, row-major, divisor n - 1) and the mean; needs n >= 2. */
int nd_pca_acc_covariance(nd_pca_acc *a, double *cov, double *mean);

/* Eigenvalues (descending, all m) and the leading k eigenvectors (k x m) of a symmetric matrix with
 * LAPACKE dsyevr; the sign of each vector is fixed (largest component positive) so runs agree. */
int nd_pca_eigen(const double *cov, int m, int k, double *eigval, double *vec);

/* The number of components whose eigenvalues explain `target` (0..1) of the variance above the noise
 * floor (eigenvalue 1 in normalised units), at least 1 and at most kmax. */
int nd_pca_choose_k(const double *eigval, int m, double target, int kmax);

/* Trains b from an accumulator: k > 0 fixes the number of components, else `target` picks it.
 * Returns 0 or -1 with a message in err. */
int nd_pca_train(nd_pca_acc *a, const double *noise, int k, double target, nd_pca_basis *b, char *err, size_t errlen);
void nd_pca_basis_free(nd_pca_basis *b);

/* Scores n spectra (row-major n x m, radiance units) in blocks of ND_PCA_BLOCK; the arrays in r that
 * are not NULL are filled. Spectra with a non-finite value get score NaN. */
void nd_pca_score(const nd_pca_basis *b, const double *x, size_t n, nd_pca_result *r);

/* The value of chi2(dof) that is exceeded with probability p (Wilson-Hilferty, good to ~1e-3 for
 * dof > 30), the analytic threshold when no quantile of the data is asked for. */
double nd_pca_chi2_quantile(int dof, double p);

/* The q-quantile (0..1) of the finite values of v (n), by a sorted copy; NaN when none is finite. */
double nd_pca_quantile(const double *v, size_t n, double q);

#endif
