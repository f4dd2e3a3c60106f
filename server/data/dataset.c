/* Datasets: dispatch a configured source to its loader, common CRS/extent handling, and the registry. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "nadir/dataset.h"
#include "nadir/vector.h"

static pthread_once_t gdal_once = PTHREAD_ONCE_INIT;

static void gdal_register(void) { GDALAllRegister(); }

void nd_gdal_init(void) { pthread_once(&gdal_once, gdal_register); }

struct OGRSpatialReferenceHS *nd_srs_new(const char *def) {
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    if (!def) OSRSetWellKnownGeogCS(s, "WGS84");
    else {
        CPLPushErrorHandler(CPLQuietErrorHandler); /* user input: the caller reports the refusal */
        OGRErr e = OSRSetFromUserInput(s, def);
        CPLPopErrorHandler();
        if (e != OGRERR_NONE) {
            OSRDestroySpatialReference(s);
            return NULL;
        }
    }
    OSRSetAxisMappingStrategy(s, OAMS_TRADITIONAL_GIS_ORDER);
    return s;
}

const char *nd_path_base(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* ---- Source kind ---- */

static bool has_netcdf_ext(const char *path) {
    static const char *const exts[] = {".nc", ".nc4", ".cdf", ".netcdf"};
    const char *dot = strrchr(nd_path_base(path), '.');
    if (!dot) return false;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot, exts[i]) == 0) return true;
    return false;
}

bool nd_dataset_is_netcdf(const char *path) {
    if (has_netcdf_ext(path)) return true;
    /* A NetCDF file without the usual extension is still one: classic "CDF\1/2/5", or HDF5 (netCDF-4). */
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    unsigned char m[8] = {0};
    size_t n = fread(m, 1, sizeof m, f);
    fclose(f);
    if (n >= 4 && memcmp(m, "CDF", 3) == 0 && (m[3] == 1 || m[3] == 2 || m[3] == 5)) return true;
    return n == 8 && memcmp(m, "\x89HDF\r\n\x1a\n", 8) == 0;
}

static bool is_glob(const char *s) { return strpbrk(s, "*?[") != NULL; }

/* ---- CRS and the WGS84 bounding box ---- */

/* Longitudes of a geographic grid, as -180..180; a grid spanning the globe is exactly -180..180, one
 * crossing the antimeridian keeps west > east (the OGC/STAC convention) rather than losing its extent. */
static void normalise_lon(double *w, double *e) {
    if (*e - *w >= 360.0 - 1e-6) {
        *w = -180.0;
        *e = 180.0;
        return;
    }
    while (*w >= 180.0) { *w -= 360.0; *e -= 360.0; }
    while (*w < -180.0) { *w += 360.0; *e += 360.0; }
    if (*e > 180.0) *e -= 360.0;
}

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static int wgs84_bounds(OGRSpatialReferenceH src, const double bbox[4], double out[4]) {
    double w = bbox[0], s = bbox[1], e = bbox[2], n = bbox[3];
    bool geographic = OSRIsGeographic(src);
    if (geographic) {
        normalise_lon(&w, &e);
        s = clampd(s, -90.0, 90.0);
        n = clampd(n, -90.0, 90.0);
        /* Global or antimeridian-crossing boxes are already final; datum shifts are far below a cell. */
        if (w >= e || (w == -180.0 && e == 180.0)) {
            out[0] = w, out[1] = s, out[2] = e, out[3] = n;
            return 0;
        }
    }
    OGRSpatialReferenceH dst = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(dst, 4326);
    /* Traditional GIS order on both sides, so x is easting/longitude whatever the authority says. */
    OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, dst);
    int ok = ct && OCTTransformBounds(ct, w, s, e, n, &out[0], &out[1], &out[2], &out[3], 21);
    if (ct) OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(dst);
    return ok ? 0 : -1;
}

