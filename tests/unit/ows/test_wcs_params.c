/* WCS parameter parsing: SUBSET syntax, CRS identifiers, formats, interpolations, and the 2.0 parameters applied
 * to a subset of an in-memory dataset (axis labels, scaling, range subsetting, each mistake's exception). */
#include <gdal.h>

#include "nadir/wcs.h"
#include "test.h"

ND_TEST(parse_dim_trim_slice_and_crs) {
    nd_arena *a = nd_arena_new(4096);
    nd_error e = {0};
    nd_wcs_dim d;
    CHECK_INT(nd_wcs_parse_dim(a, "Lat(45.5,50)", &d, &e), 0);
    CHECK_STR(d.axis, "Lat");
    CHECK(!d.slice && !d.crs);
    CHECK_STR(d.lo, "45.5");
    CHECK_STR(d.hi, "50");
    CHECK_INT(nd_wcs_parse_dim(a, " time ( \"2025-01-05T00:00:00Z\" ) ", &d, &e), 0);
    CHECK(d.slice);
    CHECK_STR(d.axis, "time");
    CHECK_STR(d.lo, "2025-01-05T00:00:00Z");
    CHECK_INT(nd_wcs_parse_dim(a, "E,http://www.opengis.net/def/crs/EPSG/0/32631(*,400000)", &d, &e), 0);
    CHECK_STR(d.axis, "E");
    CHECK_STR(d.crs, "http://www.opengis.net/def/crs/EPSG/0/32631");
    CHECK_STR(d.lo, "*");
    CHECK_STR(d.hi, "400000");
    /* a comma inside quotes is not the separator */
    CHECK_INT(nd_wcs_parse_dim(a, "t(\"a,b\",\"c\")", &d, &e), 0);
    CHECK_STR(d.lo, "a,b");
    nd_arena_free(a);
}

ND_TEST(parse_dim_rejects_malformed) {
    nd_arena *a = nd_arena_new(4096);
    nd_wcs_dim d;
    const char *bad[] = {"Lat", "Lat(", "Lat)1(", "Lat(1,2)x", "Lat()", "Lat(*)", "Lat(1,2,3)", "(1,2)", "Lat(1,)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nd_error e = {0};
        CHECK(nd_wcs_parse_dim(a, bad[i], &d, &e) < 0);
        CHECK(e.code == ND_E_INVALID_SUBSETTING || e.code == ND_E_INVALID_AXIS_LABEL);
    }
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    nd_error e = {0};
    CHECK(nd_wcs_parse_dim(a, big, &d, &e) < 0);
    nd_arena_free(a);
}

ND_TEST(crs_identifiers) {
    bool ll;
    GDALAllRegister();
    CHECK_INT(nd_wcs_crs_code("EPSG:32631", &ll), 32631);
    CHECK(!ll);
    CHECK_INT(nd_wcs_crs_code("http://www.opengis.net/def/crs/EPSG/0/4326", &ll), 4326);
    CHECK_INT(nd_wcs_crs_code("urn:ogc:def:crs:EPSG::3857", &ll), 3857);
    CHECK_INT(nd_wcs_crs_code("http://www.opengis.net/def/crs/OGC/1.3/CRS84", &ll), 4326);
    CHECK(ll);
    CHECK_INT(nd_wcs_crs_code("EPSG:999999", &ll), 0);
    CHECK_INT(nd_wcs_crs_code("EPSG:12abc", &ll), 0);
    CHECK_INT(nd_wcs_crs_code("+proj=longlat", &ll), 0);
    CHECK_INT(nd_wcs_crs_code(NULL, &ll), 0);
}

ND_TEST(formats_and_interpolations) {
    nd_out_format f;
    CHECK(nd_wcs_format(NULL, &f) && f == ND_OUT_GTIFF);
    CHECK(nd_wcs_format("image/tiff", &f) && f == ND_OUT_GTIFF);
    CHECK(nd_wcs_format("image/tiff; application=geotiff", &f) && f == ND_OUT_GTIFF);
    CHECK(nd_wcs_format("image/tiff;application=cog", &f) && f == ND_OUT_COG);
    CHECK(nd_wcs_format("GeoTIFF", &f) && f == ND_OUT_GTIFF);
    CHECK(nd_wcs_format("application/netcdf", &f) && f == ND_OUT_NETCDF);
    CHECK(nd_wcs_format("image/png", &f) && f == ND_OUT_PNG);
    CHECK(!nd_wcs_format("image/jpeg", &f));
    nd_resampling r;
    CHECK(nd_wcs_interpolation("http://www.opengis.net/def/interpolation/OGC/1/nearest-neighbour", &r) &&
          r == ND_RESAMPLE_NEAREST);
    CHECK(nd_wcs_interpolation("http://www.opengis.net/def/interpolation/OGC/1/linear", &r) && r == ND_RESAMPLE_BILINEAR);
    CHECK(nd_wcs_interpolation("cubic", &r) && r == ND_RESAMPLE_CUBIC);
    CHECK(!nd_wcs_interpolation("http://www.opengis.net/def/interpolation/OGC/1/lost-area", &r));
}

