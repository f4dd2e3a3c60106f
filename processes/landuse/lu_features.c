/* Per-object features (spectral, NDVI, texture, shape, NDVI time series), object labels from sample
 * polygons and the split of sample polygons into training and validation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../soilmoisture/soilmoisture.h"
#include "landuse.h"

void nd_lu_features_free(nd_lu_features *f) {
    free(f->x), free(f->area), free(f->names);
    memset(f, 0, sizeof *f);
}

int nd_lu_features_compute(const float *image, int w, int h, int nb, const int *labels, int nseg, const float *series,
                           int tsf, int tsw, int tsh, int ndates, nd_lu_features *f) {
    memset(f, 0, sizeof *f);
    size_t n = (size_t)w * (size_t)h;
    int nt = series ? ndates : 0;
    int nfeat = 2 * nb + 2 + 1 + 2 + (nt ? nt + 2 : 0);
    f->nobj = nseg, f->nfeat = nfeat;
    f->x = calloc((size_t)nseg * (size_t)nfeat, sizeof *f->x);
    f->area = calloc((size_t)nseg, sizeof *f->area);
    f->names = calloc((size_t)nfeat, sizeof *f->names);
    double *sum = calloc((size_t)nseg * (size_t)(2 * nb + 6), sizeof *sum);
    double *ts = nt ? calloc((size_t)nseg * (size_t)nt, sizeof *ts) : NULL;
    long *tsn = nt ? calloc((size_t)nseg, sizeof *tsn) : NULL;
    if (!f->x || !f->area || !f->names || !sum || (nt && (!ts || !tsn))) {
        free(sum), free(ts), free(tsn);
        nd_lu_features_free(f);
        return -1;
    }
    int K = 2 * nb + 6; /* per object: sum and sum of squares per band, NDVI sum and sum2, gradient, perimeter */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int s = labels[i];
            double *a = sum + (size_t)s * K;
            f->area[s]++;
            for (int b = 0; b < nb; b++) {
                double v = image[(size_t)b * n + i];
                a[2 * b] += v, a[2 * b + 1] += v * v;
            }
            if (nb >= 4) {
                double r = image[2 * n + i], nir = image[3 * n + i];
                double nd = r + nir > 0 ? (nir - r) / (nir + r) : 0;
                a[2 * nb] += nd, a[2 * nb + 1] += nd * nd;
                double gxv = x + 1 < w ? fabs(image[3 * n + i + 1] - nir) : 0;
                double gyv = y + 1 < h ? fabs(image[3 * n + i + w] - nir) : 0;
                a[2 * nb + 2] += gxv + gyv;
            }
            /* perimeter: edges to another object or the image border */
            a[2 * nb + 3] += (x == 0 || labels[i - 1] != s) + (x + 1 == w || labels[i + 1] != s) +
                             (y == 0 || labels[i - w] != s) + (y + 1 == h || labels[i + w] != s);
            if (nt) {
                int tx = x / tsf, ty = y / tsf;
                if (tx < tsw && ty < tsh) {
                    size_t ti = (size_t)ty * tsw + tx, tn = (size_t)tsw * (size_t)tsh;
                    for (int d = 0; d < nt; d++) ts[(size_t)s * nt + d] += series[(size_t)d * tn + ti];
                    tsn[s]++;
                }
            }
        }
    int c = 0;
    for (int b = 0; b < nb; b++) {
        snprintf(f->names[c++], 32, "b%d_mean", b + 1);
        snprintf(f->names[c++], 32, "b%d_std", b + 1);
    }
    snprintf(f->names[c++], 32, "ndvi_mean");
    snprintf(f->names[c++], 32, "ndvi_std");
    snprintf(f->names[c++], 32, "nir_gradient");
    snprintf(f->names[c++], 32, "area");
    snprintf(f->names[c++], 32, "compactness");
    for (int d = 0; d < nt; d++) snprintf(f->names[c++], 32, "ndvi_t%d", d + 1);
    if (nt) {
        snprintf(f->names[c++], 32, "ndvi_amplitude");
        snprintf(f->names[c++], 32, "ndvi_date_of_max");
    }
    for (int s = 0; s < nseg; s++) {
        const double *a = sum + (size_t)s * K;
        double *x = f->x + (size_t)s * nfeat, N = f->area[s] > 0 ? f->area[s] : 1;
        int k = 0;
        for (int b = 0; b < nb; b++) {
            double mean = a[2 * b] / N;
            x[k++] = mean;
            x[k++] = sqrt(fmax(0, a[2 * b + 1] / N - mean * mean));
        }
        double nm = a[2 * nb] / N;
        x[k++] = nm;
        x[k++] = sqrt(fmax(0, a[2 * nb + 1] / N - nm * nm));
        x[k++] = a[2 * nb + 2] / N;
        x[k++] = N;
        x[k++] = 4 * M_PI * N / (a[2 * nb + 3] * a[2 * nb + 3] + 1e-12) * 4 / M_PI; /* 1 for a square */
        if (nt) {
            double mx = -INFINITY, mn = INFINITY;
            int arg = 0;
            for (int d = 0; d < nt; d++) {
                double v = tsn[s] ? ts[(size_t)s * nt + d] / (double)tsn[s] : 0;
                x[k++] = v;
                if (v > mx) mx = v, arg = d;
                if (v < mn) mn = v;
            }
            x[k++] = mx - mn;
            x[k++] = arg;
        }
    }
    free(sum), free(ts), free(tsn);
    return 0;
}

