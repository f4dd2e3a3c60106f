/* Vector datasets through OGR: the layers and extents at start-up, features clipped and projected onto a map
 * grid for drawing, and the features under a point. Each call opens its own OGR handle (OGR handles are not
 * thread-safe, and a Shapefile or GeoPackage opens in well under a millisecond). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "nadir/vector.h"

#define MAX_SHAPE_POINTS (8u << 20) /* one map never draws more vertices than this */

static GDALDatasetH open_vector(const char *path) {
    nd_gdal_init();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH h = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, NULL, NULL, NULL);
    CPLPopErrorHandler();
    return h;
}

bool nd_dataset_is_vector(const char *path) {
    GDALDatasetH h = open_vector(path);
    bool yes = h && GDALDatasetGetLayerCount(h) > 0;
    if (h) GDALClose(h);
    return yes;
}

static nd_geom_kind kind_of(OGRwkbGeometryType t) {
    switch (wkbFlatten(t)) {
    case wkbPoint:
    case wkbMultiPoint: return ND_GEOM_POINT;
    case wkbLineString:
    case wkbMultiLineString: return ND_GEOM_LINE;
    case wkbPolygon:
    case wkbMultiPolygon: return ND_GEOM_POLYGON;
    default: return ND_GEOM_MIXED;
    }
}

void nd_vector_free(nd_vector *v) {
    if (!v) return;
    for (size_t i = 0; i < v->nlayers; i++) {
        nd_vector_layer *l = &v->layers[i];
        free(l->name);
        for (size_t k = 0; k < l->nfields; k++) free(l->fields[k]);
        free(l->fields);
    }
    free(v->layers);
    free(v->path);
    free(v);
}

const nd_vector_layer *nd_vector_layer_find(const nd_dataset *ds, const char *name, size_t *index) {
    const nd_vector *v = ds ? ds->vector : NULL;
    for (size_t i = 0; v && name && i < v->nlayers; i++)
        if (strcmp(v->layers[i].name, name) == 0) {
            if (index) *index = i;
            return &v->layers[i];
        }
    return NULL;
}

/* A layer's CRS as WKT2, WGS 84 when it has none (GeoJSON's rule). */
static char *layer_wkt(OGRLayerH l) {
    OGRSpatialReferenceH s = OGR_L_GetSpatialRef(l);
    OGRSpatialReferenceH own = s ? NULL : nd_srs_new(NULL);
    char *wkt = NULL;
    const char *opts[] = {"FORMAT=WKT2_2019", "MULTILINE=NO", NULL};
    OSRExportToWktEx(s ? s : own, &wkt, opts);
    if (own) OSRDestroySpatialReference(own);
    return wkt;
}

static bool wanted(const nd_dataset_conf *c, const char *name) {
    if (!c || c->nvariables == 0) return true;
    for (size_t i = 0; i < c->nvariables; i++)
        if (strcmp(c->variables[i], name) == 0) return true;
    return false;
}

