/* Per-request arena (a chain of blocks freed together) and the growable byte buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"

#define ALIGN 16

typedef struct block {
    struct block *next;
    size_t used, size;
    _Alignas(ALIGN) unsigned char data[];
} block;

struct nd_arena {
    block *head;
    size_t block_size, total;
};

static void oom(size_t n) {
    fprintf(stderr, "nadir: out of memory allocating %zu bytes\n", n);
    abort();
}

void *nd_xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}
void *nd_xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}
void *nd_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}
char *nd_xstrdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    return memcpy(nd_xmalloc(n), s, n);
}

static block *block_new(size_t size) {
    block *b = nd_xmalloc(sizeof(block) + size);
    b->next = NULL;
    b->used = 0;
    b->size = size;
    return b;
}

nd_arena *nd_arena_new(size_t block_size) {
    nd_arena *a = nd_xcalloc(1, sizeof *a);
    a->block_size = block_size ? block_size : 8192;
    return a;
}

void nd_arena_free(nd_arena *a) {
    if (!a) return;
    for (block *b = a->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *nd_arena_alloc(nd_arena *a, size_t n) {
    if (n > SIZE_MAX - ALIGN) oom(n);
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    block *b = a->head;
    if (!b || b->size - b->used < need) {
        /* Big requests get a block of their own, behind the current one, so its free space stays usable. */
        size_t size = need > a->block_size / 4 ? need : a->block_size;
        block *nb = block_new(size);
        if (b && size == need) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->total += need;
    memset(p, 0, n);
    return p;
}

char *nd_arena_strndup(nd_arena *a, const char *s, size_t n) {
    n = strnlen(s, n); /* like strndup: never reads past the string's end */
    char *p = nd_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *nd_arena_strdup(nd_arena *a, const char *s) { return s ? nd_arena_strndup(a, s, strlen(s)) : NULL; }

char *nd_arena_printf(nd_arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = nd_arena_alloc(a, (size_t)(n < 0 ? 0 : n) + 1);
    if (n > 0) vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

size_t nd_arena_used(const nd_arena *a) { return a->total; }

void nd_buf_reserve(nd_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    b->data = nd_xrealloc(b->data, cap);
    b->cap = cap;
}

void nd_buf_append(nd_buf *b, const void *p, size_t n) {
    nd_buf_reserve(b, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
}

void nd_buf_puts(nd_buf *b, const char *s) { nd_buf_append(b, s, strlen(s)); }

void nd_buf_vprintf(nd_buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0) {
        nd_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void nd_buf_printf(nd_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    nd_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void nd_buf_put_xml(nd_buf *b, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '&': nd_buf_puts(b, "&amp;"); break;
        case '<': nd_buf_puts(b, "&lt;"); break;
        case '>': nd_buf_puts(b, "&gt;"); break;
        case '"': nd_buf_puts(b, "&quot;"); break;
        case '\'': nd_buf_puts(b, "&#39;"); break;
        default:
            /* Control characters other than tab/newline are not allowed in XML 1.0. */
            if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') nd_buf_puts(b, "?");
            else nd_buf_append(b, s, 1);
        }
    }
}

void nd_buf_reset(nd_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void nd_buf_free(nd_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *nd_buf_steal(nd_buf *b, size_t *len) {
    if (!b->data) nd_buf_reserve(b, 0), b->data[0] = 0;
    char *p = b->data;
    if (len) *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
