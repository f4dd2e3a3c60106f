/* The tile front-ends' entry points for others: WMTS KVP for the shared /ows endpoint, and `nadir seed`. */
#ifndef NADIR_WMTS_H
#define NADIR_WMTS_H

#include "nadir/http.h"

/* WMTS 1.0.0 KVP (GetCapabilities, GetTile, GetFeatureInfo); errors are meant for an OWS 1.1 ExceptionReport
 * (nd_ows_render_exception with ND_OWS_EXC_OWS11). */
int nd_wmts_kvp(nd_req *rq, nd_resp *rs);

/* Adds the tile layers of the WMS layers published since (nd_wms_publish); thread-safe. */
void nd_wmts_publish(void);

/* nadir seed -c FILE LAYER --zoom A-B [--bbox W,S,E,N] [--time T] [--style S] [--tms ID] [--format png|jpg]
 * (argv[0] is "seed"); renders every tile of the range into the cache with a progress bar on stderr. */
int nd_wmts_seed_main(int argc, char **argv);

#endif
