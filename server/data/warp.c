/* Windows of a variable resampled onto a target grid with GDAL's warper (the gdalwarp code path), through
 * a per-thread cache of open GDAL handles so a request does not reopen files. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <gdalwarper.h>
#include <ogr_srs_api.h>

#include "nadir/arena.h"
#include "nadir/read.h"
#include "nadir/schema.h"
#include "nadir/warp.h"

#define CACHE_SLOTS 48   /* open sources per thread: a month of daily files plus the rasters */
#define SRS_SLOTS 16     /* target CRSs per thread */
#define MAX_PIXELS (16384L * 16384L)

/* An open source (a file, a NetCDF variable, or one overview level of either) with the transformers from its
 * pixels to the target CRSs asked for so far. Transformer creation looks CRSs up in PROJ's database: done once
 * per thread and CRS, only the target geotransform changes per request. */
#define XF_SLOTS 4
typedef struct {
    char *crs;
    void *arg; /* GDALCreateGenImgProjTransformer2 */
} xf_slot;

typedef struct {
    char *key;               /* GDAL name + "#" + overview level (-1: full resolution) */
    GDALDatasetH ds;
    xf_slot xf[XF_SLOTS];
    unsigned long long used; /* LRU clock */
} source_slot;

typedef struct {
    char *crs;
    OGRSpatialReferenceH srs;
} srs_slot;

typedef struct {
    source_slot src[CACHE_SLOTS];
    srs_slot srs[SRS_SLOTS];
    unsigned long long clock;
    size_t nsrs;
    int *index;          /* nearest path: source pixel of each target pixel */
    size_t index_cap;
    float *window;       /* nearest path: the source window of one band */
    size_t window_cap;
    double *row;         /* nearest path: x, y, z of one target row */
    int *row_ok;
    size_t row_cap;
} thread_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static bool is_nc(const char *name) { return name && strncmp(name, "NETCDF:", 7) == 0; }

static void slot_close(source_slot *s) {
    for (int i = 0; i < XF_SLOTS; i++) {
        if (s->xf[i].arg) GDALDestroyGenImgProjTransformer(s->xf[i].arg);
        free(s->xf[i].crs);
    }
    if (s->ds) {
        /* netCDF-C is not thread-safe and GDAL's driver has its own lock: take the one the rest of nadir uses */
        bool nc = is_nc(s->key);
        if (nc) nd_nc_lock();
        GDALClose(s->ds);
        if (nc) nd_nc_unlock();
    }
    free(s->key);
    memset(s, 0, sizeof *s);
}

static void cache_destroy(void *p) {
    thread_cache *c = p;
    if (!c) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) slot_close(&c->src[i]);
    free(c->index);
    free(c->window);
    free(c->row);
    free(c->row_ok);
    for (size_t i = 0; i < c->nsrs; i++) {
        free(c->srs[i].crs);
        OSRDestroySpatialReference(c->srs[i].srs);
    }
    free(c);
}

static void cache_key_make(void) { pthread_key_create(&cache_key, cache_destroy); }

static thread_cache *cache_get(void) {
    pthread_once(&cache_once, cache_key_make);
    thread_cache *c = pthread_getspecific(cache_key);
    if (!c) {
        c = nd_xcalloc(1, sizeof *c);
        pthread_setspecific(cache_key, c);
    }
    return c;
}

void nd_warp_cache_clear(void) {
    pthread_once(&cache_once, cache_key_make);
    thread_cache *c = pthread_getspecific(cache_key);
    if (!c) return;
    cache_destroy(c);
    pthread_setspecific(cache_key, NULL);
}

size_t nd_warp_cache_size(void) {
    pthread_once(&cache_once, cache_key_make);
    thread_cache *c = pthread_getspecific(cache_key);
    size_t n = 0;
    for (size_t i = 0; c && i < CACHE_SLOTS; i++) n += c->src[i].key != NULL;
    return n;
}

