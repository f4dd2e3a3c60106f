/* A dataset's full netCDF-model structure: read from the first file for NetCDF (time joined for aggregations),
 * synthesised from the grid for rasters (x/y from the geotransform, a CRS variable). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <netcdf.h>
#include <ogr_srs_api.h>

#include "nadir/arena.h"
#include "nadir/read.h"
#include "nadir/schema.h"

size_t nd_nc_type_size(int type) {
    nd_variable v = {.nc_type = type};
    return type >= NC_BYTE && type <= NC_STRING ? nd_var_type_size(&v) : 0;
}

static void attrs_free(nd_attr *a, size_t n);

/* A heap copy of the struct (not the data), so attrs_free can release one attribute. */
static nd_attr *attr_detach(const nd_attr *a) {
    nd_attr *c = nd_xmalloc(sizeof *c);
    *c = *a;
    return c;
}

static void attrs_free(nd_attr *a, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (a[i].type == NC_STRING) nd_schema_free_strings(a[i].data, a[i].len);
        else free(a[i].data);
        free(a[i].name);
    }
    free(a);
}

void nd_schema_free_strings(char **s, size_t n) {
    for (size_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

void nd_schema_free(nd_schema *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ndims; i++) free(s->dims[i].name);
    free(s->dims);
    for (size_t i = 0; i < s->nvars; i++) {
        nd_svar *v = &s->vars[i];
        nd_variable_clear(&v->v);
        free(v->dimids);
        free(v->path);
        attrs_free(v->attrs, v->nattrs);
        free(v->values);
    }
    free(s->vars);
    attrs_free(s->gattrs, s->ngattrs);
    for (size_t i = 0; i < s->ngroups; i++) {
        free(s->groups[i].name);
        free(s->groups[i].path);
        attrs_free(s->groups[i].attrs, s->groups[i].nattrs);
    }
    free(s->groups);
    free(s);
}

const nd_svar *nd_schema_var(const nd_schema *s, const char *name) {
    bool full = name[0] == '/';
    for (size_t i = 0; i < s->nvars; i++) {
        const nd_svar *v = &s->vars[i];
        if (v->group < 0 ? strcmp(v->v.name, name + full) == 0 : full && strcmp(v->path, name) == 0) return v;
    }
    return NULL;
}

const nd_attr *nd_schema_attr(const nd_attr *attrs, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(attrs[i].name, name) == 0) return &attrs[i];
    return NULL;
}

/* ---- Building blocks ---- */

static nd_attr *attr_push(nd_attr **a, size_t *n) {
    *a = nd_xrealloc(*a, (*n + 1) * sizeof **a);
    nd_attr *r = &(*a)[(*n)++];
    *r = (nd_attr){0};
    return r;
}

static void attr_text(nd_attr **a, size_t *n, const char *name, const char *text) {
    if (!text) return;
    nd_attr *r = attr_push(a, n);
    r->name = nd_xstrdup(name);
    r->type = NC_CHAR;
    r->len = strlen(text);
    r->data = nd_xstrdup(text);
}

static void attr_num(nd_attr **a, size_t *n, const char *name, int type, double value) {
    nd_attr *r = attr_push(a, n);
    r->name = nd_xstrdup(name);
    r->type = type;
    r->len = 1;
    size_t sz = nd_nc_type_size(type);
    r->data = nd_xcalloc(1, sz ? sz : 8);
    /* Stored in the variable's own type, so _FillValue matches it exactly. */
    switch (type) {
    case NC_BYTE: *(signed char *)r->data = (signed char)value; break;
    case NC_UBYTE: *(unsigned char *)r->data = (unsigned char)value; break;
    case NC_SHORT: *(short *)r->data = (short)value; break;
    case NC_USHORT: *(unsigned short *)r->data = (unsigned short)value; break;
    case NC_INT: *(int *)r->data = (int)value; break;
    case NC_UINT: *(unsigned *)r->data = (unsigned)value; break;
    case NC_INT64: *(long long *)r->data = (long long)value; break;
    case NC_UINT64: *(unsigned long long *)r->data = (unsigned long long)value; break;
    case NC_FLOAT: *(float *)r->data = (float)value; break;
    default: r->type = NC_DOUBLE; *(double *)r->data = value; break;
    }
}

