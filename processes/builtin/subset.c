/* `subset`: a window of a dataset (variables, bounding box, time range) written as GeoTIFF or
 * NetCDF through data/subset.c, the same code WCS uses; planned (extent, size limit) before a job
 * exists and written by the job. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "builtin.h"
#include "nadir/subset.h"

static const char *const cpu[] = {"cpu", NULL};
static const char *const formats[] = {"geotiff", "netcdf", NULL};
static const char *const out_formats[] = {"image/tiff", "application/netcdf", NULL};

static const nd_io inputs[] = {
    {.id = "dataset", .title = "Dataset", .description = "The id of a dataset of this server.",
     .type = ND_IO_DATASET, .min_occurs = 1, .max_occurs = 1},
    {.id = "variables", .title = "Variables", .description = "Variables (bands) to keep; default all.",
     .type = ND_IO_STRING, .max_occurs = ND_SUBSET_MAX_VARS, .max_bytes = 256},
    {.id = "bbox", .title = "Bounding box", .description = "Area in longitude/latitude (CRS84); default all.",
     .type = ND_IO_BBOX, .max_occurs = 1},
    {.id = "datetime", .title = "Time range",
     .description = "An ISO 8601 instant or interval start/end ('..' for open); default all.", .type = ND_IO_STRING,
     .max_occurs = 1, .max_bytes = 128},
    {.id = "format", .title = "Format", .description = "geotiff or netcdf.", .type = ND_IO_STRING,
     .allowed = formats, .def = "geotiff", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "result", .title = "Subset", .description = "The window as a file.", .type = ND_IO_COMPLEX,
     .formats = out_formats},
};

static int time_window(const nd_dataset *ds, const char *dt, nd_subset *s, nd_error *err) {
    if (!dt || !*dt) return 0;
    if (!ds->time) return nd_fail(err, ND_E_INVALID_PARAM, "datetime", "the dataset has no time axis");
    char lo_s[64], hi_s[64];
    const char *slash = strchr(dt, '/');
    nd_datetime lo, hi;
    if (!slash) {
        if (nd_datetime_parse(dt, &lo) < 0)
            return nd_fail(err, ND_E_INVALID_PARAM, "datetime", "datetime must be an ISO 8601 instant or interval");
        long i = nd_subset_time_index(ds, &lo);
        if (i < 0) return nd_fail(err, ND_E_INVALID_PARAM, "datetime", "datetime is outside the time axis");
        s->t0 = (size_t)i, s->nt = 1;
        return 0;
    }
    snprintf(lo_s, sizeof lo_s, "%.*s", (int)(slash - dt), dt);
    snprintf(hi_s, sizeof hi_s, "%s", slash + 1);
    bool has_lo = *lo_s && strcmp(lo_s, ".."), has_hi = *hi_s && strcmp(hi_s, "..");
    if ((has_lo && nd_datetime_parse(lo_s, &lo) < 0) || (has_hi && nd_datetime_parse(hi_s, &hi) < 0))
        return nd_fail(err, ND_E_INVALID_PARAM, "datetime", "datetime bounds must be ISO 8601 dates");
    size_t first, n = nd_subset_time_range(ds, has_lo ? &lo : NULL, has_hi ? &hi : NULL, &first);
    if (!n) return nd_fail(err, ND_E_INVALID_PARAM, "datetime", "no time step lies within datetime");
    s->t0 = first, s->nt = n;
    return 0;
}

/* The subset the inputs describe, planned: every check before a byte is read. */
static int build(const nd_dataset *ds, const json_t *in, long long max_bytes, nd_subset *s, nd_subset_plan *plan,
                 nd_error *err) {
    memset(s, 0, sizeof *s);
    s->ds = ds;
    const json_t *vars = json_object_get(in, "variables");
    size_t nv = json_is_array(vars) ? json_array_size(vars) : vars ? 1 : 0;
    for (size_t i = 0; i < nv && i < ND_SUBSET_MAX_VARS; i++) {
        const char *name = json_string_value(json_is_array(vars) ? json_array_get(vars, i) : vars);
        const nd_variable *v = nd_dataset_var(ds, name ? name : "");
        if (!v) return nd_fail(err, ND_E_INVALID_PARAM, "variables", "dataset '%s' has no variable '%.64s'", ds->id,
                               name ? name : "");
        s->vars[s->nvars++] = v;
    }
    const json_t *bbox = json_object_get(in, "bbox");
    if (bbox) {
        const json_t *b = json_object_get(bbox, "bbox");
        s->has_x = s->has_y = true;
        s->xlo = json_number_value(json_array_get(b, 0)), s->ylo = json_number_value(json_array_get(b, 1));
        s->xhi = json_number_value(json_array_get(b, 2)), s->yhi = json_number_value(json_array_get(b, 3));
        /* Boxes come as longitude/latitude, whatever name the client gave that CRS. */
        const char *crs = json_string_value(json_object_get(bbox, "crs"));
        s->window_crs = !crs || strstr(crs, "CRS84") || !strcasecmp(crs, "EPSG:4326") ? "OGC:CRS84" : crs;
    }
    int rc = time_window(ds, json_string_value(json_object_get(in, "datetime")), s, err);
    if (rc < 0) return rc;
    const char *fmt = json_string_value(json_object_get(in, "format"));
    s->format = fmt && !strcmp(fmt, "netcdf") ? ND_OUT_NETCDF : ND_OUT_GTIFF;
    s->max_bytes = max_bytes;
    return nd_subset_plan_make(s, plan, err);
}

static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    const nd_dataset *ds = nd_registry_get(lim->datasets, json_string_value(json_object_get(in, "dataset")));
    if (!ds) return 0;
    nd_subset s;
    nd_subset_plan plan;
    int rc = build(ds, in, lim->max_output_bytes, &s, &plan, err);
    /* The window errors of data/subset.c are WCS codes; a process input is simply invalid. */
    if (rc < 0 && err->code != ND_E_TOO_LARGE) err->code = ND_E_INVALID_PARAM;
    return rc < 0 ? -(int)err->code : 0;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    nd_dataset *ds;
    int rc = nd_kernel_open_dataset(env, json_string_value(json_object_get(in, "dataset")), &ds, err);
    if (rc < 0) return rc;
    nd_subset s;
    nd_subset_plan plan;
    long long max = env->config ? env->config->server.max_coverage_bytes : 0;
    rc = build(ds, in, max, &s, &plan, err);
    if (rc == 0) {
        if (env->progress) env->progress(env, 10, "writing");
        bool nc = s.format == ND_OUT_NETCDF;
        const char *name = nc ? "subset.nc" : "subset.tif";
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", env->dir, name);
        rc = nd_subset_write(&s, path, err);
        if (rc == 0)
            json_object_set_new(out, "result", json_pack("{s:s, s:s}", "file", name, "mediaType",
                                                         nc ? "application/netcdf" : "image/tiff"));
    }
    nd_dataset_free(ds);
    return rc;
}

const nd_process nd_process_subset = {
    .id = "subset",
    .title = "Subset",
    .description = "A window of a dataset (variables, bounding box, time range) as GeoTIFF or NetCDF.",
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
