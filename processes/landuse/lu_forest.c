/* A Random Forest classifier (Breiman 2001: bootstrap samples, Gini splits over a random subset of
 * features per node, from per-bin class histograms) trained and applied with pthreads; tree t draws from its own seeded stream, so the
 * forest does not depend on the thread count. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../soilmoisture/soilmoisture.h"
#include "landuse.h"

/* Features are binned once (at most 256 bins per feature, equal values never split across bins; exact
 * when a feature has no more distinct values), so a node's best split comes from class histograms per
 * bin instead of sorting: the thresholds lie between the training values around them, as with sorting. */
#define MAX_BINS 256

typedef struct pair {
    double v;
    int i;
} pair;

static int cmp_pair(const void *a, const void *b) {
    double x = ((const pair *)a)->v, y = ((const pair *)b)->v;
    return x < y ? -1 : x > y;
}

typedef struct trainer {
    const double *x;
    const int *y;
    size_t n;
    int nfeat, nclasses;
    const nd_lu_forest_opts *o;
    nd_lu_forest *f;
    unsigned char *xb;        /* n * nfeat bin indices */
    int *nbins;               /* per feature */
    double *bmin, *bmax;      /* per feature * MAX_BINS: the smallest and largest value in each bin */
    int next_tree;
    pthread_mutex_t lock;
    int failed;
} trainer;

static int bin_features(trainer *tr) {
    size_t n = tr->n;
    int F = tr->nfeat;
    tr->xb = malloc(n * (size_t)F);
    tr->nbins = malloc((size_t)F * sizeof *tr->nbins);
    tr->bmin = malloc((size_t)F * MAX_BINS * sizeof *tr->bmin);
    tr->bmax = malloc((size_t)F * MAX_BINS * sizeof *tr->bmax);
    pair *p = malloc(n * sizeof *p);
    if (!tr->xb || !tr->nbins || !tr->bmin || !tr->bmax || !p) {
        free(p);
        return -1;
    }
    size_t distinct;
    for (int f = 0; f < F; f++) {
        for (size_t i = 0; i < n; i++) p[i] = (pair){tr->x[i * F + f], (int)i};
        qsort(p, n, sizeof *p, cmp_pair);
        distinct = 1;
        for (size_t i = 1; i < n; i++) distinct += p[i].v != p[i - 1].v;
        size_t per = distinct <= MAX_BINS ? 1 : (n + MAX_BINS - 1) / MAX_BINS;
        int b = 0;
        size_t inbin = 0;
        double *mn = tr->bmin + (size_t)f * MAX_BINS, *mx = tr->bmax + (size_t)f * MAX_BINS;
        mn[0] = mx[0] = p[0].v;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && p[i].v != p[i - 1].v && (distinct <= MAX_BINS || inbin >= per) && b < MAX_BINS - 1) {
                b++;
                inbin = 0;
                mn[b] = p[i].v;
            }
            mx[b] = p[i].v;
            inbin++;
            tr->xb[(size_t)p[i].i * F + f] = (unsigned char)b;
        }
        tr->nbins[f] = b + 1;
    }
    free(p);
    return 0;
}

static int add_node(nd_lu_tree *t) {
    if (t->nnodes == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        nd_lu_node *p = realloc(t->nodes, (size_t)cap * sizeof *p);
        if (!p) return -1;
        t->nodes = p, t->cap = cap;
    }
    memset(&t->nodes[t->nnodes], 0, sizeof t->nodes[0]);
    return t->nnodes++;
}

static void make_leaf(nd_lu_node *nd, const long *counts, int nclasses, size_t total) {
    int best = 0;
    for (int c = 1; c < nclasses; c++)
        if (counts[c] > counts[best]) best = c;
    nd->feature = -1, nd->cls = best, nd->prob = total ? (float)counts[best] / (float)total : 0;
}

typedef struct frame {
    int node, depth;
    size_t lo, hi;
} frame;

