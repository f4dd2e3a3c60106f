/* pca-screening over many files: the items of a collection (within a time range) found through the catalogue, one
 * reference basis for all of them, then one task per file on a bounded pool of forked worker processes inside the
 * job, gathered into one result. The whole job runs on one node (under Slurm: one allocation with its CPUs); a Slurm
 * job array is not used. A worker that fails or dies fails the job with the file named, never a hang: the parent
 * waits only on its own children, and kills the rest when one fails or the job is dismissed. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nadir/arena.h"
#include "nadir/catalog.h"
#include "pca_process.h"

#define MAX_FILES 100000

typedef struct files {
    char **path, **name, **dir;
    size_t n;
} files;

static void files_free(files *fs) {
    for (size_t i = 0; i < fs->n; i++) free(fs->path[i]), free(fs->name[i]), free(fs->dir[i]);
    free(fs->path);
    free(fs->name);
    free(fs->dir);
}

/* The items of the collection (within datetime) and their local files, from the server's own catalogue. */
static int list_files(nd_kernel_env *env, const char *coll, const char *datetime, files *fs, nd_error *err) {
    if (!env->config) return nd_fail(err, ND_E_INTERNAL, "", "the job has no configuration to find the catalogue in");
    nd_search s = {.collections = (const char *const[]){coll}, .ncollections = 1, .limit = MAX_FILES, .raw = true};
    if (datetime && nd_cat_interval_parse(datetime, s.datetime) < 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "datetime", "datetime '%s' is not an RFC 3339 interval", datetime);
    s.has_datetime = datetime != NULL;
    char db[4096], e[512];
    if (env->config->catalog.database) snprintf(db, sizeof db, "%s", env->config->catalog.database);
    else snprintf(db, sizeof db, "%s/catalog.db", env->config->server.data_dir);
    nd_cat *cat = NULL;
    if (nd_cat_open(db, 1, &cat, e, sizeof e) < 0)
        return nd_fail(err, ND_E_UNAVAILABLE, "collection", "the catalogue could not be opened");
    nd_arena *a = nd_arena_new(1 << 16);
    nd_page page = {0};
    int rc = nd_cat_search(cat, a, &s, &page, err);
    if (rc == 0 && page.next)
        rc = nd_fail(err, ND_E_INVALID_PARAM, "datetime", "more than %d items: narrow the time range", MAX_FILES);
    if (rc == 0 && page.nraw == 0)
        rc = nd_fail(err, ND_E_INVALID_PARAM, "collection", "collection '%s' has no items%s%s", coll,
                     datetime ? " in " : "", datetime ? datetime : "");
    fs->path = nd_xmalloc((page.nraw + 1) * sizeof *fs->path);
    fs->name = nd_xmalloc((page.nraw + 1) * sizeof *fs->name);
    fs->dir = nd_xmalloc((page.nraw + 1) * sizeof *fs->dir);
    for (size_t i = 0; rc == 0 && i < page.nraw; i++) {
        char *p = nd_cat_file_path(cat, coll, page.raw_id[i]);
        if (!p) {
            rc = nd_fail(err, ND_E_INVALID_PARAM, "collection", "item '%s' has no local data file", page.raw_id[i]);
            break;
        }
        fs->path[fs->n] = p;
        fs->name[fs->n] = nd_xstrdup(page.raw_id[i]);
        char d[4096];
        snprintf(d, sizeof d, "%s/files/%zu", env->dir, fs->n);
        fs->dir[fs->n++] = nd_xstrdup(d);
    }
    nd_arena_free(a);
    nd_cat_close(cat);
    return rc;
}

/* The worker: screens one file into its own directory and leaves its counts in stats.json (or error.txt). Runs in
 * a forked child and ends with _exit: nothing of the parent's (its catalogue, its job state) is touched. */
