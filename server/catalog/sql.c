/* SQL text with '?' placeholders and the list of values bound to them: user text only ever goes to binds. */
#include <string.h>

#include "nadir/catalog.h"

static nd_bind *next_bind(nd_sql *q) {
    if (q->nbinds == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->binds = nd_xrealloc(q->binds, q->cap * sizeof *q->binds);
    }
    nd_bind *b = &q->binds[q->nbinds++];
    memset(b, 0, sizeof *b);
    nd_buf_puts(&q->text, "?");
    return b;
}

/* The text is copied into the arena so the statement can be bound after the caller's string is gone. */
void nd_sql_add_text(nd_sql *q, const char *s) {
    nd_bind *b = next_bind(q);
    b->kind = ND_B_TEXT;
    b->p = q->arena ? nd_arena_strdup(q->arena, s) : s;
    b->len = strlen(s);
}

void nd_sql_add_real(nd_sql *q, double d) {
    nd_bind *b = next_bind(q);
    b->kind = ND_B_REAL;
    b->d = d;
}

void nd_sql_add_int(nd_sql *q, int64_t i) {
    nd_bind *b = next_bind(q);
    b->kind = ND_B_INT;
    b->i = i;
}

void nd_sql_add_blob(nd_sql *q, const void *p, size_t len) {
    nd_bind *b = next_bind(q);
    b->kind = ND_B_BLOB;
    b->p = p;
    b->len = len;
}

void nd_sql_add_null(nd_sql *q) { next_bind(q)->kind = ND_B_NULL; }

int nd_sql_bind(const nd_sql *q, sqlite3_stmt *st) {
    for (size_t i = 0; i < q->nbinds; i++) {
        const nd_bind *b = &q->binds[i];
        int k = (int)i + 1, rc;
        switch (b->kind) {
        case ND_B_INT: rc = sqlite3_bind_int64(st, k, b->i); break;
        case ND_B_REAL: rc = sqlite3_bind_double(st, k, b->d); break;
        case ND_B_TEXT: rc = sqlite3_bind_text(st, k, b->p, (int)b->len, SQLITE_STATIC); break;
        case ND_B_BLOB: rc = sqlite3_bind_blob(st, k, b->p, (int)b->len, SQLITE_STATIC); break;
        default: rc = sqlite3_bind_null(st, k); break;
        }
        if (rc != SQLITE_OK) return -1;
    }
    return 0;
}

void nd_sql_free(nd_sql *q) {
    nd_buf_free(&q->text);
    free(q->binds);
    q->binds = NULL;
    q->nbinds = q->cap = 0;
}

/* Item fields with their own column; the other properties are read from the JSON with a bound path. */
void nd_cat_property_sql(nd_sql *q, const char *name) {
    static const char *const cols[][2] = {
        {"id", "i.id"}, {"collection", "i.collection"}, {"datetime", "i.datetime"},
        {"start_datetime", "i.start_dt"}, {"end_datetime", "i.end_dt"}, {"geometry", "i.geom"},
    };
    for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++)
        if (!strcmp(name, cols[k][0])) {
            nd_buf_puts(&q->text, cols[k][1]);
            return;
        }
    const char *p = !strncmp(name, "properties.", 11) ? name + 11 : name;
    nd_buf_puts(&q->text, "json_extract(i.json, ");
    nd_buf b = {0};
    nd_buf_puts(&b, "$.properties.\"");
    nd_buf_puts(&b, p);
    nd_buf_puts(&b, "\"");
    nd_sql_add_text(q, b.data);
    nd_buf_free(&b);
    nd_buf_puts(&q->text, ")");
}
