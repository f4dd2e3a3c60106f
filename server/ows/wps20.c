/* WPS 2.0 documents: Capabilities, ProcessOfferings, StatusInfo and Result, for Execute (sync/async,
 * document/raw), GetStatus, GetResult and Dismiss. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wps.h"

#define NS20                                                                                                        \
    "xmlns:wps=\"http://www.opengis.net/wps/2.0\" xmlns:ows=\"http://www.opengis.net/ows/2.0\" "                 \
    "xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "       \
    "xsi:schemaLocation=\"http://www.opengis.net/wps/2.0 http://schemas.opengis.net/wps/2.0/wps.xsd\""

static void ows_text(nd_buf *b, const char *tag, const char *text) {
    nd_buf_printf(b, "<ows:%s>", tag);
    nd_buf_put_xml(b, text ? text : "");
    nd_buf_printf(b, "</ows:%s>", tag);
}

static const char *job_control(const nd_process *p) {
    return p->sync && p->async ? "sync-execute async-execute dismiss" : p->async ? "async-execute dismiss" : "sync-execute";
}

int wps20_capabilities(nd_req *rq, nd_resp *rs) {
    const char *url = nd_req_url(rq, "/wps");
    static const char *const ops[] = {"GetCapabilities", "DescribeProcess", "Execute", "GetStatus", "GetResult", "Dismiss"};
    nd_buf b = {0};
    wps_xml_head(&b);
    nd_buf_puts(&b, "<wps:Capabilities service=\"WPS\" version=\"2.0.0\" " NS20 ">");
    nd_buf_puts(&b, "<ows:ServiceIdentification><ows:Title>nadir processing</ows:Title><ows:Abstract>On-demand "
                    "processing next to the data</ows:Abstract><ows:ServiceType>WPS</ows:ServiceType>"
                    "<ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion><ows:Fees>NONE</ows:Fees>"
                    "<ows:AccessConstraints>NONE</ows:AccessConstraints></ows:ServiceIdentification>"
                    "<ows:ServiceProvider><ows:ProviderName>nadir</ows:ProviderName><ows:ServiceContact/>"
                    "</ows:ServiceProvider><ows:OperationsMetadata>");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        nd_buf_printf(&b, "<ows:Operation name=\"%s\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"", ops[i]);
        nd_buf_put_xml(&b, url);
        nd_buf_puts(&b, "\"/><ows:Post xlink:href=\"");
        nd_buf_put_xml(&b, url);
        nd_buf_puts(&b, "\"/></ows:HTTP></ows:DCP></ows:Operation>");
    }
    nd_buf_puts(&b, "</ows:OperationsMetadata><wps:Contents>");
    for (size_t i = 0; i < nd_process_count(); i++) {
        const nd_process *p = nd_process_at(i);
        if (!nd_auth_may(rq, ND_AUTH_PROCESS, p->id, ND_OP_EXECUTE)) continue; /* what the caller cannot run is not offered */
        nd_buf_printf(&b, "<wps:ProcessSummary jobControlOptions=\"%s\" outputTransmission=\"value reference\" "
                          "processVersion=\"%s\">", job_control(p), p->version);
        ows_text(&b, "Title", p->title);
        ows_text(&b, "Abstract", p->description);
        ows_text(&b, "Identifier", p->id);
        nd_buf_puts(&b, "</wps:ProcessSummary>");
    }
    nd_buf_puts(&b, "</wps:Contents></wps:Capabilities>\n");
    return wps_send_xml(rs, 200, &b);
}

static const char *xs_type(nd_io_type t) {
    switch (t) {
    case ND_IO_INTEGER: return "integer";
    case ND_IO_NUMBER: return "double";
    case ND_IO_BOOLEAN: return "boolean";
    default: return "string";
    }
}

