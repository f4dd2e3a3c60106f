/* Staging a job's inputs given by reference: each {"href": URL} is fetched (from the hosts the configuration
 * allows, see fetch.c) before the kernel runs, so kernels only ever see local data: text media become the
 * input's value, as if sent inline; other media a file in DIR/inputs. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "jobs_internal.h"
#include "nadir/process.h"

#define DEFAULT_MAX_BYTES (256u << 20)

static bool is_text(const char *media) {
    static const char *const text[] = {"text/", "application/json", "application/geo+json", "application/xml",
                                       "application/vnd.odv", NULL};
    for (const char *const *t = text; media && *t; t++)
        if (!strncasecmp(media, *t, strlen(*t))) return true;
    return false;
}

static int stage_one(const char *dir, const nd_io *io, size_t k, json_t *v, const nd_config *cfg, char *msg,
                     size_t msglen) {
    const char *href = json_string_value(json_object_get(v, "href"));
    if (!href) return 0;
    const char *media = json_string_value(json_object_get(v, "mediaType"));
    size_t max = io->max_bytes ? io->max_bytes : DEFAULT_MAX_BYTES;
    nd_buf body = {0};
    char err[512];
    if (nd_fetch(href, cfg ? cfg->jobs.allowed_hosts : NULL, cfg ? cfg->jobs.nallowed_hosts : 0, max, &body, err,
                 sizeof err) < 0) {
        snprintf(msg, msglen, "input '%s' could not be fetched: %s", io->id, err);
        nd_buf_free(&body);
        return -1;
    }
    int rc = 0;
    if (is_text(media)) {
        json_object_set_new(v, "value", json_stringn(body.data ? body.data : "", body.len));
    } else {
        char path[4200];
        snprintf(path, sizeof path, "%s/inputs", dir);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) rc = -1;
        snprintf(path, sizeof path, "%s/inputs/%s-%zu", dir, io->id, k);
        if (rc == 0) rc = nd_write_atomic(path, body.data ? body.data : "", body.len);
        if (rc == 0) json_object_set_new(v, "file", json_string(path));
        else snprintf(msg, msglen, "input '%s' could not be stored in the job directory", io->id);
    }
    nd_buf_free(&body);
    return rc;
}

int nd_job_stage_inputs(const char *dir, const nd_process *p, json_t *inputs, const nd_config *cfg, char *msg,
                        size_t msglen) {
    const char *id;
    json_t *v;
    json_object_foreach(inputs, id, v) {
        const nd_io *io = nd_process_input(p, id);
        if (!io || io->type != ND_IO_COMPLEX) continue;
        if (json_is_array(v)) {
            for (size_t k = 0; k < json_array_size(v); k++)
                if (stage_one(dir, io, k, json_array_get(v, k), cfg, msg, msglen) < 0) return -1;
        } else if (stage_one(dir, io, 0, v, cfg, msg, msglen) < 0) {
            return -1;
        }
    }
    return 0;
}
