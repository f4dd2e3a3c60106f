/* Limits on what one caller or one service may take: per key/user/IP token buckets (429 with Retry-After),
 * per-service concurrency caps (503), per-user job quotas (429). Configured in the `limits` section. */
#ifndef NADIR_LIMITS_H
#define NADIR_LIMITS_H

#include <stddef.h>

#include "nadir/http.h"

struct nd_app;
struct nd_limits;

/* NULL when the configuration sets no limit. */
struct nd_limits *nd_limits_new(const struct nd_app *app);
void nd_limits_free(struct nd_limits *l);

/* Takes a token from the caller's bucket and a slot of the route's service. 0 when the request may run
 * (then nd_limits_leave must follow); else rq->err is TOO_MANY (*retry_after seconds until a token is
 * back) or UNAVAILABLE (the service is at its cap; *retry_after 1). */
int nd_limits_enter(nd_req *rq, int *retry_after);
void nd_limits_leave(nd_req *rq);

/* Bounds how long a streamed response (rs->stream) may keep sending: past limits.stream_timeout_s from now the
 * stream ends with an error and the connection closes, so a slow reader cannot hold a response for hours. */
void nd_limits_bound_stream(nd_req *rq, nd_resp *rs);

/* 0 when the caller may submit one more job beside the `active` (accepted or running) it has. */
int nd_limits_job_quota(nd_req *rq, size_t active);

/* For tests: the bucket of `who` after one more request at time `now` (seconds); 0 when allowed. */
int nd_limits_take(struct nd_limits *l, const char *who, double now, int *retry_after);

#endif
