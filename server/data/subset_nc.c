/* Subsets written as CF NetCDF-4 with netCDF-C: coordinates, time with units and calendar, vertical axis,
 * a grid_mapping variable, the source's variable and global attributes carried over, values copied in
 * blocks of rows through nd_read_hyperslab (never the whole window in memory). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <netcdf.h>
#include <ogr_srs_api.h>

#include "nadir/arena.h"
#include "nadir/schema.h"
#include "nadir/subset.h"

/* netCDF-C is not thread-safe: every call takes the one process-wide lock (nd_nc_lock, shared with
 * nd_read_hyperslab, the DAP schema and the warper's NetCDF sources). */

#define BLOCK_BYTES (8u << 20)

/* The horizontal grid written: the native window (values through nd_read_hyperslab), or a grid GDAL
 * resampled or reprojected into a temporary GeoTIFF (values read from it band by band). */
typedef struct {
    const char *x_name, *y_name, *x_dim, *y_dim, *crs_wkt;
    int w, h;
    double gt[6];
    GDALDatasetH warped; /* NULL: native */
    int band;            /* next band of warped */
} ogrid;

typedef struct {
    int ncid;
    int src;          /* first source file (NetCDF datasets) for attributes, else -1 */
    nd_error *err;
    ogrid g;
} wctx;

static int nc_fail(wctx *c, int status) {
    (void)status;
    return nd_fail(c->err, ND_E_INTERNAL, "", "The NetCDF coverage could not be written");
}

#define NCW(c, call)                                                                                              \
    do {                                                                                                          \
        int _st = (call);                                                                                         \
        if (_st != NC_NOERR) return nc_fail(c, _st);                                                              \
    } while (0)

static nc_type nc_type_of_gdal(int gdal_type) {
    switch ((GDALDataType)gdal_type) {
    case GDT_Byte: return NC_UBYTE;
    case GDT_UInt16: return NC_USHORT;
    case GDT_Int16: return NC_SHORT;
    case GDT_UInt32: return NC_UINT;
    case GDT_Int32: return NC_INT;
    case GDT_Float32: return NC_FLOAT;
    default: return NC_DOUBLE;
    }
}

static nc_type nc_type_of(const nd_variable *v) { return v->nc_type ? v->nc_type : nc_type_of_gdal(v->gdal_type); }

static int put_text(wctx *c, int var, const char *name, const char *text) {
    NCW(c, nc_put_att_text(c->ncid, var, name, strlen(text), text));
    return 0;
}

/* Every attribute of the source variable named name (when the source is NetCDF), except skip ones. */
static int copy_atts(wctx *c, const char *name, int dst, const char *const *skip) {
    int sid;
    if (c->src < 0) return 0;
    if (name) {
        if (nc_inq_varid(c->src, name, &sid) != NC_NOERR) return 0;
    } else {
        sid = NC_GLOBAL;
    }
    int natts = 0;
    nc_inq_varnatts(c->src, sid, &natts);
    for (int i = 0; i < natts; i++) {
        char an[NC_MAX_NAME + 1];
        if (nc_inq_attname(c->src, sid, i, an) != NC_NOERR) continue;
        bool skipped = false;
        for (const char *const *k = skip; k && *k && !skipped; k++) skipped = strcmp(an, *k) == 0;
        if (!skipped) NCW(c, nc_copy_att(c->src, sid, an, c->ncid, dst));
    }
    return 0;
}

/* The CF grid mapping: WKT always (crs_wkt, and spatial_ref that GDAL reads), CF parameters for the
 * mappings clients most often meet. */
