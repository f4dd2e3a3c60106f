/* `plume-detection`: the adapter between the job machinery and the plume kernel; reads each day of a
 * trace-gas dataset and its winds onto one lon/lat grid over the region (GDAL warper through
 * nd_read_warped, winds interpolated in space and linearly in time), runs the kernel day by day,
 * clusters the sources and writes the per-pixel NetCDF, sources as GeoJSON and CSV, a quick-look PNG
 * and a STAC item. */
#include <cairo.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/arena.h"
#include "nadir/process.h"
#include "nadir/read.h"
#include "plume.h"
#include "plume_process.h"

#define EARTH_RADIUS 6371008.8
#define MAX_PIXELS (64u << 20) /* one day's map */
#define MAX_DAYS 1000

static const char *const devices[] = {"cpu", NULL};
static const char *const device_values[] = {"auto", "cpu", "cuda", NULL};
static const char *const nc_fmt[] = {"application/x-netcdf", NULL};
static const char *const json_fmt[] = {"application/json", NULL};
static const char *const geojson_fmt[] = {"application/geo+json", NULL};
static const char *const csv_fmt[] = {"text/csv", NULL};
static const char *const png_fmt[] = {"image/png", NULL};

static const char *const apriori_fmt[] = {"application/geo+json", "text/csv", NULL};

static const nd_io inputs[] = {
    {.id = "dataset", .title = "Trace-gas maps", .description = "A gridded (lon/lat) dataset of this server with "
     "a time axis: one map of the column per time step.", .type = ND_IO_DATASET, .min_occurs = 1, .max_occurs = 1},
    {.id = "variable", .title = "Column variable", .description = "The trace-gas column (e.g. mol m-2).",
     .type = ND_IO_STRING, .min_occurs = 1, .max_occurs = 1, .max_bytes = 256},
    {.id = "qa_variable", .title = "Quality variable", .description = "qa_value-like variable; pixels below "
     "qa_min are gaps.", .type = ND_IO_STRING, .max_occurs = 1, .max_bytes = 256},
    {.id = "qa_min", .title = "Lowest quality", .type = ND_IO_NUMBER, .def = "0.5", .has_min = true, .min = 0,
     .has_max = true, .max = 1, .max_occurs = 1},
    {.id = "wind_dataset", .title = "Wind dataset", .description = "The dataset with the winds (default: the maps' "
     "own); any grid, interpolated in space and time.", .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "u_variable", .title = "Eastward wind", .type = ND_IO_STRING, .def = "u", .max_occurs = 1, .max_bytes = 256},
    {.id = "v_variable", .title = "Northward wind", .type = ND_IO_STRING, .def = "v", .max_occurs = 1, .max_bytes = 256},
    {.id = "bbox", .title = "Region", .description = "Longitude/latitude box (CRS84); default: the whole dataset.",
     .type = ND_IO_BBOX, .max_occurs = 1},
    {.id = "start", .title = "Start", .description = "First date (ISO 8601), default: the first step.",
     .type = ND_IO_STRING, .max_occurs = 1, .max_bytes = 64},
    {.id = "end", .title = "End", .description = "Last date (ISO 8601, inclusive: a date alone includes that whole "
     "day), default: the last step.",
     .type = ND_IO_STRING, .max_occurs = 1, .max_bytes = 64},
    {.id = "window", .title = "Background window", .description = "Median window, pixels.", .type = ND_IO_INTEGER,
     .def = "48", .has_min = true, .min = 8, .has_max = true, .max = 1024, .max_occurs = 1},
    {.id = "cluster_radius", .title = "Cluster radius", .description = "Detections of several days within this "
     "many pixels are one persistent source.", .type = ND_IO_NUMBER, .def = "3", .has_min = true, .min = 0.5,
     .has_max = true, .max = 50, .max_occurs = 1},
    {.id = "device", .title = "Device", .type = ND_IO_STRING, .allowed = device_values, .def = "auto", .max_occurs = 1},
    {.id = "apriori", .title = "A-priori sources", .description = "Known sources: a GeoJSON FeatureCollection of "
     "points (name in properties.name) or CSV lines name,lon,lat. The summary says which were found, with their "
     "emission; the detected sources carry the name of the known one nearest them.", .type = ND_IO_COMPLEX,
     .formats = apriori_fmt, .max_bytes = 1u << 20, .max_occurs = 1},
    {.id = "apriori_radius", .title = "A-priori radius", .description = "A known source is found when a detected "
     "persistent source lies within this many pixels of it.", .type = ND_IO_NUMBER, .def = "3", .has_min = true,
     .min = 0.5, .has_max = true, .max = 50, .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "maps", .title = "Per-pixel results", .description = "flag (none/plume/source/gap), source id, "
     "number of sources, contribution of the main source, distance to it, per day.", .type = ND_IO_COMPLEX,
     .formats = nc_fmt},
    {.id = "sources", .title = "Sources", .description = "Persistent sources (GeoJSON points).",
     .type = ND_IO_COMPLEX, .formats = geojson_fmt},
    {.id = "sources_csv", .title = "Sources (CSV)", .type = ND_IO_COMPLEX, .formats = csv_fmt},
    {.id = "quicklook", .title = "Quick look", .type = ND_IO_COMPLEX, .formats = png_fmt},
    {.id = "summary", .title = "Summary", .type = ND_IO_COMPLEX, .formats = json_fmt},
    {.id = "item", .title = "STAC item", .type = ND_IO_COMPLEX, .formats = geojson_fmt},
};