/* A 100x50 EPSG:4326 dataset, one degree cells from (0, 50), three variables and a 4-step time axis. */
typedef struct {
    nd_dataset ds;
    nd_variable vars[3];
    nd_time_axis t;
    double tv[4];
    nd_datetime dates[4];
    char *dims[3];
    size_t shape[3];
} fake;

static void fake_init(fake *f) {
    memset(f, 0, sizeof *f);
    static nd_dataset_conf conf = {.id = "fake"};
    f->ds.conf = &conf;
    f->ds.id = "fake";
    f->ds.width = 100, f->ds.height = 50;
    double gt[6] = {0, 1, 0, 50, 0, -1};
    memcpy(f->ds.geotransform, gt, sizeof gt);
    f->ds.bbox[0] = 0, f->ds.bbox[1] = 0, f->ds.bbox[2] = 100, f->ds.bbox[3] = 50;
    f->ds.crs_wkt = "EPSG:4326";
    f->ds.epsg = 4326;
    f->ds.x_name = f->ds.x_dim = "lon";
    f->ds.y_name = f->ds.y_dim = "lat";
    f->t.name = "time";
    f->t.n = 4;
    f->t.values = f->tv;
    f->t.dates = f->dates;
    nd_time_units_parse("days since 2025-01-01", "standard", &f->t.tu);
    for (int i = 0; i < 4; i++) {
        f->tv[i] = 2 * i;
        nd_time_decode(&f->t.tu, f->tv[i], &f->dates[i]);
    }
    f->ds.time = &f->t;
    f->dims[0] = "time", f->dims[1] = "lat", f->dims[2] = "lon";
    f->shape[0] = 4, f->shape[1] = 50, f->shape[2] = 100;
    static const char *const names[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        f->vars[i].name = (char *)names[i];
        f->vars[i].ndims = 3;
        f->vars[i].dims = f->dims;
        f->vars[i].shape = f->shape;
        f->vars[i].nc_type = 5; /* NC_FLOAT */
        f->vars[i].has_time = true;
    }
    f->ds.vars = f->vars;
    f->ds.nvars = 3;
}

/* Applies the query of url to a fresh subset of f; returns the code (0 or negative). */
static int apply(fake *f, const char *url, nd_subset *s, nd_errcode *code) {
    nd_req *rq = nd_req_new_test(NULL, "GET", url, NULL);
    memset(s, 0, sizeof *s);
    s->ds = &f->ds;
    int rc = nd_wcs20_apply(rq, s, &rq->err);
    *code = rq->err.code;
    /* strings the subset points to live in the request arena: keep what the tests read */
    s->window_crs = s->window_crs ? "set" : NULL;
    s->out_crs = s->out_crs ? "set" : NULL;
    nd_req_free_test(rq);
    return rc;
}

