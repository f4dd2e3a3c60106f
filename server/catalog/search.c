/* Item search: one SQL statement with bound values from the typed query, keyset paging on (sort keys, rid). */
#include <string.h>

#include "nadir/catalog.h"

static void append_sql(nd_sql *dst, const nd_sql *src) {
    nd_buf_append(&dst->text, src->text.data ? src->text.data : "", src->text.len);
    for (size_t i = 0; i < src->nbinds; i++) {
        if (dst->nbinds == dst->cap) {
            dst->cap = dst->cap ? dst->cap * 2 : 16;
            dst->binds = nd_xrealloc(dst->binds, dst->cap * sizeof *dst->binds);
        }
        dst->binds[dst->nbinds++] = src->binds[i];
    }
}

static bool is_datetime(const char *name) {
    return !strcmp(name, "datetime") || !strcmp(name, "properties.datetime");
}

/* The sort expression of a key: "datetime" sorts by the start of the item's time so intervals sort too. */
static void sort_expr(nd_sql *q, const char *name) {
    if (is_datetime(name)) nd_buf_puts(&q->text, "i.start_dt");
    else nd_cat_property_sql(q, !strncmp(name, "properties.", 11) ? name + 11 : name);
}

/* Candidate rows from the R*Tree for a geometry's boxes, then the exact test with GEOS. For a rectangle
 * (the bbox parameter) an item whose box lies inside it matches without GEOS: the R*Tree rounds boxes
 * outwards, so inside there is inside for real. */
static void spatial(nd_sql *w, const nd_geom *g, bool rectangle, bool use_rtree, const double *time) {
    if (!use_rtree) { /* another index leads: the exact test on the rows it gives */
        nd_buf_puts(&w->text, " AND ifnull(nd_spatial(1, i.geom, ");
        nd_sql_add_blob(w, g->wkb, g->wkb_len);
        nd_buf_puts(&w->text, "), 0)");
        return;
    }
    nd_buf_puts(&w->text, " AND i.rid IN (");
    for (int b = 0; b < g->nbox; b++) {
        const double *x = g->box[b];
        if (b) nd_buf_puts(&w->text, " UNION ALL ");
        nd_buf_puts(&w->text, "SELECT item FROM items_st WHERE minx <= ");
        nd_sql_add_real(w, x[2]);
        nd_buf_puts(&w->text, " AND maxx >= ");
        nd_sql_add_real(w, x[0]);
        nd_buf_puts(&w->text, " AND miny <= ");
        nd_sql_add_real(w, x[3]);
        nd_buf_puts(&w->text, " AND maxy >= ");
        nd_sql_add_real(w, x[1]);
        if (time) { /* the third dimension: float boxes are rounded outwards, the columns decide exactly */
            nd_buf_puts(&w->text, " AND mint <= ");
            nd_sql_add_real(w, time[1]);
            nd_buf_puts(&w->text, " AND maxt >= ");
            nd_sql_add_real(w, time[0]);
        }
        nd_buf_puts(&w->text, " AND (");
        if (rectangle) {
            nd_buf_puts(&w->text, "(minx >= ");
            nd_sql_add_real(w, x[0]);
            nd_buf_puts(&w->text, " AND maxx <= ");
            nd_sql_add_real(w, x[2]);
            nd_buf_puts(&w->text, " AND miny >= ");
            nd_sql_add_real(w, x[1]);
            nd_buf_puts(&w->text, " AND maxy <= ");
            nd_sql_add_real(w, x[3]);
            nd_buf_puts(&w->text, ") OR ");
        }
        nd_buf_puts(&w->text, "nd_spatial(1, (SELECT geom FROM items WHERE rid = item), ");
        nd_sql_add_blob(w, g->wkb, g->wkb_len);
        nd_buf_puts(&w->text, "))");
    }
    nd_buf_puts(&w->text, ")");
}

/* Only the R*Tree part, for a spatial predicate of the filter that implies that the boxes meet. */
static void boxes_only(nd_sql *w, const nd_geom *g) {
    nd_buf_puts(&w->text, " AND i.rid IN (");
    for (int b = 0; b < g->nbox; b++) {
        if (b) nd_buf_puts(&w->text, " UNION ALL ");
        nd_buf_puts(&w->text, "SELECT item FROM items_st WHERE minx <= ");
        nd_sql_add_real(w, g->box[b][2]);
        nd_buf_puts(&w->text, " AND maxx >= ");
        nd_sql_add_real(w, g->box[b][0]);
        nd_buf_puts(&w->text, " AND miny <= ");
        nd_sql_add_real(w, g->box[b][3]);
        nd_buf_puts(&w->text, " AND maxy >= ");
        nd_sql_add_real(w, g->box[b][1]);
    }
    nd_buf_puts(&w->text, ")");
}

