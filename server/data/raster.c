/* GDAL rasters (GeoTIFF, COG, anything GDAL reads): grid, CRS, extents and bands as variables. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "nadir/dataset.h"

__attribute__((format(printf, 4, 5))) static int fail(const char *path, char *err, size_t errlen, const char *fmt,
                                                       ...) {
    int off = snprintf(err, errlen, "%s: ", nd_path_base(path));
    if (off < 0 || (size_t)off >= errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + off, errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return -1;
}

/* Band names become variable names in URLs and DAP: only identifiers qualify. */
static bool is_identifier(const char *s) {
    if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_') return false;
    return true;
}

static char *dup_or_null(const char *s) { return s && *s ? strdup(s) : NULL; }

/* A band's description when it is an identifier no other band uses; else "bandN". */
static char *band_name(GDALDatasetH h, int b, int nbands) {
    const char *d = GDALGetDescription(GDALGetRasterBand(h, b));
    bool ok = is_identifier(d);
    for (int k = 1; ok && k <= nbands; k++)
        if (k != b && strcmp(d, GDALGetDescription(GDALGetRasterBand(h, k))) == 0) ok = false;
    char *name = NULL;
    if (ok) return strdup(d);
    if (asprintf(&name, "band%d", b) < 0) return NULL;
    return name;
}

/* A described band called "band2" on band 1 would clash with band 2's default name; then all are bandN. */
static void dedupe_names(nd_variable *vars, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            if (vars[i].name && vars[k].name && strcmp(vars[i].name, vars[k].name) == 0) goto clash;
    return;
clash:
    for (size_t i = 0; i < n; i++) {
        free(vars[i].name);
        if (asprintf(&vars[i].name, "band%zu", i + 1) < 0) vars[i].name = NULL;
    }
}

static int read_band(GDALDatasetH h, int b, nd_dataset *ds, nd_variable *v) {
    GDALRasterBandH band = GDALGetRasterBand(h, b);
    v->name = band_name(h, b, GDALGetRasterCount(h));
    v->long_name = dup_or_null(GDALGetDescription(band));
    v->units = dup_or_null(GDALGetRasterUnitType(band));
    v->gdal_type = (int)GDALGetRasterDataType(band);
    v->band = b;
    v->ndims = 2;
    v->dims = calloc(2, sizeof *v->dims);
    v->shape = calloc(2, sizeof *v->shape);
    if (!v->name || !v->dims || !v->shape || !(v->dims[0] = strdup(ds->y_dim)) || !(v->dims[1] = strdup(ds->x_dim)))
        return -1;
    v->shape[0] = ds->height;
    v->shape[1] = ds->width;
    int has = 0;
    v->fill = GDALGetRasterNoDataValue(band, &has);
    v->has_fill = has != 0;
    v->scale = GDALGetRasterScale(band, &has);
    if (!has) v->scale = 1.0;
    v->offset = GDALGetRasterOffset(band, &has);
    if (!has) v->offset = 0.0;
    return 0;
}

/* Native bbox from the four corners, so rotated geotransforms are covered too. */
static void corners_bbox(const double gt[6], size_t w, size_t hgt, double bbox[4]) {
    bbox[0] = bbox[1] = INFINITY;
    bbox[2] = bbox[3] = -INFINITY;
    for (int i = 0; i < 4; i++) {
        double px = (i & 1) ? (double)w : 0, py = (i & 2) ? (double)hgt : 0;
        double x = gt[0] + px * gt[1] + py * gt[2], y = gt[3] + px * gt[4] + py * gt[5];
        bbox[0] = fmin(bbox[0], x), bbox[2] = fmax(bbox[2], x);
        bbox[1] = fmin(bbox[1], y), bbox[3] = fmax(bbox[3], y);
    }
}

