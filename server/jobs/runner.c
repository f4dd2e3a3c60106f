/* `nadir run-job DIR`: the child side of a job. Reads DIR/inputs.json, runs the kernel, writes
 * DIR/outputs.json then DIR/status.json, each by atomic rename, so the server (or Slurm) only ever
 * sees whole documents; progress goes into status.json as it comes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "jobs_internal.h"
#include "nadir/process.h"

typedef struct run_state {
    const char *dir;
    int last_percent;
    double last_write;
} run_state;

static int write_status(const char *dir, const char *state, int progress, const char *message) {
    json_t *s = json_pack("{s:s, s:i, s:s, s:f}", "state", state, "progress", progress, "message",
                          message ? message : "", "updated", nd_now());
    char *text = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    char path[4200];
    snprintf(path, sizeof path, "%s/status.json", dir);
    int rc = nd_write_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

/* At most five writes a second: progress is for people watching, not a log. */
static int progress(nd_kernel_env *env, int percent, const char *message) {
    run_state *rs = env->priv;
    double now = nd_now();
    if (percent < 0) percent = 0;
    if (percent > 99) percent = 99; /* 100 only once the outputs are written */
    if (percent != rs->last_percent && now - rs->last_write >= 0.2) {
        write_status(rs->dir, "running", percent, message);
        rs->last_percent = percent;
        rs->last_write = now;
    }
    return 0;
}

/* Every file output on disk before the job can be reported successful: a kernel writes its files in
 * place, and a power cut after status.json says "successful" must not leave a result cut short. */
static int sync_outputs(const char *dir, json_t *outputs) {
    const char *key;
    json_t *o;
    json_object_foreach(outputs, key, o) {
        const char *file = json_string_value(json_object_get(o, "file"));
        if (!file) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        int rc = fsync(fd);
        close(fd);
        if (rc != 0) return -1;
    }
    return 0;
}

static int fail(const char *dir, const char *msg) {
    write_status(dir, "failed", 0, msg);
    return 1;
}

static int run_job(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/inputs.json", dir);
    json_t *doc = nd_read_json(path);
    if (!doc) return fail(dir, "the job's inputs.json is missing or not JSON");
    const nd_process *p = nd_process_find(json_string_value(json_object_get(doc, "process")));
    if (!p) {
        json_decref(doc);
        return fail(dir, "the job names no known process");
    }
    nd_config *cfg = NULL;
    const char *conf = json_string_value(json_object_get(doc, "config"));
    if (conf) {
        char err[1024];
        if (nd_config_load(conf, &cfg, err, sizeof err) < 0) {
            json_decref(doc);
            return fail(dir, "the server's configuration could not be loaded");
        }
    }
    write_status(dir, "running", 0, "started");
    run_state rs = {.dir = dir, .last_percent = 0};
    nd_kernel_env env = {.dir = dir, .config = cfg, .progress = progress, .priv = &rs};
    json_t *inputs = json_object_get(doc, "inputs");
    json_t *outputs = json_object();
    nd_error err = {0};
    json_t *none = json_object();
    int rc = 0;
    if (inputs && nd_job_stage_inputs(dir, p, inputs, cfg, err.detail, sizeof err.detail) < 0) rc = -1;
    if (rc == 0) rc = p->run(&env, inputs ? inputs : none, outputs, &err);
    json_decref(none);
    int exit_code = 0;
    if (rc < 0) {
        exit_code = fail(dir, err.detail[0] ? err.detail : "the process failed");
    } else {
        char *text = json_dumps(outputs, JSON_COMPACT);
        snprintf(path, sizeof path, "%s/outputs.json", dir);
        if (sync_outputs(dir, outputs) != 0 || nd_write_atomic(path, text, strlen(text)) != 0)
            exit_code = fail(dir, "the outputs could not be written");
        else write_status(dir, "successful", 100, "done");
        free(text);
    }
    json_decref(outputs);
    json_decref(doc);
    nd_config_free(cfg);
    return exit_code;
}

/* One process at a time per job directory. A server killed between starting a job and recording that it
 * did starts it again after its restart, while the first process may still run: the second waits for the
 * first, and takes a success it reports instead of writing the same files again under a served result. */
int nd_job_run(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (fd >= 0 && flock(fd, LOCK_EX) != 0 && errno == EINTR) continue;
    nd_job_state st;
    int progress;
    char msg[16];
    char path[4200];
    snprintf(path, sizeof path, "%s/outputs.json", dir);
    int rc = nd_read_status(dir, &st, &progress, msg, sizeof msg) == 0 && st == ND_JOB_SUCCESSFUL &&
                     access(path, F_OK) == 0
                 ? 0
                 : run_job(dir);
    if (fd >= 0) close(fd);
    return rc;
}
