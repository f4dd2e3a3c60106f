/* Prometheus metrics: requests by service and status, latency histogram, bytes out, connections. */
#ifndef NADIR_METRICS_H
#define NADIR_METRICS_H

#include <stdint.h>

#include "nadir/arena.h"

typedef struct nd_metrics nd_metrics;

nd_metrics *nd_metrics_new(void);
void nd_metrics_free(nd_metrics *m);
void nd_metrics_observe(nd_metrics *m, const char *service, int status, double seconds, uint64_t bytes);
void nd_metrics_connections(nd_metrics *m, int delta);
/* Appends the Prometheus text exposition format. */
void nd_metrics_render(nd_metrics *m, nd_buf *out);

#endif