static void worker(nd_kernel_env *env, const char *path, const char *dir, const nd_pca_basis *b, double threshold) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a job killed (timeout, dismissal) takes its workers with it */
    nd_kernel_env wenv = {.dir = dir, .config = env->config};
    nd_error err = {0};
    nd_pca_l1b f;
    nd_pca_screen_stats st = {0};
    char e[512], p[4200];
    int rc = -1;
    if (nd_pca_l1b_open(path, &f, e, sizeof e) < 0) {
        nd_fail(&err, ND_E_INVALID_PARAM, "item", "%s", e);
    } else {
        if (f.m != b->m) nd_fail(&err, ND_E_INVALID_PARAM, "item", "it has %d channels, the basis %d", f.m, b->m);
        else rc = nd_pca_screen_write(&wenv, &f, b, threshold, &st, &err);
        if (rc == 0) {
            json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "scanlines", (json_int_t)f.nscan,
                                  "spectra", (json_int_t)(f.nscan * f.npix), "valid", (json_int_t)st.valid, "flagged",
                                  (json_int_t)st.flagged, "lat0", st.lat0, "lat1", st.lat1, "lon0", st.lon0, "lon1",
                                  st.lon1);
            snprintf(p, sizeof p, "%s/stats.json", dir);
            if (json_dump_file(j, p, 0) < 0) rc = -1, nd_fail(&err, ND_E_IO, "", "stats.json could not be written");
            json_decref(j);
        }
        nd_pca_l1b_close(&f);
    }
    if (rc < 0) {
        snprintf(p, sizeof p, "%s/error.txt", dir);
        FILE *fp = fopen(p, "w");
        if (fp) {
            fputs(err.detail[0] ? err.detail : "the file could not be screened", fp);
            fclose(fp);
        }
    }
    _exit(rc < 0 ? 1 : 0);
}

/* Why worker i failed, from its error.txt or its exit status. */
static void worker_failed(const files *fs, size_t i, int status, nd_error *err) {
    char p[4200], msg[400] = "";
    snprintf(p, sizeof p, "%s/error.txt", fs->dir[i]);
    FILE *fp = fopen(p, "r");
    if (fp) {
        size_t n = fread(msg, 1, sizeof msg - 1, fp);
        msg[n] = '\0';
        fclose(fp);
    }
    if (WIFSIGNALED(status))
        nd_fail(err, ND_E_INTERNAL, "collection", "item '%s': its worker process died (signal %d)", fs->name[i],
                WTERMSIG(status));
    else
        nd_fail(err, ND_E_INVALID_PARAM, "collection", "item '%s' could not be screened: %s", fs->name[i],
                msg[0] ? msg : "its worker process failed");
}

/* Runs the workers, at most `pool` at once; progress counts finished files. */
static int run_pool(nd_kernel_env *env, const files *fs, const nd_pca_basis *b, double threshold, int pool,
                    nd_error *err) {
    pid_t *pid = nd_xmalloc(fs->n * sizeof *pid);
    size_t next = 0, done = 0, running = 0;
    int rc = 0;
    fflush(NULL); /* nothing buffered is written twice by a child */
    while (done < fs->n) {
        while (rc == 0 && next < fs->n && running < (size_t)pool) {
            mkdir(fs->dir[next], 0755);
            pid_t p = fork();
            if (p == 0) worker(env, fs->path[next], fs->dir[next], b, threshold);
            if (p < 0) {
                rc = nd_fail(err, ND_E_INTERNAL, "", "no worker process could be started (%s)", strerror(errno));
                break;
            }
            pid[next++] = p;
            running++;
        }
        if (running == 0) break;
        int status;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0) {
            if (errno == EINTR) continue;
            rc = rc ? rc : nd_fail(err, ND_E_INTERNAL, "", "waiting for the workers failed (%s)", strerror(errno));
            break;
        }
        size_t i = 0;
        while (i < next && pid[i] != p) i++;
        if (i == next) continue; /* not one of ours */
        pid[i] = 0, running--, done++;
        if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
            worker_failed(fs, i, status, err);
            rc = -(int)err->code;
        }
        char msg[64];
        snprintf(msg, sizeof msg, "screened %zu of %zu files", done, fs->n);
        if (rc == 0 && env->progress && env->progress(env, 10 + (int)(85 * done / fs->n), msg))
            rc = nd_fail(err, ND_E_INTERNAL, "", "the job was dismissed");
        if (rc < 0) /* one failure fails the job: the others are stopped, then reaped below */
            for (size_t j = 0; j < next; j++)
                if (pid[j] > 0) kill(pid[j], SIGKILL);
    }
    for (size_t j = 0; j < next; j++) /* children killed above */
        if (pid[j] > 0) waitpid(pid[j], NULL, 0);
    free(pid);
    return rc;
}