ND_TEST(apply_subsets_axes_and_time) {
    GDALAllRegister();
    fake f;
    fake_init(&f);
    nd_subset s;
    nd_errcode c;
    CHECK_INT(apply(&f, "/wcs?SUBSET=Long(10,20)&SUBSET=Lat(5,6)&SUBSET=time(\"2025-01-03\",\"2025-01-05\")", &s, &c), 0);
    CHECK(s.has_x && s.has_y);
    CHECK_NEAR(s.xlo, 10, 0);
    CHECK_NEAR(s.xhi, 20, 0);
    CHECK_NEAR(s.ylo, 5, 0);
    CHECK_INT(s.t0, 1);
    CHECK_INT(s.nt, 2);
    CHECK(!s.window_crs);
    CHECK_INT(apply(&f, "/wcs?SUBSET=time(2025-01-04T13:00:00Z)", &s, &c), 0);
    CHECK_INT(s.t0, 2); /* nearest step: day 5 is 11 h away, day 3 is 37 h */
    CHECK_INT(s.nt, 1);
    CHECK_INT(apply(&f, "/wcs?SUBSET=Long(*,20)", &s, &c), 0);
    CHECK_NEAR(s.xlo, 0, 0);
    CHECK_INT(apply(&f, "/wcs?SUBSET=E(1,2)&SUBSETTINGCRS=EPSG:32631", &s, &c), 0);
    CHECK(s.window_crs);
    /* each mistake, its code */
    struct {
        const char *url;
        nd_errcode code;
    } bad[] = {
        {"/wcs?SUBSET=foo(1,2)", ND_E_INVALID_AXIS_LABEL},
        {"/wcs?SUBSET=Long(1,2)&SUBSET=Long(3,4)", ND_E_INVALID_AXIS_LABEL},
        {"/wcs?SUBSET=Long(5,1)", ND_E_INVALID_SUBSETTING},
        {"/wcs?SUBSET=Long(x,1)", ND_E_INVALID_SUBSETTING},
        {"/wcs?SUBSET=time(\"2024-01-01\")", ND_E_INVALID_SUBSETTING},
        {"/wcs?SUBSET=time(\"2025-01-02T01:00:00Z\",\"2025-01-02T02:00:00Z\")", ND_E_INVALID_SUBSETTING},
        {"/wcs?SUBSET=time(2025-01-05,2025-01-01)", ND_E_INVALID_SUBSETTING},
        {"/wcs?SUBSET=Long(1,2)&SUBSETTINGCRS=EPSG:0", ND_E_SUBSETTING_CRS_NOT_SUPPORTED},
        {"/wcs?SUBSET=Long,EPSG:77777777(1,2)", ND_E_SUBSETTING_CRS_NOT_SUPPORTED},
        {"/wcs?OUTPUTCRS=bogus", ND_E_OUTPUT_CRS_NOT_SUPPORTED},
        {"/wcs?SCALEFACTOR=0", ND_E_INVALID_SCALE_FACTOR},
        {"/wcs?SCALEFACTOR=nan", ND_E_INVALID_SCALE_FACTOR},
        {"/wcs?SCALEAXES=Long(-1)", ND_E_INVALID_SCALE_FACTOR},
        {"/wcs?SCALEAXES=Long(2", ND_E_INVALID_SCALE_FACTOR},
        {"/wcs?SCALESIZE=i(1.5)", ND_E_INVALID_EXTENT},
        {"/wcs?SCALEEXTENT=i(5:1)", ND_E_INVALID_EXTENT},
        {"/wcs?SCALESIZE=q(5)", ND_E_INVALID_AXIS_LABEL},
        {"/wcs?SCALEFACTOR=2&SCALESIZE=i(5)", ND_E_INVALID_PARAM},
        {"/wcs?RANGESUBSET=z", ND_E_NO_SUCH_FIELD},
        {"/wcs?RANGESUBSET=c:a", ND_E_INVALID_PARAM},
        {"/wcs?INTERPOLATION=magic", ND_E_INTERPOLATION_NOT_SUPPORTED},
        {"/wcs?FORMAT=text/html", ND_E_INVALID_PARAM},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (apply(&f, bad[i].url, &s, &c) >= 0 || c != bad[i].code)
            ND_FAIL_AT("%s gave %s, expected %s", bad[i].url, nd_error_name(c), nd_error_name(bad[i].code));
    }
}

ND_TEST(apply_scaling_and_range) {
    GDALAllRegister();
    fake f;
    fake_init(&f);
    nd_subset s;
    nd_errcode c;
    CHECK_INT(apply(&f, "/wcs?SCALEFACTOR=2.5", &s, &c), 0);
    CHECK_NEAR(s.scale_x, 2.5, 0);
    CHECK_NEAR(s.scale_y, 2.5, 0);
    CHECK_INT(apply(&f, "/wcs?SCALEAXES=Long(2),Lat(4)", &s, &c), 0);
    CHECK_NEAR(s.scale_x, 2, 0);
    CHECK_NEAR(s.scale_y, 4, 0);
    CHECK_INT(apply(&f, "/wcs?SCALESIZE=http://www.opengis.net/def/axis/OGC/1/i(30),j(20)", &s, &c), 0);
    CHECK_INT(s.width, 30);
    CHECK_INT(s.height, 20);
    CHECK_INT(apply(&f, "/wcs?SCALEEXTENT=i(0:9),j(10:19)", &s, &c), 0);
    CHECK_INT(s.width, 10);
    CHECK_INT(s.height, 10);
    CHECK_INT(apply(&f, "/wcs?RANGESUBSET=c,a:b", &s, &c), 0);
    CHECK_INT(s.nvars, 3);
    CHECK_STR(s.vars[0]->name, "c");
    CHECK_STR(s.vars[1]->name, "a");
    CHECK_STR(s.vars[2]->name, "b");
    CHECK_INT(apply(&f, "/wcs?RANGESUBSET=2", &s, &c), 0);
    CHECK_STR(s.vars[0]->name, "b");
}

