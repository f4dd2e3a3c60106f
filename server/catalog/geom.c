/* Item and query geometries with OGR (GEOS): parsing, antimeridian wrapping, boxes, the nd_spatial SQL function. */
#include <math.h>
#include <cpl_conv.h>
#include <ogr_api.h>
#include <stdio.h>
#include <string.h>

#include "nadir/catalog.h"

#define MAX_POINTS 100000 /* per geometry: bounds the GEOS work one request can ask for */

/* Moves every point by dx in longitude, then, when grid > 0, rounds both coordinates to that grid. */
static void move_points(OGRGeometryH g, double dx, double grid) {
    int n = OGR_G_GetGeometryCount(g);
    if (n > 0) {
        for (int i = 0; i < n; i++) move_points(OGR_G_GetGeometryRef(g, i), dx, grid);
        return;
    }
    int np = OGR_G_GetPointCount(g);
    for (int i = 0; i < np; i++) {
        double x, y, z;
        OGR_G_GetPoint(g, i, &x, &y, &z);
        x += dx;
        if (grid > 0) x = round(x / grid) * grid, y = round(y / grid) * grid;
        OGR_G_SetPoint_2D(g, i, x, y);
    }
}

static long count_points(OGRGeometryH g) {
    int n = OGR_G_GetGeometryCount(g);
    long total = OGR_G_GetPointCount(g);
    for (int i = 0; i < n; i++) total += count_points(OGR_G_GetGeometryRef(g, i));
    return total;
}

static OGRGeometryH box_polygon(double x0, double y0, double x1, double y1) {
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddPoint_2D(ring, x1, y0);
    OGR_G_AddPoint_2D(ring, x1, y1);
    OGR_G_AddPoint_2D(ring, x0, y1);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

/* A geometry drawn past ±180° (e.g. 170..190) is cut there and its far part moved by 360°, so it meets
 * items stored the RFC 7946 way (split at the antimeridian). */
static OGRGeometryH wrap(OGRGeometryH g) {
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    if (env.MinX >= -180 && env.MaxX <= 180) return g;
    OGRGeometryH out = NULL;
    for (int k = -1; k <= 1; k++) {
        OGRGeometryH clip = box_polygon(-180 + 360 * k, -90, 180 + 360 * k, 90);
        OGRGeometryH part = OGR_G_Intersection(g, clip);
        OGR_G_DestroyGeometry(clip);
        if (!part) continue;
        if (OGR_G_IsEmpty(part)) {
            OGR_G_DestroyGeometry(part);
            continue;
        }
        if (k) move_points(part, -360.0 * k, 0);
        if (!out) {
            out = part;
        } else {
            OGRGeometryH u = OGR_G_Union(out, part);
            OGR_G_DestroyGeometry(out);
            OGR_G_DestroyGeometry(part);
            out = u;
        }
    }
    OGR_G_DestroyGeometry(g);
    return out;
}

static void merge_env(double b[4], const OGREnvelope *e, bool *first) {
    if (*first) {
        b[0] = e->MinX, b[1] = e->MinY, b[2] = e->MaxX, b[3] = e->MaxY;
        *first = false;
        return;
    }
    b[0] = fmin(b[0], e->MinX), b[1] = fmin(b[1], e->MinY), b[2] = fmax(b[2], e->MaxX), b[3] = fmax(b[3], e->MaxY);
}

/* One box, or two when the parts lie at both ends of the longitude range: [0] west of 0, [1] east. */
static void boxes(OGRGeometryH g, nd_geom *out) {
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    out->nbox = 1;
    out->box[0][0] = env.MinX, out->box[0][1] = env.MinY, out->box[0][2] = env.MaxX, out->box[0][3] = env.MaxY;
    OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(g));
    int n = OGR_G_GetGeometryCount(g);
    bool multi = t == wkbMultiPolygon || t == wkbMultiLineString || t == wkbMultiPoint || t == wkbGeometryCollection;
    if (!multi || n < 2 || env.MaxX - env.MinX <= 180) return;
    bool fw = true, fe = true;
    double w[4] = {0}, e[4] = {0};
    for (int i = 0; i < n; i++) {
        OGREnvelope pe;
        OGR_G_GetEnvelope(OGR_G_GetGeometryRef(g, i), &pe);
        if ((pe.MinX + pe.MaxX) / 2 < 0) merge_env(w, &pe, &fw);
        else merge_env(e, &pe, &fe);
    }
    /* two boxes only when they leave a gap between them (the parts hug ±180°); parts that overlap in
     * longitude, like a global ocean mask, keep the one box */
    if (fw || fe || w[2] >= e[0]) return;
    memcpy(out->box[0], w, sizeof w);
    memcpy(out->box[1], e, sizeof e);
    out->nbox = 2;
}

