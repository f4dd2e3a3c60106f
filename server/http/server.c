/* libmicrohttpd glue: limits, bodies, CORS, ETag/304, gzip, access log, metrics, graceful stop. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "nadir/app.h"
#include "nadir/http.h"
#include "nadir/metrics.h"

#define GZIP_MIN_BYTES 512
#define STREAM_BLOCK (64 * 1024)
#define DRAIN_SECONDS 30

typedef struct server {
    const nd_app *app;
    FILE *access_log;
    atomic_int in_flight;
    atomic_int connections;
} server;

/* One request's life on a connection, from the URI callback to the completion callback. */
typedef struct exchange {
    char *raw_uri;
    nd_buf body;
    uint64_t received;
    bool too_large;
    struct timespec t0;
    int status;
    uint64_t bytes;
    const char *service;
    char method[16];
} exchange;

static double seconds_since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The connection's slot for its exchange in progress (its socket context, see on_connection). */
static exchange **pending_slot(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    server *s = cls;
    exchange *x = nd_xcalloc(1, sizeof *x);
    x->raw_uri = nd_xstrdup(uri);
    clock_gettime(CLOCK_MONOTONIC, &x->t0);
    atomic_fetch_add(&s->in_flight, 1);
    exchange **slot = pending_slot(c);
    if (slot) *slot = x;
    return x;
}

static void exchange_free(server *s, exchange *x) {
    free(x->raw_uri);
    nd_buf_free(&x->body);
    free(x);
    atomic_fetch_sub(&s->in_flight, 1);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    server *s = cls;
    exchange *x = *con_cls;
    if (!x) return;
    double secs = seconds_since(&x->t0);
    if (!x->status) x->status = 499; /* client went away before an answer */
    nd_metrics_observe(s->app->metrics, x->service ? x->service : "none", x->status, secs, x->bytes);
    if (s->access_log) {
        const char *q = strchr(x->raw_uri, '?');
        int path_len = q ? (int)(q - x->raw_uri) : (int)strlen(x->raw_uri);
        fprintf(s->access_log, "%s %.*s %d %llu %.1fms%s\n", x->method, path_len, x->raw_uri, x->status,
                (unsigned long long)x->bytes, secs * 1e3,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (incomplete)");
    }
    exchange **slot = pending_slot(c);
    if (slot && *slot == x) *slot = NULL;
    exchange_free(s, x);
    *con_cls = NULL;
}

/* MHD reports a request as completed only once our handler has seen it: one it refused while reading the
 * headers (pool exhausted by a huge URL or too many parameters) never is, so the connection frees it. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx, enum MHD_ConnectionNotificationCode t) {
    server *s = cls;
    int delta = t == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1;
    if (t == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_ctx = nd_xcalloc(1, sizeof(exchange *));
    } else {
        exchange **slot = *socket_ctx;
        if (slot && *slot) exchange_free(s, *slot);
        free(slot);
        *socket_ctx = NULL;
    }
    atomic_fetch_add(&s->connections, delta);
    nd_metrics_connections(s->app->metrics, delta);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    nd_req *rq = cls;
    nd_kvlist_add(rq->arena, &rq->headers, nd_arena_strdup(rq->arena, key),
                  nd_arena_strdup(rq->arena, value ? value : ""));
    return MHD_YES;
}

static uint64_t fnv1a(const void *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *b = p; n--; b++) h = (h ^ *b) * 1099511628211ull;
    return h;
}

/* Does the Accept-Encoding header allow gzip (present and not q=0)? */
bool nd_http_accepts_gzip(const char *ae) {
    for (const char *p = ae; p && (p = strcasestr(p, "gzip")); p += 4) {
        const char *end = p + 4 + strcspn(p + 4, ",");
        const char *q = strstr(p, "q=");
        if (q && q < end && strtod(q + 2, NULL) <= 0) continue;
        return true;
    }
    return false;
}

static bool gzip_buf(const nd_buf *in, nd_buf *out) {
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
    nd_buf_reserve(out, deflateBound(&z, in->len));
    z.next_in = (Bytef *)in->data;
    z.avail_in = (uInt)in->len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)(out->cap - 1);
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    return rc == Z_STREAM_END;
}

