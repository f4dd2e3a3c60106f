/* OWS common: operation tables behind one dispatcher, exception reports, DAP error forms. */
#ifndef NADIR_OWS_H
#define NADIR_OWS_H

#include "nadir/http.h"

typedef enum {
    ND_OWS_EXC_WMS,   /* ServiceExceptionReport (WMS 1.1.1 / 1.3.0) */
    ND_OWS_EXC_OWS11, /* ows:ExceptionReport, OWS Common 1.1 (WMTS, WPS 1.0, WCS 1.1) */
    ND_OWS_EXC_OWS20, /* ows:ExceptionReport, OWS Common 2.0 (WCS 2.0, WPS 2.0) */
} nd_ows_exc_style;

enum {
    ND_OWS_NEEDS_VERSION = 1, /* the operation requires VERSION (all but GetCapabilities) */
    ND_OWS_POST = 2,          /* also accepted as an XML POST */
};

typedef struct nd_ows_op {
    const char *name;         /* "GetMap" (matched case-insensitively, as clients differ) */
    nd_handler fn;
    unsigned flags;
} nd_ows_op;

typedef struct nd_ows_service {
    const char *name;                /* "WMS" */
    const char *const *versions;     /* supported, newest first, NULL-terminated */
    const nd_ows_op *ops;
    size_t nops;
    bool service_optional;           /* a dedicated endpoint (/wms) may omit SERVICE= */
} nd_ows_service;

/* The generic checks done once for every operation (SERVICE, REQUEST, VERSION negotiation),
 * then the operation's handler. Sets rq->version. */
int nd_ows_dispatch(const nd_ows_service *svc, nd_req *rq, nd_resp *rs);
/* Picks the version for GetCapabilities from VERSION / AcceptVersions (OWS Common rules). */
const char *nd_ows_negotiate(const nd_ows_service *svc, const char *requested, const char *accept_versions);

/* Parses an XML request body (WPS, WCS POST) without network, entities or DTDs; a DOCTYPE in any encoding is
 * refused (BAD_REQUEST) as soon as the parser meets it. NULL with err filled when refused or not well-formed. */
struct _xmlDoc *nd_ows_xml_read(const char *body, size_t len, nd_error *err);

/* Renders rq->err as the given exception report (XML, HTTP status from errors.def). */
void nd_ows_render_exception(nd_req *rq, nd_resp *rs, nd_ows_exc_style style);

/* WCS (2.0.1 and 1.0.0) for a KVP request, errors rendered the WCS way: what /ows?SERVICE=WCS calls. */
int nd_wcs_kvp(nd_req *rq, nd_resp *rs);
/* Adds the /ows route; called by nd_wms_register. */
struct nd_app;
void nd_ows_endpoint_register(struct nd_app *app);

/* Entry points of the OWS services behind the shared /ows endpoint (ows_endpoint.c), which dispatches on
 * SERVICE=. Each renders its own errors through its route's renderer; nd_wcs_kvp is defined by wcs.c. */
int nd_wms_handle(nd_req *rq, nd_resp *rs);
int nd_wcs_kvp(nd_req *rq, nd_resp *rs);
/* Adds the /ows route; called by nd_wms_register. */
struct nd_app;
void nd_ows_endpoint_register(struct nd_app *app);

/* DAP2 "Error { code = N; message = "..."; };" and the DAP4 <Error> document. */
void nd_dap2_render_error(nd_req *rq, nd_resp *rs);
void nd_dap4_render_error(nd_req *rq, nd_resp *rs);

#endif
