/* One request through routing, the handler and the protocol's own error rendering. */
#include <jansson.h>
#include <string.h>

#include "nadir/app.h"
#include "nadir/auth.h"
#include "nadir/http.h"
#include "nadir/limits.h"

void nd_problem_render(nd_req *rq, nd_resp *rs) {
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    int status = nd_error_http_status(code);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(nd_arena_printf(rq->arena, "https://nadir.dev/errors/%s",
                                                               nd_error_slug(code))));
    json_object_set_new(o, "title", json_string(nd_error_ows_code(code)));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "detail", json_string(rq->err.detail));
    if (rq->err.locator[0]) json_object_set_new(o, "parameter", json_string(rq->err.locator));
    json_object_set_new(o, "instance", json_string(rq->path ? rq->path : "/"));
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    nd_resp_set_json(rs, status, s, strlen(s));
    free(s);
    rs->content_type = "application/problem+json";
    rs->cache_seconds = 0;
}

/* Challenges (RFC 6750) name the realm, and say invalid_token when credentials were sent but refused. */
static void challenge(const nd_app *app, nd_req *rq, nd_resp *rs) {
    const char *realm = app->auth ? app->config->auth.realm : "nadir";
    bool sent = nd_req_header(rq, "Authorization") || nd_req_header(rq, "X-API-Key");
    nd_resp_header(rq, rs, "WWW-Authenticate",
                   nd_arena_printf(rq->arena, "Bearer realm=\"%s\"%s", realm, sent ? ", error=\"invalid_token\"" : ""));
}

void nd_http_dispatch(const nd_app *app, nd_req *rq, nd_resp *rs) {
    bool path_known = false;
    const nd_route *rt = nd_router_match(app->router, rq->method, rq->path, rq, &path_known);
    rq->route = rt;
    rs->status = 200;
    int rc, retry_after = 0;
    bool entered = false;
    if (!rt && path_known)
        rc = nd_fail(&rq->err, ND_E_METHOD_NOT_ALLOWED, "method", "Method %s is not allowed on %s", rq->method,
                     rq->path);
    else if (!rt)
        rc = nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "No resource at this path");
    else {
        /* Refused credentials spend a token too (of the address's bucket), so keys cannot be guessed at speed. */
        int bad_credentials = nd_auth_identify(rq);
        if ((rc = nd_limits_enter(rq, &retry_after)) == 0) {
            entered = true;
            rc = bad_credentials ? bad_credentials : rt->handler(rq, rs);
            if (rc == 0) nd_limits_bound_stream(rq, rs);
        }
    }
    if (entered) nd_limits_leave(rq);
    if (app->auth) {
        /* What is listed depends on who asks: shared caches must key on the credentials, and must not keep
         * an authenticated caller's answer at all. */
        nd_resp_header(rq, rs, "Vary", "Authorization, X-API-Key");
        if (rq->who && rq->who->user) rs->cache_seconds = 0;
    }
    if (rc == 0) return;
    if (!rq->err.code) nd_fail(&rq->err, (nd_errcode)-rc, "", "Request failed");
    /* A half-built body must not leak into the error response. */
    nd_buf_reset(&rs->body);
    if (rs->stream.free) rs->stream.free(rs->stream.ctx);
    rs->stream = (nd_stream){0};
    rs->headers = (nd_kvlist){0};
    if (rt && rt->render_error) rt->render_error(rq, rs);
    else nd_problem_render(rq, rs);
    if (rq->err.code == ND_E_UNAUTHORIZED) challenge(app, rq, rs);
    if (retry_after > 0)
        nd_resp_header(rq, rs, "Retry-After", nd_arena_printf(rq->arena, "%d", retry_after));
    if (app->auth) nd_resp_header(rq, rs, "Vary", "Authorization, X-API-Key");
}
