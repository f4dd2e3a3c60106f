/* WMS front-end (being written). */
#include "nadir/app.h"

void nd_wms_register(nd_app *app) { (void)app; }