/* All attributes of varid (NC_GLOBAL too) of atomic types; user-defined types are skipped. */
static int read_attrs(int ncid, int varid, nd_attr **out, size_t *n) {
    int natts;
    if (nc_inq_varnatts(ncid, varid, &natts) != NC_NOERR) return -1;
    for (int i = 0; i < natts; i++) {
        char name[NC_MAX_NAME + 1];
        nc_type t;
        size_t len;
        if (nc_inq_attname(ncid, varid, i, name) != NC_NOERR || nc_inq_att(ncid, varid, name, &t, &len) != NC_NOERR)
            return -1;
        if (t < NC_BYTE || t > NC_STRING) continue;
        nd_attr *r = attr_push(out, n);
        r->name = nd_xstrdup(name);
        r->type = t;
        r->len = len;
        size_t sz = nd_nc_type_size(t);
        r->data = nd_xcalloc(len + 1, sz);
        int rc = nc_get_att(ncid, varid, name, r->data);
        if (rc != NC_NOERR) return -1;
        if (t == NC_STRING) {
            /* Own copies, so one free() path serves every attribute. */
            char **s = r->data;
            for (size_t k = 0; k < len; k++) {
                char *c = nd_xstrdup(s[k] ? s[k] : "");
                nc_free_string(1, &s[k]);
                s[k] = c;
            }
        }
    }
    return 0;
}

static nd_svar *var_push(nd_schema *s) {
    s->vars = nd_xrealloc(s->vars, (s->nvars + 1) * sizeof *s->vars);
    nd_svar *v = &s->vars[s->nvars++];
    *v = (nd_svar){.group = -1};
    return v;
}

/* Fills dims/shape/dimids from dimension indexes of s. */
static void set_dims(nd_schema *s, nd_svar *v, const int *dimids, int ndims) {
    v->v.ndims = ndims;
    v->v.dims = nd_xcalloc((size_t)ndims + 1, sizeof *v->v.dims);
    v->v.shape = nd_xcalloc((size_t)ndims + 1, sizeof *v->v.shape);
    v->dimids = nd_xcalloc((size_t)ndims + 1, sizeof *v->dimids);
    for (int k = 0; k < ndims; k++) {
        v->dimids[k] = dimids[k];
        v->v.dims[k] = nd_xstrdup(s->dims[dimids[k]].name);
        v->v.shape[k] = s->dims[dimids[k]].len;
    }
    v->is_coord = ndims == 1 && strcmp(v->v.name, v->v.dims[0]) == 0 && s->dims[dimids[0]].group == v->group;
}

/* ---- NetCDF ---- */

/* With a configured variable list, other data variables stay hidden; coordinates and the rest are kept. */
static bool hidden(const nd_dataset *ds, const char *name, int ndims) {
    return ds->conf && ds->conf->nvariables > 0 && ndims >= 2 && !nd_dataset_var(ds, name);
}

/* Dimensions, variables and attributes of one group (group: -1 for the root), then its subgroups depth-first, so
 * parents come before children in every list. ncdims maps schema dimensions to netCDF dimension ids, which are
 * unique in a file, so a variable finds the dimensions of its parent groups too. */
