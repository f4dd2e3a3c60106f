/* CQL2-JSON parser (OGC 21-065): {"op": ..., "args": [...]} documents into nd_cql2 trees, with limits. */
#include <string.h>
#include <strings.h>

#include "nadir/catalog.h"

typedef struct jparser {
    nd_arena *a;
    nd_error *e;
    size_t nodes;
} jparser;

static int jerr(jparser *P, const char *what, const char *about) {
    return nd_fail(P->e, ND_E_INVALID_PARAM, "filter", "CQL2-JSON: %s%s%.60s%s", what, about ? " ('" : "",
                   about ? about : "", about ? "')" : "");
}

static nd_cql2 *jnode(jparser *P, nd_qkind kind, size_t nargs) {
    if (++P->nodes > ND_CQL2_MAX_NODES) {
        jerr(P, "expression too large", NULL);
        return NULL;
    }
    return nd_cql2_node(P->a, kind, nargs);
}

static int jtime(jparser *P, json_t *v, bool date, double *t) {
    const char *s = json_string_value(v);
    if (!s || nd_cat_time_parse(s, date, t)) return jerr(P, date ? "bad date" : "bad timestamp", s);
    return 0;
}

static int parse_expr(jparser *P, json_t *j, int depth, nd_cql2 **out);

static int parse_value(jparser *P, json_t *j, int depth, nd_cql2 **out) {
    if (depth > ND_CQL2_MAX_DEPTH) return jerr(P, "nested too deeply", NULL);
    nd_cql2 *n;
    if (json_is_number(j)) {
        if (!(n = jnode(P, ND_Q_NUM, 0))) return -1;
        n->num = json_number_value(j);
        n->is_int = json_is_integer(j);
    } else if (json_is_string(j)) {
        if (!(n = jnode(P, ND_Q_STR, 0))) return -1;
        n->s = nd_arena_strdup(P->a, json_string_value(j));
    } else if (json_is_boolean(j)) {
        if (!(n = jnode(P, ND_Q_BOOL, 0))) return -1;
        n->num = json_is_true(j);
    } else if (json_is_array(j)) {
        size_t k = json_array_size(j);
        if (k > 1024) return jerr(P, "list too long", NULL);
        if (!(n = jnode(P, ND_Q_LIST, k))) return -1;
        for (size_t i = 0; i < k; i++)
            if (parse_value(P, json_array_get(j, i), depth + 1, &n->args[i])) return -1;
    } else if (json_is_object(j)) {
        json_t *v;
        if ((v = json_object_get(j, "property"))) {
            if (!json_is_string(v) || !*json_string_value(v)) return jerr(P, "property must be a name", NULL);
            if (!(n = jnode(P, ND_Q_PROP, 0))) return -1;
            n->s = nd_arena_strdup(P->a, json_string_value(v));
        } else if ((v = json_object_get(j, "timestamp")) || (v = json_object_get(j, "date"))) {
            bool date = json_object_get(j, "date") != NULL;
            if (!(n = jnode(P, ND_Q_TIME, 0)) || jtime(P, v, date, &n->t[0])) return -1;
            n->t[1] = date ? n->t[0] + 86399.999 : n->t[0];
        } else if ((v = json_object_get(j, "interval"))) {
            if (json_array_size(v) != 2) return jerr(P, "interval takes two ends", NULL);
            if (!(n = jnode(P, ND_Q_INTERVAL, 0))) return -1;
            for (size_t k = 0; k < 2; k++) {
                json_t *end = json_array_get(v, k);
                const char *s = json_string_value(end);
                if (s && !strcmp(s, "..")) {
                    n->t[k] = k ? ND_T_MAX : ND_T_MIN;
                } else if (json_is_object(end)) {
                    nd_cql2 *inner;
                    if (parse_value(P, end, depth + 1, &inner)) return -1;
                    if (inner->kind != ND_Q_TIME) return jerr(P, "interval ends must be times", NULL);
                    n->t[k] = inner->t[k];
                } else {
                    if (jtime(P, end, true, &n->t[k])) return -1;
                    if (k == 1 && strlen(s) == 10) n->t[1] += 86399.999;
                }
            }
            if (n->t[0] > n->t[1]) return jerr(P, "interval ends before it starts", NULL);
        } else if ((v = json_object_get(j, "bbox"))) {
            double b[6];
            size_t k = json_array_size(v);
            if (k != 4 && k != 6) return jerr(P, "bbox takes 4 numbers", NULL);
            for (size_t i = 0; i < k; i++) {
                if (!json_is_number(json_array_get(v, i))) return jerr(P, "bbox takes 4 numbers", NULL);
                b[i] = json_number_value(json_array_get(v, i));
            }
            if (k == 6) b[2] = b[3], b[3] = b[4];
            char why[160];
            if (!(n = jnode(P, ND_Q_GEOM, 0))) return -1;
            if (nd_geom_from_bbox(P->a, b, &n->geom, why, sizeof why)) return jerr(P, "invalid bbox", why);
        } else if (json_object_get(j, "type") && json_object_get(j, "type") != json_object_get(j, "op")) {
            char why[160];
            if (!(n = jnode(P, ND_Q_GEOM, 0))) return -1;
            if (nd_geom_from_geojson(P->a, j, &n->geom, why, sizeof why)) return jerr(P, "invalid geometry", why);
        } else if (json_object_get(j, "op")) {
            return parse_expr(P, j, depth + 1, out); /* a boolean expression as a value (rare) */
        } else {
            return jerr(P, "unknown value object", NULL);
        }
    } else {
        return jerr(P, "null is not a value", NULL);
    }
    *out = n;
    return 0;
}