/* The region: the dataset's grid cells whose centres fall in the box, on the dataset's own spacing. */
typedef struct region {
    nd_grid grid;
    double lon0, lat0, dlon, dlat; /* centre of pixel (0,0) and steps (dlat < 0: north up) */
} region;

static int make_region(const nd_dataset *ds, const json_t *bbox, region *r, nd_error *err) {
    if (ds->epsg != 4326) return nd_fail(err, ND_E_INVALID_PARAM, "dataset", "the maps must be on a longitude/latitude grid");
    const double *gt = ds->geotransform;
    double b[4] = {ds->wgs84[0], ds->wgs84[1], ds->wgs84[2], ds->wgs84[3]};
    const json_t *bb = json_object_get(bbox, "bbox");
    if (bb)
        for (int i = 0; i < 4; i++) b[i] = json_number_value(json_array_get(bb, (size_t)i));
    double dx = fabs(gt[1]), dy = fabs(gt[5]);
    double w = fmax(b[0], ds->wgs84[0]), e = fmin(b[2], ds->wgs84[2]), s = fmax(b[1], ds->wgs84[1]),
           n = fmin(b[3], ds->wgs84[3]);
    int nx = (int)floor((e - w) / dx + 1e-9), ny = (int)floor((n - s) / dy + 1e-9);
    if (nx < 3 || ny < 3)
        return nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the region holds fewer than 3 x 3 pixels of the maps");
    if ((double)nx * ny > MAX_PIXELS) return nd_fail(err, ND_E_TOO_LARGE, "bbox", "the region is larger than %u pixels", MAX_PIXELS);
    /* snap to the dataset's cell edges so that warping is a plain copy */
    double x0 = gt[0] + ceil((w - gt[0]) / dx - 1e-9) * dx, y1 = gt[3] - ceil((gt[3] - n) / dy - 1e-9) * dy;
    r->grid = (nd_grid){.width = nx, .height = ny, .gt = {x0, dx, 0, y1, 0, -dy}, .crs = "EPSG:4326"};
    r->lon0 = x0 + dx / 2, r->lat0 = y1 - dy / 2, r->dlon = dx, r->dlat = -dy;
    return 0;
}

