/* Shared by the processing front-ends (wps*.c, processes.c): the app's job system, validation
 * limits from the configuration, and job files served as responses. */
#ifndef NADIR_OWS_PROCESSING_H
#define NADIR_OWS_PROCESSING_H

#include "nadir/app.h"
#include "nadir/jobs.h"
#include "nadir/process.h"

/* Starts the job system of app once (both front-ends call it); NULL with a message on stderr when
 * it cannot start, in which case the routes answer 503. */
nd_jobs *nd_processing_start(nd_app *app);
nd_process_limits nd_processing_limits(const nd_req *rq);
/* Serves a file of a job as the response body (streamed). */
int nd_processing_send_file(nd_req *rq, nd_resp *rs, const char *job_id, const char *name, const char *media_type);
/* Publishes the outputs of jobs as datasets and STAC items of the `results` collection, and withdraws them
 * with their jobs (publish.c). */
void nd_processing_publish_init(nd_app *app, nd_jobs *jobs);
/* ISO 8601 UTC with milliseconds. */
const char *nd_processing_time(nd_req *rq, double t);

/* nd_jobs_get for the caller: another user's job is NO_SUCH_JOB (admins see every job). */
int nd_processing_job(nd_req *rq, nd_jobs *j, const char *id, nd_job_info *out);
/* 0 when the job exists and the caller may see it. */
int nd_processing_owned(nd_req *rq, nd_jobs *j, const char *id);
/* The owner a job list is limited to: NULL (every job) without auth or for admins. */
const char *nd_processing_owner_filter(const nd_req *rq);
/* 0 when the caller may run process now: its execute rule, then the caller's job quota (429). */
int nd_processing_may_submit(nd_req *rq, nd_jobs *j, const char *process);
/* Makes the outputs of a job readable only by its owner and admins (with an auth section). */
void nd_processing_guard_outputs(nd_app *app);
/* 0 when the caller may read every dataset the inputs name (ND_IO_DATASET inputs). */
int nd_processing_may_read_inputs(nd_req *rq, const nd_process *p, const json_t *inputs);

#endif