static int grid_mapping(wctx *c, int *gm) {
    NCW(c, nc_def_var(c->ncid, "crs", NC_INT, 0, NULL, gm));
    OGRSpatialReferenceH h = OSRNewSpatialReference(NULL);
    int rc = 0;
    if (OSRSetFromUserInput(h, c->g.crs_wkt) == OGRERR_NONE) {
        if (OSRIsGeographic(h)) {
            rc = put_text(c, *gm, "grid_mapping_name", "latitude_longitude");
        } else {
            const char *proj = OSRGetAttrValue(h, "PROJECTION", 0);
            if (proj && strcmp(proj, "Transverse_Mercator") == 0) {
                double p[5] = {OSRGetProjParm(h, SRS_PP_SCALE_FACTOR, 1, NULL),
                               OSRGetProjParm(h, SRS_PP_CENTRAL_MERIDIAN, 0, NULL),
                               OSRGetProjParm(h, SRS_PP_LATITUDE_OF_ORIGIN, 0, NULL),
                               OSRGetProjParm(h, SRS_PP_FALSE_EASTING, 0, NULL),
                               OSRGetProjParm(h, SRS_PP_FALSE_NORTHING, 0, NULL)};
                static const char *const names[5] = {"scale_factor_at_central_meridian", "longitude_of_central_meridian",
                                                     "latitude_of_projection_origin", "false_easting", "false_northing"};
                rc = put_text(c, *gm, "grid_mapping_name", "transverse_mercator");
                for (int i = 0; rc == 0 && i < 5; i++)
                    if (nc_put_att_double(c->ncid, *gm, names[i], NC_DOUBLE, 1, &p[i]) != NC_NOERR) rc = nc_fail(c, 0);
            }
        }
        double semi = OSRGetSemiMajor(h, NULL), inv = OSRGetInvFlattening(h, NULL);
        if (rc == 0 && (nc_put_att_double(c->ncid, *gm, "semi_major_axis", NC_DOUBLE, 1, &semi) != NC_NOERR ||
                        nc_put_att_double(c->ncid, *gm, "inverse_flattening", NC_DOUBLE, 1, &inv) != NC_NOERR))
            rc = nc_fail(c, 0);
    }
    OSRDestroySpatialReference(h);
    if (rc == 0) rc = put_text(c, *gm, "crs_wkt", c->g.crs_wkt);
    if (rc == 0) rc = put_text(c, *gm, "spatial_ref", c->g.crs_wkt);
    return rc;
}

typedef struct {
    int t, z, y, x; /* dimension ids, -1 when absent */
    int vt, vz, vy, vx;
    size_t y0;       /* first stored row */
} axes;

static int define_axes(wctx *c, nd_subset *s, const nd_subset_plan *p, axes *a) {
    const nd_dataset *ds = s->ds;
    bool want_t = false, want_z = false;
    for (size_t i = 0; i < s->nvars; i++) want_t |= s->vars[i]->has_time && ds->time, want_z |= s->vars[i]->has_vertical && ds->vertical;
    a->t = a->z = a->vt = a->vz = -1;
    static const char *const skip_none[] = {NULL};
    bool geo = false;
    {
        OGRSpatialReferenceH h = OSRNewSpatialReference(NULL);
        geo = OSRSetFromUserInput(h, c->g.crs_wkt) == OGRERR_NONE && OSRIsGeographic(h);
        OSRDestroySpatialReference(h);
    }
    if (want_t) {
        NCW(c, nc_def_dim(c->ncid, ds->time->name, s->nt, &a->t));
        NCW(c, nc_def_var(c->ncid, ds->time->name, NC_DOUBLE, 1, &a->t, &a->vt));
        if (copy_atts(c, ds->time->name, a->vt, skip_none) < 0) return -1;
        if (put_text(c, a->vt, "units", ds->time->units) < 0 ||
            put_text(c, a->vt, "calendar", nd_cal_name(ds->time->tu.cal)) < 0 ||
            put_text(c, a->vt, "standard_name", "time") < 0 || put_text(c, a->vt, "axis", "T") < 0)
            return -1;
    }
    if (want_z) {
        NCW(c, nc_def_dim(c->ncid, ds->vertical->name, s->nz, &a->z));
        NCW(c, nc_def_var(c->ncid, ds->vertical->name, NC_DOUBLE, 1, &a->z, &a->vz));
        if (copy_atts(c, ds->vertical->name, a->vz, skip_none) < 0) return -1;
        if (ds->vertical->units && put_text(c, a->vz, "units", ds->vertical->units) < 0) return -1;
        if (put_text(c, a->vz, "positive", ds->vertical->positive_down ? "down" : "up") < 0 ||
            put_text(c, a->vz, "axis", "Z") < 0)
            return -1;
    }
    const ogrid *g = &c->g;
    NCW(c, nc_def_dim(c->ncid, g->y_dim, (size_t)g->h, &a->y));
    NCW(c, nc_def_dim(c->ncid, g->x_dim, (size_t)g->w, &a->x));
    NCW(c, nc_def_var(c->ncid, g->y_name, NC_DOUBLE, 1, &a->y, &a->vy));
    NCW(c, nc_def_var(c->ncid, g->x_name, NC_DOUBLE, 1, &a->x, &a->vx));
    static const char *const skip_coord[] = {"bounds", "valid_min", "valid_max", "actual_range", NULL};
    if (!g->warped &&
        (copy_atts(c, ds->y_name, a->vy, skip_coord) < 0 || copy_atts(c, ds->x_name, a->vx, skip_coord) < 0))
        return -1;
    if (put_text(c, a->vy, "standard_name", geo ? "latitude" : "projection_y_coordinate") < 0 ||
        put_text(c, a->vx, "standard_name", geo ? "longitude" : "projection_x_coordinate") < 0 ||
        put_text(c, a->vy, "units", geo ? "degrees_north" : "m") < 0 ||
        put_text(c, a->vx, "units", geo ? "degrees_east" : "m") < 0 || put_text(c, a->vy, "axis", "Y") < 0 ||
        put_text(c, a->vx, "axis", "X") < 0)
        return -1;
    a->y0 = ds->y_ascending ? ds->height - (size_t)(p->yoff + p->ysize) : (size_t)p->yoff;
    return 0;
}