static int build_group(const nd_dataset *ds, int ncid, int group, nd_schema *s, int **ncdims, nd_error *err) {
    int ndims, nvars, unlim = -1;
    if (nc_inq(ncid, &ndims, &nvars, NULL, &unlim) != NC_NOERR || nc_inq_dimids(ncid, &ndims, NULL, 0) != NC_NOERR)
        return nd_fail(err, ND_E_IO, "", "Cannot read the structure of %s", ds->id);
    int *dimids = nd_xcalloc((size_t)ndims + 1, sizeof *dimids);
    nc_inq_dimids(ncid, &ndims, dimids, 0);
    bool agg = ds->time && ds->nfiles > 1 && group < 0;
    const char *gpath = group < 0 ? "" : s->groups[group].path;
    for (int i = 0; i < ndims; i++) {
        char name[NC_MAX_NAME + 1];
        size_t len;
        nc_inq_dim(ncid, dimids[i], name, &len);
        s->dims = nd_xrealloc(s->dims, (s->ndims + 1) * sizeof *s->dims);
        *ncdims = nd_xrealloc(*ncdims, (s->ndims + 1) * sizeof **ncdims);
        if (agg && strcmp(name, ds->time->name) == 0) len = ds->time->n;
        (*ncdims)[s->ndims] = dimids[i];
        s->dims[s->ndims++] = (nd_dim){nd_xstrdup(name), len, dimids[i] == unlim, group};
    }
    free(dimids);
    for (int id = 0; id < nvars; id++) {
        char name[NC_MAX_NAME + 1];
        nc_type t;
        int nd, vd[NC_MAX_VAR_DIMS], idx[NC_MAX_VAR_DIMS];
        if (nc_inq_var(ncid, id, name, &t, &nd, vd, NULL) != NC_NOERR || t < NC_BYTE || t > NC_STRING ||
            (group < 0 && hidden(ds, name, nd)))
            continue;
        bool ok = true;
        for (int k = 0; k < nd && ok; k++) {
            idx[k] = -1;
            for (size_t j = 0; j < s->ndims; j++)
                if ((*ncdims)[j] == vd[k]) idx[k] = (int)j;
            ok = idx[k] >= 0;
        }
        if (!ok) continue;
        nd_svar *v = var_push(s);
        v->v.name = nd_xstrdup(name);
        v->v.nc_type = t;
        v->type = t;
        v->group = group;
        if (group >= 0) {
            size_t n = strlen(gpath) + strlen(name) + 2;
            v->path = nd_xmalloc(n);
            snprintf(v->path, n, "%s/%s", gpath, name);
        }
        set_dims(s, v, idx, nd);
        if (read_attrs(ncid, id, &v->attrs, &v->nattrs) < 0)
            return nd_fail(err, ND_E_IO, name, "Cannot read the attributes of %s", name);
        /* The joined time coordinate is served from the axis, in the first file's units (files may differ). */
        if (agg && v->is_coord && strcmp(name, ds->time->name) == 0) {
            v->type = NC_DOUBLE;
            v->values = nd_xmalloc(ds->time->n * sizeof(double) + 1);
            memcpy(v->values, ds->time->values, ds->time->n * sizeof(double));
            size_t keep = 0; /* fill values are dropped: their type was the file's */
            for (size_t a = 0; a < v->nattrs; a++) {
                if (strcmp(v->attrs[a].name, "_FillValue") == 0 || strcmp(v->attrs[a].name, "missing_value") == 0)
                    attrs_free(attr_detach(&v->attrs[a]), 1);
                else
                    v->attrs[keep++] = v->attrs[a];
            }
            v->nattrs = keep;
        }
    }
    nd_attr **ga = group < 0 ? &s->gattrs : &s->groups[group].attrs;
    size_t *nga = group < 0 ? &s->ngattrs : &s->groups[group].nattrs;
    if (read_attrs(ncid, NC_GLOBAL, ga, nga) < 0)
        return nd_fail(err, ND_E_IO, "", "Cannot read the group attributes of %s", ds->id);
    int ngrps = 0;
    if (nc_inq_grps(ncid, &ngrps, NULL) != NC_NOERR || ngrps <= 0) return 0;
    int *grps = nd_xcalloc((size_t)ngrps, sizeof *grps);
    nc_inq_grps(ncid, &ngrps, grps);
    int rc = 0;
    for (int i = 0; i < ngrps && rc == 0; i++) {
        char name[NC_MAX_NAME + 1];
        if (nc_inq_grpname(grps[i], name) != NC_NOERR) continue;
        s->groups = nd_xrealloc(s->groups, (s->ngroups + 1) * sizeof *s->groups);
        size_t n = strlen(gpath) + strlen(name) + 2;
        char *path = nd_xmalloc(n);
        snprintf(path, n, "%s/%s", gpath, name);
        int g = (int)s->ngroups++;
        s->groups[g] = (nd_group){nd_xstrdup(name), path, group, NULL, 0};
        rc = build_group(ds, grps[i], g, s, ncdims, err);
    }
    free(grps);
    return rc;
}

static int build_netcdf(const nd_dataset *ds, int ncid, nd_schema *s, nd_error *err) {
    int *ncdims = NULL;
    int rc = build_group(ds, ncid, -1, s, &ncdims, err);
    free(ncdims);
    return rc;
}

/* ---- Rasters ---- */

static int gdal_to_nc(int gdal_type) {
    switch ((GDALDataType)gdal_type) {
    case GDT_Byte: return NC_UBYTE;
    case GDT_UInt16: return NC_USHORT;
    case GDT_Int16: return NC_SHORT;
    case GDT_UInt32: return NC_UINT;
    case GDT_Int32: return NC_INT;
    case GDT_Float32: return NC_FLOAT;
    case GDT_Float64: return NC_DOUBLE;
    default: return 0; /* complex bands have no netCDF atomic type */
    }
}