static void data_description(nd_buf *b, const nd_io *io, bool output) {
    if (io->type == ND_IO_COMPLEX) {
        nd_buf_puts(b, "<wps:ComplexData>");
        const char *const *f = io->formats;
        for (int k = 0; f && f[k]; k++) {
            nd_buf_puts(b, "<wps:Format mimeType=\"");
            nd_buf_put_xml(b, f[k]);
            nd_buf_printf(b, "\"%s", k == 0 ? " default=\"true\"" : "");
            if (!output && io->max_bytes) nd_buf_printf(b, " maximumMegabytes=\"%g\"", io->max_bytes / 1048576.0);
            nd_buf_puts(b, "/>");
        }
        if (!f) nd_buf_puts(b, "<wps:Format mimeType=\"application/octet-stream\" default=\"true\"/>");
        nd_buf_puts(b, "</wps:ComplexData>");
        return;
    }
    if (io->type == ND_IO_BBOX) {
        nd_buf_puts(b, "<wps:BoundingBoxData><wps:Format mimeType=\"text/plain\" default=\"true\"/>"
                       "<wps:SupportedCRS default=\"true\">http://www.opengis.net/def/crs/OGC/1.3/CRS84</wps:SupportedCRS>"
                       "<wps:SupportedCRS>EPSG:4326</wps:SupportedCRS></wps:BoundingBoxData>");
        return;
    }
    nd_buf_puts(b, "<wps:LiteralData><wps:Format mimeType=\"text/plain\" default=\"true\"/>"
                   "<LiteralDataDomain default=\"true\">");
    if (!output && io->allowed) {
        nd_buf_puts(b, "<ows:AllowedValues>");
        for (const char *const *a = io->allowed; *a; a++) ows_text(b, "Value", *a);
        nd_buf_puts(b, "</ows:AllowedValues>");
    } else if (!output && (io->has_min || io->has_max)) {
        nd_buf_puts(b, "<ows:AllowedValues><ows:Range ows:rangeClosure=\"closed\">");
        if (io->has_min) nd_buf_printf(b, "<ows:MinimumValue>%.17g</ows:MinimumValue>", io->min);
        if (io->has_max) nd_buf_printf(b, "<ows:MaximumValue>%.17g</ows:MaximumValue>", io->max);
        nd_buf_puts(b, "</ows:Range></ows:AllowedValues>");
    } else {
        nd_buf_puts(b, "<ows:AnyValue/>");
    }
    nd_buf_printf(b, "<ows:DataType ows:reference=\"http://www.w3.org/2001/XMLSchema#%s\">%s</ows:DataType>",
                  xs_type(io->type), xs_type(io->type));
    if (io->uom) ows_text(b, "UOM", io->uom);
    if (!output && io->def) ows_text(b, "DefaultValue", io->def);
    nd_buf_puts(b, "</LiteralDataDomain></wps:LiteralData>");
}

int wps20_describe(nd_req *rq, nd_resp *rs) {
    const nd_process **list;
    size_t n;
    int rc = wps_process_list(rq, &list, &n);
    if (rc < 0) return rc;
    nd_buf b = {0};
    wps_xml_head(&b);
    nd_buf_puts(&b, "<wps:ProcessOfferings " NS20 ">");
    for (size_t i = 0; i < n; i++) {
        const nd_process *p = list[i];
        nd_buf_printf(&b, "<wps:ProcessOffering jobControlOptions=\"%s\" outputTransmission=\"value reference\" "
                          "processVersion=\"%s\"><wps:Process>", job_control(p), p->version);
        ows_text(&b, "Title", p->title);
        ows_text(&b, "Abstract", p->description);
        ows_text(&b, "Identifier", p->id);
        for (size_t k = 0; k < p->ninputs; k++) {
            const nd_io *io = &p->inputs[k];
            nd_buf_printf(&b, "<wps:Input minOccurs=\"%d\" maxOccurs=\"%d\">", io->min_occurs,
                          io->max_occurs > 0 ? io->max_occurs : 1);
            ows_text(&b, "Title", io->title);
            ows_text(&b, "Abstract", io->description);
            ows_text(&b, "Identifier", io->id);
            data_description(&b, io, false);
            nd_buf_puts(&b, "</wps:Input>");
        }
        for (size_t k = 0; k < p->noutputs; k++) {
            const nd_io *io = &p->outputs[k];
            nd_buf_puts(&b, "<wps:Output>");
            ows_text(&b, "Title", io->title);
            ows_text(&b, "Abstract", io->description);
            ows_text(&b, "Identifier", io->id);
            data_description(&b, io, true);
            nd_buf_puts(&b, "</wps:Output>");
        }
        nd_buf_puts(&b, "</wps:Process></wps:ProcessOffering>");
    }
    nd_buf_puts(&b, "</wps:ProcessOfferings>\n");
    return wps_send_xml(rs, 200, &b);
}

