/* CQL2 trees to SQL: fixed SQL text from the tree's shape, every literal and property path a bound value. */
#include <string.h>

#include "nadir/catalog.h"

typedef struct gen {
    nd_cat *cat;
    const char *const *collections;
    size_t ncollections;
    nd_sql *q;
    nd_error *e;
} gen;

static int gerr(gen *G, const char *fmt, const char *arg) {
    return nd_fail(G->e, ND_E_INVALID_PARAM, "filter", fmt, arg);
}

/* A property name is checked against the queryables before it is used at all. */
static int check_prop(gen *G, const char *name) {
    const char *p = !strncmp(name, "properties.", 11) ? name + 11 : name;
    if (strpbrk(p, "\"\\") || strlen(p) > 200 || !nd_cat_is_queryable(G->cat, G->collections, G->ncollections, p))
        return gerr(G, "Unknown property '%.80s' (see /stac/queryables)", name);
    return 0;
}

static const char *prop_name(const nd_cql2 *n) {
    return !strncmp(n->s, "properties.", 11) ? n->s + 11 : n->s;
}

static bool is_time_column(const nd_cql2 *n) {
    if (n->kind != ND_Q_PROP) return false;
    const char *p = prop_name(n);
    return !strcmp(p, "datetime") || !strcmp(p, "start_datetime") || !strcmp(p, "end_datetime");
}

static bool is_temporal(const nd_cql2 *n) { return n->kind == ND_Q_TIME || n->kind == ND_Q_INTERVAL; }

/* Seconds since 1970 of a property holding RFC 3339 text. */
static void time_of(gen *G, const nd_cql2 *prop) {
    nd_buf_puts(&G->q->text, "((julianday(");
    nd_cat_property_sql(G->q, prop_name(prop));
    nd_buf_puts(&G->q->text, ") - 2440587.5) * 86400.0)");
}

/* A scalar; as_time: compared with a time, so strings and properties become seconds. */
static int scalar(gen *G, const nd_cql2 *n, bool as_time) {
    switch (n->kind) {
    case ND_Q_PROP:
        if (check_prop(G, n->s)) return -1;
        if (!strcmp(prop_name(n), "geometry")) return gerr(G, "'%s' is compared only with S_* predicates", n->s);
        if (as_time && !is_time_column(n)) time_of(G, n);
        else nd_cat_property_sql(G->q, prop_name(n));
        return 0;
    case ND_Q_NUM:
        if (n->is_int && n->num >= -9e15 && n->num <= 9e15) nd_sql_add_int(G->q, (int64_t)n->num);
        else nd_sql_add_real(G->q, n->num);
        return 0;
    case ND_Q_STR:
        if (as_time) {
            double t;
            if (nd_cat_time_parse(n->s, true, &t)) return gerr(G, "'%.60s' is not a date-time", n->s);
            nd_sql_add_real(G->q, t);
        } else {
            nd_sql_add_text(G->q, n->s);
        }
        return 0;
    case ND_Q_BOOL:
        nd_sql_add_int(G->q, (int64_t)n->num);
        return 0;
    case ND_Q_TIME:
        nd_sql_add_real(G->q, n->t[0]);
        return 0;
    default:
        return gerr(G, "%s cannot be compared here", n->kind == ND_Q_GEOM ? "A geometry" : "An interval or a list");
    }
}

static bool wants_time(const nd_cql2 *a, const nd_cql2 *b) {
    return is_temporal(a) || is_temporal(b) || is_time_column(a) || is_time_column(b);
}

static int expr(gen *G, const nd_cql2 *n);

