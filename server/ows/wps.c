/* WPS 1.0.0 and 2.0 at /wps: KVP (GET) and XML (POST) requests, parsed into one operation table behind
 * nd_ows_dispatch and one execute request; wps10.c and wps20.c write each version's documents. */
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/ows.h"
#include "wps.h"

#define MAX_INPUT_VALUES 1024

_Thread_local xmlDocPtr wps_post_doc;

static const char *const versions[] = {"2.0.0", "1.0.0", NULL};

static const char *const conformance[] = {
    "http://www.opengis.net/spec/WPS/2.0/conf/service/profile/basic-wps",
    "http://www.opengis.net/spec/WPS/2.0/conf/service/synchronous-wps",
    "http://www.opengis.net/spec/WPS/2.0/conf/service/asynchronous-wps",
    "http://www.opengis.net/spec/WPS/2.0/conf/service/dismiss",
    NULL,
};

static const nd_service service = {
    .id = "wps",
    .title = "Web Processing Service 2.0 / 1.0.0",
    .href = "/wps?SERVICE=WPS&REQUEST=GetCapabilities",
    .rel = "service",
    .type = "application/xml",
    .conformance = conformance,
};

/* ---------------------------------------------------------------- small XML helpers */

xmlNodePtr wps_child(xmlNodePtr n, const char *local) {
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, local)) return c;
    return NULL;
}

const char *wps_text(nd_req *rq, xmlNodePtr n) {
    if (!n) return "";
    xmlChar *t = xmlNodeGetContent(n);
    char *s = nd_arena_strdup(rq->arena, t ? (const char *)t : "");
    xmlFree(t);
    /* Identifiers and literals come indented in hand-written documents. */
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t' || s[len - 1] == '\r')) s[--len] = 0;
    return s;
}

const char *wps_attr(nd_req *rq, xmlNodePtr n, const char *name) {
    if (!n) return NULL;
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v) {
        /* xlink:href and friends: any namespace. */
        for (xmlAttrPtr a = n->properties; a && !v; a = a->next)
            if (!strcmp((const char *)a->name, name)) v = xmlNodeGetContent((xmlNodePtr)a);
    }
    if (!v) return NULL;
    char *s = nd_arena_strdup(rq->arena, (const char *)v);
    xmlFree(v);
    return s;
}

void wps_xml_head(nd_buf *b) { nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"); }

void wps_put_literal(nd_buf *b, const json_t *v) {
    char num[64];
    if (json_is_string(v)) nd_buf_put_xml(b, json_string_value(v));
    else if (json_is_integer(v)) nd_buf_printf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        nd_buf_puts(b, num);
    } else if (json_is_boolean(v)) nd_buf_puts(b, json_is_true(v) ? "true" : "false");
    else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        nd_buf_put_xml(b, s ? s : "");
        free(s);
    }
}

