/* Accuracy of a classification against truth: confusion matrix, overall accuracy, Cohen's kappa and
 * per-class F1. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "landuse.h"

void nd_lu_metrics_compute(const int *truth, const int *pred, size_t n, int K, nd_lu_metrics *m) {
    memset(m, 0, sizeof *m);
    m->nclasses = K;
    m->confusion = calloc((size_t)K * (size_t)K, sizeof *m->confusion);
    m->f1 = malloc((size_t)K * sizeof *m->f1);
    if (!m->confusion || !m->f1) return;
    for (size_t i = 0; i < n; i++)
        if (truth[i] >= 0 && truth[i] < K && pred[i] >= 0 && pred[i] < K) m->confusion[truth[i] * K + pred[i]]++, m->n++;
    long diag = 0;
    double pe = 0;
    for (int c = 0; c < K; c++) {
        long row = 0, col = 0;
        for (int k = 0; k < K; k++) row += m->confusion[c * K + k], col += m->confusion[k * K + c];
        long tp = m->confusion[c * K + c];
        diag += tp;
        pe += (double)row * (double)col;
        m->f1[c] = row + col ? 2.0 * (double)tp / (double)(row + col) : NAN;
    }
    double N = (double)m->n;
    m->oa = m->n ? (double)diag / N : NAN;
    pe = m->n ? pe / (N * N) : NAN;
    m->kappa = pe < 1 ? (m->oa - pe) / (1 - pe) : 1.0;
}

void nd_lu_metrics_free(nd_lu_metrics *m) {
    free(m->confusion), free(m->f1);
    memset(m, 0, sizeof *m);
}
