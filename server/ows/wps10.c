/* WPS 1.0.0 documents: Capabilities, ProcessDescriptions and ExecuteResponse (stored for asynchronous
 * runs behind a statusLocation that shows percentCompleted), RawDataOutput answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wps.h"

#define NS10                                                                                                        \
    "xmlns:wps=\"http://www.opengis.net/wps/1.0.0\" xmlns:ows=\"http://www.opengis.net/ows/1.1\" "               \
    "xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""

static const char *xs_type(nd_io_type t) {
    switch (t) {
    case ND_IO_INTEGER: return "integer";
    case ND_IO_NUMBER: return "double";
    case ND_IO_BOOLEAN: return "boolean";
    default: return "string";
    }
}

static void ows_text(nd_buf *b, const char *tag, const char *text) {
    nd_buf_printf(b, "<ows:%s>", tag);
    nd_buf_put_xml(b, text ? text : "");
    nd_buf_printf(b, "</ows:%s>", tag);
}

static void operation(nd_buf *b, const char *name, const char *url) {
    nd_buf_printf(b, "<ows:Operation name=\"%s\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"", name);
    nd_buf_put_xml(b, url);
    nd_buf_puts(b, "?\"/><ows:Post xlink:href=\"");
    nd_buf_put_xml(b, url);
    nd_buf_puts(b, "\"/></ows:HTTP></ows:DCP></ows:Operation>");
}

int wps10_capabilities(nd_req *rq, nd_resp *rs) {
    const char *url = nd_req_url(rq, "/wps");
    nd_buf b = {0};
    wps_xml_head(&b);
    nd_buf_puts(&b, "<wps:Capabilities service=\"WPS\" version=\"1.0.0\" xml:lang=\"en-US\" updateSequence=\"1\" " NS10
                    " xsi:schemaLocation=\"http://www.opengis.net/wps/1.0.0 "
                    "http://schemas.opengis.net/wps/1.0.0/wpsGetCapabilities_response.xsd\">");
    nd_buf_puts(&b, "<ows:ServiceIdentification><ows:Title>nadir processing</ows:Title><ows:Abstract>On-demand "
                    "processing next to the data</ows:Abstract><ows:ServiceType>WPS</ows:ServiceType>"
                    "<ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion><ows:Fees>NONE</ows:Fees>"
                    "<ows:AccessConstraints>NONE</ows:AccessConstraints></ows:ServiceIdentification>");
    nd_buf_puts(&b, "<ows:ServiceProvider><ows:ProviderName>nadir</ows:ProviderName><ows:ServiceContact/>"
                    "</ows:ServiceProvider><ows:OperationsMetadata>");
    operation(&b, "GetCapabilities", url);
    operation(&b, "DescribeProcess", url);
    operation(&b, "Execute", url);
    nd_buf_puts(&b, "</ows:OperationsMetadata><wps:ProcessOfferings>");
    for (size_t i = 0; i < nd_process_count(); i++) {
        const nd_process *p = nd_process_at(i);
        if (!nd_auth_may(rq, ND_AUTH_PROCESS, p->id, ND_OP_EXECUTE)) continue; /* what the caller cannot run is not offered */
        nd_buf_printf(&b, "<wps:Process wps:processVersion=\"%s\">", p->version);
        ows_text(&b, "Identifier", p->id);
        ows_text(&b, "Title", p->title);
        ows_text(&b, "Abstract", p->description);
        nd_buf_puts(&b, "</wps:Process>");
    }
    nd_buf_puts(&b, "</wps:ProcessOfferings><wps:Languages><wps:Default><ows:Language>en-US</ows:Language>"
                    "</wps:Default><wps:Supported><ows:Language>en-US</ows:Language></wps:Supported></wps:Languages>"
                    "<wps:WSDL xlink:href=\"");
    nd_buf_put_xml(&b, url);
    nd_buf_puts(&b, "?WSDL\"/></wps:Capabilities>\n");
    return wps_send_xml(rs, 200, &b);
}

static void formats(nd_buf *b, const nd_io *io) {
    const char *const *f = io->formats;
    nd_buf_puts(b, "<Default><Format><MimeType>");
    nd_buf_put_xml(b, f && f[0] ? f[0] : "application/octet-stream");
    nd_buf_puts(b, "</MimeType></Format></Default><Supported>");
    for (; f && *f; f++) {
        nd_buf_puts(b, "<Format><MimeType>");
        nd_buf_put_xml(b, *f);
        nd_buf_puts(b, "</MimeType></Format>");
    }
    if (!io->formats) nd_buf_puts(b, "<Format><MimeType>application/octet-stream</MimeType></Format>");
    nd_buf_puts(b, "</Supported>");
}

