/* Who may submit, see and dismiss jobs: the process's execute rule, the caller's job quota, and ownership
 * (a job is its submitter's; admins see every job). Shared by WPS and OGC API - Processes. */
#include <stdio.h>
#include <string.h>

#include "nadir/auth.h"
#include "nadir/limits.h"
#include "processing.h"

int nd_processing_job(nd_req *rq, nd_jobs *j, const char *id, nd_job_info *out) {
    int rc = nd_jobs_get(j, id, out, &rq->err);
    if (rc < 0 || nd_auth_owns(rq, out->owner)) return rc;
    /* Someone else's job answers as an unknown one: its id and existence are not the caller's business. */
    nd_job_info_clear(out);
    return nd_fail(&rq->err, ND_E_NO_SUCH_JOB, "jobId", "there is no job with this id");
}

int nd_processing_owned(nd_req *rq, nd_jobs *j, const char *id) {
    nd_job_info info;
    int rc = nd_processing_job(rq, j, id, &info);
    if (rc == 0) nd_job_info_clear(&info);
    return rc;
}

/* Job outputs are datasets named "<job id>-<output>": they belong to the job's owner. */
static int job_output_owner(const nd_app *app, const char *id, char owner[128]) {
    if (strlen(id) <= ND_JOB_ID_LEN || id[ND_JOB_ID_LEN] != '-') return 0;
    nd_jobs *j = nd_app_jobs(app);
    char job[ND_JOB_ID_LEN + 1];
    memcpy(job, id, ND_JOB_ID_LEN);
    job[ND_JOB_ID_LEN] = '\0';
    nd_job_info info;
    nd_error err = {0};
    if (!j || nd_jobs_get(j, job, &info, &err) < 0) return 0;
    snprintf(owner, 128, "%s", info.owner);
    nd_job_info_clear(&info);
    return 1;
}

void nd_processing_guard_outputs(nd_app *app) {
    if (app->auth) app->dataset_owner = job_output_owner;
}

const char *nd_processing_owner_filter(const nd_req *rq) {
    if (!nd_auth_active(rq) || (rq->who && rq->who->admin)) return NULL;
    return nd_auth_owner(rq);
}

int nd_processing_may_submit(nd_req *rq, nd_jobs *j, const char *process) {
    if (nd_auth_check(rq, ND_AUTH_PROCESS, process, ND_OP_EXECUTE)) return -1;
    return nd_limits_job_quota(rq, nd_jobs_active(j, nd_auth_owner(rq)));
}

int nd_processing_may_read_inputs(nd_req *rq, const nd_process *p, const json_t *inputs) {
    for (size_t i = 0; i < p->ninputs; i++) {
        if (p->inputs[i].type != ND_IO_DATASET) continue;
        const json_t *v = json_object_get(inputs, p->inputs[i].id);
        /* A process must not read for the caller what the caller may not read. */
        if (json_is_string(v) && nd_auth_check(rq, ND_AUTH_DATASET, json_string_value(v), ND_OP_READ)) return -1;
        size_t k;
        const json_t *e;
        json_array_foreach(v, k, e) {
            if (json_is_string(e) && nd_auth_check(rq, ND_AUTH_DATASET, json_string_value(e), ND_OP_READ)) return -1;
        }
    }
    return 0;
}