int nd_dataset_load_vector(nd_dataset *ds, const char *path, char *err, size_t errlen) {
    const char *name = nd_path_base(path);
    GDALDatasetH h = open_vector(path);
    if (!h) {
        snprintf(err, errlen, "%s: not a vector file OGR reads", name);
        return -1;
    }
    nd_vector *v = nd_xcalloc(1, sizeof *v);
    v->path = nd_xstrdup(path);
    ds->kind = ND_DS_VECTOR;
    ds->vector = v;
    ds->files = nd_xcalloc(1, sizeof *ds->files);
    ds->files[0] = nd_xstrdup(path);
    ds->nfiles = 1;
    int nl = GDALDatasetGetLayerCount(h);
    v->layers = nd_xcalloc((size_t)(nl > 0 ? nl : 1), sizeof *v->layers);
    char *wkt = NULL;
    int rc = 0;
    for (int i = 0; i < nl && rc == 0; i++) {
        OGRLayerH L = GDALDatasetGetLayer(h, i);
        if (!wanted(ds->conf, OGR_L_GetName(L))) continue;
        char *lw = layer_wkt(L);
        if (!wkt) wkt = nd_xstrdup(lw ? lw : "");
        else if (!lw || strcmp(lw, wkt) != 0) {
            /* one dataset, one CRS: the extents and every service assume it */
            snprintf(err, errlen, "%s: layer '%s' has another CRS than the first layer; publish it as its own dataset",
                     name, OGR_L_GetName(L));
            rc = -1;
        }
        CPLFree(lw);
        nd_vector_layer *vl = &v->layers[v->nlayers++];
        vl->name = nd_xstrdup(OGR_L_GetName(L));
        vl->geom = kind_of(OGR_L_GetGeomType(L));
        OGRFeatureDefnH d = OGR_L_GetLayerDefn(L);
        vl->nfields = (size_t)OGR_FD_GetFieldCount(d);
        vl->fields = nd_xcalloc(vl->nfields ? vl->nfields : 1, sizeof *vl->fields);
        for (size_t k = 0; k < vl->nfields; k++) vl->fields[k] = nd_xstrdup(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, (int)k)));
        vl->nfeatures = OGR_L_GetFeatureCount(L, TRUE);
        OGREnvelope e;
        if (OGR_L_GetExtent(L, &e, TRUE) != OGRERR_NONE) e = (OGREnvelope){0, 0, 0, 0};
        vl->bbox[0] = e.MinX, vl->bbox[1] = e.MinY, vl->bbox[2] = e.MaxX, vl->bbox[3] = e.MaxY;
        if (v->nlayers == 1) memcpy(ds->bbox, vl->bbox, sizeof ds->bbox);
        ds->bbox[0] = fmin(ds->bbox[0], e.MinX), ds->bbox[1] = fmin(ds->bbox[1], e.MinY);
        ds->bbox[2] = fmax(ds->bbox[2], e.MaxX), ds->bbox[3] = fmax(ds->bbox[3], e.MaxY);
    }
    GDALClose(h);
    if (rc == 0 && v->nlayers == 0) {
        snprintf(err, errlen, "%s: no vector layer to publish", name);
        rc = -1;
    }
    /* the configured `variables` name layers here; one that is absent is an error, as for rasters */
    for (size_t i = 0; rc == 0 && ds->conf && i < ds->conf->nvariables; i++)
        if (!nd_vector_layer_find(ds, ds->conf->variables[i], NULL)) {
            snprintf(err, errlen, "%s: layer '%s' listed in the configuration is not in the data", name,
                     ds->conf->variables[i]);
            rc = -1;
        }
    if (rc == 0) rc = nd_dataset_set_crs(ds, wkt, err, errlen);
    free(wkt);
    return rc;
}

/* ---- Drawing: features onto a map grid ---- */

typedef struct {
    nd_shapes s;
    size_t cap_shapes, cap_parts, cap_points;
    const double *gt;
} shape_acc;

static void add_point(shape_acc *a, double x, double y) {
    if (a->s.npoints == a->cap_points) {
        a->cap_points = a->cap_points ? 2 * a->cap_points : 1024;
        a->s.xy = nd_xrealloc(a->s.xy, a->cap_points * 2 * sizeof(double));
    }
    a->s.xy[2 * a->s.npoints] = (x - a->gt[0]) / a->gt[1];
    a->s.xy[2 * a->s.npoints + 1] = (y - a->gt[3]) / a->gt[5];
    a->s.npoints++;
}

static void begin_part(shape_acc *a) {
    if (a->s.nparts + 1 >= a->cap_parts) {
        a->cap_parts = a->cap_parts ? 2 * a->cap_parts : 256;
        a->s.part_start = nd_xrealloc(a->s.part_start, a->cap_parts * sizeof(size_t));
    }
    a->s.part_start[a->s.nparts++] = a->s.npoints;
}

/* Walks a (multi/collection) geometry: every point, line string and ring becomes one part. */
static void add_geometry(shape_acc *a, OGRGeometryH g) {
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    int sub = OGR_G_GetGeometryCount(g);
    if (t == wkbPoint || t == wkbLineString || t == wkbLinearRing) {
        int n = OGR_G_GetPointCount(g);
        if (n <= 0 || a->s.npoints + (size_t)n > MAX_SHAPE_POINTS) return;
        begin_part(a);
        for (int i = 0; i < n; i++) add_point(a, OGR_G_GetX(g, i), OGR_G_GetY(g, i));
        return;
    }
    for (int i = 0; i < sub; i++) add_geometry(a, OGR_G_GetGeometryRef(g, i));
}

