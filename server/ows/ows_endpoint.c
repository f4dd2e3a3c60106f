/* The shared /ows endpoint: one URL for several OWS services, dispatched on SERVICE= (MapServer and GeoServer
 * publish this way, and clients configured with it expect WMS and WCS behind the same address). */
#include <string.h>
#include <strings.h>

#include "nadir/app.h"
#include "nadir/ows.h"
#include "nadir/wmts.h"

static const char *service_of(const nd_req *rq) {
    const char *s = nd_req_query(rq, "SERVICE");
    return s ? s : "";
}

static int ows(nd_req *rq, nd_resp *rs) {
    const char *s = service_of(rq);
    if (strcasecmp(s, "WMS") == 0) return nd_wms_handle(rq, rs);
    if (strcasecmp(s, "WCS") == 0) return nd_wcs_kvp(rq, rs);
    if (strcasecmp(s, "WMTS") == 0) return nd_wmts_kvp(rq, rs);
    if (!*s) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "service", "SERVICE is required (WMS, WMTS or WCS)");
    return nd_fail(&rq->err, ND_E_INVALID_PARAM, "service", "SERVICE must be WMS, WMTS or WCS");
}

/* Errors in the form of the service asked for: OWS 2.0 for WCS 2.0, OWS 1.1 for WMTS, else WMS's own. */
static void ows_error(nd_req *rq, nd_resp *rs) {
    const char *s = service_of(rq);
    nd_ows_render_exception(rq, rs, strcasecmp(s, "WCS") == 0    ? ND_OWS_EXC_OWS20
                                    : strcasecmp(s, "WMTS") == 0 ? ND_OWS_EXC_OWS11
                                                                 : ND_OWS_EXC_WMS);
}

void nd_ows_endpoint_register(nd_app *app) {
    nd_router_add(app->router, &(nd_route){"GET", "/ows", ows, "ows", "OWS services by SERVICE= (WMS, WMTS, WCS)", ows_error});
}
