/* CF NetCDF files: horizontal grid and CRS, time and vertical axes and data variables, read with netCDF-C. */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <netcdf.h>
#include <ogr_srs_api.h>

#include "nadir/dataset.h"

typedef struct {
    int ncid;
    const char *path, *name;
    char *err;
    size_t errlen;
} nc_ctx;

enum { AX_NONE, AX_X, AX_Y, AX_T, AX_Z };

typedef struct {
    int varid, dimid, role;
    bool geographic; /* lon/lat in degrees, not projected or rotated */
    bool coordinate; /* a CF coordinate variable: its name is its dimension's */
} axis_cand;

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

__attribute__((format(printf, 2, 3))) static int fail(nc_ctx *c, const char *fmt, ...) {
    int off = snprintf(c->err, c->errlen, "%s: ", c->name);
    if (off < 0 || (size_t)off >= c->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + off, c->errlen - (size_t)off, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- Attributes ---- */

static char *att_text(int ncid, int varid, const char *att) {
    nc_type t;
    size_t len;
    if (nc_inq_att(ncid, varid, att, &t, &len) != NC_NOERR) return NULL;
    if (t == NC_CHAR) {
        char *s = malloc(len + 1);
        if (!s || nc_get_att_text(ncid, varid, att, s) != NC_NOERR) {
            free(s);
            return NULL;
        }
        s[len] = '\0';
        return s;
    }
    if (t == NC_STRING && len >= 1) {
        char **arr = calloc(len, sizeof *arr);
        char *s = NULL;
        if (arr && nc_get_att_string(ncid, varid, att, arr) == NC_NOERR) {
            s = arr[0] ? strdup(arr[0]) : NULL;
            nc_free_string(len, arr);
        }
        free(arr);
        return s;
    }
    return NULL;
}

static bool att_num(int ncid, int varid, const char *att, double *out) {
    nc_type t;
    size_t len;
    if (nc_inq_att(ncid, varid, att, &t, &len) != NC_NOERR || len < 1 || t == NC_CHAR || t == NC_STRING)
        return false;
    double *v = malloc(len * sizeof *v);
    bool ok = v && nc_get_att_double(ncid, varid, att, v) == NC_NOERR;
    if (ok) *out = v[0];
    free(v);
    return ok;
}

static bool att_is(int ncid, int varid, const char *att, const char *val) {
    char *s = att_text(ncid, varid, att);
    bool r = s && strcasecmp(s, val) == 0;
    free(s);
    return r;
}

static bool in_list(const char *s, const char *const *list) {
    for (; s && *list; list++)
        if (strcasecmp(s, *list) == 0) return true;
    return false;
}

static void strlist_push(strlist *l, const char *s, size_t n) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = strndup(s, n);
}

static bool strlist_has(const strlist *l, const char *s) {
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] && strcmp(l->v[i], s) == 0) return true;
    return false;
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* ---- Recognising axes (CF-1.x sections 4.1-4.4) ---- */

static const char *const lon_units[] = {"degrees_east", "degree_east", "degree_E", "degrees_E", "degreeE",
                                        "degreesE", NULL};
static const char *const lat_units[] = {"degrees_north", "degree_north", "degree_N", "degrees_N", "degreeN",
                                        "degreesN", NULL};
static const char *const pressure_units[] = {"Pa", "hPa", "kPa", "mbar", "millibar", "millibars", "mb", "bar",
                                             "atm", NULL};
static const char *const vertical_names[] = {"depth", "height", "altitude", "air_pressure",
                                             "height_above_mean_sea_level", NULL};

static bool numeric_type(nc_type t) { return t >= NC_BYTE && t <= NC_UINT64 && t != NC_CHAR; }

static int horizontal_role(const char *axis, const char *sn, const char *units, bool *geo) {
    *geo = false;
    if (in_list(units, lon_units) || (sn && strcmp(sn, "longitude") == 0)) return *geo = true, AX_X;
    if (in_list(units, lat_units) || (sn && strcmp(sn, "latitude") == 0)) return *geo = true, AX_Y;
    if (sn && (strcmp(sn, "projection_x_coordinate") == 0 || strcmp(sn, "grid_longitude") == 0)) return AX_X;
    if (sn && (strcmp(sn, "projection_y_coordinate") == 0 || strcmp(sn, "grid_latitude") == 0)) return AX_Y;
    if (axis && strcasecmp(axis, "X") == 0) return AX_X;
    if (axis && strcasecmp(axis, "Y") == 0) return AX_Y;
    return AX_NONE;
}