static OGRGeometryH rect_geometry(const double b[4]) {
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGR_G_AddPoint_2D(ring, b[0], b[1]);
    OGR_G_AddPoint_2D(ring, b[2], b[1]);
    OGR_G_AddPoint_2D(ring, b[2], b[3]);
    OGR_G_AddPoint_2D(ring, b[0], b[3]);
    OGR_G_AddPoint_2D(ring, b[0], b[1]);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

/* The layer and the transformations between its CRS and the map's. */
typedef struct {
    GDALDatasetH h;
    OGRLayerH L;
    OGRSpatialReferenceH lsrs, msrs;
    OGRCoordinateTransformationH to_layer, to_map;
} vec_ctx;

static void ctx_close(vec_ctx *c) {
    if (c->to_layer) OCTDestroyCoordinateTransformation(c->to_layer);
    if (c->to_map) OCTDestroyCoordinateTransformation(c->to_map);
    if (c->lsrs) OSRDestroySpatialReference(c->lsrs);
    if (c->msrs) OSRDestroySpatialReference(c->msrs);
    if (c->h) GDALClose(c->h);
}

static int ctx_open(const nd_dataset *ds, size_t layer, const char *crs, vec_ctx *c, nd_error *err) {
    memset(c, 0, sizeof *c);
    const nd_vector *v = ds->vector;
    if (!v || layer >= v->nlayers) return nd_fail(err, ND_E_INTERNAL, "layer", "not a vector layer");
    c->h = open_vector(v->path);
    if (!c->h) return nd_fail(err, ND_E_IO, "layer", "the vector source cannot be opened");
    c->L = GDALDatasetGetLayerByName(c->h, v->layers[layer].name);
    if (!c->L) return nd_fail(err, ND_E_IO, "layer", "the vector layer is gone from its source");
    OGRSpatialReferenceH s = OGR_L_GetSpatialRef(c->L);
    c->lsrs = s ? OSRClone(s) : nd_srs_new(NULL);
    OSRSetAxisMappingStrategy(c->lsrs, OAMS_TRADITIONAL_GIS_ORDER);
    c->msrs = nd_srs_new(crs);
    if (!c->msrs) return nd_fail(err, ND_E_INVALID_CRS, "crs", "the coordinate reference system is not supported");
    CPLPushErrorHandler(CPLQuietErrorHandler);
    c->to_layer = OCTNewCoordinateTransformation(c->msrs, c->lsrs);
    c->to_map = OCTNewCoordinateTransformation(c->lsrs, c->msrs);
    CPLPopErrorHandler();
    if (!c->to_layer || !c->to_map)
        return nd_fail(err, ND_E_INVALID_CRS, "crs", "no transformation between the layer's CRS and the map's");
    return 0;
}

/* A map-CRS box as a layer-CRS box; false when it cannot be transformed (outside the CRS's area). */
static bool box_to_layer(vec_ctx *c, const double m[4], double out[4]) {
    CPLPushErrorHandler(CPLQuietErrorHandler);
    int ok = OCTTransformBounds(c->to_layer, m[0], m[1], m[2], m[3], &out[0], &out[1], &out[2], &out[3], 21);
    CPLPopErrorHandler();
    return ok && out[0] < out[2] && out[1] < out[3];
}

int nd_vector_shapes(const nd_dataset *ds, size_t layer, const nd_grid *g, const char *label_field, nd_arena *arena,
                     nd_shapes *out, nd_error *err) {
    memset(out, 0, sizeof *out);
    vec_ctx c;
    if (ctx_open(ds, layer, g->crs, &c, err) < 0) {
        ctx_close(&c);
        return -1;
    }
    /* the window with a margin of 4 pixels, so strokes and point symbols at the edges are drawn whole */
    double mx = 4 * fabs(g->gt[1]), my = 4 * fabs(g->gt[5]);
    double win[4] = {g->gt[0] - mx, g->gt[3] + g->gt[5] * g->height - my, g->gt[0] + g->gt[1] * g->width + mx,
                     g->gt[3] + my};
    double lb[4];
    if (!box_to_layer(&c, win, lb)) {
        ctx_close(&c);
        return 0; /* the map lies outside what the layer's CRS can express: nothing to draw */
    }
    OGRGeometryH clip = rect_geometry(lb);
    OGR_L_SetSpatialFilterRect(c.L, lb[0], lb[1], lb[2], lb[3]);
    OGR_L_ResetReading(c.L);
    int label_idx = label_field ? OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(c.L), label_field) : -1;
    shape_acc a = {0};
    a.gt = g->gt;
    size_t cap_shapes = 0;
    char **labels = NULL;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    for (OGRFeatureH f; (f = OGR_L_GetNextFeature(c.L)) != NULL; OGR_F_Destroy(f)) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(f);
        if (!geom || OGR_G_IsEmpty(geom)) continue;
        /* projected whole (Cairo clips the drawing to the image); only a geometry the map's CRS cannot hold whole,
         * such as a polygon reaching a pole in Web Mercator, is first clipped to the window (GEOS, slower) */
        OGRGeometryH gg = OGR_G_Clone(geom);
        if (OGR_G_Transform(gg, c.to_map) != OGRERR_NONE) {
            OGR_G_DestroyGeometry(gg);
            gg = OGR_G_Intersection(geom, clip);
            if (gg && (OGR_G_IsEmpty(gg) || OGR_G_Transform(gg, c.to_map) != OGRERR_NONE)) {
                OGR_G_DestroyGeometry(gg);
                gg = NULL;
            }
        }
        if (!gg) continue;
        if (a.s.nshapes == cap_shapes) {
            cap_shapes = cap_shapes ? 2 * cap_shapes : 64;
            a.s.shapes = nd_xrealloc(a.s.shapes, cap_shapes * sizeof *a.s.shapes);
            labels = nd_xrealloc(labels, cap_shapes * sizeof *labels);
        }
        nd_shape *sh = &a.s.shapes[a.s.nshapes];
        memset(sh, 0, sizeof *sh);
        labels[a.s.nshapes] = NULL;
        sh->kind = kind_of(OGR_G_GetGeometryType(gg));
        sh->first_part = a.s.nparts;
        add_geometry(&a, gg);
        sh->nparts = a.s.nparts - sh->first_part;
        if (sh->nparts == 0 || sh->kind == ND_GEOM_MIXED) {
            OGR_G_DestroyGeometry(gg);
            a.s.nparts = sh->first_part;
            if (sh->nparts) a.s.npoints = a.s.part_start[sh->first_part];
            continue;
        }
        if (label_idx >= 0 && OGR_F_IsFieldSetAndNotNull(f, label_idx)) {
            OGRGeometryH p = sh->kind == ND_GEOM_POLYGON ? OGR_G_PointOnSurface(gg) : NULL;
            double px = p ? OGR_G_GetX(p, 0) : 0, py = p ? OGR_G_GetY(p, 0) : 0;
            if (!p) { /* points and lines: their first vertex */
                size_t k = a.s.part_start[sh->first_part];
                px = a.s.xy[2 * k] * g->gt[1] + g->gt[0];
                py = a.s.xy[2 * k + 1] * g->gt[5] + g->gt[3];
            }
            if (p) OGR_G_DestroyGeometry(p);
            sh->lx = (px - g->gt[0]) / g->gt[1];
            sh->ly = (py - g->gt[3]) / g->gt[5];
            labels[a.s.nshapes] = nd_arena_strdup(arena, OGR_F_GetFieldAsString(f, label_idx));
        }
        OGR_G_DestroyGeometry(gg);
        a.s.nshapes++;
    }
    CPLPopErrorHandler();
    OGR_G_DestroyGeometry(clip);
    ctx_close(&c);
    if (a.s.nparts) a.s.part_start[a.s.nparts] = a.s.npoints; /* begin_part keeps room for this one */
    /* moved into the arena: the request frees it with everything else */
    out->nshapes = a.s.nshapes;
    out->nparts = a.s.nparts;
    out->npoints = a.s.npoints;
    out->shapes = nd_arena_alloc(arena, (a.s.nshapes ? a.s.nshapes : 1) * sizeof *out->shapes);
    out->part_start = nd_arena_alloc(arena, (a.s.nparts + 1) * sizeof *out->part_start);
    out->xy = nd_arena_alloc(arena, (a.s.npoints ? a.s.npoints : 1) * 2 * sizeof(double));
    if (a.s.nshapes) memcpy(out->shapes, a.s.shapes, a.s.nshapes * sizeof *out->shapes);
    for (size_t i = 0; i < a.s.nshapes; i++) out->shapes[i].label = labels[i];
    if (a.s.nparts) memcpy(out->part_start, a.s.part_start, (a.s.nparts + 1) * sizeof *out->part_start);
    else out->part_start[0] = 0;
    if (a.s.npoints) memcpy(out->xy, a.s.xy, a.s.npoints * 2 * sizeof(double));
    free(a.s.shapes);
    free(a.s.part_start);
    free(a.s.xy);
    free(labels);
    return 0;
}

