/* WCS 1.0.0 (being written). */
#include "nadir/wcs.h"

int nd_wcs10_capabilities(nd_req *rq, nd_resp *rs) { (void)rs; return nd_fail(&rq->err, ND_E_NOT_IMPLEMENTED, "version", "1.0.0 soon"); }
int nd_wcs10_describe(nd_req *rq, nd_resp *rs) { (void)rs; return nd_fail(&rq->err, ND_E_NOT_IMPLEMENTED, "version", "1.0.0 soon"); }
int nd_wcs10_getcoverage(nd_req *rq, nd_resp *rs) { (void)rs; return nd_fail(&rq->err, ND_E_NOT_IMPLEMENTED, "version", "1.0.0 soon"); }
