/* OPeNDAP constraint expressions: DAP2 and DAP4 forms, Grid member paths, and every bad input refused in bounds. */
#include <time.h>

#include "nadir/dap.h"
#include "test.h"

static nd_arena *A;

static nd_dap_ce ok2(const char *ce) {
    if (!A) A = nd_arena_new(0);
    nd_dap_ce c;
    nd_error e = {0};
    if (nd_dap2_ce_parse(A, ce, &c, &e) != 0) ND_FAIL_AT("DAP2 '%s' refused: %s", ce, e.detail);
    return c;
}

static nd_dap_ce ok4(const char *ce) {
    if (!A) A = nd_arena_new(0);
    nd_dap_ce c;
    nd_error e = {0};
    if (nd_dap4_ce_parse(A, ce, &c, &e) != 0) ND_FAIL_AT("DAP4 '%s' refused: %s", ce, e.detail);
    return c;
}

static nd_error bad2(const char *ce) {
    if (!A) A = nd_arena_new(0);
    nd_dap_ce c;
    nd_error e = {0};
    int rc = nd_dap2_ce_parse(A, ce, &c, &e);
    if (rc >= 0) ND_FAIL_AT("DAP2 '%.60s' accepted", ce);
    CHECK_INT(rc, -(int)e.code);
    CHECK(e.detail[0] != '\0');
    return e;
}

static nd_error bad4(const char *ce) {
    if (!A) A = nd_arena_new(0);
    nd_dap_ce c;
    nd_error e = {0};
    int rc = nd_dap4_ce_parse(A, ce, &c, &e);
    if (rc >= 0) ND_FAIL_AT("DAP4 '%.60s' accepted", ce);
    CHECK_INT(rc, -(int)e.code);
    return e;
}

static void slice_is(const nd_dap_slice *s, size_t start, size_t stride, size_t stop, bool open) {
    CHECK_INT(s->start, start);
    CHECK_INT(s->stride, stride);
    CHECK_INT(s->stop, stop);
    CHECK_INT(s->open_end, open);
}

ND_TEST(dap2_projections_and_hyperslabs) {
    nd_dap_ce c = ok2("");
    CHECK_INT(c.nproj, 0);
    c = ok2("sst[0:1:9][2:3:20][5],lat,lon[7:8]");
    CHECK_INT(c.nproj, 3);
    CHECK_STR(c.proj[0].name, "sst");
    CHECK_INT(c.proj[0].nslices, 3);
    slice_is(&c.proj[0].slices[0], 0, 1, 9, false);
    slice_is(&c.proj[0].slices[1], 2, 3, 20, false);
    slice_is(&c.proj[0].slices[2], 5, 1, 5, false);
    CHECK_STR(c.proj[1].name, "lat");
    CHECK_INT(c.proj[1].nslices, 0);
    slice_is(&c.proj[2].slices[0], 7, 1, 8, false);
}

ND_TEST(dap2_grid_member_paths) {
    nd_dap_ce c = ok2("sst.sst[0:0][1:2][3:4],lat");
    CHECK_INT(c.nproj, 2);
    CHECK_STR(c.proj[0].name, "sst");
    CHECK_INT(c.proj[0].nslices, 3);
    /* sst.lat names a map of Grid sst: kept with its parent, checked against sst's dimensions later */
    c = ok2("sst.lat[0:1]");
    CHECK_STR(c.proj[0].name, "lat");
    CHECK_STR(c.proj[0].parent, "sst");
    /* sst.sst names the array of Grid sst */
    CHECK_STR(ok2("sst.sst").proj[0].parent, "sst");
    CHECK_INT(bad2("a.b.c").code, ND_E_NOT_FOUND);
    CHECK_INT(bad2("sst[0].sst[1]").code, ND_E_INVALID_PARAM);
}

ND_TEST(dap2_selections_are_counted) {
    nd_dap_ce c = ok2("sst&sst>3&lat<4");
    CHECK_INT(c.nproj, 1);
    CHECK_INT(c.nsel, 2);
    c = ok2("&time>0");
    CHECK_INT(c.nproj, 0);
    CHECK_INT(c.nsel, 1);
    bad2("sst&&x");
}

