/* Vector datasets: a GeoJSON written here opens with its layer, CRS and extent; its features come back clipped
 * and projected onto a map grid, and the features at a point carry their attributes. */
#include <stdio.h>

#include "nadir/vector.h"
#include "test.h"

static const char *write_geojson(void) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/zones.geojson", nd_test_tmp_dir());
    FILE *f = fopen(path, "w");
    fputs("{\"type\":\"FeatureCollection\",\"name\":\"zones\",\"features\":["
          "{\"type\":\"Feature\",\"properties\":{\"name\":\"west\",\"code\":1},\"geometry\":{\"type\":\"Polygon\","
          "\"coordinates\":[[[0,40],[10,40],[10,50],[0,50],[0,40]]]}},"
          "{\"type\":\"Feature\",\"properties\":{\"name\":\"south pole\",\"code\":2},\"geometry\":{\"type\":\"Polygon\","
          "\"coordinates\":[[[-180,-90],[180,-90],[180,-86],[-180,-86],[-180,-90]]]}}]}",
          f);
    fclose(f);
    return path;
}

static nd_dataset *open_zones(nd_dataset_conf *c) {
    memset(c, 0, sizeof *c);
    c->id = "zones";
    c->source = (char *)write_geojson();
    nd_dataset *ds = NULL;
    char err[512];
    if (nd_dataset_open(c, &ds, err, sizeof err) < 0) ND_FAIL_AT("open: %s", err);
    return ds;
}

ND_TEST(vector_dataset_opens_with_its_layers) {
    nd_dataset_conf c;
    nd_dataset *ds = open_zones(&c);
    CHECK_INT(ds->kind, ND_DS_VECTOR);
    CHECK_INT(ds->nvars, 0);
    CHECK_INT(ds->epsg, 4326);
    CHECK_INT(ds->vector->nlayers, 1);
    size_t k;
    const nd_vector_layer *l = nd_vector_layer_find(ds, "zones", &k);
    CHECK(l != NULL);
    CHECK_INT(l->geom, ND_GEOM_POLYGON);
    CHECK_INT(l->nfeatures, 2);
    CHECK_INT(l->nfields, 2);
    CHECK_STR(l->fields[0], "name");
    CHECK_NEAR(ds->wgs84[1], -90, 1e-9);
    CHECK_NEAR(ds->wgs84[3], 50, 1e-9);
    nd_dataset_free(ds);
}

ND_TEST(vector_shapes_in_pixels_and_poles_clipped) {
    nd_dataset_conf c;
    nd_dataset *ds = open_zones(&c);
    nd_arena *a = nd_arena_new(1 << 16);
    nd_error err = {0};
    /* the square on a 100 x 100 CRS:84 map of lon 0..20, lat 35..55: x 0..50, y 25..75 */
    nd_grid g = {100, 100, {0, 0.2, 0, 55, 0, -0.2}, "OGC:CRS84"};
    nd_shapes s;
    CHECK_INT(nd_vector_shapes(ds, 0, &g, "name", a, &s, &err), 0);
    CHECK_INT(s.nshapes, 1);
    CHECK_INT(s.shapes[0].kind, ND_GEOM_POLYGON);
    CHECK_STR(s.shapes[0].label, "west");
    double minx = 1e9, maxx = -1e9, miny = 1e9, maxy = -1e9;
    for (size_t i = 0; i < s.npoints; i++) {
        minx = fmin(minx, s.xy[2 * i]), maxx = fmax(maxx, s.xy[2 * i]);
        miny = fmin(miny, s.xy[2 * i + 1]), maxy = fmax(maxy, s.xy[2 * i + 1]);
    }
    CHECK_NEAR(minx, 0, 1e-9);
    CHECK_NEAR(maxx, 50, 1e-9);
    CHECK_NEAR(miny, 25, 1e-9);
    CHECK_NEAR(maxy, 75, 1e-9);
    /* the whole Web Mercator world: the polar polygon lies past 85.05 S (beyond the CRS) and is dropped, not drawn
     * at infinity */
    nd_grid w = {256, 256, {-20037508.342789244, 156543.03392804097, 0, 20037508.342789244, 0, -156543.03392804097},
                 "EPSG:3857"};
    CHECK_INT(nd_vector_shapes(ds, 0, &w, NULL, a, &s, &err), 0);
    CHECK_INT(s.nshapes, 1);
    for (size_t i = 0; i < s.npoints; i++) CHECK(isfinite(s.xy[2 * i]) && isfinite(s.xy[2 * i + 1]));
    nd_arena_free(a);
    nd_dataset_free(ds);
}

ND_TEST(vector_query_returns_attributes) {
    nd_dataset_conf c;
    nd_dataset *ds = open_zones(&c);
    nd_arena *a = nd_arena_new(1 << 16);
    nd_error err = {0};
    nd_feature_info *fi;
    size_t n;
    CHECK_INT(nd_vector_query(ds, 0, "OGC:CRS84", 5, 45, 0.1, 10, a, &fi, &n, &err), 0);
    CHECK_INT(n, 1);
    CHECK_STR(fi[0].names[0], "name");
    CHECK_STR(fi[0].values[0], "west");
    CHECK_STR(fi[0].values[1], "1");
    CHECK_INT(nd_vector_query(ds, 0, "OGC:CRS84", 15, 45, 0.1, 10, a, &fi, &n, &err), 0);
    CHECK_INT(n, 0);
    CHECK(nd_vector_query(ds, 0, "EPSG:999999", 5, 45, 0.1, 10, a, &fi, &n, &err) < 0);
    CHECK_INT(err.code, ND_E_INVALID_CRS);
    nd_arena_free(a);
    nd_dataset_free(ds);
}
