/* Globs of files joined along time (THREDDS joinExisting): NetCDF by their time axes, rasters by a date in the name. */
#include <ctype.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/dataset.h"

typedef struct {
    nd_dataset *ds;
    double key; /* first time step, in days from a common reference: the sort order */
} part;

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *base(const nd_dataset *d) { return nd_path_base(d->files[0]); }

static int by_key(const void *a, const void *b) {
    double x = ((const part *)a)->key, y = ((const part *)b)->key;
    return x < y ? -1 : x > y;
}

static bool near(double a, double b) { return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b))); }

/* ---- Every file must be the same grid with the same variables ---- */

static int same_axis(const char *name, const double *a, size_t na, const double *b, size_t nb, char *why, size_t n) {
    if (na != nb) return snprintf(why, n, "%s has %zu vs %zu points", name, na, nb), -1;
    for (size_t i = 0; a && b && i < na; i++)
        if (!near(a[i], b[i])) return snprintf(why, n, "%s[%zu] is %.10g vs %.10g", name, i, a[i], b[i]), -1;
    return 0;
}

static int same_vars(const nd_dataset *a, const nd_dataset *b, char *why, size_t n) {
    if (a->nvars != b->nvars) return snprintf(why, n, "%zu vs %zu variables", a->nvars, b->nvars), -1;
    for (size_t i = 0; i < a->nvars; i++) {
        const nd_variable *va = &a->vars[i], *vb = nd_dataset_var(b, va->name);
        if (!vb) return snprintf(why, n, "variable '%s' is missing from the second", va->name), -1;
        bool same = va->ndims == vb->ndims;
        for (int k = 0; same && k < va->ndims; k++)
            same = strcmp(va->dims[k], vb->dims[k]) == 0 &&
                   ((a->time && strcmp(va->dims[k], a->time->name) == 0) || va->shape[k] == vb->shape[k]);
        if (!same) return snprintf(why, n, "variable '%s' has other dimensions", va->name), -1;
    }
    return 0;
}

static int same_grid(const nd_dataset *a, const nd_dataset *b, char *err, size_t errlen) {
    char why[256] = "";
    int bad = 0;
    if (strcmp(a->crs_wkt, b->crs_wkt) != 0) bad = snprintf(why, sizeof why, "the CRS differs");
    else if (strcmp(a->x_name, b->x_name) != 0 || strcmp(a->y_name, b->y_name) != 0)
        bad = snprintf(why, sizeof why, "coordinates %s/%s vs %s/%s", a->x_name, a->y_name, b->x_name, b->y_name);
    else if (same_axis(a->x_name, a->x_values, a->width, b->x_values, b->width, why, sizeof why) < 0 ||
             same_axis(a->y_name, a->y_values, a->height, b->y_values, b->height, why, sizeof why) < 0)
        bad = 1;
    else if (same_axis("geotransform", a->geotransform, 6, b->geotransform, 6, why, sizeof why) < 0)
        bad = 1;
    else if (!a->vertical != !b->vertical)
        bad = snprintf(why, sizeof why, "only one has a vertical axis");
    else if (a->vertical && same_axis(a->vertical->name, a->vertical->values, a->vertical->n, b->vertical->values,
                                      b->vertical->n, why, sizeof why) < 0)
        bad = 1;
    else if (same_vars(a, b, why, sizeof why) < 0)
        bad = 1;
    if (!bad) return 0;
    return fail(err, errlen, "%s and %s: grids differ, cannot join them (%s)", base(a), base(b), why);
}

/* ---- Joining ---- */

static int overlap(const nd_dataset *a, const nd_datetime *last, const nd_dataset *b, const nd_datetime *first,
                   char *err, size_t errlen) {
    char sa[64] = "", sb[64] = "";
    nd_datetime_format(last, sa, sizeof sa);
    nd_datetime_format(first, sb, sizeof sb);
    return fail(err, errlen, "%s (to %s) and %s (from %s): duplicate or overlapping time steps", base(a), sa, base(b),
                sb);
}