static int define_var(wctx *c, nd_subset *s, const nd_subset_plan *p, const axes *a, const nd_variable *v, int gm,
                      int *id) {
    int dims[4], n = 0;
    if (v->has_time && a->t >= 0) dims[n++] = a->t;
    if (v->has_vertical && a->z >= 0) dims[n++] = a->z;
    dims[n++] = a->y;
    dims[n++] = a->x;
    nc_type t = c->g.warped ? nc_type_of_gdal(p->gdal_type) : nc_type_of(v);
    NCW(c, nc_def_var(c->ncid, v->name, t, n, dims, id));
    size_t chunk[4];
    for (int i = 0; i < n - 2; i++) chunk[i] = 1;
    chunk[n - 2] = (size_t)(c->g.h < 256 ? c->g.h : 256);
    chunk[n - 1] = (size_t)(c->g.w < 256 ? c->g.w : 256);
    NCW(c, nc_def_var_chunking(c->ncid, *id, NC_CHUNKED, chunk));
    NCW(c, nc_def_var_deflate(c->ncid, *id, 1, 1, 4));
    static const char *const skip[] = {"grid_mapping", "coordinates", "chunksizes", "_ChunkSizes", NULL};
    /* Resampled values may be of another type than stored: fill values are written in the new one. */
    static const char *const skip_typed[] = {"grid_mapping", "coordinates", "chunksizes", "_ChunkSizes", "_FillValue",
                                             "missing_value", "valid_min", "valid_max", "valid_range", NULL};
    if (c->g.warped && s->ds->kind == ND_DS_NETCDF) {
        if (copy_atts(c, v->name, *id, skip_typed) < 0) return -1;
        if (v->has_fill) NCW(c, nc_put_att_double(c->ncid, *id, "_FillValue", t, 1, &v->fill));
    } else if (s->ds->kind == ND_DS_NETCDF) {
        if (copy_atts(c, v->name, *id, skip) < 0) return -1;
    } else {
        if (v->has_fill) {
            double f = v->fill;
            NCW(c, nc_put_att_double(c->ncid, *id, "_FillValue", t, 1, &f));
        }
        if (v->scale != 1) NCW(c, nc_put_att_double(c->ncid, *id, "scale_factor", NC_DOUBLE, 1, &v->scale));
        if (v->offset != 0) NCW(c, nc_put_att_double(c->ncid, *id, "add_offset", NC_DOUBLE, 1, &v->offset));
        if (v->long_name && put_text(c, *id, "long_name", v->long_name) < 0) return -1;
        if (v->units && put_text(c, *id, "units", v->units) < 0) return -1;
    }
    return put_text(c, *id, "grid_mapping", "crs");
}

