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
    CHECK_STR(b.data, "Dataset {\n    Int32 time[time = 3];\n    Float64 lat[lat = 4];\n    Float64 lon[lon = 5];\n"
                      "    Int16 v[time = 3][lat = 4][lon = 5];\n    String name[lat = 4];\n} d;\n");
    nd_buf_free(&b);
    b = get(&f, "/opendap/d.dds?v%5B1:1:2%5D%5B0:2:3%5D%5B4%5D,lat", &st);
    CHECK_STR(b.data, "Dataset {\n    Float64 lat[lat = 4];\n    Int16 v[time = 2][lat = 2][lon = 1];\n} d;\n");
    nd_buf_free(&b);
    /* Grid-member paths: "v.v" is v, "v.lat" is the map lat, "v.name" is no map of v */
    b = get(&f, "/opendap/d.dds?v.v%5B0%5D%5B0%5D%5B0%5D,v.lat%5B1:2%5D", &st);
    CHECK_STR(b.data, "Dataset {\n    Float64 lat[lat = 2];\n    Int16 v[time = 1][lat = 1][lon = 1];\n} d;\n");
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
    nd_buf b = get(&f, "/opendap/d.dods?v[1:1:2][0:2:3][3:4],name", &st);
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
