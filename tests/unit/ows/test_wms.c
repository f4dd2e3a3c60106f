/* WMS handlers driven in memory: a tile through nd_wms_render equals the GetMap of the same window, and the
 * /ows endpoint dispatches on SERVICE. */
#include "nadir/app.h"
#include "nadir/demodata.h"
#include "nadir/warp.h"
#include "nadir/wms.h"
#include "test.h"

typedef struct {
    nd_config *cfg;
    nd_registry *reg;
    nd_app *app;
} fixture;

static void setup(fixture *f) {
    char dir[512], err[512] = "";
    snprintf(dir, sizeof dir, "%s/demo", nd_test_tmp_dir());
    if (nd_demo_data_write(dir, NULL, err, sizeof err) != 0) ND_FAIL_AT("demo: %s", err);
    char text[2048];
    snprintf(text, sizeof text,
             "datasets:\n  - id: sst\n    source: %s/sst/sst_*.nc\n  - id: s2\n    source: %s/s2/s2_demo_10m.tif\n",
             dir, dir);
    if (nd_config_parse(text, strlen(text), "t.yaml", dir, &f->cfg, err, sizeof err) != 0) ND_FAIL_AT("%s", err);
    if (nd_registry_open(f->cfg, &f->reg, err, sizeof err) != 0) ND_FAIL_AT("%s", err);
    f->app = nd_app_new(f->cfg, f->reg);
    nd_wms_register(f->app);
}

static void teardown(fixture *f) {
    nd_app_free(f->app);
    nd_registry_free(f->reg);
    nd_config_free(f->cfg);
    nd_warp_cache_clear();
}

static void get(fixture *f, const char *url, nd_resp *rs) {
    nd_req *rq = nd_req_new_test(f->app, "GET", url, NULL);
    nd_http_dispatch(f->app, rq, rs);
    nd_req_free_test(rq);
}

ND_TEST(tile_equals_getmap) {
    fixture f;
    setup(&f);
    CHECK(nd_wms_layer_count() >= 6);
    CHECK_STR(nd_wms_layer_name(0), "sst/sst");
    const double R = 20037508.342789244, size = 2 * R / 32; /* zoom 5 */
    double minx = -R + 15 * size, maxy = R - 10 * size;
    const char *layers[] = {"sst/sst", "s2/rgb"};
    for (int k = 0; k < 2; k++) {
        if (k == 1) { /* a zoom 14 tile over the COG */
            double s14 = 2 * R / 16384;
            minx = -R + 8263 * s14, maxy = R - 5984 * s14;
        }
        double sz = k ? 2 * R / 16384 : size;
        nd_map_query q = {layers[k], NULL, "EPSG:3857", {minx, maxy - sz, minx + sz, maxy}, 256, 256, "image/png",
                          NULL, NULL, true};
        nd_req *rq = nd_req_new_test(f.app, "GET", "/wmts", NULL);
        nd_resp tile = {0};
        CHECK_INT(nd_wms_render(rq, &q, &tile), 0);
        CHECK_STR(tile.content_type, "image/png");
        CHECK(tile.body.len > (size_t)(k ? 3000 : 800)); /* not an empty tile */
        nd_req_free_test(rq);
        char url[1024];
        snprintf(url, sizeof url,
                 "/wms?SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&LAYERS=%s&STYLES=&CRS=EPSG:3857&BBOX=%.17g,%.17g,%.17g,"
                 "%.17g&WIDTH=256&HEIGHT=256&FORMAT=image/png&TRANSPARENT=TRUE",
                 layers[k], q.bbox[0], q.bbox[1], q.bbox[2], q.bbox[3]);
        nd_resp map = {0};
        get(&f, url, &map);
        CHECK_INT(map.status, 200);
        CHECK_INT(map.body.len, tile.body.len);
        CHECK(memcmp(map.body.data, tile.body.data, tile.body.len) == 0);
        nd_resp_free(&map);
        nd_resp_free(&tile);
    }
    /* errors come back in rq->err */
    nd_map_query bad = {"nope/nope", NULL, "EPSG:3857", {0, 0, 1, 1}, 256, 256, "image/png", NULL, NULL, true};
    nd_req *rq = nd_req_new_test(f.app, "GET", "/wmts", NULL);
    nd_resp rs = {0};
    CHECK(nd_wms_render(rq, &bad, &rs) < 0);
    CHECK_INT(rq->err.code, ND_E_LAYER_NOT_DEFINED);
    bad.layer = "sst/sst";
    bad.time = "1800-01-01";
    CHECK(nd_wms_render(rq, &bad, &rs) < 0);
    CHECK_INT(rq->err.code, ND_E_INVALID_DIMENSION);
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    teardown(&f);
}

ND_TEST(ows_endpoint_dispatches_on_service) {
    fixture f;
    setup(&f);
    nd_resp rs = {0};
    get(&f, "/ows?SERVICE=WMS&REQUEST=GetCapabilities", &rs);
    CHECK_INT(rs.status, 200);
    CHECK_CONTAINS(rs.body.data, "<WMS_Capabilities");
    CHECK_CONTAINS(rs.body.data, "/ows?");
    nd_resp_free(&rs);
    rs = (nd_resp){0};
    get(&f, "/ows?REQUEST=GetCapabilities", &rs);
    CHECK_INT(rs.status, 400);
    CHECK_CONTAINS(rs.body.data, "MissingParameterValue");
    nd_resp_free(&rs);
    rs = (nd_resp){0};
    get(&f, "/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sst/sst&SRS=EPSG:99999&BBOX=0,0,1,1&WIDTH=8&HEIGHT=8"
            "&STYLES=&FORMAT=image/png",
        &rs);
    CHECK_INT(rs.status, 400);
    CHECK_CONTAINS(rs.body.data, "code=\"InvalidSRS\"");
    nd_resp_free(&rs);
    teardown(&f);
}
