/* The plume kernel (see plume.h): background, objects, sources, emissions, contributions, clusters. */
#include "plume.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"

void nd_plume_params_default(nd_plume_params *p) {
    *p = (nd_plume_params){.window = 48, .z_seed = 2.5, .z_grow = 0.8, .min_pixels = 6, .max_misalign = 45,
                           .sigma_min = 0, .smooth = 2, .rim = 6, .iterations = 3, .threads = 1};
}

/* ---------------------------------------------------------------- threads */

typedef void (*rows_fn)(void *arg, int r0, int r1);
typedef struct par_arg {
    rows_fn fn;
    void *arg;
    int r0, r1;
} par_arg;

static void *par_main(void *a) {
    par_arg *p = a;
    p->fn(p->arg, p->r0, p->r1);
    return NULL;
}

/* Runs fn over rows [0, n) in `threads` contiguous bands, the first on the calling thread. Every row is
 * computed alone, so the result does not depend on the thread count; a thread that cannot start has its
 * band done here. */
static void par_rows(int threads, int n, rows_fn fn, void *arg) {
    enum { MAXT = 64 };
    if (threads > MAXT) threads = MAXT;
    if (threads <= 1 || n < 2 * threads) {
        fn(arg, 0, n);
        return;
    }
    pthread_t t[MAXT];
    par_arg a[MAXT];
    int started[MAXT] = {0};
    for (int i = 0; i < threads; i++)
        a[i] = (par_arg){fn, arg, (int)((long)n * i / threads), (int)((long)n * (i + 1) / threads)};
    for (int i = 1; i < threads; i++) started[i] = pthread_create(&t[i], NULL, par_main, &a[i]) == 0;
    fn(arg, a[0].r0, a[0].r1);
    for (int i = 1; i < threads; i++) {
        if (started[i]) pthread_join(t[i], NULL);
        else fn(arg, a[i].r0, a[i].r1);
    }
}

/* ---------------------------------------------------------------- background */

static double select_k(double *a, size_t n, size_t k) {
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j], a[j] = t;
                i++;
                if (j == 0) break;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else break;
    }
    return a[k];
}

static double median(double *a, size_t n) {
    if (n == 0) return NAN;
    double m = select_k(a, n, n / 2);
    if (n % 2 == 0) {
        double lo = a[0];
        for (size_t i = 1; i < n / 2; i++) lo = fmax(lo, a[i]); /* the largest of the lower half */
        m = 0.5 * (m + lo);
    }
    return m;
}

typedef struct bg_ctx {
    const double *omega;
    int nx, ny, step, half, sub, cx;
    double *cb, *cs, *bg, *sigma;
} bg_ctx;

/* The median and MAD of coarse node rows [j0, j1). */
static void bg_nodes(void *arg, int j0, int j1) {
    const bg_ctx *b = arg;
    int nx = b->nx, ny = b->ny, half = b->half, sub = b->sub;
    double *buf = nd_xmalloc((size_t)(2 * half + 1) * (2 * half + 1) * sizeof *buf);
    for (int j = j0; j < j1; j++)
        for (int i = 0; i < b->cx; i++) {
            int x0 = i * b->step - half, y0 = j * b->step - half;
            size_t n = 0;
            for (int y = y0 < 0 ? 0 : y0; y <= y0 + 2 * half && y < ny; y += sub)
                for (int x = x0 < 0 ? 0 : x0; x <= x0 + 2 * half && x < nx; x += sub) {
                    double w = b->omega[(size_t)y * nx + x];
                    if (isfinite(w)) buf[n++] = w;
                }
            double med = n >= 8 ? median(buf, n) : NAN, mad = NAN;
            if (n >= 8) {
                for (size_t k = 0; k < n; k++) buf[k] = fabs(buf[k] - med);
                mad = 1.4826 * median(buf, n);
            }
            b->cb[(size_t)j * b->cx + i] = med;
            b->cs[(size_t)j * b->cx + i] = mad;
        }
    free(buf);
}

/* Pixel rows [y0, y1) interpolated bilinearly between the nodes. */
static void bg_interp(void *arg, int y0, int y1) {
    const bg_ctx *b = arg;
    int nx = b->nx, step = b->step, cx = b->cx;
    const double *cb = b->cb, *cs = b->cs;
    for (int y = y0; y < y1; y++) {
        double fy = (double)y / step;
        int j = (int)fy;
        double ty = fy - j;
        for (int x = 0; x < nx; x++) {
            double fx = (double)x / step;
            int i = (int)fx;
            double tx = fx - i;
            size_t k00 = (size_t)j * cx + i, k01 = k00 + 1, k10 = k00 + cx, k11 = k10 + 1;
            size_t p = (size_t)y * nx + x;
            b->bg[p] = (1 - ty) * ((1 - tx) * cb[k00] + tx * cb[k01]) + ty * ((1 - tx) * cb[k10] + tx * cb[k11]);
            b->sigma[p] = (1 - ty) * ((1 - tx) * cs[k00] + tx * cs[k01]) + ty * ((1 - tx) * cs[k10] + tx * cs[k11]);
        }
    }
}

