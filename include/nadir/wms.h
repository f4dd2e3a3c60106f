/* Maps for the tile front-ends (WMTS, XYZ, OGC API Tiles): a tile is a GetMap of a 256x256 window in
 * EPSG:3857 or CRS:84, rendered by the WMS code with the layer's styles. */
#ifndef NADIR_WMS_H
#define NADIR_WMS_H

#include <stdbool.h>
#include <stddef.h>

#include "nadir/http.h"

typedef struct nd_map_query {
    const char *layer;            /* "dataset/variable" or "dataset/rgb", as in the WMS capabilities */
    const char *style;            /* a style name of the layer; NULL or "" for its default */
    const char *crs;              /* as GDAL takes it: "EPSG:3857", "OGC:CRS84" */
    double bbox[4];               /* minx, miny, maxx, maxy in easting/northing (x/y) order */
    int width, height;
    const char *format;           /* image/png, image/jpeg, image/webp or image/tiff */
    const char *time, *elevation; /* ISO 8601 instant / a level; NULL: latest time, first level */
    bool transparent;             /* no-data transparent (else white) */
} nd_map_query;

/* Renders q into rs (body, media type, status 200, cacheable); on error returns negative with rq->err set
 * (LayerNotDefined, StyleNotDefined, InvalidDimensionValue, ...). ncWMS style parameters of rq's query
 * (COLORSCALERANGE, PALETTE, ...) apply. */
int nd_wms_render(nd_req *rq, const nd_map_query *q, nd_resp *rs);
/* The WMS layer names, in capabilities order (built by nd_wms_register). */
size_t nd_wms_layer_count(void);
const char *nd_wms_layer_name(size_t i);
/* Adds the layers of a dataset published while serving (a job's output); thread-safe. Withdrawn datasets
 * (nd_registry_withdraw) lose their layers by themselves. */
struct nd_dataset;
void nd_wms_publish(const struct nd_dataset *ds);

#endif
