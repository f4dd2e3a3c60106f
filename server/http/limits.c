/* Rate limits (a token bucket per API key, user or client IP), concurrency caps per service and job quotas. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/app.h"
#include "nadir/auth.h"
#include "nadir/limits.h"

/* A fixed table: a bucket that has refilled is the same as no bucket, so when the table is full the
 * least recently used one is forgotten (at worst a flood of distinct IPs resets someone's bucket). */
#define BUCKETS 4096
#define PROBE 16
#define KEY_MAX 96

typedef struct bucket {
    char key[KEY_MAX];
    double tokens, last;
} bucket;

struct nd_limits {
    const nd_limits_conf *conf;
    double rate, burst;       /* tokens per second, bucket size; rate 0: no rate limit */
    pthread_mutex_t lock;
    bucket *buckets;
    atomic_int *running;      /* per conf->services entry */
};

struct nd_limits *nd_limits_new(const nd_app *app) {
    const nd_limits_conf *c = &app->config->limits;
    if (!c->requests_per_minute && !c->nservices && !c->jobs_per_user && !c->stream_timeout_s) return NULL;
    struct nd_limits *l = nd_xcalloc(1, sizeof *l);
    l->conf = c;
    l->rate = c->requests_per_minute / 60.0;
    l->burst = c->burst > 0 ? c->burst : 1;
    pthread_mutex_init(&l->lock, NULL);
    if (l->rate > 0) l->buckets = nd_xcalloc(BUCKETS, sizeof *l->buckets);
    l->running = nd_xcalloc(c->nservices + 1, sizeof *l->running);
    return l;
}

void nd_limits_free(struct nd_limits *l) {
    if (!l) return;
    pthread_mutex_destroy(&l->lock);
    free(l->buckets);
    free(l->running);
    free(l);
}

static uint64_t hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int nd_limits_take(struct nd_limits *l, const char *who, double now, int *retry_after) {
    if (!l || l->rate <= 0) return 0;
    pthread_mutex_lock(&l->lock);
    size_t h = (size_t)(hash(who) % BUCKETS), victim = h;
    bucket *b = NULL;
    for (size_t i = 0; i < PROBE && !b; i++) {
        bucket *c = &l->buckets[(h + i) % BUCKETS];
        if (!c->key[0] || !strncmp(c->key, who, KEY_MAX - 1)) b = c;
        else if (c->last < l->buckets[victim].last) victim = (h + i) % BUCKETS;
    }
    if (!b || !b->key[0]) {
        b = b ? b : &l->buckets[victim];
        snprintf(b->key, sizeof b->key, "%s", who);
        b->tokens = l->burst;
        b->last = now;
    }
    b->tokens = fmin(l->burst, b->tokens + (now - b->last) * l->rate);
    b->last = now;
    int rc = 0;
    if (b->tokens >= 1) {
        b->tokens -= 1;
    } else {
        *retry_after = (int)ceil((1 - b->tokens) / l->rate);
        if (*retry_after < 1) *retry_after = 1;
        rc = -1;
    }
    pthread_mutex_unlock(&l->lock);
    return rc;
}

/* The key of the caller's bucket: API key id, else user, else client address. */
static const char *who_of(const nd_req *rq) {
    const nd_identity *w = rq->who;
    if (w && w->key_id) return nd_arena_printf(rq->arena, "k:%s", w->key_id);
    if (w && w->user) return nd_arena_printf(rq->arena, "u:%s", w->user);
    return nd_arena_printf(rq->arena, "ip:%s", rq->client_ip ? rq->client_ip : "?");
}

static atomic_int *slot_of(const nd_req *rq) {
    struct nd_limits *l = rq->app->limits;
    const char *svc = rq->route ? rq->route->service : NULL;
    for (size_t i = 0; svc && i < l->conf->nservices; i++)
        if (!strcmp(l->conf->services[i].service, svc)) return &l->running[i];
    return NULL;
}

int nd_limits_enter(nd_req *rq, int *retry_after) {
    struct nd_limits *l = rq->app ? rq->app->limits : NULL;
    if (!l || !rq->route || !strcmp(rq->path, "/health")) return 0;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    if (nd_limits_take(l, who_of(rq), (double)t.tv_sec + t.tv_nsec / 1e9, retry_after) < 0)
        return nd_fail(&rq->err, ND_E_TOO_MANY, "", "Too many requests; retry in %d s", *retry_after);
    atomic_int *slot = slot_of(rq);
    if (!slot) return 0;
    int cap = l->conf->services[slot - l->running].concurrent;
    if (atomic_fetch_add(slot, 1) >= cap) {
        atomic_fetch_sub(slot, 1);
        *retry_after = 1;
        return nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "The %s service is busy; retry shortly", rq->route->service);
    }
    return 0;
}

void nd_limits_leave(nd_req *rq) {
    struct nd_limits *l = rq->app ? rq->app->limits : NULL;
    atomic_int *slot = l && rq->route ? slot_of(rq) : NULL;
    if (slot) atomic_fetch_sub(slot, 1);
}

typedef struct bounded {
    nd_stream inner;
    double deadline;          /* CLOCK_MONOTONIC seconds */
} bounded;

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static long bounded_read(void *ctx, uint64_t pos, char *buf, size_t max) {
    bounded *b = ctx;
    return now_s() > b->deadline ? -1 : b->inner.read(b->inner.ctx, pos, buf, max);
}

static void bounded_free(void *ctx) {
    bounded *b = ctx;
    if (b->inner.free) b->inner.free(b->inner.ctx);
    free(b);
}

void nd_limits_bound_stream(nd_req *rq, nd_resp *rs) {
    struct nd_limits *l = rq->app ? rq->app->limits : NULL;
    if (!l || !l->conf->stream_timeout_s || !rs->stream.read) return;
    bounded *b = nd_xmalloc(sizeof *b);
    *b = (bounded){rs->stream, now_s() + l->conf->stream_timeout_s};
    rs->stream = (nd_stream){bounded_read, bounded_free, b, b->inner.size};
}

int nd_limits_job_quota(nd_req *rq, size_t active) {
    struct nd_limits *l = rq->app ? rq->app->limits : NULL;
    if (!l || !l->conf->jobs_per_user || active < (size_t)l->conf->jobs_per_user) return 0;
    return nd_fail(&rq->err, ND_E_TOO_MANY, "", "At most %d jobs may be queued or running per user",
                   l->conf->jobs_per_user);
}
