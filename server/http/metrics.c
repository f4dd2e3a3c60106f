/* Prometheus counters kept with atomics: one slot per service, registered on first use. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include "nadir/metrics.h"

#define MAX_SERVICES 32
#define MIN_STATUS 100
#define MAX_STATUS 599

static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct {
    char name[32];
    atomic_uint_fast64_t by_status[MAX_STATUS - MIN_STATUS + 1];
    atomic_uint_fast64_t hist[NBUCKETS + 1]; /* last: +Inf */
    atomic_uint_fast64_t micros_sum, bytes;
} service_slot;

struct nd_metrics {
    pthread_mutex_t lock; /* only for adding a service */
    atomic_int nservices;
    service_slot services[MAX_SERVICES];
    atomic_int connections;
};

nd_metrics *nd_metrics_new(void) {
    nd_metrics *m = nd_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void nd_metrics_free(nd_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static service_slot *slot(nd_metrics *m, const char *service) {
    int n = atomic_load(&m->nservices);
    for (int i = 0; i < n; i++)
        if (strcmp(m->services[i].name, service) == 0) return &m->services[i];
    pthread_mutex_lock(&m->lock);
    service_slot *s = NULL;
    n = atomic_load(&m->nservices);
    for (int i = 0; i < n && !s; i++)
        if (strcmp(m->services[i].name, service) == 0) s = &m->services[i];
    if (!s && n < MAX_SERVICES) {
        s = &m->services[n];
        snprintf(s->name, sizeof s->name, "%s", service);
        atomic_store(&m->nservices, n + 1); /* published after the name is written */
    }
    pthread_mutex_unlock(&m->lock);
    return s ? s : &m->services[0];
}

void nd_metrics_observe(nd_metrics *m, const char *service, int status, double seconds, uint64_t bytes) {
    service_slot *s = slot(m, service && *service ? service : "none");
    if (status < MIN_STATUS || status > MAX_STATUS) status = 500;
    atomic_fetch_add(&s->by_status[status - MIN_STATUS], 1);
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b]) b++;
    atomic_fetch_add(&s->hist[b], 1);
    atomic_fetch_add(&s->micros_sum, (uint64_t)(seconds * 1e6));
    atomic_fetch_add(&s->bytes, bytes);
}

void nd_metrics_connections(nd_metrics *m, int delta) { atomic_fetch_add(&m->connections, delta); }

void nd_metrics_render(nd_metrics *m, nd_buf *out) {
    int n = atomic_load(&m->nservices);
    nd_buf_puts(out, "# HELP nadir_http_requests_total HTTP requests answered, by service and status.\n"
                     "# TYPE nadir_http_requests_total counter\n");
    for (int i = 0; i < n; i++)
        for (int st = MIN_STATUS; st <= MAX_STATUS; st++) {
            uint64_t v = atomic_load(&m->services[i].by_status[st - MIN_STATUS]);
            if (v)
                nd_buf_printf(out, "nadir_http_requests_total{service=\"%s\",status=\"%d\"} %llu\n",
                              m->services[i].name, st, (unsigned long long)v);
        }
    nd_buf_puts(out, "# HELP nadir_http_request_duration_seconds Time from request to response sent.\n"
                     "# TYPE nadir_http_request_duration_seconds histogram\n");
    for (int i = 0; i < n; i++) {
        service_slot *s = &m->services[i];
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBUCKETS; b++) {
            cum += atomic_load(&s->hist[b]);
            if (b < NBUCKETS)
                nd_buf_printf(out, "nadir_http_request_duration_seconds_bucket{service=\"%s\",le=\"%g\"} %llu\n",
                              s->name, buckets[b], (unsigned long long)cum);
            else
                nd_buf_printf(out, "nadir_http_request_duration_seconds_bucket{service=\"%s\",le=\"+Inf\"} %llu\n",
                              s->name, (unsigned long long)cum);
        }
        nd_buf_printf(out, "nadir_http_request_duration_seconds_sum{service=\"%s\"} %.6f\n", s->name,
                      (double)atomic_load(&s->micros_sum) / 1e6);
        nd_buf_printf(out, "nadir_http_request_duration_seconds_count{service=\"%s\"} %llu\n", s->name,
                      (unsigned long long)cum);
    }
    nd_buf_puts(out, "# HELP nadir_http_response_bytes_total Response body bytes sent, by service.\n"
                     "# TYPE nadir_http_response_bytes_total counter\n");
    for (int i = 0; i < n; i++)
        nd_buf_printf(out, "nadir_http_response_bytes_total{service=\"%s\"} %llu\n", m->services[i].name,
                      (unsigned long long)atomic_load(&m->services[i].bytes));
    nd_buf_printf(out,
                  "# HELP nadir_http_open_connections Client connections open now.\n"
                  "# TYPE nadir_http_open_connections gauge\n"
                  "nadir_http_open_connections %d\n",
                  atomic_load(&m->connections));
}