/* Time steps of ds within [start, end]: first index and count. */
static int period(const nd_dataset *ds, const json_t *in, size_t *t0, size_t *nt, nd_error *err) {
    if (!ds->time || ds->time->n == 0) return nd_fail(err, ND_E_INVALID_PARAM, "dataset", "the maps have no time axis");
    const char *s = json_string_value(json_object_get(in, "start")), *e = json_string_value(json_object_get(in, "end"));
    nd_datetime a, b;
    if (s && nd_datetime_parse(s, &a) < 0) return nd_fail(err, ND_E_INVALID_PARAM, "start", "start is not an ISO 8601 date");
    if (e && nd_datetime_parse(e, &b) < 0) return nd_fail(err, ND_E_INVALID_PARAM, "end", "end is not an ISO 8601 date");
    size_t first = ds->time->n, last = 0;
    for (size_t i = 0; i < ds->time->n; i++) {
        const nd_datetime *d = &ds->time->dates[i];
        if (s && nd_datetime_diff_days(&a, d, ds->time->tu.cal) < -1e-9) continue;
        /* a date without a time of day ends with that day */
        double over = e ? nd_datetime_diff_days(&b, d, ds->time->tu.cal) : 0;
        if (e && (strlen(e) <= 10 ? over >= 1 - 1e-9 : over > 1e-9)) continue;
        if (first == ds->time->n) first = i;
        last = i;
    }
    if (first == ds->time->n) return nd_fail(err, ND_E_INVALID_PARAM, "start", "no time step of the maps falls in the period");
    *t0 = first;
    *nt = last - first + 1;
    if (*nt > MAX_DAYS) return nd_fail(err, ND_E_TOO_LARGE, "end", "the period holds more than %d time steps", MAX_DAYS);
    return 0;
}

static const nd_variable *var_or_fail(const nd_dataset *ds, const char *name, const char *input, nd_error *err) {
    const nd_variable *v = name ? nd_dataset_var(ds, name) : NULL;
    if (!v) nd_fail(err, ND_E_INVALID_PARAM, input, "the dataset has no variable '%s'", name ? name : "");
    return v;
}

/* The wind at date d, bilinear in space (the warper) and linear in time between the two nearest steps. */
static int read_wind(const nd_dataset *wd, const nd_variable *vu, const nd_variable *vv, const nd_datetime *d,
                     const region *r, float *u, float *v, nd_error *err) {
    size_t n = (size_t)r->grid.width * r->grid.height, i0 = 0, i1 = 0;
    double f = 0;
    if (wd->time && wd->time->n > 1) {
        size_t k = 0;
        while (k + 1 < wd->time->n && nd_datetime_diff_days(&wd->time->dates[k + 1], d, wd->time->tu.cal) >= 0) k++;
        i0 = k, i1 = k + 1 < wd->time->n ? k + 1 : k;
        double span = nd_datetime_diff_days(&wd->time->dates[i0], &wd->time->dates[i1], wd->time->tu.cal);
        double off = nd_datetime_diff_days(&wd->time->dates[i0], d, wd->time->tu.cal);
        f = span > 0 ? fmin(fmax(off / span, 0), 1) : 0;
    }
    float *tmp = nd_xmalloc(n * sizeof *tmp);
    int rc = 0;
    for (int comp = 0; comp < 2 && rc == 0; comp++) {
        const nd_variable *var = comp ? vv : vu;
        float *dst = comp ? v : u;
        if ((rc = nd_read_warped(wd, var, i0, 0, &r->grid, ND_RESAMPLE_BILINEAR, dst, err)) < 0) break;
        if (i1 != i0 && f > 0) {
            if ((rc = nd_read_warped(wd, var, i1, 0, &r->grid, ND_RESAMPLE_BILINEAR, tmp, err)) < 0) break;
            for (size_t i = 0; i < n; i++) dst[i] = (float)((1 - f) * dst[i] + f * tmp[i]);
        }
    }
    free(tmp);
    return rc;
}

typedef struct run_ctx {
    nd_kernel_env *env;
    nd_error *err;
    region r;
    double dx, dy; /* metres, at the region's central latitude */
} run_ctx;

