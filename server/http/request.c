/* Request and response helpers: key/value lists, URL decoding, query parsing, in-memory requests. */
#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/app.h"
#include "nadir/http.h"

void nd_kvlist_add(nd_arena *a, nd_kvlist *l, const char *key, const char *value) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        nd_kv *items = nd_arena_alloc(a, cap * sizeof *items);
        if (l->n) memcpy(items, l->items, l->n * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->n++] = (nd_kv){key, value};
}

const char *nd_kvlist_get(const nd_kvlist *l, const char *key) {
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->items[i].key, key) == 0) return l->items[i].value;
    return NULL;
}

size_t nd_kvlist_count(const nd_kvlist *l, const char *key) {
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) n += strcasecmp(l->items[i].key, key) == 0;
    return n;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int nd_url_decode(char *s, bool plus_is_space) {
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '%') {
            int hi = hexval((unsigned char)r[1]), lo = hi < 0 ? -1 : hexval((unsigned char)r[2]);
            if (hi < 0 || lo < 0) return -1;
            int c = hi * 16 + lo;
            if (c == 0) return -1; /* an embedded NUL would cut strings short downstream */
            *w++ = (char)c;
            r += 2;
        } else if (*r == '+' && plus_is_space) {
            *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    *w = 0;
    return 0;
}

int nd_query_parse(nd_arena *a, const char *query, nd_kvlist *l) {
    if (!query) return 0;
    for (const char *p = query; *p;) {
        size_t n = strcspn(p, "&");
        if (n) {
            char *pair = nd_arena_strndup(a, p, n);
            char *eq = strchr(pair, '=');
            char *value = eq ? eq + 1 : pair + n;
            if (eq) *eq = 0;
            if (nd_url_decode(pair, true) < 0 || nd_url_decode(value, true) < 0) return -1;
            if (*pair) nd_kvlist_add(a, l, pair, value);
        }
        p += n;
        if (*p == '&') p++;
    }
    return 0;
}

void nd_buf_put_urlenc(nd_buf *b, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || strchr("-_.~", c)) {
            nd_buf_append(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            nd_buf_append(b, e, 3);
        }
    }
}

const char *nd_req_query(const nd_req *rq, const char *key) { return nd_kvlist_get(&rq->query_params, key); }
const char *nd_req_header(const nd_req *rq, const char *name) { return nd_kvlist_get(&rq->headers, name); }
const char *nd_req_param(const nd_req *rq, const char *name) { return nd_kvlist_get(&rq->path_params, name); }

/* The q-value the Accept header gives a media type (exact, or a wildcard), -1 when absent. */
static double accept_q(const char *accept, const char *type) {
    double best = -1;
    const char *slash = strchr(type, '/');
    size_t major = slash ? (size_t)(slash - type) : strlen(type);
    for (const char *p = accept; p && *p;) {
        while (*p == ' ' || *p == ',') p++;
        size_t n = strcspn(p, ",");
        size_t mlen = strcspn(p, ";,");
        while (mlen && p[mlen - 1] == ' ') mlen--;
        double q = 1;
        const char *qs = memchr(p, ';', n);
        for (; qs && qs < p + n; qs = memchr(qs + 1, ';', (size_t)(p + n - qs - 1))) {
            const char *t = qs + 1;
            while (*t == ' ') t++;
            if (strncmp(t, "q=", 2) == 0) q = strtod(t + 2, NULL);
        }
        int exact = mlen == strlen(type) && strncasecmp(p, type, mlen) == 0;
        int wild_sub = mlen == major + 2 && strncasecmp(p, type, major) == 0 && strncmp(p + major, "/*", 2) == 0;
        int wild_all = mlen == 3 && strncmp(p, "*/*", 3) == 0;
        /* A wildcard counts a little less, so "text/html, any" prefers HTML over JSON. */
        double v = exact ? q : wild_sub ? q - 0.0001 : wild_all ? q - 0.0002 : -1;
        if (v > best) best = v;
        p += n;
    }
    return best;
}

bool nd_req_wants_json(const nd_req *rq) {
    const char *f = nd_req_query(rq, "f");
    if (f) return strcasecmp(f, "json") == 0 || strcasecmp(f, "application/json") == 0;
    const char *accept = nd_req_header(rq, "Accept");
    if (!accept || !*accept) return true;
    double json = accept_q(accept, "application/json"), html = accept_q(accept, "text/html");
    return json >= html;
}

const char *nd_req_url(const nd_req *rq, const char *path) {
    const char *base = rq->app && rq->app->config ? rq->app->config->server.base_url : "";
    return nd_arena_printf(rq->arena, "%s%s", base ? base : "", path);
}

void nd_resp_header(nd_req *rq, nd_resp *rs, const char *name, const char *value) {
    nd_kvlist_add(rq->arena, &rs->headers, nd_arena_strdup(rq->arena, name), nd_arena_strdup(rq->arena, value));
}

void nd_resp_set_json(nd_resp *rs, int status, const char *json, size_t len) {
    rs->status = status;
    rs->content_type = "application/json";
    rs->compressible = true;
    nd_buf_reset(&rs->body);
    nd_buf_append(&rs->body, json, len);
}

int nd_resp_json(nd_resp *rs, int status, json_t *o) {
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    nd_resp_set_json(rs, status, s, strlen(s));
    free(s);
    rs->cache_seconds = 0;
    return 0;
}

json_t *nd_json_link(nd_req *rq, const char *path, const char *rel, const char *type, const char *title) {
    json_t *l = json_pack("{s:s, s:s}", "href", nd_req_url(rq, path), "rel", rel);
    if (type) json_object_set_new(l, "type", json_string(type));
    if (title) json_object_set_new(l, "title", json_string(title));
    return l;
}

void nd_resp_free(nd_resp *rs) {
    nd_buf_free(&rs->body);
    if (rs->stream.free) rs->stream.free(rs->stream.ctx);
    rs->stream = (nd_stream){0};
}

nd_req *nd_req_new_test(const struct nd_app *app, const char *method, const char *url, const char *body) {
    nd_arena *a = nd_arena_new(0);
    nd_req *rq = nd_arena_alloc(a, sizeof *rq);
    rq->arena = a;
    rq->app = app;
    rq->method = nd_arena_strdup(a, method);
    const char *q = strchr(url, '?');
    char *path = nd_arena_strndup(a, url, q ? (size_t)(q - url) : strlen(url));
    nd_url_decode(path, false);
    rq->path = path;
    rq->query = nd_arena_strdup(a, q ? q + 1 : "");
    nd_query_parse(a, rq->query, &rq->query_params);
    rq->body = body ? nd_arena_strdup(a, body) : NULL;
    rq->body_len = body ? strlen(body) : 0;
    rq->client_ip = "127.0.0.1";
    return rq;
}

void nd_req_free_test(nd_req *rq) { nd_arena_free(rq->arena); }