static int srs_epsg(OGRSpatialReferenceH srs) {
    const char *auth = OSRGetAuthorityName(srs, NULL);
    const char *code = OSRGetAuthorityCode(srs, NULL);
    if (auth && code && strcasecmp(auth, "EPSG") == 0) return atoi(code);
    /* A CRS built from attributes has no ID; identify it when it matches an EPSG definition. */
    OGRSpatialReferenceH c = OSRClone(srs);
    int epsg = 0;
    if (OSRAutoIdentifyEPSG(c) == OGRERR_NONE) {
        auth = OSRGetAuthorityName(c, NULL);
        code = OSRGetAuthorityCode(c, NULL);
        if (auth && code && strcasecmp(auth, "EPSG") == 0) epsg = atoi(code);
    }
    OSRDestroySpatialReference(c);
    return epsg;
}

int nd_dataset_set_crs(nd_dataset *ds, const char *crs, char *err, size_t errlen) {
    const char *name = ds->nfiles ? nd_path_base(ds->files[0]) : ds->conf->source;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OGRErr e;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    if (strncasecmp(crs, "EPSG:", 5) == 0) {
        e = OSRImportFromEPSG(srs, atoi(crs + 5));
    } else {
        char *p = (char *)crs; /* OSRImportFromWkt advances its own copy of the pointer */
        e = OSRImportFromWkt(srs, &p);
    }
    CPLPopErrorHandler();
    if (e != OGRERR_NONE) {
        snprintf(err, errlen, "%s: cannot read its CRS (%s)", name,
                 *CPLGetLastErrorMsg() ? CPLGetLastErrorMsg() : "unrecognised definition");
        OSRDestroySpatialReference(srs);
        return -1;
    }
    char *wkt = NULL;
    const char *opts[] = {"FORMAT=WKT2_2019", "MULTILINE=NO", NULL};
    CPLPushErrorHandler(CPLQuietErrorHandler);
    e = OSRExportToWktEx(srs, &wkt, opts);
    CPLPopErrorHandler();
    if (e != OGRERR_NONE || !wkt) {
        snprintf(err, errlen, "%s: cannot write its CRS as WKT2", name);
        CPLFree(wkt);
        OSRDestroySpatialReference(srs);
        return -1;
    }
    free(ds->crs_wkt);
    ds->crs_wkt = strdup(wkt);
    CPLFree(wkt);
    ds->epsg = srs_epsg(srs);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int rc = wgs84_bounds(srs, ds->bbox, ds->wgs84);
    CPLPopErrorHandler();
    OSRDestroySpatialReference(srs);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot transform its extent to WGS84", name);
        return -1;
    }
    return 0;
}

/* ---- Freeing ---- */

void nd_variable_clear(nd_variable *v) {
    free(v->name);
    free(v->long_name);
    free(v->standard_name);
    free(v->units);
    for (int i = 0; v->dims && i < v->ndims; i++) free(v->dims[i]);
    free(v->dims);
    free(v->shape);
    memset(v, 0, sizeof *v);
}

void nd_time_axis_free(nd_time_axis *t) {
    if (!t) return;
    free(t->name);
    free(t->values);
    free(t->units);
    free(t->dates);
    free(t->file_index);
    free(t->local_index);
    free(t);
}

static void vertical_free(nd_vertical_axis *z) {
    if (!z) return;
    free(z->name);
    free(z->values);
    free(z->units);
    free(z);
}

static void own_conf_free(nd_dataset_conf *c) {
    if (!c) return;
    free(c->id);
    free(c->title);
    free(c->abstract);
    free(c->source);
    free(c);
}

void nd_dataset_free(nd_dataset *ds) {
    if (!ds) return;
    own_conf_free(ds->own_conf);
    for (size_t i = 0; i < ds->nfiles; i++) free(ds->files[i]);
    free(ds->files);
    free(ds->crs_wkt);
    free(ds->x_name);
    free(ds->y_name);
    free(ds->x_dim);
    free(ds->y_dim);
    free(ds->x_values);
    free(ds->y_values);
    nd_time_axis_free(ds->time);
    vertical_free(ds->vertical);
    nd_vector_free(ds->vector);
    for (size_t i = 0; i < ds->nvars; i++) nd_variable_clear(&ds->vars[i]);
    free(ds->vars);
    free(ds);
}

const nd_variable *nd_dataset_var(const nd_dataset *ds, const char *name) {
    for (size_t i = 0; ds && name && i < ds->nvars; i++)
        if (strcmp(ds->vars[i].name, name) == 0) return &ds->vars[i];
    return NULL;
}

/* ---- Opening ---- */