static void literal(nd_buf *b, const nd_io *io, bool output) {
    const char *type = xs_type(io->type);
    nd_buf_printf(b, "<%s><ows:DataType ows:reference=\"http://www.w3.org/TR/xmlschema-2/#%s\">%s</ows:DataType>",
                  output ? "LiteralOutput" : "LiteralData", type, type);
    if (io->uom) {
        nd_buf_puts(b, "<UOMs><Default><ows:UOM>");
        nd_buf_put_xml(b, io->uom);
        nd_buf_puts(b, "</ows:UOM></Default><Supported><ows:UOM>");
        nd_buf_put_xml(b, io->uom);
        nd_buf_puts(b, "</ows:UOM></Supported></UOMs>");
    }
    if (!output) {
        if (io->allowed) {
            nd_buf_puts(b, "<ows:AllowedValues>");
            for (const char *const *a = io->allowed; *a; a++) ows_text(b, "Value", *a);
            nd_buf_puts(b, "</ows:AllowedValues>");
        } else if (io->has_min || io->has_max) {
            nd_buf_puts(b, "<ows:AllowedValues><ows:Range ows:rangeClosure=\"closed\">");
            if (io->has_min) nd_buf_printf(b, "<ows:MinimumValue>%.17g</ows:MinimumValue>", io->min);
            if (io->has_max) nd_buf_printf(b, "<ows:MaximumValue>%.17g</ows:MaximumValue>", io->max);
            nd_buf_puts(b, "</ows:Range></ows:AllowedValues>");
        } else {
            nd_buf_puts(b, "<ows:AnyValue/>");
        }
        if (io->def) {
            nd_buf_puts(b, "<DefaultValue>");
            nd_buf_put_xml(b, io->def);
            nd_buf_puts(b, "</DefaultValue>");
        }
    }
    nd_buf_printf(b, "</%s>", output ? "LiteralOutput" : "LiteralData");
}

static void describe_one(nd_buf *b, const nd_process *p) {
    nd_buf_printf(b, "<ProcessDescription wps:processVersion=\"%s\" storeSupported=\"%s\" statusSupported=\"%s\">",
                  p->version, p->async ? "true" : "false", p->async ? "true" : "false");
    ows_text(b, "Identifier", p->id);
    ows_text(b, "Title", p->title);
    ows_text(b, "Abstract", p->description);
    nd_buf_puts(b, "<DataInputs>");
    for (size_t i = 0; i < p->ninputs; i++) {
        const nd_io *io = &p->inputs[i];
        nd_buf_printf(b, "<Input minOccurs=\"%d\" maxOccurs=\"%d\">", io->min_occurs,
                      io->max_occurs > 0 ? io->max_occurs : 1);
        ows_text(b, "Identifier", io->id);
        ows_text(b, "Title", io->title);
        ows_text(b, "Abstract", io->description);
        if (io->type == ND_IO_COMPLEX) {
            nd_buf_printf(b, "<ComplexData maximumMegabytes=\"%g\">",
                          (io->max_bytes ? (double)io->max_bytes : 65536.0) / (1024.0 * 1024.0));
            formats(b, io);
            nd_buf_puts(b, "</ComplexData>");
        } else if (io->type == ND_IO_BBOX) {
            nd_buf_puts(b, "<BoundingBoxData><Default><CRS>EPSG:4326</CRS></Default><Supported><CRS>EPSG:4326</CRS>"
                           "<CRS>http://www.opengis.net/def/crs/OGC/1.3/CRS84</CRS></Supported></BoundingBoxData>");
        } else {
            literal(b, io, false);
        }
        nd_buf_puts(b, "</Input>");
    }
    nd_buf_puts(b, "</DataInputs><ProcessOutputs>");
    for (size_t i = 0; i < p->noutputs; i++) {
        const nd_io *io = &p->outputs[i];
        nd_buf_puts(b, "<Output>");
        ows_text(b, "Identifier", io->id);
        ows_text(b, "Title", io->title);
        ows_text(b, "Abstract", io->description);
        if (io->type == ND_IO_COMPLEX) {
            nd_buf_puts(b, "<ComplexOutput>");
            formats(b, io);
            nd_buf_puts(b, "</ComplexOutput>");
        } else if (io->type == ND_IO_BBOX) {
            nd_buf_puts(b, "<BoundingBoxOutput><Default><CRS>EPSG:4326</CRS></Default><Supported><CRS>EPSG:4326</CRS>"
                           "</Supported></BoundingBoxOutput>");
        } else {
            literal(b, io, true);
        }
        nd_buf_puts(b, "</Output>");
    }
    nd_buf_puts(b, "</ProcessOutputs></ProcessDescription>");
}