static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    json_t *ap = json_object_get(in, "apriori");
    if (ap) {
        nd_plume_apriori a;
        if (nd_plume_apriori_parse(json_object_get(ap, "value"), &a, err) < 0) return -(int)err->code;
        nd_plume_apriori_free(&a);
    }
    const nd_dataset *ds = lim && lim->datasets ? nd_registry_get(lim->datasets, json_string_value(json_object_get(in, "dataset"))) : NULL;
    if (!ds) return 0;
    if (!var_or_fail(ds, json_string_value(json_object_get(in, "variable")), "variable", err)) return -(int)err->code;
    const char *qa = json_string_value(json_object_get(in, "qa_variable"));
    if (qa && !var_or_fail(ds, qa, "qa_variable", err)) return -(int)err->code;
    const char *wid = json_string_value(json_object_get(in, "wind_dataset"));
    const nd_dataset *wd = wid ? nd_registry_get(lim->datasets, wid) : ds;
    if (wd && (!var_or_fail(wd, json_string_value(json_object_get(in, "u_variable")), "u_variable", err) ||
               !var_or_fail(wd, json_string_value(json_object_get(in, "v_variable")), "v_variable", err)))
        return -(int)err->code;
    region r;
    if (make_region(ds, json_object_get(in, "bbox"), &r, err) < 0) return -(int)err->code;
    size_t t0, nt;
    if (period(ds, in, &t0, &nt, err) < 0) return -(int)err->code;
    return 0;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    const char *device = json_string_value(json_object_get(in, "device"));
    if (device && !strcmp(device, "cuda"))
        return nd_fail(err, ND_E_INVALID_PARAM, "device", "device 'cuda' is not available: this build has no CUDA "
                       "path for plume-detection");
    nd_dataset *ds = NULL, *wd = NULL;
    const char *wid = json_string_value(json_object_get(in, "wind_dataset"));
    if (nd_kernel_open_dataset(env, json_string_value(json_object_get(in, "dataset")), &ds, err) < 0) return -(int)err->code;
    if (wid && nd_kernel_open_dataset(env, wid, &wd, err) < 0) {
        nd_dataset_free(ds);
        return -(int)err->code;
    }
    const nd_dataset *wds = wd ? wd : ds;
    run_ctx c = {.env = env, .err = err};
    int rc = 0;
    size_t t0 = 0, nt = 0;
    const nd_variable *vo = var_or_fail(ds, json_string_value(json_object_get(in, "variable")), "variable", err);
    const char *qaname = json_string_value(json_object_get(in, "qa_variable"));
    const nd_variable *vq = qaname ? var_or_fail(ds, qaname, "qa_variable", err) : NULL;
    const nd_variable *vu = var_or_fail(wds, json_string_value(json_object_get(in, "u_variable")), "u_variable", err);
    const nd_variable *vv = var_or_fail(wds, json_string_value(json_object_get(in, "v_variable")), "v_variable", err);
    if (!vo || (qaname && !vq) || !vu || !vv || make_region(ds, json_object_get(in, "bbox"), &c.r, err) < 0 ||
        period(ds, in, &t0, &nt, err) < 0) {
        rc = -(int)err->code;
        goto done;
    }
    double latc = c.r.lat0 + 0.5 * (c.r.grid.height - 1) * c.r.dlat;
    c.dx = EARTH_RADIUS * cos(latc * M_PI / 180) * c.r.dlon * M_PI / 180;
    c.dy = EARTH_RADIUS * fabs(c.r.dlat) * M_PI / 180;
    nd_plume_apriori ap = {0};
    if (json_object_get(in, "apriori") && (rc = nd_plume_apriori_parse(json_object_get(json_object_get(in, "apriori"),
                                                                                       "value"), &ap, err)) < 0)
        goto done;
    rc = nd_plume_run_days(&c.r.grid, ds, vo, vq, json_number_value(json_object_get(in, "qa_min")), wds, vu, vv, t0, nt,
                           c.dx, c.dy, (int)json_integer_value(json_object_get(in, "window")),
                           json_number_value(json_object_get(in, "cluster_radius")), env, out, err);
    if (rc == 0 && ap.n)
        rc = nd_plume_apriori_match(env, &ap, json_number_value(json_object_get(in, "apriori_radius")) * fmax(c.dx, c.dy),
                                    json_object_get(json_object_get(out, "summary"), "value"), err);
    nd_plume_apriori_free(&ap);
done:
    nd_dataset_free(ds);
    if (wd) nd_dataset_free(wd);
    return rc;
}

/* ------------------------------------------------------------------ the days */

