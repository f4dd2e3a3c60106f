/* The shared /ows endpoint: one URL for several OWS services, dispatched on SERVICE= (MapServer and GeoServer
 * publish this way, and clients configured with it expect WMS and WCS behind the same address). */
#include <string.h>
#include <strings.h>

#include "nadir/app.h"
#include "nadir/ows.h"

/* Weak: the WCS front-end defines it; until it does, WCS on /ows answers OperationNotSupported. */
__attribute__((weak)) int nd_wcs_kvp(nd_req *rq, nd_resp *rs) {
    (void)rs;
    return nd_fail(&rq->err, ND_E_NOT_IMPLEMENTED, "service", "WCS is not available on this endpoint");
}

static const char *service_of(const nd_req *rq) {
    const char *s = nd_req_query(rq, "SERVICE");
    return s ? s : "";
}

static int ows(nd_req *rq, nd_resp *rs) {
    const char *s = service_of(rq);
    if (strcasecmp(s, "WMS") == 0) return nd_wms_handle(rq, rs);
    if (strcasecmp(s, "WCS") == 0) return nd_wcs_kvp(rq, rs);
    if (!*s) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "service", "SERVICE is required (WMS or WCS)");
    return nd_fail(&rq->err, ND_E_INVALID_PARAM, "service", "SERVICE must be WMS or WCS");
}

/* Errors in the form of the service asked for: WMS ServiceExceptionReport, else OWS 2.0 (WCS 2.0). */
static void ows_error(nd_req *rq, nd_resp *rs) {
    nd_ows_render_exception(rq, rs, strcasecmp(service_of(rq), "WCS") == 0 ? ND_OWS_EXC_OWS20 : ND_OWS_EXC_WMS);
}

void nd_ows_endpoint_register(nd_app *app) {
    nd_router_add(app->router, &(nd_route){"GET", "/ows", ows, "ows", "OWS services by SERVICE= (WMS, WCS)", ows_error});
}