int wps10_describe(nd_req *rq, nd_resp *rs) {
    const nd_process **list;
    size_t n;
    int rc = wps_process_list(rq, &list, &n);
    if (rc < 0) return rc;
    nd_buf b = {0};
    wps_xml_head(&b);
    nd_buf_puts(&b, "<wps:ProcessDescriptions service=\"WPS\" version=\"1.0.0\" xml:lang=\"en-US\" " NS10
                    " xsi:schemaLocation=\"http://www.opengis.net/wps/1.0.0 "
                    "http://schemas.opengis.net/wps/1.0.0/wpsDescribeProcess_response.xsd\">");
    for (size_t i = 0; i < n; i++) describe_one(&b, list[i]);
    nd_buf_puts(&b, "</wps:ProcessDescriptions>\n");
    return wps_send_xml(rs, 200, &b);
}

/* ---------------------------------------------------------------- ExecuteResponse */

static void output_value(nd_req *rq, nd_buf *b, const char *job, const char *id, const json_t *o, bool as_ref,
                         const nd_io *io) {
    const char *file = json_string_value(json_object_get(o, "file"));
    const char *mt = json_string_value(json_object_get(o, "mediaType"));
    if (file || as_ref) {
        nd_buf_puts(b, "<wps:Reference href=\"");
        nd_buf_put_xml(b, nd_req_url(rq, nd_arena_printf(rq->arena, "/jobs/%s/results/%s", job, id)));
        nd_buf_puts(b, "\"");
        if (mt || io->type != ND_IO_COMPLEX) {
            nd_buf_puts(b, " mimeType=\"");
            nd_buf_put_xml(b, mt ? mt : "text/plain");
            nd_buf_puts(b, "\"");
        }
        nd_buf_puts(b, "/>");
        return;
    }
    const json_t *v = json_object_get(o, "value");
    if (io->type == ND_IO_BBOX) {
        nd_buf_puts(b, "<wps:Data>");
        wps_put_bbox(b, v, "wps:BoundingBoxData");
        nd_buf_puts(b, "</wps:Data>");
    } else if (io->type == ND_IO_COMPLEX) {
        nd_buf_puts(b, "<wps:Data><wps:ComplexData");
        if (mt) {
            nd_buf_puts(b, " mimeType=\"");
            nd_buf_put_xml(b, mt);
            nd_buf_puts(b, "\"");
        }
        nd_buf_puts(b, ">");
        wps_put_complex(b, v, mt);
        nd_buf_puts(b, "</wps:ComplexData></wps:Data>");
    } else {
        nd_buf_printf(b, "<wps:Data><wps:LiteralData dataType=\"%s\"", xs_type(io->type));
        if (io->uom) {
            nd_buf_puts(b, " uom=\"");
            nd_buf_put_xml(b, io->uom);
            nd_buf_puts(b, "\"");
        }
        nd_buf_puts(b, ">");
        wps_put_literal(b, v);
        nd_buf_puts(b, "</wps:LiteralData></wps:Data>");
    }
}

/* Inputs as the job holds them, repeated for lineage. */
static void lineage_inputs(nd_buf *b, const nd_process *p, const json_t *inputs) {
    nd_buf_puts(b, "<wps:DataInputs>");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)inputs, key, v) {
        nd_buf_puts(b, "<wps:Input>");
        ows_text(b, "Identifier", key);
        const nd_io *io = nd_process_input(p, key);
        if (io && io->type == ND_IO_COMPLEX && json_object_get(v, "href")) {
            nd_buf_puts(b, "<wps:Reference xlink:href=\"");
            nd_buf_put_xml(b, json_string_value(json_object_get(v, "href")));
            nd_buf_puts(b, "\"/>");
        } else if (io && io->type == ND_IO_COMPLEX) {
            nd_buf_puts(b, "<wps:Data><wps:ComplexData>");
            wps_put_literal(b, json_object_get(v, "value"));
            nd_buf_puts(b, "</wps:ComplexData></wps:Data>");
        } else if (io && io->type == ND_IO_BBOX) {
            nd_buf_puts(b, "<wps:Data>");
            wps_put_bbox(b, v, "wps:BoundingBoxData");
            nd_buf_puts(b, "</wps:Data>");
        } else {
            nd_buf_puts(b, "<wps:Data><wps:LiteralData>");
            wps_put_literal(b, v);
            nd_buf_puts(b, "</wps:LiteralData></wps:Data>");
        }
        nd_buf_puts(b, "</wps:Input>");
    }
    nd_buf_puts(b, "</wps:DataInputs>");
}

