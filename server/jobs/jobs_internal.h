/* Shared inside server/jobs: the job system's state, the index (store.c), the executors (local.c,
 * slurm.c) and file helpers (files.c). */
#ifndef NADIR_JOBS_INTERNAL_H
#define NADIR_JOBS_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <sys/types.h>

#include "nadir/arena.h"
#include "nadir/jobs.h"

/* A job the executor watches: a local child, a re-attached orphan of a previous run, or a Slurm job. */
typedef struct nd_running {
    char id[ND_JOB_ID_LEN + 1];
    pid_t pid;                /* local: the child (its own process group); 0 for Slurm */
    bool own_child;           /* waitpid works; false: re-attached after a restart, polled with kill(0) */
    char slurm_id[32];
    double started;
    bool dismissed;           /* killed on request: the row is gone, the directory removed at exit */
    bool timed_out;
    int last_progress;
    double last_poll;         /* Slurm: when squeue last reported on it */
    char slurm_state[32];     /* Slurm: its state in that report ("" once it left the queue) */
    bool polled;              /* Slurm: a report arrived that nd_slurm_poll has not looked at yet */
    struct nd_running *next;
} nd_running;

struct nd_jobs {
    nd_jobs_conf conf;        /* strings owned (strdup) */
    sqlite3 *db;
    pthread_mutex_t lock;     /* guards db, running, publishers */
    pthread_cond_t changed;   /* a job finished, or work arrived */
    pthread_t thread;
    bool thread_started, stop;
    nd_running *running;
    size_t nrunning;
    nd_job_publisher publishers[4];
    size_t npublishers;
    double last_retention;
    double last_squeue;       /* Slurm: time of the last squeue */
};

/* store.c: every call with j->lock held. */
int nd_store_open(nd_jobs *j, char *err, size_t errlen);
void nd_store_close(nd_jobs *j);
int nd_store_insert(nd_jobs *j, const char *id, const char *process, const char *owner, const char *request,
                    double now);
int nd_store_get(nd_jobs *j, const char *id, nd_job_info *out); /* 1 found, 0 not, <0 error */
int nd_store_set_state(nd_jobs *j, const char *id, nd_job_state st, int progress, const char *message, double now);
int nd_store_set_started(nd_jobs *j, const char *id, pid_t pid, const char *slurm_id, double now);
int nd_store_set_progress(nd_jobs *j, const char *id, int progress, const char *message, double now);
int nd_store_delete(nd_jobs *j, const char *id);
/* The oldest accepted job, 1 when one was found. */
int nd_store_next_queued(nd_jobs *j, char id[ND_JOB_ID_LEN + 1]);
/* Rows in state running (for recovery): id, pid, slurm id. */
typedef struct nd_store_row {
    char id[ND_JOB_ID_LEN + 1];
    pid_t pid;
    char slurm_id[32];
    double started;
} nd_store_row;
int nd_store_running(nd_jobs *j, nd_store_row **rows, size_t *n);
/* Ids of finished jobs last updated before `before`. */
int nd_store_expired(nd_jobs *j, double before, char (**ids)[ND_JOB_ID_LEN + 1], size_t *n);
size_t nd_store_active(nd_jobs *j, const char *owner);
int nd_store_list(nd_jobs *j, const nd_job_state *states, size_t nstates, const char *const *processes,
                  size_t nprocesses, const char *owner, size_t offset, size_t limit, nd_job_info **out, size_t *n,
                  size_t *total);
void nd_store_counts(nd_jobs *j, size_t counts[5]);

/* inputs.c: fetches the inputs of p given by reference into the job (see nd_job_run); 0, or -1 with msg. */
struct nd_process;
int nd_job_stage_inputs(const char *dir, const struct nd_process *p, json_t *inputs, const nd_config *cfg, char *msg,
                        size_t msglen);

/* files.c */
double nd_now(void);
char *nd_job_dir(const nd_jobs *j, const char *id);
/* Writes text to path via path.tmp + rename, so readers never see half a file. */
int nd_write_atomic(const char *path, const char *text, size_t len);
/* Reads a small JSON file; NULL when absent or unreadable. */
json_t *nd_read_json(const char *path);
int nd_remove_tree(const char *path);
/* The state in DIR/status.json: returns 0 and fills when present. */
int nd_read_status(const char *dir, nd_job_state *st, int *progress, char *msg, size_t msglen);

/* local.c / slurm.c: with j->lock held. */
int nd_local_launch(nd_jobs *j, const char *id, nd_running *r, char *msg, size_t msglen);
/* Checks whether r ended; returns 1 with *status (wait status, or -1 unknown) when it did. */
int nd_local_poll(nd_jobs *j, nd_running *r, int *status);
void nd_local_kill(nd_jobs *j, nd_running *r);
bool nd_local_reattach(nd_jobs *j, const char *id, pid_t pid);
int nd_slurm_launch(nd_jobs *j, const char *id, nd_running *r, char *msg, size_t msglen);
/* One squeue for every running Slurm job, at most once a second (not one process per job). */
void nd_slurm_refresh(nd_jobs *j);
int nd_slurm_poll(nd_jobs *j, nd_running *r, int *status);
void nd_slurm_kill(nd_jobs *j, nd_running *r);

#endif
