/* WCS 2.0 GetCoverage parameters (SUBSET, SUBSETTINGCRS, OUTPUTCRS, the Scaling, Range Subsetting and
 * Interpolation extensions, FORMAT) parsed into an nd_subset, with the exception each mistake deserves. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_error.h>
#include <ogr_srs_api.h>

#include "nadir/wcs.h"

#define MAX_PARAM 1024

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* Quotes are taken off as often as they come (GDAL's driver quotes values that were quoted already). */
static char *unquote(char *s) {
    s = trim(s);
    for (size_t n = strlen(s); n >= 2 && ((s[0] == '"' && s[n - 1] == '"') || (s[0] == '\'' && s[n - 1] == '\''));
         n = strlen(s)) {
        s[n - 1] = '\0';
        s = trim(s + 1);
    }
    return s;
}

int nd_wcs_parse_dim(nd_arena *a, const char *text, nd_wcs_dim *out, nd_error *err) {
    memset(out, 0, sizeof *out);
    if (!text || strlen(text) > MAX_PARAM)
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "A SUBSET is empty or too long");
    char *s = nd_arena_strdup(a, text);
    char *open = strchr(s, '('), *close = strrchr(s, ')');
    if (!open || !close || close < open || *trim(close + 1))
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "A SUBSET must read axis(low,high) or axis(point)");
    *open = '\0';
    *close = '\0';
    char *head = s, *comma = strchr(head, ',');
    if (comma) {
        *comma = '\0';
        out->crs = trim(comma + 1);
    }
    out->axis = trim(head);
    if (!*out->axis) return nd_fail(err, ND_E_INVALID_AXIS_LABEL, "subset", "A SUBSET has no axis label");
    char *body = open + 1, *sep = NULL;
    /* The separating comma is the first one outside quotes. */
    bool q = false;
    for (char *p = body; *p; p++) {
        if (*p == '"') q = !q;
        else if (*p == ',' && !q) {
            sep = p;
            break;
        }
    }
    if (sep) {
        *sep = '\0';
        out->lo = unquote(body);
        out->hi = unquote(sep + 1);
        if (!*out->lo || !*out->hi || strchr(out->hi, ','))
            return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "A trim needs exactly two bounds");
    } else {
        out->slice = true;
        out->lo = out->hi = unquote(body);
        if (!*out->lo || strcmp(out->lo, "*") == 0)
            return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "A slice needs a point");
    }
    return 0;
}

int nd_wcs_crs_code(const char *crs, bool *lonlat) {
    bool ll = false;
    int code = 0;
    if (lonlat) *lonlat = false;
    if (!crs) return 0;
    const char *p;
    if (strcasecmp(crs, "http://www.opengis.net/def/crs/OGC/1.3/CRS84") == 0 || strcasecmp(crs, "CRS:84") == 0 ||
        strcasecmp(crs, "OGC:CRS84") == 0 || strcasecmp(crs, "urn:ogc:def:crs:OGC:1.3:CRS84") == 0)
        code = 4326, ll = true;
    else if (strncasecmp(crs, "EPSG:", 5) == 0) p = crs + 5, code = -1;
    else if (strncasecmp(crs, "urn:ogc:def:crs:EPSG:", 21) == 0) {
        p = strrchr(crs, ':') + 1;
        code = -1;
    } else if (strncasecmp(crs, "http://www.opengis.net/def/crs/EPSG/", 36) == 0 ||
               strncasecmp(crs, "https://www.opengis.net/def/crs/EPSG/", 37) == 0) {
        p = strrchr(crs, '/') + 1;
        code = -1;
    }
    if (code == -1) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        code = (*p && !*end && !errno && v > 0 && v < 1000000) ? (int)v : 0;
    }
    if (code > 0 && code != 4326) {
        /* Only codes PROJ knows count. */
        OGRSpatialReferenceH h = OSRNewSpatialReference(NULL);
        CPLPushErrorHandler(CPLQuietErrorHandler);
        if (OSRImportFromEPSG(h, code) != OGRERR_NONE) code = 0;
        CPLPopErrorHandler();
        OSRDestroySpatialReference(h);
    }
    if (lonlat) *lonlat = ll;
    return code;
}