/* One end (0 start, 1 end) of the time span of a temporal operand. */
static int time_end(gen *G, const nd_cql2 *n, int end) {
    if (n->kind == ND_Q_TIME || n->kind == ND_Q_INTERVAL) {
        nd_sql_add_real(G->q, n->t[end]);
        return 0;
    }
    if (n->kind == ND_Q_STR) {
        double t;
        if (nd_cat_time_parse(n->s, true, &t)) return gerr(G, "'%.60s' is not a date-time", n->s);
        nd_sql_add_real(G->q, t);
        return 0;
    }
    if (n->kind != ND_Q_PROP) return gerr(G, "%s", "T_* predicates take properties and time literals");
    if (check_prop(G, n->s)) return -1;
    const char *p = prop_name(n);
    if (!strcmp(p, "datetime")) nd_buf_puts(&G->q->text, end ? "i.end_dt" : "i.start_dt");
    else if (!strcmp(p, "start_datetime")) nd_buf_puts(&G->q->text, "i.start_dt");
    else if (!strcmp(p, "end_datetime")) nd_buf_puts(&G->q->text, "i.end_dt");
    else time_of(G, n);
    return 0;
}

/* Allen's relations over [A, B] (first operand) and [C, D] (second): '&' AND, '|' OR, 'l' <=, 'g' >=. */
static const char *const temporal_rules[ND_TOP_COUNT] = {
    [ND_TOP_AFTER] = "A>D",          [ND_TOP_BEFORE] = "B<C",       [ND_TOP_CONTAINS] = "A<C&B>D",
    [ND_TOP_DISJOINT] = "B<C|A>D",   [ND_TOP_DURING] = "A>C&B<D",   [ND_TOP_EQUALS] = "A=C&B=D",
    [ND_TOP_FINISHEDBY] = "A<C&B=D", [ND_TOP_FINISHES] = "A>C&B=D", [ND_TOP_INTERSECTS] = "AlD&BgC",
    [ND_TOP_MEETS] = "B=C",          [ND_TOP_METBY] = "A=D",        [ND_TOP_OVERLAPPEDBY] = "A>C&A<D&B>D",
    [ND_TOP_OVERLAPS] = "A<C&B>C&B<D", [ND_TOP_STARTEDBY] = "A=C&B>D", [ND_TOP_STARTS] = "A=C&B<D",
};

static int temporal(gen *G, const nd_cql2 *n) {
    nd_buf *t = &G->q->text;
    nd_buf_puts(t, "(");
    for (const char *r = temporal_rules[n->op]; *r; r++) {
        int rc = 0;
        switch (*r) {
        case 'A': rc = time_end(G, n->args[0], 0); break;
        case 'B': rc = time_end(G, n->args[0], 1); break;
        case 'C': rc = time_end(G, n->args[1], 0); break;
        case 'D': rc = time_end(G, n->args[1], 1); break;
        case '&': nd_buf_puts(t, " AND "); break;
        case '|': nd_buf_puts(t, " OR "); break;
        case 'l': nd_buf_puts(t, " <= "); break;
        case 'g': nd_buf_puts(t, " >= "); break;
        default: nd_buf_printf(t, " %c ", *r);
        }
        if (rc) return rc;
    }
    nd_buf_puts(t, ")");
    return 0;
}

static int spatial_operand(gen *G, const nd_cql2 *n) {
    if (n->kind == ND_Q_GEOM) {
        nd_sql_add_blob(G->q, n->geom.wkb, n->geom.wkb_len);
        return 0;
    }
    if (n->kind == ND_Q_PROP) {
        if (check_prop(G, n->s)) return -1;
        if (strcmp(prop_name(n), "geometry")) return gerr(G, "'%.80s' is not a geometry property", n->s);
        nd_buf_puts(&G->q->text, "i.geom");
        return 0;
    }
    return gerr(G, "%s", "S_* predicates take the geometry property and geometry literals");
}

static int spatial(gen *G, const nd_cql2 *n) {
    const nd_cql2 *a = n->args[0], *b = n->args[1];
    int op = n->op;
    /* The constant goes last so nd_spatial prepares it once per statement. */
    if (a->kind == ND_Q_GEOM && b->kind != ND_Q_GEOM) {
        const nd_cql2 *t = a;
        a = b, b = t;
        op = op == ND_SP_CONTAINS ? ND_SP_WITHIN : op == ND_SP_WITHIN ? ND_SP_CONTAINS : op;
    }
    nd_buf_puts(&G->q->text, "ifnull(nd_spatial(");
    nd_sql_add_int(G->q, op);
    nd_buf_puts(&G->q->text, ", ");
    if (spatial_operand(G, a)) return -1;
    nd_buf_puts(&G->q->text, ", ");
    if (spatial_operand(G, b)) return -1;
    nd_buf_puts(&G->q->text, "), 0)");
    return 0;
}

