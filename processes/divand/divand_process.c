/* The `divand` process adapter: parses the grid, lengths, ε², mask and background inputs, reads the
 * observations (inline ODV spreadsheet or CSV, or the synthetic demo cruises), maps them to grid
 * indices with metric scale factors in km, runs the kernel and writes CF NetCDF plus a JSON report. */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "divand.h"
#include "divand_obs.h"
#include "divand_process.h"
#include "divand_truth.h"
#include "nadir/arena.h"
#include "nadir/read.h"
#include "nadir/render.h"

#define MAX_POINTS 4000000u  /* analysed grid points (lon x lat x depth x time) */
#define MAX_LEVELS 100
#define MAX_OBS 2000000u
#define KM_PER_DEG 111.19492664455873

static const char *const devices[] = {"cpu", "cuda", NULL};
static const char *const obs_formats[] = {"text/csv", "text/plain", "text/tab-separated-values", NULL};
static const char *const nc_fmt[] = {"application/x-netcdf", NULL};
static const char *const json_fmt[] = {"application/json", NULL};
static const char *const png_fmt[] = {"image/png", NULL};
static const char *const sources[] = {"inline", "demo", NULL};
static const char *const climatologies[] = {"none", "monthly", NULL};
static const char *const backgrounds[] = {"mean", "trend", "none", NULL};
static const char *const errors[] = {"auto", "cpme", "exact", "none", NULL};
static const char *const solvers[] = {"auto", "cholesky", "pcg", NULL};
static const char *const device_opts[] = {"auto", "cpu", "cuda", NULL};

static const nd_io inputs[] = {
    {.id = "observations", .title = "Observations",
     .description = "ODV spreadsheet (tab separated, SeaDataNet semantic header) or CSV with longitude, latitude, "
                    "depth, time and value columns; malformed lines are reported with their numbers.",
     .type = ND_IO_COMPLEX, .formats = obs_formats, .max_bytes = 16u << 20, .max_occurs = 1},
    {.id = "source", .title = "Source", .description = "inline: the observations input; demo: the synthetic cruises.",
     .type = ND_IO_STRING, .allowed = sources, .def = "inline", .max_occurs = 1},
    {.id = "parameter", .title = "Parameter", .description = "Label (or its start) of the value column; default: the first.",
     .type = ND_IO_STRING, .def = "", .max_bytes = 120, .max_occurs = 1},
    {.id = "bbox", .title = "Bounding box", .description = "Longitude/latitude box of the grid (CRS84).",
     .type = ND_IO_BBOX, .min_occurs = 1, .max_occurs = 1},
    {.id = "resolution", .title = "Resolution", .description = "Grid step in degrees.", .type = ND_IO_NUMBER,
     .def = "0.5", .has_min = true, .min = 0.001, .has_max = true, .max = 10, .uom = "degree", .max_occurs = 1},
    {.id = "depths", .title = "Depth levels", .description = "Comma-separated increasing depths in metres.",
     .type = ND_IO_STRING, .def = "0", .max_bytes = 1024, .max_occurs = 1},
    {.id = "climatology", .title = "Time", .description = "none: one field from all observations; monthly: 12 fields.",
     .type = ND_IO_STRING, .allowed = climatologies, .def = "none", .max_occurs = 1},
    {.id = "length_horizontal", .title = "Horizontal correlation length", .description = "In km (> 0).",
     .type = ND_IO_NUMBER, .def = "300", .has_min = true, .min = 0, .uom = "km", .max_occurs = 1},
    {.id = "length_vertical", .title = "Vertical correlation length", .description = "In m (0: levels independent).",
     .type = ND_IO_NUMBER, .def = "0", .has_min = true, .min = 0, .uom = "m", .max_occurs = 1},
    {.id = "length_time", .title = "Time correlation length", .description = "In months (0: months independent).",
     .type = ND_IO_NUMBER, .def = "0", .has_min = true, .min = 0, .max_occurs = 1},
    {.id = "epsilon2", .title = "Noise to signal ratio", .description = "ε² > 0.", .type = ND_IO_NUMBER,
     .def = "0.1", .has_min = true, .min = 0, .max_occurs = 1},
    {.id = "mask", .title = "Bathymetry", .description = "A dataset of this server giving elevation (negative at sea); "
                                                          "default: the demo land mask and bottom.",
     .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "background", .title = "Background", .description = "mean, trend (plane in lon/lat) or none.",
     .type = ND_IO_STRING, .allowed = backgrounds, .def = "mean", .max_occurs = 1},
    {.id = "error", .title = "Error field", .description = "auto, cpme (clever poor man's), exact or none.",
     .type = ND_IO_STRING, .allowed = errors, .def = "auto", .max_occurs = 1},
    {.id = "error_threshold", .title = "Error threshold", .description = "Relative error variance above which the "
                                                                        "masked field is empty.",
     .type = ND_IO_NUMBER, .def = "0.5", .has_min = true, .min = 0, .has_max = true, .max = 1, .max_occurs = 1},
    {.id = "solver", .title = "Solver", .description = "auto (by size), cholesky or pcg.", .type = ND_IO_STRING,
     .allowed = solvers, .def = "auto", .max_occurs = 1},
    {.id = "device", .title = "Device", .description = "auto, cpu or cuda.", .type = ND_IO_STRING,
     .allowed = device_opts, .def = "auto", .max_occurs = 1},
    {.id = "velocity", .title = "Advection velocity", .description = "Optional dataset of this server with eastward "
     "and northward velocities (variables u and v, or CF eastward_/northward_ standard names; first time step and "
     "level, interpolated to the grid): the analysis is constrained along the flow (DIVAnd's advection constraint).",
     .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "velocity_scale", .title = "Advection strength", .description = "Multiplies the velocity: 1 m/s times the "
     "scale penalises gradients along the flow, in correlation lengths, as much as the smoothness does any gradient.",
     .type = ND_IO_NUMBER, .def = "1", .has_min = true, .min = 0, .uom = "s/m", .max_occurs = 1},
    {.id = "cross_validation", .title = "Cross-validate lengths and epsilon2", .description = "true: the correlation "
     "lengths (0.5, 1 or 2 times the given ones) and epsilon2 (0.1, 0.3, 1, 3 or 10 times the given value) are chosen "
     "by generalised cross-validation (one sparse Cholesky per pair; grids of at most 100,000 points); the report "
     "gives every score.",
     .type = ND_IO_BOOLEAN, .def = "false", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "analysis", .title = "Analysis", .description = "CF NetCDF (time, depth, lat, lon): the field, its "
                                                            "relative error and the field masked where the error is large.",
     .type = ND_IO_COMPLEX, .formats = nc_fmt},
    {.id = "quicklook", .title = "Quick-look", .description = "PNG of the surface field (July when monthly), "
                                                              "north up, viridis over the field's range.",
     .type = ND_IO_COMPLEX, .formats = png_fmt},
    {.id = "report", .title = "Report", .description = "Observations read, used, dropped; malformed lines; solver.",
     .type = ND_IO_COMPLEX, .formats = json_fmt},
};