const char *nd_wcs_crs_uri(nd_arena *a, int epsg) {
    return nd_arena_printf(a, "http://www.opengis.net/def/crs/EPSG/0/%d", epsg);
}

bool nd_wcs_geographic(const nd_dataset *ds) {
    OGRSpatialReferenceH h = OSRNewSpatialReference(NULL);
    bool geo = OSRSetFromUserInput(h, ds->crs_wkt) == OGRERR_NONE && OSRIsGeographic(h);
    OSRDestroySpatialReference(h);
    return geo;
}

const char *nd_wcs_x_label(const nd_dataset *ds) { return nd_wcs_geographic(ds) ? "Long" : "E"; }
const char *nd_wcs_y_label(const nd_dataset *ds) { return nd_wcs_geographic(ds) ? "Lat" : "N"; }

enum { AX_UNKNOWN, AX_X, AX_Y, AX_T, AX_Z };

/* Which axis a label names; geo tells whether it was a latitude/longitude label. */
static int axis_of(const nd_dataset *ds, const char *label, bool *geo) {
    static const char *const xs[] = {"Long", "Lon", "Longitude", "x", "E", "i", "Easting",
                                     "http://www.opengis.net/def/axis/OGC/1/i", NULL};
    static const char *const ys[] = {"Lat", "Latitude", "y", "N", "j", "Northing",
                                     "http://www.opengis.net/def/axis/OGC/1/j", NULL};
    static const char *const ts[] = {"time", "t", "ansi", "date", "unix", NULL};
    static const char *const zs[] = {"elevation", "z", "height", "depth", "level", NULL};
    *geo = strncasecmp(label, "Lat", 3) == 0 || strncasecmp(label, "Lon", 3) == 0;
    for (const char *const *p = xs; *p; p++)
        if (strcasecmp(label, *p) == 0) return AX_X;
    for (const char *const *p = ys; *p; p++)
        if (strcasecmp(label, *p) == 0) return AX_Y;
    if (ds->x_name && strcmp(label, ds->x_name) == 0) return AX_X;
    if (ds->y_name && strcmp(label, ds->y_name) == 0) return AX_Y;
    if (ds->time) {
        if (strcmp(label, ds->time->name) == 0) return AX_T;
        for (const char *const *p = ts; *p; p++)
            if (strcasecmp(label, *p) == 0) return AX_T;
    }
    if (ds->vertical) {
        if (strcmp(label, ds->vertical->name) == 0) return AX_Z;
        for (const char *const *p = zs; *p; p++)
            if (strcasecmp(label, *p) == 0) return AX_Z;
    }
    return AX_UNKNOWN;
}

static bool number(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return false;
    *out = v;
    return true;
}

static int bound(const char *s, double dflt, double *out, nd_error *err) {
    if (strcmp(s, "*") == 0) {
        *out = dflt;
        return 0;
    }
    if (!number(s, out))
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "Subset bound '%.64s' is not a number", s);
    return 0;
}

static int time_dim(const nd_dataset *ds, const nd_wcs_dim *d, nd_subset *s, nd_error *err) {
    nd_datetime lo, hi;
    bool has_lo = strcmp(d->lo, "*") != 0, has_hi = strcmp(d->hi, "*") != 0;
    if ((has_lo && nd_datetime_parse(d->lo, &lo) < 0) || (has_hi && nd_datetime_parse(d->hi, &hi) < 0))
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "Time subset bounds must be ISO 8601 dates");
    if (d->slice) {
        long i = nd_subset_time_index(ds, &lo);
        if (i < 0) return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The time slice is outside the time axis");
        s->t0 = (size_t)i, s->nt = 1;
        return 0;
    }
    if (has_lo && has_hi && nd_datetime_diff_days(&lo, &hi, ds->time->tu.cal) < 0)
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The time subset's lower bound is after its upper bound");
    size_t first, n = nd_subset_time_range(ds, has_lo ? &lo : NULL, has_hi ? &hi : NULL, &first);
    if (!n) return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "No time step lies within the time subset");
    s->t0 = first, s->nt = n;
    return 0;
}