static int write_coords(wctx *c, nd_subset *s, const nd_subset_plan *p, const axes *a) {
    const nd_dataset *ds = s->ds;
    size_t st, n;
    if (a->vt >= 0) {
        st = 0, n = s->nt;
        NCW(c, nc_put_vara_double(c->ncid, a->vt, &st, &n, ds->time->values + s->t0));
    }
    if (a->vz >= 0) {
        st = 0, n = s->nz;
        NCW(c, nc_put_vara_double(c->ncid, a->vz, &st, &n, ds->vertical->values + s->z0));
    }
    const ogrid *g = &c->g;
    const double *gt = g->warped ? g->gt : ds->geotransform;
    int xo = g->warped ? 0 : p->xoff, yo = g->warped ? 0 : p->yoff;
    bool stored = !g->warped; /* native: the coordinates as stored (irregular axes too) */
    double *buf = nd_xmalloc((size_t)(g->w > g->h ? g->w : g->h) * sizeof *buf);
    for (int i = 0; i < g->w; i++)
        buf[i] = stored && ds->x_values ? ds->x_values[xo + i] : gt[0] + (xo + i + 0.5) * gt[1];
    st = 0, n = (size_t)g->w;
    int rc = nc_put_vara_double(c->ncid, a->vx, &st, &n, buf);
    for (int j = 0; j < g->h; j++)
        buf[j] = stored && ds->y_values ? ds->y_values[a->y0 + (size_t)j] : gt[3] + (yo + j + 0.5) * gt[5];
    n = (size_t)g->h;
    if (rc == NC_NOERR) rc = nc_put_vara_double(c->ncid, a->vy, &st, &n, buf);
    free(buf);
    return rc == NC_NOERR ? 0 : nc_fail(c, rc);
}

/* Copies v's window for every selected time step and level, a block of rows at a time. */
/* Copies v's bands of the warped GeoTIFF (variables x steps x levels, in that order), a block of rows at a time. */
static int copy_warped(wctx *c, nd_subset *s, const nd_subset_plan *p, const axes *a, const nd_variable *v, int id) {
    size_t nt, nz;
    nd_subset_steps(s, v, &nt, &nz);
    GDALDataType gt = (GDALDataType)p->gdal_type;
    size_t row_bytes = (size_t)c->g.w * (size_t)GDALGetDataTypeSizeBytes(gt);
    size_t rows = BLOCK_BYTES / row_bytes;
    if (rows < 1) rows = 1;
    if (rows > (size_t)c->g.h) rows = (size_t)c->g.h;
    void *buf = nd_xmalloc(rows * row_bytes);
    int rc = 0;
    for (size_t t = 0; t < nt && rc == 0; t++)
        for (size_t z = 0; z < nz && rc == 0; z++) {
            GDALRasterBandH b = GDALGetRasterBand(c->g.warped, ++c->g.band);
            for (size_t r = 0; b && r < (size_t)c->g.h && rc == 0; r += rows) {
                size_t nr = (size_t)c->g.h - r < rows ? (size_t)c->g.h - r : rows;
                if (GDALRasterIO(b, GF_Read, 0, (int)r, c->g.w, (int)nr, buf, c->g.w, (int)nr, gt, 0, 0) != CE_None) {
                    rc = nd_fail(c->err, ND_E_IO, "", "The resampled coverage cannot be read back");
                    break;
                }
                size_t st[4], ct[4];
                int n = 0;
                if (v->has_time && a->t >= 0) st[n] = t, ct[n++] = 1;
                if (v->has_vertical && a->z >= 0) st[n] = z, ct[n++] = 1;
                st[n] = r, ct[n++] = nr;
                st[n] = 0, ct[n++] = (size_t)c->g.w;
                nd_nc_lock();
                int e = nc_put_vara(c->ncid, id, st, ct, buf);
                nd_nc_unlock();
                if (e != NC_NOERR) rc = nc_fail(c, e);
            }
            if (!b) rc = nd_fail(c->err, ND_E_INTERNAL, "", "A resampled band is missing");
        }
    free(buf);
    return rc;
}