typedef struct plan {
    double w, s, e, n, res;
    size_t nx, ny, nz, nt;
    double z[MAX_LEVELS];
    bool monthly;
} plan;

static const char *str_in(const json_t *in, const char *id) {
    const char *s = json_string_value(json_object_get(in, id));
    return s ? s : "";
}

static double num_in(const json_t *in, const char *id) { return json_number_value(json_object_get(in, id)); }

/* The grid from the inputs, refused with a clear message when malformed or too large. */
static int make_plan(const json_t *in, plan *p, nd_error *err) {
    memset(p, 0, sizeof *p);
    const json_t *bb = json_object_get(json_object_get(in, "bbox"), "bbox");
    if (json_array_size(bb) != 4) return nd_fail(err, ND_E_INVALID_PARAM, "bbox", "bbox needs 4 numbers");
    p->w = json_number_value(json_array_get(bb, 0)), p->s = json_number_value(json_array_get(bb, 1));
    p->e = json_number_value(json_array_get(bb, 2)), p->n = json_number_value(json_array_get(bb, 3));
    p->res = num_in(in, "resolution");
    if (!(p->e > p->w && p->n > p->s && p->s >= -90 && p->n <= 90))
        return nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the bounding box is empty or outside -90..90");
    if (!(p->res > 0)) return nd_fail(err, ND_E_INVALID_PARAM, "resolution", "resolution must be positive");
    double nx = floor((p->e - p->w) / p->res + 1e-9) + 1, ny = floor((p->n - p->s) / p->res + 1e-9) + 1;
    char buf[1100];
    snprintf(buf, sizeof buf, "%s", str_in(in, "depths"));
    double prev = -1;
    for (char *tok = strtok(buf, ", "); tok; tok = strtok(NULL, ", ")) {
        char *end;
        double z = strtod(tok, &end);
        if (*end || !(z >= 0) || z <= prev || !isfinite(z))
            return nd_fail(err, ND_E_INVALID_PARAM, "depths", "depths must be increasing numbers >= 0");
        if (p->nz == MAX_LEVELS) return nd_fail(err, ND_E_INVALID_PARAM, "depths", "at most %d depth levels", MAX_LEVELS);
        p->z[p->nz++] = prev = z;
    }
    if (p->nz == 0) return nd_fail(err, ND_E_INVALID_PARAM, "depths", "at least one depth level");
    p->monthly = strcmp(str_in(in, "climatology"), "monthly") == 0;
    p->nt = p->monthly ? 12 : 1;
    double total = nx * ny * (double)p->nz * (double)p->nt;
    if (nx < 2 || ny < 2)
        return nd_fail(err, ND_E_INVALID_PARAM, "resolution", "the grid needs at least 2 points in longitude and latitude");
    if (total > MAX_POINTS)
        return nd_fail(err, ND_E_INVALID_PARAM, "resolution", "the grid has %.0f points, more than the %u allowed",
                       total, MAX_POINTS);
    p->nx = (size_t)nx, p->ny = (size_t)ny;
    if (!(num_in(in, "length_horizontal") > 0))
        return nd_fail(err, ND_E_INVALID_PARAM, "length_horizontal", "correlation lengths must be positive");
    if (!(num_in(in, "epsilon2") > 0)) return nd_fail(err, ND_E_INVALID_PARAM, "epsilon2", "epsilon2 must be positive");
    if (strcmp(str_in(in, "device"), "cuda") == 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "device", "device cuda: no CUDA solver on this server (use cpu or auto)");
    if (strcmp(str_in(in, "source"), "inline") == 0 && !json_object_get(in, "observations"))
        return nd_fail(err, ND_E_MISSING_PARAM, "observations", "observations are needed with source=inline");
    return 0;
}

