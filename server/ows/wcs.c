/* WCS front-end (being written). */
#include "nadir/app.h"

void nd_wcs_register(nd_app *app) { (void)app; }
