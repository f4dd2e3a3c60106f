/* The job system of a running server, shared by WPS and OGC API - Processes: started when the first
 * of them registers, stopped at exit (jobs running then are re-attached by the next start). */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "processing.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const nd_app *owner;
static nd_jobs *jobs;
static bool tried;

/* mkdir -p of the directories above path (the job system creates the last one itself). */
static void mkdir_parents(const char *path) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
}

static void stop_at_exit(void) {
    pthread_mutex_lock(&lock);
    nd_jobs_stop(jobs);
    jobs = NULL;
    pthread_mutex_unlock(&lock);
}

static void jobs_metrics(const nd_app *app, nd_buf *out) {
    nd_jobs *j = nd_app_jobs(app);
    if (!j) return;
    size_t counts[5] = {0};
    nd_jobs_counts(j, counts);
    nd_buf_puts(out, "# HELP nadir_jobs Jobs known to the server, by state.\n# TYPE nadir_jobs gauge\n");
    for (nd_job_state st = ND_JOB_ACCEPTED; st <= ND_JOB_FAILED; st++) /* dismissed jobs are deleted */
        nd_buf_printf(out, "nadir_jobs{state=\"%s\"} %zu\n", nd_job_state_name(st), counts[st]);
}

nd_jobs *nd_processing_start(nd_app *app) {
    pthread_mutex_lock(&lock);
    if (!tried || owner != app) {
        if (jobs) nd_jobs_stop(jobs);
        jobs = NULL;
        if (!tried) atexit(stop_at_exit);
        tried = true;
        owner = app;
        const nd_config *c = app->config;
        char exe[PATH_MAX], cfgpath[PATH_MAX], dir[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        if (!c->path || !realpath(c->path, cfgpath)) cfgpath[0] = '\0';
        if (c->jobs.directory) snprintf(dir, sizeof dir, "%s", c->jobs.directory);
        else snprintf(dir, sizeof dir, "%s/jobs", c->server.data_dir);
        mkdir_parents(dir);
        nd_jobs_conf jc = {
            .dir = dir,
            .exe = exe,
            .config_path = cfgpath[0] ? cfgpath : NULL,
            .executor = c->jobs.executor,
            .workers = c->jobs.workers,
            .timeout_s = c->jobs.timeout_s,
            .memory = c->jobs.memory_limit,
            .threads = c->jobs.threads,
            .retention_s = c->jobs.retention_s,
            .partition = c->jobs.slurm_partition,
            .account = c->jobs.slurm_account,
        };
        char err[512];
        if (nd_jobs_start(&jc, &jobs, err, sizeof err) < 0) fprintf(stderr, "nadir: jobs: %s\n", err);
        else {
            nd_processing_publish_init(app, jobs);
            nd_processing_guard_outputs(app);
            nd_app_add_metrics(app, jobs_metrics);
        }
    }
    nd_jobs *j = jobs;
    pthread_mutex_unlock(&lock);
    return j;
}

nd_jobs *nd_app_jobs(const nd_app *app) {
    pthread_mutex_lock(&lock);
    nd_jobs *j = owner == app ? jobs : NULL;
    pthread_mutex_unlock(&lock);
    return j;
}

nd_process_limits nd_processing_limits(const nd_req *rq) {
    const nd_config *c = rq->app->config;
    nd_process_limits l = {
        .datasets = rq->app->datasets,
        .allowed_hosts = c->jobs.allowed_hosts,
        .nallowed_hosts = c->jobs.nallowed_hosts,
        .self_url = c->server.base_url,
        .max_inline = (size_t)c->jobs.max_inline,
        .max_output_bytes = c->server.max_coverage_bytes,
    };
    return l;
}

static long file_read(void *ctx, uint64_t pos, char *buf, size_t max) {
    ssize_t n = pread((int)(intptr_t)ctx, buf, max, (off_t)pos);
    return n < 0 ? -1 : (long)n;
}

static void file_close(void *ctx) { close((int)(intptr_t)ctx); }

int nd_processing_send_file(nd_req *rq, nd_resp *rs, const char *job_id, const char *name, const char *media_type) {
    nd_jobs *j = nd_app_jobs(rq->app);
    char *path = j ? nd_jobs_file_path(j, job_id, name) : NULL;
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    free(path);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return nd_fail(&rq->err, ND_E_NOT_FOUND, "output", "the job has no such output file");
    }
    rs->status = 200;
    rs->content_type = media_type ? nd_arena_strdup(rq->arena, media_type) : "application/octet-stream";
    rs->stream = (nd_stream){.read = file_read, .free = file_close, .ctx = (void *)(intptr_t)fd,
                             .size = (uint64_t)sb.st_size};
    rs->cache_seconds = 0;
    return 0;
}

const char *nd_processing_time(nd_req *rq, double t) {
    time_t s = (time_t)t;
    struct tm tm;
    gmtime_r(&s, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    return nd_arena_printf(rq->arena, "%s.%03dZ", buf, (int)((t - (double)s) * 1000));
}