/* Does If-None-Match list this entity tag (or "*")? */
static bool etag_matches(const char *inm, const char *etag) {
    if (!inm) return false;
    if (strcmp(inm, "*") == 0) return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag))
        if (p[n] == 0 || p[n] == ',' || p[n] == ' ') return true;
    return false;
}

static const char *cors_origin(const nd_app *app, const char *origin) {
    const nd_server_conf *sc = &app->config->server;
    for (size_t i = 0; i < sc->ncors_origins; i++) {
        if (strcmp(sc->cors_origins[i], "*") == 0) return "*";
        if (origin && strcmp(sc->cors_origins[i], origin) == 0) return origin;
    }
    return NULL;
}

static void add_common_headers(const nd_app *app, nd_req *rq, nd_resp *rs) {
    const char *allow = cors_origin(app, nd_req_header(rq, "Origin"));
    if (allow) {
        nd_resp_header(rq, rs, "Access-Control-Allow-Origin", allow);
        nd_resp_header(rq, rs, "Access-Control-Expose-Headers", "ETag, Location, Content-Encoding");
        if (strcmp(allow, "*") != 0) nd_resp_header(rq, rs, "Vary", "Origin");
    }
    nd_resp_header(rq, rs, "Server", "nadir/" ND_VERSION);
    /* error bodies echo what the client sent (escaped for their own format): never sniffed into HTML */
    if (!nd_kvlist_get(&rs->headers, "X-Content-Type-Options"))
        nd_resp_header(rq, rs, "X-Content-Type-Options", "nosniff");
}

/* ETag, 304 and gzip for in-memory bodies. Returns true when the answer became a 304. */
static bool finish_body(nd_req *rq, nd_resp *rs, bool *gzipped) {
    *gzipped = false;
    if (rs->stream.read) return false;
    bool gz = rs->compressible && rs->body.len >= GZIP_MIN_BYTES &&
              nd_http_accepts_gzip(nd_req_header(rq, "Accept-Encoding"));
    if (rs->compressible) nd_resp_header(rq, rs, "Vary", "Accept-Encoding");
    if (rs->status == 200 && rs->cache_seconds > 0) {
        /* The gzip variant is another representation, so it gets its own tag. */
        const char *etag = nd_arena_printf(rq->arena, "\"%016llx%s\"",
                                           (unsigned long long)fnv1a(rs->body.data, rs->body.len), gz ? "-gz" : "");
        nd_resp_header(rq, rs, "ETag", etag);
        nd_resp_header(rq, rs, "Cache-Control", nd_arena_printf(rq->arena, "public, max-age=%d", rs->cache_seconds));
        if (etag_matches(nd_req_header(rq, "If-None-Match"), etag)) {
            rs->status = 304;
            nd_buf_reset(&rs->body);
            return true;
        }
    } else {
        nd_resp_header(rq, rs, "Cache-Control", "no-store");
    }
    if (gz) {
        nd_buf out = {0};
        if (gzip_buf(&rs->body, &out)) {
            nd_buf_free(&rs->body);
            rs->body = out;
            *gzipped = true;
        } else {
            nd_buf_free(&out);
        }
    }
    return false;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    nd_stream *st = cls;
    long n = st->read(st->ctx, pos, buf, max);
    if (n < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    return n;
}

static void stream_free(void *cls) {
    nd_stream *st = cls;
    if (st->free) st->free(st->ctx);
    free(st);
}

static enum MHD_Result send_resp(struct MHD_Connection *c, exchange *x, nd_req *rq, nd_resp *rs, bool gzipped) {
    struct MHD_Response *r;
    if (rs->stream.read) {
        nd_stream *st = nd_xmalloc(sizeof *st);
        *st = rs->stream;
        rs->stream = (nd_stream){0};
        r = MHD_create_response_from_callback(st->size == UINT64_MAX ? MHD_SIZE_UNKNOWN : st->size, STREAM_BLOCK,
                                              stream_reader, st, stream_free);
        x->bytes = st->size == UINT64_MAX ? 0 : st->size;
    } else {
        size_t len;
        char *data = nd_buf_steal(&rs->body, &len);
        r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
        x->bytes = strcmp(rq->method, "HEAD") == 0 ? 0 : len;
    }
    if (!r) return MHD_NO;
    if (rs->content_type && rs->status != 304) MHD_add_response_header(r, "Content-Type", rs->content_type);
    if (gzipped) MHD_add_response_header(r, "Content-Encoding", "gzip");
    for (size_t i = 0; i < rs->headers.n; i++)
        MHD_add_response_header(r, rs->headers.items[i].key, rs->headers.items[i].value);
    x->status = rs->status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)rs->status, r);
    MHD_destroy_response(r);
    return ok;
}