void nd_plume_background(const double *omega, int nx, int ny, int window, double *bg, double *sigma) {
    nd_plume_background_mt(omega, nx, ny, window, 1, bg, sigma);
}

void nd_plume_background_mt(const double *omega, int nx, int ny, int window, int threads, double *bg, double *sigma) {
    if (window < 4) window = 4;
    int step = window / 2, half = window / 2;
    int cx = (nx - 1) / step + 2, cy = (ny - 1) / step + 2;
    double *cb = nd_xmalloc((size_t)cx * cy * sizeof *cb), *cs = nd_xmalloc((size_t)cx * cy * sizeof *cs);
    /* a median of ~600 values is as good as one of ~2300: large windows are sampled every other pixel */
    bg_ctx b = {.omega = omega, .nx = nx, .ny = ny, .step = step, .half = half, .sub = window >= 32 ? 2 : 1,
                .cx = cx, .cb = cb, .cs = cs, .bg = bg, .sigma = sigma};
    par_rows(threads, cy, bg_nodes, &b);
    /* nodes without enough data take the mean of their valid neighbours, repeatedly, so gaps are bridged */
    for (int pass = 0; pass < cx + cy; pass++) {
        int missing = 0;
        for (int j = 0; j < cy; j++)
            for (int i = 0; i < cx; i++) {
                size_t k = (size_t)j * cx + i;
                if (isfinite(cb[k])) continue;
                double sb = 0, ss = 0;
                int n = 0;
                for (int dj = -1; dj <= 1; dj++)
                    for (int di = -1; di <= 1; di++) {
                        int ii = i + di, jj = j + dj;
                        if (ii < 0 || jj < 0 || ii >= cx || jj >= cy) continue;
                        size_t kk = (size_t)jj * cx + ii;
                        if (isfinite(cb[kk])) sb += cb[kk], ss += cs[kk], n++;
                    }
                if (n) cb[k] = sb / n, cs[k] = ss / n;
                else missing++;
            }
        if (!missing) break;
    }
    par_rows(threads, ny, bg_interp, &b);
    free(cb);
    free(cs);
}

/* ---------------------------------------------------------------- one map */

typedef struct ctx {
    const nd_plume_map *map;
    const nd_plume_params *p;
    double *d;      /* enhancement omega - background, NaN in gaps */
    double *ds;     /* 3x3 mean of d */
    double *z;      /* significance on the growth scale (box radius p->smooth) */
    double *zs;     /* significance on the seed scale (3 x 3) */
} ctx;

/* d at a fractional pixel position, bilinear; NaN outside or next to a gap. */
static double sample(const ctx *c, double col, double row) {
    int nx = c->map->nx, ny = c->map->ny;
    if (col < 0 || row < 0 || col > nx - 1 || row > ny - 1) return NAN;
    int i = (int)col, j = (int)row;
    if (i >= nx - 1) i = nx - 2;
    if (j >= ny - 1) j = ny - 2;
    double tx = col - i, ty = row - j;
    const double *d = c->d + (size_t)j * nx + i;
    return (1 - ty) * ((1 - tx) * d[0] + tx * d[1]) + ty * ((1 - tx) * d[nx] + tx * d[nx + 1]);
}

typedef struct object {
    int *pix;
    size_t n;
} object;

/* Wind-aligned shape test: an elongated object must lie along the wind; a compact one passes. */
static int aligned(const ctx *c, const object *o, double wx, double wy) {
    int nx = c->map->nx;
    double sw = 0, mx = 0, my = 0;
    for (size_t k = 0; k < o->n; k++) {
        double w = fmax(c->d[o->pix[k]], 0);
        sw += w, mx += w * (o->pix[k] % nx) * c->map->dx, my += w * (o->pix[k] / nx) * c->map->dy;
    }
    if (sw <= 0) return 0;
    mx /= sw, my /= sw;
    double sxx = 0, syy = 0, sxy = 0;
    for (size_t k = 0; k < o->n; k++) {
        double w = fmax(c->d[o->pix[k]], 0), x = (o->pix[k] % nx) * c->map->dx - mx, y = (o->pix[k] / nx) * c->map->dy - my;
        sxx += w * x * x, syy += w * y * y, sxy += w * x * y;
    }
    double tr = sxx + syy, det = sxx * syy - sxy * sxy, disc = sqrt(fmax(tr * tr / 4 - det, 0));
    double l1 = tr / 2 + disc, l2 = fmax(tr / 2 - disc, 1e-300);
    if (l1 / l2 < 2.25) return 1; /* elongation below 1.5 */
    double ax = sxy, ay = l1 - sxx;
    if (fabs(ax) + fabs(ay) < 1e-300) ax = 1, ay = 0;
    if (sxx >= syy && fabs(sxy) < 1e-300) ax = 1, ay = 0;
    double cosang = fabs(ax * wx + ay * wy) / hypot(ax, ay);
    return cosang >= cos(c->p->max_misalign * M_PI / 180);
}