static int z_dim(const nd_dataset *ds, const nd_wcs_dim *d, nd_subset *s, nd_error *err) {
    const nd_vertical_axis *z = ds->vertical;
    double lo, hi, zmin = INFINITY, zmax = -INFINITY;
    for (size_t i = 0; i < z->n; i++) zmin = fmin(zmin, z->values[i]), zmax = fmax(zmax, z->values[i]);
    if (bound(d->lo, zmin, &lo, err) < 0 || bound(d->hi, zmax, &hi, err) < 0) return -1;
    if (d->slice) {
        if (lo < zmin || lo > zmax)
            return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The vertical slice is outside the vertical axis");
        size_t best = 0;
        for (size_t i = 1; i < z->n; i++)
            if (fabs(z->values[i] - lo) < fabs(z->values[best] - lo)) best = i;
        s->z0 = best, s->nz = 1;
        return 0;
    }
    if (lo > hi) return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The vertical subset is inverted");
    size_t first = 0, n = 0;
    for (size_t i = 0; i < z->n; i++)
        if (z->values[i] >= lo && z->values[i] <= hi) {
            if (!n) first = i;
            n++;
        }
    /* Levels are stored monotonic, so the selected ones are contiguous. */
    if (!n) return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "No vertical level lies within the subset");
    s->z0 = first, s->nz = n;
    return 0;
}

/* Canonical user-input form of a CRS parameter for GDAL/PROJ ("EPSG:n", "OGC:CRS84"), or NULL. */
static const char *crs_input(nd_arena *a, const char *crs) {
    bool lonlat;
    int code = nd_wcs_crs_code(crs, &lonlat);
    if (!code) return NULL;
    return lonlat ? "OGC:CRS84" : nd_arena_printf(a, "EPSG:%d", code);
}

static bool is_subset_key(const char *k) {
    if (strncasecmp(k, "SUBSET", 6) != 0) return false;
    for (k += 6; *k; k++)
        if (!isdigit((unsigned char)*k)) return false;
    return true;
}