static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    plan p;
    return make_plan(in, &p, err) < 0 ? -1 : 0;
}

/* Fractional index of value v in increasing levels z[0..n-1]; -1 outside. */
static double level_index(const double *z, size_t n, double v, double tol) {
    if (n == 1) return fabs(v - z[0]) <= tol ? 0 : -1;
    if (v < z[0] || v > z[n - 1]) return -1;
    size_t k = 0;
    while (k + 2 < n && v > z[k + 1]) k++;
    return (double)k + (v - z[k]) / (z[k + 1] - z[k]);
}

static int month_of(double days) {
    time_t t = (time_t)llround(days * 86400.0);
    struct tm tm;
    gmtime_r(&t, &tm);
    return tm.tm_mon;
}

/* The sea mask per (depth, lat, lon): from the demo geography or from an elevation dataset. */
static int make_mask(nd_kernel_env *env, const json_t *in, const plan *p, unsigned char *mask, nd_error *err) {
    size_t nxy = p->nx * p->ny;
    const char *mid = json_string_value(json_object_get(in, "mask"));
    if (!mid) {
        for (size_t k = 0; k < p->nz; k++)
            for (size_t j = 0; j < p->ny; j++)
                for (size_t i = 0; i < p->nx; i++) {
                    double lon = p->w + p->res * (double)i, lat = p->s + p->res * (double)j;
                    mask[i + j * p->nx + k * nxy] = nd_divand_demo_bottom(lon, lat) >= p->z[k] && p->z[k] >= 0 &&
                                                    !nd_divand_demo_land(lon, lat);
                }
        return 0;
    }
    nd_dataset *ds;
    if (nd_kernel_open_dataset(env, mid, &ds, err) < 0) return -1;
    if (ds->nvars == 0) {
        nd_dataset_free(ds);
        return nd_fail(err, ND_E_INVALID_PARAM, "mask", "dataset '%s' has no variable", mid);
    }
    float *elev = malloc(nxy * sizeof *elev);
    if (!elev) {
        nd_dataset_free(ds);
        return nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    }
    nd_grid g = {.width = (int)p->nx, .height = (int)p->ny, .crs = "EPSG:4326"};
    g.gt[0] = p->w - p->res / 2, g.gt[1] = p->res, g.gt[3] = p->s + p->res * ((double)p->ny - 0.5), g.gt[5] = -p->res;
    int rc = nd_read_warped(ds, &ds->vars[0], 0, 0, &g, ND_RESAMPLE_BILINEAR, elev, err);
    nd_dataset_free(ds);
    if (rc < 0) {
        free(elev);
        return -1;
    }
    for (size_t k = 0; k < p->nz; k++)
        for (size_t j = 0; j < p->ny; j++)
            for (size_t i = 0; i < p->nx; i++) {
                float e = elev[i + (p->ny - 1 - j) * p->nx]; /* rows come north first */
                mask[i + j * p->nx + k * nxy] = isfinite(e) && -e >= p->z[k];
            }
    free(elev);
    return 0;
}

/* A velocity component of ds: the variable named `name`, or the one whose standard name starts with `standard`. */
static const nd_variable *velocity_var(const nd_dataset *ds, const char *name, const char *standard) {
    const nd_variable *v = nd_dataset_var(ds, name);
    for (size_t i = 0; !v && i < ds->nvars; i++)
        if (ds->vars[i].standard_name && !strncmp(ds->vars[i].standard_name, standard, strlen(standard)))
            v = &ds->vars[i];
    return v;
}

/* The advection velocity on the full grid (u along longitude, v along latitude, the same at every level and time),
 * scaled; vel stays NULL without a velocity input. */