static nd_req *build_request(server *s, struct MHD_Connection *c, exchange *x, const char *method) {
    nd_arena *a = nd_arena_new(16384);
    nd_req *rq = nd_arena_alloc(a, sizeof *rq);
    rq->arena = a;
    rq->app = s->app;
    rq->method = nd_arena_strdup(a, method);
    const char *q = strchr(x->raw_uri, '?');
    char *path = nd_arena_strndup(a, x->raw_uri, q ? (size_t)(q - x->raw_uri) : strlen(x->raw_uri));
    rq->query = nd_arena_strdup(a, q ? q + 1 : "");
    rq->path = path;
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, rq);
    rq->body = x->body.data;
    rq->body_len = x->body.len;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char ip[INET6_ADDRSTRLEN] = "?";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
        else if (sa->sa_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    }
    rq->client_ip = nd_arena_strdup(a, ip);
    return rq;
}

/* A request refused before dispatch is answered in the format of the route it was for (an OWS exception on
 * /wms, a DAP error on /opendap...), problem+json when the path is unknown or unreadable. */
static void render_refusal(const nd_app *app, nd_req *rq, nd_resp *rs, const char *method, bool path_ok) {
    bool known = false;
    const nd_route *r = path_ok ? nd_router_match(app->router, method, rq->path, rq, &known) : NULL;
    if (r && r->render_error) {
        rq->route = r;
        r->render_error(rq, rs);
    } else {
        nd_problem_render(rq, rs);
    }
}