static int classify(int ncid, int varid, axis_cand *a) {
    int ndims, dimid;
    nc_type t;
    char name[NC_MAX_NAME + 1], dname[NC_MAX_NAME + 1];
    if (nc_inq_var(ncid, varid, name, &t, &ndims, NULL, NULL) != NC_NOERR || ndims != 1 || !numeric_type(t))
        return AX_NONE;
    nc_inq_vardimid(ncid, varid, &dimid);
    nc_inq_dimname(ncid, dimid, dname);
    char *axis = att_text(ncid, varid, "axis"), *sn = att_text(ncid, varid, "standard_name");
    char *units = att_text(ncid, varid, "units");
    bool geo = false, positive = nc_inq_att(ncid, varid, "positive", NULL, NULL) == NC_NOERR;
    int role = horizontal_role(axis, sn, units, &geo);
    if (role == AX_NONE) {
        if ((axis && strcasecmp(axis, "T") == 0) || (sn && strcmp(sn, "time") == 0) ||
            (units && strstr(units, " since ")))
            role = AX_T;
        else if ((axis && strcasecmp(axis, "Z") == 0) || positive || in_list(sn, vertical_names) ||
                 in_list(units, pressure_units))
            role = AX_Z;
    }
    free(axis);
    free(sn);
    free(units);
    *a = (axis_cand){varid, dimid, role, geo, strcmp(name, dname) == 0};
    return role;
}

/* Variables that describe others (bounds, grid mappings, auxiliary coordinates) are not data. */
static void collect_mentioned(int ncid, int nvars, strlist *out) {
    static const char *const atts[] = {"bounds", "climatology", "grid_mapping", "coordinates"};
    for (int v = 0; v < nvars; v++) {
        for (size_t a = 0; a < sizeof atts / sizeof atts[0]; a++) {
            char *s = att_text(ncid, v, atts[a]);
            for (char *p = s; p && *p;) {
                size_t n = strcspn(p, " \t\n");
                if (n && p[n - 1] == ':') n--; /* CF-1.7 "crs: x y" form of grid_mapping */
                if (n) strlist_push(out, p, n);
                p += strcspn(p, " \t\n");
                p += strspn(p, " \t\n");
            }
            free(s);
        }
    }
}

static bool var_has_dim(int ncid, int varid, int dimid) {
    int ndims, dims[NC_MAX_VAR_DIMS];
    if (nc_inq_varndims(ncid, varid, &ndims) != NC_NOERR || ndims > NC_MAX_VAR_DIMS) return false;
    nc_inq_vardimid(ncid, varid, dims);
    for (int i = 0; i < ndims; i++)
        if (dims[i] == dimid) return true;
    return false;
}

static bool is_data_var(int ncid, int varid, int xdim, int ydim, const strlist *mentioned) {
    char name[NC_MAX_NAME + 1];
    nc_type t;
    int ndims;
    if (nc_inq_var(ncid, varid, name, &t, &ndims, NULL, NULL) != NC_NOERR || ndims < 2 || !numeric_type(t))
        return false;
    if (!var_has_dim(ncid, varid, xdim) || !var_has_dim(ncid, varid, ydim) || strlist_has(mentioned, name))
        return false;
    /* 2-D latitude/longitude fields are auxiliary coordinates even when no variable names them. */
    return !att_is(ncid, varid, "standard_name", "latitude") && !att_is(ncid, varid, "standard_name", "longitude");
}

/* Prefers CF coordinate variables, then the first candidate; for T/Z only axes some data variable spans. */
static const axis_cand *pick(const axis_cand *c, int n, int role, int geo, int not_dim, const int *data, int ndata,
                             int ncid) {
    const axis_cand *best = NULL;
    for (int i = 0; i < n; i++) {
        if (c[i].role != role || (geo >= 0 && c[i].geographic != (bool)geo) || c[i].dimid == not_dim) continue;
        if (data) {
            bool used = false;
            for (int k = 0; k < ndata && !used; k++) used = var_has_dim(ncid, data[k], c[i].dimid);
            if (!used) continue;
        }
        if (!best || (c[i].coordinate && !best->coordinate)) best = &c[i];
    }
    return best;
}

