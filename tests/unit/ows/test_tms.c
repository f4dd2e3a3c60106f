/* Tile <-> window arithmetic of WebMercatorQuad and WorldCRS84Quad against values from OGC 17-083r4. */
#include <math.h>
#include <string.h>

#include "nadir/tms.h"
#include "test.h"

#define E 20037508.342789244

ND_TEST(tms_lookup) {
    CHECK(nd_tms_get("WebMercatorQuad") == nd_tms_at(0));
    CHECK(nd_tms_get("googlemapscompatible") == nd_tms_at(0));
    CHECK(nd_tms_get("WorldCRS84Quad") == nd_tms_at(1));
    CHECK(nd_tms_get("GoogleCRS84Quad") == NULL);
    CHECK(nd_tms_get(NULL) == NULL);
    CHECK_INT(nd_tms_count(), 2);
}

ND_TEST(tms_webmercator_bbox) {
    const nd_tms *t = nd_tms_get("WebMercatorQuad");
    double b[4];
    CHECK(nd_tms_tile_bbox(t, 0, 0, 0, b));
    CHECK_NEAR(b[0], -E, 1e-6);
    CHECK_NEAR(b[1], -E, 1e-6);
    CHECK_NEAR(b[2], E, 1e-6);
    CHECK_NEAR(b[3], E, 1e-6);
    /* zoom 2, row 1, col 3: x from E/2 to E, y from 0 to E/2 */
    CHECK(nd_tms_tile_bbox(t, 2, 1, 3, b));
    CHECK_NEAR(b[0], E / 2, 1e-6);
    CHECK_NEAR(b[2], E, 1e-6);
    CHECK_NEAR(b[1], 0, 1e-6);
    CHECK_NEAR(b[3], E / 2, 1e-6);
    CHECK(!nd_tms_tile_bbox(t, 2, 4, 0, b));
    CHECK(!nd_tms_tile_bbox(t, 2, 0, -1, b));
    CHECK(!nd_tms_tile_bbox(t, ND_TMS_MAX_ZOOM + 1, 0, 0, b));
    long w, h;
    nd_tms_matrix_size(t, 10, &w, &h);
    CHECK_INT(w, 1024);
    CHECK_INT(h, 1024);
    /* the GoogleMapsCompatible well-known scale set (WMTS 1.0 annex E.4) */
    CHECK_NEAR(nd_tms_scale_denominator(t, 0), 559082264.0287178, 1e-4);
    CHECK_NEAR(nd_tms_scale_denominator(t, 18), 2132.729583849784, 1e-8);
    CHECK_NEAR(nd_tms_resolution(t, 0), 156543.03392804097, 1e-8);
}

ND_TEST(tms_crs84_bbox) {
    const nd_tms *t = nd_tms_get("WorldCRS84Quad");
    double b[4];
    long w, h;
    nd_tms_matrix_size(t, 0, &w, &h);
    CHECK_INT(w, 2);
    CHECK_INT(h, 1);
    CHECK(nd_tms_tile_bbox(t, 0, 0, 1, b));
    CHECK_NEAR(b[0], 0, 1e-12);
    CHECK_NEAR(b[1], -90, 1e-12);
    CHECK_NEAR(b[2], 180, 1e-12);
    CHECK_NEAR(b[3], 90, 1e-12);
    CHECK(!nd_tms_tile_bbox(t, 0, 1, 0, b));
    CHECK(nd_tms_tile_bbox(t, 3, 2, 5, b)); /* 22.5 degree tiles */
    CHECK_NEAR(b[0], -180 + 5 * 22.5, 1e-12);
    CHECK_NEAR(b[3], 90 - 2 * 22.5, 1e-12);
    CHECK_NEAR(nd_tms_resolution(t, 0), 0.703125, 1e-15);
    CHECK_NEAR(nd_tms_scale_denominator(t, 0), 279541132.0143589, 1e-4);
}

ND_TEST(tms_range_of_a_window) {
    const nd_tms *m = nd_tms_get("WebMercatorQuad"), *g = nd_tms_get("WorldCRS84Quad");
    long r0, r1, c0, c1;
    const double world[4] = {-180, -90, 180, 90};
    nd_tms_tile_range(m, 3, world, &r0, &r1, &c0, &c1);
    CHECK_INT(r0, 0);
    CHECK_INT(r1, 7);
    CHECK_INT(c0, 0);
    CHECK_INT(c1, 7);
    /* a window in the north-east quadrant: at zoom 1 only tile (0, 1) */
    const double ne[4] = {10, 40, 20, 50};
    nd_tms_tile_range(m, 1, ne, &r0, &r1, &c0, &c1);
    CHECK_INT(r0, 0);
    CHECK_INT(r1, 0);
    CHECK_INT(c0, 1);
    CHECK_INT(c1, 1);
    /* an edge exactly on a tile border does not reach into the next tile */
    const double q[4] = {0, 0, 90, 45};
    nd_tms_tile_range(g, 1, q, &r0, &r1, &c0, &c1);
    CHECK_INT(c0, 2);
    CHECK_INT(c1, 2);
    CHECK_INT(r0, 0);
    CHECK_INT(r1, 0);
    /* every tile of the range intersects the window and the window lies inside the range */
    const double box[4] = {10.0, 46.088, 10.512, 46.6};
    for (int z = 0; z <= ND_TMS_MAX_ZOOM; z++) {
        nd_tms_tile_range(m, z, box, &r0, &r1, &c0, &c1);
        double lo[4], hi[4], x0, y0, x1, y1;
        CHECK(nd_tms_tile_bbox(m, z, r0, c0, lo));
        CHECK(nd_tms_tile_bbox(m, z, r1, c1, hi));
        nd_tms_from_lonlat(m, box[0], box[1], &x0, &y0);
        nd_tms_from_lonlat(m, box[2], box[3], &x1, &y1);
        CHECK(lo[0] <= x0 && lo[3] >= y1 && hi[2] >= x1 && hi[1] <= y0);
        CHECK(lo[2] > x0 && lo[1] < y1 && hi[0] < x1 && hi[3] > y0);
    }
}

ND_TEST(tms_mercator_projection) {
    const nd_tms *m = nd_tms_get("WebMercatorQuad");
    double x, y;
    nd_tms_from_lonlat(m, 180, 85.0511287798066, &x, &y);
    CHECK_NEAR(x, E, 1e-6);
    CHECK_NEAR(y, E, 1e-3);
    nd_tms_from_lonlat(m, 10, 90, &x, &y); /* clamped */
    CHECK(isfinite(y));
    nd_tms_from_lonlat(m, 0, 45, &x, &y);
    CHECK_NEAR(y, 5621521.486192066, 1e-6);
}

ND_TEST(tms_json_document) {
    nd_buf b = {0};
    nd_tms_json(nd_tms_get("WebMercatorQuad"), &b);
    nd_buf_puts(&b, "");
    CHECK_CONTAINS(b.data, "\"id\":\"WebMercatorQuad\"");
    CHECK_CONTAINS(b.data, "\"crs\":\"http://www.opengis.net/def/crs/EPSG/0/3857\"");
    CHECK_CONTAINS(b.data, "{\"id\":\"18\",");
    CHECK_CONTAINS(b.data, "\"matrixWidth\":262144");
    nd_buf_free(&b);
}
