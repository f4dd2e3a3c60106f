/* Shared by the WPS front-end files: wps.c (routing, KVP and XML parsing into one execute request),
 * wps10.c (WPS 1.0.0 documents) and wps20.c (WPS 2.0 documents). */
#ifndef NADIR_OWS_WPS_H
#define NADIR_OWS_WPS_H

#include <libxml/tree.h>

#include "processing.h"

#define WPS_MAX_OUTPUTS 16

typedef struct wps_output_req {
    const char *id;
    bool as_reference;
    const char *mime_type;   /* NULL: the default */
} wps_output_req;

/* An Execute request, whatever form and version it came in. */
typedef struct wps_exec {
    const nd_process *process;
    json_t *inputs;          /* OGC API form {id: value}, owned */
    wps_output_req outputs[WPS_MAX_OUTPUTS];
    size_t noutputs;         /* 0: every output, by value */
    bool async;              /* 1.0: storeExecuteResponse; 2.0: mode=async */
    bool status;             /* 1.0: status updates in the stored document */
    bool lineage;            /* 1.0: inputs and output definitions repeated in the response */
    const char *raw;         /* 1.0 RawDataOutput id, or 2.0 response=raw ("" = the only output) */
} wps_exec;

/* The parsed XML POST body of this request (NULL for KVP). The handler thread owns it from
 * parsing to the end of the request, so a thread-local is enough. */
extern _Thread_local xmlDocPtr wps_post_doc;

/* Parsing (wps.c). */
int wps_parse_execute(nd_req *rq, wps_exec *x);
void wps_exec_clear(wps_exec *x);
/* The element's text, or "" (allocated in the request arena). */
const char *wps_text(nd_req *rq, xmlNodePtr n);
xmlNodePtr wps_child(xmlNodePtr n, const char *local);
const char *wps_attr(nd_req *rq, xmlNodePtr n, const char *name);
/* Submits x: validated inputs, a committed job; the request JSON keeps what the status documents need. */
int wps_submit(nd_req *rq, wps_exec *x, const char *version, char id[ND_JOB_ID_LEN + 1]);
/* Requested output definitions as stored in the job's request JSON. */
json_t *wps_outputs_json(const wps_exec *x);

/* Writers. */
void wps_xml_head(nd_buf *b);
void wps_put_literal(nd_buf *b, const json_t *v);
/* A complex value: a well-formed XML document of an XML media type is embedded as XML, the rest as text. */
void wps_put_complex(nd_buf *b, const json_t *v, const char *media_type);
/* A bbox value ({"bbox":[4], "crs":...}) as ows corners inside the given element
 * ("wps:BoundingBoxData" for 1.0.0, "ows:BoundingBox" for 2.0). */
void wps_put_bbox(nd_buf *b, const json_t *v, const char *element);
int wps10_capabilities(nd_req *rq, nd_resp *rs);
int wps10_describe(nd_req *rq, nd_resp *rs);
int wps10_execute(nd_req *rq, nd_resp *rs, wps_exec *x);
int wps10_status(nd_req *rq, nd_resp *rs);
int wps20_capabilities(nd_req *rq, nd_resp *rs);
int wps20_describe(nd_req *rq, nd_resp *rs);
int wps20_execute(nd_req *rq, nd_resp *rs, wps_exec *x);
int wps20_get_status(nd_req *rq, nd_resp *rs);
int wps20_get_result(nd_req *rq, nd_resp *rs);
int wps20_dismiss(nd_req *rq, nd_resp *rs);
/* The identifiers named by a DescribeProcess (comma list, or "ALL"); NO_SUCH_PROCESS for unknown ones. */
int wps_process_list(nd_req *rq, const nd_process ***out, size_t *n);
/* A finished response body of XML. */
int wps_send_xml(nd_resp *rs, int status, nd_buf *b);

#endif
