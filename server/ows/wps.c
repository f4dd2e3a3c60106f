/* WPS 1.0.0 and 2.0 at /wps: KVP and XML POST into one operation table behind nd_ows_dispatch. */
#include "processing.h"

void nd_wps_register(nd_app *app) { nd_processing_start(app); }
