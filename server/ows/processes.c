/* OGC API - Processes 1.0: the process list and descriptions, execution (sync or async), the job
 * list, status, results and dismissal. Parses and answers; the job system does the work. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "processing.h"

#define MAX_JOBS_PAGE 1000
#define DEFAULT_JOBS_PAGE 10

static const char *const conformance[] = {
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    NULL,
};

static const nd_service service = {
    .id = "processes",
    .title = "OGC API - Processes 1.0",
    .href = "/processes",
    .rel = "http://www.opengis.net/def/rel/ogc/1.0/processes",
    .type = "application/json",
    .conformance = conformance,
};

static nd_jobs *jobs_of(nd_req *rq) {
    nd_jobs *j = nd_app_jobs(rq->app);
    if (!j) nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "processing is not available on this server");
    return j;
}

/* ---------------------------------------------------------------- descriptions */

static json_t *io_schema(const nd_io *io) {
    json_t *s = json_object();
    switch (io->type) {
    case ND_IO_STRING:
    case ND_IO_DATASET:
        json_object_set_new(s, "type", json_string("string"));
        break;
    case ND_IO_INTEGER:
    case ND_IO_NUMBER:
    case ND_IO_BOOLEAN:
        json_object_set_new(s, "type", json_string(nd_io_type_name(io->type)));
        break;
    case ND_IO_BBOX:
        json_object_set_new(s, "type", json_string("object"));
        json_object_set_new(s, "required", json_pack("[s]", "bbox"));
        json_object_set_new(s, "properties",
                            json_pack("{s:{s:s, s:i, s:i, s:{s:s}}, s:{s:s, s:s}}", "bbox", "type", "array",
                                      "minItems", 4, "maxItems", 4, "items", "type", "number", "crs", "type",
                                      "string", "format", "uri"));
        json_object_set_new(s, "format", json_string("ogc-bbox"));
        break;
    case ND_IO_COMPLEX: {
        json_t *one = json_array();
        for (const char *const *f = io->formats; f && *f; f++) {
            if (!strcmp(*f, "application/json")) json_array_append_new(one, json_pack("{s:s}", "type", "object"));
            else json_array_append_new(one, json_pack("{s:s, s:s}", "type", "string", "contentMediaType", *f));
        }
        json_object_set_new(s, "oneOf", one);
        break;
    }
    }
    if (io->allowed) {
        json_t *e = json_array();
        for (const char *const *a = io->allowed; *a; a++) json_array_append_new(e, json_string(*a));
        json_object_set_new(s, "enum", e);
    }
    if (io->def) {
        json_t *d = io->type == ND_IO_INTEGER ? json_integer(strtoll(io->def, NULL, 10))
                    : io->type == ND_IO_NUMBER ? json_real(strtod(io->def, NULL))
                    : io->type == ND_IO_BOOLEAN ? json_boolean(!strcmp(io->def, "true"))
                                                : json_string(io->def);
        json_object_set_new(s, "default", d);
    }
    if (io->has_min) json_object_set_new(s, "minimum", json_real(io->min));
    if (io->has_max) json_object_set_new(s, "maximum", json_real(io->max));
    if (io->max_bytes && (io->type == ND_IO_STRING)) json_object_set_new(s, "maxLength", json_integer((json_int_t)io->max_bytes));
    return s;
}

static json_t *summary(nd_req *rq, const nd_process *p) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", p->id, "title", p->title, "description", p->description,
                          "version", p->version);
    json_t *jc = json_array();
    if (p->sync) json_array_append_new(jc, json_string("sync-execute"));
    if (p->async) json_array_append_new(jc, json_string("async-execute"));
    if (p->async) json_array_append_new(jc, json_string("dismiss"));
    json_object_set_new(o, "jobControlOptions", jc);
    json_object_set_new(o, "outputTransmission", json_pack("[s, s]", "value", "reference"));
    json_t *dev = json_array();
    for (const char *const *d = p->devices; d && *d; d++) json_array_append_new(dev, json_string(*d));
    json_object_set_new(o, "devices", dev);
    const char *self = nd_arena_printf(rq->arena, "/processes/%s", p->id);
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, self, "self", "application/json", "process description"));
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s/execution", self),
                                      "http://www.opengis.net/def/rel/ogc/1.0/execute", "application/json",
                                      "execute the process"));
    json_object_set_new(o, "links", links);
    return o;
}

static int parse_count(nd_req *rq, const char *key, long dflt, long min, long max, long *out);