static enum MHD_Result answer(server *s, struct MHD_Connection *c, exchange *x, const char *method) {
    nd_req *rq = build_request(s, c, x, method);
    nd_resp rs = {0};
    int bad_query = nd_query_parse(rq->arena, rq->query, &rq->query_params);
    bool bad_path = nd_url_decode((char *)rq->path, false) < 0;
    if (bad_path || bad_query < 0) {
        nd_fail(&rq->err, ND_E_BAD_REQUEST, "url", "Malformed percent-encoding in the URL");
        render_refusal(s->app, rq, &rs, method, !bad_path);
    } else if (x->too_large) {
        nd_fail(&rq->err, ND_E_TOO_LARGE, "body", "The request body exceeds the limit of %lld bytes",
                s->app->config->server.max_body);
        render_refusal(s->app, rq, &rs, method, true);
    } else if (strcmp(method, "OPTIONS") == 0) {
        rs.status = 204; /* CORS preflight */
        nd_resp_header(rq, &rs, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        nd_resp_header(rq, &rs, "Access-Control-Allow-Headers", "Content-Type, Authorization, Accept, Prefer, If-None-Match");
        nd_resp_header(rq, &rs, "Access-Control-Max-Age", "86400");
    } else {
        nd_http_dispatch(s->app, rq, &rs);
    }
    x->service = rq->route ? rq->route->service : "none";
    add_common_headers(s->app, rq, &rs);
    bool gzipped;
    finish_body(rq, &rs, &gzipped);
    enum MHD_Result ok = send_resp(c, x, rq, &rs, gzipped);
    nd_resp_free(&rs);
    nd_arena_free(rq->arena);
    return ok;
}

/* Answers before the request is read (body too large, too many connections) and closes. */
static enum MHD_Result reject_early(server *s, struct MHD_Connection *c, exchange *x, nd_errcode code,
                                    const char *detail) {
    nd_arena *a = nd_arena_new(0);
    nd_req rq = {.arena = a, .app = s->app, .path = "", .method = x->method};
    nd_resp rs = {0};
    nd_fail(&rq.err, code, code == ND_E_TOO_LARGE ? "body" : "", "%s", detail);
    nd_problem_render(&rq, &rs);
    nd_resp_header(&rq, &rs, "Connection", "close");
    if (code == ND_E_UNAVAILABLE) nd_resp_header(&rq, &rs, "Retry-After", "1");
    x->service = "none";
    enum MHD_Result ok = send_resp(c, x, &rq, &rs, false);
    nd_resp_free(&rs);
    nd_arena_free(a);
    return ok;
}

static enum MHD_Result reject_too_large(server *s, struct MHD_Connection *c, exchange *x) {
    char detail[128];
    snprintf(detail, sizeof detail, "The request body exceeds the limit of %lld bytes",
             s->app->config->server.max_body);
    return reject_early(s, c, x, ND_E_TOO_LARGE, detail);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    server *s = cls;
    exchange *x = *con_cls;
    long long max_body = s->app->config->server.max_body;
    if (!x->method[0]) {
        /* First call: headers only. A declared body over the limit is refused before it is read. */
        snprintf(x->method, sizeof x->method, "%s", method);
        if (atomic_load(&s->connections) > s->app->config->server.max_connections)
            return reject_early(s, c, x, ND_E_UNAVAILABLE, "Too many connections; retry shortly");
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoll(cl, NULL, 10) > max_body) return reject_too_large(s, c, x);
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* libmicrohttpd 0.9.75 cannot answer in the middle of an upload: an undeclared (chunked)
         * body over the limit is read and dropped, then refused; past 4x the limit the connection
         * is cut so a client cannot stream forever. */
        x->received += *upload_data_size;
        if (x->received > (uint64_t)max_body) {
            x->too_large = true;
            nd_buf_free(&x->body);
            if (x->received > 4 * (uint64_t)max_body + (1 << 20)) return MHD_NO;
        } else {
            nd_buf_append(&x->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (x->status) return MHD_YES; /* already answered */
    return answer(s, c, x, method);
}

static int bind_address(const char *host, int port, struct sockaddr_storage *ss, char *err, size_t errlen) {
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM}, *res;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int rc = getaddrinfo(host && *host ? host : NULL, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve bind address '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static FILE *open_access_log(const char *spec) {
    if (!spec || strcmp(spec, "-") == 0) return stderr;
    if (strcmp(spec, "off") == 0) return NULL;
    FILE *f = fopen(spec, "a");
    if (f) setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

/* Past max_connections a client still gets a quick 503 rather than a silent wait; past this
 * ceiling MHD stops accepting and the kernel's backlog holds the rest. */
static unsigned hard_limit(int max_connections) {
    return (unsigned)max_connections * 2 + 16;
}

int nd_server_run(const nd_app *app, char *err, size_t errlen) {
    const nd_server_conf *sc = &app->config->server;
    server s = {.app = app};
    s.access_log = open_access_log(sc->access_log);
    if (!s.access_log && strcmp(sc->access_log, "off") != 0) {
        snprintf(err, errlen, "cannot open access log %s: %s", sc->access_log, strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    if (bind_address(sc->bind, sc->port, &ss, err, errlen) < 0) return -1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)sc->port, NULL, NULL, on_request, &s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)sc->threads,
        MHD_OPTION_CONNECTION_LIMIT, hard_limit(sc->max_connections),
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)sc->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)sc->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), /* zeroed per request by MHD: keep it small */
        MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, &s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s,
        MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", sc->bind, sc->port, strerror(errno));
        if (s.access_log && s.access_log != stderr) fclose(s.access_log);
        return -1;
    }
    fprintf(stderr, "nadir %s listening on %s:%d (%s), %zu datasets, %d threads\n", ND_VERSION, sc->bind,
            sc->port, sc->base_url, app->datasets ? app->datasets->n : 0, sc->threads);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {}
    fprintf(stderr, "nadir: %s received, finishing requests in flight\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");

    /* Stop accepting, then let what was received finish before the threads go. */
    MHD_socket ls = MHD_quiesce_daemon(d);
    if (ls != MHD_INVALID_SOCKET) close(ls);
    for (int i = 0; i < DRAIN_SECONDS * 100 && atomic_load(&s.in_flight) > 0; i++) usleep(10000);
    MHD_stop_daemon(d);
    if (s.access_log && s.access_log != stderr) fclose(s.access_log);
    fprintf(stderr, "nadir: stopped\n");
    return 0;
}
