/* WMTS front-end (being written). */
#include "nadir/app.h"

void nd_wmts_register(nd_app *app) { (void)app; }