static int list_processes(nd_req *rq, nd_resp *rs) {
    long limit, offset;
    if (parse_count(rq, "limit", 100, 1, 10000, &limit) < 0 || parse_count(rq, "offset", 0, 0, 1L << 30, &offset) < 0)
        return -(int)rq->err.code;
    size_t n = nd_process_count();
    json_t *arr = json_array();
    for (size_t i = (size_t)offset; i < n && i < (size_t)offset + (size_t)limit; i++)
        if (nd_auth_may(rq, ND_AUTH_PROCESS, nd_process_at(i)->id, ND_OP_EXECUTE))
            json_array_append_new(arr, summary(rq, nd_process_at(i)));
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/processes?limit=%ld&offset=%ld", limit, offset),
                                      "self", "application/json", NULL));
    if ((size_t)(offset + limit) < n)
        json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/processes?limit=%ld&offset=%ld", limit,
                                                              offset + limit), "next", "application/json", NULL));
    return nd_resp_json(rs, 200, json_pack("{s:o, s:o}", "processes", arr, "links", links));
}

static int describe_process(nd_req *rq, nd_resp *rs) {
    const nd_process *p = nd_process_find(nd_req_param(rq, "id"));
    if (!p) return nd_fail(&rq->err, ND_E_NO_SUCH_PROCESS, "processId", "there is no process with this id");
    if (nd_auth_check(rq, ND_AUTH_PROCESS, p->id, ND_OP_EXECUTE)) return -1;
    json_t *o = summary(rq, p);
    json_t *ins = json_object(), *outs = json_object();
    for (size_t i = 0; i < p->ninputs; i++) {
        const nd_io *io = &p->inputs[i];
        json_t *d = json_pack("{s:s, s:s, s:i, s:o}", "title", io->title, "description", io->description,
                              "minOccurs", io->min_occurs, "schema", io_schema(io));
        json_object_set_new(d, "maxOccurs", json_integer(io->max_occurs > 0 ? io->max_occurs : 1));
        if (io->uom) json_object_set_new(d, "uom", json_string(io->uom));
        json_object_set_new(ins, io->id, d);
    }
    for (size_t i = 0; i < p->noutputs; i++) {
        const nd_io *io = &p->outputs[i];
        json_object_set_new(outs, io->id, json_pack("{s:s, s:s, s:o}", "title", io->title, "description",
                                                    io->description, "schema", io_schema(io)));
    }
    json_object_set_new(o, "inputs", ins);
    json_object_set_new(o, "outputs", outs);
    return nd_resp_json(rs, 200, o);
}

/* ---------------------------------------------------------------- status and results */

static json_t *status_info(nd_req *rq, const nd_job_info *j) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:s}", "processID", j->process, "type", "process",
                          "jobID", j->id, "status", nd_job_state_name(j->state), "message", j->message, "progress",
                          j->progress, "created", nd_processing_time(rq, j->created), "updated",
                          nd_processing_time(rq, j->updated));
    if (j->started > 0) json_object_set_new(o, "started", json_string(nd_processing_time(rq, j->started)));
    if (j->finished > 0) json_object_set_new(o, "finished", json_string(nd_processing_time(rq, j->finished)));
    const char *self = nd_arena_printf(rq->arena, "/jobs/%s", j->id);
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, self, "self", "application/json", "job status"));
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/processes/%s", j->process), "up",
                                      "application/json", "the process"));
    if (j->state == ND_JOB_SUCCESSFUL)
        json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s/results", self),
                                          "http://www.opengis.net/def/rel/ogc/1.0/results", "application/json",
                                          "job results"));
    json_object_set_new(o, "links", links);
    return o;
}

/* One output as OGC API - Processes writes it: a literal bare, a complex value qualified, a file by
 * reference. */
static json_t *result_value(nd_req *rq, const char *job, const char *id, const json_t *o) {
    const char *file = json_string_value(json_object_get(o, "file"));
    const char *mt = json_string_value(json_object_get(o, "mediaType"));
    if (file)
        return json_pack("{s:s, s:s?}", "href", nd_req_url(rq, nd_arena_printf(rq->arena, "/jobs/%s/results/%s", job, id)),
                         "type", mt);
    json_t *v = json_object_get(o, "value");
    if (mt) return json_pack("{s:O, s:s}", "value", v, "mediaType", mt);
    return json_incref(v);
}

static json_t *results_doc(nd_req *rq, const char *job, const json_t *outs) {
    json_t *doc = json_object();
    const char *key;
    json_t *o;
    json_object_foreach((json_t *)outs, key, o) json_object_set_new(doc, key, result_value(rq, job, key, o));
    return doc;
}

