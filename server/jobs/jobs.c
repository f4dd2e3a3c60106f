/* The job system: submission (directory, then the index row, then the answer), the executor thread
 * that starts queued jobs, watches running ones, enforces timeouts and retention, and recovery of
 * the jobs a previous server left behind. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#include "jobs_internal.h"

#define TICK_MS 100
#define RETENTION_EVERY_S 60

static char *dup_or_null(const char *s) { return s ? nd_xstrdup(s) : NULL; }

static bool is_slurm(const nd_jobs *j) { return j->conf.executor && strcmp(j->conf.executor, "slurm") == 0; }

/* A random (version 4) UUID: ids are unguessable, so one user cannot walk another's jobs. */
static void new_id(char out[ND_JOB_ID_LEN + 1]) {
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0) got += (size_t)n;
        else if (errno != EINTR) abort();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, ND_JOB_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Ids reach paths: only what new_id writes is accepted. */
static bool valid_id(const char *id) {
    if (!id || strlen(id) != ND_JOB_ID_LEN) return false;
    for (int i = 0; i < ND_JOB_ID_LEN; i++) {
        char c = id[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

/* ---------------------------------------------------------------- subscriber callbacks */

typedef struct callback {
    char *url, *body;
} callback;

static void *post_callback(void *arg) {
    callback *c = arg;
    char err[256];
    /* Once more after a failure: a receiver restarting should not lose the news. Redirects are not followed: a
     * checked host must not hand the request on to one that was not. */
    if (nd_post_json(c->url, c->body, err, sizeof err) < 0 && nd_post_json(c->url, c->body, err, sizeof err) < 0)
        fprintf(stderr, "nadir: jobs: callback not delivered: %s\n", err);
    free(c->url);
    free(c->body);
    free(c);
    return NULL;
}

/* POSTs the job's status to the subscriber URI for its new state, when the request named one (its
 * host was checked against the configuration at submission); on a thread of its own, so a slow
 * receiver never holds up the executor. */
static void notify(nd_jobs *j, const char *id, nd_job_state st) {
    nd_job_info info;
    if (nd_store_get(j, id, &info) != 1) return;
    json_t *req = info.request ? json_loads(info.request, 0, NULL) : NULL;
    const char *key = st == ND_JOB_SUCCESSFUL ? "successUri" : st == ND_JOB_FAILED ? "failedUri" : "inProgressUri";
    const char *url = json_string_value(json_object_get(json_object_get(req, "subscriber"), key));
    if (url) {
        json_t *body = json_pack("{s:s, s:s, s:s, s:s, s:i}", "jobID", info.id, "processID", info.process, "status",
                                 nd_job_state_name(info.state), "message", info.message, "progress", info.progress);
        callback *c = nd_xcalloc(1, sizeof *c);
        c->url = nd_xstrdup(url);
        c->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, post_callback, c) != 0) {
            free(c->url);
            free(c->body);
            free(c);
        }
        pthread_attr_destroy(&attr);
    }
    json_decref(req);
    nd_job_info_clear(&info);
}

/* ---------------------------------------------------------------- finishing */

static void publish_outputs(nd_jobs *j, const nd_job_publisher *pubs, size_t npubs, const char *id,
                            const char *process) {
    if (!npubs) return;
    char *dir = nd_job_dir(j, id);
    char path[4200];
    snprintf(path, sizeof path, "%s/outputs.json", dir);
    json_t *outs = nd_read_json(path);
    snprintf(path, sizeof path, "%s/inputs.json", dir);
    json_t *ins = nd_read_json(path);
    const char *key;
    json_t *o;
    json_object_foreach(outs, key, o) {
        const char *file = json_string_value(json_object_get(o, "file"));
        if (!file || strchr(file, '/')) continue;
        char fpath[4200];
        snprintf(fpath, sizeof fpath, "%s/%s", dir, file);
        nd_job_output out = {id, process, key, fpath, json_string_value(json_object_get(o, "mediaType")),
                             json_object_get(ins, "inputs")};
        for (size_t i = 0; i < npubs; i++) pubs[i].publish(pubs[i].ctx, &out);
    }
    json_decref(outs);
    json_decref(ins);
    free(dir);
}

static void withdraw_outputs(nd_jobs *j, const char *id) {
    nd_job_info info;
    if (!j->npublishers || nd_store_get(j, id, &info) != 1) return;
    for (size_t i = 0; i < j->npublishers; i++) j->publishers[i].withdraw(j->publishers[i].ctx, id, info.process);
    nd_job_info_clear(&info);
}

/* The final state of a job whose process ended: what it wrote, else why it ended. */
static void finish(nd_jobs *j, nd_running *r, int status) {
    char *dir = nd_job_dir(j, r->id);
    if (r->dismissed) {
        nd_remove_tree(dir);
        free(dir);
        return;
    }
    nd_job_state st = ND_JOB_FAILED;
    int progress = 0;
    char msg[512] = "";
    bool have = nd_read_status(dir, &st, &progress, msg, sizeof msg) == 0;
    bool clean = status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (r->timed_out) {
        st = ND_JOB_FAILED;
        snprintf(msg, sizeof msg, "the job ran past its time limit of %d s and was stopped", j->conf.timeout_s);
    } else if (!have || (st != ND_JOB_SUCCESSFUL && st != ND_JOB_FAILED)) {
        st = ND_JOB_FAILED;
        if (status != -1 && WIFSIGNALED(status))
            snprintf(msg, sizeof msg, "the job's process was killed by signal %d (%s)", WTERMSIG(status),
                     strsignal(WTERMSIG(status)));
        else if (status != -1 && WIFEXITED(status))
            snprintf(msg, sizeof msg, "the job's process exited with status %d without a result",
                     WEXITSTATUS(status));
        else
            snprintf(msg, sizeof msg, "the job's process ended without a result (server restarted while it ran)");
    } else if (st == ND_JOB_SUCCESSFUL && !clean) {
        st = ND_JOB_FAILED;
        snprintf(msg, sizeof msg, "the job's process failed after writing its result");
    }
    if (st == ND_JOB_SUCCESSFUL) {
        nd_job_info info;
        if (nd_store_get(j, r->id, &info) == 1) {
            publish_outputs(j, j->publishers, j->npublishers, r->id, info.process);
            nd_job_info_clear(&info);
        }
    }
    nd_store_set_state(j, r->id, st, st == ND_JOB_SUCCESSFUL ? 100 : progress, msg, nd_now());
    notify(j, r->id, st);
    free(dir);
}

static void unlink_running(nd_jobs *j, nd_running *r) {
    for (nd_running **p = &j->running; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            j->nrunning--;
            free(r);
            return;
        }
}

/* ---------------------------------------------------------------- the executor thread */

static void watch(nd_jobs *j, double now) {
    if (is_slurm(j)) nd_slurm_refresh(j);
    for (nd_running *r = j->running, *next; r; r = next) {
        next = r->next;
        int status = 0;
        int ended = is_slurm(j) ? nd_slurm_poll(j, r, &status) : nd_local_poll(j, r, &status);
        if (ended) {
            finish(j, r, status);
            unlink_running(j, r);
            pthread_cond_broadcast(&j->changed);
            continue;
        }
        if (r->dismissed) continue;
        if (j->conf.timeout_s > 0 && !r->timed_out && now - r->started > j->conf.timeout_s) {
            r->timed_out = true;
            if (is_slurm(j)) nd_slurm_kill(j, r);
            else nd_local_kill(j, r);
        }
        char *dir = nd_job_dir(j, r->id);
        nd_job_state st;
        int progress;
        char msg[512];
        if (nd_read_status(dir, &st, &progress, msg, sizeof msg) == 0 && st == ND_JOB_RUNNING &&
            progress != r->last_progress) {
            nd_store_set_progress(j, r->id, progress, msg, now);
            r->last_progress = progress;
        }
        free(dir);
    }
}

static void launch_queued(nd_jobs *j, double now) {
    int workers = j->conf.workers > 0 ? j->conf.workers : 1;
    char id[ND_JOB_ID_LEN + 1];
    while ((int)j->nrunning < workers && nd_store_next_queued(j, id) == 1) {
        nd_running *r = nd_xcalloc(1, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", id);
        char msg[256];
        int rc = is_slurm(j) ? nd_slurm_launch(j, id, r, msg, sizeof msg) : nd_local_launch(j, id, r, msg, sizeof msg);
        if (rc < 0) {
            nd_store_set_state(j, id, ND_JOB_FAILED, 0, msg, now);
            notify(j, id, ND_JOB_FAILED);
            free(r);
            pthread_cond_broadcast(&j->changed);
            continue;
        }
        r->started = now;
        r->last_progress = 0;
        nd_store_set_started(j, id, r->pid, r->slurm_id, now);
        notify(j, id, ND_JOB_RUNNING);
        r->next = j->running;
        j->running = r;
        j->nrunning++;
    }
}

static void retention(nd_jobs *j, double now) {
    if (j->conf.retention_s <= 0 || now - j->last_retention < RETENTION_EVERY_S) return;
    j->last_retention = now;
    char(*ids)[ND_JOB_ID_LEN + 1];
    size_t n;
    if (nd_store_expired(j, now - j->conf.retention_s, &ids, &n) < 0) return;
    for (size_t i = 0; i < n; i++) {
        withdraw_outputs(j, ids[i]);
        char *dir = nd_job_dir(j, ids[i]);
        nd_remove_tree(dir);
        free(dir);
        nd_store_delete(j, ids[i]);
    }
    free(ids);
}

static void *executor(void *arg) {
    nd_jobs *j = arg;
    pthread_mutex_lock(&j->lock);
    while (!j->stop) {
        double now = nd_now();
        watch(j, now);
        launch_queued(j, now);
        retention(j, now);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += TICK_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&j->changed, &j->lock, &ts);
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

/* ---------------------------------------------------------------- recovery */

/* Jobs marked running by a previous server: re-attached when their process still runs, else ended
 * with what they wrote or a reason. Accepted ones simply stay queued. */
static void recover(nd_jobs *j) {
    nd_store_row *rows;
    size_t n;
    if (nd_store_running(j, &rows, &n) < 0) return;
    double now = nd_now();
    for (size_t i = 0; i < n; i++) {
        nd_running *r = nd_xcalloc(1, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", rows[i].id);
        snprintf(r->slurm_id, sizeof r->slurm_id, "%s", rows[i].slurm_id);
        r->pid = rows[i].pid;
        r->started = rows[i].started > 0 ? rows[i].started : now;
        bool alive = is_slurm(j) ? rows[i].slurm_id[0] != '\0' : nd_local_reattach(j, r->id, r->pid);
        if (alive) {
            r->next = j->running;
            j->running = r;
            j->nrunning++;
        } else {
            finish(j, r, -1);
            free(r);
        }
    }
    free(rows);
}

/* Job directories without a row: a submission killed between its mkdir and its insert (never answered
 * 201), or a dismissal killed before the executor removed the files. No one can ask for them: removed.
 * The index is a WAL SQLite file, usable from one host only, so no other server adds directories here. */
static void sweep_orphans(nd_jobs *j) {
    DIR *d = opendir(j->conf.dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!valid_id(e->d_name)) continue;
        nd_job_info info;
        int found = nd_store_get(j, e->d_name, &info);
        if (found == 1) nd_job_info_clear(&info);
        if (found != 0) continue;
        char *dir = nd_job_dir(j, e->d_name);
        nd_remove_tree(dir);
        free(dir);
    }
    closedir(d);
}

/* ---------------------------------------------------------------- public API */

int nd_jobs_start(const nd_jobs_conf *conf, nd_jobs **out, char *err, size_t errlen) {
    *out = NULL;
    if (mkdir(conf->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the job directory %s: %s", conf->dir, strerror(errno));
        return -1;
    }
    nd_jobs *j = nd_xcalloc(1, sizeof *j);
    j->conf = *conf;
    j->conf.dir = nd_xstrdup(conf->dir);
    j->conf.exe = dup_or_null(conf->exe);
    j->conf.config_path = dup_or_null(conf->config_path);
    j->conf.executor = nd_xstrdup(conf->executor ? conf->executor : "local");
    j->conf.partition = dup_or_null(conf->partition);
    j->conf.account = dup_or_null(conf->account);
    pthread_mutex_init(&j->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&j->changed, &ca);
    pthread_condattr_destroy(&ca);
    if (nd_store_open(j, err, errlen) < 0) {
        nd_jobs_stop(j);
        return -1;
    }
    recover(j);
    sweep_orphans(j);
    if (pthread_create(&j->thread, NULL, executor, j) != 0) {
        snprintf(err, errlen, "cannot start the job executor thread");
        nd_jobs_stop(j);
        return -1;
    }
    j->thread_started = true;
    *out = j;
    return 0;
}

void nd_jobs_stop(nd_jobs *j) {
    if (!j) return;
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
    if (j->thread_started) pthread_join(j->thread, NULL);
    /* Children keep running in their own sessions; the next start re-attaches them. */
    for (nd_running *r = j->running, *next; r; r = next) {
        next = r->next;
        free(r);
    }
    nd_store_close(j);
    pthread_cond_destroy(&j->changed);
    pthread_mutex_destroy(&j->lock);
    free((char *)j->conf.dir);
    free((char *)j->conf.exe);
    free((char *)j->conf.config_path);
    free((char *)j->conf.executor);
    free((char *)j->conf.partition);
    free((char *)j->conf.account);
    free(j);
}

int nd_jobs_submit(nd_jobs *j, const char *process, const char *owner, const json_t *inputs,
                   const json_t *request, char id[ND_JOB_ID_LEN + 1], nd_error *err) {
    new_id(id);
    char *dir = nd_job_dir(j, id);
    if (mkdir(dir, 0755) != 0) {
        free(dir);
        return nd_fail(err, ND_E_IO, "", "the job directory could not be created");
    }
    json_t *doc = json_pack("{s:s, s:O, s:s?}", "process", process, "inputs", inputs, "config", j->conf.config_path);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char path[4200];
    snprintf(path, sizeof path, "%s/inputs.json", dir);
    int rc = nd_write_atomic(path, text, strlen(text));
    free(text);
    char *req = request ? json_dumps(request, JSON_COMPACT) : NULL;
    if (rc == 0) {
        pthread_mutex_lock(&j->lock);
        rc = nd_store_insert(j, id, process, owner, req, nd_now());
        pthread_cond_broadcast(&j->changed);
        pthread_mutex_unlock(&j->lock);
    }
    free(req);
    if (rc != 0) {
        nd_remove_tree(dir);
        free(dir);
        return nd_fail(err, ND_E_IO, "", "the job could not be registered");
    }
    free(dir);
    return 0;
}

int nd_jobs_get(nd_jobs *j, const char *id, nd_job_info *out, nd_error *err) {
    memset(out, 0, sizeof *out);
    if (!valid_id(id)) return nd_fail(err, ND_E_NO_SUCH_JOB, "jobId", "there is no job with this id");
    pthread_mutex_lock(&j->lock);
    int found = nd_store_get(j, id, out);
    pthread_mutex_unlock(&j->lock);
    if (found < 0) return nd_fail(err, ND_E_INTERNAL, "", "the job index could not be read");
    if (!found || out->state == ND_JOB_DISMISSED) {
        nd_job_info_clear(out);
        return nd_fail(err, ND_E_NO_SUCH_JOB, "jobId", "there is no job with this id");
    }
    return 0;
}

int nd_jobs_list(nd_jobs *j, const nd_job_state *states, size_t nstates, const char *const *processes,
                 size_t nprocesses, const char *owner, size_t offset, size_t limit, nd_job_info **out, size_t *n,
                 size_t *total, nd_error *err) {
    pthread_mutex_lock(&j->lock);
    int rc = nd_store_list(j, states, nstates, processes, nprocesses, owner, offset, limit, out, n, total);
    pthread_mutex_unlock(&j->lock);
    return rc < 0 ? nd_fail(err, ND_E_INTERNAL, "", "the job index could not be read") : 0;
}

size_t nd_jobs_active(nd_jobs *j, const char *owner) {
    pthread_mutex_lock(&j->lock);
    size_t n = nd_store_active(j, owner);
    pthread_mutex_unlock(&j->lock);
    return n;
}

int nd_jobs_dismiss(nd_jobs *j, const char *id, nd_error *err) {
    nd_job_info info;
    int rc = nd_jobs_get(j, id, &info, err);
    if (rc < 0) return rc;
    nd_job_info_clear(&info);
    pthread_mutex_lock(&j->lock);
    nd_running *r = j->running;
    while (r && strcmp(r->id, id) != 0) r = r->next;
    withdraw_outputs(j, id);
    nd_store_delete(j, id);
    if (r) {
        /* The executor reaps it and removes the directory once the process is gone. */
        r->dismissed = true;
        if (is_slurm(j)) nd_slurm_kill(j, r);
        else nd_local_kill(j, r);
    } else {
        char *dir = nd_job_dir(j, id);
        nd_remove_tree(dir);
        free(dir);
    }
    pthread_cond_broadcast(&j->changed);
    pthread_mutex_unlock(&j->lock);
    return 0;
}

int nd_jobs_wait(nd_jobs *j, const char *id, int timeout_ms) {
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += timeout_ms / 1000;
    end.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (end.tv_nsec >= 1000000000L) end.tv_sec++, end.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&j->lock);
    int rc = -1;
    for (;;) {
        nd_job_info info;
        int found = nd_store_get(j, id, &info);
        if (found != 1) break;
        nd_job_state st = info.state;
        nd_job_info_clear(&info);
        if (st >= ND_JOB_SUCCESSFUL) {
            rc = 0;
            break;
        }
        if (pthread_cond_timedwait(&j->changed, &j->lock, &end) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&j->lock);
    return rc;
}

int nd_jobs_results(nd_jobs *j, const char *id, json_t **out, nd_error *err) {
    *out = NULL;
    nd_job_info info;
    int rc = nd_jobs_get(j, id, &info, err);
    if (rc < 0) return rc;
    nd_job_state st = info.state;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", info.message);
    nd_job_info_clear(&info);
    if (st == ND_JOB_FAILED) return nd_fail(err, ND_E_INTERNAL, "jobId", "the job failed: %s", msg);
    if (st != ND_JOB_SUCCESSFUL) return nd_fail(err, ND_E_RESULT_NOT_READY, "jobId", "the job has not finished yet");
    char *dir = nd_job_dir(j, id);
    char path[4200];
    snprintf(path, sizeof path, "%s/outputs.json", dir);
    free(dir);
    *out = nd_read_json(path);
    if (!*out) return nd_fail(err, ND_E_IO, "jobId", "the job's results are missing");
    return 0;
}

char *nd_jobs_file_path(nd_jobs *j, const char *id, const char *name) {
    if (!valid_id(id) || !name || !*name || name[0] == '.' || strchr(name, '/')) return NULL;
    nd_buf b = {0};
    nd_buf_printf(&b, "%s/%s/%s", j->conf.dir, id, name);
    return nd_buf_steal(&b, NULL);
}

void nd_jobs_counts(nd_jobs *j, size_t counts[5]) {
    pthread_mutex_lock(&j->lock);
    nd_store_counts(j, counts);
    pthread_mutex_unlock(&j->lock);
}

void nd_jobs_add_publisher(nd_jobs *j, const nd_job_publisher *p) {
    pthread_mutex_lock(&j->lock);
    if (j->npublishers < sizeof j->publishers / sizeof j->publishers[0]) j->publishers[j->npublishers++] = *p;
    /* Outputs of the jobs that succeeded before this start are datasets again. */
    enum { PAGE = 256 };
    nd_job_state ok = ND_JOB_SUCCESSFUL;
    for (size_t offset = 0;; offset += PAGE) {
        nd_job_info *jobs = NULL;
        size_t n = 0, total = 0;
        if (nd_store_list(j, &ok, 1, NULL, 0, NULL, offset, PAGE, &jobs, &n, &total) < 0) break;
        for (size_t i = 0; i < n; i++) {
            publish_outputs(j, p, 1, jobs[i].id, jobs[i].process);
            nd_job_info_clear(&jobs[i]);
        }
        free(jobs);
        if (n < PAGE) break;
    }
    pthread_mutex_unlock(&j->lock);
}