/* ---- Grid ---- */

static double *read_coord(nc_ctx *c, int varid, size_t n) {
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (v && nc_get_var_double(c->ncid, varid, v) != NC_NOERR) {
        free(v);
        return NULL;
    }
    return v;
}

/* Cell size of a one-point axis: from its bounds variable when there is one, else 1 unit. */
static double single_step(nc_ctx *c, int varid) {
    char *b = att_text(c->ncid, varid, "bounds");
    int bid;
    double bv[2] = {0, 1}, step = 1.0;
    if (b && nc_inq_varid(c->ncid, b, &bid) == NC_NOERR && nc_get_var_double(c->ncid, bid, bv) == NC_NOERR &&
        bv[1] != bv[0])
        step = fabs(bv[1] - bv[0]);
    free(b);
    return step;
}

/* Outer edges lo < hi of a monotonic axis. Float coordinates get float-precision slack (at magnitude mag, the
 * largest value as stored) in the regularity test. */
static int axis_edges(nc_ctx *c, const char *what, const double *v, size_t n, int varid, double mag, double *lo,
                      double *hi, bool *ascending, bool *regular) {
    *ascending = true;
    if (n == 0) return fail(c, "%s axis is empty", what);
    if (n == 1) {
        double s = single_step(c, varid);
        *lo = v[0] - s / 2, *hi = v[0] + s / 2;
        return 0;
    }
    double step = (v[n - 1] - v[0]) / (double)(n - 1);
    nc_type t;
    nc_inq_vartype(c->ncid, varid, &t);
    double tol = 1e-6 * fabs(step);
    if (t == NC_FLOAT) tol = fmax(tol, 4 * FLT_EPSILON * fmax(mag, fmax(fabs(v[0]), fabs(v[n - 1]))));
    for (size_t i = 1; i < n; i++) {
        double d = v[i] - v[i - 1];
        if (d == 0 || (d > 0) != (step > 0)) return fail(c, "%s coordinates are not monotonic (at index %zu)", what, i);
        if (fabs(d - step) > tol) *regular = false;
    }
    *ascending = step > 0;
    double first = *regular ? step : v[1] - v[0], last = *regular ? step : v[n - 1] - v[n - 2];
    double a = v[0] - first / 2, b = v[n - 1] + last / 2;
    *lo = fmin(a, b), *hi = fmax(a, b);
    return 0;
}

/* Longitudes stored across the 0/360 seam (359.5, 359.9, 0.1, ...) become monotonic, in -180..180 where they can. */
static void unwrap_lon(double *v, size_t n) {
    bool wrapped = false;
    for (size_t i = 1; i < n; i++) {
        if (v[i] - v[i - 1] < -180) wrapped = true;
        if (wrapped) v[i] += 360;
    }
    if (wrapped && v[0] >= 180)
        for (size_t i = 0; i < n; i++) v[i] -= 360;
}

static int read_grid(nc_ctx *c, nd_dataset *ds, const axis_cand *x, const axis_cand *y) {
    char name[NC_MAX_NAME + 1];
    nc_inq_varname(c->ncid, x->varid, name);
    ds->x_name = strdup(name);
    nc_inq_dimname(c->ncid, x->dimid, name);
    ds->x_dim = strdup(name);
    nc_inq_varname(c->ncid, y->varid, name);
    ds->y_name = strdup(name);
    nc_inq_dimname(c->ncid, y->dimid, name);
    ds->y_dim = strdup(name);
    nc_inq_dimlen(c->ncid, x->dimid, &ds->width);
    nc_inq_dimlen(c->ncid, y->dimid, &ds->height);
    ds->x_values = read_coord(c, x->varid, ds->width);
    ds->y_values = read_coord(c, y->varid, ds->height);
    if (!ds->x_values || !ds->y_values) return fail(c, "cannot read the %s/%s coordinates", ds->x_name, ds->y_name);
    double xmag = 0;
    for (size_t i = 0; i < ds->width; i++) xmag = fmax(xmag, fabs(ds->x_values[i]));
    if (x->geographic) unwrap_lon(ds->x_values, ds->width);
    bool xasc;
    ds->regular = true;
    if (axis_edges(c, ds->x_name, ds->x_values, ds->width, x->varid, xmag, &ds->bbox[0], &ds->bbox[2], &xasc,
                   &ds->regular) < 0 ||
        axis_edges(c, ds->y_name, ds->y_values, ds->height, y->varid, 0, &ds->bbox[1], &ds->bbox[3],
                   &ds->y_ascending, &ds->regular) < 0)
        return -1;
    if (!xasc) return fail(c, "%s decreases (stored east-to-west), which is not supported", ds->x_name);
    /* North-up like GDAL whatever the storage order; y_ascending tells readers to flip rows. */
    ds->geotransform[0] = ds->bbox[0];
    ds->geotransform[1] = (ds->bbox[2] - ds->bbox[0]) / (double)ds->width;
    ds->geotransform[3] = ds->bbox[3];
    ds->geotransform[5] = -(ds->bbox[3] - ds->bbox[1]) / (double)ds->height;
    return 0;
}

