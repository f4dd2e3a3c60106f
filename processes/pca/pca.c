/* The PCA screening kernel (see pca.h): blocked covariance with OpenBLAS, LAPACKE dsyevr, scores. */
#include "pca.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"

int nd_pca_acc_init(nd_pca_acc *a, int m, nd_pca_cov_method method) {
    memset(a, 0, sizeof *a);
    if (m < 2) return -1;
    a->m = m;
    a->method = method;
    a->shift = nd_xcalloc((size_t)m, sizeof(double));
    a->sum = nd_xcalloc((size_t)m, sizeof(double));
    a->cross = nd_xcalloc((size_t)m * (size_t)m, sizeof(double));
    a->block = nd_xmalloc((size_t)ND_PCA_BLOCK * (size_t)m * sizeof(double));
    return 0;
}

void nd_pca_acc_free(nd_pca_acc *a) {
    free(a->shift);
    free(a->sum);
    free(a->cross);
    free(a->block);
    memset(a, 0, sizeof *a);
}

/* The rank-B update of the cross products; syrk fills the upper triangle only, gemm all of it. */
static void acc_flush(nd_pca_acc *a) {
    if (a->nblock == 0) return;
    int m = a->m, b = (int)a->nblock;
    if (a->method == ND_PCA_GEMM)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, m, b, 1.0, a->block, m, a->block, m, 1.0, a->cross, m);
    else
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, m, b, 1.0, a->block, m, 1.0, a->cross, m);
    a->nblock = 0;
}

static int row_finite(const double *x, int m) {
    for (int j = 0; j < m; j++)
        if (!isfinite(x[j])) return 0;
    return 1;
}

void nd_pca_acc_add(nd_pca_acc *a, const double *x, size_t n, const double *noise, size_t *skipped) {
    int m = a->m;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        const double *row = x + i * (size_t)m;
        if (!row_finite(row, m)) {
            bad++;
            continue;
        }
        if (a->n == 0)
            for (int j = 0; j < m; j++) a->shift[j] = row[j] / noise[j];
        double *dst = a->block + a->nblock * (size_t)m;
        for (int j = 0; j < m; j++) {
            dst[j] = row[j] / noise[j] - a->shift[j];
            a->sum[j] += dst[j];
        }
        a->n++;
        if (++a->nblock == ND_PCA_BLOCK) acc_flush(a);
    }
    if (skipped) *skipped = bad;
}

int nd_pca_acc_covariance(nd_pca_acc *a, double *cov, double *mean) {
    acc_flush(a);
    if (a->n < 2) return -1;
    int m = a->m;
    double n = (double)a->n;
    for (int i = 0; i < m; i++) {
        if (mean) mean[i] = a->shift[i] + a->sum[i] / n;
        for (int j = i; j < m; j++) {
            double c = (a->cross[(size_t)i * m + j] - a->sum[i] * a->sum[j] / n) / (n - 1);
            cov[(size_t)i * m + j] = cov[(size_t)j * m + i] = c;
        }
    }
    return 0;
}

int nd_pca_eigen(const double *cov, int m, int k, double *eigval, double *vec) {
    double *a = nd_xmalloc((size_t)m * m * sizeof *a), *w = nd_xmalloc((size_t)m * sizeof *w);
    double *z = nd_xmalloc((size_t)m * m * sizeof *z);
    lapack_int *support = nd_xmalloc(2 * (size_t)m * sizeof *support), found = 0;
    memcpy(a, cov, (size_t)m * m * sizeof *a);
    /* abstol = safe minimum: eigenvalues to full relative accuracy where the matrix allows it. */
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'A', 'U', m, a, m, 0, 0, 0, 0, LAPACKE_dlamch('S'), &found,
                                     w, z, m, support);
    if (info == 0 && found == m) {
        for (int i = 0; i < m; i++) eigval[i] = w[m - 1 - i]; /* ascending -> descending */
        for (int c = 0; c < k && vec; c++) {
            int col = m - 1 - c;
            double big = 0;
            for (int j = 0; j < m; j++)
                if (fabs(z[(size_t)j * m + col]) > fabs(big)) big = z[(size_t)j * m + col];
            double s = big < 0 ? -1.0 : 1.0;
            for (int j = 0; j < m; j++) vec[(size_t)c * m + j] = s * z[(size_t)j * m + col];
        }
    }
    free(a);
    free(w);
    free(z);
    free(support);
    return info == 0 && found == m ? 0 : -1;
}

int nd_pca_choose_k(const double *eigval, int m, double target, int kmax) {
    double total = 0;
    for (int i = 0; i < m; i++) total += eigval[i] > 1 ? eigval[i] - 1 : 0;
    if (kmax > m - 1) kmax = m - 1;
    if (total <= 0) return 1;
    double run = 0;
    for (int i = 0; i < kmax; i++) {
        run += eigval[i] > 1 ? eigval[i] - 1 : 0;
        if (run >= target * total) return i + 1;
    }
    return kmax;
}