void wps_put_complex(nd_buf *b, const json_t *v, const char *media_type) {
    const char *s = json_string_value(v);
    if (s && media_type && strstr(media_type, "xml") && !strstr(s, "<!")) {
        /* Parsed again (no DTD, entities or network) so only well-formed XML goes in unescaped. */
        xmlDocPtr doc = xmlReadMemory(s, (int)strnlen(s, INT32_MAX), "value.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
        if (root) {
            xmlBufferPtr buf = xmlBufferCreate();
            xmlNodeDump(buf, doc, root, 0, 0);
            nd_buf_puts(b, (const char *)xmlBufferContent(buf));
            xmlBufferFree(buf);
            xmlFreeDoc(doc);
            return;
        }
        if (doc) xmlFreeDoc(doc);
    }
    wps_put_literal(b, v);
}

void wps_put_bbox(nd_buf *b, const json_t *v, const char *element) {
    const json_t *bb = json_object_get(v, "bbox");
    const char *crs = json_string_value(json_object_get(v, "crs"));
    nd_buf_printf(b, "<%s crs=\"", element);
    nd_buf_put_xml(b, crs ? crs : "http://www.opengis.net/def/crs/OGC/1.3/CRS84");
    nd_buf_printf(b, "\" dimensions=\"2\"><ows:LowerCorner>%.17g %.17g</ows:LowerCorner><ows:UpperCorner>%.17g %.17g"
                     "</ows:UpperCorner></%s>",
                  json_number_value(json_array_get(bb, 0)), json_number_value(json_array_get(bb, 1)),
                  json_number_value(json_array_get(bb, 2)), json_number_value(json_array_get(bb, 3)), element);
}

int wps_send_xml(nd_resp *rs, int status, nd_buf *b) {
    nd_buf_free(&rs->body);
    rs->body = *b;
    *b = (nd_buf){0};
    rs->status = status;
    rs->content_type = "application/xml; charset=UTF-8";
    rs->compressible = true;
    rs->cache_seconds = 0;
    return 0;
}

/* ---------------------------------------------------------------- execute requests */

void wps_exec_clear(wps_exec *x) {
    json_decref(x->inputs);
    x->inputs = NULL;
}

static bool truthy(const char *s) { return s && (!strcasecmp(s, "true") || !strcmp(s, "1")); }

/* Adds a value under id; a repeated id becomes an array. */
static int add_input(nd_req *rq, wps_exec *x, const char *id, json_t *v) {
    if (json_object_size(x->inputs) >= MAX_INPUT_VALUES) {
        json_decref(v);
        return nd_fail(&rq->err, ND_E_TOO_LARGE, "DataInputs", "too many inputs");
    }
    json_t *prev = json_object_get(x->inputs, id);
    if (!prev) json_object_set_new(x->inputs, id, v);
    else if (json_is_array(prev)) /* the parser only makes strings and objects: an array is ours */
        json_array_append_new(prev, v);
    else json_object_set_new(x->inputs, id, json_pack("[O, o]", prev, v));
    return 0;
}

/* A complex value: JSON documents stay JSON, the rest is text. */
static json_t *complex_value(const char *text, const char *mime) {
    json_t *v = NULL;
    if (!mime && text[0] == '<') mime = "text/xml";
    if (!mime || strstr(mime, "json")) v = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!v) v = json_string(text);
    return json_pack("{s:o, s:s?}", "value", v, "mediaType", mime);
}

/* "x y" corner pairs into a bbox value. */
static json_t *bbox_value(nd_req *rq, xmlNodePtr box) {
    double lo[2], hi[2];
    const char *l = wps_text(rq, wps_child(box, "LowerCorner")), *u = wps_text(rq, wps_child(box, "UpperCorner"));
    if (sscanf(l, "%lf %lf", &lo[0], &lo[1]) != 2 || sscanf(u, "%lf %lf", &hi[0], &hi[1]) != 2) return NULL;
    const char *crs = wps_attr(rq, box, "crs");
    return json_pack("{s:[f,f,f,f], s:s?}", "bbox", lo[0], lo[1], hi[0], hi[1], "crs", crs);
}

/* The inner content of a Data element: child elements serialised, else its text. */
static const char *inner_xml(nd_req *rq, xmlNodePtr n) {
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        xmlBufferPtr buf = xmlBufferCreate();
        xmlNodeDump(buf, n->doc, c, 0, 0);
        char *s = nd_arena_strdup(rq->arena, (const char *)xmlBufferContent(buf));
        xmlBufferFree(buf);
        return s;
    }
    return wps_text(rq, n);
}