void nd_lu_label_objects(const int *labels, int nseg, const int *sample_poly, size_t npix, const int *poly_class,
                         int *obj_poly, int *obj_class) {
    /* Counting pairs (object, polygon) through a per-object sorted pass, as in the quality measure. */
    int npoly = 0;
    for (size_t i = 0; i < npix; i++)
        if (sample_poly[i] + 1 > npoly) npoly = sample_poly[i] + 1;
    int *size = calloc((size_t)nseg, sizeof *size), *start = calloc((size_t)nseg + 1, sizeof *start);
    int *order = malloc(npix * sizeof *order), *fill = malloc((size_t)nseg * sizeof *fill);
    int *cnt = calloc((size_t)npoly + 1, sizeof *cnt), *touched = malloc(((size_t)npoly + 1) * sizeof *touched);
    for (size_t i = 0; i < npix; i++) size[labels[i]]++;
    for (int s = 0; s < nseg; s++) start[s + 1] = start[s] + size[s];
    memcpy(fill, start, (size_t)nseg * sizeof *fill);
    for (size_t i = 0; i < npix; i++) order[fill[labels[i]]++] = (int)i;
    for (int s = 0; s < nseg; s++) {
        int nt = 0, best = -1;
        obj_poly[s] = obj_class[s] = -1;
        for (int j = start[s]; j < start[s + 1]; j++) {
            int g = sample_poly[order[j]];
            if (g < 0) continue;
            if (!cnt[g]) touched[nt++] = g;
            cnt[g]++;
        }
        for (int k = 0; k < nt; k++)
            if (best < 0 || cnt[touched[k]] > cnt[best]) best = touched[k];
        if (best >= 0 && 2 * cnt[best] >= size[s]) obj_poly[s] = best, obj_class[s] = poly_class[best];
        for (int k = 0; k < nt; k++) cnt[touched[k]] = 0;
    }
    free(size), free(start), free(order), free(fill), free(cnt), free(touched);
}

void nd_lu_split_polygons(const int *poly_class, int npoly, int nclasses, double val_fraction, uint64_t seed,
                          unsigned char *is_val) {
    nd_rng r;
    nd_rng_seed(&r, seed);
    int *idx = malloc(((size_t)npoly + 1) * sizeof *idx);
    memset(is_val, 0, (size_t)npoly);
    for (int c = 0; c < nclasses; c++) {
        int m = 0;
        for (int k = 0; k < npoly; k++)
            if (poly_class[k] == c) idx[m++] = k;
        for (int i = m - 1; i > 0; i--) { /* shuffled, then the first share is validation */
            int j = (int)(nd_rng_next(&r) % (uint64_t)(i + 1)), t = idx[i];
            idx[i] = idx[j], idx[j] = t;
        }
        int nv = (int)lround(val_fraction * m);
        if (m >= 2 && nv < 1) nv = 1;
        if (m >= 2 && nv > m - 1) nv = m - 1;
        if (m < 2 || val_fraction <= 0) nv = 0;
        for (int i = 0; i < m; i++) is_val[idx[i]] = i < nv;
    }
    free(idx);
}