/* Keeps only the configured variables, in the configured order; naming one that is absent is an error. */
static int select_vars(nd_dataset *ds, const char *name, char *err, size_t errlen) {
    const nd_dataset_conf *c = ds->conf;
    if (c->nvariables == 0 || ds->kind == ND_DS_VECTOR) return 0; /* a vector source's layers: vector.c */
    for (size_t i = 0; i < c->nvariables; i++) {
        if (nd_dataset_var(ds, c->variables[i])) continue;
        size_t off = (size_t)snprintf(err, errlen, "%s: variable '%s' listed in the configuration is not in the data"
                                      " (it has:", name, c->variables[i]);
        for (size_t k = 0; k < ds->nvars && off < errlen; k++)
            off += (size_t)snprintf(err + off, errlen - off, " %s", ds->vars[k].name);
        if (off < errlen) snprintf(err + off, errlen - off, ")");
        return -1;
    }
    nd_variable *keep = calloc(c->nvariables, sizeof *keep);
    if (!keep) return -1;
    for (size_t i = 0; i < c->nvariables; i++) {
        nd_variable *v = (nd_variable *)nd_dataset_var(ds, c->variables[i]);
        if (!v->name) continue; /* listed twice: already moved */
        keep[i] = *v;
        memset(v, 0, sizeof *v);
    }
    size_t n = 0;
    for (size_t i = 0; i < c->nvariables; i++)
        if (keep[i].name) keep[n++] = keep[i];
    for (size_t i = 0; i < ds->nvars; i++) nd_variable_clear(&ds->vars[i]);
    free(ds->vars);
    ds->vars = keep;
    ds->nvars = n;
    return 0;
}

static int load_source(nd_dataset *ds, const char *src, char *err, size_t errlen) {
    if (is_glob(src)) return nd_dataset_load_glob(ds, src, err, errlen);
    struct stat st;
    if (stat(src, &st) != 0) {
        snprintf(err, errlen, "%s: %s", src, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode) && nd_dataset_is_netcdf(src)) return nd_dataset_load_netcdf(ds, src, err, errlen);
    if (nd_dataset_is_vector(src)) return nd_dataset_load_vector(ds, src, err, errlen);
    return nd_dataset_load_raster(ds, src, err, errlen);
}

int nd_dataset_open_in(const nd_dataset_conf *conf, const char *dir, nd_dataset **out, char *err,
                       size_t errlen) {
    *out = NULL;
    if (!conf || !conf->source || !*conf->source) {
        snprintf(err, errlen, "dataset '%s' has no source", conf && conf->id ? conf->id : "?");
        return -1;
    }
    char *src = NULL;
    if (conf->source[0] != '/' && dir && *dir) {
        if (asprintf(&src, "%s/%s", dir, conf->source) < 0) src = NULL;
    } else {
        src = strdup(conf->source);
    }
    nd_dataset *ds = calloc(1, sizeof *ds);
    if (!src || !ds) {
        free(src);
        free(ds);
        snprintf(err, errlen, "%s: out of memory", conf->source);
        return -1;
    }
    ds->conf = conf;
    ds->id = conf->id;
    int rc = load_source(ds, src, err, errlen);
    if (rc == 0) rc = select_vars(ds, is_glob(src) ? src : nd_path_base(src), err, errlen);
    free(src);
    if (rc < 0) {
        nd_dataset_free(ds);
        return -1;
    }
    *out = ds;
    return 0;
}

int nd_dataset_open(const nd_dataset_conf *conf, nd_dataset **out, char *err, size_t errlen) {
    return nd_dataset_open_in(conf, NULL, out, err, errlen);
}

int nd_dataset_open_file(const char *id, const char *title, const char *abstract, const char *path, nd_dataset **out,
                         char *err, size_t errlen) {
    nd_dataset_conf *c = nd_xcalloc(1, sizeof *c);
    c->id = nd_xstrdup(id);
    c->title = nd_xstrdup(title ? title : id);
    c->abstract = abstract ? nd_xstrdup(abstract) : NULL;
    c->source = nd_xstrdup(path);
    if (nd_dataset_open(c, out, err, errlen) < 0) {
        own_conf_free(c);
        return -1;
    }
    (*out)->own_conf = c;
    return 0;
}