int nd_pca_screen_many(nd_kernel_env *env, const char *coll, const json_t *in, json_t *out, nd_error *err) {
    files fs = {0};
    nd_pca_basis b = {0};
    double threshold = 0;
    int rc = list_files(env, coll, json_string_value(json_object_get(in, "datetime")), &fs, err);
    if (rc == 0) rc = nd_pca_reference(env, fs.path, fs.name, fs.n, in, &b, &threshold, err);
    if (rc < 0) goto done;
    char d[4200];
    snprintf(d, sizeof d, "%s/files", env->dir);
    mkdir(d, 0755);
    int pool = (int)json_integer_value(json_object_get(in, "workers"));
    if (pool <= 0) pool = env->config && env->config->jobs.threads > 0 ? env->config->jobs.threads : 1;
    if ((rc = run_pool(env, &fs, &b, threshold, pool, err)) < 0) goto done;
    if (env->progress && env->progress(env, 96, "gathering")) {
        rc = nd_fail(err, ND_E_INTERNAL, "", "the job was dismissed");
        goto done;
    }
    if ((rc = nd_pca_gather(env, fs.dir, fs.n, err)) < 0) goto done;
    for (size_t i = 0; i < fs.n; i++) { /* gathered: the per-file copies would double the disk the job takes */
        const char *names[] = {"scores.nc", "selected.nc"};
        for (int k = 0; k < 2; k++) {
            snprintf(d, sizeof d, "%s/%s", fs.dir[i], names[k]);
            unlink(d);
        }
    }
    nd_pca_screen_stats st = {.lat0 = INFINITY, .lon0 = INFINITY, .lat1 = -INFINITY, .lon1 = -INFINITY};
    json_t *per = json_array();
    size_t spectra = 0, scanlines = 0;
    for (size_t i = 0; i < fs.n; i++) {
        snprintf(d, sizeof d, "%s/stats.json", fs.dir[i]);
        json_t *j = json_load_file(d, 0, NULL);
        if (!j) {
            json_decref(per);
            rc = nd_fail(err, ND_E_INTERNAL, "", "item '%s': the worker left no counts", fs.name[i]);
            goto done;
        }
        st.valid += (size_t)json_integer_value(json_object_get(j, "valid"));
        st.flagged += (size_t)json_integer_value(json_object_get(j, "flagged"));
        spectra += (size_t)json_integer_value(json_object_get(j, "spectra"));
        scanlines += (size_t)json_integer_value(json_object_get(j, "scanlines"));
        st.lat0 = fmin(st.lat0, json_real_value(json_object_get(j, "lat0")));
        st.lat1 = fmax(st.lat1, json_real_value(json_object_get(j, "lat1")));
        st.lon0 = fmin(st.lon0, json_real_value(json_object_get(j, "lon0")));
        st.lon1 = fmax(st.lon1, json_real_value(json_object_get(j, "lon1")));
        json_object_set_new(j, "item", json_string(fs.name[i]));
        const char *drop[] = {"lat0", "lat1", "lon0", "lon1"};
        for (int k = 0; k < 4; k++) json_object_del(j, drop[k]);
        json_array_append_new(per, j);
    }
    const char *basis_job = json_string_value(json_object_get(in, "basis"));
    json_t *summary = json_pack("{s:I, s:I, s:I, s:f, s:f, s:i, s:i, s:I, s:s, s:s, s:I, s:i, s:o}", "spectra",
                                (json_int_t)spectra, "valid", (json_int_t)st.valid, "flagged", (json_int_t)st.flagged,
                                "flagged_fraction", st.valid ? (double)st.flagged / (double)st.valid : 0.0,
                                "threshold", threshold, "components", b.k, "channels", b.m, "reference_spectra",
                                (json_int_t)b.ntrain, "covariance", "OpenBLAS dsyrk", "basis_from",
                                basis_job ? basis_job : "this job", "nfiles", (json_int_t)fs.n, "workers", pool,
                                "files", per);
    nd_pca_l1b f = {.nscan = scanlines, .npix = scanlines ? spectra / scanlines : 0, .m = b.m};
    nd_pca_set_outputs(env, &f, &st, summary, out);
    if (env->progress) env->progress(env, 100, "done");
done:
    nd_pca_basis_free(&b);
    files_free(&fs);
    return rc;
}
