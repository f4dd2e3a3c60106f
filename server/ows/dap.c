/* OPeNDAP routes (being written). */
#include "nadir/app.h"

void nd_dap_register(nd_app *app) { (void)app; }
