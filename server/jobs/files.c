/* Files of a job directory: atomic replacement, small JSON reads, removal, the status document. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs_internal.h"

#define MAX_JSON_FILE (64u << 20)

double nd_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

char *nd_job_dir(const nd_jobs *j, const char *id) {
    nd_buf b = {0};
    nd_buf_printf(&b, "%s/%s", j->conf.dir, id);
    return nd_buf_steal(&b, NULL);
}

int nd_write_atomic(const char *path, const char *text, size_t len) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    /* fsync so that the rename never exposes an empty file after a power cut. */
    if (off != len || fsync(fd) != 0) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

json_t *nd_read_json(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size > (off_t)MAX_JSON_FILE) return NULL;
    return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

int nd_remove_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int nd_read_status(const char *dir, nd_job_state *st, int *progress, char *msg, size_t msglen) {
    char path[4200];
    snprintf(path, sizeof path, "%s/status.json", dir);
    json_t *s = nd_read_json(path);
    if (!s) return -1;
    int rc = nd_job_state_parse(json_string_value(json_object_get(s, "state")), st);
    if (rc == 0) {
        *progress = (int)json_integer_value(json_object_get(s, "progress"));
        const char *m = json_string_value(json_object_get(s, "message"));
        snprintf(msg, msglen, "%s", m ? m : "");
    }
    json_decref(s);
    return rc;
}

static const char *const state_names[] = {"accepted", "running", "successful", "failed", "dismissed"};

const char *nd_job_state_name(nd_job_state s) { return (unsigned)s < 5 ? state_names[s] : "failed"; }

int nd_job_state_parse(const char *s, nd_job_state *out) {
    for (int i = 0; s && i < 5; i++)
        if (strcmp(s, state_names[i]) == 0) {
            *out = (nd_job_state)i;
            return 0;
        }
    return -1;
}

void nd_job_info_clear(nd_job_info *j) {
    if (!j) return;
    free(j->request);
    j->request = NULL;
}