/* One <wps:Input> of either version. */
static int parse_input(nd_req *rq, wps_exec *x, xmlNodePtr in, bool v2) {
    const char *id = v2 ? wps_attr(rq, in, "id") : wps_text(rq, wps_child(in, "Identifier"));
    if (!id || !*id) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "Input", "an input has no identifier");
    const nd_io *io = nd_process_input(x->process, id);
    if (!io) return nd_fail(&rq->err, ND_E_INVALID_PARAM, id, "process '%s' has no input '%s'", x->process->id, id);
    xmlNodePtr ref = wps_child(in, "Reference"), data = wps_child(in, "Data");
    if (ref) {
        const char *href = wps_attr(rq, ref, "href");
        return add_input(rq, x, id, json_pack("{s:s, s:s?}", "href", href ? href : "", "mediaType",
                                              wps_attr(rq, ref, "mimeType")));
    }
    if (!data) return nd_fail(&rq->err, ND_E_MISSING_PARAM, id, "input '%s' has neither Data nor Reference", id);
    if (!v2) {
        xmlNodePtr lit = wps_child(data, "LiteralData"), cx = wps_child(data, "ComplexData"),
                   bb = wps_child(data, "BoundingBoxData");
        if (bb || (io->type == ND_IO_BBOX && !lit)) {
            json_t *v = bb ? bbox_value(rq, bb) : NULL;
            if (!v) return nd_fail(&rq->err, ND_E_INVALID_PARAM, id, "input '%s' must be a BoundingBoxData", id);
            return add_input(rq, x, id, v);
        }
        if (cx) return add_input(rq, x, id, complex_value(inner_xml(rq, cx), wps_attr(rq, cx, "mimeType")));
        if (lit) return add_input(rq, x, id, json_string(wps_text(rq, lit)));
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, id, "input '%s' has no LiteralData, ComplexData or BoundingBoxData", id);
    }
    xmlNodePtr bb = wps_child(data, "BoundingBox");
    if (bb || io->type == ND_IO_BBOX) {
        json_t *v = bb ? bbox_value(rq, bb) : NULL;
        if (!v) return nd_fail(&rq->err, ND_E_INVALID_PARAM, id, "input '%s' must be an ows:BoundingBox", id);
        return add_input(rq, x, id, v);
    }
    xmlNodePtr lit = wps_child(data, "LiteralValue");
    if (io->type == ND_IO_COMPLEX)
        return add_input(rq, x, id, complex_value(inner_xml(rq, data), wps_attr(rq, data, "mimeType")));
    return add_input(rq, x, id, json_string(wps_text(rq, lit ? lit : data)));
}

static int add_output(nd_req *rq, wps_exec *x, const char *id, bool as_ref, const char *mime) {
    if (!nd_process_output(x->process, id))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ResponseForm", "process '%s' has no output '%s'", x->process->id, id);
    if (x->noutputs == WPS_MAX_OUTPUTS)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ResponseForm", "too many outputs asked for");
    x->outputs[x->noutputs++] = (wps_output_req){id, as_ref, mime};
    return 0;
}

static int parse_execute_xml(nd_req *rq, wps_exec *x, xmlNodePtr root, bool v2) {
    if (!v2) {
        xmlNodePtr inputs = wps_child(root, "DataInputs");
        for (xmlNodePtr in = inputs ? inputs->children : NULL; in; in = in->next)
            if (in->type == XML_ELEMENT_NODE && !strcmp((const char *)in->name, "Input") && parse_input(rq, x, in, false) < 0)
                return -(int)rq->err.code;
        xmlNodePtr form = wps_child(root, "ResponseForm");
        xmlNodePtr doc = wps_child(form, "ResponseDocument"), raw = wps_child(form, "RawDataOutput");
        if (raw) {
            x->raw = wps_text(rq, wps_child(raw, "Identifier"));
            return add_output(rq, x, x->raw, false, wps_attr(rq, raw, "mimeType"));
        }
        if (doc) {
            x->async = truthy(wps_attr(rq, doc, "storeExecuteResponse"));
            x->status = truthy(wps_attr(rq, doc, "status"));
            x->lineage = truthy(wps_attr(rq, doc, "lineage"));
            for (xmlNodePtr o = doc->children; o; o = o->next)
                if (o->type == XML_ELEMENT_NODE && !strcmp((const char *)o->name, "Output") &&
                    add_output(rq, x, wps_text(rq, wps_child(o, "Identifier")), truthy(wps_attr(rq, o, "asReference")),
                               wps_attr(rq, o, "mimeType")) < 0)
                    return -(int)rq->err.code;
        }
        return 0;
    }
    for (xmlNodePtr in = root->children; in; in = in->next)
        if (in->type == XML_ELEMENT_NODE && !strcmp((const char *)in->name, "Input") && parse_input(rq, x, in, true) < 0)
            return -(int)rq->err.code;
    const char *mode = wps_attr(rq, root, "mode"), *response = wps_attr(rq, root, "response");
    if (mode && strcmp(mode, "sync") && strcmp(mode, "async") && strcmp(mode, "auto"))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "mode", "mode must be sync, async or auto");
    if (response && strcmp(response, "document") && strcmp(response, "raw"))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "response", "response must be document or raw");
    x->async = mode && !strcmp(mode, "async");
    for (xmlNodePtr o = root->children; o; o = o->next) {
        if (o->type != XML_ELEMENT_NODE || strcmp((const char *)o->name, "Output")) continue;
        const char *tr = wps_attr(rq, o, "transmission");
        if (add_output(rq, x, wps_attr(rq, o, "id") ? wps_attr(rq, o, "id") : "", tr && !strcmp(tr, "reference"),
                       wps_attr(rq, o, "mimeType")) < 0)
            return -(int)rq->err.code;
    }
    if (response && !strcmp(response, "raw")) {
        if (x->noutputs > 1) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "response", "raw takes a single output");
        x->raw = x->noutputs ? x->outputs[0].id : "";
    }
    return 0;
}

