/* OPeNDAP handlers driven in memory: DDS/DAS text, XDR and DAP4 bytes out of the stream, errors and limits. */
#include <netcdf.h>
#include <stdint.h>
#include <zlib.h>

#include "nadir/app.h"
#include "nadir/dap.h"
#include "test.h"

#define NC(call) CHECK_INT((call), NC_NOERR)

typedef struct {
    nd_config *cfg;
    nd_registry *reg;
    nd_app *app;
} fixture;

/* t(time=3) int, lat(4), lon(5), v(time, lat, lon) short = t*100 + y*10 + x, name(lat, nc=3) char. */
static fixture setup(const char *limit) {
    char path[512], yaml[1200], err[512];
    snprintf(path, sizeof path, "%s/d.nc", nd_test_tmp_dir());
    int nc, dt, dy, dx, dc, vt, vy, vx, vv, vn;
    NC(nc_create(path, NC_CLOBBER | NC_NETCDF4, &nc));
    NC(nc_def_dim(nc, "time", 3, &dt));
    NC(nc_def_dim(nc, "lat", 4, &dy));
    NC(nc_def_dim(nc, "lon", 5, &dx));
    NC(nc_def_dim(nc, "nc", 3, &dc));
    NC(nc_def_var(nc, "time", NC_INT, 1, &dt, &vt));
    NC(nc_put_att_text(nc, vt, "units", 21, "days since 2025-01-01"));
    NC(nc_def_var(nc, "lat", NC_DOUBLE, 1, &dy, &vy));
    NC(nc_put_att_text(nc, vy, "units", 13, "degrees_north"));
    NC(nc_def_var(nc, "lon", NC_DOUBLE, 1, &dx, &vx));
    NC(nc_put_att_text(nc, vx, "units", 12, "degrees_east"));
    NC(nc_def_var(nc, "v", NC_SHORT, 3, (int[]){dt, dy, dx}, &vv));
    NC(nc_put_att_text(nc, vv, "long_name", 9, "a \"test\""));
    NC(nc_def_var(nc, "name", NC_CHAR, 2, (int[]){dy, dc}, &vn));
    NC(nc_enddef(nc));
    NC(nc_put_var_int(nc, vt, (int[]){0, 1, 2}));
    NC(nc_put_var_double(nc, vy, (double[]){1, 2, 3, 4}));
    NC(nc_put_var_double(nc, vx, (double[]){5, 6, 7, 8, 9}));
    short v[60];
    for (int i = 0; i < 60; i++) v[i] = (short)((i / 20) * 100 + (i / 5 % 4) * 10 + i % 5);
    NC(nc_put_var_short(nc, vv, v));
    NC(nc_put_var_text(nc, vn, "ab\0cdef\0\0xyz"));
    NC(nc_close(nc));
    snprintf(yaml, sizeof yaml, "server:\n  max_coverage_bytes: %s\ndatasets:\n  - id: d\n    source: %s\n", limit, path);
    fixture f = {0};
    if (nd_config_parse(yaml, strlen(yaml), "t.yaml", nd_test_tmp_dir(), &f.cfg, err, sizeof err) != 0)
        ND_FAIL_AT("config: %s", err);
    if (nd_registry_open(f.cfg, &f.reg, err, sizeof err) != 0) ND_FAIL_AT("registry: %s", err);
    f.app = nd_app_new(f.cfg, f.reg);
    nd_dap_register(f.app);
    return f;
}

static void teardown(fixture *f) {
    nd_app_free(f->app);
    nd_registry_free(f->reg);
    nd_config_free(f->cfg);
}

/* The whole response: the body, or the stream drained in small reads. */
static nd_buf get(fixture *f, const char *url, int *status) {
    nd_req *rq = nd_req_new_test(f->app, "GET", url, NULL);
    nd_resp rs = {0};
    nd_http_dispatch(f->app, rq, &rs);
    *status = rs.status;
    nd_buf out = {0};
    if (rs.stream.read) {
        char buf[1000];
        long n;
        uint64_t pos = 0;
        while ((n = rs.stream.read(rs.stream.ctx, pos, buf, sizeof buf)) > 0) {
            nd_buf_append(&out, buf, (size_t)n);
            pos += (uint64_t)n;
        }
        CHECK_INT(n, 0);
        if (rs.stream.size != UINT64_MAX) CHECK_INT(rs.stream.size, out.len);
    } else {
        nd_buf_append(&out, rs.body.data, rs.body.len);
    }
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    return out;
}

