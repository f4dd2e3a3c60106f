/* HTTP core: requests and responses independent of the socket, the route table, the server. */
#ifndef NADIR_HTTP_H
#define NADIR_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nadir/arena.h"
#include "nadir/error.h"

struct nd_app;
struct json_t;
struct nd_route;

typedef struct nd_kv {
    const char *key, *value;
} nd_kv;

/* Key/value pairs in arrival order, allocated in the request arena. */
typedef struct nd_kvlist {
    nd_kv *items;
    size_t n, cap;
} nd_kvlist;

void nd_kvlist_add(nd_arena *a, nd_kvlist *l, const char *key, const char *value);
/* First value whose key matches case-insensitively, or NULL. */
const char *nd_kvlist_get(const nd_kvlist *l, const char *key);
size_t nd_kvlist_count(const nd_kvlist *l, const char *key);

/* Decodes %XX and (when plus_is_space) '+' in place; returns -1 on a malformed escape or a NUL byte. */
int nd_url_decode(char *s, bool plus_is_space);
/* Parses "a=1&b=2" into l (keys and values percent-decoded); returns -1 when an escape is malformed. */
int nd_query_parse(nd_arena *a, const char *query, nd_kvlist *l);
/* Appends s percent-encoded for a URL query value. */
void nd_buf_put_urlenc(nd_buf *b, const char *s);

typedef struct nd_req {
    nd_arena *arena;
    const struct nd_app *app;
    const struct nd_route *route;
    const char *method;       /* "GET", "HEAD", "POST"... */
    const char *path;         /* percent-decoded path */
    const char *query;        /* raw query string without '?', "" when none */
    nd_kvlist query_params;
    nd_kvlist headers;
    nd_kvlist path_params;    /* {name} captures of the route template */
    const char *body;
    size_t body_len;
    const char *client_ip;
    const char *version;      /* protocol version negotiated by the front-end (OWS), or NULL */
    const struct nd_identity *who; /* the caller (nadir/auth.h), set once before the handler runs */
    nd_error err;
} nd_req;

const char *nd_req_query(const nd_req *rq, const char *key);
const char *nd_req_header(const nd_req *rq, const char *name);
const char *nd_req_param(const nd_req *rq, const char *name);
/* True when the client asked for JSON: ?f=json, or an Accept preferring application/json over text/html. */
bool nd_req_wants_json(const nd_req *rq);
/* The public URL of a path on this server: base_url + path. */
const char *nd_req_url(const nd_req *rq, const char *path);

/* A response body is produced piece by piece by a stream (DAP, large coverages), or lies in body. */
typedef struct nd_stream {
    /* Writes up to max bytes at buf for offset pos; returns bytes written, 0 at the end, -1 on error. */
    long (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*free)(void *ctx);
    void *ctx;
    uint64_t size;           /* UINT64_MAX when unknown (chunked) */
} nd_stream;

typedef struct nd_resp {
    int status;
    const char *content_type;
    nd_buf body;
    nd_kvlist headers;       /* extra headers */
    int cache_seconds;       /* > 0: Cache-Control max-age and an ETag; 0: no-store */
    bool compressible;       /* text the server may gzip */
    nd_stream stream;        /* used when stream.read is set */
} nd_resp;

void nd_resp_header(nd_req *rq, nd_resp *rs, const char *name, const char *value);
void nd_resp_set_json(nd_resp *rs, int status, const char *json, size_t len);
/* Serialises o (consumed) as compact JSON into rs with status; not cacheable (set cache_seconds after). */
int nd_resp_json(nd_resp *rs, int status, struct json_t *o);
/* A link object {href, rel[, type][, title]} whose href is path on this server. */
struct json_t *nd_json_link(nd_req *rq, const char *path, const char *rel, const char *type, const char *title);
void nd_resp_free(nd_resp *rs);

/* A handler fills rs and returns 0, or returns a negative code with rq->err filled (see nd_fail). */
typedef int (*nd_handler)(nd_req *rq, nd_resp *rs);
/* Renders rq->err into rs the way the protocol of the route speaks. */
typedef void (*nd_error_renderer)(nd_req *rq, nd_resp *rs);

typedef struct nd_route {
    const char *method;      /* "GET" (HEAD answered too), "POST", "PUT", "DELETE", "*" */
    const char *path;        /* "/collections/{id}"; a last "{rest*}" takes the remainder */
    nd_handler handler;
    const char *service;     /* metrics label and OpenAPI tag: "core", "wms", ... */
    const char *summary;     /* OpenAPI summary; NULL keeps the route out of the OpenAPI document */
    nd_error_renderer render_error; /* NULL: application/problem+json */
} nd_route;

typedef struct nd_router nd_router;

nd_router *nd_router_new(void);
void nd_router_free(nd_router *r);
/* Copies the route; the strings must outlive the router (they are static in practice). */
void nd_router_add(nd_router *r, const nd_route *route);
size_t nd_router_count(const nd_router *r);
const nd_route *nd_router_at(const nd_router *r, size_t i);
/* Finds the route for method+path, filling rq->path_params. NULL with *path_known set when
 * the path exists for another method (405). */
const nd_route *nd_router_match(const nd_router *r, const char *method, const char *path, nd_req *rq,
                                bool *path_known);

/* Does an Accept-Encoding header value allow gzip (present and not q=0)? */
bool nd_http_accepts_gzip(const char *accept_encoding);

/* Runs a request through routing, the handler and error rendering; used by the server and by
 * unit tests that drive handlers without a socket. The response is complete on return. */
void nd_http_dispatch(const struct nd_app *app, nd_req *rq, nd_resp *rs);

/* application/problem+json rendering of rq->err (OGC API, STAC). */
void nd_problem_render(nd_req *rq, nd_resp *rs);

/* Builds a request in memory, for tests: url may hold a query string. */
nd_req *nd_req_new_test(const struct nd_app *app, const char *method, const char *url, const char *body);
void nd_req_free_test(nd_req *rq);

/* Serves app until SIGTERM or SIGINT (block both in every thread before calling), then stops
 * accepting, lets in-flight requests finish (30 s at most) and returns 0. */
int nd_server_run(const struct nd_app *app, char *err, size_t errlen);

#endif