ND_TEST(plan_windows_and_limits) {
    GDALAllRegister();
    fake f;
    fake_init(&f);
    nd_subset s = {.ds = &f.ds};
    nd_subset_plan p;
    nd_error e = {0};
    s.has_x = s.has_y = true;
    s.xlo = 10.2, s.xhi = 20.6, s.ylo = 5, s.yhi = 6;
    CHECK_INT(nd_subset_plan_make(&s, &p, &e), 0);
    /* gdal_translate's rounding: offset floor(10.2 + 0.001), size floor(10.4 + 0.5) */
    CHECK_INT(p.xoff, 10);
    CHECK_INT(p.xsize, 10);
    CHECK_INT(p.yoff, 44);
    CHECK_INT(p.ysize, 1);
    CHECK_INT(p.nbands, 12); /* 3 variables x 4 steps */
    CHECK_INT(p.bytes, 10 * 1 * 12 * 4);
    /* slices take the cell holding the point */
    s.xlo = s.xhi = 33.7;
    CHECK_INT(nd_subset_plan_make(&s, &p, &e), 0);
    CHECK_INT(p.xoff, 33);
    CHECK_INT(p.xsize, 1);
    CHECK_NEAR(p.ulx, 33, 0);
    CHECK_NEAR(p.lrx, 34, 0);
    /* partly outside: clipped; wholly outside: InvalidSubsetting */
    s.xlo = -50, s.xhi = 5;
    CHECK_INT(nd_subset_plan_make(&s, &p, &e), 0);
    CHECK_INT(p.xoff, 0);
    CHECK_INT(p.xsize, 5);
    s.xlo = 200, s.xhi = 300;
    CHECK(nd_subset_plan_make(&s, &p, &e) < 0);
    CHECK_INT(e.code, ND_E_INVALID_SUBSETTING);
    /* scaling */
    s.xlo = 0, s.xhi = 100, s.has_y = false, s.scale_x = s.scale_y = 4;
    CHECK_INT(nd_subset_plan_make(&s, &p, &e), 0);
    CHECK_INT(p.out_w, 25);
    CHECK_INT(p.out_h, 13);
    /* the limit is checked on the estimate */
    s.scale_x = s.scale_y = 0.01;
    s.max_bytes = 1 << 20;
    CHECK(nd_subset_plan_make(&s, &p, &e) < 0);
    CHECK_INT(e.code, ND_E_TOO_LARGE);
    /* reprojection: extent transformed, warp chosen */
    nd_subset w = {.ds = &f.ds, .out_crs = "EPSG:3857", .width = 64, .height = 32};
    CHECK_INT(nd_subset_plan_make(&w, &p, &e), 0);
    CHECK(p.warp);
    CHECK_INT(p.out_w, 64);
    CHECK_NEAR(p.te[0], 0, 1e-6);
    CHECK_NEAR(p.te[2], 100 * 111319.49079327357, 1e-3);
    nd_subset bad = {.ds = &f.ds, .out_crs = "EPSG:0"};
    CHECK(nd_subset_plan_make(&bad, &p, &e) < 0);
    CHECK_INT(e.code, ND_E_OUTPUT_CRS_NOT_SUPPORTED);
}

ND_TEST(time_helpers) {
    fake f;
    fake_init(&f);
    nd_datetime d;
    nd_datetime_parse("2025-01-07", &d);
    CHECK_INT(nd_subset_time_index(&f.ds, &d), 3);
    nd_datetime_parse("2025-01-08", &d);
    CHECK_INT(nd_subset_time_index(&f.ds, &d), -1);
    nd_datetime lo, hi;
    size_t first;
    nd_datetime_parse("2025-01-02", &lo);
    nd_datetime_parse("2025-01-07", &hi);
    CHECK_INT(nd_subset_time_range(&f.ds, &lo, &hi, &first), 3);
    CHECK_INT(first, 1);
    CHECK_INT(nd_subset_time_range(&f.ds, NULL, &lo, &first), 1);
    CHECK_INT(first, 0);
}