/* A single output as the response body itself (raw). */
static int send_raw(nd_req *rq, nd_resp *rs, const char *job, const json_t *o) {
    const char *file = json_string_value(json_object_get(o, "file"));
    const char *mt = json_string_value(json_object_get(o, "mediaType"));
    if (file) return nd_processing_send_file(rq, rs, job, file, mt);
    json_t *v = json_object_get(o, "value");
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        nd_buf_reset(&rs->body);
        nd_buf_append(&rs->body, s, strlen(s));
        rs->status = 200;
        rs->content_type = mt ? nd_arena_strdup(rq->arena, mt) : "text/plain; charset=utf-8";
        rs->cache_seconds = 0;
        return 0;
    }
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    nd_resp_set_json(rs, 200, s, strlen(s));
    free(s);
    rs->cache_seconds = 0;
    return 0;
}

static int get_job(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs_of(rq);
    if (!j) return -ND_E_UNAVAILABLE;
    nd_job_info info;
    int rc = nd_processing_job(rq, j, nd_req_param(rq, "jobId"), &info);
    if (rc < 0) return rc;
    json_t *o = status_info(rq, &info);
    nd_job_info_clear(&info);
    return nd_resp_json(rs, 200, o);
}

static int get_results(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs_of(rq);
    if (!j) return -ND_E_UNAVAILABLE;
    const char *id = nd_req_param(rq, "jobId");
    json_t *outs;
    int rc = nd_processing_owned(rq, j, id);
    if (rc == 0) rc = nd_jobs_results(j, id, &outs, &rq->err);
    if (rc < 0) return rc;
    json_t *doc = results_doc(rq, id, outs);
    json_decref(outs);
    return nd_resp_json(rs, 200, doc);
}

static int get_result_output(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs_of(rq);
    if (!j) return -ND_E_UNAVAILABLE;
    const char *id = nd_req_param(rq, "jobId");
    json_t *outs;
    int rc = nd_processing_owned(rq, j, id);
    if (rc == 0) rc = nd_jobs_results(j, id, &outs, &rq->err);
    if (rc < 0) return rc;
    json_t *o = json_object_get(outs, nd_req_param(rq, "output"));
    if (!o) rc = nd_fail(&rq->err, ND_E_NOT_FOUND, "output", "the job has no such output");
    else rc = send_raw(rq, rs, id, o);
    json_decref(outs);
    return rc;
}

static int dismiss(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs_of(rq);
    if (!j) return -ND_E_UNAVAILABLE;
    nd_job_info info;
    const char *id = nd_req_param(rq, "jobId");
    int rc = nd_processing_job(rq, j, id, &info);
    if (rc < 0) return rc;
    if ((rc = nd_jobs_dismiss(j, id, &rq->err)) < 0) {
        nd_job_info_clear(&info);
        return rc;
    }
    info.state = ND_JOB_DISMISSED;
    snprintf(info.message, sizeof info.message, "dismissed");
    json_t *o = status_info(rq, &info);
    nd_job_info_clear(&info);
    json_object_set_new(o, "links", json_array());
    return nd_resp_json(rs, 200, o);
}

/* ---------------------------------------------------------------- job list */

/* Comma-separated or repeated query values. */
static size_t query_values(nd_req *rq, const char *key, const char **out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < rq->query_params.n; i++) {
        if (strcasecmp(rq->query_params.items[i].key, key) != 0) continue;
        char *v = nd_arena_strdup(rq->arena, rq->query_params.items[i].value);
        char *save = NULL;
        for (char *t = strtok_r(v, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) out[n++] = t;
    }
    return n;
}

static int parse_count(nd_req *rq, const char *key, long dflt, long min, long max, long *out) {
    const char *s = nd_req_query(rq, key);
    *out = dflt;
    if (!s) return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < min || v > max)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, key, "%s must be an integer in %ld..%ld", key, min, max);
    *out = v;
    return 0;
}