/* Emission of one object whose source is at (scol, srow): transects across the wind (cross-sectional
 * flux, median of the transects) and the mass in a wind-aligned strip (IME); also the plume width law
 * sigma(a) = s0 + s1 a for the contribution model. */
static void emission(const ctx *c, const object *o, nd_plume_source *s, double *s0, double *s1) {
    const nd_plume_map *m = c->map;
    int nx = m->nx;
    double speed = hypot(s->u, s->v), wx = s->u / speed, wy = s->v / speed;
    double h = fmin(m->dx, m->dy), L = 0, margin = 3 * fmax(m->dx, m->dy);
    double sx = s->col * m->dx, sy = s->row * m->dy;
    for (size_t k = 0; k < o->n; k++) {
        double x = (o->pix[k] % nx) * m->dx - sx, y = (o->pix[k] / nx) * m->dy - sy;
        L = fmax(L, x * wx + y * wy);
    }
    s->length = L;
    int nt = (int)(L / h);
    /* the object's across-wind extent in each along-wind bin of width h, widened by a margin: a transect
     * spans the plume where it is, not the widest part of it */
    double *cmin = nd_xmalloc((size_t)(nt + 2) * sizeof *cmin), *cmax = nd_xmalloc((size_t)(nt + 2) * sizeof *cmax);
    for (int t = 0; t <= nt + 1; t++) cmin[t] = INFINITY, cmax[t] = -INFINITY;
    for (size_t k = 0; k < o->n; k++) {
        double x = (o->pix[k] % nx) * m->dx - sx, y = (o->pix[k] / nx) * m->dy - sy;
        double a = x * wx + y * wy, cr = -x * wy + y * wx;
        long t = lround(a / h);
        if (t < 0 || t > nt + 1) continue;
        cmin[t] = fmin(cmin[t], cr), cmax[t] = fmax(cmax[t], cr);
    }
    for (int t = 0; t <= nt + 1; t++) {
        /* bins the pixel lattice skipped (oblique winds) borrow from their neighbours */
        if (!isfinite(cmin[t])) {
            double lo = INFINITY, hi = -INFINITY;
            if (t > 0) lo = fmin(lo, cmin[t - 1]), hi = fmax(hi, cmax[t - 1]);
            if (t <= nt) lo = fmin(lo, cmin[t + 1]), hi = fmax(hi, cmax[t + 1]);
            cmin[t] = lo, cmax[t] = hi;
        }
    }
    double *q = nd_xmalloc((size_t)(nt > 0 ? nt : 1) * sizeof *q), *dist = nd_xmalloc((size_t)(nt > 0 ? nt : 1) * sizeof *dist);
    double *wid = nd_xmalloc((size_t)(nt > 0 ? nt : 1) * sizeof *wid);
    int nq = 0, inside_run = 1;
    double lime = 0; /* the IME strip ends where the cross-sections stop being wholly inside the map */
    for (int t = 1; t <= nt; t++) {
        if (!isfinite(cmin[t])) {
            inside_run = 0;
            continue;
        }
        double a = t * h, sum = 0, m1 = 0, m2 = 0;
        int k0 = (int)floor((cmin[t] - margin) / h), k1 = (int)ceil((cmax[t] + margin) / h);
        int valid = 0, inmap = 0, total = k1 - k0 + 1;
        for (int k = k0; k <= k1; k++) {
            double cx = sx + a * wx - k * h * wy, cy = sy + a * wy + k * h * wx;
            inmap += cx >= 0 && cy >= 0 && cx <= (nx - 1) * m->dx && cy <= (m->ny - 1) * m->dy;
            double v = sample(c, cx / m->dx, cy / m->dy);
            if (!isfinite(v)) continue;
            valid++;
            sum += v;
            m1 += v * k * h;
            m2 += v * (k * h) * (k * h);
        }
        if (inside_run && inmap == total) lime = a;
        else inside_run = 0;
        if (t < 2 || valid < 0.8 * total) continue;
        double flux = sum * total / valid * h;
        q[nq] = speed * flux;
        dist[nq] = a;
        wid[nq] = sum > 0 ? sqrt(fmax(m2 / sum - (m1 / sum) * (m1 / sum), 0)) : NAN;
        nq++;
    }
    s->ntransects = nq;
    if (nq) {
        double *tmp = nd_xmalloc((size_t)nq * sizeof *tmp);
        memcpy(tmp, q, (size_t)nq * sizeof *tmp);
        s->q_csf = median(tmp, (size_t)nq);
        for (int k = 0; k < nq; k++) tmp[k] = fabs(q[k] - s->q_csf);
        double mad = 1.4826 * median(tmp, (size_t)nq);
        s->q_unc = mad / sqrt((double)nq);
        free(tmp);
    } else {
        s->q_csf = NAN;
    }
    /* width law by least squares over the transects with a positive cross-section */
    double sa = 0, sw = 0, saa = 0, saw = 0;
    int nw = 0;
    for (int k = 0; k < nq; k++)
        if (isfinite(wid[k])) sa += dist[k], sw += wid[k], saa += dist[k] * dist[k], saw += dist[k] * wid[k], nw++;
    *s1 = nw > 1 && nw * saa - sa * sa > 0 ? (nw * saw - sa * sw) / (nw * saa - sa * sa) : 0;
    *s0 = nw ? (sw - *s1 * sa) / nw : h;
    if (*s0 < 0.5 * h) *s0 = 0.5 * h;
    if (*s1 < 0) *s1 = 0;
    /* IME over the strip 0.5 h < a <= lime + 0.5 h within each bin's across range: each pixel stands for
     * its own area */
    double ime = 0, W = 0;
    size_t nin = 0, nvalid = 0;
    for (int t = 0; t <= nt + 1; t++)
        if (isfinite(cmin[t])) W = fmax(W, fmax(fabs(cmin[t]), fabs(cmax[t])) + margin);
    int x0 = (int)floor((sx - L - W) / m->dx) - 1, x1 = (int)ceil((sx + L + W) / m->dx) + 1;
    int y0 = (int)floor((sy - L - W) / m->dy) - 1, y1 = (int)ceil((sy + L + W) / m->dy) + 1;
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < m->ny; y++)
        for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < nx; x++) {
            double px = x * m->dx - sx, py = y * m->dy - sy, a = px * wx + py * wy, cr = -px * wy + py * wx;
            if (a <= 0.5 * h || a > lime + 0.5 * h) continue;
            long t = lround(a / h);
            if (t > nt + 1 || !(cr >= cmin[t] - margin && cr <= cmax[t] + margin)) continue;
            nin++;
            double v = c->d[(size_t)y * nx + x];
            if (isfinite(v)) ime += v, nvalid++;
        }
    s->q_ime = lime > 0 && nvalid ? speed * ime * ((double)nin / nvalid) * m->dx * m->dy / lime : NAN;
    if (isfinite(s->q_csf) && isfinite(s->q_ime)) {
        s->q = 0.5 * (s->q_csf + s->q_ime);
        s->q_unc = sqrt(s->q_unc * s->q_unc + 0.25 * (s->q_csf - s->q_ime) * (s->q_csf - s->q_ime));
    } else {
        s->q = isfinite(s->q_csf) ? s->q_csf : s->q_ime;
    }
    free(q);
    free(dist);
    free(wid);
    free(cmin);
    free(cmax);
}