/* The joined axis in the first file's units: values of files with other units are decoded, then re-encoded. */
static int join_time(part *parts, size_t n, nd_time_axis **out, char *err, size_t errlen) {
    const nd_time_axis *t0 = parts[0].ds->time;
    nd_time_axis *t = calloc(1, sizeof *t);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += parts[i].ds->time->n;
    *out = t;
    if (!t || !(t->name = strdup(t0->name)) || !(t->units = strdup(t0->units)) ||
        !(t->values = calloc(total, sizeof *t->values)) || !(t->dates = calloc(total, sizeof *t->dates)) ||
        !(t->file_index = calloc(total, sizeof *t->file_index)) ||
        !(t->local_index = calloc(total, sizeof *t->local_index)))
        return fail(err, errlen, "out of memory");
    t->tu = t0->tu;
    for (size_t i = 0; i < n; i++) {
        const nd_time_axis *ti = parts[i].ds->time;
        bool same_units = strcmp(ti->units, t0->units) == 0;
        for (size_t k = 0; k < ti->n; k++, t->n++) {
            double v = ti->values[k];
            if (!same_units && nd_time_encode(&t->tu, &ti->dates[k], &v) < 0)
                return fail(err, errlen, "%s: time step %zu cannot be expressed in '%s'", base(parts[i].ds), k,
                            t->units);
            if (t->n && v <= t->values[t->n - 1])
                return overlap(parts[i - 1].ds, &t->dates[t->n - 1], parts[i].ds, &ti->dates[k], err, errlen);
            t->values[t->n] = v;
            t->dates[t->n] = ti->dates[k];
            t->file_index[t->n] = (uint32_t)i;
            t->local_index[t->n] = (uint32_t)k;
        }
    }
    return 0;
}

/* Moves the first part into ds and gives it every file and the joined time axis. */
static int assemble(nd_dataset *ds, part *parts, size_t n, nd_time_axis *time, char *err, size_t errlen) {
    const nd_dataset_conf *conf = ds->conf;
    char **files = calloc(n, sizeof *files);
    if (!files) {
        nd_time_axis_free(time);
        return fail(err, errlen, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        files[i] = parts[i].ds->files[0];
        parts[i].ds->files[0] = NULL;
    }
    *ds = *parts[0].ds;
    free(parts[0].ds);
    parts[0].ds = NULL;
    ds->conf = conf;
    ds->id = conf->id;
    free(ds->files[0]);
    free(ds->files);
    ds->files = files;
    ds->nfiles = n;
    nd_time_axis_free(ds->time);
    ds->time = time;
    for (size_t i = 0; i < ds->nvars; i++)
        for (int k = 0; k < ds->vars[i].ndims; k++)
            if (strcmp(ds->vars[i].dims[k], time->name) == 0) ds->vars[i].shape[k] = time->n;
    return 0;
}

static int open_part(nd_dataset *ds, const char *path, bool netcdf, part *p, char *err, size_t errlen) {
    p->ds = calloc(1, sizeof *p->ds);
    if (!p->ds) return fail(err, errlen, "out of memory");
    p->ds->conf = ds->conf;
    p->ds->id = ds->id;
    return netcdf ? nd_dataset_load_netcdf(p->ds, path, err, errlen) : nd_dataset_load_raster(p->ds, path, err, errlen);
}

static int join_netcdf(nd_dataset *ds, char **paths, size_t n, part *parts, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        if (open_part(ds, paths[i], true, &parts[i], err, errlen) < 0) return -1;
        const nd_dataset *d = parts[i].ds, *d0 = parts[0].ds;
        if (!d->time || d->time->n == 0) return fail(err, errlen, "%s: no time steps to join along", base(d));
        if (i && d->time->tu.cal != d0->time->tu.cal)
            return fail(err, errlen, "%s and %s: calendars differ (%s vs %s)", base(d0), base(d),
                        nd_cal_name(d0->time->tu.cal), nd_cal_name(d->time->tu.cal));
        if (i && same_grid(d0, d, err, errlen) < 0) return -1;
        parts[i].key = nd_datetime_diff_days(&d0->time->dates[0], &d->time->dates[0], d0->time->tu.cal);
    }
    qsort(parts, n, sizeof *parts, by_key);
    nd_time_axis *time = NULL;
    if (join_time(parts, n, &time, err, errlen) < 0) {
        nd_time_axis_free(time);
        return -1;
    }
    return assemble(ds, parts, n, time, err, errlen);
}

/* ---- Rasters: one time step per file, dated by YYYYMMDD in its name ---- */

static int name_date(const char *path, nd_datetime *dt) {
    const char *s = nd_path_base(path);
    for (size_t i = 0; s[i]; i++) {
        size_t k = 0;
        while (isdigit((unsigned char)s[i + k])) k++;
        if (k == 8) {
            *dt = (nd_datetime){0};
            if (sscanf(s + i, "%4d%2d%2d", &dt->year, &dt->month, &dt->day) == 3 &&
                nd_datetime_valid(dt, ND_CAL_STANDARD))
                return 0;
        }
        if (k) i += k - 1;
    }
    return -1;
}