static int list_jobs(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs_of(rq);
    if (!j) return -ND_E_UNAVAILABLE;
    const char *sv[8], *pv[64];
    size_t ns = query_values(rq, "status", sv, 8), np = query_values(rq, "processID", pv, 64);
    nd_job_state states[8];
    for (size_t i = 0; i < ns; i++)
        if (nd_job_state_parse(sv[i], &states[i]) < 0)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "status",
                           "status must be accepted, running, successful, failed or dismissed");
    const char *type = nd_req_query(rq, "type");
    if (type && strcmp(type, "process") != 0) np = 0, ns = 0; /* no job of another type: an empty list */
    long limit, offset;
    if (parse_count(rq, "limit", DEFAULT_JOBS_PAGE, 1, MAX_JOBS_PAGE, &limit) < 0 ||
        parse_count(rq, "offset", 0, 0, 1L << 30, &offset) < 0)
        return -(int)rq->err.code;
    nd_job_info *items = NULL;
    size_t n = 0, total = 0;
    if (!type || !strcmp(type, "process")) {
        int rc = nd_jobs_list(j, states, ns, pv, np, nd_processing_owner_filter(rq), (size_t)offset, (size_t)limit,
                              &items, &n, &total, &rq->err);
        if (rc < 0) return rc;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, status_info(rq, &items[i]));
        nd_job_info_clear(&items[i]);
    }
    free(items);
    /* Paging links keep the filters: the query without limit/offset, then the new ones. */
    nd_buf q = {0};
    for (size_t i = 0; i < rq->query_params.n; i++) {
        const nd_kv *kv = &rq->query_params.items[i];
        if (!strcasecmp(kv->key, "limit") || !strcasecmp(kv->key, "offset")) continue;
        nd_buf_put_urlenc(&q, kv->key);
        nd_buf_puts(&q, "=");
        nd_buf_put_urlenc(&q, kv->value);
        nd_buf_puts(&q, "&");
    }
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/jobs?%slimit=%ld&offset=%ld", q.data ? q.data : "",
                                                          limit, offset), "self", "application/json", NULL));
    if ((size_t)offset + n < total)
        json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/jobs?%slimit=%ld&offset=%ld",
                                                              q.data ? q.data : "", limit, offset + limit),
                                          "next", "application/json", "next page"));
    if (offset > 0)
        json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/jobs?%slimit=%ld&offset=%ld",
                                                              q.data ? q.data : "", limit,
                                                              offset > limit ? offset - limit : 0),
                                          "prev", "application/json", "previous page"));
    nd_buf_free(&q);
    return nd_resp_json(rs, 200, json_pack("{s:o, s:o, s:I, s:I}", "jobs", arr, "links", links, "numberMatched",
                                   (json_int_t)total, "numberReturned", (json_int_t)n));
}

/* ---------------------------------------------------------------- execution */

static bool prefers_async(nd_req *rq) {
    for (size_t i = 0; i < rq->headers.n; i++) {
        if (strcasecmp(rq->headers.items[i].key, "Prefer") != 0) continue;
        if (strcasestr(rq->headers.items[i].value, "respond-async")) return true;
    }
    return false;
}

/* Subscriber URIs may only point at hosts the configuration allows (no SSRF through callbacks). */
static int check_subscriber(nd_req *rq, const json_t *sub) {
    if (!sub) return 0;
    if (!json_is_object(sub)) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "subscriber", "subscriber must be an object");
    static const char *const keys[] = {"successUri", "failedUri", "inProgressUri"};
    nd_process_limits lim = nd_processing_limits(rq);
    for (int k = 0; k < 3; k++) {
        const json_t *u = json_object_get(sub, keys[k]);
        if (!u) continue;
        const char *s = json_string_value(u);
        if (!s || (strncasecmp(s, "http://", 7) && strncasecmp(s, "https://", 8)))
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, keys[k], "%s must be an http(s) URL", keys[k]);
        if (!nd_process_url_allowed(&lim, s))
            return nd_fail(&rq->err, ND_E_FORBIDDEN, keys[k], "callbacks to this host are not allowed");
    }
    return 0;
}

static int answer(nd_req *rq, nd_resp *rs, nd_jobs *j, const char *id, bool async, const char *response,
                  const json_t *outputs);