static int expr(gen *G, const nd_cql2 *n) {
    nd_buf *t = &G->q->text;
    static const char *const cmp_sql[] = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
    switch (n->kind) {
    case ND_Q_AND:
    case ND_Q_OR:
        nd_buf_puts(t, "(");
        for (size_t i = 0; i < n->nargs; i++) {
            if (i) nd_buf_puts(t, n->kind == ND_Q_AND ? " AND " : " OR ");
            if (expr(G, n->args[i])) return -1;
        }
        nd_buf_puts(t, ")");
        return 0;
    case ND_Q_NOT:
        nd_buf_puts(t, "NOT (");
        if (expr(G, n->args[0])) return -1;
        nd_buf_puts(t, ")");
        return 0;
    case ND_Q_BOOL:
        nd_buf_puts(t, n->num ? "1" : "0");
        return 0;
    case ND_Q_CMP: {
        bool tm = wants_time(n->args[0], n->args[1]);
        nd_buf_puts(t, "(");
        if (scalar(G, n->args[0], tm)) return -1;
        nd_buf_puts(t, cmp_sql[n->op]);
        if (scalar(G, n->args[1], tm)) return -1;
        nd_buf_puts(t, ")");
        return 0;
    }
    case ND_Q_LIKE:
        nd_buf_puts(t, "(");
        if (scalar(G, n->args[0], false)) return -1;
        nd_buf_puts(t, n->op ? " NOT LIKE " : " LIKE ");
        if (scalar(G, n->args[1], false)) return -1;
        nd_buf_puts(t, " ESCAPE '\\')");
        return 0;
    case ND_Q_BETWEEN: {
        bool tm = wants_time(n->args[0], n->args[1]);
        nd_buf_puts(t, "(");
        if (scalar(G, n->args[0], tm)) return -1;
        nd_buf_puts(t, n->op ? " NOT BETWEEN " : " BETWEEN ");
        if (scalar(G, n->args[1], tm)) return -1;
        nd_buf_puts(t, " AND ");
        if (scalar(G, n->args[2], tm)) return -1;
        nd_buf_puts(t, ")");
        return 0;
    }
    case ND_Q_IN: {
        const nd_cql2 *l = n->args[1];
        if (l->kind != ND_Q_LIST || !l->nargs) return gerr(G, "%s", "IN needs a non-empty list");
        bool tm = is_time_column(n->args[0]);
        nd_buf_puts(t, "(");
        if (scalar(G, n->args[0], tm)) return -1;
        nd_buf_puts(t, n->op ? " NOT IN (" : " IN (");
        for (size_t i = 0; i < l->nargs; i++) {
            if (i) nd_buf_puts(t, ", ");
            if (scalar(G, l->args[i], tm)) return -1;
        }
        nd_buf_puts(t, "))");
        return 0;
    }
    case ND_Q_ISNULL:
        nd_buf_puts(t, "(");
        if (n->args[0]->kind == ND_Q_PROP && !strcmp(prop_name(n->args[0]), "geometry")) {
            if (spatial_operand(G, n->args[0])) return -1;
        } else if (scalar(G, n->args[0], false)) {
            return -1;
        }
        nd_buf_puts(t, n->op ? " IS NOT NULL)" : " IS NULL)");
        return 0;
    case ND_Q_SPATIAL:
        return spatial(G, n);
    case ND_Q_TEMPORAL:
        return temporal(G, n);
    default:
        return gerr(G, "%s", "Expected a predicate (a comparison, LIKE, BETWEEN, IN, IS NULL, S_* or T_*)");
    }
}

int nd_cql2_to_sql(nd_cat *c, const nd_cql2 *f, const char *const *collections, size_t ncollections, nd_sql *q,
                   nd_error *e) {
    gen G = {.cat = c, .collections = collections, .ncollections = ncollections, .q = q, .e = e};
    return expr(&G, f);
}