static uint32_t be32(const char *p) {
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

ND_TEST(dds_and_das) {
    fixture f = setup("1GiB");
    int st;
    nd_buf b = get(&f, "/opendap/d.dds", &st);
    CHECK_INT(st, 200);
    /* v has a coordinate variable on every dimension: a Grid, as THREDDS and Hyrax serve it */
    CHECK_STR(b.data, "Dataset {\n    Int32 time[time = 3];\n    Float64 lat[lat = 4];\n    Float64 lon[lon = 5];\n"
                      "    Grid {\n      Array:\n        Int16 v[time = 3][lat = 4][lon = 5];\n      Maps:\n"
                      "        Int32 time[time = 3];\n        Float64 lat[lat = 4];\n        Float64 lon[lon = 5];\n"
                      "    } v;\n    String name[lat = 4];\n} d;\n");
    nd_buf_free(&b);
    /* a hyperslab of the Grid applies to its maps */
    b = get(&f, "/opendap/d.dds?v%5B1:1:2%5D%5B0:2:3%5D%5B4%5D,lat", &st);
    CHECK_STR(b.data, "Dataset {\n    Float64 lat[lat = 4];\n    Grid {\n      Array:\n"
                      "        Int16 v[time = 2][lat = 2][lon = 1];\n      Maps:\n        Int32 time[time = 2];\n"
                      "        Float64 lat[lat = 2];\n        Float64 lon[lon = 1];\n    } v;\n} d;\n");
    nd_buf_free(&b);
    /* Grid members alone: libdap's Structure form; "v.name" is no map of v */
    b = get(&f, "/opendap/d.dds?v.v%5B0%5D%5B0%5D%5B0%5D,v.lat%5B1:2%5D", &st);
    CHECK_STR(b.data, "Dataset {\n    Structure {\n        Int16 v[time = 1][lat = 1][lon = 1];\n"
                      "        Float64 lat[lat = 2];\n    } v;\n} d;\n");
    nd_buf_free(&b);
    /* every member, in matching windows, makes the Grid again */
    b = get(&f, "/opendap/d.dds?v.lon%5B1%5D,v.v%5B0%5D%5B1:2%5D%5B1%5D,v.time%5B0%5D,v.lat%5B1:2%5D", &st);
    CHECK_CONTAINS(b.data, "    Grid {\n      Array:\n        Int16 v[time = 1][lat = 2][lon = 1];\n      Maps:\n");
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.dds?v.name", &st);
    CHECK_INT(st, 404);
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.das", &st);
    CHECK_CONTAINS(b.data, "    v {\n        String long_name \"a \\\"test\\\"\";\n    }\n");
    CHECK_CONTAINS(b.data, "        Int32 DODS.strlen 3;\n        String DODS.dimName \"nc\";\n");
    nd_buf_free(&b);
    teardown(&f);
}

ND_TEST(dods_xdr_streamed) {
    fixture f = setup("1GiB");
    int st;
    nd_buf b = get(&f, "/opendap/d.dods?v.v[1:1:2][0:2:3][3:4],name", &st);
    CHECK_INT(st, 200);
    char *data = strstr(b.data, "\nData:\n");
    CHECK(data != NULL);
    data += 7;
    CHECK_INT(be32(data), 8);
    CHECK_INT(be32(data + 4), 8);
    int k = 0;
    for (int t = 1; t <= 2; t++)
        for (int y = 0; y <= 2; y += 2)
            for (int x = 3; x <= 4; x++, k++) CHECK_INT((int32_t)be32(data + 8 + 4 * k), t * 100 + y * 10 + x);
    const char *s = data + 8 + 32;
    CHECK_INT(be32(s), 4); /* String array: one count */
    CHECK_INT(be32(s + 4), 2);
    CHECK(memcmp(s + 8, "ab\0\0", 4) == 0);
    CHECK_INT(be32(s + 12), 3);
    CHECK(memcmp(s + 16, "cde\0", 4) == 0);
    CHECK_INT(be32(s + 20), 1);
    CHECK(memcmp(s + 24, "f\0\0\0", 4) == 0);
    CHECK_INT(be32(s + 28), 3);
    CHECK(memcmp(s + 32, "xyz\0", 4) == 0);
    CHECK_INT((size_t)(s + 36 - b.data), b.len);
    nd_buf_free(&b);
    teardown(&f);
}

/* A Grid's XDR is its array then each map, each as an Array (count twice, values), nothing in between. */
ND_TEST(dods_grid_array_then_maps) {
    fixture f = setup("1GiB");
    int st;
    nd_buf b = get(&f, "/opendap/d.dods?v[2][1:2:3][0:4:4]", &st);
    CHECK_INT(st, 200);
    const char *p = strstr(b.data, "\nData:\n");
    CHECK(p != NULL);
    p += 7;
    CHECK_INT(be32(p), 4);
    CHECK_INT(be32(p + 4), 4);
    static const int want[] = {210, 214, 230, 234};
    for (int k = 0; k < 4; k++) CHECK_INT((int32_t)be32(p + 8 + 4 * k), want[k]);
    p += 24; /* time map: Int32 2 */
    CHECK_INT(be32(p), 1);
    CHECK_INT(be32(p + 8), 2);
    p += 12; /* lat map: Float64 2 and 4 */
    CHECK_INT(be32(p), 2);
    double d[2];
    for (int k = 0; k < 2; k++) {
        uint64_t u = (uint64_t)be32(p + 8 + 8 * k) << 32 | be32(p + 12 + 8 * k);
        memcpy(&d[k], &u, 8);
    }
    CHECK(d[0] == 2 && d[1] == 4);
    p += 24; /* lon map: Float64 5 and 9 */
    CHECK_INT(be32(p), 2);
    CHECK_INT((size_t)(p + 24 - b.data), b.len);
    nd_buf_free(&b);
    teardown(&f);
}

/* netCDF-4 groups: DAP4 Groups with fully qualified names; DAP2 shows the root group only. */
ND_TEST(dap4_groups) {
    int st;
    char path[512], yaml[800], err[512];
    snprintf(path, sizeof path, "%s/g.nc", nd_test_tmp_dir());
    int nc, g1, g2, dx, dr, vr, vx, vy, vz, dla, dlo, vla, vlo;
    NC(nc_create(path, NC_CLOBBER | NC_NETCDF4, &nc));
    NC(nc_def_dim(nc, "lat", 2, &dla));
    NC(nc_def_dim(nc, "lon", 3, &dlo));
    NC(nc_def_dim(nc, "r", 2, &dr));
    NC(nc_def_var(nc, "lat", NC_DOUBLE, 1, &dla, &vla));
    NC(nc_def_var(nc, "lon", NC_DOUBLE, 1, &dlo, &vlo));
    NC(nc_put_att_text(nc, vla, "units", 13, "degrees_north"));
    NC(nc_put_att_text(nc, vlo, "units", 12, "degrees_east"));
    NC(nc_def_var(nc, "top", NC_INT, 1, &dr, &vr));
    NC(nc_def_var(nc, "z", NC_SHORT, 2, (int[]){dla, dlo}, &vz));
    NC(nc_def_grp(nc, "g1", &g1));
    NC(nc_def_dim(g1, "x", 3, &dx));
    NC(nc_def_var(g1, "x", NC_FLOAT, 1, &dx, &vx));
    NC(nc_put_att_text(g1, NC_GLOBAL, "about", 3, "one"));
    NC(nc_def_grp(g1, "g2", &g2));
    NC(nc_def_var(g2, "y", NC_SHORT, 2, (int[]){dr, dx}, &vy));
    NC(nc_enddef(nc));
    NC(nc_put_var_int(nc, vr, (int[]){7, 8}));
    NC(nc_put_var_double(nc, vla, (double[]){10, 11}));
    NC(nc_put_var_double(nc, vlo, (double[]){20, 21, 22}));
    NC(nc_put_var_float(g1, vx, (float[]){0.5f, 1.5f, 2.5f}));
    NC(nc_put_var_short(g2, vy, (short[]){1, 2, 3, 4, 5, 6}));
    NC(nc_close(nc));
    snprintf(yaml, sizeof yaml, "datasets:\n  - id: g\n    source: %s\n", path);
    nd_config *cfg;
    nd_registry *reg;
    if (nd_config_parse(yaml, strlen(yaml), "t.yaml", nd_test_tmp_dir(), &cfg, err, sizeof err) != 0)
        ND_FAIL_AT("config: %s", err);
    if (nd_registry_open(cfg, &reg, err, sizeof err) != 0) ND_FAIL_AT("registry: %s", err);
    nd_app *app = nd_app_new(cfg, reg);
    nd_dap_register(app);
    fixture g = {cfg, reg, app};
    nd_buf b = get(&g, "/opendap/g.dmr", &st);
    CHECK_INT(st, 200);
    CHECK_CONTAINS(b.data, "  <Group name=\"g1\">\n    <Dimension name=\"x\" size=\"3\"/>\n    <Float32 name=\"x\">\n"
                           "      <Dim name=\"/g1/x\"/>\n    </Float32>\n");
    CHECK_CONTAINS(b.data, "<Attribute name=\"about\" type=\"String\"><Value>one</Value></Attribute>\n    <Group "
                           "name=\"g2\">\n      <Int16 name=\"y\">\n        <Dim name=\"/r\"/>\n"
                           "        <Dim name=\"/g1/x\"/>\n        <Map name=\"/g1/x\"/>\n");
    nd_buf_free(&b);
    /* a fully qualified constraint: only that group's path is declared, and its values come */
    b = get(&g, "/opendap/g.dap?dap4.ce=/g1/g2/y%5B1%5D%5B0:2:2%5D", &st);
    CHECK_INT(st, 200);
    CHECK(strstr(b.data + 4, "<Int32 name=\"top\">") == NULL);
    const unsigned char *u = (const unsigned char *)b.data;
    size_t n = (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
    const unsigned char *c = u + 4 + n;
    CHECK_INT(c[0], 5);
    short y[2];
    memcpy(y, c + 4, 4);
    CHECK(y[0] == 4 && y[1] == 6);
    nd_buf_free(&b);
    b = get(&g, "/opendap/g.dds", &st);
    CHECK_STR(b.data, "Dataset {\n    Float64 lat[lat = 2];\n    Float64 lon[lon = 3];\n    Int32 top[r = 2];\n"
                      "    Grid {\n      Array:\n        Int16 z[lat = 2][lon = 3];\n      Maps:\n"
                      "        Float64 lat[lat = 2];\n        Float64 lon[lon = 3];\n    } z;\n} g;\n");
    nd_buf_free(&b);
    b = get(&g, "/opendap/g.dap?dap4.ce=/g1/nosuch", &st);
    CHECK_INT(st, 404);
    nd_buf_free(&b);
    teardown(&g);
}

ND_TEST(dap4_chunks_and_crc) {
    fixture f = setup("1GiB");
    int st;
    nd_buf b = get(&f, "/opendap/d.dap?dap4.ce=/v%5B2%5D%5B3%5D%5B%5D", &st);
    CHECK_INT(st, 200);
    const unsigned char *u = (const unsigned char *)b.data;
    CHECK_INT(u[0], 4);
    size_t n = (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
    CHECK(memcmp(b.data + 4 + n - 2, "\r\n", 2) == 0);
    CHECK_CONTAINS(b.data + 4, "<Dim size=\"1\"/>");
    const unsigned char *c = u + 4 + n;
    CHECK_INT(c[0], 5); /* last, little-endian */
    size_t m = (size_t)c[1] << 16 | (size_t)c[2] << 8 | c[3];
    CHECK_INT(m, 5 * 2 + 4);
    short v[5];
    memcpy(v, c + 4, 10);
    for (int x = 0; x < 5; x++) CHECK_INT(v[x], 230 + x);
    uint32_t crc;
    memcpy(&crc, c + 14, 4);
    CHECK_INT(crc, crc32(0, c + 4, 10));
    CHECK_INT(4 + n + 4 + m, b.len);
    nd_buf_free(&b);
    teardown(&f);
}

ND_TEST(errors_in_dap_forms) {
    fixture f = setup("100");
    int st;
    nd_buf b = get(&f, "/opendap/d.dods?nosuch", &st);
    CHECK_INT(st, 404);
    CHECK(strncmp(b.data, "Error {\n    code = 404;\n    message = \"No such variable: nosuch\";\n};\n", b.len) == 0);
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.dods?v[0:0:1][0][0]", &st);
    CHECK_INT(st, 400);
    CHECK_CONTAINS(b.data, "stride of 0");
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.dods?v[0:1:3][0][0]", &st);
    CHECK_INT(st, 400);
    CHECK_CONTAINS(b.data, "outside 0..2");
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.dods?v", &st); /* 120 bytes of values, limit 100 */
    CHECK_INT(st, 413);
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.dap?dap4.ce=/v%5B", &st);
    CHECK_INT(st, 400);
    CHECK_CONTAINS(b.data, "<Error httpcode=\"400\">");
    nd_buf_free(&b);
    b = get(&f, "/opendap/nosuch.das", &st);
    CHECK_INT(st, 404);
    CHECK_CONTAINS(b.data, "Error {");
    nd_buf_free(&b);
    teardown(&f);
}