static void add_dim(nd_schema *s, const char *name, size_t len) {
    s->dims = nd_xrealloc(s->dims, (s->ndims + 1) * sizeof *s->dims);
    s->dims[s->ndims++] = (nd_dim){nd_xstrdup(name), len, false, -1};
}

static nd_svar *coord_var(nd_schema *s, const char *name, int dim, const double *values, size_t n) {
    nd_svar *v = var_push(s);
    v->v.name = nd_xstrdup(name);
    v->v.nc_type = NC_DOUBLE;
    v->type = NC_DOUBLE;
    set_dims(s, v, &dim, 1);
    v->values = nd_xmalloc(n * sizeof(double) + 1);
    memcpy(v->values, values, n * sizeof(double));
    return v;
}

static int build_raster(const nd_dataset *ds, nd_schema *s, nd_error *err) {
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    bool geographic = false;
    const char *lin = "m";
    if (OSRSetFromUserInput(srs, ds->crs_wkt) == OGRERR_NONE) {
        geographic = OSRIsGeographic(srs);
        char *unit = NULL;
        OSRGetLinearUnits(srs, &unit);
        if (unit && strcmp(unit, "metre") != 0 && strcmp(unit, "meter") != 0) lin = NULL;
    }
    OSRDestroySpatialReference(srs);
    int td = -1, yd, xd;
    if (ds->time) {
        td = (int)s->ndims;
        add_dim(s, ds->time->name, ds->time->n);
    }
    yd = (int)s->ndims;
    add_dim(s, ds->y_dim, ds->height);
    xd = (int)s->ndims;
    add_dim(s, ds->x_dim, ds->width);
    if (td >= 0) {
        nd_svar *t = coord_var(s, ds->time->name, td, ds->time->values, ds->time->n);
        attr_text(&t->attrs, &t->nattrs, "standard_name", "time");
        attr_text(&t->attrs, &t->nattrs, "units", ds->time->units);
        attr_text(&t->attrs, &t->nattrs, "calendar", nd_cal_name(ds->time->tu.cal));
        attr_text(&t->attrs, &t->nattrs, "axis", "T");
    }
    if (ds->y_values && ds->x_values) {
        nd_svar *y = coord_var(s, ds->y_dim, yd, ds->y_values, ds->height);
        attr_text(&y->attrs, &y->nattrs, "standard_name", geographic ? "latitude" : "projection_y_coordinate");
        attr_text(&y->attrs, &y->nattrs, "long_name", geographic ? "latitude" : "y coordinate of projection");
        attr_text(&y->attrs, &y->nattrs, "units", geographic ? "degrees_north" : lin);
        attr_text(&y->attrs, &y->nattrs, "axis", "Y");
        nd_svar *x = coord_var(s, ds->x_dim, xd, ds->x_values, ds->width);
        attr_text(&x->attrs, &x->nattrs, "standard_name", geographic ? "longitude" : "projection_x_coordinate");
        attr_text(&x->attrs, &x->nattrs, "long_name", geographic ? "longitude" : "x coordinate of projection");
        attr_text(&x->attrs, &x->nattrs, "units", geographic ? "degrees_east" : lin);
        attr_text(&x->attrs, &x->nattrs, "axis", "X");
    }
    /* The CF grid-mapping container: GDAL reads spatial_ref and GeoTransform, CF readers crs_wkt. */
    nd_svar *c = var_push(s);
    c->v.name = nd_xstrdup("crs");
    c->v.nc_type = NC_INT;
    c->type = NC_INT;
    c->constant = true;
    set_dims(s, c, NULL, 0);
    if (geographic) attr_text(&c->attrs, &c->nattrs, "grid_mapping_name", "latitude_longitude");
    attr_text(&c->attrs, &c->nattrs, "crs_wkt", ds->crs_wkt);
    attr_text(&c->attrs, &c->nattrs, "spatial_ref", ds->crs_wkt);
    char gt[256];
    const double *g = ds->geotransform;
    snprintf(gt, sizeof gt, "%.17g %.17g %.17g %.17g %.17g %.17g", g[0], g[1], g[2], g[3], g[4], g[5]);
    attr_text(&c->attrs, &c->nattrs, "GeoTransform", gt);
    if (ds->epsg) attr_num(&c->attrs, &c->nattrs, "epsg_code", NC_INT, ds->epsg);
    for (size_t i = 0; i < ds->nvars; i++) {
        const nd_variable *b = &ds->vars[i];
        int type = gdal_to_nc(b->gdal_type);
        if (!type) continue;
        nd_svar *v = var_push(s);
        v->v.name = nd_xstrdup(b->name);
        v->v.gdal_type = b->gdal_type;
        v->v.band = b->band;
        v->type = type;
        int dims[3], nd = 0;
        if (td >= 0) dims[nd++] = td;
        dims[nd++] = yd;
        dims[nd++] = xd;
        set_dims(s, v, dims, nd);
        attr_text(&v->attrs, &v->nattrs, "long_name", b->long_name);
        attr_text(&v->attrs, &v->nattrs, "units", b->units);
        if (b->has_fill) attr_num(&v->attrs, &v->nattrs, "_FillValue", type, b->fill);
        if (b->scale != 1.0 || b->offset != 0.0) {
            attr_num(&v->attrs, &v->nattrs, "scale_factor", NC_DOUBLE, b->scale);
            attr_num(&v->attrs, &v->nattrs, "add_offset", NC_DOUBLE, b->offset);
        }
        attr_text(&v->attrs, &v->nattrs, "grid_mapping", "crs");
    }
    attr_text(&s->gattrs, &s->ngattrs, "Conventions", "CF-1.8");
    if (ds->conf) {
        attr_text(&s->gattrs, &s->ngattrs, "title", ds->conf->title);
        attr_text(&s->gattrs, &s->ngattrs, "summary", ds->conf->abstract);
        attr_text(&s->gattrs, &s->ngattrs, "license", ds->conf->license);
    }
    (void)err;
    return 0;
}

