/* Subsets: resolving a request (variables, time/level ranges, a window in some CRS, output size) into a
 * native pixel window and an output grid, with the size limit checked before any data is read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_srs_api.h>

#include "nadir/subset.h"

static int gdal_type_of(const nd_variable *v) {
    if (v->gdal_type) return v->gdal_type;
    switch (v->nc_type) {
    case 1: return GDT_Int16;  /* NC_BYTE is signed: GDAL's netCDF driver widens it */
    case 3: return GDT_Int16;
    case 4: return GDT_Int32;
    case 5: return GDT_Float32;
    case 6: return GDT_Float64;
    case 7: return GDT_Byte;
    case 8: return GDT_UInt16;
    case 9: return GDT_UInt32;
    default: return GDT_Float64; /* 64-bit integers and the rest: a type that holds them */
    }
}

size_t nd_subset_steps(const nd_subset *s, const nd_variable *v, size_t *nt, size_t *nz) {
    *nt = v->has_time && s->ds->time ? s->nt : 1;
    *nz = v->has_vertical && s->ds->vertical ? s->nz : 1;
    return *nt * *nz;
}

long nd_subset_time_index(const nd_dataset *ds, const nd_datetime *date) {
    const nd_time_axis *t = ds->time;
    if (!t || !t->n) return -1;
    double first = nd_datetime_diff_days(&t->dates[0], date, t->tu.cal);
    double last = nd_datetime_diff_days(&t->dates[t->n - 1], date, t->tu.cal);
    const double eps = 1e-9;
    if (isnan(first) || first < -eps || last > eps) return -1;
    long best = 0;
    double bestd = INFINITY;
    for (size_t i = 0; i < t->n; i++) {
        double d = fabs(nd_datetime_diff_days(&t->dates[i], date, t->tu.cal));
        if (d < bestd) bestd = d, best = (long)i;
    }
    return best;
}

size_t nd_subset_time_range(const nd_dataset *ds, const nd_datetime *lo, const nd_datetime *hi, size_t *first) {
    const nd_time_axis *t = ds->time;
    size_t n = 0;
    *first = 0;
    for (size_t i = 0; t && i < t->n; i++) {
        const double eps = 1e-9;
        bool after = !lo || nd_datetime_diff_days(lo, &t->dates[i], t->tu.cal) >= -eps;
        bool before = !hi || nd_datetime_diff_days(&t->dates[i], hi, t->tu.cal) >= -eps;
        if (after && before) {
            if (!n) *first = i;
            n++;
        }
    }
    return n;
}

/* A horizontal CRS with x/y (longitude first) axis order, from user input; NULL when unknown or not horizontal. */
static OGRSpatialReferenceH srs_from(const char *def) {
    OGRSpatialReferenceH h = def ? nd_srs_new(def) : NULL;
    if (h && !OSRIsGeographic(h) && !OSRIsProjected(h)) { /* vertical, geocentric, engineering: no grid in it */
        OSRDestroySpatialReference(h);
        return NULL;
    }
    return h;
}

/* Same CRS whatever the axis order of its definition (OGC:CRS84 and EPSG:4326 are one for us: x/y order). */
static bool same_crs(OGRSpatialReferenceH a, OGRSpatialReferenceH b) {
    const char *opts[] = {"CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS", "IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES", NULL};
    return OSRIsSameEx(a, b, opts) != 0;
}

/* Transforms the box in place from one CRS to the other (densified edges); false when it cannot. */
static bool transform_box(OGRSpatialReferenceH from, OGRSpatialReferenceH to, double b[4]) {
    if (same_crs(from, to)) return true;
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(from, to);
    if (!ct) return false;
    double out[4];
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int ok = OCTTransformBounds(ct, b[0], b[1], b[2], b[3], &out[0], &out[1], &out[2], &out[3], 21);
    CPLPopErrorHandler();
    OCTDestroyCoordinateTransformation(ct);
    if (!ok || !isfinite(out[0]) || !isfinite(out[1]) || !isfinite(out[2]) || !isfinite(out[3])) return false;
    memcpy(b, out, sizeof out);
    return true;
}