static int finish(nd_arena *a, OGRGeometryH g, nd_geom *out, char *why, size_t whylen) {
    if (!g) return snprintf(why, whylen, "not a geometry"), -1;
    if (count_points(g) > MAX_POINTS) {
        OGR_G_DestroyGeometry(g);
        return snprintf(why, whylen, "more than %d points", MAX_POINTS), -1;
    }
    OGR_G_FlattenTo2D(g);
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    if (OGR_G_IsEmpty(g) || !isfinite(env.MinX) || !isfinite(env.MaxX) || env.MinY < -90 || env.MaxY > 90 ||
        env.MinX < -540 || env.MaxX > 540) {
        OGR_G_DestroyGeometry(g);
        return snprintf(why, whylen, "empty, or coordinates outside longitude/latitude"), -1;
    }
    CPLPushErrorHandler(CPLQuietErrorHandler); /* GEOS explains invalidity on stderr; the caller says it */
    int ok = OGR_G_IsValid(g);
    CPLPopErrorHandler();
    if (!ok) {
        OGR_G_DestroyGeometry(g);
        return snprintf(why, whylen, "not a valid geometry (self-intersecting or badly nested rings)"), -1;
    }
    out->wrapped = env.MinX < -180 || env.MaxX > 180;
    g = wrap(g);
    if (!g) return snprintf(why, whylen, "cannot be wrapped at the antimeridian"), -1;
    if (out->wrapped) {
        /* The cut leaves points a few ulps apart that no text form keeps apart (a segment of 2e-15° becomes a
         * single point when written back): snap to 1e-9° (well under a millimetre), and refuse what that
         * leaves degenerate, so that what is stored is what is written and read again. */
        move_points(g, 0, 1e-9);
        CPLPushErrorHandler(CPLQuietErrorHandler);
        ok = OGR_G_IsValid(g);
        CPLPopErrorHandler();
        if (!ok) {
            OGR_G_DestroyGeometry(g);
            return snprintf(why, whylen, "degenerate once cut at the antimeridian"), -1;
        }
    }
    boxes(g, out);
    int n = OGR_G_WkbSize(g);
    out->wkb = nd_arena_alloc(a, (size_t)n);
    out->wkb_len = (size_t)n;
    OGR_G_ExportToWkb(g, wkbNDR, out->wkb);
    OGR_G_DestroyGeometry(g);
    return 0;
}

int nd_geom_from_geojson(nd_arena *a, json_t *j, nd_geom *out, char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    const char *type = json_string_value(json_object_get(j, "type"));
    static const char *const ok[] = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                                     "MultiPolygon", "GeometryCollection"};
    bool known = false;
    for (size_t i = 0; type && i < sizeof ok / sizeof ok[0]; i++) known |= !strcmp(type, ok[i]);
    if (!known) return snprintf(why, whylen, "not a GeoJSON geometry type"), -1;
    char *text = json_dumps(j, JSON_COMPACT);
    OGRGeometryH g = text ? OGR_G_CreateGeometryFromJson(text) : NULL;
    free(text);
    return finish(a, g, out, why, whylen);
}

int nd_geom_from_wkt(nd_arena *a, const char *wkt, nd_geom *out, char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    char *p = (char *)wkt;
    OGRGeometryH g = NULL;
    if (OGR_G_CreateFromWkt(&p, NULL, &g) != OGRERR_NONE) g = NULL;
    return finish(a, g, out, why, whylen);
}

int nd_geom_from_bbox(nd_arena *a, const double b[4], nd_geom *out, char *why, size_t whylen) {
    memset(out, 0, sizeof *out);
    if (b[1] > b[3] || b[1] < -90 || b[3] > 90 || b[0] < -180 || b[2] > 180 || b[0] > 180 || b[2] < -180)
        return snprintf(why, whylen, "south > north or outside longitude/latitude"), -1;
    OGRGeometryH g;
    if (b[0] <= b[2]) {
        g = box_polygon(b[0], b[1], b[2], b[3]);
    } else {
        g = OGR_G_CreateGeometry(wkbMultiPolygon);
        OGR_G_AddGeometryDirectly(g, box_polygon(-180, b[1], b[2], b[3]));
        OGR_G_AddGeometryDirectly(g, box_polygon(b[0], b[1], 180, b[3]));
    }
    if (b[0] == b[2] || b[1] == b[3]) { /* a degenerate box is a line or a point: keep it exact */
        OGR_G_DestroyGeometry(g);
        g = OGR_G_CreateGeometry(b[0] == b[2] && b[1] == b[3] ? wkbPoint : wkbLineString);
        OGR_G_AddPoint_2D(g, b[0], b[1]);
        if (!(b[0] == b[2] && b[1] == b[3])) OGR_G_AddPoint_2D(g, b[2], b[3]);
    }
    return finish(a, g, out, why, whylen);
}