static const json_t *requested(const json_t *outs, const char *id) {
    size_t i;
    json_t *o;
    json_array_foreach((json_t *)outs, i, o) if (!strcmp(json_string_value(json_object_get(o, "id")), id)) return o;
    return NULL;
}

/* The ExecuteResponse of a job as it stands now; request is the job's stored request JSON. */
static int execute_response(nd_req *rq, nd_resp *rs, const nd_job_info *info, const json_t *request) {
    const nd_process *p = nd_process_find(info->process);
    if (!p) return nd_fail(&rq->err, ND_E_INTERNAL, "", "the job's process is no longer offered");
    nd_jobs *j = nd_app_jobs(rq->app);
    bool stored = json_is_true(json_object_get(request, "stored"));
    nd_buf b = {0};
    wps_xml_head(&b);
    nd_buf_puts(&b, "<wps:ExecuteResponse service=\"WPS\" version=\"1.0.0\" xml:lang=\"en-US\" " NS10
                    " xsi:schemaLocation=\"http://www.opengis.net/wps/1.0.0 "
                    "http://schemas.opengis.net/wps/1.0.0/wpsExecute_response.xsd\" serviceInstance=\"");
    nd_buf_put_xml(&b, nd_req_url(rq, "/wps?service=WPS&request=GetCapabilities&version=1.0.0"));
    nd_buf_puts(&b, "\"");
    if (stored) {
        nd_buf_puts(&b, " statusLocation=\"");
        nd_buf_put_xml(&b, nd_req_url(rq, nd_arena_printf(rq->arena, "/wps/jobs/%s", info->id)));
        nd_buf_puts(&b, "\"");
    }
    nd_buf_printf(&b, "><wps:Process wps:processVersion=\"%s\">", p->version);
    ows_text(&b, "Identifier", p->id);
    ows_text(&b, "Title", p->title);
    nd_buf_printf(&b, "</wps:Process><wps:Status creationTime=\"%s\">",
                  nd_processing_time(rq, info->updated > 0 ? info->updated : info->created));
    json_t *outs = NULL;
    switch (info->state) {
    case ND_JOB_ACCEPTED:
        nd_buf_puts(&b, "<wps:ProcessAccepted>");
        nd_buf_put_xml(&b, info->message);
        nd_buf_puts(&b, "</wps:ProcessAccepted>");
        break;
    case ND_JOB_RUNNING:
        nd_buf_printf(&b, "<wps:ProcessStarted percentCompleted=\"%d\">", info->progress);
        nd_buf_put_xml(&b, info->message);
        nd_buf_puts(&b, "</wps:ProcessStarted>");
        break;
    case ND_JOB_SUCCESSFUL: {
        nd_error err = {0};
        if (nd_jobs_results(j, info->id, &outs, &err) < 0) outs = NULL;
        nd_buf_puts(&b, "<wps:ProcessSucceeded>The process finished successfully</wps:ProcessSucceeded>");
        break;
    }
    default:
        nd_buf_puts(&b, "<wps:ProcessFailed><ows:ExceptionReport version=\"1.0.0\"><ows:Exception "
                        "exceptionCode=\"NoApplicableCode\"><ows:ExceptionText>");
        nd_buf_put_xml(&b, info->message);
        nd_buf_puts(&b, "</ows:ExceptionText></ows:Exception></ows:ExceptionReport></wps:ProcessFailed>");
        break;
    }
    nd_buf_puts(&b, "</wps:Status>");
    const json_t *wanted = json_object_get(request, "outputs");
    if (json_is_true(json_object_get(request, "lineage"))) {
        json_t *in = NULL;
        char *f = j ? nd_jobs_file_path(j, info->id, "inputs.json") : NULL;
        if (f) in = json_load_file(f, 0, NULL);
        free(f);
        lineage_inputs(&b, p, json_object_get(in, "inputs"));
        json_decref(in);
        nd_buf_puts(&b, "<wps:OutputDefinitions>");
        size_t i;
        json_t *o;
        json_array_foreach((json_t *)wanted, i, o) {
            nd_buf_printf(&b, "<wps:Output asReference=\"%s\">",
                          json_is_true(json_object_get(o, "asReference")) ? "true" : "false");
            ows_text(&b, "Identifier", json_string_value(json_object_get(o, "id")));
            nd_buf_puts(&b, "</wps:Output>");
        }
        nd_buf_puts(&b, "</wps:OutputDefinitions>");
    }
    if (outs) {
        nd_buf_puts(&b, "<wps:ProcessOutputs>");
        for (size_t i = 0; i < p->noutputs; i++) {
            const nd_io *io = &p->outputs[i];
            const json_t *o = json_object_get(outs, io->id);
            const json_t *want = requested(wanted, io->id);
            if (!o || (json_array_size(wanted) && !want)) continue;
            nd_buf_puts(&b, "<wps:Output>");
            ows_text(&b, "Identifier", io->id);
            ows_text(&b, "Title", io->title);
            output_value(rq, &b, info->id, io->id, o, want && json_is_true(json_object_get(want, "asReference")), io);
            nd_buf_puts(&b, "</wps:Output>");
        }
        nd_buf_puts(&b, "</wps:ProcessOutputs>");
        json_decref(outs);
    }
    nd_buf_puts(&b, "</wps:ExecuteResponse>\n");
    return wps_send_xml(rs, 200, &b);
}