/* KVP: DataInputs=a=1;b=x@mimeType=text/plain, ResponseDocument=a@asReference=true;b, RawDataOutput=a. */
static int parse_execute_kvp(nd_req *rq, wps_exec *x) {
    const char *di = nd_req_query(rq, "DataInputs");
    if (di) {
        char *s = nd_arena_strdup(rq->arena, di), *save = NULL;
        for (char *item = strtok_r(s, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(item, '=');
            if (!eq) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "DataInputs", "DataInputs items are id=value");
            *eq = '\0';
            const char *id = item;
            char *value = eq + 1, *at = strchr(value, '@');
            const char *mime = NULL;
            if (at) {
                *at = '\0';
                for (char *attr = at + 1; attr && *attr;) {
                    char *next = strchr(attr, '@');
                    if (next) *next++ = '\0';
                    if (!strncasecmp(attr, "mimeType=", 9)) mime = attr + 9;
                    attr = next;
                }
            }
            const nd_io *io = nd_process_input(x->process, id);
            if (!io) return nd_fail(&rq->err, ND_E_INVALID_PARAM, id, "process '%s' has no input '%s'", x->process->id, id);
            json_t *v = io->type == ND_IO_COMPLEX ? complex_value(value, mime) : json_string(value);
            if (add_input(rq, x, id, v) < 0) return -(int)rq->err.code;
        }
    }
    const char *raw = nd_req_query(rq, "RawDataOutput");
    const char *doc = nd_req_query(rq, "ResponseDocument");
    const char *list = raw ? raw : doc;
    if (list) {
        char *s = nd_arena_strdup(rq->arena, list), *save = NULL;
        for (char *item = strtok_r(s, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
            char *at = strchr(item, '@');
            bool ref = false;
            const char *mime = NULL;
            if (at) {
                *at = '\0';
                for (char *attr = at + 1; attr && *attr;) {
                    char *next = strchr(attr, '@');
                    if (next) *next++ = '\0';
                    if (!strncasecmp(attr, "asReference=", 12)) ref = truthy(attr + 12);
                    else if (!strncasecmp(attr, "mimeType=", 9)) mime = attr + 9;
                    attr = next;
                }
            }
            if (add_output(rq, x, item, ref, mime) < 0) return -(int)rq->err.code;
        }
        if (raw) x->raw = x->outputs[0].id;
    }
    x->async = truthy(nd_req_query(rq, "storeExecuteResponse"));
    x->status = truthy(nd_req_query(rq, "status"));
    x->lineage = truthy(nd_req_query(rq, "lineage"));
    return 0;
}

int wps_parse_execute(nd_req *rq, wps_exec *x) {
    memset(x, 0, sizeof *x);
    xmlNodePtr root = wps_post_doc ? xmlDocGetRootElement(wps_post_doc) : NULL;
    const char *id = root ? wps_text(rq, wps_child(root, "Identifier")) : nd_req_query(rq, "Identifier");
    if (!id || !*id) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "Identifier", "Identifier is required");
    x->process = nd_process_find(id);
    if (!x->process) return nd_fail(&rq->err, ND_E_NO_SUCH_PROCESS, "Identifier", "there is no process with this id");
    x->inputs = json_object();
    bool v2 = rq->version && !strcmp(rq->version, "2.0.0");
    int rc = root ? parse_execute_xml(rq, x, root, v2) : parse_execute_kvp(rq, x);
    if (rc < 0) wps_exec_clear(x);
    return rc;
}