/* Cell centres along each axis; only meaningful when the geotransform has no rotation. */
static int centre_values(nd_dataset *ds) {
    const double *gt = ds->geotransform;
    if (gt[2] != 0 || gt[4] != 0) return 0;
    ds->x_values = malloc(ds->width * sizeof *ds->x_values);
    ds->y_values = malloc(ds->height * sizeof *ds->y_values);
    if (!ds->x_values || !ds->y_values) return -1;
    for (size_t i = 0; i < ds->width; i++) ds->x_values[i] = gt[0] + ((double)i + 0.5) * gt[1];
    for (size_t j = 0; j < ds->height; j++) ds->y_values[j] = gt[3] + ((double)j + 0.5) * gt[5];
    ds->y_ascending = gt[5] > 0;
    return 0;
}

static int load(GDALDatasetH h, const char *path, nd_dataset *ds, char *err, size_t errlen) {
    int nbands = GDALGetRasterCount(h);
    if (nbands == 0) {
        char **sub = GDALGetMetadata(h, "SUBDATASETS");
        const char *first = sub ? CSLFetchNameValue(sub, "SUBDATASET_1_NAME") : NULL;
        if (first) return fail(path, err, errlen, "has no bands but subdatasets; configure one, e.g. %s", first);
        return fail(path, err, errlen, "has no raster bands");
    }
    ds->width = (size_t)GDALGetRasterXSize(h);
    ds->height = (size_t)GDALGetRasterYSize(h);
    if (GDALGetGeoTransform(h, ds->geotransform) != CE_None)
        return fail(path, err, errlen, "has no geotransform (not georeferenced)");
    OGRSpatialReferenceH srs = GDALGetSpatialRef(h);
    if (!srs) return fail(path, err, errlen, "has no coordinate reference system");
    bool geo = OSRIsGeographic(srs);
    ds->x_name = strdup(geo ? "lon" : "x");
    ds->y_name = strdup(geo ? "lat" : "y");
    ds->x_dim = strdup(ds->x_name);
    ds->y_dim = strdup(ds->y_name);
    ds->regular = true;
    corners_bbox(ds->geotransform, ds->width, ds->height, ds->bbox);
    if (!ds->x_name || !ds->y_name || !ds->x_dim || !ds->y_dim || centre_values(ds) < 0)
        return fail(path, err, errlen, "out of memory");
    char *wkt = NULL;
    const char *opts[] = {"FORMAT=WKT2_2019", "MULTILINE=NO", NULL};
    if (OSRExportToWktEx(srs, &wkt, opts) != OGRERR_NONE || !wkt) {
        CPLFree(wkt);
        return fail(path, err, errlen, "cannot write its CRS as WKT2");
    }
    int rc = nd_dataset_set_crs(ds, wkt, err, errlen);
    CPLFree(wkt);
    if (rc < 0) return rc;
    ds->vars = calloc((size_t)nbands, sizeof *ds->vars);
    if (!ds->vars) return fail(path, err, errlen, "out of memory");
    for (int b = 1; b <= nbands; b++) {
        ds->nvars++;
        if (read_band(h, b, ds, &ds->vars[b - 1]) < 0) return fail(path, err, errlen, "out of memory");
    }
    dedupe_names(ds->vars, ds->nvars);
    return 0;
}

int nd_dataset_load_raster(nd_dataset *ds, const char *path, char *err, size_t errlen) {
    nd_gdal_init();
    ds->kind = ND_DS_RASTER;
    ds->files = calloc(1, sizeof *ds->files);
    if (!ds->files || !(ds->files[0] = realpath(path, NULL))) return fail(path, err, errlen, "cannot resolve its path");
    ds->nfiles = 1;
    /* Quiet: GDAL would print to stderr; its message goes into err instead. */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    GDALDatasetH h = GDALOpenEx(path, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    int rc;
    if (!h) {
        const char *msg = CPLGetLastErrorMsg();
        rc = fail(path, err, errlen, "GDAL cannot open it (%s)", *msg ? msg : "format not recognised");
    } else {
        rc = load(h, path, ds, err, errlen);
        GDALClose(h);
    }
    CPLPopErrorHandler();
    return rc;
}