int nd_pca_train(nd_pca_acc *a, const double *noise, int k, double target, nd_pca_basis *b, char *err, size_t errlen) {
    memset(b, 0, sizeof *b);
    int m = a->m;
    if (a->n < 2 || (k > 0 && a->n <= (size_t)k)) {
        snprintf(err, errlen, "the reference set has %zu usable spectra, too few for %d components", a->n, k > 0 ? k : 1);
        return -1;
    }
    if (k >= m) {
        snprintf(err, errlen, "%d components asked for but the spectra have %d channels (at most %d)", k, m, m - 1);
        return -1;
    }
    double *cov = nd_xmalloc((size_t)m * m * sizeof *cov);
    b->m = m;
    b->ntrain = a->n;
    b->noise = nd_xmalloc((size_t)m * sizeof(double));
    memcpy(b->noise, noise, (size_t)m * sizeof(double));
    b->mean = nd_xmalloc((size_t)m * sizeof(double));
    b->eigval = nd_xmalloc((size_t)m * sizeof(double));
    nd_pca_acc_covariance(a, cov, b->mean);
    int kmax = m - 1;
    double *vec = nd_xmalloc((size_t)kmax * m * sizeof *vec);
    int rc = nd_pca_eigen(cov, m, kmax, b->eigval, vec);
    free(cov);
    if (rc < 0) {
        free(vec);
        nd_pca_basis_free(b);
        snprintf(err, errlen, "the eigen-decomposition of the covariance did not converge");
        return -1;
    }
    b->k = k > 0 ? k : nd_pca_choose_k(b->eigval, m, target, kmax);
    if ((size_t)b->k >= a->n) b->k = (int)a->n - 1;
    b->vec = nd_xrealloc(vec, (size_t)b->k * m * sizeof *vec);
    return 0;
}

void nd_pca_basis_free(nd_pca_basis *b) {
    free(b->noise);
    free(b->mean);
    free(b->eigval);
    free(b->vec);
    memset(b, 0, sizeof *b);
}

void nd_pca_score(const nd_pca_basis *b, const double *x, size_t n, nd_pca_result *r) {
    int m = b->m, k = b->k;
    double dof = m - k;
    double *yc = nd_xmalloc((size_t)ND_PCA_BLOCK * m * sizeof *yc);
    double *p = nd_xmalloc((size_t)ND_PCA_BLOCK * k * sizeof *p);
    char *ok = nd_xmalloc(ND_PCA_BLOCK);
    double *inv = nd_xmalloc((size_t)m * sizeof *inv); /* a multiply per value instead of a divide */
    for (int j = 0; j < m; j++) inv[j] = 1.0 / b->noise[j];
    for (size_t i0 = 0; i0 < n; i0 += ND_PCA_BLOCK) {
        int nb = (int)(n - i0 < ND_PCA_BLOCK ? n - i0 : ND_PCA_BLOCK);
        for (int i = 0; i < nb; i++) {
            const double *row = x + (i0 + (size_t)i) * m;
            double *dst = yc + (size_t)i * m, bad = 0;
            for (int j = 0; j < m; j++) {
                dst[j] = row[j] * inv[j] - b->mean[j];
                bad += row[j] - row[j]; /* NaN when any value is NaN or infinite */
            }
            ok[i] = bad == 0;
            if (!ok[i]) memset(dst, 0, (size_t)m * sizeof *dst);
        }
        /* scores P = Yc V^T, then the residual Yc - P V in place */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, k, m, 1.0, yc, m, b->vec, m, 0.0, p, k);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, m, k, -1.0, p, k, b->vec, m, 1.0, yc, m);
        for (int i = 0; i < nb; i++) {
            size_t gi = i0 + (size_t)i;
            const double *res = yc + (size_t)i * m;
            double s = ok[i] ? cblas_ddot(m, res, 1, res, 1) : NAN;
            if (r->score) r->score[gi] = s;
            if (r->zscore) r->zscore[gi] = (s - dof) / sqrt(2 * dof);
            for (int c = 0; r->pcs && c < r->npcs; c++)
                r->pcs[gi * r->npcs + c] = ok[i] && c < k ? p[(size_t)i * k + c] : NAN;
            for (int j = 0; r->residual && j < m; j++)
                r->residual[gi * m + j] = ok[i] ? res[j] * b->noise[j] : NAN;
        }
    }
    free(yc);
    free(p);
    free(ok);
    free(inv);
}

/* The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
static double normal_quantile(double p) {
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    if (p <= 0) return -INFINITY;
    if (p >= 1) return INFINITY;
    if (p < 0.02425) {
        double q = sqrt(-2 * log(p));
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
               ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    if (p > 1 - 0.02425) return -normal_quantile(1 - p);
    double q = p - 0.5, r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

double nd_pca_chi2_quantile(int dof, double p) {
    double z = normal_quantile(p), h = 2.0 / (9.0 * dof);
    double t = 1 - h + z * sqrt(h);
    return dof * t * t * t;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

double nd_pca_quantile(const double *v, size_t n, double q) {
    double *s = nd_xmalloc((n ? n : 1) * sizeof *s);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) s[k++] = v[i];
    double out = NAN;
    if (k) {
        qsort(s, k, sizeof *s, cmp_double);
        double pos = q * (double)(k - 1);
        size_t lo = (size_t)floor(pos), hi = lo + 1 < k ? lo + 1 : lo;
        out = s[lo] + (pos - (double)lo) * (s[hi] - s[lo]);
    }
    free(s);
    return out;
}