static int read_velocity(nd_kernel_env *env, const json_t *in, const plan *p, size_t ntot, double *vel[2],
                         nd_error *err) {
    const char *id = json_string_value(json_object_get(in, "velocity"));
    if (!id) return 0;
    nd_dataset *ds;
    if (nd_kernel_open_dataset(env, id, &ds, err) < 0) return -1;
    const nd_variable *uv[2] = {velocity_var(ds, "u", "eastward_"), velocity_var(ds, "v", "northward_")};
    size_t nxy = p->nx * p->ny;
    float *plane = uv[0] && uv[1] ? malloc(nxy * sizeof *plane) : NULL;
    int rc = 0;
    if (!uv[0] || !uv[1]) rc = nd_fail(err, ND_E_INVALID_PARAM, "velocity", "dataset '%s' has no u and v velocities", id);
    else if (!plane) rc = nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    double scale = json_object_get(in, "velocity_scale") ? num_in(in, "velocity_scale") : 1;
    nd_grid g = {.width = (int)p->nx, .height = (int)p->ny, .crs = "EPSG:4326"};
    g.gt[0] = p->w - p->res / 2, g.gt[1] = p->res, g.gt[3] = p->s + p->res * ((double)p->ny - 0.5), g.gt[5] = -p->res;
    for (int c = 0; c < 2 && rc == 0; c++) {
        if (!(vel[c] = malloc(ntot * sizeof(double)))) {
            rc = nd_fail(err, ND_E_INTERNAL, "", "out of memory");
            break;
        }
        if ((rc = nd_read_warped(ds, uv[c], 0, 0, &g, ND_RESAMPLE_BILINEAR, plane, err)) < 0) break;
        for (size_t q = 0; q < ntot; q++) {
            size_t i = q % p->nx, j = (q / p->nx) % p->ny;
            float f = plane[i + (p->ny - 1 - j) * p->nx]; /* rows come north first */
            vel[c][q] = isfinite(f) ? scale * f : 0;  /* no flow where the field has no value */
        }
    }
    free(plane);
    nd_dataset_free(ds);
    return rc;
}

static int read_obs(const json_t *in, nd_dv_table *t, nd_error *err) {
    char msg[256];
    const char *param = str_in(in, "parameter");
    if (strcmp(str_in(in, "source"), "demo") == 0) {
        double day0;
        nd_dv_parse_time("2020-01-01", &day0);
        if (nd_divand_demo_cruises(t, 20200101u, 120, day0, 366, 0.2, 0) < 0)
            return nd_fail(err, ND_E_INTERNAL, "", "out of memory");
        snprintf(t->parameter, sizeof t->parameter, "temperature");
        return 0;
    }
    const json_t *o = json_object_get(in, "observations");
    const json_t *v = json_object_get(o, "value");
    if (json_object_get(o, "href"))
        return nd_fail(err, ND_E_INVALID_PARAM, "observations", "observations by reference are not supported: send them inline");
    if (!json_is_string(v)) return nd_fail(err, ND_E_INVALID_PARAM, "observations", "observations must be text");
    const char *text = json_string_value(v);
    size_t len = json_string_length(v);
    /* ODV when the first non-comment line is tab separated. */
    const char *l = text;
    while (l && strncmp(l, "//", 2) == 0) l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL;
    const char *nl = l ? strchr(l, '\n') : NULL;
    bool odv = l && memchr(l, '\t', nl ? (size_t)(nl - l) : strlen(l));
    int rc = odv ? nd_dv_read_odv(text, len, param, MAX_OBS, t, msg, sizeof msg)
                 : nd_dv_read_csv(text, len, param, MAX_OBS, t, msg, sizeof msg);
    if (rc < 0) return nd_fail(err, ND_E_INVALID_PARAM, "observations", "%s", msg);
    return 0;
}

typedef struct prog {
    nd_kernel_env *env;
} prog;

static int on_progress(void *ctx, int pct, const char *m) {
    nd_kernel_env *env = ((prog *)ctx)->env;
    return env->progress ? env->progress(env, 10 + pct * 8 / 10, m) : 0;
}

#define NCT(call)                                                                                                     \
    do {                                                                                                              \
        int _s = (call);                                                                                              \
        if (_s != NC_NOERR) {                                                                                         \
            nd_fail(err, ND_E_IO, "", "NetCDF output: %s", nc_strerror(_s));                                          \
            goto fail;                                                                                                \
        }                                                                                                             \
    } while (0)

static int put_text(int nc, int v, const char *name, const char *text) {
    return nc_put_att_text(nc, v, name, strlen(text), text);
}