/* The Gaussian-plume column of a source at pixel (x, y), with width law s0 + s1 a. */
static double model_at(const nd_plume_map *m, const nd_plume_source *s, double s0, double s1, int x, int y,
                       double *distance) {
    double speed = hypot(s->u, s->v), wx = s->u / speed, wy = s->v / speed;
    double px = (x - s->col) * m->dx, py = (y - s->row) * m->dy, a = px * wx + py * wy, cr = -px * wy + py * wx;
    *distance = hypot(px, py);
    if (a < -fmin(m->dx, m->dy) || !isfinite(s->q)) return 0;
    double sg = s0 + s1 * fmax(a, 0);
    return s->q / (speed * sqrt(2 * M_PI) * sg) * exp(-0.5 * cr * cr / (sg * sg));
}

/* Enhancement, its box mean ((2 smooth + 1)^2 pixels, gaps left out; summed-area tables keep it O(n)
 * whatever the radius) and the significance the thresholds apply to. */
typedef struct sig_ctx {
    ctx *c;
    double *sum, *cnt, *sig;
    const double *bg;
    double floor_sig;
    int r;
} sig_ctx;

static void sig_rows(void *arg, int ya, int yb);

/* Rows [ya, yb): the enhancement, the noise floor, and the prefix sums along each row. */
static void sat_rows(void *arg, int ya, int yb) {
    sig_ctx *sc = arg;
    ctx *c = sc->c;
    int nx = c->map->nx;
    size_t w = (size_t)nx + 1;
    for (int y = ya; y < yb; y++) {
        size_t k = (size_t)(y + 1) * w;
        for (int x = 0; x < nx; x++) {
            size_t i = (size_t)y * nx + x;
            double v = c->d[i] = c->map->omega[i] - sc->bg[i];
            if (!(sc->sig[i] > sc->floor_sig)) sc->sig[i] = sc->floor_sig;
            int ok = isfinite(v);
            sc->sum[k + x + 1] = (ok ? v : 0) + sc->sum[k + x];
            sc->cnt[k + x + 1] = ok + sc->cnt[k + x];
        }
    }
}