static int grow(const trainer *tr, nd_lu_tree *t, nd_rng *rng, size_t *idx, size_t m) {
    int K = tr->nclasses, F = tr->nfeat;
    int mtry = tr->o->mtry > 0 && tr->o->mtry <= F ? tr->o->mtry : 1;
    int maxd = tr->o->max_depth > 0 ? tr->o->max_depth : 1 << 30, minleaf = tr->o->min_leaf > 0 ? tr->o->min_leaf : 1;
    long *hist = malloc((size_t)MAX_BINS * (size_t)K * sizeof *hist), *bincount = malloc(MAX_BINS * sizeof *bincount);
    long *tot = malloc((size_t)K * sizeof *tot), *left = malloc((size_t)K * sizeof *left);
    int *feats = malloc((size_t)F * sizeof *feats);
    frame *stack = malloc((m * 2 + 2) * sizeof *stack);
    int rc = 0, sp = 0;
    if (!hist || !bincount || !tot || !left || !feats || !stack) rc = -1;
    int root = rc ? -1 : add_node(t);
    if (root < 0) rc = -1;
    else stack[sp++] = (frame){root, 0, 0, m};
    while (sp && rc == 0) {
        frame fr = stack[--sp];
        size_t cnt = fr.hi - fr.lo;
        memset(tot, 0, (size_t)K * sizeof *tot);
        for (size_t i = fr.lo; i < fr.hi; i++) tot[tr->y[idx[i]]]++;
        int pure = 0;
        for (int c = 0; c < K; c++) pure |= (size_t)tot[c] == cnt;
        if (pure || fr.depth >= maxd || cnt < (size_t)(2 * minleaf)) {
            make_leaf(&t->nodes[fr.node], tot, K, cnt);
            continue;
        }
        double parent_g = 0;
        for (int c = 0; c < K; c++) parent_g += (double)tot[c] * (double)tot[c];
        /* Best Gini split: maximise sum_L c^2/nL + sum_R c^2/nR (equivalent to the impurity decrease). */
        double best = parent_g / (double)cnt + 1e-12, thr = 0;
        int bf = -1, bbin = 0;
        for (int j = 0; j < F; j++) feats[j] = j;
        for (int j = 0; j < mtry; j++) {
            int r = j + (int)(nd_rng_next(rng) % (uint64_t)(F - j)), ft = feats[r];
            feats[r] = feats[j], feats[j] = ft;
            int nb = tr->nbins[ft];
            memset(hist, 0, (size_t)nb * (size_t)K * sizeof *hist);
            memset(bincount, 0, (size_t)nb * sizeof *bincount);
            for (size_t i = fr.lo; i < fr.hi; i++) {
                size_t s = idx[i];
                int b = tr->xb[s * F + ft];
                hist[b * K + tr->y[s]]++;
                bincount[b]++;
            }
            memset(left, 0, (size_t)K * sizeof *left);
            double sl = 0, sr = parent_g;
            size_t nl = 0;
            int prev = -1; /* the last non-empty bin moved to the left */
            for (int b = 0; b < nb; b++) {
                if (!bincount[b]) continue;
                if (prev >= 0 && nl >= (size_t)minleaf && cnt - nl >= (size_t)minleaf) {
                    double score = sl / (double)nl + sr / (double)(cnt - nl);
                    if (score > best) {
                        best = score, bf = ft, bbin = prev;
                        thr = 0.5 * (tr->bmax[(size_t)ft * MAX_BINS + prev] + tr->bmin[(size_t)ft * MAX_BINS + b]);
                    }
                }
                for (int c = 0; c < K; c++) {
                    long h = hist[b * K + c];
                    if (!h) continue;
                    double l = (double)left[c], r_ = (double)(tot[c] - left[c]);
                    sl += (l + h) * (l + h) - l * l;
                    sr += (r_ - h) * (r_ - h) - r_ * r_;
                    left[c] += h;
                }
                nl += (size_t)bincount[b];
                prev = b;
            }
        }
        if (bf < 0) {
            make_leaf(&t->nodes[fr.node], tot, K, cnt);
            continue;
        }
        size_t a = fr.lo, b = fr.hi;
        while (a < b) { /* partition: left part in bins <= bbin, i.e. x <= thr */
            if (tr->xb[idx[a] * F + bf] <= bbin) a++;
            else {
                size_t tmp = idx[a];
                idx[a] = idx[--b], idx[b] = tmp;
            }
        }
        int l = add_node(t), r = l < 0 ? -1 : add_node(t);
        if (l < 0 || r < 0) {
            rc = -1;
            break;
        }
        nd_lu_node *nd = &t->nodes[fr.node];
        nd->feature = bf, nd->threshold = thr, nd->left = l, nd->right = r;
        stack[sp++] = (frame){l, fr.depth + 1, fr.lo, a};
        stack[sp++] = (frame){r, fr.depth + 1, a, fr.hi};
    }
    free(hist), free(bincount), free(tot), free(left), free(feats), free(stack);
    return rc;
}