static int select_vars(nd_subset *s, nd_error *err) {
    const nd_dataset *ds = s->ds;
    if (s->nvars == 0) {
        /* All variables sharing the first one's dimensions: the range of the coverage. */
        const nd_variable *v0 = &ds->vars[0];
        for (size_t i = 0; i < ds->nvars && s->nvars < ND_SUBSET_MAX_VARS; i++) {
            const nd_variable *v = &ds->vars[i];
            bool same = v->ndims == v0->ndims;
            for (int d = 0; same && d < v->ndims; d++) same = strcmp(v->dims[d], v0->dims[d]) == 0;
            if (same) s->vars[s->nvars++] = v;
        }
    }
    for (size_t i = 0; i < s->nvars; i++)
        if (!s->vars[i]) return nd_fail(err, ND_E_INTERNAL, "", "A variable of the subset is missing");
    return 0;
}

static int resolve_axes(nd_subset *s, nd_error *err) {
    const nd_dataset *ds = s->ds;
    size_t tn = ds->time ? ds->time->n : 0, zn = ds->vertical ? ds->vertical->n : 0;
    if (s->nt == 0) s->t0 = 0, s->nt = tn ? tn : 1;
    else if (!tn ? (s->t0 != 0 || s->nt != 1) : (s->t0 >= tn || s->nt > tn - s->t0))
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The time range is outside the time axis");
    if (s->nz == 0) s->z0 = 0, s->nz = zn ? zn : 1;
    else if (!zn ? (s->z0 != 0 || s->nz != 1) : (s->z0 >= zn || s->nz > zn - s->z0))
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The vertical range is outside the vertical axis");
    return 0;
}

/* The native pixel window, rounded the way gdal_translate rounds -projwin for nearest neighbour. */
static int pixel_window(nd_subset *s, nd_subset_plan *p, OGRSpatialReferenceH native, nd_error *err) {
    const nd_dataset *ds = s->ds;
    const double *gt = ds->geotransform;
    if (gt[2] != 0 || gt[4] != 0 || gt[5] >= 0)
        return nd_fail(err, ND_E_NOT_IMPLEMENTED, "subset", "Subsets of rotated grids are not supported");
    double b[4] = {s->has_x ? s->xlo : ds->bbox[0], s->has_y ? s->ylo : ds->bbox[1],
                   s->has_x ? s->xhi : ds->bbox[2], s->has_y ? s->yhi : ds->bbox[3]};
    if (b[0] > b[2] || b[1] > b[3])
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "A subset has its lower bound above its upper bound");
    if (s->window_crs && (s->has_x || s->has_y)) {
        OGRSpatialReferenceH w = srs_from(s->window_crs);
        if (!w) return nd_fail(err, ND_E_SUBSETTING_CRS_NOT_SUPPORTED, "subsettingCrs", "The subsetting CRS is not known");
        if (!same_crs(w, native)) {
            /* An axis not subset spans the whole extent, in the subsetting CRS too. */
            double whole[4] = {ds->bbox[0], ds->bbox[1], ds->bbox[2], ds->bbox[3]};
            bool ok = transform_box(native, w, whole);
            if (ok) {
                if (!s->has_x) b[0] = whole[0], b[2] = whole[2];
                if (!s->has_y) b[1] = whole[1], b[3] = whole[3];
                ok = transform_box(w, native, b);
            }
            if (!ok) {
                OSRDestroySpatialReference(w);
                return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset",
                               "The subset cannot be transformed to the coverage's CRS");
            }
        }
        OSRDestroySpatialReference(w);
    }
    bool xslice = s->has_x && s->xlo == s->xhi && !s->window_crs, yslice = s->has_y && s->ylo == s->yhi && !s->window_crs;
    /* Clip to the extent; nothing left is an error (a slice exactly on the outer edge still counts). */
    if (b[2] < ds->bbox[0] || b[0] > ds->bbox[2] || b[3] < ds->bbox[1] || b[1] > ds->bbox[3])
        return nd_fail(err, ND_E_INVALID_SUBSETTING, "subset", "The subset does not intersect the coverage's extent");
    b[0] = fmax(b[0], ds->bbox[0]), b[2] = fmin(b[2], ds->bbox[2]);
    b[1] = fmax(b[1], ds->bbox[1]), b[3] = fmin(b[3], ds->bbox[3]);
    double fx0 = (b[0] - gt[0]) / gt[1], fx1 = (b[2] - gt[0]) / gt[1];
    double fy0 = (b[3] - gt[3]) / gt[5], fy1 = (b[1] - gt[3]) / gt[5];
    int W = (int)ds->width, H = (int)ds->height;
    int x0 = (int)floor(fx0 + 0.001), xs = (int)floor(fx1 - fx0 + 0.5);
    int y0 = (int)floor(fy0 + 0.001), ys = (int)floor(fy1 - fy0 + 0.5);
    /* A slice, or a trim thinner than half a cell, takes the one cell holding its centre. */
    if (xslice || xs < 1) x0 = (int)floor((fx0 + fx1) / 2), xs = 1;
    if (yslice || ys < 1) y0 = (int)floor((fy0 + fy1) / 2), ys = 1;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    if (x0 >= W) x0 = W - 1;
    if (y0 >= H) y0 = H - 1;
    if (x0 + xs > W) xs = W - x0;
    if (y0 + ys > H) ys = H - y0;
    p->xoff = x0, p->yoff = y0, p->xsize = xs, p->ysize = ys;
    /* -projwin gets the window as asked (clipped), so the output equals gdal_translate's bit for bit; a
     * slice or a sliver gets the edges of its cell. */
    bool xcell = xslice || p->xsize != (int)floor(fx1 - fx0 + 0.5), ycell = yslice || p->ysize != (int)floor(fy1 - fy0 + 0.5);
    p->ulx = xcell ? gt[0] + x0 * gt[1] : b[0], p->lrx = xcell ? gt[0] + (x0 + xs) * gt[1] : b[2];
    p->uly = ycell ? gt[3] + y0 * gt[5] : b[3], p->lry = ycell ? gt[3] + (y0 + ys) * gt[5] : b[1];
    return 0;
}

