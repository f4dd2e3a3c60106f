/* Segmentation: SLIC superpixels (Achanta et al. 2012) on standardised bands, connected components,
 * small segments merged into the neighbour they share most boundary with; and the segmentation's
 * quality against truth polygons (under-segmentation error, boundary recall). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "landuse.h"

static int find(int *parent, int a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
}

/* Connected components (4-connectivity) of equal labels, renumbered 0..n-1; returns n. */
static int components(int *labels, int w, int h) {
    size_t n = (size_t)w * (size_t)h;
    int *out = malloc(n * sizeof *out), *stack = malloc(n * sizeof *stack), next = 0;
    for (size_t i = 0; i < n; i++) out[i] = -1;
    for (size_t i = 0; i < n; i++) {
        if (out[i] >= 0) continue;
        int lab = labels[i], sp = 0;
        stack[sp++] = (int)i;
        out[i] = next;
        while (sp) {
            int p = stack[--sp], x = p % w, y = p / w;
            int nb[4] = {x > 0 ? p - 1 : -1, x + 1 < w ? p + 1 : -1, y > 0 ? p - w : -1, y + 1 < h ? p + w : -1};
            for (int k = 0; k < 4; k++)
                if (nb[k] >= 0 && out[nb[k]] < 0 && labels[nb[k]] == lab) out[nb[k]] = next, stack[sp++] = nb[k];
        }
        next++;
    }
    memcpy(labels, out, n * sizeof *out);
    free(out), free(stack);
    return next;
}

/* One pass merging every segment under min_size into its most-touching neighbour; returns merges. */
static int merge_small(int *labels, int w, int h, int nseg, int min_size, int *nout) {
    size_t n = (size_t)w * (size_t)h;
    int *size = calloc((size_t)nseg, sizeof *size), *parent = malloc((size_t)nseg * sizeof *parent);
    int *start = calloc((size_t)nseg + 1, sizeof *start), *order = malloc(n * sizeof *order);
    int *contact = calloc((size_t)nseg, sizeof *contact), *touched = malloc((size_t)nseg * sizeof *touched);
    for (size_t i = 0; i < n; i++) size[labels[i]]++;
    for (int s = 0; s < nseg; s++) start[s + 1] = start[s] + size[s], parent[s] = s;
    int *fill = malloc((size_t)nseg * sizeof *fill);
    memcpy(fill, start, (size_t)nseg * sizeof *fill);
    for (size_t i = 0; i < n; i++) order[fill[labels[i]]++] = (int)i;
    int merges = 0;
    for (int s = 0; s < nseg; s++) {
        if (size[s] >= min_size) continue;
        int nt = 0, best = -1;
        for (int j = start[s]; j < start[s + 1]; j++) {
            int p = order[j], x = p % w, y = p / w;
            int nb[4] = {x > 0 ? p - 1 : -1, x + 1 < w ? p + 1 : -1, y > 0 ? p - w : -1, y + 1 < h ? p + w : -1};
            for (int k = 0; k < 4; k++) {
                if (nb[k] < 0 || labels[nb[k]] == s) continue;
                int t = labels[nb[k]];
                if (!contact[t]) touched[nt++] = t;
                contact[t]++;
            }
        }
        for (int k = 0; k < nt; k++) {
            int t = touched[k];
            if (best < 0 || contact[t] > contact[best] || (contact[t] == contact[best] && t < best)) best = t;
        }
        for (int k = 0; k < nt; k++) contact[touched[k]] = 0;
        if (best < 0) continue;
        int a = find(parent, s), b = find(parent, best);
        if (a != b) {
            parent[a] = b;
            merges++;
        }
    }
    for (size_t i = 0; i < n; i++) labels[i] = find(parent, labels[i]);
    free(size), free(parent), free(start), free(order), free(contact), free(touched), free(fill);
    *nout = components(labels, w, h);
    return merges;
}