static int apply_subsets(nd_req *rq, nd_subset *s, nd_error *err) {
    const nd_dataset *ds = s->ds;
    const char *scrs = nd_req_query(rq, "SUBSETTINGCRS");
    const char *wcrs = NULL;
    if (scrs && !(wcrs = crs_input(rq->arena, scrs)))
        return nd_fail(err, ND_E_SUBSETTING_CRS_NOT_SUPPORTED, "subsettingCrs", "Subsetting CRS '%.80s' is not supported",
                       scrs);
    bool seen[5] = {0}, geo_labels = false, native_labels = false;
    for (size_t i = 0; i < rq->query_params.n; i++) {
        const nd_kv *kv = &rq->query_params.items[i];
        if (!is_subset_key(kv->key)) continue;
        /* One axis per SUBSET parameter (09-147 KVP): SUBSET, SUBSET0, SUBSET1... */
        nd_wcs_dim d;
        int rc = nd_wcs_parse_dim(rq->arena, kv->value, &d, err);
        if (rc < 0) return rc;
        /* GDAL's driver sends a subset of its connection string twice (SUBSET0= and subset=): the same subset
         * again is the same request, not a second subset of the axis */
        bool again = false;
        for (size_t j = 0; j < i && !again; j++) {
            nd_wcs_dim e;
            nd_error ignore = {0};
            again = is_subset_key(rq->query_params.items[j].key) &&
                    nd_wcs_parse_dim(rq->arena, rq->query_params.items[j].value, &e, &ignore) == 0 &&
                    strcmp(e.axis, d.axis) == 0 && e.slice == d.slice && strcmp(e.lo, d.lo) == 0 &&
                    strcmp(e.hi, d.hi) == 0 && !e.crs == !d.crs && (!e.crs || strcmp(e.crs, d.crs) == 0);
        }
        if (again) continue;
        bool geo;
        int ax = axis_of(ds, d.axis, &geo);
        if (ax == AX_UNKNOWN)
            return nd_fail(err, ND_E_INVALID_AXIS_LABEL, "subset", "The coverage has no axis '%.64s'", d.axis);
        if (seen[ax]) return nd_fail(err, ND_E_INVALID_AXIS_LABEL, "subset", "Axis '%.64s' is subset twice", d.axis);
        seen[ax] = true;
        if (d.crs) {
            const char *c = crs_input(rq->arena, d.crs);
            if (!c)
                return nd_fail(err, ND_E_SUBSETTING_CRS_NOT_SUPPORTED, "subset", "Subset CRS '%.80s' is not supported",
                               d.crs);
            if (ax == AX_X || ax == AX_Y) wcrs = c;
        }
        if (ax == AX_T) {
            if ((rc = time_dim(ds, &d, s, err)) < 0) return rc;
            continue;
        }
        if (ax == AX_Z) {
            if ((rc = z_dim(ds, &d, s, err)) < 0) return rc;
            continue;
        }
        double lo, hi;
        if (bound(d.lo, -INFINITY, &lo, err) < 0 || bound(d.hi, INFINITY, &hi, err) < 0) return -1;
        if (lo > hi)
            return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "Subset on '%.64s' has its lower bound above its upper",
                           d.axis);
        if (geo) geo_labels = true;
        else if (strcasecmp(d.axis, "i") != 0 && strcasecmp(d.axis, "j") != 0) native_labels = true;
        if (ax == AX_X) s->has_x = true, s->xlo = lo, s->xhi = hi;
        else s->has_y = true, s->ylo = lo, s->yhi = hi;
    }
    /* Time and vertical are grid axes of the coverage: like the horizontal ones, an axis not subset is whole. */
    if (geo_labels && native_labels)
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "Latitude/longitude and projected axes are mixed");
    /* Lat/Long on a projected coverage: the convenience of WGS 84 subsets without SUBSETTINGCRS. */
    if (!wcrs && geo_labels && !nd_wcs_geographic(ds)) wcrs = "OGC:CRS84";
    s->window_crs = wcrs;
    /* Unbounded sides become the extent (in the window's CRS the planner works it out). */
    if (s->has_x && (isinf(s->xlo) || isinf(s->xhi)) && !wcrs) {
        if (isinf(s->xlo)) s->xlo = ds->bbox[0];
        if (isinf(s->xhi)) s->xhi = ds->bbox[2];
    }
    if (s->has_y && (isinf(s->ylo) || isinf(s->yhi)) && !wcrs) {
        if (isinf(s->ylo)) s->ylo = ds->bbox[1];
        if (isinf(s->yhi)) s->yhi = ds->bbox[3];
    }
    if (wcrs && ((s->has_x && (isinf(s->xlo) || isinf(s->xhi))) || (s->has_y && (isinf(s->ylo) || isinf(s->yhi)))))
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "Open-ended subsets need the coverage's own CRS");
    return 0;
}

/* "axis(v),axis(v)" lists of the Scaling extension. */
typedef struct {
    char axis[64];
    char v[64];
} axis_val;

static int axis_list(const char *text, axis_val *out, int max, nd_errcode code, const char *loc, nd_error *err) {
    int n = 0;
    const char *p = text;
    if (strlen(text) > MAX_PARAM) return nd_fail(err, code, loc, "%s is too long", loc);
    while (*p) {
        const char *open = strchr(p, '('), *close = open ? strchr(open, ')') : NULL;
        if (!open || !close || n == max) return nd_fail(err, code, loc, "%s must read axis(value),axis(value)", loc);
        snprintf(out[n].axis, sizeof out[n].axis, "%.*s", (int)(open - p), p);
        snprintf(out[n].v, sizeof out[n].v, "%.*s", (int)(close - open - 1), open + 1);
        n++;
        p = close + 1;
        if (*p == ',') p++;
        else if (*p) return nd_fail(err, code, loc, "%s must read axis(value),axis(value)", loc);
    }
    return n;
}

