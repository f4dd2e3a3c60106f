/* CQL2-text parser (OGC 21-065): a recursive-descent parser with depth and size limits into nd_cql2 trees. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/catalog.h"

const char *const nd_cql2_temporal_names[ND_TOP_COUNT] = {
    "t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals", "t_finishedBy", "t_finishes",
    "t_intersects", "t_meets", "t_metBy", "t_overlappedBy", "t_overlaps", "t_startedBy", "t_starts",
};
const char *const nd_cql2_spatial_names[9] = {
    NULL, "s_intersects", "s_disjoint", "s_contains", "s_within", "s_equals", "s_touches", "s_crosses", "s_overlaps",
};

nd_cql2 *nd_cql2_node(nd_arena *a, nd_qkind kind, size_t nargs) {
    nd_cql2 *n = nd_arena_alloc(a, sizeof *n);
    n->kind = kind;
    n->nargs = nargs;
    if (nargs) n->args = nd_arena_alloc(a, nargs * sizeof *n->args);
    return n;
}

typedef enum { T_END, T_IDENT, T_QIDENT, T_STR, T_NUM, T_PUNCT } tok_kind;

typedef struct parser {
    nd_arena *a;
    nd_error *e;
    const char *src, *p;
    tok_kind kind;           /* the current token */
    const char *start;
    size_t len;
    char *text;              /* identifiers and strings, unescaped */
    double num;
    bool is_int;
    int depth;
    size_t nodes;
} parser;

static int perr(parser *P, const char *what) {
    return nd_fail(P->e, ND_E_INVALID_PARAM, "filter", "CQL2-text: %s at character %d", what,
                   (int)(P->start - P->src) + 1);
}