/* The target CRS as GDAL wants it, parsed once per thread: parsing EPSG codes queries PROJ's database. */
static OGRSpatialReferenceH target_srs(thread_cache *c, const char *crs) {
    for (size_t i = 0; i < c->nsrs; i++)
        if (strcmp(c->srs[i].crs, crs) == 0) return c->srs[i].srs;
    OGRSpatialReferenceH srs = nd_srs_new(crs);
    if (!srs) return NULL;
    if (c->nsrs == SRS_SLOTS) { /* full: drop the oldest */
        free(c->srs[0].crs);
        OSRDestroySpatialReference(c->srs[0].srs);
        memmove(&c->srs[0], &c->srs[1], (SRS_SLOTS - 1) * sizeof c->srs[0]);
        c->nsrs--;
    }
    c->srs[c->nsrs++] = (srs_slot){nd_xstrdup(crs), srs};
    return srs;
}

bool nd_warp_crs_valid(const char *crs) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    bool ok = target_srs(cache_get(), crs) != NULL;
    CPLPopErrorHandler();
    return ok;
}

int nd_warp_crs_axes(const char *crs, bool *northing_first) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    OGRSpatialReferenceH srs = target_srs(cache_get(), crs);
    CPLPopErrorHandler();
    if (!srs) return -1;
    *northing_first = OSREPSGTreatsAsLatLong(srs) || OSREPSGTreatsAsNorthingEasting(srs);
    return 0;
}

/* The source name at overview level ovr (-1: full resolution), opened on first use in this thread. */
static source_slot *source_get(thread_cache *c, const char *name, int ovr, nd_error *err) {
    char key[4200];
    snprintf(key, sizeof key, "%s#%d", name, ovr);
    source_slot *lru = &c->src[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        source_slot *s = &c->src[i];
        if (s->key && strcmp(s->key, key) == 0) {
            s->used = ++c->clock;
            return s;
        }
        if (!s->key || (lru->key && s->used < lru->used)) lru = s;
    }
    slot_close(lru);
    char level[32];
    snprintf(level, sizeof level, "OVERVIEW_LEVEL=%d", ovr);
    char *oo[] = {level, NULL};
    if (is_nc(name)) nd_nc_lock();
    GDALDatasetH ds = GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, ovr >= 0 ? (const char *const *)oo : NULL,
                                 NULL);
    if (is_nc(name)) nd_nc_unlock();
    if (!ds) {
        nd_fail(err, ND_E_IO, "", "cannot open the data source");
        return NULL;
    }
    lru->key = nd_xstrdup(key);
    lru->ds = ds;
    lru->used = ++c->clock;
    return lru;
}

/* The transformer from s's pixels to georeferenced coordinates of crs. CF files with bare lon/lat have no
 * CRS for GDAL: the dataset's own (read from the data) is given as SRC_SRS, as `gdalwarp -s_srs` would. */
static void *transformer_get(source_slot *s, const char *crs, const char *crs_wkt) {
    for (int i = 0; i < XF_SLOTS; i++)
        if (s->xf[i].crs && strcmp(s->xf[i].crs, crs) == 0) return s->xf[i].arg;
    char *dst = NULL, *src = NULL;
    if (asprintf(&dst, "DST_SRS=%s", crs) < 0) return NULL;
    if (!GDALGetSpatialRef(s->ds) && crs_wkt && asprintf(&src, "SRC_SRS=%s", crs_wkt) < 0) src = NULL;
    char *opts[] = {dst, src, NULL};
    void *arg = GDALCreateGenImgProjTransformer2(s->ds, NULL, opts);
    free(dst);
    free(src);
    if (!arg) return NULL;
    int k = 0; /* a free entry, else the first one goes */
    while (k < XF_SLOTS && s->xf[k].arg) k++;
    if (k == XF_SLOTS) {
        GDALDestroyGenImgProjTransformer(s->xf[0].arg);
        free(s->xf[0].crs);
        memmove(&s->xf[0], &s->xf[1], (XF_SLOTS - 1) * sizeof s->xf[0]);
        k = XF_SLOTS - 1;
    }
    s->xf[k] = (xf_slot){nd_xstrdup(crs), arg};
    return arg;
}

/* Which GDAL band of a NetCDF variable holds (time, z): the netCDF driver numbers the bands over the
 * non-spatial dimensions in C order, the last one varying fastest. */