static int write_nc(const char *path, const plan *p, const json_t *in, double lenfac, double eps2,
                    const nd_dv_table *t, const nd_divand_result *r, const double *bg_field, double thr, nd_error *err) {
    int nc = -1, dims[4], vlon, vlat, vz, vt, vf, ve, vm;
    size_t ntot = p->nx * p->ny * p->nz * p->nt;
    float *buf = malloc(ntot * sizeof *buf);
    double *ax = malloc((p->nx > p->ny ? p->nx : p->ny) * sizeof *ax);
    if (!buf || !ax) {
        free(buf), free(ax);
        return nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    }
    const char *pname = t->parameter[0] ? t->parameter : "value";
    char name[64];
    size_t k = 0;
    for (const char *c = pname; *c && k + 1 < sizeof name && *c != ' ' && *c != '['; c++)
        name[k++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ? *c : '_');
    name[k] = '\0';
    if (!k || (name[0] >= '0' && name[0] <= '9')) snprintf(name, sizeof name, "value");
    char ename[96], mname[96];
    snprintf(ename, sizeof ename, "%s_relerr", name);
    snprintf(mname, sizeof mname, "%s_masked", name);
    NCT(nc_create(path, NC_CLOBBER | NC_NETCDF4, &nc));
    NCT(nc_def_dim(nc, "time", p->nt, &dims[0]));
    NCT(nc_def_dim(nc, "depth", p->nz, &dims[1]));
    NCT(nc_def_dim(nc, "lat", p->ny, &dims[2]));
    NCT(nc_def_dim(nc, "lon", p->nx, &dims[3]));
    NCT(nc_def_var(nc, "time", NC_DOUBLE, 1, &dims[0], &vt));
    NCT(nc_def_var(nc, "depth", NC_DOUBLE, 1, &dims[1], &vz));
    NCT(nc_def_var(nc, "lat", NC_DOUBLE, 1, &dims[2], &vlat));
    NCT(nc_def_var(nc, "lon", NC_DOUBLE, 1, &dims[3], &vlon));
    NCT(put_text(nc, vt, "standard_name", "time"));
    NCT(put_text(nc, vt, "units", "days since 1970-01-01 00:00:00"));
    NCT(put_text(nc, vt, "calendar", "standard"));
    NCT(put_text(nc, vt, "axis", "T"));
    NCT(put_text(nc, vz, "standard_name", "depth"));
    NCT(put_text(nc, vz, "units", "m"));
    NCT(put_text(nc, vz, "positive", "down"));
    NCT(put_text(nc, vz, "axis", "Z"));
    NCT(put_text(nc, vlat, "standard_name", "latitude"));
    NCT(put_text(nc, vlat, "units", "degrees_north"));
    NCT(put_text(nc, vlat, "axis", "Y"));
    NCT(put_text(nc, vlon, "standard_name", "longitude"));
    NCT(put_text(nc, vlon, "units", "degrees_east"));
    NCT(put_text(nc, vlon, "axis", "X"));
    float fill = NC_FILL_FLOAT;
    int vs[3];
    const char *names[3] = {name, ename, mname};
    for (int q = 0; q < 3; q++) {
        NCT(nc_def_var(nc, names[q], NC_FLOAT, 4, dims, &vs[q]));
        NCT(nc_def_var_deflate(nc, vs[q], 1, 1, 4));
        NCT(nc_put_att_float(nc, vs[q], "_FillValue", NC_FLOAT, 1, &fill));
    }
    vf = vs[0], ve = vs[1], vm = vs[2];
    char ln[300];
    NCT(put_text(nc, vf, "long_name", pname));
    snprintf(ln, sizeof ln, "relative error variance of %s (1: no information)", pname);
    NCT(put_text(nc, ve, "long_name", ln));
    NCT(put_text(nc, ve, "units", "1"));
    snprintf(ln, sizeof ln, "%s where the relative error variance is at most %g", pname, thr);
    NCT(put_text(nc, vm, "long_name", ln));
    NCT(put_text(nc, NC_GLOBAL, "Conventions", "CF-1.8"));
    NCT(put_text(nc, NC_GLOBAL, "title", "DIVAnd analysis"));
    NCT(put_text(nc, NC_GLOBAL, "institution", "nadir"));
    NCT(put_text(nc, NC_GLOBAL, "source", strcmp(str_in(in, "source"), "demo") == 0 ? "synthetic cruises (nadir demo)"
                                                                                   : "observations given inline"));
    NCT(put_text(nc, NC_GLOBAL, "method", "DIVAnd variational analysis (Barth et al. 2014), nadir implementation"));
    NCT(put_text(nc, NC_GLOBAL, "parameter", pname));
    snprintf(ln, sizeof ln, "%g km (horizontal), %g m (vertical), %g months (time)",
             lenfac * num_in(in, "length_horizontal"), lenfac * num_in(in, "length_vertical"),
             lenfac * num_in(in, "length_time"));
    NCT(put_text(nc, NC_GLOBAL, "correlation_length", ln));
    double e2 = eps2;
    NCT(nc_put_att_double(nc, NC_GLOBAL, "epsilon2", NC_DOUBLE, 1, &e2));
    NCT(put_text(nc, NC_GLOBAL, "background", str_in(in, "background")));
    long long nused = (long long)r->nused;
    NCT(nc_put_att_longlong(nc, NC_GLOBAL, "observations_used", NC_INT64, 1, &nused));
    NCT(nc_enddef(nc));
    double tv[12], day0;
    nd_dv_parse_time("2020-01-01", &day0);
    for (size_t m = 0; m < p->nt; m++) {
        char d[16];
        snprintf(d, sizeof d, "2020-%02zu-15", m + 1);
        if (p->monthly) nd_dv_parse_time(d, &tv[m]);
        else tv[m] = day0 + 182;
    }
    NCT(nc_put_var_double(nc, vt, tv));
    NCT(nc_put_var_double(nc, vz, p->z));
    for (size_t j = 0; j < p->ny; j++) ax[j] = p->s + p->res * (double)j;
    NCT(nc_put_var_double(nc, vlat, ax));
    for (size_t i = 0; i < p->nx; i++) ax[i] = p->w + p->res * (double)i;
    NCT(nc_put_var_double(nc, vlon, ax));
    for (size_t i = 0; i < ntot; i++) buf[i] = isnan(r->field[i]) ? fill : (float)(r->field[i] + bg_field[i]);
    NCT(nc_put_var_float(nc, vf, buf));
    for (size_t i = 0; i < ntot; i++) buf[i] = !r->err || isnan(r->err[i]) ? fill : (float)r->err[i];
    NCT(nc_put_var_float(nc, ve, buf));
    for (size_t i = 0; i < ntot; i++)
        buf[i] = isnan(r->field[i]) || (r->err && r->err[i] > thr) ? fill : (float)(r->field[i] + bg_field[i]);
    NCT(nc_put_var_float(nc, vm, buf));
    NCT(nc_close(nc));
    free(buf), free(ax);
    return 0;
fail:
    if (nc >= 0) nc_close(nc);
    free(buf), free(ax);
    return -1;
}