json_t *wps_outputs_json(const wps_exec *x) {
    json_t *a = json_array();
    for (size_t i = 0; i < x->noutputs; i++)
        json_array_append_new(a, json_pack("{s:s, s:b, s:s?}", "id", x->outputs[i].id, "asReference",
                                           x->outputs[i].as_reference, "mimeType", x->outputs[i].mime_type));
    return a;
}

int wps_submit(nd_req *rq, wps_exec *x, const char *version, char id[ND_JOB_ID_LEN + 1]) {
    nd_jobs *j = nd_app_jobs(rq->app);
    if (!j) return nd_fail(&rq->err, ND_E_UNAVAILABLE, "", "processing is not available on this server");
    if (nd_processing_may_submit(rq, j, x->process->id)) return -1;
    if (x->async && !x->process->async)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "mode", "this process does not run asynchronously");
    nd_process_limits lim = nd_processing_limits(rq);
    json_t *inputs = NULL;
    int rc = nd_process_check_inputs(x->process, x->inputs, &lim, &inputs, &rq->err);
    if (rc == 0) rc = nd_processing_may_read_inputs(rq, x->process, inputs);
    if (rc < 0) {
        json_decref(inputs);
        return rc;
    }
    json_t *request = json_pack("{s:s, s:o, s:b, s:b, s:s?}", "wps", version, "outputs", wps_outputs_json(x), "lineage",
                                x->lineage, "status", x->status, "raw", x->raw);
    rc = nd_jobs_submit(j, x->process->id, nd_auth_owner(rq), inputs, request, id, &rq->err);
    json_decref(inputs);
    json_decref(request);
    return rc;
}

int wps_process_list(nd_req *rq, const nd_process ***out, size_t *n) {
    const char *ids = nd_req_query(rq, "Identifier");
    if (!ids || !*ids) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "Identifier", "Identifier is required");
    const nd_process **list = nd_arena_alloc(rq->arena, (nd_process_count() + 64) * sizeof *list);
    *n = 0;
    if (!strcasecmp(ids, "ALL")) {
        for (size_t i = 0; i < nd_process_count(); i++)
            if (nd_auth_may(rq, ND_AUTH_PROCESS, nd_process_at(i)->id, ND_OP_EXECUTE)) list[(*n)++] = nd_process_at(i);
    } else {
        char *s = nd_arena_strdup(rq->arena, ids), *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            const nd_process *p = nd_process_find(t);
            if (!p) return nd_fail(&rq->err, ND_E_NO_SUCH_PROCESS, "Identifier", "there is no process with this id");
            if (*n < nd_process_count() + 64) list[(*n)++] = p;
        }
    }
    *out = list;
    return 0;
}

/* ---------------------------------------------------------------- operations */

static bool v2(nd_req *rq) { return rq->version && !strcmp(rq->version, "2.0.0"); }

static int op_capabilities(nd_req *rq, nd_resp *rs) { return v2(rq) ? wps20_capabilities(rq, rs) : wps10_capabilities(rq, rs); }
static int op_describe(nd_req *rq, nd_resp *rs) { return v2(rq) ? wps20_describe(rq, rs) : wps10_describe(rq, rs); }

static int op_execute(nd_req *rq, nd_resp *rs) {
    wps_exec x;
    int rc = wps_parse_execute(rq, &x);
    if (rc < 0) return rc;
    rc = v2(rq) ? wps20_execute(rq, rs, &x) : wps10_execute(rq, rs, &x);
    wps_exec_clear(&x);
    return rc;
}