/* Output grid of a reprojection: the target extent and gdalwarp's own choice of resolution for it. */
static int warp_grid(nd_subset *s, nd_subset_plan *p, OGRSpatialReferenceH native, nd_error *err) {
    OGRSpatialReferenceH out = srs_from(s->out_crs);
    if (!out) return nd_fail(err, ND_E_OUTPUT_CRS_NOT_SUPPORTED, "outputCrs", "The output CRS is not known");
    OGRSpatialReferenceH w = s->window_crs ? srs_from(s->window_crs) : NULL;
    int rc = 0;
    if (w && same_crs(w, out) && s->has_x && s->has_y && s->xlo < s->xhi && s->ylo < s->yhi) {
        /* The window asked for in the output CRS is the output extent, as gdalwarp -te would take it. */
        p->te[0] = s->xlo, p->te[1] = s->ylo, p->te[2] = s->xhi, p->te[3] = s->yhi;
    } else {
        double b[4] = {p->ulx, p->lry, p->lrx, p->uly};
        if (!transform_box(native, out, b)) {
            rc = nd_fail(err, ND_E_OUTPUT_CRS_NOT_SUPPORTED, "outputCrs",
                         "The coverage cannot be transformed to the output CRS");
            goto done;
        }
        memcpy(p->te, b, sizeof b);
    }
    if (s->width > 0 && s->height > 0) {
        p->out_w = s->width, p->out_h = s->height;
    } else {
        /* Same number of cells along the diagonal as the native window: gdalwarp's own rule of thumb. */
        double nx = p->xsize, ny = p->ysize;
        double dx = p->te[2] - p->te[0], dy = p->te[3] - p->te[1];
        double res = sqrt(dx * dx + dy * dy) / sqrt(nx * nx + ny * ny);
        if (s->width > 0) res = dx / s->width;
        else if (s->height > 0) res = dy / s->height;
        double fx = s->scale_x > 0 ? s->scale_x : 1, fy = s->scale_y > 0 ? s->scale_y : 1;
        p->out_w = s->width > 0 ? s->width : (int)fmax(1, floor(dx / (res * fx) + 0.5));
        p->out_h = s->height > 0 ? s->height : (int)fmax(1, floor(dy / (res * fy) + 0.5));
    }
done:
    if (w) OSRDestroySpatialReference(w);
    OSRDestroySpatialReference(out);
    return rc;
}