json_t *nd_geom_to_geojson(const nd_geom *g) {
    OGRGeometryH h = NULL;
    if (OGR_G_CreateFromWkb(g->wkb, NULL, &h, (int)g->wkb_len) != OGRERR_NONE) return NULL;
    char *text = OGR_G_ExportToJson(h);
    OGR_G_DestroyGeometry(h);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    CPLFree(text);
    return j;
}

/* ---------------------------------------------------------------- SQL */

typedef struct prepared {
    OGRGeometryH g;
    OGRPreparedGeometryH pg;
} prepared;

static void prepared_free(void *p) {
    prepared *x = p;
    if (x->pg) OGRDestroyPreparedGeometry(x->pg);
    OGR_G_DestroyGeometry(x->g);
    sqlite3_free(x);
}

static OGRGeometryH from_wkb(sqlite3_value *v) {
    OGRGeometryH g = NULL;
    if (sqlite3_value_type(v) != SQLITE_BLOB) return NULL;
    if (OGR_G_CreateFromWkb(sqlite3_value_blob(v), NULL, &g, sqlite3_value_bytes(v)) != OGRERR_NONE) return NULL;
    return g;
}

/* nd_spatial(op, a, b): a op b. b is usually the query's constant geometry: parsed and prepared once per
 * statement (sqlite3_set_auxdata). */
static void sql_spatial(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    int op = sqlite3_value_int(argv[0]);
    prepared *p = sqlite3_get_auxdata(ctx, 2);
    if (!p) {
        OGRGeometryH gb = from_wkb(argv[2]);
        if (!gb) return sqlite3_result_null(ctx);
        p = sqlite3_malloc(sizeof *p);
        p->g = gb;
        p->pg = OGRCreatePreparedGeometry(gb);
        sqlite3_set_auxdata(ctx, 2, p, prepared_free);
        p = sqlite3_get_auxdata(ctx, 2);
        if (!p) goto slow; /* not kept (the argument is not a constant): the auxdata was already freed */
    }
    OGRGeometryH ga = from_wkb(argv[1]);
    if (!ga) return sqlite3_result_null(ctx);
    int r;
    switch (op) {
    case ND_SP_INTERSECTS: r = p->pg ? OGRPreparedGeometryIntersects(p->pg, ga) : OGR_G_Intersects(ga, p->g); break;
    case ND_SP_DISJOINT: r = !(p->pg ? OGRPreparedGeometryIntersects(p->pg, ga) : OGR_G_Intersects(ga, p->g)); break;
    case ND_SP_CONTAINS: r = OGR_G_Contains(ga, p->g); break;
    case ND_SP_WITHIN: r = p->pg ? OGRPreparedGeometryContains(p->pg, ga) : OGR_G_Within(ga, p->g); break;
    case ND_SP_EQUALS: r = OGR_G_Equals(ga, p->g); break;
    case ND_SP_TOUCHES: r = OGR_G_Touches(ga, p->g); break;
    case ND_SP_CROSSES: r = OGR_G_Crosses(ga, p->g); break;
    case ND_SP_OVERLAPS: r = OGR_G_Overlaps(ga, p->g); break;
    default: r = 0;
    }
    OGR_G_DestroyGeometry(ga);
    sqlite3_result_int(ctx, r);
    return;
slow: {
    OGRGeometryH a = from_wkb(argv[1]), b = from_wkb(argv[2]);
    if (!a || !b) {
        OGR_G_DestroyGeometry(a);
        OGR_G_DestroyGeometry(b);
        return sqlite3_result_null(ctx);
    }
    int r;
    switch (op) {
    case ND_SP_INTERSECTS: r = OGR_G_Intersects(a, b); break;
    case ND_SP_DISJOINT: r = OGR_G_Disjoint(a, b); break;
    case ND_SP_CONTAINS: r = OGR_G_Contains(a, b); break;
    case ND_SP_WITHIN: r = OGR_G_Within(a, b); break;
    case ND_SP_EQUALS: r = OGR_G_Equals(a, b); break;
    case ND_SP_TOUCHES: r = OGR_G_Touches(a, b); break;
    case ND_SP_CROSSES: r = OGR_G_Crosses(a, b); break;
    case ND_SP_OVERLAPS: r = OGR_G_Overlaps(a, b); break;
    default: r = 0;
    }
    OGR_G_DestroyGeometry(a);
    OGR_G_DestroyGeometry(b);
    sqlite3_result_int(ctx, r);
}
}

void nd_geom_register_sql(sqlite3 *db) {
    sqlite3_create_function(db, "nd_spatial", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_spatial, NULL, NULL);
}
