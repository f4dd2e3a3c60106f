/* Per-request arena (freed in one go when the response is sent) and a growable byte buffer. */
#ifndef NADIR_ARENA_H
#define NADIR_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct nd_arena nd_arena;

nd_arena *nd_arena_new(size_t block_size);
void nd_arena_free(nd_arena *a);
/* Zeroed, 16-byte aligned; aborts on out-of-memory like every allocation here. */
void *nd_arena_alloc(nd_arena *a, size_t n);
char *nd_arena_strdup(nd_arena *a, const char *s);
char *nd_arena_strndup(nd_arena *a, const char *s, size_t n);
char *nd_arena_printf(nd_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
size_t nd_arena_used(const nd_arena *a);

/* A malloc-backed byte buffer, always NUL-terminated after len. */
typedef struct nd_buf {
    char *data;
    size_t len, cap;
} nd_buf;

void nd_buf_reserve(nd_buf *b, size_t extra);
void nd_buf_append(nd_buf *b, const void *p, size_t n);
void nd_buf_puts(nd_buf *b, const char *s);
void nd_buf_printf(nd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nd_buf_vprintf(nd_buf *b, const char *fmt, va_list ap);
/* Appends s escaped for XML/HTML text and attribute values. */
void nd_buf_put_xml(nd_buf *b, const char *s);
void nd_buf_reset(nd_buf *b);
void nd_buf_free(nd_buf *b);
/* Gives the bytes away; the buffer is empty afterwards. */
char *nd_buf_steal(nd_buf *b, size_t *len);

/* Allocation that never returns NULL (aborts with a message instead). */
void *nd_xmalloc(size_t n);
void *nd_xcalloc(size_t n, size_t size);
void *nd_xrealloc(void *p, size_t n);
char *nd_xstrdup(const char *s);

#endif