/* Columns [xa, xb) of the tables: the row prefix sums accumulated downwards. */
static void sat_cols(void *arg, int xa, int xb) {
    sig_ctx *sc = arg;
    int ny = sc->c->map->ny;
    size_t w = (size_t)sc->c->map->nx + 1;
    for (int y = 1; y <= ny; y++)
        for (int x = xa; x < xb; x++) {
            sc->sum[(size_t)y * w + x] += sc->sum[(size_t)(y - 1) * w + x];
            sc->cnt[(size_t)y * w + x] += sc->cnt[(size_t)(y - 1) * w + x];
        }
}

static void significance(ctx *c, const double *bg, double *sig, double floor_sig) {
    const nd_plume_map *m = c->map;
    int nx = m->nx, ny = m->ny, r = c->p->smooth > 0 ? c->p->smooth : 0;
    size_t w = (size_t)nx + 1;
    /* the summed-area tables: prefix sums along each row, then down each column, both split over threads */
    double *sum = nd_xcalloc(w * (ny + 1), sizeof *sum), *cnt = nd_xcalloc(w * (ny + 1), sizeof *cnt);
    sig_ctx sc = {.c = c, .sum = sum, .cnt = cnt, .sig = sig, .r = r, .bg = bg, .floor_sig = floor_sig};
    par_rows(c->p->threads, ny, sat_rows, &sc);
    par_rows(c->p->threads, (int)w, sat_cols, &sc);
    par_rows(c->p->threads, ny, sig_rows, &sc);
    free(sum);
    free(cnt);
}

/* Box means of rows [y0, y1) on both scales (radius 1 and the growth radius), as significances. */
static void sig_rows(void *arg, int ya, int yb) {
    const sig_ctx *sc = arg;
    ctx *c = sc->c;
    const double *sum = sc->sum, *cnt = sc->cnt, *sig = sc->sig;
    int nx = c->map->nx, ny = c->map->ny, r = sc->r;
    size_t w = (size_t)nx + 1;
    for (int pass = 0; pass < 2; pass++) {
        int rr = pass == 0 ? 1 : r;
        double *zo = pass == 0 ? c->zs : c->z;
        for (int y = ya; y < yb; y++)
            for (int x = 0; x < nx; x++) {
                size_t i = (size_t)y * nx + x;
                int x0 = x - rr < 0 ? 0 : x - rr, x1 = x + rr >= nx ? nx - 1 : x + rr;
                int y0 = y - rr < 0 ? 0 : y - rr, y1 = y + rr >= ny ? ny - 1 : y + rr;
                size_t a = (size_t)y0 * w + x0, b = (size_t)y0 * w + x1 + 1, cc = (size_t)(y1 + 1) * w + x0,
                       d = (size_t)(y1 + 1) * w + x1 + 1;
                double s = sum[d] - sum[b] - sum[cc] + sum[a], k = cnt[d] - cnt[b] - cnt[cc] + cnt[a];
                double mean = isfinite(c->d[i]) && k > 0 ? s / k : NAN;
                if (pass == 0) c->ds[i] = mean;
                zo[i] = (rr ? mean : c->d[i]) / sig[i];
            }
    }
}