/* ---- CRS ---- */

/* GDAL's netCDF driver implements the CF grid_mapping -> CRS mapping (every CF projection), so ask it. */
static char *crs_from_gdal(const char *path, const char *var) {
    nd_gdal_init();
    char *name = NULL;
    if (asprintf(&name, "NETCDF:\"%s\":%s", path, var) < 0) return NULL;
    const char *const drivers[] = {"netCDF", NULL};
    char *out = NULL;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH h = GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, NULL, NULL);
    OGRSpatialReferenceH srs = h ? GDALGetSpatialRef(h) : NULL;
    char *wkt = NULL;
    const char *opts[] = {"FORMAT=WKT2_2019", "MULTILINE=NO", NULL};
    if (srs && OSRExportToWktEx(srs, &wkt, opts) == OGRERR_NONE && wkt) out = strdup(wkt);
    CPLFree(wkt);
    if (h) GDALClose(h);
    CPLPopErrorHandler();
    free(name);
    return out;
}

/* The grid mapping named by the first data variable that has one. */
static int grid_mapping_var(nc_ctx *c, const int *data, int ndata) {
    for (int k = 0; k < ndata; k++) {
        char *gm = att_text(c->ncid, data[k], "grid_mapping");
        if (!gm) continue;
        size_t n = strcspn(gm, " :");
        gm[n] = '\0';
        int id;
        int rc = nc_inq_varid(c->ncid, gm, &id);
        free(gm);
        if (rc == NC_NOERR) return id;
    }
    return -1;
}

static int grid_crs(nc_ctx *c, nd_dataset *ds, bool geographic, const int *data, int ndata) {
    int gm = grid_mapping_var(c, data, ndata);
    char *crs = NULL;
    if (gm < 0) {
        if (!geographic)
            return fail(c, "projected coordinates %s/%s but no grid_mapping variable: the CRS is unknown", ds->x_name,
                        ds->y_name);
        crs = strdup("EPSG:4326");
    } else if (!(crs = att_text(c->ncid, gm, "crs_wkt")) && !(crs = att_text(c->ncid, gm, "spatial_ref"))) {
        char vname[NC_MAX_NAME + 1];
        nc_inq_varname(c->ncid, data[0], vname);
        crs = crs_from_gdal(c->path, vname);
        if (!crs && att_is(c->ncid, gm, "grid_mapping_name", "latitude_longitude")) crs = strdup("EPSG:4326");
        if (!crs) {
            char gname[NC_MAX_NAME + 1];
            nc_inq_varname(c->ncid, gm, gname);
            return fail(c, "cannot build a CRS from grid_mapping variable '%s'", gname);
        }
    }
    int rc = nd_dataset_set_crs(ds, crs, c->err, c->errlen);
    free(crs);
    return rc;
}

/* ---- Time and vertical axes ---- */

