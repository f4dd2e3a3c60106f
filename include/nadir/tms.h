/* The two tile matrix sets the tile front-ends offer (OGC TMS 2.0 WebMercatorQuad and WorldCRS84Quad):
 * tile <-> window arithmetic, scale denominators and their JSON documents. */
#ifndef NADIR_TMS_H
#define NADIR_TMS_H

#include <stdbool.h>

#include "nadir/arena.h"

#define ND_TMS_TILE_SIZE 256
#define ND_TMS_MAX_ZOOM 18

typedef struct nd_tms {
    const char *id;           /* "WebMercatorQuad" */
    const char *title;
    const char *crs_gdal;     /* as nd_wms_render takes it: "EPSG:3857", "OGC:CRS84" */
    const char *crs_uri;      /* "http://www.opengis.net/def/crs/EPSG/0/3857" */
    const char *crs_urn;      /* "urn:ogc:def:crs:EPSG::3857" (WMTS 1.0 SupportedCRS) */
    const char *wkss;         /* WMTS 1.0 WellKnownScaleSet URN, or NULL */
    const char *uri;          /* OGC TMS registry URI */
    double origin_x, origin_y; /* top-left corner, x/y order */
    double span0;             /* width of one tile at zoom 0, CRS units */
    int w0, h0;               /* matrix size at zoom 0 */
    double meters_per_unit;   /* for scale denominators */
} nd_tms;

/* By identifier, case-insensitive ("GoogleMapsCompatible" is WebMercatorQuad); NULL when unknown. */
const nd_tms *nd_tms_get(const char *id);
/* The sets in the order they are advertised; n of them. */
const nd_tms *nd_tms_at(int i);
int nd_tms_count(void);

void nd_tms_matrix_size(const nd_tms *t, int z, long *width, long *height);
double nd_tms_resolution(const nd_tms *t, int z);
double nd_tms_scale_denominator(const nd_tms *t, int z);
/* The window of tile (z, row, col) in x/y order; false when outside the matrix set. */
bool nd_tms_tile_bbox(const nd_tms *t, int z, long row, long col, double bbox[4]);
/* The tiles touching a lon/lat window (clamped to the set): rows and columns, inclusive. */
void nd_tms_tile_range(const nd_tms *t, int z, const double wgs84[4], long *minrow, long *maxrow, long *mincol,
                       long *maxcol);
/* lon/lat to the set's CRS (Web Mercator clamps latitudes at +-85.0511). */
void nd_tms_from_lonlat(const nd_tms *t, double lon, double lat, double *x, double *y);
/* The OGC Two Dimensional Tile Matrix Set 2.0 JSON document, up to ND_TMS_MAX_ZOOM. */
void nd_tms_json(const nd_tms *t, nd_buf *out);

#endif