int nd_plume_detect(const nd_plume_map *m, const nd_plume_params *p, int day, nd_plume_out *out,
                    nd_plume_source **src, size_t *nsrc, char *err, size_t errlen) {
    int nx = m->nx, ny = m->ny;
    if (nx < 3 || ny < 3 || !(m->dx > 0) || !(m->dy > 0)) {
        snprintf(err, errlen, "the map must be at least 3 x 3 pixels with positive pixel sizes");
        return -1;
    }
    size_t n = (size_t)nx * ny, nvalid = 0, nwind = 0;
    double big = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(m->omega[i])) {
            nvalid++;
            big = fmax(big, fabs(m->omega[i]));
            nwind += isfinite(m->u[i]) && isfinite(m->v[i]);
        }
    if (!nvalid) {
        snprintf(err, errlen, "the map has no valid pixel (all gaps or fill values)");
        return -1;
    }
    if (!nwind) {
        snprintf(err, errlen, "the wind is missing over every valid pixel of the map");
        return -1;
    }
    ctx c = {.map = m, .p = p};
    double *bg = out && out->background ? out->background : nd_xmalloc(n * sizeof *bg);
    double *sig = out && out->sigma ? out->sigma : nd_xmalloc(n * sizeof *sig);
    nd_plume_background_mt(m->omega, nx, ny, p->window, p->threads, bg, sig);
    double floor_sig = p->sigma_min > 0 ? p->sigma_min : 1e-6 * big + 1e-300;
    c.d = nd_xmalloc(n * sizeof *c.d);
    c.ds = nd_xmalloc(n * sizeof *c.ds);
    c.z = nd_xmalloc(n * sizeof *c.z);
    c.zs = nd_xmalloc(n * sizeof *c.zs);
    significance(&c, bg, sig, floor_sig);
    /* The plumes themselves lift a median: the background is estimated again (p->iterations times)
     * without the pixels that stand out and a rim of p->rim pixels around them. */
    double *masked = nd_xmalloc(n * sizeof *masked);
    int rim = p->rim;
    size_t w1 = (size_t)nx + 1;
    unsigned *sat = nd_xmalloc(w1 * (ny + 1) * sizeof *sat); /* summed-area table of the enhanced pixels */
    for (int it = 0; it < p->iterations; it++) {
        memset(sat, 0, w1 * sizeof *sat);
        for (int y = 0; y < ny; y++) {
            sat[(size_t)(y + 1) * w1] = 0;
            for (int x = 0; x < nx; x++) {
                size_t k = (size_t)(y + 1) * w1 + x + 1;
                sat[k] = (c.z[(size_t)y * nx + x] > p->z_grow) + sat[k - 1] + sat[k - w1] - sat[k - w1 - 1];
            }
        }
        for (int y = 0; y < ny; y++) {
            int y0 = y - rim < 0 ? 0 : y - rim, y1 = y + rim >= ny ? ny - 1 : y + rim;
            for (int x = 0; x < nx; x++) {
                int x0 = x - rim < 0 ? 0 : x - rim, x1 = x + rim >= nx ? nx - 1 : x + rim;
                unsigned cnt = sat[(size_t)(y1 + 1) * w1 + x1 + 1] - sat[(size_t)y0 * w1 + x1 + 1] -
                               sat[(size_t)(y1 + 1) * w1 + x0] + sat[(size_t)y0 * w1 + x0];
                size_t i = (size_t)y * nx + x;
                masked[i] = cnt ? NAN : m->omega[i];
            }
        }
        nd_plume_background_mt(masked, nx, ny, p->window, p->threads, bg, sig);
        significance(&c, bg, sig, floor_sig);
    }
    free(sat);
    free(masked);
    int *label = nd_xmalloc(n * sizeof *label), *stack = nd_xmalloc(n * sizeof *stack);
    unsigned char *nosource = nd_xcalloc(n, 1);
    for (size_t i = 0; i < n; i++) label[i] = -1;
    size_t first = *nsrc;
    object o = {.pix = stack};
    int nobj = 0;
    double *s0 = NULL, *s1 = NULL;
    int *box = NULL; /* per source: its object's x0, y0, x1, y1 */
    for (size_t seed = 0; seed < n; seed++) {
        if (label[seed] != -1 || !(c.zs[seed] > p->z_seed)) continue;
        /* flood fill of the grow mask from this seed, 8-connected */
        size_t top = 0, head = 0;
        stack[top++] = (int)seed;
        label[seed] = -2 - nobj;
        while (head < top) {
            int q = stack[head++], qx = q % nx, qy = q / nx;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = qx + dx, yy = qy + dy;
                    if (xx < 0 || yy < 0 || xx >= nx || yy >= ny) continue;
                    size_t r = (size_t)yy * nx + xx;
                    if (label[r] != -1 || !(c.z[r] > p->z_grow)) continue;
                    label[r] = -2 - nobj;
                    stack[top++] = (int)r;
                }
        }
        o.n = top;
        nobj++;
        if ((int)o.n < p->min_pixels) continue;
        double su = 0, sv = 0;
        int nw = 0;
        for (size_t k = 0; k < o.n; k++)
            if (isfinite(m->u[o.pix[k]]) && isfinite(m->v[o.pix[k]])) su += m->u[o.pix[k]], sv += m->v[o.pix[k]], nw++;
        if (!nw || hypot(su, sv) / nw < 0.1) continue; /* no usable wind: no plume can be told */
        double wu = su / nw, wv = sv / nw, sp = hypot(wu, wv);
        if (!aligned(&c, &o, wu / sp, wv / sp)) continue;
        /* the source: the largest raw enhancement within 3 pixels of the upwind end of the seeds (the
         * smoothed significance leaks half a window upwind, the raw peak does not) */
        double amin = INFINITY, band = 3 * fmin(m->dx, m->dy);
        for (size_t k = 0; k < o.n; k++) {
            if (!(c.zs[o.pix[k]] > p->z_seed)) continue;
            double a = (o.pix[k] % nx) * m->dx * wu / sp + (o.pix[k] / nx) * m->dy * wv / sp;
            amin = fmin(amin, a);
        }
        int best = -1;
        for (size_t k = 0; k < o.n; k++) {
            double a = (o.pix[k] % nx) * m->dx * wu / sp + (o.pix[k] / nx) * m->dy * wv / sp;
            if (a > amin + band || !isfinite(c.d[o.pix[k]])) continue;
            if (best < 0 || c.d[o.pix[k]] > c.d[best]) best = o.pix[k];
        }
        if (best < 0) continue;
        /* a gap right upwind of the plume's start may hide the real source (or cut a plume in two):
         * such a fragment is flagged as plume but names no source */
        int hidden = 0, gap_seen = 0, quiet = 0;
        for (int k = 1; k <= 40 && !hidden; k++) {
            int xi = (int)lround(best % nx - k * wu / sp), yi = (int)lround(best / nx - k * wv / sp);
            if (xi < 0 || yi < 0 || xi >= nx || yi >= ny) break;
            size_t r = (size_t)yi * nx + xi;
            if (!isfinite(m->omega[r])) {
                if (k <= 3) hidden = 1;
                gap_seen = 1, quiet = 0;
            } else if (c.z[r] > p->z_grow) {
                if (gap_seen) hidden = 1; /* the plume goes on beyond the gap: this is a fragment */
                quiet = 0;
            } else if (++quiet >= 3) {
                break;
            }
        }
        if (hidden) {
            for (size_t k = 0; k < o.n; k++) nosource[o.pix[k]] = 1;
            continue;
        }
        *src = nd_xrealloc(*src, (*nsrc + 1) * sizeof **src);
        nd_plume_source *s = &(*src)[*nsrc];
        memset(s, 0, sizeof *s);
        s->col = best % nx, s->row = best / nx;
        s->u = wu, s->v = wv;
        s->npixels = (int)o.n;
        s->day = day;
        s->cluster = -1;
        size_t idx = *nsrc - first;
        box = nd_xrealloc(box, 4 * (idx + 1) * sizeof *box);
        box[4 * idx] = box[4 * idx + 1] = INT32_MAX, box[4 * idx + 2] = box[4 * idx + 3] = -1;
        for (size_t k = 0; k < o.n; k++) {
            int xx = o.pix[k] % nx, yy = o.pix[k] / nx;
            if (xx < box[4 * idx]) box[4 * idx] = xx;
            if (yy < box[4 * idx + 1]) box[4 * idx + 1] = yy;
            if (xx > box[4 * idx + 2]) box[4 * idx + 2] = xx;
            if (yy > box[4 * idx + 3]) box[4 * idx + 3] = yy;
        }
        s0 = nd_xrealloc(s0, (idx + 1) * sizeof *s0);
        s1 = nd_xrealloc(s1, (idx + 1) * sizeof *s1);
        emission(&c, &o, s, &s0[idx], &s1[idx]);
        (*nsrc)++;
        for (size_t k = 0; k < o.n; k++) label[o.pix[k]] = (int)idx; /* plume pixels keep their object's source */
    }
    size_t found = *nsrc - first;
    /* per-pixel results: flags, and the shares of the Gaussian-plume models of the sources found; each
     * source's model is evaluated over its own object's box widened by half its length, so the cost is
     * the area of the plumes, not pixels x sources */
    if (out) {
        float *msum = nd_xcalloc(n, sizeof *msum), *mbest = nd_xcalloc(n, sizeof *mbest), *mdist = NULL;
        int *mwho = nd_xmalloc(n * sizeof *mwho);
        unsigned char *mcount = nd_xcalloc(n, 1);
        mdist = nd_xmalloc(n * sizeof *mdist);
        for (size_t i = 0; i < n; i++) mwho[i] = -1, mdist[i] = NAN;
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < found; k++) {
                const nd_plume_source *s = &(*src)[first + k];
                int grow = (int)ceil(0.5 * s->length / fmin(m->dx, m->dy)) + 2;
                int bx0 = box[4 * k] - grow, by0 = box[4 * k + 1] - grow, bx1 = box[4 * k + 2] + grow, by1 = box[4 * k + 3] + grow;
                for (int y = by0 < 0 ? 0 : by0; y <= by1 && y < ny; y++)
                    for (int x = bx0 < 0 ? 0 : bx0; x <= bx1 && x < nx; x++) {
                        size_t i = (size_t)y * nx + x;
                        if (label[i] < 0) continue;
                        double dd, v = model_at(m, s, s0[k], s1[k], x, y, &dd);
                        if (pass == 0) {
                            msum[i] += (float)v;
                            if (v > mbest[i]) mbest[i] = (float)v, mwho[i] = (int)(first + k), mdist[i] = (float)dd;
                        } else if (msum[i] > 0 && v > 0.1 * msum[i] && mcount[i] < 255) {
                            mcount[i]++;
                        }
                    }
            }
        for (size_t i = 0; i < n; i++) {
            unsigned char f = !isfinite(m->omega[i]) ? 255 : label[i] >= 0 || nosource[i] ? 1 : 0;
            int who = mwho[i];
            float share = who >= 0 && msum[i] > 0 ? mbest[i] / msum[i] : NAN, dist = mdist[i];
            unsigned char count = mcount[i];
            if (label[i] >= 0 && who < 0) { /* outside every model (upwind of its source): its own source */
                who = (int)first + label[i], share = 1, count = 1;
                const nd_plume_source *s = &(*src)[who];
                dist = (float)hypot((double)(i % nx - s->col) * m->dx, (double)(i / nx - s->row) * m->dy);
            }
            if (out->flag) out->flag[i] = f;
            if (out->source) out->source[i] = who;
            if (out->nsources) out->nsources[i] = count;
            if (out->contribution) out->contribution[i] = share;
            if (out->distance) out->distance[i] = dist;
        }
        for (size_t k = 0; out->flag && k < found; k++) {
            const nd_plume_source *s = &(*src)[first + k];
            out->flag[(size_t)s->row * nx + (size_t)s->col] = 2;
        }
        free(msum);
        free(mbest);
        free(mdist);
        free(mwho);
        free(mcount);
    }
    free(box);
    free(s0);
    free(s1);
    free(label);
    free(stack);
    free(nosource);
    free(c.d);
    free(c.ds);
    free(c.z);
    free(c.zs);
    if (!(out && out->background)) free(bg);
    if (!(out && out->sigma)) free(sig);
    return (int)found;
}