static int apply_scaling(nd_req *rq, nd_subset *s, nd_error *err) {
    const char *f = nd_req_query(rq, "SCALEFACTOR"), *axes = nd_req_query(rq, "SCALEAXES");
    const char *size = nd_req_query(rq, "SCALESIZE"), *ext = nd_req_query(rq, "SCALEEXTENT");
    if ((f != NULL) + (axes != NULL) + (size != NULL) + (ext != NULL) > 1)
        return nd_fail(err, ND_E_INVALID_PARAM, "scaling", "Give one of SCALEFACTOR, SCALEAXES, SCALESIZE, SCALEEXTENT");
    double v;
    if (f) {
        if (!number(f, &v) || v <= 0 || v > 1e6)
            return nd_fail(err, ND_E_INVALID_SCALE_FACTOR, "scaleFactor", "SCALEFACTOR must be a positive number");
        s->scale_x = s->scale_y = v;
        return 0;
    }
    const char *text = axes ? axes : size ? size : ext;
    if (!text) return 0;
    nd_errcode code = axes ? ND_E_INVALID_SCALE_FACTOR : ND_E_INVALID_EXTENT;
    const char *loc = axes ? "scaleAxes" : size ? "scaleSize" : "scaleExtent";
    axis_val av[8];
    int n = axis_list(text, av, 8, code, loc, err);
    if (n < 0) return n;
    for (int i = 0; i < n; i++) {
        bool geo;
        int ax = axis_of(s->ds, av[i].axis, &geo);
        if (ax == AX_UNKNOWN)
            return nd_fail(err, ND_E_INVALID_AXIS_LABEL, loc, "The coverage has no axis '%.64s'", av[i].axis);
        if (axes) {
            if (!number(av[i].v, &v) || v <= 0 || v > 1e6)
                return nd_fail(err, code, loc, "Scale factors must be positive numbers");
            if (ax == AX_X) s->scale_x = v;
            else if (ax == AX_Y) s->scale_y = v;
            else if (v != 1) return nd_fail(err, code, loc, "Only the horizontal axes can be scaled");
            continue;
        }
        double sz;
        if (size) {
            if (!number(av[i].v, &sz) || sz < 1 || sz != floor(sz) || sz > (1 << 20))
                return nd_fail(err, code, loc, "Sizes must be whole numbers from 1 to 1048576");
        } else {
            char lo[64], *colon = strchr(av[i].v, ':');
            double a, b;
            if (!colon) return nd_fail(err, code, loc, "SCALEEXTENT must read axis(low:high)");
            snprintf(lo, sizeof lo, "%.*s", (int)(colon - av[i].v), av[i].v);
            if (!number(lo, &a) || !number(colon + 1, &b) || a != floor(a) || b != floor(b) || b < a ||
                b - a >= (1 << 20))
                return nd_fail(err, code, loc, "SCALEEXTENT bounds must be whole numbers, low <= high");
            sz = b - a + 1;
        }
        if (ax == AX_X) s->width = (int)sz;
        else if (ax == AX_Y) s->height = (int)sz;
        else if (sz != 1) return nd_fail(err, code, loc, "Only the horizontal axes can be scaled");
    }
    return 0;
}

static const nd_variable *field(const nd_subset *s, const char *name) {
    const nd_variable *v = nd_dataset_var(s->ds, name);
    if (v) return v;
    char *end;
    long i = strtol(name, &end, 10); /* 1-based indexes, as MapServer takes them */
    if (*name && !*end && i >= 1 && (size_t)i <= s->ds->nvars) return &s->ds->vars[i - 1];
    return NULL;
}

static int apply_range(nd_req *rq, nd_subset *s, nd_error *err) {
    const char *r = nd_req_query(rq, "RANGESUBSET");
    if (!r || !*r) return 0;
    if (strlen(r) > MAX_PARAM) return nd_fail(err, ND_E_INVALID_PARAM, "rangeSubset", "RANGESUBSET is too long");
    char *copy = nd_arena_strdup(rq->arena, r), *save = NULL;
    s->nvars = 0;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        item = trim(item);
        char *colon = strchr(item, ':');
        const nd_variable *a, *b;
        if (colon) {
            *colon = '\0';
            a = field(s, trim(item));
            b = field(s, trim(colon + 1));
        } else {
            a = b = field(s, item);
        }
        if (!a || !b) return nd_fail(err, ND_E_NO_SUCH_FIELD, "rangeSubset", "The coverage has no field '%.64s'", item);
        size_t ia = (size_t)(a - s->ds->vars), ib = (size_t)(b - s->ds->vars);
        if (ia > ib) return nd_fail(err, ND_E_INVALID_PARAM, "rangeSubset", "Range interval '%.64s' is inverted", item);
        for (size_t k = ia; k <= ib; k++) {
            if (s->nvars == ND_SUBSET_MAX_VARS)
                return nd_fail(err, ND_E_INVALID_PARAM, "rangeSubset", "Too many range components");
            s->vars[s->nvars++] = &s->ds->vars[k];
        }
    }
    if (!s->nvars) return nd_fail(err, ND_E_INVALID_PARAM, "rangeSubset", "RANGESUBSET names no field");
    return 0;
}