ND_TEST(dap4_clauses) {
    nd_dap_ce c = ok4("/sst[0:1:10][2][3:];lat[];/lon[1:2:]");
    CHECK_INT(c.nproj, 3);
    CHECK_STR(c.proj[0].name, "/sst"); /* names are fully qualified */
    slice_is(&c.proj[0].slices[0], 0, 1, 10, false);
    slice_is(&c.proj[0].slices[1], 2, 1, 2, false);
    slice_is(&c.proj[0].slices[2], 3, 1, 0, true);
    CHECK_STR(c.proj[1].name, "/lat");
    slice_is(&c.proj[1].slices[0], 0, 1, 0, true);
    slice_is(&c.proj[2].slices[0], 1, 2, 0, true);
    /* DAP4 names may hold dots */
    c = ok4("/a.b[1]");
    CHECK_STR(c.proj[0].name, "/a.b");
    /* variables in groups */
    c = ok4("/g1/g2/v[0:1];/g1/x");
    CHECK_STR(c.proj[0].name, "/g1/g2/v");
    CHECK_INT(c.proj[0].nslices, 1);
    CHECK_STR(c.proj[1].name, "/g1/x");
}

ND_TEST(stride_zero_and_reversed_ranges_refused) {
    nd_error e = bad2("sst[0:0:5]");
    CHECK_INT(e.code, ND_E_INVALID_PARAM);
    CHECK_STR(e.locator, "ce");
    CHECK_CONTAINS(e.detail, "stride of 0");
    CHECK_CONTAINS(bad4("/sst[0:0:5]").detail, "stride of 0");
    CHECK_CONTAINS(bad2("sst[5:1]").detail, "before start");
    CHECK_CONTAINS(bad4("/sst[3:0:]").detail, "stride of 0");
}

ND_TEST(malformed_refused) {
    static const char *const bad[] = {"sst[", "sst[1", "sst[1:", "sst[a]", "sst[-1]", "sst[1:2:3:4]", "sst]", "[1]",
                                      ",sst", "sst,", "sst[1]x", "sst..lat", "sst[ 1]", "f(sst)", "sst[]",
                                      "sst[1:]", "\"sst\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nd_error e = bad2(bad[i]);
        if (e.code != ND_E_INVALID_PARAM && e.code != ND_E_NOT_IMPLEMENTED && e.code != ND_E_NOT_FOUND)
            ND_FAIL_AT("'%s' gave %s", bad[i], nd_error_name(e.code));
    }
    static const char *const bad4s[] = {"/", "/sst[", "/sst;", ";", "/sst{x}", "/sst|x>1", "/g//sst", "/g/", "d=[0:3]",
                                        "/sst[1:2:3:4]", "/sst]"};
    for (size_t i = 0; i < sizeof bad4s / sizeof bad4s[0]; i++) bad4(bad4s[i]);
}

ND_TEST(numbers_bounded) {
    CHECK_CONTAINS(bad2("sst[99999999999999999999999]").detail, "too large");
    CHECK_CONTAINS(bad2("sst[0:1:18446744073709551615]").detail, "too large");
    nd_dap_ce c = ok2("sst[0:1:281474976710656]"); /* 2^48: the largest index accepted */
    slice_is(&c.proj[0].slices[0], 0, 1, (size_t)1 << 48, false);
    bad2("sst[0:1:281474976710657]");
}

/* Huge inputs: refused or parsed in linear time, with bounded counts. */
ND_TEST(huge_inputs_bounded) {
    size_t n = ND_DAP_MAX_CE + 10;
    char *s = malloc(n + 1);
    memset(s, 'a', n);
    s[n] = 0;
    CHECK_CONTAINS(bad2(s).detail, "longer than");
    /* many projections */
    size_t k = 0;
    for (int i = 0; i < 2000 && k + 3 < ND_DAP_MAX_CE; i++) k += (size_t)sprintf(s + k, "%sa", i ? "," : "");
    CHECK_CONTAINS(bad2(s).detail, "projections");
    /* too many dimensions */
    k = (size_t)sprintf(s, "a");
    for (int i = 0; i < ND_DAP_MAX_RANK + 1; i++) k += (size_t)sprintf(s + k, "[0]");
    CHECK_CONTAINS(bad2(s).detail, "dimensions");
    /* a long valid constraint parses quickly */
    k = 0;
    for (int i = 0; i < ND_DAP_MAX_PROJ; i++) k += (size_t)sprintf(s + k, "%sv%d[0:1:9][2]", i ? "," : "", i);
    clock_t t0 = clock();
    nd_dap_ce c = ok2(s);
    CHECK_INT(c.nproj, ND_DAP_MAX_PROJ);
    CHECK((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
    free(s);
    nd_arena_free(A);
    A = NULL;
}