static const char *status_name(nd_job_state s) {
    switch (s) {
    case ND_JOB_ACCEPTED: return "Accepted";
    case ND_JOB_RUNNING: return "Running";
    case ND_JOB_SUCCESSFUL: return "Succeeded";
    case ND_JOB_DISMISSED: return "Dismissed";
    default: return "Failed";
    }
}

static int status_info(nd_resp *rs, const char *id, nd_job_state st, int progress) {
    nd_buf b = {0};
    wps_xml_head(&b);
    nd_buf_printf(&b, "<wps:StatusInfo " NS20 "><wps:JobID>%s</wps:JobID><wps:Status>%s</wps:Status>", id,
                  status_name(st));
    if (st == ND_JOB_RUNNING) nd_buf_printf(&b, "<wps:PercentCompleted>%d</wps:PercentCompleted>", progress);
    nd_buf_puts(&b, "</wps:StatusInfo>\n");
    return wps_send_xml(rs, 200, &b);
}

static nd_jobs *jobs(nd_req *rq) {
    nd_jobs *j = nd_app_jobs(rq->app);
    if (!j) nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "processing is not available on this server");
    return j;
}

static const char *job_id(nd_req *rq) {
    const char *id = nd_req_query(rq, "JobID");
    if (!id || !*id) nd_fail(&rq->err, ND_E_MISSING_PARAM, "JobID", "JobID is required");
    return id && *id ? id : NULL;
}

/* The Result document of a finished job: every output, or those asked for at Execute. */
static int result(nd_req *rq, nd_resp *rs, const char *id) {
    nd_jobs *j = jobs(rq);
    if (!j) return -(int)rq->err.code;
    nd_job_info info;
    int rc = nd_processing_job(rq, j, id, &info);
    if (rc < 0) return rc;
    json_t *request = info.request ? json_loads(info.request, 0, NULL) : NULL;
    const nd_process *p = nd_process_find(info.process);
    nd_job_info_clear(&info);
    json_t *outs;
    if ((rc = nd_jobs_results(j, id, &outs, &rq->err)) < 0) {
        json_decref(request);
        return rc;
    }
    const json_t *wanted = json_object_get(request, "outputs");
    const char *raw = json_string_value(json_object_get(request, "raw"));
    nd_buf b = {0};
    if (raw) {
        /* response=raw: the one output itself. */
        const char *key = *raw ? raw : p && p->noutputs ? p->outputs[0].id : "";
        const json_t *o = json_object_get(outs, key);
        const char *file = json_string_value(json_object_get(o, "file"));
        const char *mt = json_string_value(json_object_get(o, "mediaType"));
        if (!o) rc = nd_fail(&rq->err, ND_E_INTERNAL, "", "the process gave no output '%s'", key);
        else if (file) rc = nd_processing_send_file(rq, rs, id, file, mt);
        else {
            const json_t *v = json_object_get(o, "value");
            if (json_is_string(v)) nd_buf_puts(&b, json_string_value(v));
            else {
                char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                nd_buf_puts(&b, s ? s : "");
                free(s);
            }
            nd_buf_free(&rs->body);
            rs->body = b;
            b = (nd_buf){0};
            rs->status = 200;
            rs->content_type = mt ? nd_arena_strdup(rq->arena, mt) : json_is_string(v) ? "text/plain; charset=UTF-8"
                                                                                        : "application/json";
            rs->cache_seconds = 0;
        }
        json_decref(outs);
        json_decref(request);
        return rc;
    }
    wps_xml_head(&b);
    nd_buf_printf(&b, "<wps:Result " NS20 "><wps:JobID>%s</wps:JobID>", id);
    for (size_t i = 0; p && i < p->noutputs; i++) {
        const nd_io *io = &p->outputs[i];
        const json_t *o = json_object_get(outs, io->id), *want = NULL;
        size_t k;
        json_t *w;
        json_array_foreach((json_t *)wanted, k, w) if (!strcmp(json_string_value(json_object_get(w, "id")), io->id)) want = w;
        if (!o || (json_array_size(wanted) && !want)) continue;
        bool ref = json_object_get(o, "file") || (want && json_is_true(json_object_get(want, "asReference")));
        const char *mt = json_string_value(json_object_get(o, "mediaType"));
        nd_buf_printf(&b, "<wps:Output id=\"");
        nd_buf_put_xml(&b, io->id);
        nd_buf_puts(&b, "\">");
        if (ref) {
            nd_buf_puts(&b, "<wps:Reference xlink:href=\"");
            nd_buf_put_xml(&b, nd_req_url(rq, nd_arena_printf(rq->arena, "/jobs/%s/results/%s", id, io->id)));
            nd_buf_puts(&b, "\"");
            if (mt) {
                nd_buf_puts(&b, " mimeType=\"");
                nd_buf_put_xml(&b, mt);
                nd_buf_puts(&b, "\"");
            }
            nd_buf_puts(&b, "/>");
        } else {
            nd_buf_puts(&b, "<wps:Data");
            if (mt) {
                nd_buf_puts(&b, " mimeType=\"");
                nd_buf_put_xml(&b, mt);
                nd_buf_puts(&b, "\"");
            }
            nd_buf_puts(&b, ">");
            if (io->type == ND_IO_BBOX) wps_put_bbox(&b, json_object_get(o, "value"), "ows:BoundingBox");
            else if (io->type == ND_IO_COMPLEX) wps_put_complex(&b, json_object_get(o, "value"), mt);
            else wps_put_literal(&b, json_object_get(o, "value"));
            nd_buf_puts(&b, "</wps:Data>");
        }
        nd_buf_puts(&b, "</wps:Output>");
    }
    nd_buf_puts(&b, "</wps:Result>\n");
    json_decref(outs);
    json_decref(request);
    return wps_send_xml(rs, 200, &b);
}