/* The quick-look: the first depth level of one time step, north up, land transparent. */
static int write_quicklook(const char *path, const plan *p, const nd_divand_result *r, const double *bg, nd_error *err) {
    size_t nxy = p->nx * p->ny, t = p->monthly ? 6 : 0;
    float *v = malloc(nxy * sizeof *v);
    if (!v) return nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    double lo = INFINITY, hi = -INFINITY;
    for (size_t j = 0; j < p->ny; j++)
        for (size_t i = 0; i < p->nx; i++) {
            size_t q = i + j * p->nx + t * nxy * p->nz;
            double f = r->field[q] + bg[q];
            v[i + (p->ny - 1 - j) * p->nx] = isnan(f) ? NAN : (float)f;
            if (!isnan(f)) lo = fmin(lo, f), hi = fmax(hi, f);
        }
    nd_colormap cm;
    nd_colormap_init(&cm, isfinite(lo) ? lo : 0, isfinite(hi) && hi > lo ? hi : lo + 1);
    nd_image im = {0};
    nd_buf png = {0};
    int rc = nd_render_colormap(v, (int)p->nx, (int)p->ny, &cm, &im);
    free(v);
    if (rc < 0) return nd_fail(err, ND_E_INTERNAL, "", "quick-look rendering failed");
    rc = nd_encode_png(&im, &png, err);
    nd_image_free(&im);
    if (rc >= 0) {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(png.data, 1, png.len, f) != png.len) rc = nd_fail(err, ND_E_IO, "", "cannot write the quick-look");
        if (f && fclose(f) != 0) rc = nd_fail(err, ND_E_IO, "", "cannot write the quick-look");
    }
    nd_buf_free(&png);
    return rc < 0 ? -1 : 0;
}

/* Generalised cross-validation of the lengths and ε² around the given values; g's lengths and ob->eps2_all become
 * the choice and *cv the scores. */
