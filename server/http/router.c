/* The route table: {method, path template, handler}, matched segment by segment. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/http.h"

struct nd_router {
    nd_route *routes;
    size_t n, cap;
};

nd_router *nd_router_new(void) { return nd_xcalloc(1, sizeof(nd_router)); }

void nd_router_free(nd_router *r) {
    if (!r) return;
    free(r->routes);
    free(r);
}

void nd_router_add(nd_router *r, const nd_route *route) {
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->routes = nd_xrealloc(r->routes, r->cap * sizeof *r->routes);
    }
    r->routes[r->n++] = *route;
}

size_t nd_router_count(const nd_router *r) { return r->n; }
const nd_route *nd_router_at(const nd_router *r, size_t i) { return i < r->n ? &r->routes[i] : NULL; }

/* Matches path against tmpl; captures go to rq (when not NULL). "{x}" takes one non-empty
 * segment, a final "{x*}" the rest of the path (possibly empty). */
static bool match(const char *tmpl, const char *path, nd_req *rq) {
    const char *t = tmpl, *p = path;
    while (*t) {
        if (*t == '{') {
            const char *close = strchr(t, '}');
            if (!close) return false;
            bool rest = close[-1] == '*';
            size_t name_len = (size_t)(close - t - 1) - rest;
            size_t n = rest ? strlen(p) : strcspn(p, "/");
            if (!rest && n == 0) return false;
            if (rq) nd_kvlist_add(rq->arena, &rq->path_params, nd_arena_strndup(rq->arena, t + 1, name_len),
                                  nd_arena_strndup(rq->arena, p, n));
            t = close + 1;
            p += n;
        } else {
            if (*t != *p) return false;
            t++, p++;
        }
    }
    return *p == 0;
}

static bool method_ok(const char *route_method, const char *method) {
    if (strcmp(route_method, "*") == 0 || strcmp(route_method, method) == 0) return true;
    return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

const nd_route *nd_router_match(const nd_router *r, const char *method, const char *path, nd_req *rq,
                                bool *path_known) {
    if (path_known) *path_known = false;
    for (size_t i = 0; i < r->n; i++) {
        const nd_route *rt = &r->routes[i];
        if (!match(rt->path, path, NULL)) continue;
        if (!method_ok(rt->method, method)) {
            if (path_known) *path_known = true;
            continue;
        }
        if (rq) {
            rq->path_params = (nd_kvlist){0};
            match(rt->path, path, rq);
        }
        return rt;
    }
    return NULL;
}