static int copy_values(wctx *c, nd_subset *s, const nd_subset_plan *p, const axes *a, const nd_variable *v, int id) {
    if (c->g.warped) return copy_warped(c, s, p, a, v, id);
    size_t nt, nz, tsz = nd_var_type_size(v);
    nd_subset_steps(s, v, &nt, &nz);
    size_t row_bytes = (size_t)p->xsize * tsz;
    size_t rows = BLOCK_BYTES / (row_bytes ? row_bytes : 1);
    if (rows < 1) rows = 1;
    if (rows > (size_t)p->ysize) rows = (size_t)p->ysize;
    void *buf = nd_xmalloc(rows * row_bytes);
    int rc = 0;
    for (size_t t = 0; t < nt && rc == 0; t++)
        for (size_t z = 0; z < nz && rc == 0; z++)
            for (size_t r = 0; r < (size_t)p->ysize && rc == 0; r += rows) {
                size_t nr = (size_t)p->ysize - r < rows ? (size_t)p->ysize - r : rows;
                size_t start[NC_MAX_VAR_DIMS] = {0}, count[NC_MAX_VAR_DIMS] = {0};
                ptrdiff_t stride[NC_MAX_VAR_DIMS];
                /* Source indices in v's own dimension order; the destination is (t, z, y, x). */
                for (int d = 0; d < v->ndims; d++) {
                    const char *dn = v->dims[d];
                    count[d] = 1;
                    stride[d] = 1;
                    if (v->has_time && s->ds->time && strcmp(dn, s->ds->time->name) == 0) start[d] = s->t0 + t;
                    else if (v->has_vertical && s->ds->vertical && strcmp(dn, s->ds->vertical->name) == 0)
                        start[d] = s->z0 + z;
                    else if (strcmp(dn, s->ds->y_dim) == 0) start[d] = a->y0 + r, count[d] = nr;
                    else if (strcmp(dn, s->ds->x_dim) == 0) start[d] = (size_t)p->xoff, count[d] = (size_t)p->xsize;
                }
                rc = nd_read_hyperslab(s->ds, v, start, count, stride, buf, c->err);
                if (rc < 0) break;
                size_t ds_[4], dc[4];
                int n = 0;
                if (v->has_time && a->t >= 0) ds_[n] = t, dc[n++] = 1;
                if (v->has_vertical && a->z >= 0) ds_[n] = z, dc[n++] = 1;
                ds_[n] = r, dc[n++] = nr;
                ds_[n] = 0, dc[n++] = (size_t)p->xsize;
                nd_nc_lock();
                int st = nc_put_vara(c->ncid, id, ds_, dc, buf);
                nd_nc_unlock();
                if (st != NC_NOERR) rc = nc_fail(c, st);
            }
    free(buf);
    return rc;
}

static int define_all(wctx *c, nd_subset *s, const nd_subset_plan *p, axes *a, int *ids) {
    int gm;
    static const char *const skip_global[] = {"history", NULL};
    if (copy_atts(c, NULL, NC_GLOBAL, skip_global) < 0 || put_text(c, NC_GLOBAL, "Conventions", "CF-1.8") < 0)
        return -1;
    if (put_text(c, NC_GLOBAL, "history", "subset by nadir (WCS GetCoverage / subset process)") < 0) return -1;
    if (grid_mapping(c, &gm) < 0 || define_axes(c, s, p, a) < 0) return -1;
    for (size_t i = 0; i < s->nvars; i++)
        if (define_var(c, s, p, a, s->vars[i], gm, &ids[i]) < 0) return -1;
    return 0;
}

static int write_file(nd_subset *s, const nd_subset_plan *p, const char *path, wctx *cp);

/* Scaled or reprojected: GDAL resamples into a temporary GeoTIFF next to the output (the same values a
 * GeoTIFF answer would hold), which is then copied into the NetCDF file and removed. */