int wps20_execute(nd_req *rq, nd_resp *rs, wps_exec *x) {
    char id[ND_JOB_ID_LEN + 1];
    if (!x->async && !x->process->sync) x->async = true; /* mode=auto on an async-only process */
    int rc = wps_submit(rq, x, "2.0.0", id);
    if (rc < 0) return rc;
    nd_jobs *j = nd_app_jobs(rq->app);
    if (x->async) return status_info(rs, id, ND_JOB_ACCEPTED, 0);
    if (nd_jobs_wait(j, id, rq->app->config->jobs.sync_timeout_s * 1000) != 0)
        return nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "the process did not finish in time; use mode=async");
    nd_job_info info;
    if ((rc = nd_processing_job(rq, j, id, &info)) < 0) return rc;
    nd_job_state st = info.state;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", info.message);
    nd_job_info_clear(&info);
    if (st != ND_JOB_SUCCESSFUL) return nd_fail(&rq->err, ND_E_INTERNAL, "", "the process failed: %s", msg);
    return result(rq, rs, id);
}

int wps20_get_status(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs(rq);
    const char *id = j ? job_id(rq) : NULL;
    if (!id) return -(int)rq->err.code;
    nd_job_info info;
    int rc = nd_processing_job(rq, j, id, &info);
    if (rc < 0) return rc;
    rc = status_info(rs, info.id, info.state, info.progress);
    nd_job_info_clear(&info);
    return rc;
}

int wps20_get_result(nd_req *rq, nd_resp *rs) {
    const char *id = job_id(rq);
    return id ? result(rq, rs, id) : -(int)rq->err.code;
}

int wps20_dismiss(nd_req *rq, nd_resp *rs) {
    nd_jobs *j = jobs(rq);
    const char *id = j ? job_id(rq) : NULL;
    if (!id) return -(int)rq->err.code;
    nd_job_info info;
    int rc = nd_processing_job(rq, j, id, &info);
    if (rc < 0) return rc;
    nd_job_info_clear(&info);
    if ((rc = nd_jobs_dismiss(j, id, &rq->err)) < 0) return rc;
    return status_info(rs, id, ND_JOB_DISMISSED, 0);
}