static int raster_time(part *parts, size_t n, nd_time_axis **out, char *err, size_t errlen) {
    nd_time_axis *t = calloc(1, sizeof *t);
    *out = t;
    if (!t || !(t->name = strdup("time")) || !(t->units = strdup("days since 1970-01-01")) ||
        !(t->values = calloc(n, sizeof *t->values)) || !(t->dates = calloc(n, sizeof *t->dates)) ||
        !(t->file_index = calloc(n, sizeof *t->file_index)) || !(t->local_index = calloc(n, sizeof *t->local_index)))
        return fail(err, errlen, "out of memory");
    if (nd_time_units_parse(t->units, NULL, &t->tu) < 0) return fail(err, errlen, "cannot parse '%s'", t->units);
    for (size_t i = 0; i < n; i++, t->n++) {
        name_date(parts[i].ds->files[0], &t->dates[i]);
        nd_time_encode(&t->tu, &t->dates[i], &t->values[i]);
        if (i && t->values[i] <= t->values[i - 1])
            return fail(err, errlen, "%s and %s: same date", base(parts[i - 1].ds), base(parts[i].ds));
        t->file_index[i] = (uint32_t)i;
    }
    return 0;
}

/* Each band gains the time dimension in front of y/x. */
static int add_time_dim(nd_dataset *ds) {
    for (size_t i = 0; i < ds->nvars; i++) {
        nd_variable *v = &ds->vars[i];
        char **dims = calloc(3, sizeof *dims);
        size_t *shape = calloc(3, sizeof *shape);
        if (!dims || !shape || !(dims[0] = strdup(ds->time->name))) {
            free(dims);
            free(shape);
            return -1;
        }
        dims[1] = v->dims[0], dims[2] = v->dims[1];
        shape[0] = ds->time->n, shape[1] = v->shape[0], shape[2] = v->shape[1];
        free(v->dims);
        free(v->shape);
        v->dims = dims, v->shape = shape, v->ndims = 3, v->has_time = true;
    }
    return 0;
}

static int join_rasters(nd_dataset *ds, char **paths, size_t n, part *parts, char *err, size_t errlen) {
    for (size_t i = 0; i < n; i++) {
        nd_datetime dt;
        if (name_date(paths[i], &dt) < 0)
            return fail(err, errlen, "%s: no YYYYMMDD date in its name to place it in time", nd_path_base(paths[i]));
        if (open_part(ds, paths[i], false, &parts[i], err, errlen) < 0) return -1;
        if (i && same_grid(parts[0].ds, parts[i].ds, err, errlen) < 0) return -1;
        parts[i].key = nd_datetime_diff_days(&(nd_datetime){1970, 1, 1, 0, 0, 0}, &dt, ND_CAL_STANDARD);
    }
    qsort(parts, n, sizeof *parts, by_key);
    nd_time_axis *time = NULL;
    if (raster_time(parts, n, &time, err, errlen) < 0) {
        nd_time_axis_free(time);
        return -1;
    }
    if (assemble(ds, parts, n, time, err, errlen) < 0) return -1;
    return add_time_dim(ds) < 0 ? fail(err, errlen, "out of memory") : 0;
}

int nd_dataset_load_glob(nd_dataset *ds, const char *pattern, char *err, size_t errlen) {
    glob_t g;
    int rc = glob(pattern, 0, NULL, &g);
    if (rc != 0) {
        if (rc != GLOB_NOMATCH) globfree(&g);
        return fail(err, errlen, "%s: %s", pattern, rc == GLOB_NOMATCH ? "no file matches" : "cannot list the files");
    }
    size_t n = g.gl_pathc, nnc = 0;
    for (size_t i = 0; i < n; i++) nnc += nd_dataset_is_netcdf(g.gl_pathv[i]);
    part *parts = calloc(n, sizeof *parts);
    if (!parts) rc = fail(err, errlen, "out of memory");
    else if (nnc == n) rc = join_netcdf(ds, g.gl_pathv, n, parts, err, errlen);
    else if (nnc == 0) rc = join_rasters(ds, g.gl_pathv, n, parts, err, errlen);
    else rc = fail(err, errlen, "%s: mixes NetCDF and other files", pattern);
    for (size_t i = 0; parts && i < n; i++) nd_dataset_free(parts[i].ds);
    free(parts);
    globfree(&g);
    return rc;
}