static int netcdf_band(const nd_dataset *ds, const nd_variable *v, size_t local_t, size_t z, int nbands) {
    size_t other = 1; /* product of the extra dimensions other than time */
    for (int k = 0; k < v->ndims - 2; k++)
        if (!(ds->time && strcmp(v->dims[k], ds->time->name) == 0)) other *= v->shape[k] ? v->shape[k] : 1;
    size_t nt_local = other ? (size_t)nbands / other : 1;
    size_t index = 0;
    for (int k = 0; k < v->ndims - 2; k++) {
        size_t idx = 0, n = v->shape[k];
        if (ds->time && strcmp(v->dims[k], ds->time->name) == 0) {
            idx = local_t;
            n = nt_local;
        } else if (ds->vertical && strcmp(v->dims[k], ds->vertical->name) == 0) {
            idx = z;
        }
        index = index * (n ? n : 1) + idx;
    }
    return (int)index + 1;
}

const char *nd_warp_resampling_name(nd_resampling rs) {
    switch (rs) {
    case ND_RESAMPLE_BILINEAR: return "bilinear";
    case ND_RESAMPLE_CUBIC: return "cubic";
    case ND_RESAMPLE_AVERAGE: return "average";
    default: return "near";
    }
}

/* Resolves (v, time, z) to the GDAL name of its file (or NetCDF variable) and band. */
static int slice_name(thread_cache *c, const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index,
                      char *name, size_t n, int *band, nd_error *err) {
    size_t file = 0, local_t = 0;
    if (v->has_time && ds->time) {
        if (time_index >= ds->time->n)
            return nd_fail(err, ND_E_INVALID_DIMENSION, "time", "time index %zu out of range", time_index);
        file = ds->time->file_index[time_index];
        local_t = ds->time->local_index[time_index];
    }
    if (v->has_vertical && ds->vertical && z_index >= ds->vertical->n)
        return nd_fail(err, ND_E_INVALID_DIMENSION, "elevation", "vertical index %zu out of range", z_index);
    if (file >= ds->nfiles) return nd_fail(err, ND_E_INTERNAL, "", "file index out of range");
    const char *path = ds->files[file];
    if (ds->kind == ND_DS_RASTER) {
        snprintf(name, n, "%s", path);
        *band = v->band;
        return 0;
    }
    snprintf(name, n, "NETCDF:\"%s\":%s", path, v->name);
    source_slot *s = source_get(c, name, -1, err); /* the band count is the file's */
    if (!s) return -(int)err->code;
    *band = netcdf_band(ds, v, local_t, v->has_vertical ? z_index : 0, GDALGetRasterCount(s->ds));
    return 0;
}

/* gdalwarp's automatic overview choice: the source window the target covers (a 10x10 grid of target points
 * taken back to source pixels) gives the down-sampling ratio; the coarsest overview not coarser than it wins. */
static int pick_overview(GDALDatasetH ds, void *xf, const nd_grid *dst) {
    GDALRasterBandH b1 = GDALGetRasterBand(ds, 1);
    int nov = b1 ? GDALGetOverviewCount(b1) : 0;
    if (nov <= 0) return -1;
    enum { N = 10 };
    double x[N * N], y[N * N], z[N * N];
    int ok[N * N];
    for (int i = 0, k = 0; i < N; i++)
        for (int j = 0; j < N; j++, k++) {
            x[k] = dst->width * (double)i / (N - 1);
            y[k] = dst->height * (double)j / (N - 1);
            z[k] = 0;
        }
    GDALGenImgProjTransform(xf, TRUE, N * N, x, y, z, ok);
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k < N * N; k++)
        if (ok[k]) {
            x0 = fmin(x0, x[k]), x1 = fmax(x1, x[k]);
            y0 = fmin(y0, y[k]), y1 = fmax(y1, y[k]);
        }
    double rx = x1 > x0 ? (x1 - x0) / dst->width : 0, ry = y1 > y0 ? (y1 - y0) / dst->height : 0;
    double target = fmin(rx, ry);
    if (!(target > 1.0)) return -1;
    int best = -1;
    double best_ratio = 0;
    const double eps = 1e-1;
    for (int i = -1; i < nov; i++) {
        double r = i < 0 ? 1.0 : (double)GDALGetRasterXSize(ds) / GDALGetRasterBandXSize(GDALGetOverview(b1, i));
        if (r >= target + eps || r <= best_ratio) continue;
        best = i;
        best_ratio = r;
        if (fabs(target - r) < eps) break;
    }
    return best;
}