static void *train_worker(void *arg) {
    trainer *tr = arg;
    size_t *idx = malloc(tr->n * sizeof *idx);
    for (;;) {
        pthread_mutex_lock(&tr->lock);
        int t = tr->next_tree++;
        pthread_mutex_unlock(&tr->lock);
        if (t >= tr->f->ntrees || !idx) break;
        nd_rng rng;
        nd_rng_seed(&rng, tr->o->seed * 0x9e3779b97f4a7c15ULL + (uint64_t)t + 1);
        for (size_t i = 0; i < tr->n; i++) idx[i] = (size_t)(nd_rng_next(&rng) % tr->n); /* bootstrap */
        if (grow(tr, &tr->f->trees[t], &rng, idx, tr->n) < 0) {
            pthread_mutex_lock(&tr->lock);
            tr->failed = 1;
            pthread_mutex_unlock(&tr->lock);
        }
    }
    if (!idx) tr->failed = 1;
    free(idx);
    return NULL;
}

int nd_lu_forest_train(const double *x, const int *y, size_t n, int nfeat, int nclasses, const nd_lu_forest_opts *o,
                       nd_lu_forest *f) {
    memset(f, 0, sizeof *f);
    if (n == 0 || nfeat < 1 || nclasses < 1 || o->trees < 1) return -1;
    f->ntrees = o->trees, f->nclasses = nclasses, f->nfeat = nfeat;
    f->trees = calloc((size_t)o->trees, sizeof *f->trees);
    if (!f->trees) return -1;
    trainer tr = {.x = x, .y = y, .n = n, .nfeat = nfeat, .nclasses = nclasses, .o = o, .f = f};
    if (bin_features(&tr) < 0) {
        free(tr.xb), free(tr.nbins), free(tr.bmin), free(tr.bmax);
        nd_lu_forest_free(f);
        return -1;
    }
    pthread_mutex_init(&tr.lock, NULL);
    int nt = o->threads > 0 ? o->threads : 1;
    if (nt > 64) nt = 64;
    pthread_t th[64];
    int started = 0;
    for (int i = 1; i < nt; i++)
        if (pthread_create(&th[started], NULL, train_worker, &tr) == 0) started++;
    train_worker(&tr);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    pthread_mutex_destroy(&tr.lock);
    free(tr.xb), free(tr.nbins), free(tr.bmin), free(tr.bmax);
    if (tr.failed) {
        nd_lu_forest_free(f);
        return -1;
    }
    return 0;
}

int nd_lu_forest_predict(const nd_lu_forest *f, const double *x, double *confidence) {
    int votes[256] = {0}, K = f->nclasses < 256 ? f->nclasses : 256;
    for (int t = 0; t < f->ntrees; t++) {
        const nd_lu_tree *tr = &f->trees[t];
        int k = 0;
        while (tr->nodes[k].feature >= 0) k = x[tr->nodes[k].feature] <= tr->nodes[k].threshold ? tr->nodes[k].left : tr->nodes[k].right;
        if (tr->nodes[k].cls < K) votes[tr->nodes[k].cls]++;
    }
    int best = 0;
    for (int c = 1; c < K; c++)
        if (votes[c] > votes[best]) best = c;
    if (confidence) *confidence = (double)votes[best] / (double)f->ntrees;
    return best;
}

typedef struct predictor {
    const nd_lu_forest *f;
    const double *x;
    size_t lo, hi;
    int *cls;
    double *conf;
} predictor;

static void *predict_worker(void *arg) {
    predictor *p = arg;
    for (size_t i = p->lo; i < p->hi; i++)
        p->cls[i] = nd_lu_forest_predict(p->f, p->x + i * (size_t)p->f->nfeat, p->conf ? &p->conf[i] : NULL);
    return NULL;
}

void nd_lu_forest_predict_many(const nd_lu_forest *f, const double *x, size_t n, int threads, int *cls, double *conf) {
    int nt = threads > 0 ? threads : 1;
    if (nt > 64) nt = 64;
    if ((size_t)nt > n) nt = n ? (int)n : 1;
    pthread_t th[64];
    predictor p[64];
    int started[64] = {0};
    for (int i = 0; i < nt; i++) {
        p[i] = (predictor){f, x, n * (size_t)i / (size_t)nt, n * (size_t)(i + 1) / (size_t)nt, cls, conf};
        if (i > 0) started[i] = pthread_create(&th[i], NULL, predict_worker, &p[i]) == 0;
        if (i > 0 && !started[i]) predict_worker(&p[i]);
    }
    predict_worker(&p[0]);
    for (int i = 1; i < nt; i++)
        if (started[i]) pthread_join(th[i], NULL);
}

void nd_lu_forest_free(nd_lu_forest *f) {
    for (int t = 0; f->trees && t < f->ntrees; t++) free(f->trees[t].nodes);
    free(f->trees), free(f->leaf_probs);
    memset(f, 0, sizeof *f);
}
