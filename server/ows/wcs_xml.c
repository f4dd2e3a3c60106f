/* WCS 2.0 XML POST requests (being written). */
#include "nadir/wcs.h"

int nd_wcs_xml_to_kvp(nd_req *rq, nd_error *err) { (void)rq; return nd_fail(err, ND_E_NOT_IMPLEMENTED, "body", "XML POST soon"); }