static int next(parser *P) {
    const char *p = P->p;
    while (isspace((unsigned char)*p)) p++;
    P->start = p;
    P->text = NULL;
    if (!*p) {
        P->kind = T_END;
        P->len = 0;
        P->p = p;
        return 0;
    }
    if (*p == '\'') { /* '' is a quote inside */
        nd_buf b = {0};
        nd_buf_puts(&b, "");
        for (p++;; p++) {
            if (!*p) {
                nd_buf_free(&b);
                return perr(P, "unterminated string");
            }
            if (*p == '\'') {
                if (p[1] != '\'') break;
                p++;
            }
            nd_buf_append(&b, p, 1);
        }
        P->kind = T_STR;
        P->text = nd_arena_strdup(P->a, b.data);
        nd_buf_free(&b);
        P->p = p + 1;
    } else if (*p == '"') {
        const char *q = strchr(p + 1, '"');
        if (!q || q == p + 1) return perr(P, "unterminated or empty quoted property name");
        P->kind = T_QIDENT;
        P->text = nd_arena_strndup(P->a, p + 1, (size_t)(q - p - 1));
        P->p = q + 1;
    } else if (isdigit((unsigned char)*p) || ((*p == '-' || *p == '+' || *p == '.') &&
                                              (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        char *end;
        P->num = strtod(p, &end);
        if (end == p) return perr(P, "bad number");
        P->is_int = !memchr(p, '.', (size_t)(end - p)) && !memchr(p, 'e', (size_t)(end - p)) &&
                    !memchr(p, 'E', (size_t)(end - p));
        P->kind = T_NUM;
        P->p = end;
    } else if (isalpha((unsigned char)*p) || *p == '_') {
        const char *q = p;
        while (isalnum((unsigned char)*q) || *q == '_' || *q == ':' || *q == '.') q++;
        P->kind = T_IDENT;
        P->text = nd_arena_strndup(P->a, p, (size_t)(q - p));
        P->p = q;
    } else {
        static const char *const ops[] = {"<>", "<=", ">=", "(", ")", ",", "=", "<", ">"};
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!strncmp(p, ops[i], strlen(ops[i]))) {
                P->kind = T_PUNCT;
                P->text = (char *)ops[i];
                P->p = p + strlen(ops[i]);
                P->len = strlen(ops[i]);
                return 0;
            }
        return perr(P, "unexpected character");
    }
    P->len = (size_t)(P->p - P->start);
    return 0;
}

static bool is_kw(parser *P, const char *kw) { return P->kind == T_IDENT && !strcasecmp(P->text, kw); }
static bool is_punct(parser *P, const char *s) { return P->kind == T_PUNCT && !strcmp(P->text, s); }

static int expect(parser *P, const char *s) {
    if (!is_punct(P, s)) {
        char msg[40];
        snprintf(msg, sizeof msg, "expected '%s'", s);
        return perr(P, msg);
    }
    return next(P);
}

static nd_cql2 *node(parser *P, nd_qkind kind, size_t nargs) {
    if (++P->nodes > ND_CQL2_MAX_NODES) {
        perr(P, "expression too large");
        return NULL;
    }
    return nd_cql2_node(P->a, kind, nargs);
}

static int parse_or(parser *P, nd_cql2 **out);
static int parse_scalar(parser *P, nd_cql2 **out);

static const char *const wkt_types[] = {"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING",
                                        "MULTIPOLYGON", "GEOMETRYCOLLECTION"};

/* A WKT literal is handed whole to OGR: its extent is the balanced parentheses after the keyword. */
static int parse_wkt(parser *P, nd_cql2 **out) {
    const char *s = P->start, *p = P->p;
    while (isspace((unsigned char)*p) || *p == 'Z' || *p == 'z' || *p == 'M' || *p == 'm') p++;
    if (*p != '(') return perr(P, "expected '(' after the geometry type");
    int depth = 0;
    for (; *p; p++) {
        if (*p == '(') depth++;
        else if (*p == ')' && --depth == 0) break;
    }
    if (!*p) return perr(P, "unbalanced parentheses in a geometry");
    char *wkt = nd_arena_strndup(P->a, s, (size_t)(p + 1 - s));
    nd_cql2 *n = node(P, ND_Q_GEOM, 0);
    if (!n) return -1;
    char why[160];
    if (nd_geom_from_wkt(P->a, wkt, &n->geom, why, sizeof why)) {
        char msg[200];
        snprintf(msg, sizeof msg, "invalid geometry (%s)", why);
        return perr(P, msg);
    }
    P->p = p + 1;
    *out = n;
    return next(P);
}

static int time_literal(parser *P, const char *s, bool date, double *t) {
    if (!s || nd_cat_time_parse(s, date, t)) return perr(P, date ? "bad DATE" : "bad TIMESTAMP");
    return 0;
}

/* TIMESTAMP('..'), DATE('..'), INTERVAL(a, b) with '..' for an open end. */
static int parse_time(parser *P, nd_cql2 **out) {
    bool date = is_kw(P, "DATE"), interval = is_kw(P, "INTERVAL");
    if (next(P) || expect(P, "(")) return -1;
    nd_cql2 *n = node(P, interval ? ND_Q_INTERVAL : ND_Q_TIME, 0);
    if (!n) return -1;
    for (int k = 0; k < (interval ? 2 : 1); k++) {
        if (k && expect(P, ",")) return -1;
        if (interval && (P->kind == T_STR && !strcmp(P->text, ".."))) {
            n->t[k] = k ? ND_T_MAX : ND_T_MIN;
        } else if (interval && (is_kw(P, "TIMESTAMP") || is_kw(P, "DATE"))) {
            nd_cql2 *inner;
            if (parse_time(P, &inner)) return -1;
            n->t[k] = inner->t[k ? 1 : 0];
            continue;
        } else {
            if (P->kind != T_STR) return perr(P, "expected a quoted date or time");
            if (time_literal(P, P->text, date || interval, &n->t[k])) return -1;
            if (interval && k == 1 && strlen(P->text) == 10) n->t[1] += 86399.999;
        }
        if (next(P)) return -1;
    }
    if (!interval) n->t[1] = n->t[0];
    if (interval && n->t[0] > n->t[1]) return perr(P, "interval ends before it starts");
    if (date) n->t[1] = n->t[0] + 86399.999; /* a date is the whole day */
    *out = n;
    return expect(P, ")");
}

static int parse_scalar(parser *P, nd_cql2 **out) {
    if (P->kind == T_NUM) {
        nd_cql2 *n = node(P, ND_Q_NUM, 0);
        if (!n) return -1;
        n->num = P->num;
        n->is_int = P->is_int;
        *out = n;
        return next(P);
    }
    if (P->kind == T_STR) {
        nd_cql2 *n = node(P, ND_Q_STR, 0);
        if (!n) return -1;
        n->s = P->text;
        *out = n;
        return next(P);
    }
    if (P->kind == T_QIDENT) {
        nd_cql2 *n = node(P, ND_Q_PROP, 0);
        if (!n) return -1;
        n->s = P->text;
        *out = n;
        return next(P);
    }
    if (P->kind == T_PUNCT && is_punct(P, "(")) { /* a list, for IN */
        /* lists nest through parse_scalar: bounded like every other recursion, items in the arena */
        if (++P->depth > ND_CQL2_MAX_DEPTH) return perr(P, "expression nested too deeply");
        nd_cql2 *n = node(P, ND_Q_LIST, 0);
        if (!n || next(P)) return -1;
        nd_cql2 **items = nd_arena_alloc(P->a, 1024 * sizeof *items);
        size_t k = 0;
        while (!is_punct(P, ")")) {
            if (k && expect(P, ",")) return -1;
            if (k == 1024) return perr(P, "list too long");
            if (parse_scalar(P, &items[k++])) return -1;
        }
        n->args = items;
        n->nargs = k;
        *out = n;
        P->depth--;
        return next(P);
    }
    if (P->kind != T_IDENT) return perr(P, "expected a property, a literal or a geometry");
    if (is_kw(P, "TRUE") || is_kw(P, "FALSE")) {
        nd_cql2 *n = node(P, ND_Q_BOOL, 0);
        if (!n) return -1;
        n->num = is_kw(P, "TRUE");
        *out = n;
        return next(P);
    }
    if (is_kw(P, "TIMESTAMP") || is_kw(P, "DATE") || is_kw(P, "INTERVAL")) return parse_time(P, out);
    for (size_t i = 0; i < sizeof wkt_types / sizeof wkt_types[0]; i++)
        if (is_kw(P, wkt_types[i])) return parse_wkt(P, out);
    if (is_kw(P, "BBOX")) {
        double b[6];
        int k = 0;
        if (next(P) || expect(P, "(")) return -1;
        while (!is_punct(P, ")")) {
            if (k && expect(P, ",")) return -1;
            if (P->kind != T_NUM || k == 6) return perr(P, "BBOX takes 4 numbers");
            b[k++] = P->num;
            if (next(P)) return -1;
        }
        if (k != 4 && k != 6) return perr(P, "BBOX takes 4 numbers");
        if (k == 6) b[2] = b[3], b[3] = b[4];
        nd_cql2 *n = node(P, ND_Q_GEOM, 0);
        char why[160];
        if (!n) return -1;
        if (nd_geom_from_bbox(P->a, b, &n->geom, why, sizeof why)) return perr(P, "invalid BBOX");
        *out = n;
        return next(P);
    }
    if (is_kw(P, "AND") || is_kw(P, "OR") || is_kw(P, "NOT") || is_kw(P, "NULL"))
        return perr(P, "expected a property or a literal, got a keyword");
    nd_cql2 *n = node(P, ND_Q_PROP, 0);
    if (!n) return -1;
    n->s = P->text;
    *out = n;
    return next(P);
}

static int find_name(const char *const *names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (names[i] && !strcasecmp(names[i], s)) return (int)i;
    return -1;
}

/* S_INTERSECTS(a, b), T_AFTER(a, b), ... */
static int parse_function(parser *P, nd_cql2 **out) {
    int sp = find_name(nd_cql2_spatial_names, 9, P->text);
    int tp = find_name(nd_cql2_temporal_names, ND_TOP_COUNT, P->text);
    if (sp < 0 && tp < 0) return perr(P, "unknown function (supported: the S_* and T_* predicates)");
    nd_cql2 *n = node(P, sp >= 0 ? ND_Q_SPATIAL : ND_Q_TEMPORAL, 2);
    if (!n) return -1;
    n->op = sp >= 0 ? sp : tp;
    if (next(P) || expect(P, "(") || parse_scalar(P, &n->args[0]) || expect(P, ",") ||
        parse_scalar(P, &n->args[1]) || expect(P, ")"))
        return -1;
    *out = n;
    return 0;
}

static int parse_predicate(parser *P, nd_cql2 **out) {
    if (P->kind == T_IDENT && (!strncasecmp(P->text, "s_", 2) || !strncasecmp(P->text, "t_", 2) ||
                               !strncasecmp(P->text, "a_", 2))) {
        const char *save = P->p;
        while (isspace((unsigned char)*save)) save++;
        if (*save == '(') return parse_function(P, out);
    }
    nd_cql2 *lhs;
    if (parse_scalar(P, &lhs)) return -1;
    bool neg = false;
    if (is_kw(P, "NOT")) {
        neg = true;
        if (next(P)) return -1;
        if (!is_kw(P, "LIKE") && !is_kw(P, "BETWEEN") && !is_kw(P, "IN"))
            return perr(P, "expected LIKE, BETWEEN or IN after NOT");
    }
    static const char *const cmp[] = {"=", "<>", "<", "<=", ">", ">="};
    for (int i = 0; i < 6; i++)
        if (is_punct(P, cmp[i])) {
            nd_cql2 *n = node(P, ND_Q_CMP, 2);
            if (!n) return -1;
            n->op = i;
            n->args[0] = lhs;
            if (next(P) || parse_scalar(P, &n->args[1])) return -1;
            *out = n;
            return 0;
        }
    if (is_kw(P, "LIKE")) {
        nd_cql2 *n = node(P, ND_Q_LIKE, 2);
        if (!n) return -1;
        n->op = neg;
        n->args[0] = lhs;
        if (next(P) || parse_scalar(P, &n->args[1])) return -1;
        if (n->args[1]->kind != ND_Q_STR) return perr(P, "LIKE needs a string pattern");
        *out = n;
        return 0;
    }
    if (is_kw(P, "BETWEEN")) {
        nd_cql2 *n = node(P, ND_Q_BETWEEN, 3);
        if (!n) return -1;
        n->op = neg;
        n->args[0] = lhs;
        if (next(P) || parse_scalar(P, &n->args[1])) return -1;
        if (!is_kw(P, "AND")) return perr(P, "expected AND in BETWEEN");
        if (next(P) || parse_scalar(P, &n->args[2])) return -1;
        *out = n;
        return 0;
    }
    if (is_kw(P, "IN")) {
        nd_cql2 *n = node(P, ND_Q_IN, 2);
        if (!n) return -1;
        n->op = neg;
        n->args[0] = lhs;
        if (next(P)) return -1;
        if (!is_punct(P, "(")) return perr(P, "expected a list in parentheses after IN");
        if (parse_scalar(P, &n->args[1])) return -1;
        *out = n;
        return 0;
    }
    if (is_kw(P, "IS")) {
        nd_cql2 *n = node(P, ND_Q_ISNULL, 1);
        if (!n || next(P)) return -1;
        if (is_kw(P, "NOT")) {
            n->op = 1;
            if (next(P)) return -1;
        }
        if (!is_kw(P, "NULL")) return perr(P, "expected NULL after IS");
        n->args[0] = lhs;
        *out = n;
        return next(P);
    }
    if (lhs->kind == ND_Q_BOOL) {
        *out = lhs;
        return 0;
    }
    return perr(P, "expected a comparison, LIKE, BETWEEN, IN or IS NULL");
}

static int parse_not(parser *P, nd_cql2 **out) {
    if (++P->depth > ND_CQL2_MAX_DEPTH) return perr(P, "expression nested too deeply");
    int rc;
    if (is_kw(P, "NOT")) {
        nd_cql2 *n = node(P, ND_Q_NOT, 1);
        rc = !n || next(P) || parse_not(P, &n->args[0]) ? -1 : 0;
        *out = n;
    } else if (is_punct(P, "(")) {
        /* a parenthesised boolean expression (a list only follows IN, handled in parse_predicate) */
        rc = next(P) || parse_or(P, out) || expect(P, ")") ? -1 : 0;
    } else {
        rc = parse_predicate(P, out);
    }
    P->depth--;
    return rc;
}

static int parse_chain(parser *P, nd_cql2 **out, const char *kw, nd_qkind kind,
                       int (*sub)(parser *, nd_cql2 **)) {
    nd_cql2 *first;
    if (sub(P, &first)) return -1;
    if (!is_kw(P, kw)) {
        *out = first;
        return 0;
    }
    nd_cql2 *items[256];
    size_t k = 0;
    items[k++] = first;
    while (is_kw(P, kw)) {
        if (k == 256) return perr(P, "too many terms");
        if (next(P) || sub(P, &items[k++])) return -1;
    }
    nd_cql2 *n = node(P, kind, k);
    if (!n) return -1;
    memcpy(n->args, items, k * sizeof *items);
    *out = n;
    return 0;
}

static int parse_and(parser *P, nd_cql2 **out) { return parse_chain(P, out, "AND", ND_Q_AND, parse_not); }
static int parse_or(parser *P, nd_cql2 **out) {
    if (++P->depth > ND_CQL2_MAX_DEPTH) return perr(P, "expression nested too deeply");
    int rc = parse_chain(P, out, "OR", ND_Q_OR, parse_and);
    P->depth--;
    return rc;
}

int nd_cql2_parse_text(nd_arena *a, const char *text, nd_cql2 **out, nd_error *e) {
    *out = NULL;
    if (strlen(text) > ND_CQL2_MAX_TEXT)
        return nd_fail(e, ND_E_INVALID_PARAM, "filter", "CQL2-text: longer than %d bytes", ND_CQL2_MAX_TEXT);
    parser P = {.a = a, .e = e, .src = text, .p = text};
    if (next(P.kind == T_END ? &P : &P)) return -1;
    if (P.kind == T_END) return perr(&P, "empty filter");
    if (parse_or(&P, out)) return -1;
    if (P.kind != T_END) return perr(&P, "unexpected text after the expression");
    return 0;
}
