/* Tile matrix set arithmetic for WebMercatorQuad and WorldCRS84Quad (OGC 17-083r4 annex D). */
#include "nadir/tms.h"

#include <math.h>
#include <strings.h>

#define MERC_E 20037508.3427892430765884 /* pi * 6378137 */
#define DEG_M (6378137.0 * 2.0 * M_PI / 360.0) /* metres per degree on the WGS84 semi-major axis */
#define PIXEL_M 0.00028                  /* the standardized rendering pixel (WMTS 1.0, 6.1) */

static const nd_tms sets[] = {
    {"WebMercatorQuad", "Google Maps Compatible for the World", "EPSG:3857",
     "http://www.opengis.net/def/crs/EPSG/0/3857", "urn:ogc:def:crs:EPSG::3857",
     "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible", "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
     -MERC_E, MERC_E, 2 * MERC_E, 1, 1, 1.0},
    /* TMS 2.0 WorldCRS84Quad: two 180-degree tiles at zoom 0, CRS84 is lon/lat so x/y order holds */
    {"WorldCRS84Quad", "CRS84 for the World", "OGC:CRS84", "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
     "urn:ogc:def:crs:OGC:1.3:CRS84", NULL, "http://www.opengis.net/def/tilematrixset/OGC/1.0/WorldCRS84Quad",
     -180.0, 90.0, 180.0, 2, 1, DEG_M},
};

int nd_tms_count(void) { return (int)(sizeof sets / sizeof sets[0]); }

const nd_tms *nd_tms_at(int i) { return i >= 0 && i < nd_tms_count() ? &sets[i] : NULL; }

const nd_tms *nd_tms_get(const char *id) {
    if (!id) return NULL;
    if (strcasecmp(id, "GoogleMapsCompatible") == 0) return &sets[0];
    for (int i = 0; i < nd_tms_count(); i++)
        if (strcasecmp(id, sets[i].id) == 0) return &sets[i];
    return NULL;
}

void nd_tms_matrix_size(const nd_tms *t, int z, long *width, long *height) {
    *width = (long)t->w0 << z;
    *height = (long)t->h0 << z;
}

double nd_tms_resolution(const nd_tms *t, int z) { return t->span0 / ND_TMS_TILE_SIZE / (double)(1L << z); }

double nd_tms_scale_denominator(const nd_tms *t, int z) { return nd_tms_resolution(t, z) * t->meters_per_unit / PIXEL_M; }

bool nd_tms_tile_bbox(const nd_tms *t, int z, long row, long col, double bbox[4]) {
    if (z < 0 || z > ND_TMS_MAX_ZOOM) return false;
    long w, h;
    nd_tms_matrix_size(t, z, &w, &h);
    if (row < 0 || col < 0 || row >= h || col >= w) return false;
    double span = t->span0 / (double)(1L << z);
    bbox[0] = t->origin_x + (double)col * span;
    bbox[2] = t->origin_x + (double)(col + 1) * span;
    bbox[3] = t->origin_y - (double)row * span;
    bbox[1] = t->origin_y - (double)(row + 1) * span;
    return true;
}

void nd_tms_from_lonlat(const nd_tms *t, double lon, double lat, double *x, double *y) {
    if (t != &sets[0]) {
        *x = lon;
        *y = lat;
        return;
    }
    const double maxlat = 85.0511287798066;
    if (lat > maxlat) lat = maxlat;
    if (lat < -maxlat) lat = -maxlat;
    *x = lon * MERC_E / 180.0;
    *y = log(tan(M_PI / 4 + lat * M_PI / 360.0)) * 6378137.0;
}

static long clampl(long v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : v; }

void nd_tms_tile_range(const nd_tms *t, int z, const double wgs84[4], long *minrow, long *maxrow, long *mincol,
                       long *maxcol) {
    long w, h;
    nd_tms_matrix_size(t, z, &w, &h);
    double x0, y0, x1, y1;
    double west = wgs84[0], east = wgs84[2];
    if (west > east) west = -180, east = 180; /* crossing the antimeridian: the whole width */
    nd_tms_from_lonlat(t, west, wgs84[1], &x0, &y0);
    nd_tms_from_lonlat(t, east, wgs84[3], &x1, &y1);
    double span = t->span0 / (double)(1L << z);
    /* a small epsilon keeps an edge that falls exactly on a tile border out of the next tile */
    const double eps = span * 1e-9;
    *mincol = clampl((long)floor((x0 - t->origin_x) / span + 1e-9), 0, w - 1);
    *maxcol = clampl((long)floor((x1 - t->origin_x - eps) / span), 0, w - 1);
    *minrow = clampl((long)floor((t->origin_y - y1) / span + 1e-9), 0, h - 1);
    *maxrow = clampl((long)floor((t->origin_y - y0 - eps) / span), 0, h - 1);
}

/* TMS 2.0 members, plus the TMS 1.0 ones (identifier, boundingBox, topLeftCorner) that GDAL before 3.7
 * reads: clients of either version find what they need. */
void nd_tms_json(const nd_tms *t, nd_buf *out) {
    long w0, h0;
    nd_tms_matrix_size(t, 0, &w0, &h0);
    double maxx = t->origin_x + t->span0 * (double)w0, miny = t->origin_y - t->span0 * (double)h0;
    nd_buf_printf(out,
                  "{\"id\":\"%s\",\"title\":\"%s\",\"uri\":\"%s\",\"crs\":\"%s\",\"orderedAxes\":[\"%s\",\"%s\"],"
                  "\"type\":\"TileMatrixSetType\",\"identifier\":\"%s\",\"supportedCRS\":\"%s\","
                  "\"boundingBox\":{\"type\":\"BoundingBoxType\",\"crs\":\"%s\",\"lowerCorner\":[%.17g,%.17g],"
                  "\"upperCorner\":[%.17g,%.17g]},",
                  t->id, t->title, t->uri, t->crs_uri, t->w0 == 1 ? "X" : "Lon", t->w0 == 1 ? "Y" : "Lat", t->id,
                  t->crs_uri, t->crs_uri, t->origin_x, miny, maxx, t->origin_y);
    if (t->wkss) nd_buf_puts(out, "\"wellKnownScaleSet\":\"http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible\",");
    nd_buf_puts(out, "\"tileMatrices\":[");
    for (int z = 0; z <= ND_TMS_MAX_ZOOM; z++) {
        long w, h;
        nd_tms_matrix_size(t, z, &w, &h);
        nd_buf_printf(out,
                      "%s{\"id\":\"%d\",\"identifier\":\"%d\",\"scaleDenominator\":%.17g,\"cellSize\":%.17g,"
                      "\"cornerOfOrigin\":\"topLeft\",\"pointOfOrigin\":[%.17g,%.17g],\"topLeftCorner\":[%.17g,%.17g],"
                      "\"tileWidth\":%d,\"tileHeight\":%d,\"matrixWidth\":%ld,\"matrixHeight\":%ld}",
                      z ? "," : "", z, z, nd_tms_scale_denominator(t, z), nd_tms_resolution(t, z), t->origin_x,
                      t->origin_y, t->origin_x, t->origin_y, ND_TMS_TILE_SIZE, ND_TMS_TILE_SIZE, w, h);
    }
    nd_buf_puts(out, "]}");
}