/* A filter that is (or is an AND with) s_intersects/s_within/... of the geometry and a literal can use the
 * R*Tree: every spatial operator but s_disjoint needs the boxes to meet. */
static void filter_boxes(nd_sql *w, const nd_cql2 *f) {
    if (f->kind == ND_Q_AND) {
        for (size_t i = 0; i < f->nargs; i++) filter_boxes(w, f->args[i]);
        return;
    }
    if (f->kind != ND_Q_SPATIAL || f->op == ND_SP_DISJOINT) return;
    const nd_cql2 *a = f->args[0], *b = f->args[1];
    const nd_cql2 *lit = a->kind == ND_Q_GEOM ? a : b->kind == ND_Q_GEOM ? b : NULL;
    const nd_cql2 *prop = a->kind == ND_Q_PROP ? a : b->kind == ND_Q_PROP ? b : NULL;
    if (lit && prop && lit->geom.nbox) boxes_only(w, &lit->geom);
}

/* A bbox is a rectangle in lon/lat unless it is degenerate (a line or a point, kept exact). */
static bool b_is_rect(const double *b) { return b[0] != b[2] && b[1] != b[3]; }

static void in_list(nd_sql *w, const char *col, const char *const *v, size_t n) {
    nd_buf_printf(&w->text, " AND %s IN (", col);
    for (size_t i = 0; i < n; i++) {
        if (i) nd_buf_puts(&w->text, ",");
        nd_sql_add_text(w, v[i]);
    }
    nd_buf_puts(&w->text, ")");
}

static void bind_json(nd_sql *q, json_t *v) {
    if (json_is_integer(v)) nd_sql_add_int(q, json_integer_value(v));
    else if (json_is_real(v)) nd_sql_add_real(q, json_real_value(v));
    else if (json_is_string(v)) nd_sql_add_text(q, json_string_value(v));
    else nd_sql_add_null(q);
}

/* Rows strictly after the token's position in the order (k1 dir, k2 dir, ..., rid ASC); SQLite sorts NULL
 * first ascending and last descending, so "after NULL" ascending is "IS NOT NULL", descending nothing. */
static void keyset(nd_sql *w, const nd_search *s, json_t *keys, json_int_t rid, size_t k) {
    if (k == s->nsort) {
        nd_buf_puts(&w->text, "i.rid > ");
        nd_sql_add_int(w, rid);
        return;
    }
    json_t *v = json_array_get(keys, k);
    bool null = json_is_null(v);
    nd_buf_puts(&w->text, "(");
    if (!s->sort[k].desc) {
        if (null) {
            sort_expr(w, s->sort[k].property);
            nd_buf_puts(&w->text, " IS NOT NULL");
        } else {
            sort_expr(w, s->sort[k].property);
            nd_buf_puts(&w->text, " > ");
            bind_json(w, v);
        }
    } else {
        if (null) {
            nd_buf_puts(&w->text, "0");
        } else {
            nd_buf_puts(&w->text, "(");
            sort_expr(w, s->sort[k].property);
            nd_buf_puts(&w->text, " < ");
            bind_json(w, v);
            nd_buf_puts(&w->text, " OR ");
            sort_expr(w, s->sort[k].property);
            nd_buf_puts(&w->text, " IS NULL)");
        }
    }
    nd_buf_puts(&w->text, " OR (");
    sort_expr(w, s->sort[k].property);
    nd_buf_puts(&w->text, " IS ");
    bind_json(w, v);
    nd_buf_puts(&w->text, " AND ");
    keyset(w, s, keys, rid, k + 1);
    nd_buf_puts(&w->text, "))");
}

static json_t *column_json(sqlite3_stmt *st, int col) {
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(st, col));
    case SQLITE_FLOAT: return json_real(sqlite3_column_double(st, col));
    case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(st, col));
    default: return json_null();
    }
}

#define WIDE 0.25          /* a part of the catalogue above which an index costs more than a scan */
#define COUNT_MAX 10000    /* numberMatched is counted up to this; above it is left out (it is optional) */

/* The part of the globe a geometry's boxes cover. */
static double area_fraction(const nd_geom *g) {
    double a = 0;
    for (int b = 0; b < g->nbox; b++) a += (g->box[b][2] - g->box[b][0]) * (g->box[b][3] - g->box[b][1]);
    return a / 64800.0;
}