int nd_subset_plan_make(nd_subset *s, nd_subset_plan *p, nd_error *err) {
    memset(p, 0, sizeof *p);
    const nd_dataset *ds = s->ds;
    if (!ds || !ds->nvars) return nd_fail(err, ND_E_INTERNAL, "", "No dataset to subset");
    int rc = select_vars(s, err);
    if (rc == 0) rc = resolve_axes(s, err);
    if (rc < 0) return rc;
    if (s->scale_x < 0 || s->scale_y < 0 || s->width < 0 || s->height < 0 || !isfinite(s->scale_x) ||
        !isfinite(s->scale_y))
        return nd_fail(err, ND_E_INVALID_SCALE_FACTOR, "scaleFactor", "Scale factors and sizes must be positive");
    OGRSpatialReferenceH native = srs_from(ds->crs_wkt);
    if (!native) return nd_fail(err, ND_E_INTERNAL, "", "The coverage's CRS cannot be read");
    rc = pixel_window(s, p, native, err);
    if (rc == 0 && s->out_crs) {
        OGRSpatialReferenceH out = srs_from(s->out_crs);
        if (!out) rc = nd_fail(err, ND_E_OUTPUT_CRS_NOT_SUPPORTED, "outputCrs", "The output CRS is not known");
        else {
            p->warp = !same_crs(out, native);
            OSRDestroySpatialReference(out);
        }
    }
    if (rc == 0 && p->warp) rc = warp_grid(s, p, native, err);
    OSRDestroySpatialReference(native);
    if (rc < 0) return rc;
    if (!p->warp) {
        double fx = s->scale_x > 0 ? s->scale_x : 1, fy = s->scale_y > 0 ? s->scale_y : 1;
        p->out_w = s->width > 0 ? s->width : (int)fmax(1, floor(p->xsize / fx + 0.5));
        p->out_h = s->height > 0 ? s->height : (int)fmax(1, floor(p->ysize / fy + 0.5));
    }
    const double max_side = 1 << 20;
    if (p->out_w < 1 || p->out_h < 1 || p->out_w > max_side || p->out_h > max_side)
        return nd_fail(err, ND_E_INVALID_SCALE_FACTOR, "scaleSize", "The output size %d x %d is out of range",
                       p->out_w, p->out_h);
    p->gdal_type = gdal_type_of(s->vars[0]);
    size_t bands = 0;
    for (size_t i = 0; i < s->nvars; i++) {
        size_t nt, nz;
        bands += nd_subset_steps(s, s->vars[i], &nt, &nz);
        if (gdal_type_of(s->vars[i]) != p->gdal_type) p->gdal_type = GDT_Float64;
    }
    p->nbands = bands;
    double bytes = (double)p->out_w * p->out_h * (double)bands * GDALGetDataTypeSizeBytes((GDALDataType)p->gdal_type);
    p->bytes = bytes > 1.8e19 ? UINT64_MAX : (uint64_t)bytes;
    if (s->max_bytes > 0 && bytes > (double)s->max_bytes)
        return nd_fail(err, ND_E_TOO_LARGE, "subset",
                       "The coverage asked for (%.0f bytes) exceeds the limit of %lld bytes; ask for a smaller window",
                       bytes, s->max_bytes);
    if (s->format == ND_OUT_PNG && (p->gdal_type != GDT_Byte || (bands != 1 && bands != 3 && bands != 4 && bands != 2)))
        return nd_fail(err, ND_E_INVALID_FORMAT, "format", "image/png is offered for 8-bit data with 1 to 4 bands only");
    return 0;
}

int nd_subset_write(nd_subset *s, const char *path, nd_error *err) {
    nd_subset_plan p;
    int rc = nd_subset_plan_make(s, &p, err);
    if (rc < 0) return rc;
    rc = s->format == ND_OUT_NETCDF ? nd_subset_write_netcdf(s, &p, path, err) : nd_subset_write_gdal(s, &p, path, err);
    if (rc < 0) remove(path);
    return rc;
}
