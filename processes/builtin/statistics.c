/* `statistics`: count/mean/min/max/std of a variable over a bounding box, for the whole time range or
 * as a time series; values come through nd_read_hyperslab so every dataset kind is read the same way. */
#include <gdal.h>
#include <math.h>
#include <netcdf.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "nadir/read.h"

static const char *const cpu[] = {"cpu", NULL};
static const char *const json_fmt[] = {"application/json", NULL};

static const nd_io inputs[] = {
    {.id = "dataset", .title = "Dataset", .description = "The id of a dataset of this server.",
     .type = ND_IO_DATASET, .min_occurs = 1, .max_occurs = 1},
    {.id = "variable", .title = "Variable", .description = "The variable (band) to summarise.",
     .type = ND_IO_STRING, .min_occurs = 1, .max_occurs = 1, .max_bytes = 256},
    {.id = "bbox", .title = "Bounding box", .description = "Area in longitude/latitude (CRS84); default: all.",
     .type = ND_IO_BBOX, .max_occurs = 1},
    {.id = "timeseries", .title = "Time series", .description = "One entry per time step instead of one in all.",
     .type = ND_IO_BOOLEAN, .def = "false", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "statistics", .title = "Statistics", .description = "count, mean, min, max, std (JSON).",
     .type = ND_IO_COMPLEX, .formats = json_fmt},
};

typedef struct acc {
    size_t n;
    double sum, sum2, min, max;
} acc;

static void acc_add(acc *a, double v) {
    if (a->n == 0 || v < a->min) a->min = v;
    if (a->n == 0 || v > a->max) a->max = v;
    a->n++;
    a->sum += v;
    a->sum2 += v * v;
}

static json_t *acc_json(const acc *a) {
    if (a->n == 0) return json_pack("{s:i, s:n, s:n, s:n, s:n}", "count", 0, "mean", "min", "max", "std");
    double mean = a->sum / (double)a->n;
    double var = a->sum2 / (double)a->n - mean * mean;
    return json_pack("{s:I, s:f, s:f, s:f, s:f}", "count", (json_int_t)a->n, "mean", mean, "min", a->min, "max",
                     a->max, "std", sqrt(var > 0 ? var : 0));
}

/* One stored value as a double, whatever its type; NaN for types we do not summarise. */
static double value_at(const nd_variable *v, const void *buf, size_t i) {
    if (v->band) {
        switch ((GDALDataType)v->gdal_type) {
        case GDT_Byte: return ((const unsigned char *)buf)[i];
        case GDT_UInt16: return ((const unsigned short *)buf)[i];
        case GDT_Int16: return ((const short *)buf)[i];
        case GDT_UInt32: return ((const unsigned *)buf)[i];
        case GDT_Int32: return ((const int *)buf)[i];
        case GDT_Float32: return ((const float *)buf)[i];
        case GDT_Float64: return ((const double *)buf)[i];
        default: return NAN;
        }
    }
    switch (v->nc_type) {
    case NC_BYTE: return ((const signed char *)buf)[i];
    case NC_UBYTE: return ((const unsigned char *)buf)[i];
    case NC_SHORT: return ((const short *)buf)[i];
    case NC_USHORT: return ((const unsigned short *)buf)[i];
    case NC_INT: return ((const int *)buf)[i];
    case NC_UINT: return ((const unsigned *)buf)[i];
    case NC_FLOAT: return ((const float *)buf)[i];
    case NC_DOUBLE: return ((const double *)buf)[i];
    case NC_INT64: return (double)((const long long *)buf)[i];
    case NC_UINT64: return (double)((const unsigned long long *)buf)[i];
    default: return NAN;
    }
}

/* Cell centres along one axis: the stored coordinates, or the geotransform. */
static double centre(const nd_dataset *ds, int axis, size_t i) {
    if (axis == 0) return ds->x_values ? ds->x_values[i] : ds->geotransform[0] + (i + 0.5) * ds->geotransform[1];
    return ds->y_values ? ds->y_values[i] : ds->geotransform[3] + (i + 0.5) * ds->geotransform[5];
}

