/* Shared by the tile front-ends (wmts.c: routes and tiles; wmts_caps.c: capabilities and tile set
 * documents): the tile layer table built from the WMS layers. */
#ifndef NADIR_WMTS_PRIV_H
#define NADIR_WMTS_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "nadir/app.h"
#include "nadir/tms.h"

typedef struct wmts_layer {
    const char *name;           /* the WMS name, "dataset/variable" */
    char *safe;                 /* the same with ':' for '/', usable in a path segment */
    const nd_dataset *ds;
    bool has_time, has_z;       /* the layer's variable spans the time / vertical axis: Time / Elevation dimensions */
    const char *styles[8];      /* configured styles offering the layer, besides "default" */
    size_t nstyles;
    char *style_conf;           /* those styles' settings as text, for the cache fingerprint */
    uint64_t fingerprint;       /* of the sources and style_conf, recomputed at most once a second */
    time_t fingerprint_at;
} wmts_layer;

/* Looks a layer up by either name form; NULL when unknown. */
const wmts_layer *wmts_layer_find(const char *name);
size_t wmts_layer_count(void);
const wmts_layer *wmts_layer_at(size_t i);

/* The layer shown by a collection's map tiles: ?variable= or the dataset's first layer. */
const wmts_layer *wmts_collection_layer(nd_req *rq, const char *id);

/* GetCapabilities (KVP and the REST document). */
int wmts_capabilities(nd_req *rq, nd_resp *rs);
/* OGC API Tiles documents: /tileMatrixSets, /tileMatrixSets/{id}, /collections/{id}/map/tiles[/{tms}]. */
int wmts_api_tms_list(nd_req *rq, nd_resp *rs);
int wmts_api_tms(nd_req *rq, nd_resp *rs);
int wmts_api_tilesets(nd_req *rq, nd_resp *rs);
int wmts_api_tileset(nd_req *rq, nd_resp *rs);

#endif