/* GDAL's nearest-neighbour kernel (GWKNearest) without its per-pixel generality: each target row's pixel centres
 * go through the same approximate transformer, source pixels are picked with the kernel's truncation rule, and
 * values come from one RasterIO of the source window. Same picks, same values (tested against gdalwarp), a
 * fraction of the time for map tiles. Returns 1 when the window is unreasonable (the caller uses GDAL). */
static bool is_nodata(float v, double nd, bool has) {
    if (!has) return false;
    if (isnan(nd)) return isnan(v);
    float f = (float)nd;
    return v == f || fabsf(v - f) < FLT_EPSILON * fabsf(v + f) * 2;
}

static int nearest_fast(thread_cache *c, GDALDatasetH src, bool nc, void *approx, const int *bands, const nd_variable *const *vars,
                        int nvars, const nd_grid *dst, float *const *outs, nd_error *err) {
    int w = dst->width, h = dst->height;
    size_t n = (size_t)w * (size_t)h;
    if (c->index_cap < 2 * n) { /* (ix, iy) per target pixel; iy < 0: no source pixel */
        free(c->index);
        c->index = nd_xmalloc(2 * n * sizeof *c->index);
        c->index_cap = 2 * n;
    }
    if (c->row_cap < (size_t)w) {
        free(c->row);
        free(c->row_ok);
        c->row = nd_xmalloc(3 * (size_t)w * sizeof *c->row);
        c->row_ok = nd_xmalloc((size_t)w * sizeof *c->row_ok);
        c->row_cap = (size_t)w;
    }
    int sw = GDALGetRasterXSize(src), sh = GDALGetRasterYSize(src);
    int x0 = INT_MAX, y0 = INT_MAX, x1 = -1, y1 = -1;
    double *xs = c->row, *ys = c->row + w, *zs = c->row + 2 * w;
    /* pass 1: source pixel of every target pixel (full-raster coordinates), and the window they span */
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            xs[i] = i + 0.5;
            ys[i] = j + 0.5;
            zs[i] = 0;
        }
        GDALApproxTransform(approx, TRUE, w, xs, ys, zs, c->row_ok);
        int *idx = c->index + 2 * (size_t)j * (size_t)w;
        for (int i = 0; i < w; i++) {
            idx[2 * i + 1] = -1;
            double x = xs[i], y = ys[i];
            int ok = c->row_ok[i], accept = 0;
            for (int attempt = 0; attempt < 2 && !accept; attempt++) {
                if (attempt == 1) {
                    /* just outside the source: the kernel transforms the point alone, i.e. exactly */
                    double z = 0;
                    x = i + 0.5;
                    y = j + 0.5;
                    GDALApproxTransform(approx, TRUE, 1, &x, &y, &z, &ok);
                }
                if (!ok || isnan(x) || isnan(y)) break;
                if (x < 0 || y < 0) {
                    if (attempt == 0 && x > -1 && y > -1) continue;
                    break;
                }
                if (x + 1e-10 > sw || y + 1e-10 > sh) {
                    if (attempt == 0 && x < sw + 1 && y < sh + 1) continue;
                    break;
                }
                accept = 1;
            }
            if (!accept) continue;
            int ix = (int)(x + 1e-10), iy = (int)(y + 1e-10);
            if (ix == sw) ix--;
            if (iy == sh) iy--;
            idx[2 * i] = ix;
            idx[2 * i + 1] = iy;
            if (ix < x0) x0 = ix;
            if (ix > x1) x1 = ix;
            if (iy < y0) y0 = iy;
            if (iy > y1) y1 = iy;
        }
    }
    if (x1 < 0) { /* nothing of the source in the window */
        for (int k = 0; k < nvars; k++)
            for (size_t p = 0; p < n; p++) outs[k][p] = NAN;
        return 0;
    }
    size_t ww = (size_t)(x1 - x0 + 1), wh = (size_t)(y1 - y0 + 1);
    if (ww * wh > (size_t)16 * n + 65536) return 1; /* a sparse or wrapped sampling: let GDAL chunk it */
    if (c->window_cap < ww * wh) {
        free(c->window);
        c->window = nd_xmalloc(ww * wh * sizeof *c->window);
        c->window_cap = ww * wh;
    }
    /* pass 2, per band: one RasterIO of the window, then a gather with nodata -> NaN and scale/offset */
    for (int k = 0; k < nvars; k++) {
        GDALRasterBandH b = GDALGetRasterBand(src, bands[k]);
        if (nc) nd_nc_lock();
        CPLErr e = GDALRasterIO(b, GF_Read, x0, y0, (int)ww, (int)wh, c->window, (int)ww, (int)wh, GDT_Float32, 0, 0);
        if (nc) nd_nc_unlock();
        if (e != CE_None) return nd_fail(err, ND_E_IO, "", "cannot read the data");
        int has = 0;
        double nd = GDALGetRasterNoDataValue(b, &has);
        bool scaled = vars[k]->scale != 1.0 || vars[k]->offset != 0.0;
        double sc = vars[k]->scale, of = vars[k]->offset;
        float *out = outs[k];
        const int *idx = c->index;
        for (size_t p = 0; p < n; p++) {
            int iy = idx[2 * p + 1];
            float v = NAN;
            if (iy >= 0) {
                v = c->window[(size_t)(iy - y0) * ww + (size_t)(idx[2 * p] - x0)];
                if (is_nodata(v, nd, has != 0)) v = NAN;
                else if (scaled) v = (float)((double)v * sc + of);
            }
            out[p] = v;
        }
    }
    return 0;
}