#define CV_MAX_POINTS 100000
static int cross_validate(nd_kernel_env *env, nd_divand_grid *g, nd_divand_obs *ob, json_t **cv, nd_error *err) {
    size_t npts = 1;
    for (int k = 0; k < g->ndim; k++) npts *= g->n[k];
    if (npts > CV_MAX_POINTS)
        return nd_fail(err, ND_E_INVALID_PARAM, "cross_validation", "cross-validation is limited to %d grid points "
                       "(this grid has %zu): use a coarser resolution or fewer levels", CV_MAX_POINTS, npts);
    if (env->progress) env->progress(env, 2, "cross-validating the lengths and epsilon2");
    const double lens[] = {0.5, 1, 2}, factors[] = {0.1, 0.3, 1, 3, 10};
    enum { NL = 3, NE = 5 };
    double eps2[NE], scores[NL * NE];
    for (int i = 0; i < NE; i++) eps2[i] = ob->eps2_all * factors[i];
    size_t best;
    char kerr[300];
    if (nd_divand_cv(g, ob, lens, NL, eps2, NE, 8, 1, scores, &best, kerr, sizeof kerr) < 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "cross_validation", "%s", kerr);
    json_t *list = json_array();
    for (int i = 0; i < NL * NE; i++)
        json_array_append_new(list, json_pack("{s:f, s:f, s:f}", "length_factor", lens[i / NE], "epsilon2",
                                              eps2[i % NE], "gcv", scores[i]));
    *cv = json_pack("{s:s, s:o, s:f, s:f}", "method", "GCV", "candidates", list, "length_factor", lens[best / NE],
                    "epsilon2", eps2[best % NE]);
    for (int k = 0; k < g->ndim; k++) g->len[k] *= lens[best / NE];
    ob->eps2_all = eps2[best % NE];
    return 0;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    plan p;
    if (make_plan(in, &p, err) < 0) return -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nd_dv_table t = {0};
    size_t ntot = p.nx * p.ny * p.nz * p.nt, nxyz = p.nx * p.ny * p.nz;
    unsigned char *mask = malloc(ntot);
    double *pm[4] = {0}, *bgf = calloc(ntot, sizeof(double));
    double *x[4] = {0}, *d = NULL, *vel[2] = {0};
    nd_divand_result r = {0};
    json_t *cv = NULL;
    int rc = -1;
    for (int k = 0; k < 4; k++) pm[k] = malloc(ntot * sizeof(double));
    if (!mask || !bgf || !pm[0] || !pm[1] || !pm[2] || !pm[3]) {
        nd_fail(err, ND_E_INTERNAL, "", "out of memory for the grid");
        goto done;
    }
    if (read_obs(in, &t, err) < 0) goto done;
    if (env->progress && env->progress(env, 3, "observations read")) goto stopped;
    if (make_mask(env, in, &p, mask, err) < 0) goto done;
    for (size_t m = 1; m < p.nt; m++) memcpy(mask + m * nxyz, mask, nxyz);
    /* Scale factors in km (horizontal), m (vertical), months. */
    for (size_t q = 0; q < ntot; q++) {
        size_t i = q % p.nx, j = (q / p.nx) % p.ny, k = (q / (p.nx * p.ny)) % p.nz;
        double lat = p.s + p.res * (double)j;
        (void)i;
        pm[0][q] = 1 / (p.res * KM_PER_DEG * fmax(cos(lat * M_PI / 180), 0.01));
        pm[1][q] = 1 / (p.res * KM_PER_DEG);
        double dz = p.nz == 1 ? 1 : k == 0 ? p.z[1] - p.z[0] : k == p.nz - 1 ? p.z[k] - p.z[k - 1]
                                                                          : (p.z[k + 1] - p.z[k - 1]) / 2;
        pm[2][q] = 1 / dz;
        pm[3][q] = 1;
    }
    for (int k = 0; k < 4; k++) x[k] = malloc((t.n ? t.n : 1) * sizeof(double));
    d = malloc((t.n ? t.n : 1) * sizeof(double));
    if (!x[0] || !x[1] || !x[2] || !x[3] || !d) {
        nd_fail(err, ND_E_INTERNAL, "", "out of memory for the observations");
        goto done;
    }
    size_t outside = 0;
    for (size_t o = 0; o < t.n; o++) {
        x[0][o] = (t.lon[o] - p.w) / p.res, x[1][o] = (t.lat[o] - p.s) / p.res;
        x[2][o] = level_index(p.z, p.nz, t.depth[o], 5);
        x[3][o] = p.monthly ? (isfinite(t.time[o]) ? month_of(t.time[o]) : -1) : 0;
        if (x[2][o] < 0 || x[3][o] < 0 || x[0][o] < 0 || x[1][o] < 0 || x[0][o] > (double)(p.nx - 1) ||
            x[1][o] > (double)(p.ny - 1))
            outside++;
    }
    if (outside == t.n) {
        nd_fail(err, ND_E_INVALID_PARAM, "observations", "no observation in the domain (%zu read, %zu malformed lines)",
                t.n, t.nbad);
        goto done;
    }
    /* Background: the mean, or a plane in lon/lat, of the observations inside the grid. */
    double bg[3] = {0, 0, 0};
    const char *bgm = str_in(in, "background");
    if (strcmp(bgm, "none") != 0) {
        size_t m = 0;
        double *bx = malloc(t.n * sizeof(double) * 3);
        if (!bx) {
            nd_fail(err, ND_E_INTERNAL, "", "out of memory");
            goto done;
        }
        for (size_t o = 0; o < t.n; o++)
            if (x[2][o] >= 0 && x[3][o] >= 0 && x[0][o] >= 0 && x[1][o] >= 0 && x[0][o] <= (double)(p.nx - 1) &&
                x[1][o] <= (double)(p.ny - 1))
                bx[m] = t.lon[o], bx[t.n + m] = t.lat[o], bx[2 * t.n + m] = t.value[o], m++;
        if (strcmp(bgm, "trend") != 0 || nd_dv_fit_plane(m, bx, bx + t.n, bx + 2 * t.n, bg) < 0) {
            bg[1] = bg[2] = 0, bg[0] = 0;
            for (size_t o = 0; o < m; o++) bg[0] += bx[2 * t.n + o];
            bg[0] /= (double)(m ? m : 1);
        }
        free(bx);
    }
    for (size_t o = 0; o < t.n; o++) d[o] = t.value[o] - (bg[0] + bg[1] * t.lon[o] + bg[2] * t.lat[o]);
    for (size_t q = 0; q < ntot; q++)
        bgf[q] = bg[0] + bg[1] * (p.w + p.res * (double)(q % p.nx)) + bg[2] * (p.s + p.res * (double)((q / p.nx) % p.ny));
    if (read_velocity(env, in, &p, ntot, vel, err) < 0) goto done;
    nd_divand_grid g = {.ndim = 4, .n = {p.nx, p.ny, p.nz, p.nt}, .mask = mask, .pm = {pm[0], pm[1], pm[2], pm[3]},
                        .vel = {vel[0], vel[1]}};
    g.len[0] = g.len[1] = num_in(in, "length_horizontal");
    g.len[2] = p.nz > 1 ? num_in(in, "length_vertical") : 0;
    g.len[3] = p.nt > 1 ? num_in(in, "length_time") : 0;
    nd_divand_obs ob = {.n = t.n, .x = {x[0], x[1], x[2], x[3]}, .value = d, .eps2_all = num_in(in, "epsilon2")};
    if (json_is_true(json_object_get(in, "cross_validation")) && cross_validate(env, &g, &ob, &cv, err) < 0) goto done;
    const char *em = str_in(in, "error"), *sv = str_in(in, "solver");
    prog pg = {env};
    nd_divand_opts opts = {
        .solver = strcmp(sv, "cholesky") == 0 ? ND_DIVAND_CHOLESKY : strcmp(sv, "pcg") == 0 ? ND_DIVAND_PCG : ND_DIVAND_AUTO,
        .error = strcmp(em, "none") == 0    ? ND_DIVAND_ERR_NONE
                 : strcmp(em, "cpme") == 0  ? ND_DIVAND_ERR_CPME
                 : strcmp(em, "exact") == 0 ? ND_DIVAND_ERR_EXACT
                                            : ND_DIVAND_ERR_AUTO,
        .progress = on_progress,
        .ctx = &pg,
    };
    char kerr[300];
    if (nd_divand_run(&g, &ob, &opts, &r, kerr, sizeof kerr) < 0) {
        nd_fail(err, strstr(kerr, "stopped") ? ND_E_INTERNAL : ND_E_INVALID_PARAM, "", "%s", kerr);
        goto done;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/divand.nc", env->dir);
    if (write_nc(path, &p, in, g.len[0] / num_in(in, "length_horizontal"), ob.eps2_all, &t, &r, bgf, num_in(in, "error_threshold"), err) < 0) goto done;
    snprintf(path, sizeof path, "%s/quicklook.png", env->dir);
    if (write_quicklook(path, &p, &r, bgf, err) < 0) goto done;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    json_t *rep = json_pack("{s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:i, s:I, s:f}", "observations", (json_int_t)t.n,
                            "used", (json_int_t)r.nused, "dropped", (json_int_t)r.ndropped, "malformed",
                            (json_int_t)t.nbad, "flagged", (json_int_t)t.nflagged, "parameter",
                            t.parameter[0] ? t.parameter : "value", "solver",
                            r.solver_used == ND_DIVAND_PCG ? "pcg" : "cholesky", "error",
                            r.error_used == ND_DIVAND_ERR_EXACT  ? "exact"
                            : r.error_used == ND_DIVAND_ERR_CPME ? "cpme"
                                                                 : "none",
                            "iterations", r.iterations, "sea_points", (json_int_t)r.nsea, "seconds",
                            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
    json_t *lines = json_array();
    for (const char *l = t.report; l && *l;) {
        const char *e = strchr(l, '\n');
        size_t n = e ? (size_t)(e - l) : strlen(l);
        json_array_append_new(lines, json_stringn(l, n));
        l = e ? e + 1 : NULL;
    }
    json_object_set_new(rep, "malformed_lines", lines);
    json_object_set_new(rep, "epsilon2", json_real(ob.eps2_all));
    if (cv) json_object_set_new(rep, "cross_validation", cv), cv = NULL;
    json_object_set_new(out, "analysis", json_pack("{s:s, s:s}", "file", "divand.nc", "mediaType", "application/x-netcdf"));
    json_object_set_new(out, "quicklook", json_pack("{s:s, s:s}", "file", "quicklook.png", "mediaType", "image/png"));
    json_object_set_new(out, "report", json_pack("{s:o, s:s}", "value", rep, "mediaType", "application/json"));
    if (env->progress) env->progress(env, 100, "done");
    rc = 0;
    goto done;
stopped:
    nd_fail(err, ND_E_INTERNAL, "", "the job was stopped");
done:
    json_decref(cv);
    nd_dv_table_free(&t);
    nd_divand_result_free(&r);
    free(mask), free(bgf), free(d), free(vel[0]), free(vel[1]);
    for (int k = 0; k < 4; k++) free(pm[k]), free(x[k]);
    return rc;
}

const nd_process nd_process_divand = {
    .id = "divand",
    .title = "DIVAnd gridded analysis",
    .description = "Variational analysis (DIVAnd, Barth et al. 2014) of in-situ observations into a lon/lat/depth/time "
                   "field with its relative error, on the sea part of the grid; CF NetCDF output.",
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
