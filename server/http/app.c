/* The application state shared by every request: built once at start-up, read-only afterwards. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/app.h"
#include "nadir/auth.h"
#include "nadir/limits.h"
#include "nadir/metrics.h"

#define MAX_DOCS 32

typedef struct {
    char *key, *body, *content_type;
    size_t len;
    int cache_seconds;
} cached_doc;

struct nd_doc_cache {
    pthread_mutex_t lock;
    cached_doc docs[MAX_DOCS];
    size_t n;
    unsigned generation; /* of the dataset registry the documents list: publishing a job output ends them */
};

static void clear_docs(struct nd_doc_cache *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->docs[i].key);
        free(c->docs[i].body);
        free(c->docs[i].content_type);
    }
    c->n = 0;
}

nd_app *nd_app_new(nd_config *cfg, nd_registry *datasets) {
    nd_app *app = nd_xcalloc(1, sizeof *app);
    app->config = cfg;
    app->datasets = datasets;
    app->router = nd_router_new();
    app->metrics = nd_metrics_new();
    app->started = time(NULL);
    app->docs = nd_xcalloc(1, sizeof *app->docs);
    pthread_mutex_init(&app->docs->lock, NULL);
    app->limits = nd_limits_new(app);
    return app;
}

/* The configuration and the datasets belong to the caller; the rest is the app's. */
void nd_app_free(nd_app *app) {
    if (!app) return;
    nd_router_free(app->router);
    nd_metrics_free(app->metrics);
    nd_auth_free(app->auth);
    nd_limits_free(app->limits);
    clear_docs(app->docs);
    pthread_mutex_destroy(&app->docs->lock);
    free(app->docs);
    free(app->services);
    free(app);
}

void nd_app_add_service(nd_app *app, const nd_service *svc) {
    app->services = nd_xrealloc(app->services, (app->nservices + 1) * sizeof *app->services);
    app->services[app->nservices++] = svc;
}

void nd_app_add_metrics(nd_app *app, void (*fn)(const nd_app *app, nd_buf *out)) {
    if (app->nmetrics_sources < sizeof app->metrics_sources / sizeof app->metrics_sources[0])
        app->metrics_sources[app->nmetrics_sources++] = fn;
}

int nd_app_cached_doc(const nd_app *app, const char *key, nd_req *rq, nd_resp *rs, nd_handler build) {
    struct nd_doc_cache *c = app->docs;
    /* A document lists only what the caller may read, so callers with other roles get another copy, and when
     * job outputs (their owners' datasets) are published, other users too. */
    if (app->auth && rq->who)
        key = nd_arena_printf(rq->arena, "%s|%s|%s", key, rq->who->roleset,
                              app->dataset_owner && rq->who->user ? rq->who->user : "");
    unsigned generation = nd_registry_generation(app->datasets);
    pthread_mutex_lock(&c->lock);
    if (c->generation != generation) {
        clear_docs(c);
        c->generation = generation;
    }
    for (size_t i = 0; i < c->n; i++) {
        cached_doc *d = &c->docs[i];
        if (strcmp(d->key, key) != 0) continue;
        nd_buf_reset(&rs->body);
        nd_buf_append(&rs->body, d->body, d->len);
        rs->content_type = nd_arena_strdup(rq->arena, d->content_type);
        rs->cache_seconds = d->cache_seconds;
        rs->compressible = true;
        rs->status = 200;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    pthread_mutex_unlock(&c->lock);
    int rc = build(rq, rs);
    if (rc < 0 || rs->status != 200 || rs->stream.read) return rc;
    pthread_mutex_lock(&c->lock);
    bool known = false;
    for (size_t i = 0; i < c->n; i++) known |= strcmp(c->docs[i].key, key) == 0;
    /* Two first requests may race: the second copy is dropped; a copy built before a publication is too. */
    if (!known && c->n < MAX_DOCS && c->generation == generation) {
        cached_doc *d = &c->docs[c->n++];
        d->key = nd_xstrdup(key);
        d->body = nd_xmalloc(rs->body.len + 1);
        memcpy(d->body, rs->body.data ? rs->body.data : "", rs->body.len);
        d->len = rs->body.len;
        d->content_type = nd_xstrdup(rs->content_type ? rs->content_type : "application/octet-stream");
        d->cache_seconds = rs->cache_seconds;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}