/* ---- GetFeatureInfo: the features at a point ---- */

int nd_vector_query(const nd_dataset *ds, size_t layer, const char *crs, double x, double y, double tol, size_t max,
                    nd_arena *arena, nd_feature_info **out, size_t *n, nd_error *err) {
    *out = NULL;
    *n = 0;
    vec_ctx c;
    if (ctx_open(ds, layer, crs, &c, err) < 0) {
        ctx_close(&c);
        return -1;
    }
    double win[4] = {x - tol, y - tol, x + tol, y + tol}, lb[4];
    double px = x, py = y;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    bool ok = box_to_layer(&c, win, lb) && OCTTransform(c.to_layer, 1, &px, &py, NULL);
    CPLPopErrorHandler();
    if (!ok) {
        ctx_close(&c);
        return 0;
    }
    double ltol = fmax(lb[2] - lb[0], lb[3] - lb[1]) / 2;
    OGRGeometryH pt = OGR_G_CreateGeometry(wkbPoint);
    OGR_G_SetPoint_2D(pt, 0, px, py);
    OGR_L_SetSpatialFilterRect(c.L, lb[0], lb[1], lb[2], lb[3]);
    OGR_L_ResetReading(c.L);
    OGRFeatureDefnH d = OGR_L_GetLayerDefn(c.L);
    int nf = OGR_FD_GetFieldCount(d);
    nd_feature_info *res = nd_arena_alloc(arena, (max ? max : 1) * sizeof *res);
    size_t got = 0;
    CPLPushErrorHandler(CPLQuietErrorHandler);
    for (OGRFeatureH f; got < max && (f = OGR_L_GetNextFeature(c.L)) != NULL; OGR_F_Destroy(f)) {
        OGRGeometryH geom = OGR_F_GetGeometryRef(f);
        if (!geom) continue;
        bool hit = kind_of(OGR_G_GetGeometryType(geom)) == ND_GEOM_POLYGON ? OGR_G_Intersects(geom, pt)
                                                                            : OGR_G_Distance(geom, pt) <= ltol;
        if (!hit) continue;
        nd_feature_info *fi = &res[got++];
        fi->fid = OGR_F_GetFID(f);
        fi->n = (size_t)nf;
        fi->names = nd_arena_alloc(arena, (size_t)(nf ? nf : 1) * sizeof *fi->names);
        fi->values = nd_arena_alloc(arena, (size_t)(nf ? nf : 1) * sizeof *fi->values);
        for (int k = 0; k < nf; k++) {
            fi->names[k] = nd_arena_strdup(arena, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(d, k)));
            fi->values[k] = OGR_F_IsFieldSetAndNotNull(f, k) ? nd_arena_strdup(arena, OGR_F_GetFieldAsString(f, k)) : NULL;
        }
    }
    CPLPopErrorHandler();
    OGR_G_DestroyGeometry(pt);
    ctx_close(&c);
    *out = res;
    *n = got;
    return 0;
}