static int only_v2(nd_req *rq) {
    return nd_fail(&rq->err, ND_E_NOT_IMPLEMENTED, "request", "this operation exists in WPS 2.0 only");
}
static int op_get_status(nd_req *rq, nd_resp *rs) { return v2(rq) ? wps20_get_status(rq, rs) : only_v2(rq); }
static int op_get_result(nd_req *rq, nd_resp *rs) { return v2(rq) ? wps20_get_result(rq, rs) : only_v2(rq); }
static int op_dismiss(nd_req *rq, nd_resp *rs) { return v2(rq) ? wps20_dismiss(rq, rs) : only_v2(rq); }

static const nd_ows_op ops[] = {
    {"GetCapabilities", op_capabilities, ND_OWS_POST},
    {"DescribeProcess", op_describe, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
    {"Execute", op_execute, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
    {"GetStatus", op_get_status, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
    {"GetResult", op_get_result, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
    {"Dismiss", op_dismiss, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
};

static const nd_ows_service wps = {"WPS", versions, ops, sizeof ops / sizeof ops[0], true};

static void render_error(nd_req *rq, nd_resp *rs) {
    nd_ows_render_exception(rq, rs, v2(rq) ? ND_OWS_EXC_OWS20 : ND_OWS_EXC_OWS11);
}

static int wps_get(nd_req *rq, nd_resp *rs) { return nd_ows_dispatch(&wps, rq, rs); }

/* An XML POST: parsed once without DTDs, entities or network, then the same KVP dispatch with
 * SERVICE/REQUEST/VERSION (and the ids of GetStatus/GetResult/Dismiss/DescribeProcess) from the document. */
static int wps_post(nd_req *rq, nd_resp *rs) {
    xmlDocPtr doc = nd_ows_xml_read(rq->body, rq->body_len, &rq->err);
    if (!doc) return -(int)rq->err.code;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const char *name = root ? (const char *)root->name : "";
    nd_kvlist_add(rq->arena, &rq->query_params, "REQUEST", name);
    const char *service = wps_attr(rq, root, "service"), *version = wps_attr(rq, root, "version");
    if (service) nd_kvlist_add(rq->arena, &rq->query_params, "SERVICE", service);
    if (version) nd_kvlist_add(rq->arena, &rq->query_params, "VERSION", version);
    if (!strcmp(name, "GetCapabilities")) {
        xmlNodePtr av = wps_child(root, "AcceptVersions");
        nd_buf b = {0};
        for (xmlNodePtr v = av ? av->children : NULL; v; v = v->next)
            if (v->type == XML_ELEMENT_NODE) nd_buf_printf(&b, "%s%s", b.len ? "," : "", wps_text(rq, v));
        if (b.len) nd_kvlist_add(rq->arena, &rq->query_params, "AcceptVersions", nd_arena_strdup(rq->arena, b.data));
        nd_buf_free(&b);
    }
    const char *id = wps_text(rq, wps_child(root, "JobID"));
    if (*id) nd_kvlist_add(rq->arena, &rq->query_params, "JobID", id);
    if (!strcmp(name, "DescribeProcess")) {
        nd_buf b = {0};
        for (xmlNodePtr c = root->children; c; c = c->next)
            if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "Identifier"))
                nd_buf_printf(&b, "%s%s", b.len ? "," : "", wps_text(rq, c));
        if (b.len) nd_kvlist_add(rq->arena, &rq->query_params, "Identifier", nd_arena_strdup(rq->arena, b.data));
        nd_buf_free(&b);
    }
    wps_post_doc = doc;
    int rc = nd_ows_dispatch(&wps, rq, rs);
    wps_post_doc = NULL;
    xmlFreeDoc(doc);
    return rc;
}

void nd_wps_register(nd_app *app) {
    nd_processing_start(app);
    static const nd_route routes[] = {
        {"GET", "/wps", wps_get, "wps", "WPS 1.0.0 / 2.0 (KVP)", render_error},
        {"POST", "/wps", wps_post, "wps", "WPS 1.0.0 / 2.0 (XML)", render_error},
        {"GET", "/wps/jobs/{jobId}", wps10_status, "wps", "WPS 1.0.0 status location of a stored execution",
         render_error},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
    nd_app_add_service(app, &service);
}