/* The index range [*lo, *hi] of cells whose centres lie in [a, b]; false when none. */
static bool index_range(const nd_dataset *ds, int axis, double a, double b, size_t *lo, size_t *hi) {
    size_t n = axis == 0 ? ds->width : ds->height;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        double c = centre(ds, axis, i);
        if (c < a || c > b) continue;
        if (!any) *lo = i;
        *hi = i;
        any = true;
    }
    return any;
}

/* The CRS84 box in the dataset's native CRS (the envelope of its transformed edges). */
static int native_box(const nd_dataset *ds, const double in[4], double out[4], nd_error *err) {
    if (ds->epsg == 4326 || !ds->crs_wkt) {
        memcpy(out, in, 4 * sizeof *out);
        return 0;
    }
    OGRSpatialReferenceH src = OSRNewSpatialReference(NULL), dst = OSRNewSpatialReference(ds->crs_wkt);
    OSRSetWellKnownGeogCS(src, "WGS84");
    OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(dst, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, dst);
    int rc = 0;
    if (!ct) {
        rc = nd_fail(err, ND_E_INVALID_CRS, "bbox", "the bounding box cannot be transformed to the dataset's CRS");
    } else {
        double xs[84], ys[84];
        int k = 0;
        for (int i = 0; i <= 20; i++) {
            double f = i / 20.0;
            xs[k] = in[0] + f * (in[2] - in[0]), ys[k++] = in[1];
            xs[k] = in[0] + f * (in[2] - in[0]), ys[k++] = in[3];
            xs[k] = in[0], ys[k++] = in[1] + f * (in[3] - in[1]);
            xs[k] = in[2], ys[k++] = in[1] + f * (in[3] - in[1]);
        }
        int ok[84];
        OCTTransformEx(ct, k, xs, ys, NULL, ok);
        out[0] = out[1] = INFINITY;
        out[2] = out[3] = -INFINITY;
        for (int i = 0; i < k; i++) {
            if (!ok[i]) continue;
            out[0] = fmin(out[0], xs[i]), out[2] = fmax(out[2], xs[i]);
            out[1] = fmin(out[1], ys[i]), out[3] = fmax(out[3], ys[i]);
        }
        if (!isfinite(out[0])) rc = nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the bounding box is outside the CRS");
        OCTDestroyCoordinateTransformation(ct);
    }
    OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(dst);
    return rc;
}