int nd_lu_segment(const float *image, int w, int h, int nb, const nd_lu_seg_opts *o, int *labels, int *nseg) {
    size_t n = (size_t)w * (size_t)h;
    int S = o->scale > 2 ? o->scale : 3;
    double m = o->compactness > 0 ? o->compactness : 0.5;
    float *z = malloc(n * (size_t)nb * sizeof *z);
    float *dist = malloc(n * sizeof *dist);
    int gx = (w + S - 1) / S, gy = (h + S - 1) / S, nc = gx * gy;
    double *c = malloc((size_t)nc * (size_t)(nb + 2) * sizeof *c), *acc = malloc((size_t)nc * (size_t)(nb + 3) * sizeof *acc);
    if (!z || !dist || !c || !acc) {
        free(z), free(dist), free(c), free(acc);
        return -1;
    }
    for (int b = 0; b < nb; b++) { /* standardised bands: each counts the same in the colour distance */
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) s += image[(size_t)b * n + i];
        double mean = s / (double)n;
        for (size_t i = 0; i < n; i++) s2 += (image[(size_t)b * n + i] - mean) * (image[(size_t)b * n + i] - mean);
        double sd = sqrt(s2 / (double)n);
        if (!(sd > 0)) sd = 1;
        for (size_t i = 0; i < n; i++) z[(size_t)b * n + i] = (float)((image[(size_t)b * n + i] - mean) / sd);
    }
    int D = nb + 2;
    for (int j = 0; j < gy; j++)
        for (int i = 0; i < gx; i++) {
            double *cc = c + (size_t)(j * gx + i) * D;
            int x = i * S + S / 2, y = j * S + S / 2;
            if (x >= w) x = w - 1;
            if (y >= h) y = h - 1;
            for (int b = 0; b < nb; b++) cc[b] = z[(size_t)b * n + (size_t)y * w + x];
            cc[nb] = x, cc[nb + 1] = y;
        }
    double wsp = (m / S) * (m / S);
    int iters = o->iterations > 0 ? o->iterations : 10;
    for (int it = 0; it < iters; it++) {
        for (size_t i = 0; i < n; i++) dist[i] = INFINITY;
        for (int k = 0; k < nc; k++) {
            const double *cc = c + (size_t)k * D;
            int cx = (int)lround(cc[nb]), cy = (int)lround(cc[nb + 1]);
            int x0 = cx - S > 0 ? cx - S : 0, x1 = cx + S < w ? cx + S : w - 1;
            int y0 = cy - S > 0 ? cy - S : 0, y1 = cy + S < h ? cy + S : h - 1;
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++) {
                    size_t i = (size_t)y * w + x;
                    double dc = 0;
                    for (int b = 0; b < nb; b++) {
                        double d = z[(size_t)b * n + i] - cc[b];
                        dc += d * d;
                    }
                    double dx = x - cc[nb], dy = y - cc[nb + 1];
                    double dd = dc + wsp * (dx * dx + dy * dy);
                    if (dd < dist[i]) dist[i] = (float)dd, labels[i] = k;
                }
        }
        memset(acc, 0, (size_t)nc * (size_t)(nb + 3) * sizeof *acc);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                double *a = acc + (size_t)labels[i] * (nb + 3);
                for (int b = 0; b < nb; b++) a[b] += z[(size_t)b * n + i];
                a[nb] += x, a[nb + 1] += y, a[nb + 2] += 1;
            }
        for (int k = 0; k < nc; k++) {
            double *a = acc + (size_t)k * (nb + 3);
            if (a[nb + 2] > 0)
                for (int d = 0; d < D; d++) c[(size_t)k * D + d] = a[d] / a[nb + 2];
        }
    }
    free(z), free(dist), free(c), free(acc);
    int ns = components(labels, w, h);
    for (int pass = 0; pass < 6 && o->min_size > 1; pass++)
        if (merge_small(labels, w, h, ns, o->min_size, &ns) == 0) break;
    *nseg = ns;
    return 0;
}

void nd_lu_seg_quality(const int *labels, const int *truth, int w, int h, int tol, double *ue, double *br) {
    size_t n = (size_t)w * (size_t)h;
    int nseg = 0, ntruth = 0;
    for (size_t i = 0; i < n; i++) {
        if (labels[i] + 1 > nseg) nseg = labels[i] + 1;
        if (truth[i] + 1 > ntruth) ntruth = truth[i] + 1;
    }
    int *size = calloc((size_t)nseg, sizeof *size), *start = calloc((size_t)nseg + 1, sizeof *start);
    int *order = malloc(n * sizeof *order), *fill = malloc((size_t)nseg * sizeof *fill);
    int *cnt = calloc((size_t)ntruth, sizeof *cnt), *touched = malloc((size_t)ntruth * sizeof *touched);
    for (size_t i = 0; i < n; i++) size[labels[i]]++;
    for (int s = 0; s < nseg; s++) start[s + 1] = start[s] + size[s];
    memcpy(fill, start, (size_t)nseg * sizeof *fill);
    for (size_t i = 0; i < n; i++) order[fill[labels[i]]++] = (int)i;
    double leak = 0;
    for (int s = 0; s < nseg; s++) {
        int nt = 0;
        for (int j = start[s]; j < start[s + 1]; j++) {
            int g = truth[order[j]];
            if (!cnt[g]) touched[nt++] = g;
            cnt[g]++;
        }
        for (int k = 0; k < nt; k++) {
            int in = cnt[touched[k]], out = size[s] - in;
            leak += in < out ? in : out;
            cnt[touched[k]] = 0;
        }
    }
    *ue = leak / (double)n;
    long tb = 0, hit = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int edge = (x + 1 < w && truth[i + 1] != truth[i]) || (y + 1 < h && truth[i + w] != truth[i]);
            if (!edge) continue;
            tb++;
            int found = 0;
            for (int yy = y - tol; yy <= y + tol && !found; yy++)
                for (int xx = x - tol; xx <= x + tol && !found; xx++) {
                    if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
                    size_t j = (size_t)yy * w + xx;
                    found = (xx + 1 < w && labels[j + 1] != labels[j]) || (yy + 1 < h && labels[j + w] != labels[j]);
                }
            hit += found;
        }
    *br = tb ? (double)hit / (double)tb : 1.0;
    free(size), free(start), free(order), free(fill), free(cnt), free(touched);
}
