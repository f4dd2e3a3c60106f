/* STAC front-end (being written). */
#include "nadir/app.h"

void nd_stac_register(nd_app *app) { (void)app; }
