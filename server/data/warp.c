/* Windows of a variable resampled onto a target grid with GDAL's warper (the gdalwarp code path), through
 * a per-thread cache of open GDAL handles so a request does not reopen files. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <ogr_srs_api.h>

#include "nadir/arena.h"
#include "nadir/read.h"
#include "nadir/warp.h"

#define CACHE_SLOTS 48   /* open sources per thread: a month of daily files plus the rasters */
#define SRS_SLOTS 16     /* target CRSs per thread */
#define MAX_PIXELS (16384L * 16384L)

/* A single-band view of one band of one file: GDAL 3.6's GDALWarp() has no band selection, so the band
 * is wrapped in a VRT (which also exposes the file's overviews, as gdalwarp would use them). */
typedef struct {
    char *key;               /* GDAL name + "#" + band */
    GDALDatasetH src, vrt;
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
} thread_cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void slot_close(source_slot *s) {
    if (s->vrt) GDALClose(s->vrt);
    if (s->src) GDALClose(s->src);
    free(s->key);
    memset(s, 0, sizeof *s);
}

static void cache_destroy(void *p) {
    thread_cache *c = p;
    if (!c) return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) slot_close(&c->src[i]);
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
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    if (OSRSetFromUserInput(srs, crs) != OGRERR_NONE) {
        OSRDestroySpatialReference(srs);
        return NULL;
    }
    /* x = easting/longitude in the geotransform, whatever the authority's axis order. */
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
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

/* The single-band source for (name, band), opened on first use in this thread. */
static GDALDatasetH source_get(thread_cache *c, const char *name, int band, const char *crs_wkt, nd_error *err) {
    char key[4200];
    snprintf(key, sizeof key, "%s#%d", name, band);
    source_slot *lru = &c->src[0];
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        source_slot *s = &c->src[i];
        if (s->key && strcmp(s->key, key) == 0) {
            s->used = ++c->clock;
            return s->vrt;
        }
        if (!s->key || (lru->key && s->used < lru->used)) lru = s;
    }
    slot_close(lru);
    GDALDatasetH src = GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_READONLY | GDAL_OF_VERBOSE_ERROR, NULL, NULL, NULL);
    if (!src) {
        nd_fail(err, ND_E_IO, "", "cannot open the data source");
        return NULL;
    }
    if (band < 1 || band > GDALGetRasterCount(src)) {
        GDALClose(src);
        nd_fail(err, ND_E_INTERNAL, "", "band %d not in the source (%d bands)", band, GDALGetRasterCount(src));
        return NULL;
    }
    char bs[16];
    snprintf(bs, sizeof bs, "%d", band);
    /* CF files with bare lon/lat have no CRS for GDAL: the dataset's own (read from the data) is given. */
    char *argv[] = {"-of", "VRT", "-b", bs, NULL, NULL, NULL};
    if (!GDALGetSpatialRef(src) && crs_wkt) {
        argv[4] = "-a_srs";
        argv[5] = (char *)crs_wkt;
    }
    GDALTranslateOptions *to = GDALTranslateOptionsNew(argv, NULL);
    GDALDatasetH vrt = GDALTranslate("", src, to, NULL);
    GDALTranslateOptionsFree(to);
    if (!vrt) {
        GDALClose(src);
        nd_fail(err, ND_E_IO, "", "cannot select band %d of the data source", band);
        return NULL;
    }
    *lru = (source_slot){nd_xstrdup(key), src, vrt, ++c->clock};
    return vrt;
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

/* Resolves (v, time, z) to a cached single-band source. */
static GDALDatasetH open_slice(thread_cache *c, const nd_dataset *ds, const nd_variable *v, size_t time_index,
                               size_t z_index, nd_error *err) {
    size_t file = 0, local_t = 0;
    if (v->has_time && ds->time) {
        if (time_index >= ds->time->n)
            return nd_fail(err, ND_E_INVALID_DIMENSION, "time", "time index %zu out of range", time_index), NULL;
        file = ds->time->file_index[time_index];
        local_t = ds->time->local_index[time_index];
    }
    if (v->has_vertical && ds->vertical && z_index >= ds->vertical->n)
        return nd_fail(err, ND_E_INVALID_DIMENSION, "elevation", "vertical index %zu out of range", z_index), NULL;
    if (file >= ds->nfiles) return nd_fail(err, ND_E_INTERNAL, "", "file index out of range"), NULL;
    const char *path = ds->files[file];
    if (ds->kind == ND_DS_RASTER) return source_get(c, path, v->band, ds->crs_wkt, err);
    char name[4200];
    snprintf(name, sizeof name, "NETCDF:\"%s\":%s", path, v->name);
    /* The band count is the file's: open (or find) band 1 first, then pick the band. */
    GDALDatasetH first = source_get(c, name, 1, ds->crs_wkt, err);
    if (!first) return NULL;
    source_slot *s = NULL;
    for (size_t i = 0; i < CACHE_SLOTS && !s; i++)
        if (c->src[i].vrt == first) s = &c->src[i];
    int band = netcdf_band(ds, v, local_t, v->has_vertical ? z_index : 0, GDALGetRasterCount(s->src));
    return band == 1 ? first : source_get(c, name, band, ds->crs_wkt, err);
}