static int read_time(nc_ctx *c, nd_dataset *ds, const axis_cand *a) {
    nd_time_axis *t = calloc(1, sizeof *t);
    if (!t) return fail(c, "out of memory");
    ds->time = t;
    char name[NC_MAX_NAME + 1];
    nc_inq_dimname(c->ncid, a->dimid, name);
    t->name = strdup(name);
    nc_inq_dimlen(c->ncid, a->dimid, &t->n);
    t->units = att_text(c->ncid, a->varid, "units");
    char *cal = att_text(c->ncid, a->varid, "calendar");
    int rc = t->units ? nd_time_units_parse(t->units, cal, &t->tu) : -1;
    if (rc < 0) rc = fail(c, "time units '%s' (calendar '%s') not understood", t->units ? t->units : "",
                          cal ? cal : "standard");
    free(cal);
    if (rc < 0) return rc;
    size_t n = t->n ? t->n : 1;
    t->values = read_coord(c, a->varid, t->n);
    t->dates = calloc(n, sizeof *t->dates);
    t->file_index = calloc(n, sizeof *t->file_index);
    t->local_index = calloc(n, sizeof *t->local_index);
    if (!t->values || !t->dates || !t->file_index || !t->local_index) return fail(c, "cannot read %s", name);
    for (size_t i = 0; i < t->n; i++) {
        if (i && !(t->values[i] > t->values[i - 1]))
            return fail(c, "time values are not increasing (index %zu: %g after %g)", i, t->values[i],
                        t->values[i - 1]);
        if (nd_time_decode(&t->tu, t->values[i], &t->dates[i]) < 0)
            return fail(c, "time value %g cannot be decoded with '%s'", t->values[i], t->units);
        t->local_index[i] = (uint32_t)i;
    }
    return 0;
}

static int read_vertical(nc_ctx *c, nd_dataset *ds, const axis_cand *a) {
    nd_vertical_axis *z = calloc(1, sizeof *z);
    if (!z) return fail(c, "out of memory");
    ds->vertical = z;
    char name[NC_MAX_NAME + 1];
    nc_inq_dimname(c->ncid, a->dimid, name);
    z->name = strdup(name);
    nc_inq_dimlen(c->ncid, a->dimid, &z->n);
    z->units = att_text(c->ncid, a->varid, "units");
    z->values = read_coord(c, a->varid, z->n);
    if (!z->values) return fail(c, "cannot read %s", name);
    char *pos = att_text(c->ncid, a->varid, "positive");
    if (pos)
        z->positive_down = strcasecmp(pos, "down") == 0;
    else /* pressure grows downwards, and depth is positive down by its definition */
        z->positive_down = in_list(z->units, pressure_units) || att_is(c->ncid, a->varid, "standard_name", "depth");
    free(pos);
    return 0;
}

/* ---- Data variables ---- */

/* Without _FillValue/missing_value, unwritten cells hold netCDF's default fill (none for bytes), as GDAL assumes. */
static bool default_fill(nc_type t, double *out) {
    switch (t) {
    case NC_SHORT: *out = NC_FILL_SHORT; return true;
    case NC_USHORT: *out = NC_FILL_USHORT; return true;
    case NC_INT: *out = NC_FILL_INT; return true;
    case NC_UINT: *out = NC_FILL_UINT; return true;
    case NC_INT64: *out = (double)NC_FILL_INT64; return true;
    case NC_UINT64: *out = (double)NC_FILL_UINT64; return true;
    case NC_FLOAT: *out = NC_FILL_FLOAT; return true;
    case NC_DOUBLE: *out = NC_FILL_DOUBLE; return true;
    default: return false;
    }
}

static int read_var(nc_ctx *c, nd_dataset *ds, int varid, nd_variable *v) {
    char name[NC_MAX_NAME + 1];
    nc_type t;
    int dims[NC_MAX_VAR_DIMS];
    nc_inq_var(c->ncid, varid, name, &t, &v->ndims, dims, NULL);
    v->name = strdup(name);
    v->nc_type = t;
    v->long_name = att_text(c->ncid, varid, "long_name");
    v->standard_name = att_text(c->ncid, varid, "standard_name");
    v->units = att_text(c->ncid, varid, "units");
    v->dims = calloc((size_t)v->ndims, sizeof *v->dims);
    v->shape = calloc((size_t)v->ndims, sizeof *v->shape);
    if (!v->name || !v->dims || !v->shape) return fail(c, "out of memory");
    for (int i = 0; i < v->ndims; i++) {
        nc_inq_dim(c->ncid, dims[i], name, &v->shape[i]);
        v->dims[i] = strdup(name);
        if (ds->time && strcmp(name, ds->time->name) == 0) v->has_time = true;
        if (ds->vertical && strcmp(name, ds->vertical->name) == 0) v->has_vertical = true;
    }
    v->has_fill = att_num(c->ncid, varid, "_FillValue", &v->fill) ||
                  att_num(c->ncid, varid, "missing_value", &v->fill) || default_fill(t, &v->fill);
    if (!att_num(c->ncid, varid, "scale_factor", &v->scale)) v->scale = 1.0;
    if (!att_num(c->ncid, varid, "add_offset", &v->offset)) v->offset = 0.0;
    return 0;
}