int nd_plume_run_days(const nd_grid *g, const nd_dataset *ds, const nd_variable *vo, const nd_variable *vq, double qa_min,
                      const nd_dataset *wds, const nd_variable *vu, const nd_variable *vv, size_t t0, size_t nt,
                      double dx, double dy, int window, double radius, nd_kernel_env *env, json_t *out, nd_error *err) {
    region r = {.grid = *g, .lon0 = g->gt[0] + g->gt[1] / 2, .lat0 = g->gt[3] + g->gt[5] / 2, .dlon = g->gt[1],
                .dlat = g->gt[5]};
    int nx = g->width, ny = g->height, rc = 0;
    size_t n = (size_t)nx * ny;
    float *f = nd_xmalloc(n * sizeof *f), *fq = nd_xmalloc(n * sizeof *fq), *fu = nd_xmalloc(n * sizeof *fu),
          *fv = nd_xmalloc(n * sizeof *fv);
    double *om = nd_xmalloc(n * sizeof *om), *u = nd_xmalloc(n * sizeof *u), *v = nd_xmalloc(n * sizeof *v);
    unsigned char *flag = nd_xmalloc(n), *nsrcpix = nd_xmalloc(n), *maxflag = nd_xcalloc(n, 1);
    int *sid = nd_xmalloc(n * sizeof *sid);
    float *share = nd_xmalloc(n * sizeof *share), *dist = nd_xmalloc(n * sizeof *dist);
    nd_plume_source *src = NULL;
    size_t nsrc = 0, valid_total = 0, wind_total = 0;
    nd_plume_params p;
    nd_plume_params_default(&p);
    p.window = window;
    p.threads = env->config && env->config->jobs.threads > 0 ? env->config->jobs.threads : 1; /* jobs.threads */
    nd_plume_nc nc;
    char path[4096];
    snprintf(path, sizeof path, "%s/maps.nc", env->dir);
    if ((rc = nd_plume_nc_open(&nc, path, &r.grid, ds, t0, nt, err)) < 0) goto done;
    for (size_t t = 0; t < nt; t++) {
        size_t ti = t0 + t;
        if ((rc = nd_read_warped(ds, vo, ti, 0, &r.grid, ND_RESAMPLE_NEAREST, f, err)) < 0) break;
        if (vq && (rc = nd_read_warped(ds, vq, ti, 0, &r.grid, ND_RESAMPLE_NEAREST, fq, err)) < 0) break;
        if ((rc = read_wind(wds, vu, vv, &ds->time->dates[ti], &r, fu, fv, err)) < 0) break;
        size_t valid = 0, wind = 0;
        for (size_t i = 0; i < n; i++) {
            om[i] = isfinite(f[i]) && (!vq || fq[i] >= qa_min) ? f[i] : NAN;
            /* the grid's rows run southward: a northward wind moves towards lower rows */
            u[i] = fu[i], v[i] = -fv[i];
            valid += isfinite(om[i]);
            wind += isfinite(om[i]) && isfinite(u[i]) && isfinite(v[i]);
        }
        valid_total += valid, wind_total += wind;
        if (valid && wind) {
            nd_plume_map m = {.nx = nx, .ny = ny, .dx = dx, .dy = dy, .omega = om, .u = u, .v = v};
            char msg[256];
            nd_plume_out o = {.flag = flag, .source = sid, .nsources = nsrcpix, .contribution = share, .distance = dist};
            if (nd_plume_detect(&m, &p, (int)t, &o, &src, &nsrc, msg, sizeof msg) < 0) {
                rc = nd_fail(err, ND_E_INVALID_PARAM, "dataset", "time step %zu: %s", ti, msg);
                break;
            }
        } else {
            for (size_t i = 0; i < n; i++) flag[i] = isfinite(om[i]) ? 0 : 255, sid[i] = -1, nsrcpix[i] = 0,
                                           share[i] = NAN, dist[i] = NAN;
        }
        for (size_t i = 0; i < n; i++) {
            if (flag[i] != 255 && flag[i] > maxflag[i]) maxflag[i] = flag[i];
            if (flag[i] == 255 && maxflag[i] == 0) maxflag[i] = 255;
        }
        if ((rc = nd_plume_nc_put_day(&nc, t, flag, sid, nsrcpix, share, dist, err)) < 0) break;
        if (env->progress && env->progress(env, (int)(5 + 85 * (t + 1) / nt), "detecting")) {
            rc = nd_fail(err, ND_E_INTERNAL, "", "the job was dismissed");
            break;
        }
    }
    if (nd_plume_nc_close(&nc, rc == 0 ? err : NULL) < 0 && rc == 0) rc = -(int)err->code;
    if (rc < 0) goto done;
    if (valid_total == 0) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the region and period hold no valid pixel (all gaps or below qa_min)");
        goto done;
    }
    if (wind_total == 0) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "wind_dataset", "the wind is missing over the region and period");
        goto done;
    }
    nd_plume_cluster *cl = NULL;
    size_t ncl = nd_plume_cluster_sources(src, nsrc, radius, &cl);
    rc = nd_plume_write_sources(env, &r.grid, src, nsrc, cl, ncl, dx, dy, err);
    if (rc == 0) rc = nd_plume_quicklook(env, maxflag, nx, ny, cl, ncl, err);
    if (rc == 0) {
        json_t *summary = json_pack("{s:I, s:I, s:I, s:I, s:i, s:i, s:f, s:f}", "time_steps", (json_int_t)nt,
                                    "detections", (json_int_t)nsrc, "sources", (json_int_t)ncl, "valid_pixels",
                                    (json_int_t)valid_total, "width", nx, "height", ny, "pixel_dx_m", dx, "pixel_dy_m", dy);
        double w = g->gt[0], e = g->gt[0] + nx * g->gt[1], nn = g->gt[3], s = g->gt[3] + ny * g->gt[5];
        char now[32];
        time_t tt = time(NULL);
        struct tm tm;
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&tt, &tm));
        const char *slash = strrchr(env->dir, '/');
        json_t *item = json_pack(
            "{s:s, s:s, s:s, s:{s:s, s:[[[f,f],[f,f],[f,f],[f,f],[f,f]]]}, s:[f,f,f,f], s:{s:s, s:I, s:I}, s:{s:{s:s, s:s}, "
            "s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s}}, s:[]}",
            "type", "Feature", "stac_version", "1.0.0", "id", slash ? slash + 1 : env->dir, "geometry", "type",
            "Polygon", "coordinates", w, s, e, s, e, nn, w, nn, w, s, "bbox", w, s, e, nn, "properties", "datetime", now,
            "plume:sources", (json_int_t)ncl, "plume:detections", (json_int_t)nsrc, "assets", "maps", "href", "maps.nc",
            "type", "application/x-netcdf", "sources", "href", "sources.geojson", "type", "application/geo+json",
            "sources_csv", "href", "sources.csv", "type", "text/csv", "quicklook", "href", "quicklook.png", "type",
            "image/png", "links");
        json_object_set_new(out, "summary", json_pack("{s:o, s:s}", "value", summary, "mediaType", "application/json"));
        json_object_set_new(out, "item", json_pack("{s:o, s:s}", "value", item, "mediaType", "application/geo+json"));
        json_object_set_new(out, "maps", json_pack("{s:s, s:s}", "file", "maps.nc", "mediaType", "application/x-netcdf"));
        json_object_set_new(out, "sources", json_pack("{s:s, s:s}", "file", "sources.geojson", "mediaType", "application/geo+json"));
        json_object_set_new(out, "sources_csv", json_pack("{s:s, s:s}", "file", "sources.csv", "mediaType", "text/csv"));
        json_object_set_new(out, "quicklook", json_pack("{s:s, s:s}", "file", "quicklook.png", "mediaType", "image/png"));
        if (env->progress) env->progress(env, 100, "done");
    }
    free(cl);
done:
    free(f);
    free(fq);
    free(fu);
    free(fv);
    free(om);
    free(u);
    free(v);
    free(flag);
    free(nsrcpix);
    free(maxflag);
    free(sid);
    free(share);
    free(dist);
    free(src);
    return rc;
}

const nd_process nd_process_plume_detection = {
    .id = "plume-detection",
    .title = "Plume and source detection",
    .description = "Finds trace-gas plumes in daily maps, their sources at the upwind end, the emission of each "
                   "(cross-sectional flux and integrated mass enhancement) and the sources that persist over days.",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = devices,
    .run = run,
    .check = check,
};