static int respond_for(nd_req *rq, nd_resp *rs, const char *id) {
    nd_jobs *j = nd_app_jobs(rq->app);
    if (!j) return nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "processing is not available on this server");
    nd_job_info info;
    int rc = nd_processing_job(rq, j, id, &info);
    if (rc < 0) return rc;
    json_t *request = info.request ? json_loads(info.request, 0, NULL) : NULL;
    if (!request) request = json_object();
    json_object_set_new(request, "stored", json_true());
    rc = execute_response(rq, rs, &info, request);
    json_decref(request);
    nd_job_info_clear(&info);
    return rc;
}

/* The statusLocation document: the ExecuteResponse as the job stands. */
int wps10_status(nd_req *rq, nd_resp *rs) { return respond_for(rq, rs, nd_req_param(rq, "jobId")); }

static int raw_output(nd_req *rq, nd_resp *rs, const char *id, const char *output) {
    nd_jobs *j = nd_app_jobs(rq->app);
    json_t *outs;
    int rc = nd_jobs_results(j, id, &outs, &rq->err);
    if (rc < 0) return rc;
    const json_t *o = json_object_get(outs, output);
    const char *file = json_string_value(json_object_get(o, "file"));
    const char *mt = json_string_value(json_object_get(o, "mediaType"));
    if (!o) rc = nd_fail(&rq->err, ND_E_INVALID_PARAM, "RawDataOutput", "the process gave no output '%s'", output);
    else if (file) rc = nd_processing_send_file(rq, rs, id, file, mt);
    else {
        nd_buf b = {0};
        const json_t *v = json_object_get(o, "value");
        if (json_is_string(v)) nd_buf_puts(&b, json_string_value(v));
        else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            nd_buf_puts(&b, s ? s : "");
            free(s);
        }
        nd_buf_free(&rs->body);
        rs->body = b;
        rs->status = 200;
        rs->content_type = mt ? nd_arena_strdup(rq->arena, mt) : json_is_string(v) ? "text/plain; charset=UTF-8" : "application/json";
        rs->cache_seconds = 0;
    }
    json_decref(outs);
    return rc;
}

int wps10_execute(nd_req *rq, nd_resp *rs, wps_exec *x) {
    char id[ND_JOB_ID_LEN + 1];
    if (x->raw) x->async = false; /* RawDataOutput is always answered directly */
    int rc = wps_submit(rq, x, "1.0.0", id);
    if (rc < 0) return rc;
    nd_jobs *j = nd_app_jobs(rq->app);
    if (!x->async) {
        if (nd_jobs_wait(j, id, rq->app->config->jobs.sync_timeout_s * 1000) != 0)
            return nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "the process did not finish in time; use storeExecuteResponse");
        if (x->raw) {
            nd_job_info info;
            if ((rc = nd_processing_job(rq, j, id, &info)) < 0) return rc;
            nd_job_state st = info.state;
            char msg[512];
            snprintf(msg, sizeof msg, "%s", info.message);
            nd_job_info_clear(&info);
            if (st != ND_JOB_SUCCESSFUL) return nd_fail(&rq->err, ND_E_INTERNAL, "", "the process failed: %s", msg);
            return raw_output(rq, rs, id, x->raw);
        }
    }
    nd_job_info info;
    if ((rc = nd_processing_job(rq, j, id, &info)) < 0) return rc;
    json_t *request = json_pack("{s:o, s:b, s:b}", "outputs", wps_outputs_json(x), "lineage", x->lineage, "stored",
                                x->async);
    rc = execute_response(rq, rs, &info, request);
    json_decref(request);
    nd_job_info_clear(&info);
    return rc;
}