static int warp_first(nd_subset *s, const nd_subset_plan *p, const char *path, wctx *c, char **tmp, char **wkt) {
    if (asprintf(tmp, "%s.resampled.tif", path) < 0) return nd_fail(c->err, ND_E_INTERNAL, "", "Out of memory");
    nd_out_format f = s->format;
    s->format = ND_OUT_GTIFF;
    int rc = nd_subset_write_gdal(s, p, *tmp, c->err);
    s->format = f;
    if (rc < 0) return rc;
    GDALDatasetH h = GDALOpen(*tmp, GA_ReadOnly);
    if (!h) return nd_fail(c->err, ND_E_INTERNAL, "", "The resampled coverage cannot be read back");
    OGRSpatialReferenceH srs = GDALGetSpatialRef(h);
    const char *opts[] = {"FORMAT=WKT2_2019", "MULTILINE=NO", NULL};
    char *w = NULL;
    if (srs) OSRExportToWktEx(srs, &w, opts);
    *wkt = w ? strdup(w) : strdup(s->ds->crs_wkt);
    CPLFree(w);
    bool geo = false;
    if (srs) geo = OSRIsGeographic(srs);
    c->g.warped = h;
    c->g.w = GDALGetRasterXSize(h), c->g.h = GDALGetRasterYSize(h);
    GDALGetGeoTransform(h, c->g.gt);
    c->g.crs_wkt = *wkt;
    if (p->warp) {
        c->g.x_name = c->g.x_dim = geo ? "lon" : "x";
        c->g.y_name = c->g.y_dim = geo ? "lat" : "y";
    }
    return 0;
}

int nd_subset_write_netcdf(nd_subset *s, const nd_subset_plan *p, const char *path, nd_error *err) {
    for (size_t i = 0; i < s->nvars; i++)
        for (size_t k = 0; k < i; k++)
            if (strcmp(s->vars[i]->name, s->vars[k]->name) == 0)
                return nd_fail(err, ND_E_INVALID_PARAM, "rangeSubset", "A field is named twice");
    const nd_dataset *ds = s->ds;
    wctx c = {-1, -1, err, {ds->x_name, ds->y_name, ds->x_dim, ds->y_dim, ds->crs_wkt, p->xsize, p->ysize, {0}, NULL, 0}};
    char *tmp = NULL, *wkt = NULL;
    if (p->warp || p->out_w != p->xsize || p->out_h != p->ysize) {
        int rc = warp_first(s, p, path, &c, &tmp, &wkt);
        if (rc < 0) {
            if (c.g.warped) GDALClose(c.g.warped);
            if (tmp) remove(tmp);
            free(tmp);
            free(wkt);
            return rc;
        }
    }
    int rc = write_file(s, p, path, &c);
    if (c.g.warped) GDALClose(c.g.warped);
    if (tmp) remove(tmp);
    free(tmp);
    free(wkt);
    return rc;
}

static int write_file(nd_subset *s, const nd_subset_plan *p, const char *path, wctx *cp) {
    wctx c = *cp;
    nd_error *err = c.err;
    axes a;
    int ids[ND_SUBSET_MAX_VARS];
    nd_nc_lock();
    int rc = nc_create(path, NC_NETCDF4 | NC_CLOBBER, &c.ncid);
    if (rc != NC_NOERR) {
        nd_nc_unlock();
        return nd_fail(err, ND_E_INTERNAL, "", "The NetCDF coverage could not be created");
    }
    if (s->ds->kind == ND_DS_NETCDF && nc_open(s->ds->files[0], NC_NOWRITE, &c.src) != NC_NOERR) c.src = -1;
    rc = define_all(&c, s, p, &a, ids);
    if (rc == 0 && nc_enddef(c.ncid) != NC_NOERR) rc = nc_fail(&c, 0);
    if (rc == 0) rc = write_coords(&c, s, p, &a);
    if (c.src >= 0) nc_close(c.src);
    nd_nc_unlock();
    for (size_t i = 0; rc == 0 && i < s->nvars; i++) rc = copy_values(&c, s, p, &a, s->vars[i], ids[i]);
    nd_nc_lock();
    if (nc_close(c.ncid) != NC_NOERR && rc == 0) rc = nd_fail(err, ND_E_INTERNAL, "", "The NetCDF coverage could not be finished");
    nd_nc_unlock();
    cp->g.band = c.g.band;
    return rc;
}
