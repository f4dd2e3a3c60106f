/* OPeNDAP constraint expressions (DAP2 projections/selections, DAP4 dap4.ce), parsed in one linear pass with
 * bounded length, count, rank and numbers. */
#include <ctype.h>
#include <string.h>

#include "nadir/dap.h"

typedef struct {
    const char *s;
    size_t i, n;
    nd_arena *a;
    nd_error *err;
} cursor;

static int bad(cursor *c, const char *what) {
    return nd_fail(c->err, ND_E_INVALID_PARAM, "ce", "Malformed constraint at character %zu: %s", c->i + 1, what);
}

static bool at(const cursor *c, char ch) { return c->i < c->n && c->s[c->i] == ch; }

/* Identifier characters: everything but the constraint syntax (names were percent-decoded already). */
static bool name_char(char ch, bool dap4) {
    if ((unsigned char)ch <= ' ' || strchr("[]{}(),;&|=<>!\"", ch)) return false;
    return dap4 ? ch != '/' : ch != '.';
}

static int number(cursor *c, size_t *out) {
    size_t v = 0, digits = 0;
    while (c->i < c->n && isdigit((unsigned char)c->s[c->i])) {
        v = v * 10 + (size_t)(c->s[c->i++] - '0');
        if (++digits > 15 || v > ND_DAP_MAX_INDEX)
            return nd_fail(c->err, ND_E_INVALID_PARAM, "ce", "Index too large in the constraint (at character %zu)",
                           c->i);
    }
    if (!digits) return bad(c, "a number was expected");
    *out = v;
    return 0;
}

/* "[n]", "[a:b]", "[a:s:b]"; DAP4 also "[]", "[a:]", "[a:s:]". */
static int slice(cursor *c, bool dap4, nd_dap_slice *sl) {
    c->i++; /* '[' */
    *sl = (nd_dap_slice){0, 1, 0, false};
    if (dap4 && at(c, ']')) {
        c->i++;
        sl->open_end = true;
        return 0;
    }
    size_t v[3];
    int nv = 0;
    bool open = false;
    for (;;) {
        if (nv == 3) return bad(c, "at most start:stride:stop");
        if (dap4 && nv > 0 && at(c, ']')) {
            open = true;
            break;
        }
        if (number(c, &v[nv++]) < 0) return -1;
        if (at(c, ':')) {
            c->i++;
            continue;
        }
        break;
    }
    if (!at(c, ']')) return bad(c, "']' expected");
    c->i++;
    if (nv == 1 && !open) {
        sl->start = sl->stop = v[0];
    } else if (nv == 1) {
        sl->start = v[0], sl->open_end = true;
    } else if (nv == 2 && !open) {
        sl->start = v[0], sl->stop = v[1];
    } else if (nv == 2) {
        sl->start = v[0], sl->stride = v[1], sl->open_end = true;
    } else {
        sl->start = v[0], sl->stride = v[1], sl->stop = v[2];
    }
    if (sl->stride == 0)
        return nd_fail(c->err, ND_E_INVALID_PARAM, "ce", "A stride of 0 is not allowed (at character %zu)", c->i);
    if (!sl->open_end && sl->stop < sl->start)
        return nd_fail(c->err, ND_E_INVALID_PARAM, "ce", "Stop %zu is before start %zu", sl->stop, sl->start);
    return 0;
}

static int slices(cursor *c, bool dap4, nd_dap_proj *p) {
    while (at(c, '[')) {
        if (p->nslices == ND_DAP_MAX_RANK)
            return nd_fail(c->err, ND_E_INVALID_PARAM, "ce", "More than %d dimensions in one projection",
                           ND_DAP_MAX_RANK);
        if (!p->slices) p->slices = nd_arena_alloc(c->a, ND_DAP_MAX_RANK * sizeof *p->slices);
        if (slice(c, dap4, &p->slices[p->nslices++]) < 0) return -1;
    }
    return 0;
}

static const char *name(cursor *c, bool dap4) {
    size_t b = c->i;
    while (c->i < c->n && name_char(c->s[c->i], dap4)) c->i++;
    if (c->i == b) return NULL;
    return nd_arena_strndup(c->a, c->s + b, c->i - b);
}

static nd_dap_proj *new_proj(cursor *c, nd_dap_ce *out) {
    if (out->nproj == ND_DAP_MAX_PROJ) {
        nd_fail(c->err, ND_E_INVALID_PARAM, "ce", "More than %d projections", ND_DAP_MAX_PROJ);
        return NULL;
    }
    if (!out->proj) out->proj = nd_arena_alloc(c->a, ND_DAP_MAX_PROJ * sizeof *out->proj);
    return &out->proj[out->nproj++];
}