/* ---------------------------------------------------------------- persistent sources */

static int by_q_desc(const void *a, const void *b) {
    const nd_plume_source *x = *(nd_plume_source *const *)a, *y = *(nd_plume_source *const *)b;
    double qa = isfinite(x->q) ? x->q : -INFINITY, qb = isfinite(y->q) ? y->q : -INFINITY;
    return (qa < qb) - (qa > qb);
}

size_t nd_plume_cluster_sources(nd_plume_source *src, size_t nsrc, double radius, nd_plume_cluster **out) {
    nd_plume_source **ord = nd_xmalloc((nsrc ? nsrc : 1) * sizeof *ord);
    for (size_t i = 0; i < nsrc; i++) ord[i] = &src[i];
    qsort(ord, nsrc, sizeof *ord, by_q_desc);
    nd_plume_cluster *cl = NULL;
    double *sq = NULL, *su2 = NULL;
    size_t ncl = 0;
    for (size_t i = 0; i < nsrc; i++) {
        nd_plume_source *s = ord[i];
        size_t k = ncl;
        double bestd = radius;
        for (size_t j = 0; j < ncl; j++) {
            double d = hypot(cl[j].col - s->col, cl[j].row - s->row);
            if (d <= bestd) bestd = d, k = j;
        }
        if (k == ncl) {
            cl = nd_xrealloc(cl, (ncl + 1) * sizeof *cl);
            sq = nd_xrealloc(sq, (ncl + 1) * sizeof *sq);
            su2 = nd_xrealloc(su2, (ncl + 1) * sizeof *su2);
            memset(&cl[ncl], 0, sizeof *cl);
            sq[ncl] = su2[ncl] = 0;
            ncl++;
        }
        nd_plume_cluster *c = &cl[k];
        int nn = c->ndetections + 1;
        c->col += (s->col - c->col) / nn;
        c->row += (s->row - c->row) / nn;
        c->u += (s->u - c->u) / nn;
        c->v += (s->v - c->v) / nn;
        if (isfinite(s->q)) {
            c->q += s->q, sq[k] += s->q * s->q;
            su2[k] += isfinite(s->q_unc) ? s->q_unc * s->q_unc : 0;
        }
        c->ndetections = nn;
        s->cluster = (int)k;
    }
    for (size_t k = 0; k < ncl; k++) {
        double n = cl[k].ndetections, mean = cl[k].q / n, var = n > 1 ? (sq[k] - n * mean * mean) / (n - 1) : 0;
        cl[k].q = mean;
        cl[k].q_unc = sqrt(fmax(var, 0) / n + su2[k] / (n * n));
    }
    free(ord);
    free(sq);
    free(su2);
    *out = cl;
    return ncl;
}