int nd_read_warped_bands(const nd_dataset *ds, const nd_variable *const *vars, int nvars, size_t time_index,
                         size_t z_index, const nd_grid *dst, nd_resampling rs, float *const *outs, nd_error *err) {
    if (dst->width <= 0 || dst->height <= 0 || (long)dst->width * dst->height > MAX_PIXELS)
        return nd_fail(err, ND_E_TOO_LARGE, "", "target grid %dx%d out of range", dst->width, dst->height);
    if (nvars < 1 || nvars > 8) return nd_fail(err, ND_E_INTERNAL, "", "1 to 8 bands at a time");
    nd_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    thread_cache *c = cache_get();
    int rc = 0, bands[8];
    GDALDatasetH mem = NULL;
    void *approx = NULL;
    GDALWarpOptions *wo = NULL;
    GDALWarpOperationH op = NULL;
    char name[4200];
    size_t n = (size_t)dst->width * (size_t)dst->height;
    for (int k = 0; k < nvars; k++) {
        char other[4200];
        if ((rc = slice_name(c, ds, vars[k], time_index, z_index, k ? other : name, sizeof name, &bands[k], err)) < 0)
            goto out;
        if (k && strcmp(other, name) != 0) {
            rc = nd_fail(err, ND_E_INTERNAL, "", "bands warped together must share a file");
            goto out;
        }
    }
    if (!target_srs(c, dst->crs)) {
        rc = nd_fail(err, ND_E_INVALID_CRS, "crs", "unknown coordinate reference system");
        goto out;
    }
    source_slot *full = source_get(c, name, -1, err);
    void *xf = full ? transformer_get(full, dst->crs, ds->crs_wkt) : NULL;
    if (!xf) {
        rc = full ? nd_fail(err, ND_E_INVALID_CRS, "crs", "no transformation to the requested CRS") : -(int)err->code;
        goto out;
    }
    for (int k = 0; k < nvars; k++)
        if (bands[k] < 1 || bands[k] > GDALGetRasterCount(full->ds)) {
            rc = nd_fail(err, ND_E_INTERNAL, "", "band %d not in the source", bands[k]);
            goto out;
        }
    GDALSetGenImgProjTransformerDstGeoTransform(xf, dst->gt);
    int ovr = pick_overview(full->ds, xf, dst);
    source_slot *src = full;
    if (ovr >= 0) {
        src = source_get(c, name, ovr, err);
        full = NULL; /* the slot array may have been reused */
        xf = src ? transformer_get(src, dst->crs, ds->crs_wkt) : NULL;
        if (!xf) {
            rc = src ? nd_fail(err, ND_E_IO, "", "cannot read the overview") : -(int)err->code;
            goto out;
        }
        GDALSetGenImgProjTransformerDstGeoTransform(xf, dst->gt);
    }
    /* What gdalwarp does: approximate transformer (0.125 pixel), source nodata honoured, NaN elsewhere. */
    approx = GDALCreateApproxTransformer(GDALGenImgProjTransform, xf, 0.125);
    if (rs == ND_RESAMPLE_NEAREST) {
        int fr = nearest_fast(c, src->ds, is_nc(src->key), approx, bands, vars, nvars, dst, outs, err);
        if (fr <= 0) { /* done (values scaled), or failed */
            rc = fr;
            goto out;
        }
    }
    for (int k = 0; k < nvars; k++)
        for (size_t i = 0; i < n; i++) outs[k][i] = NAN;
    /* The target is a MEM dataset over the caller's buffers: no copy, no allocation of pixels. */
    mem = GDALCreate(GDALGetDriverByName("MEM"), "", dst->width, dst->height, 0, GDT_Float32, NULL);
    for (int k = 0; mem && k < nvars; k++) {
        char ptr[64];
        snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", (void *)outs[k]);
        char *bopts[] = {ptr, NULL};
        if (GDALAddBand(mem, GDT_Float32, bopts) != CE_None) {
            GDALClose(mem);
            mem = NULL;
        }
    }
    if (!mem) {
        rc = nd_fail(err, ND_E_INTERNAL, "", "cannot create the target grid");
        goto out;
    }
    GDALSetGeoTransform(mem, (double *)dst->gt);
    wo = GDALCreateWarpOptions();
    wo->hSrcDS = src->ds;
    wo->hDstDS = mem;
    wo->nBandCount = nvars;
    wo->panSrcBands = CPLMalloc(sizeof(int) * (size_t)nvars);
    wo->panDstBands = CPLMalloc(sizeof(int) * (size_t)nvars);
    wo->padfDstNoDataReal = CPLMalloc(sizeof(double) * (size_t)nvars);
    bool any_nodata = false;
    double srcnd[8];
    for (int k = 0; k < nvars; k++) {
        wo->panSrcBands[k] = bands[k];
        wo->panDstBands[k] = k + 1;
        wo->padfDstNoDataReal[k] = NAN;
        int has = 0;
        srcnd[k] = GDALGetRasterNoDataValue(GDALGetRasterBand(src->ds, bands[k]), &has);
        if (has) any_nodata = true;
        else srcnd[k] = NAN; /* a band without nodata: NaN, which no stored value equals */
    }
    if (any_nodata) {
        wo->padfSrcNoDataReal = CPLMalloc(sizeof(double) * (size_t)nvars);
        memcpy(wo->padfSrcNoDataReal, srcnd, sizeof(double) * (size_t)nvars);
    }
    wo->eResampleAlg = rs == ND_RESAMPLE_BILINEAR ? GRA_Bilinear
                       : rs == ND_RESAMPLE_CUBIC  ? GRA_Cubic
                       : rs == ND_RESAMPLE_AVERAGE ? GRA_Average
                                                   : GRA_NearestNeighbour;
    wo->pfnTransformer = GDALApproxTransform;
    wo->pTransformerArg = approx;
    wo->papszWarpOptions = CSLSetNameValue(NULL, "INIT_DEST", "NO_DATA");
    op = GDALCreateWarpOperation(wo);
    bool nc = is_nc(src->key);
    if (nc) nd_nc_lock();
    CPLErr werr = op ? GDALChunkAndWarpImage(op, 0, 0, dst->width, dst->height) : CE_Failure;
    if (nc) nd_nc_unlock();
    if (werr != CE_None) {
        rc = nd_fail(err, ND_E_IO, "", "warping failed: %.200s", CPLGetLastErrorMsg());
        goto out;
    }
    GDALFlushCache(mem);
    for (int k = 0; k < nvars; k++) {
        const nd_variable *v = vars[k];
        if (v->scale != 1.0 || v->offset != 0.0)
            for (size_t i = 0; i < n; i++)
                if (!isnan(outs[k][i])) outs[k][i] = (float)((double)outs[k][i] * v->scale + v->offset);
    }
out:
    /* Big maps (up to 4096x4096) must not leave their buffers to every thread: only tile-sized ones stay. */
    if (c->index_cap > 2u * 1024 * 1024) {
        free(c->index);
        c->index = NULL;
        c->index_cap = 0;
    }
    if (c->window_cap > 4u * 1024 * 1024) {
        free(c->window);
        c->window = NULL;
        c->window_cap = 0;
    }
    if (op) GDALDestroyWarpOperation(op);
    if (wo) {
        wo->pTransformerArg = NULL;
        GDALDestroyWarpOptions(wo);
    }
    if (approx) GDALDestroyApproxTransformer(approx);
    if (mem) GDALClose(mem);
    CPLPopErrorHandler();
    return rc;
}