/* Earliest start and latest end in the catalogue (both from indexes). */
static void time_extent(nd_cat *c, double out[2]) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT (SELECT min(start_dt) FROM items), (SELECT max(end_dt) FROM items)", -1, &st,
                           NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) {
            out[0] = sqlite3_column_double(st, 0);
            out[1] = sqlite3_column_double(st, 1);
        }
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
}

static double longest_duration(nd_cat *c) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    double d = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(end_dt - start_dt) FROM items", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) d = sqlite3_column_double(st, 0);
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return d + 1; /* a second of slack for rounding */
}

int nd_cat_search(nd_cat *c, nd_arena *a, const nd_search *s, nd_page *out, nd_error *e) {
    memset(out, 0, sizeof *out);
    out->matched = -1;
    int limit = s->limit > 0 ? s->limit : ND_CAT_DEFAULT_LIMIT;
    json_t *state = NULL;
    if (s->token) {
        state = nd_cat_token_check(c, s->fingerprint, s->token);
        json_t *keys = json_object_get(state, "k");
        if (!state || !json_is_integer(json_object_get(state, "r")) || !json_is_array(keys) ||
            json_array_size(keys) != s->nsort) {
            json_decref(state);
            return nd_fail(e, ND_E_INVALID_PARAM, "token",
                           "The paging token is not one this server made for this query");
        }
    }
    nd_sql w = {.arena = a};
    nd_buf_puts(&w.text, " FROM items i WHERE 1");
    if (s->ncollections) in_list(&w, "i.collection", s->collections, s->ncollections);
    if (s->nids) in_list(&w, "i.id", s->ids, s->nids);
    int rc = 0;
    nd_geom bbox_geom;
    if (s->has_bbox) {
        char why[160];
        if (nd_geom_from_bbox(a, s->bbox, &bbox_geom, why, sizeof why)) {
            rc = nd_fail(e, ND_E_INVALID_PARAM, "bbox", "Invalid bbox: %s", why);
            goto done;
        }
    }
    const nd_geom *where = s->has_bbox ? &bbox_geom : s->intersects;
    double tfrac = 1, sfrac = where ? area_fraction(where) : 1, extent[2] = {0, 0};
    if (s->has_datetime) {
        time_extent(c, extent);
        double lo = s->datetime[0] > extent[0] ? s->datetime[0] : extent[0];
        double hi = s->datetime[1] < extent[1] ? s->datetime[1] : extent[1];
        tfrac = extent[1] > extent[0] ? (hi > lo ? (hi - lo) / (extent[1] - extent[0]) : 0) : 1;
    }
    /* Which index leads: the more selective of the R*Tree and the start_dt range, or none (a scan in rowid
     * order, which needs no sort) when both would return a large part of the catalogue. */
    enum { BY_RTREE, BY_TIME, BY_SCAN } lead = BY_SCAN;
    /* space and time in one R*Tree range: its candidates are gathered before the first row, so only when few */
    if (where && sfrac * tfrac <= WIDE / 5) lead = BY_RTREE;
    else if (s->has_datetime && tfrac <= WIDE) lead = BY_TIME;
    if (s->has_datetime) {
        nd_buf_puts(&w.text, lead == BY_TIME ? " AND i.end_dt >= " : " AND +i.end_dt >= ");
        nd_sql_add_real(&w, s->datetime[0]);
        nd_buf_puts(&w.text, lead == BY_TIME ? " AND i.start_dt <= " : " AND +i.start_dt <= ");
        nd_sql_add_real(&w, s->datetime[1]);
        if (lead == BY_TIME && s->datetime[0] > ND_T_MIN) {
            nd_buf_puts(&w.text, " AND i.start_dt >= ");
            nd_sql_add_real(&w, s->datetime[0] - longest_duration(c));
        }
    }
    const double *t = s->has_datetime ? s->datetime : NULL;
    if (s->has_bbox) spatial(&w, &bbox_geom, b_is_rect(s->bbox), lead == BY_RTREE, t);
    if (s->intersects) spatial(&w, s->intersects, false, lead == BY_RTREE, t);
    if (s->filter) {
        filter_boxes(&w, s->filter);
        nd_buf_puts(&w.text, " AND (");
        if ((rc = nd_cql2_to_sql(c, s->filter, s->collections, s->ncollections, &w, e))) goto done;
        nd_buf_puts(&w.text, ")");
    }
    size_t where_len = w.text.len, where_binds = w.nbinds;

    nd_sql q = {.arena = a};
    nd_buf_puts(&q.text, "SELECT i.rid, i.json, i.id, i.collection");
    for (size_t k = 0; k < s->nsort; k++) {
        nd_buf_puts(&q.text, ", ");
        sort_expr(&q, s->sort[k].property);
    }
    append_sql(&q, &w);
    if (state) {
        nd_buf_puts(&q.text, " AND ");
        keyset(&q, s, json_object_get(state, "k"), json_integer_value(json_object_get(state, "r")), 0);
        /* The first key's bound alone, implied by the keyset condition but a range that an index (start_dt, or
         * collection and start_dt) can seek instead of reading and sorting every row before the position:
         * ascending after a value (NULLs sort first, so none follow), descending on datetime (never NULL). */
        json_t *v0 = json_array_get(json_object_get(state, "k"), 0);
        if (s->nsort && !json_is_null(v0) && (!s->sort[0].desc || is_datetime(s->sort[0].property))) {
            nd_buf_puts(&q.text, " AND ");
            sort_expr(&q, s->sort[0].property);
            nd_buf_puts(&q.text, s->sort[0].desc ? " <= " : " >= ");
            bind_json(&q, v0);
        }
    }
    nd_buf_puts(&q.text, " ORDER BY ");
    for (size_t k = 0; k < s->nsort; k++) {
        sort_expr(&q, s->sort[k].property);
        nd_buf_puts(&q.text, s->sort[k].desc ? " DESC, " : " ASC, ");
    }
    nd_buf_puts(&q.text, "i.rid LIMIT ");
    nd_sql_add_int(&q, limit + 1);

    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, q.text.data, -1, &st, NULL) != SQLITE_OK || nd_sql_bind(&q, st)) {
        rc = nd_fail(e, ND_E_INTERNAL, "", "catalogue search: %s", sqlite3_errmsg(db));
    } else {
        if (s->raw) {
            out->raw = nd_arena_alloc(a, (size_t)limit * sizeof *out->raw);
            out->raw_id = nd_arena_alloc(a, (size_t)limit * sizeof *out->raw_id);
            out->raw_collection = nd_arena_alloc(a, (size_t)limit * sizeof *out->raw_collection);
        }
        else out->items = json_array();
        int n = 0, step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (n == limit) break; /* one more row than asked: there is a next page, from the last row returned */
            const char *text = (const char *)sqlite3_column_text(st, 1);
            if (s->raw) {
                out->raw_id[out->nraw] = nd_arena_strdup(a, (const char *)sqlite3_column_text(st, 2));
                out->raw_collection[out->nraw] = nd_arena_strdup(a, (const char *)sqlite3_column_text(st, 3));
                out->raw[out->nraw++] = nd_arena_strdup(a, text ? text : "{}");
            } else {
                json_t *it = json_loads(text ? text : "{}", 0, NULL);
                if (it) json_array_append_new(out->items, it);
            }
            if (++n == limit) {
                json_t *keys = json_array();
                for (size_t k = 0; k < s->nsort; k++) json_array_append_new(keys, column_json(st, 4 + (int)k));
                json_decref(state);
                state = json_pack("{s:o, s:I}", "k", keys, "r", (json_int_t)sqlite3_column_int64(st, 0));
            }
        }
        if (step == SQLITE_ROW) out->next = nd_cat_token_make(c, a, s->fingerprint, state);
        else if (step != SQLITE_DONE)
            rc = nd_fail(e, ND_E_INTERNAL, "", "catalogue search: %s", sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    if (rc == 0 && s->count) {
        nd_sql cq = {.arena = a};
        nd_buf_puts(&cq.text, "SELECT count(*) FROM (SELECT 1");
        nd_buf_append(&cq.text, w.text.data, where_len);
        /* per-row geometry and filter tests make a count of the whole catalogue slow: those stop at COUNT_MAX;
         * index-only conditions (time, ids, collections) are counted in full */
        bool capped = s->has_bbox || s->intersects || s->filter;
        if (capped) nd_buf_printf(&cq.text, " LIMIT %d", COUNT_MAX + 1);
        nd_buf_puts(&cq.text, ")");
        cq.binds = w.binds;
        cq.nbinds = where_binds;
        if (sqlite3_prepare_v2(db, cq.text.data, -1, &st, NULL) == SQLITE_OK && nd_sql_bind(&cq, st) == 0 &&
            sqlite3_step(st) == SQLITE_ROW && (sqlite3_column_int64(st, 0) <= COUNT_MAX || !capped))
            out->matched = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        nd_buf_free(&cq.text);
    }
    nd_cat_release(c, db);
    nd_sql_free(&q);
    if (rc) {
        json_decref(out->items);
        out->items = NULL;
    }
done:
    nd_sql_free(&w);
    json_decref(state);
    return rc;
}
