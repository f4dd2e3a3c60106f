/* Operator endpoints: /health (JSON) and /metrics (Prometheus), plus /debug routes for tests. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nadir/app.h"
#include "nadir/metrics.h"

static int health(nd_req *rq, nd_resp *rs) {
    const nd_app *app = rq->app;
    json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "status", "ok", "version", ND_VERSION, "uptime_s",
                          (json_int_t)(time(NULL) - app->started), "datasets",
                          (json_int_t)(app->datasets ? app->datasets->n : 0));
    char *s = json_dumps(o, JSON_COMPACT);
    nd_resp_set_json(rs, 200, s, strlen(s));
    free(s);
    json_decref(o);
    return 0;
}

static int metrics(nd_req *rq, nd_resp *rs) {
    nd_metrics_render(rq->app->metrics, &rs->body);
    for (size_t i = 0; i < rq->app->nmetrics_sources; i++) rq->app->metrics_sources[i](rq->app, &rs->body);
    rs->content_type = "text/plain; version=0.0.4; charset=utf-8";
    rs->compressible = true;
    return 0;
}

/* Holds the request for ?ms= milliseconds (at most 60 s): lets tests catch a request in flight. */
static int debug_sleep(nd_req *rq, nd_resp *rs) {
    const char *ms = nd_req_query(rq, "ms");
    char *end = NULL;
    long v = ms ? strtol(ms, &end, 10) : -1;
    if (!ms || *end || v < 0 || v > 60000)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ms", "ms must be an integer between 0 and 60000");
    usleep((useconds_t)v * 1000);
    nd_buf_printf(&rs->body, "slept %ld ms\n", v);
    rs->content_type = "text/plain";
    return 0;
}

void nd_ops_register(nd_app *app) {
    nd_router_add(app->router, &(nd_route){"GET", "/health", health, "ops", "Liveness and version", NULL});
    nd_router_add(app->router, &(nd_route){"GET", "/metrics", metrics, "ops", "Prometheus metrics", NULL});
    if (app->config->server.debug_routes)
        nd_router_add(app->router, &(nd_route){"GET", "/debug/sleep", debug_sleep, "debug", NULL, NULL});
}