int nd_schema_build(const nd_dataset *ds, nd_schema **out, nd_error *err) {
    nd_schema *s = nd_xcalloc(1, sizeof *s);
    int rc;
    if (ds->kind == ND_DS_RASTER) {
        rc = build_raster(ds, s, err);
    } else {
        nd_nc_lock();
        int ncid;
        rc = nc_open(ds->files[0], NC_NOWRITE, &ncid);
        if (rc != NC_NOERR) {
            rc = nd_fail(err, ND_E_IO, "", "Cannot open the data of %s (%s)", ds->id, nc_strerror(rc));
        } else {
            rc = build_netcdf(ds, ncid, s, err);
            nc_close(ncid);
        }
        nd_nc_unlock();
    }
    if (rc < 0) {
        nd_schema_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

int nd_schema_read(const nd_dataset *ds, const nd_svar *sv, const size_t *start, const size_t *count,
                   const ptrdiff_t *stride, void *out, nd_error *err) {
    if (sv->constant) {
        memset(out, 0, nd_nc_type_size(sv->type));
        return 0;
    }
    if (sv->values) {
        if (stride[0] < 1 || start[0] >= sv->v.shape[0] ||
            (count[0] && count[0] - 1 > (sv->v.shape[0] - 1 - start[0]) / (size_t)stride[0]))
            return nd_fail(err, ND_E_INVALID_PARAM, sv->v.dims[0], "Index range outside 0..%zu on %s",
                           sv->v.shape[0] - 1, sv->v.dims[0]);
        double *o = out;
        for (size_t i = 0; i < count[0]; i++) o[i] = sv->values[start[0] + i * (size_t)stride[0]];
        return 0;
    }
    nd_svar gsv;
    if (sv->path) { /* a variable in a group is read by its full name */
        gsv = *sv;
        gsv.v.name = sv->path;
        sv = &gsv;
    }
    if (sv->type != NC_STRING) return nd_read_hyperslab(ds, &sv->v, start, count, stride, out, err);
    /* Strings come back as netCDF-C allocations; copy them into malloc'd ones the caller frees. */
    size_t n = 1;
    for (int k = 0; k < sv->v.ndims; k++) n *= count[k];
    int rc = nd_read_hyperslab(ds, &sv->v, start, count, stride, out, err);
    if (rc < 0) return rc;
    char **s = out;
    nd_nc_lock();
    for (size_t i = 0; i < n; i++) {
        char *c = nd_xstrdup(s[i] ? s[i] : "");
        nc_free_string(1, &s[i]);
        s[i] = c;
    }
    nd_nc_unlock();
    return 0;
}