int nd_read_warped(const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index,
                   const nd_grid *dst, nd_resampling rs, float *out, nd_error *err) {
    const nd_variable *vars[1] = {v};
    float *outs[1] = {out};
    return nd_read_warped_bands(ds, vars, 1, time_index, z_index, dst, rs, outs, err);
}

int nd_read_stats(const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index, double out[4],
                  nd_error *err) {
    nd_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    thread_cache *c = cache_get();
    char name[4200];
    int band = 1;
    source_slot *slot = NULL;
    int rc = slice_name(c, ds, v, time_index, z_index, name, sizeof name, &band, err);
    if (rc == 0 && !(slot = source_get(c, name, -1, err))) rc = -(int)err->code;
    GDALDatasetH src = rc == 0 ? slot->ds : NULL;
    if (src && (band < 1 || band > GDALGetRasterCount(src))) {
        rc = nd_fail(err, ND_E_INTERNAL, "", "band out of range");
        src = NULL;
    }
    /* A decimated read (GDAL picks overviews) of at most 512x512: enough for a colour range, and unlike
     * GDALComputeRasterStatistics it leaves no .aux.xml next to the data. */
    enum { SIDE = 512 };
    float *buf = NULL;
    size_t nvalid = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0, sum2 = 0;
    if (src) {
        GDALRasterBandH b = GDALGetRasterBand(src, band);
        int w = GDALGetRasterXSize(src), h = GDALGetRasterYSize(src);
        int bw = w < SIDE ? w : SIDE, bh = h < SIDE ? h : SIDE;
        buf = nd_xmalloc((size_t)bw * (size_t)bh * sizeof *buf);
        int has = 0;
        double nd = GDALGetRasterNoDataValue(b, &has);
        if (is_nc(name)) nd_nc_lock();
        CPLErr e = GDALRasterIO(b, GF_Read, 0, 0, w, h, buf, bw, bh, GDT_Float32, 0, 0);
        if (is_nc(name)) nd_nc_unlock();
        if (e != CE_None) {
            rc = nd_fail(err, ND_E_IO, "", "cannot read the data");
        } else {
            for (size_t i = 0; i < (size_t)bw * (size_t)bh; i++) {
                double x = buf[i];
                if (isnan(x) || (has && (x == nd || (float)x == (float)nd))) continue;
                x = x * v->scale + v->offset;
                lo = x < lo ? x : lo;
                hi = x > hi ? x : hi;
                sum += x;
                sum2 += x * x;
                nvalid++;
            }
            if (!nvalid) rc = nd_fail(err, ND_E_IO, "", "no valid values");
        }
    }
    free(buf);
    CPLPopErrorHandler();
    if (rc < 0) return rc;
    out[0] = lo;
    out[1] = hi;
    out[2] = sum / (double)nvalid;
    double var = sum2 / (double)nvalid - out[2] * out[2];
    out[3] = var > 0 ? sqrt(var) : 0;
    return 0;
}