static int summarise(nd_kernel_env *env, const nd_dataset *ds, const nd_variable *v, const json_t *in, json_t *out,
                     nd_error *err) {
    if (v->ndims < 2) return nd_fail(err, ND_E_INVALID_PARAM, "variable", "the variable has no horizontal grid");
    size_t x0 = 0, x1 = ds->width - 1, y0 = 0, y1 = ds->height - 1;
    const json_t *bbox = json_object_get(json_object_get(in, "bbox"), "bbox");
    if (bbox) {
        double b[4], nb[4] = {0};
        for (int i = 0; i < 4; i++) b[i] = json_number_value(json_array_get(bbox, (size_t)i));
        if (native_box(ds, b, nb, err) < 0) return -(int)err->code;
        if (!index_range(ds, 0, nb[0], nb[2], &x0, &x1) || !index_range(ds, 1, nb[1], nb[3], &y0, &y1))
            return nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the bounding box holds no cell of the dataset");
    }
    int td = -1;
    for (int k = 0; ds->time && k < v->ndims; k++)
        if (strcmp(v->dims[k], ds->time->name) == 0) td = k;
    size_t nt = td >= 0 ? v->shape[td] : 1;
    size_t start[16] = {0}, count[16];
    ptrdiff_t stride[16];
    if (v->ndims > 16) return nd_fail(err, ND_E_NOT_IMPLEMENTED, "variable", "too many dimensions");
    for (int k = 0; k < v->ndims; k++) count[k] = 1, stride[k] = 1;
    int yd = v->ndims - 2, xd = v->ndims - 1;
    start[yd] = y0, count[yd] = y1 - y0 + 1;
    start[xd] = x0, count[xd] = x1 - x0 + 1;
    size_t cells = count[yd] * count[xd];
    void *buf = nd_xmalloc(cells * nd_var_type_size(v));
    bool series = json_is_true(json_object_get(in, "timeseries"));
    acc all = {0};
    json_t *steps = json_array();
    int rc = 0;
    for (size_t t = 0; t < nt; t++) {
        if (td >= 0) start[td] = t;
        if ((rc = nd_read_hyperslab(ds, v, start, count, stride, buf, err)) < 0) break;
        acc one = {0};
        for (size_t i = 0; i < cells; i++) {
            double x = value_at(v, buf, i);
            if (isnan(x) || (v->has_fill && x == v->fill)) continue;
            x = x * v->scale + v->offset;
            acc_add(&one, x);
            acc_add(&all, x);
        }
        if (series) {
            json_t *s = acc_json(&one);
            if (td >= 0) {
                char iso[48];
                nd_datetime_format(&ds->time->dates[t], iso, sizeof iso);
                json_object_set_new(s, "time", json_string(iso));
            }
            json_array_append_new(steps, s);
        }
        if (env->progress && env->progress(env, (int)(100 * (t + 1) / nt), "reading")) {
            rc = nd_fail(err, ND_E_UNAVAILABLE, "", "stopped");
            break;
        }
    }
    free(buf);
    if (rc < 0) {
        json_decref(steps);
        return rc;
    }
    json_t *doc = acc_json(&all);
    json_object_set_new(doc, "dataset", json_string(ds->id));
    json_object_set_new(doc, "variable", json_string(v->name));
    if (v->units) json_object_set_new(doc, "units", json_string(v->units));
    json_object_set_new(doc, "window", json_pack("{s:I, s:I, s:I, s:I}", "x0", (json_int_t)x0, "y0", (json_int_t)y0,
                                                 "width", (json_int_t)count[xd], "height", (json_int_t)count[yd]));
    if (series) json_object_set_new(doc, "timeseries", steps);
    else json_decref(steps);
    json_object_set_new(out, "statistics", json_pack("{s:o, s:s}", "value", doc, "mediaType", "application/json"));
    return 0;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    nd_dataset *ds;
    int rc = nd_kernel_open_dataset(env, json_string_value(json_object_get(in, "dataset")), &ds, err);
    if (rc < 0) return rc;
    const nd_variable *v = nd_dataset_var(ds, json_string_value(json_object_get(in, "variable")));
    if (!v) rc = nd_fail(err, ND_E_INVALID_PARAM, "variable", "the dataset has no such variable");
    else rc = summarise(env, ds, v, in, out, err);
    nd_dataset_free(ds);
    return rc;
}

/* The variable must exist and the box must meet the dataset, so a doomed job never starts. */
static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    const nd_dataset *ds = nd_registry_get(lim->datasets, json_string_value(json_object_get(in, "dataset")));
    if (!ds) return 0;
    const nd_variable *v = nd_dataset_var(ds, json_string_value(json_object_get(in, "variable")));
    if (!v || v->ndims < 2)
        return nd_fail(err, ND_E_INVALID_PARAM, "variable", "dataset '%s' has no gridded variable with this name",
                       ds->id);
    const json_t *bbox = json_object_get(json_object_get(in, "bbox"), "bbox");
    if (bbox) {
        double b[4];
        for (int i = 0; i < 4; i++) b[i] = json_number_value(json_array_get(bbox, (size_t)i));
        const double *w = ds->wgs84;
        bool lon_ok = w[0] <= w[2] ? b[0] <= w[2] && b[2] >= w[0] : true; /* crossing 180: not checked here */
        if (!lon_ok || b[1] > w[3] || b[3] < w[1])
            return nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the bounding box does not meet dataset '%s'", ds->id);
    }
    return 0;
}

const nd_process nd_process_statistics = {
    .id = "statistics",
    .title = "Statistics",
    .description = "Count, mean, minimum, maximum and standard deviation of a variable over a bounding box, "
                   "over all time steps or as a time series.",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = cpu,
    .run = run,
    .check = check,
};