static int check_len(const char *ce, nd_error *err) {
    if (strlen(ce) > ND_DAP_MAX_CE)
        return nd_fail(err, ND_E_INVALID_PARAM, "ce", "Constraint longer than %d characters", ND_DAP_MAX_CE);
    return 0;
}

/* DAP2 projection: a(.b)* with slices on one component; "g.g" (Grid member named like its Grid) is "g". */
static int dap2_proj(cursor *c, nd_dap_ce *out) {
    nd_dap_proj *p = new_proj(c, out);
    if (!p) return -1;
    *p = (nd_dap_proj){0};
    const char *first = NULL, *last = NULL;
    int ncomp = 0;
    size_t ranged = 0;
    for (;;) {
        const char *n = name(c, false);
        if (!n) return bad(c, "a variable name was expected");
        if (at(c, '(')) return nd_fail(c->err, ND_E_NOT_IMPLEMENTED, "ce", "Server functions are not supported");
        if (!first) first = n;
        last = n;
        ncomp++;
        size_t before = p->nslices;
        if (slices(c, false, p) < 0) return -1;
        if (p->nslices > before && before > 0) return bad(c, "slices on more than one part of the name");
        if (p->nslices > before) ranged++;
        if (!at(c, '.')) break;
        c->i++;
    }
    if (ncomp > 2)
        return nd_fail(c->err, ND_E_NOT_FOUND, "ce", "No such variable: %s (this server has no Structures)", last);
    p->name = last;
    /* "g.m": a member of Grid g, its array (g.g) or the map m; resolved against g's dimensions later */
    if (ncomp == 2) p->parent = first;
    return 0;
}

int nd_dap2_ce_parse(nd_arena *a, const char *ce, nd_dap_ce *out, nd_error *err) {
    *out = (nd_dap_ce){0};
    if (check_len(ce, err) < 0) return -ND_E_INVALID_PARAM;
    cursor c = {ce, 0, strlen(ce), a, err};
    if (c.n && !at(&c, '&')) {
        for (;;) {
            if (dap2_proj(&c, out) < 0) return -(int)err->code;
            if (!at(&c, ',')) break;
            c.i++;
        }
    }
    while (at(&c, '&')) {
        /* A selection: only Sequences can be filtered; count it so the caller answers precisely. */
        c.i++;
        size_t b = c.i;
        while (c.i < c.n && c.s[c.i] != '&') c.i++;
        if (c.i == b) return bad(&c, "an empty selection");
        out->nsel++;
    }
    if (c.i != c.n) return bad(&c, "unexpected character");
    return 0;
}

int nd_dap4_ce_parse(nd_arena *a, const char *ce, nd_dap_ce *out, nd_error *err) {
    *out = (nd_dap_ce){0};
    if (check_len(ce, err) < 0) return -ND_E_INVALID_PARAM;
    cursor c = {ce, 0, strlen(ce), a, err};
    while (c.i < c.n) {
        nd_dap_proj *p = new_proj(&c, out);
        if (!p) return -(int)err->code;
        *p = (nd_dap_proj){0};
        /* a fully qualified name, "/g1/g2/v" (the leading '/' may be left out) */
        size_t b = c.i;
        do {
            if (at(&c, '/')) c.i++;
            if (!name(&c, true)) return bad(&c, "a variable name was expected");
        } while (at(&c, '/'));
        if (at(&c, '=')) return nd_fail(err, ND_E_NOT_IMPLEMENTED, "ce", "Dimension definitions are not supported");
        p->name = nd_arena_printf(a, "%s%.*s", c.s[b] == '/' ? "" : "/", (int)(c.i - b), c.s + b);
        if (slices(&c, true, p) < 0) return -(int)err->code;
        if (at(&c, '{')) return nd_fail(err, ND_E_NOT_IMPLEMENTED, "ce", "Field projections are not supported");
        if (at(&c, '|')) return nd_fail(err, ND_E_NOT_IMPLEMENTED, "ce", "Filters are not supported");
        if (at(&c, ';')) {
            c.i++;
            if (c.i == c.n) return bad(&c, "a clause was expected after ';'");
            continue;
        }
        if (c.i != c.n) return bad(&c, "';' or the end was expected");
    }
    return 0;
}