static int execute(nd_req *rq, nd_resp *rs) {
    const nd_process *p = nd_process_find(nd_req_param(rq, "id"));
    if (!p) return nd_fail(&rq->err, ND_E_NO_SUCH_PROCESS, "processId", "there is no process with this id");
    nd_jobs *j = jobs_of(rq);
    if (!j) return -ND_E_UNAVAILABLE;
    if (nd_processing_may_submit(rq, j, p->id)) return -1;
    json_error_t jerr;
    json_t *body = rq->body_len ? json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
    if (!body || !json_is_object(body)) {
        json_decref(body);
        return nd_fail(&rq->err, ND_E_BAD_REQUEST, "body", "the request body must be a JSON object (execute request)");
    }
    int rc = 0;
    json_t *inputs = NULL;
    const json_t *outputs = json_object_get(body, "outputs");
    const char *response = json_string_value(json_object_get(body, "response"));
    if (response && strcmp(response, "raw") && strcmp(response, "document"))
        rc = nd_fail(&rq->err, ND_E_INVALID_PARAM, "response", "response must be raw or document");
    if (!rc && outputs && !json_is_object(outputs))
        rc = nd_fail(&rq->err, ND_E_INVALID_PARAM, "outputs", "outputs must be an object of output ids");
    const char *key;
    json_t *val;
    if (!rc && outputs)
        json_object_foreach((json_t *)outputs, key, val) if (!rc && !nd_process_output(p, key)) rc =
            nd_fail(&rq->err, ND_E_INVALID_PARAM, "outputs", "the process has no output '%s'", key);
    if (!rc) rc = check_subscriber(rq, json_object_get(body, "subscriber"));
    nd_process_limits lim = nd_processing_limits(rq);
    if (!rc) rc = nd_process_check_inputs(p, json_object_get(body, "inputs"), &lim, &inputs, &rq->err);
    if (!rc) rc = nd_processing_may_read_inputs(rq, p, inputs);
    bool async = p->async && (prefers_async(rq) || !p->sync);
    json_t *request = NULL;
    char id[ND_JOB_ID_LEN + 1];
    if (!rc) {
        request = json_pack("{s:s, s:O?, s:O?}", "response", response ? response : "document", "outputs", outputs,
                            "subscriber", json_object_get(body, "subscriber"));
        rc = nd_jobs_submit(j, p->id, nd_auth_owner(rq), inputs, request, id, &rq->err);
    }
    json_decref(inputs);
    json_decref(request);
    if (rc < 0) {
        json_decref(body);
        return rc;
    }
    rc = answer(rq, rs, j, id, async, response, outputs);
    json_decref(body); /* response and outputs point into it */
    return rc;
}

/* The answer to an execution: results when it ran synchronously to its end, else the job status. */
static int answer(nd_req *rq, nd_resp *rs, nd_jobs *j, const char *id, bool async, const char *response,
                  const json_t *outputs) {
    int rc;

    if (!async && nd_jobs_wait(j, id, rq->app->config->jobs.sync_timeout_s * 1000) == 0) {
        nd_job_info info;
        if ((rc = nd_jobs_get(j, id, &info, &rq->err)) < 0) return rc;
        nd_job_state st = info.state;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", info.message);
        nd_job_info_clear(&info);
        if (st == ND_JOB_FAILED) return nd_fail(&rq->err, ND_E_INTERNAL, "", "the process failed: %s", msg);
        json_t *outs;
        if ((rc = nd_jobs_results(j, id, &outs, &rq->err)) < 0) return rc;
        nd_resp_header(rq, rs, "Location", nd_req_url(rq, nd_arena_printf(rq->arena, "/jobs/%s", id)));
        /* Raw with one output (asked for or the only one): the value itself is the body. */
        const json_t *only = NULL;
        if (response && !strcmp(response, "raw")) {
            if (outputs && json_object_size(outputs) == 1) only = json_object_get(outs, json_object_iter_key(json_object_iter((json_t *)outputs)));
            else if (json_object_size(outs) == 1) only = json_object_iter_value(json_object_iter(outs));
        }
        if (only) rc = send_raw(rq, rs, id, only);
        else rc = nd_resp_json(rs, 200, results_doc(rq, id, outs));
        json_decref(outs);
        return rc;
    }
    /* Asynchronous, or a synchronous run that outlived its wait: the job is committed already. */
    nd_job_info info;
    if ((rc = nd_jobs_get(j, id, &info, &rq->err)) < 0) return rc;
    json_t *o = status_info(rq, &info);
    nd_job_info_clear(&info);
    nd_resp_header(rq, rs, "Location", nd_req_url(rq, nd_arena_printf(rq->arena, "/jobs/%s", id)));
    if (async) nd_resp_header(rq, rs, "Preference-Applied", "respond-async");
    return nd_resp_json(rs, 201, o);
}

void nd_processes_register(nd_app *app) {
    nd_processing_start(app);
    static const nd_route routes[] = {
        {"GET", "/processes", list_processes, "processes", "The processes offered", NULL},
        {"GET", "/processes/{id}", describe_process, "processes", "A process description", NULL},
        {"POST", "/processes/{id}/execution", execute, "processes", "Execute a process (sync or async)", NULL},
        {"GET", "/jobs", list_jobs, "processes", "Jobs, filtered by status and process, paged", NULL},
        {"GET", "/jobs/{jobId}", get_job, "processes", "The status of a job", NULL},
        {"DELETE", "/jobs/{jobId}", dismiss, "processes", "Dismiss a job (stops it, removes its results)", NULL},
        {"GET", "/jobs/{jobId}/results", get_results, "processes", "The results of a job", NULL},
        {"GET", "/jobs/{jobId}/results/{output}", get_result_output, "processes", "One output of a job, raw", NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
    nd_app_add_service(app, &service);
}