int nd_read_warped(const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index,
                   const nd_grid *dst, nd_resampling rs, float *out, nd_error *err) {
    if (dst->width <= 0 || dst->height <= 0 || (long)dst->width * dst->height > MAX_PIXELS)
        return nd_fail(err, ND_E_TOO_LARGE, "", "target grid %dx%d out of range", dst->width, dst->height);
    nd_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    thread_cache *c = cache_get();
    int rc = 0;
    GDALDatasetH mem = NULL;
    GDALDatasetH src = open_slice(c, ds, v, time_index, z_index, err);
    OGRSpatialReferenceH srs = src ? target_srs(c, dst->crs) : NULL;
    if (!src) {
        rc = -(int)err->code;
        goto out;
    }
    if (!srs) {
        rc = nd_fail(err, ND_E_INVALID_CRS, "crs", "unknown coordinate reference system");
        goto out;
    }
    size_t n = (size_t)dst->width * (size_t)dst->height;
    for (size_t i = 0; i < n; i++) out[i] = NAN;
    /* The target is a MEM dataset over the caller's buffer: no copy, no allocation of pixels. */
    GDALDriverH memdrv = GDALGetDriverByName("MEM");
    mem = GDALCreate(memdrv, "", dst->width, dst->height, 0, GDT_Float32, NULL);
    char ptr[64];
    snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", (void *)out);
    char *bopts[] = {ptr, NULL};
    if (!mem || GDALAddBand(mem, GDT_Float32, bopts) != CE_None) {
        rc = nd_fail(err, ND_E_INTERNAL, "", "cannot create the target grid");
        goto out;
    }
    GDALSetGeoTransform(mem, (double *)dst->gt);
    GDALSetSpatialRef(mem, srs);
    char *argv[] = {"-r", (char *)nd_warp_resampling_name(rs), "-dstnodata", "nan", NULL};
    GDALWarpAppOptions *wo = GDALWarpAppOptionsNew(argv, NULL);
    int usage = 0;
    GDALDatasetH srcs[1] = {src};
    GDALDatasetH res = GDALWarp(NULL, mem, 1, srcs, wo, &usage);
    GDALWarpAppOptionsFree(wo);
    if (!res) {
        rc = nd_fail(err, ND_E_IO, "", "warping failed: %.200s", CPLGetLastErrorMsg());
        goto out;
    }
    GDALFlushCache(mem);
    if (v->scale != 1.0 || v->offset != 0.0)
        for (size_t i = 0; i < n; i++)
            if (!isnan(out[i])) out[i] = (float)((double)out[i] * v->scale + v->offset);
out:
    if (mem) GDALClose(mem);
    CPLPopErrorHandler();
    return rc;
}

int nd_read_stats(const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index, double out[4],
                  nd_error *err) {
    nd_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH src = open_slice(cache_get(), ds, v, time_index, z_index, err);
    int rc = src ? 0 : -(int)err->code;
    /* A decimated read (GDAL picks overviews) of at most 512x512: enough for a colour range, and unlike
     * GDALComputeRasterStatistics it leaves no .aux.xml next to the data. */
    enum { SIDE = 512 };
    float *buf = NULL;
    size_t nvalid = 0;
    double lo = INFINITY, hi = -INFINITY, sum = 0, sum2 = 0;
    if (src) {
        GDALRasterBandH b = GDALGetRasterBand(src, 1);
        int w = GDALGetRasterXSize(src), h = GDALGetRasterYSize(src);
        int bw = w < SIDE ? w : SIDE, bh = h < SIDE ? h : SIDE;
        buf = nd_xmalloc((size_t)bw * (size_t)bh * sizeof *buf);
        int has = 0;
        double nd = GDALGetRasterNoDataValue(b, &has);
        if (GDALRasterIO(b, GF_Read, 0, 0, w, h, buf, bw, bh, GDT_Float32, 0, 0) != CE_None) {
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