static int find(const char *const *names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (names[i] && !strcasecmp(names[i], s)) return (int)i;
    return -1;
}

static int parse_expr(jparser *P, json_t *j, int depth, nd_cql2 **out) {
    if (depth > ND_CQL2_MAX_DEPTH) return jerr(P, "nested too deeply", NULL);
    if (json_is_boolean(j)) return parse_value(P, j, depth, out);
    const char *op = json_string_value(json_object_get(j, "op"));
    json_t *args = json_object_get(j, "args");
    if (!json_is_object(j) || !op) return jerr(P, "expected an object with \"op\" and \"args\"", NULL);
    if (!json_is_array(args)) return jerr(P, "\"args\" must be an array for", op);
    size_t na = json_array_size(args);
    nd_cql2 *n;
    if (!strcasecmp(op, "and") || !strcasecmp(op, "or")) {
        if (na < 2 || na > 1024) return jerr(P, "and/or take at least two arguments", NULL);
        if (!(n = jnode(P, !strcasecmp(op, "and") ? ND_Q_AND : ND_Q_OR, na))) return -1;
        for (size_t i = 0; i < na; i++)
            if (parse_expr(P, json_array_get(args, i), depth + 1, &n->args[i])) return -1;
        *out = n;
        return 0;
    }
    if (!strcasecmp(op, "not")) {
        if (na != 1) return jerr(P, "not takes one argument", NULL);
        if (!(n = jnode(P, ND_Q_NOT, 1)) || parse_expr(P, json_array_get(args, 0), depth + 1, &n->args[0]))
            return -1;
        *out = n;
        return 0;
    }
    static const char *const cmp[] = {"=", "<>", "<", "<=", ">", ">="};
    int k;
    nd_qkind kind;
    size_t want;
    int sub = 0;
    if ((k = find(cmp, 6, op)) >= 0) kind = ND_Q_CMP, want = 2, sub = k;
    else if (!strcasecmp(op, "like")) kind = ND_Q_LIKE, want = 2;
    else if (!strcasecmp(op, "between")) kind = ND_Q_BETWEEN, want = 3;
    else if (!strcasecmp(op, "in")) kind = ND_Q_IN, want = 2;
    else if (!strcasecmp(op, "isNull")) kind = ND_Q_ISNULL, want = 1;
    else if ((k = find(nd_cql2_spatial_names, 9, op)) >= 0) kind = ND_Q_SPATIAL, want = 2, sub = k;
    else if ((k = find(nd_cql2_temporal_names, ND_TOP_COUNT, op)) >= 0) kind = ND_Q_TEMPORAL, want = 2, sub = k;
    else return jerr(P, "unsupported operator", op);
    /* between also comes as [value, [low, high]] from older clients */
    if (kind == ND_Q_BETWEEN && na == 2 && json_array_size(json_array_get(args, 1)) == 2) {
        if (!(n = jnode(P, kind, 3)) || parse_value(P, json_array_get(args, 0), depth + 1, &n->args[0]) ||
            parse_value(P, json_array_get(json_array_get(args, 1), 0), depth + 1, &n->args[1]) ||
            parse_value(P, json_array_get(json_array_get(args, 1), 1), depth + 1, &n->args[2]))
            return -1;
        *out = n;
        return 0;
    }
    if (na != want) return jerr(P, "wrong number of arguments for", op);
    if (!(n = jnode(P, kind, want))) return -1;
    n->op = sub;
    for (size_t i = 0; i < want; i++)
        if (parse_value(P, json_array_get(args, i), depth + 1, &n->args[i])) return -1;
    if (kind == ND_Q_LIKE && n->args[1]->kind != ND_Q_STR) return jerr(P, "like needs a string pattern", NULL);
    if (kind == ND_Q_IN && n->args[1]->kind != ND_Q_LIST) return jerr(P, "in needs a list", NULL);
    *out = n;
    return 0;
}

int nd_cql2_parse_json(nd_arena *a, json_t *j, nd_cql2 **out, nd_error *e) {
    *out = NULL;
    jparser P = {.a = a, .e = e};
    return parse_expr(&P, j, 0, out);
}
