/* Jobs: the SQLite (WAL) job index, the executors that run `nadir run-job DIR` (a local pool of child
 * processes or Slurm), and the runner itself. A job directory holds inputs.json (written before the
 * job is registered), status.json and outputs.json (both replaced by atomic rename), and the output files. */
#ifndef NADIR_JOBS_H
#define NADIR_JOBS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "nadir/arena.h"
#include "nadir/config.h"
#include "nadir/error.h"

struct nd_app;

typedef enum { ND_JOB_ACCEPTED, ND_JOB_RUNNING, ND_JOB_SUCCESSFUL, ND_JOB_FAILED, ND_JOB_DISMISSED } nd_job_state;

/* "accepted", "running", "successful", "failed", "dismissed" (OGC API - Processes statusCode). */
const char *nd_job_state_name(nd_job_state s);
int nd_job_state_parse(const char *s, nd_job_state *out);

#define ND_JOB_ID_LEN 36

typedef struct nd_job_info {
    char id[ND_JOB_ID_LEN + 1];
    char process[64];
    nd_job_state state;
    int progress;             /* 0..100 */
    char message[512];
    double created, started, finished, updated; /* Unix seconds; 0 when not yet */
    char *request;            /* JSON: transmission/response options given at submission (malloc) */
    char owner[128];          /* who submitted it ("" for anonymous callers): only they and admins see it */
} nd_job_info;

void nd_job_info_clear(nd_job_info *j);

typedef struct nd_jobs nd_jobs;

/* Executor settings copied out of the configuration, so the executor does not hold on to it. */
typedef struct nd_jobs_conf {
    const char *dir;          /* where job directories and jobs.db live */
    const char *exe;          /* the nadir executable run as `exe run-job DIR` */
    const char *config_path;  /* handed to jobs so kernels find datasets */
    const char *executor;     /* "local" or "slurm" */
    int workers;              /* local: concurrent children */
    int timeout_s;            /* per job */
    long long memory;         /* bytes, RLIMIT_AS of each child; 0 = none */
    int threads;              /* OMP/OPENBLAS/... threads per job */
    int retention_s;          /* finished jobs and their files are removed after this */
    const char *partition, *account; /* slurm */
} nd_jobs_conf;

/* Opens (creating) the index, recovers jobs left by a previous run, starts the executor. */
int nd_jobs_start(const nd_jobs_conf *conf, nd_jobs **out, char *err, size_t errlen);
/* Stops the executor; running local children are left to finish and re-attached at the next start. */
void nd_jobs_stop(nd_jobs *j);

/* Writes DIR/inputs.json and commits the job row (accepted) before returning its id, then wakes the
 * executor. inputs are validated already; request is kept for the front-end (may be NULL). */
int nd_jobs_submit(nd_jobs *j, const char *process, const char *owner, const json_t *inputs,
                   const json_t *request, char id[ND_JOB_ID_LEN + 1], nd_error *err);
/* NO_SUCH_JOB for unknown (or dismissed) ids. */
int nd_jobs_get(nd_jobs *j, const char *id, nd_job_info *out, nd_error *err);
/* Jobs newest first, filtered by states, processes and owner (NULL: any); total counts every match. */
int nd_jobs_list(nd_jobs *j, const nd_job_state *states, size_t nstates, const char *const *processes,
                 size_t nprocesses, const char *owner, size_t offset, size_t limit, nd_job_info **out, size_t *n,
                 size_t *total, nd_error *err);
/* Accepted and running jobs of owner (quotas). */
size_t nd_jobs_active(nd_jobs *j, const char *owner);
/* Stops a running job, removes its directory; the id is unknown afterwards. */
int nd_jobs_dismiss(nd_jobs *j, const char *id, nd_error *err);
/* Waits until the job is finished or timeout_ms passed; returns 0 when finished. */
int nd_jobs_wait(nd_jobs *j, const char *id, int timeout_ms);
/* The outputs.json of a successful job ({id: {"value"...} | {"file"...}}); RESULT_NOT_READY otherwise. */
int nd_jobs_results(nd_jobs *j, const char *id, json_t **out, nd_error *err);
/* The absolute path of a file of the job (name checked: no '/' or leading '.'), or NULL. */
char *nd_jobs_file_path(nd_jobs *j, const char *id, const char *name);
/* Counts by state, for /metrics. */
void nd_jobs_counts(nd_jobs *j, size_t counts[5]);

/* The job system of a running server (created by the first of nd_wps_register/nd_processes_register). */
nd_jobs *nd_app_jobs(const struct nd_app *app);

/* HTTP for jobs (fetch.c). nd_fetch GETs url into out when it and every redirect it takes are http(s) URLs
 * of one of hosts, within max_bytes; nd_post_json POSTs body and follows no redirect. 0, or -1 with a reason. */
int nd_fetch(const char *url, char *const *hosts, size_t nhosts, size_t max_bytes, nd_buf *out, char *err,
             size_t errlen);
int nd_post_json(const char *url, const char *body, char *err, size_t errlen);

/* `nadir run-job DIR`: runs the process named in DIR/inputs.json; 0 when the job succeeded. Inputs given by
 * reference (href) are fetched first: text arrives to the kernel as the input's value, other media as a
 * file of the job directory ({"file": path}). */
int nd_job_run(const char *dir);

/* Publishing outputs as datasets (STAC item, WMS layer, WCS coverage, OPeNDAP). `publish` is called once for
 * each file output of a successful job before the job is reported successful (its results are served the
 * moment a client sees it succeed), and, at registration, for the jobs that succeeded before a restart;
 * `withdraw` when a job's files go (dismissed or past retention). Both run with the job system's lock held. */
typedef struct nd_job_output {
    const char *job_id, *process, *output_id, *path, *media_type;
    const json_t *inputs;
} nd_job_output;
typedef struct nd_job_publisher {
    void (*publish)(void *ctx, const nd_job_output *out);
    void (*withdraw)(void *ctx, const char *job_id, const char *process);
    void *ctx;
} nd_job_publisher;
void nd_jobs_add_publisher(nd_jobs *j, const nd_job_publisher *p);

#endif