bool nd_wcs_interpolation(const char *name, nd_resampling *out) {
    static const struct {
        const char *name;
        nd_resampling r;
    } m[] = {{"nearest-neighbour", ND_RESAMPLE_NEAREST}, {"nearest-neighbor", ND_RESAMPLE_NEAREST},
             {"nearest", ND_RESAMPLE_NEAREST},           {"linear", ND_RESAMPLE_BILINEAR},
             {"bilinear", ND_RESAMPLE_BILINEAR},         {"cubic", ND_RESAMPLE_CUBIC},
             {"bicubic", ND_RESAMPLE_CUBIC},             {"average", ND_RESAMPLE_AVERAGE}};
    const char *prefix = "http://www.opengis.net/def/interpolation/OGC/1/";
    if (strncasecmp(name, prefix, strlen(prefix)) == 0) name += strlen(prefix);
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (strcasecmp(name, m[i].name) == 0) {
            *out = m[i].r;
            return true;
        }
    return false;
}

bool nd_wcs_format(const char *fmt, nd_out_format *out) {
    if (!fmt || !*fmt) {
        *out = ND_OUT_GTIFF;
        return true;
    }
    char f[128];
    size_t n = 0;
    for (const char *p = fmt; *p && n + 1 < sizeof f; p++)
        if (!isspace((unsigned char)*p)) f[n++] = (char)tolower((unsigned char)*p);
    f[n] = '\0';
    if (strncmp(f, "image/tiff", 10) == 0 || strcmp(f, "geotiff") == 0 || strcmp(f, "gtiff") == 0 ||
        strcmp(f, "image/geotiff") == 0) {
        *out = strstr(f, "cog") || strstr(f, "cloud-optimized") ? ND_OUT_COG : ND_OUT_GTIFF;
        return true;
    }
    if (strcmp(f, "application/netcdf") == 0 || strcmp(f, "application/x-netcdf") == 0 || strcmp(f, "netcdf") == 0 ||
        strcmp(f, "application/x-netcdf4") == 0) {
        *out = ND_OUT_NETCDF;
        return true;
    }
    if (strcmp(f, "image/png") == 0 || strcmp(f, "png") == 0) {
        *out = ND_OUT_PNG;
        return true;
    }
    return false;
}

int nd_wcs20_apply(nd_req *rq, nd_subset *s, nd_error *err) {
    int rc = apply_subsets(rq, s, err);
    if (rc == 0) rc = apply_scaling(rq, s, err);
    if (rc == 0) rc = apply_range(rq, s, err);
    if (rc < 0) return rc;
    const char *ocrs = nd_req_query(rq, "OUTPUTCRS");
    if (ocrs && !(s->out_crs = crs_input(rq->arena, ocrs)))
        return nd_fail(err, ND_E_OUTPUT_CRS_NOT_SUPPORTED, "outputCrs", "Output CRS '%.80s' is not supported", ocrs);
    const char *interp = nd_req_query(rq, "INTERPOLATION");
    if (interp && !nd_wcs_interpolation(interp, &s->resampling))
        return nd_fail(err, ND_E_INTERPOLATION_NOT_SUPPORTED, "interpolation", "Interpolation '%.80s' is not supported",
                       interp);
    const char *fmt = nd_req_query(rq, "FORMAT");
    if (!nd_wcs_format(fmt, &s->format))
        return nd_fail(err, ND_E_INVALID_PARAM, "format", "Format '%.80s' is not offered", fmt);
    const char *media = nd_req_query(rq, "MEDIATYPE");
    if (media && strcasecmp(media, "multipart/related") != 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "mediaType", "MEDIATYPE must be multipart/related");
    return 0;
}