/* ---- The file ---- */

/* Says why a file with only 2-D lat/lon (swath, curvilinear) has no grid for us. */
static bool curvilinear(int ncid, int nvars) {
    for (int v = 0; v < nvars; v++) {
        int ndims;
        char *u = nc_inq_varndims(ncid, v, &ndims) == NC_NOERR && ndims == 2 ? att_text(ncid, v, "units") : NULL;
        bool yes = in_list(u, lat_units) || in_list(u, lon_units);
        free(u);
        if (yes) return true;
    }
    return false;
}

static int find_data_vars(nc_ctx *c, int nvars, const axis_cand *x, const axis_cand *y, int *data) {
    strlist mentioned = {0};
    collect_mentioned(c->ncid, nvars, &mentioned);
    int n = 0;
    for (int v = 0; v < nvars; v++)
        if (is_data_var(c->ncid, v, x->dimid, y->dimid, &mentioned)) data[n++] = v;
    strlist_free(&mentioned);
    return n;
}

static int load(nc_ctx *c, nd_dataset *ds) {
    int nvars;
    if (nc_inq_nvars(c->ncid, &nvars) != NC_NOERR) return fail(c, "cannot list its variables");
    axis_cand *cand = calloc((size_t)nvars + 1, sizeof *cand);
    int *data = calloc((size_t)nvars + 1, sizeof *data);
    int rc = -1, ncand = 0;
    if (!cand || !data) {
        rc = fail(c, "out of memory");
        goto out;
    }
    for (int v = 0; v < nvars; v++)
        if (classify(c->ncid, v, &cand[ncand]) != AX_NONE) ncand++;
    const axis_cand *x = pick(cand, ncand, AX_X, -1, -1, NULL, 0, c->ncid);
    const axis_cand *y = x ? pick(cand, ncand, AX_Y, x->geographic, x->dimid, NULL, 0, c->ncid) : NULL;
    if (!x || !y) {
        rc = fail(c, "no horizontal coordinates found (1-D latitude/longitude or projection x/y variables on "
                     "their own dimensions%s)", curvilinear(c->ncid, nvars) ? "; 2-D latitude/longitude "
                     "(curvilinear grids) are not supported" : "");
        goto out;
    }
    int ndata = find_data_vars(c, nvars, x, y, data);
    if (ndata == 0) {
        rc = fail(c, "no data variable spans both horizontal dimensions");
        goto out;
    }
    const axis_cand *t = pick(cand, ncand, AX_T, -1, -1, data, ndata, c->ncid);
    const axis_cand *z = pick(cand, ncand, AX_Z, -1, -1, data, ndata, c->ncid);
    if (read_grid(c, ds, x, y) < 0 || grid_crs(c, ds, x->geographic, data, ndata) < 0 ||
        (t && read_time(c, ds, t) < 0) || (z && read_vertical(c, ds, z) < 0))
        goto out;
    ds->vars = calloc((size_t)ndata, sizeof *ds->vars);
    if (!ds->vars) goto out;
    for (int k = 0; k < ndata; k++) {
        ds->nvars++; /* counted before filling, so a half-read variable is freed too */
        if (read_var(c, ds, data[k], &ds->vars[k]) < 0) goto out;
    }
    rc = 0;
out:
    free(cand);
    free(data);
    return rc;
}

int nd_dataset_load_netcdf(nd_dataset *ds, const char *path, char *err, size_t errlen) {
    nc_ctx c = {-1, path, nd_path_base(path), err, errlen};
    ds->kind = ND_DS_NETCDF;
    ds->files = calloc(1, sizeof *ds->files);
    if (!ds->files || !(ds->files[0] = realpath(path, NULL))) return fail(&c, "cannot resolve its path");
    ds->nfiles = 1;
    int rc = nc_open(path, NC_NOWRITE, &c.ncid);
    if (rc != NC_NOERR) {
        if (rc == NC_ENOTNC || rc == NC_EHDFERR) return fail(&c, "not a NetCDF file (%s)", nc_strerror(rc));
        return fail(&c, "cannot open (%s)", nc_strerror(rc));
    }
    rc = load(&c, ds);
    nc_close(c.ncid);
    return rc;
}
