/* data/subset: GeoTIFF windows equal GDAL's own reads of the source, NetCDF windows carry coordinates, time,
 * attributes and the stored values, and failures leave no file behind. */
#include <gdal.h>
#include <netcdf.h>
#include <ogr_srs_api.h>
#include <unistd.h>

#include "nadir/subset.h"
#include "test.h"

static const char *path_in(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 512, "%s/%s", nd_test_tmp_dir(), name);
    return p;
}

/* A 64x48 Int16 2-band GeoTIFF in UTM 31N with values b*10000 + row*100 + col. */
static const char *make_tif(void) {
    GDALAllRegister();
    const char *p = path_in("src.tif");
    GDALDatasetH h = GDALCreate(GDALGetDriverByName("GTiff"), p, 64, 48, 2, GDT_Int16, NULL);
    double gt[6] = {300000, 20, 0, 5000000, 0, -20};
    GDALSetGeoTransform(h, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32631);
    GDALSetSpatialRef(h, srs);
    OSRDestroySpatialReference(srs);
    short row[64];
    for (int b = 1; b <= 2; b++) {
        GDALRasterBandH band = GDALGetRasterBand(h, b);
        GDALSetRasterNoDataValue(band, -1);
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) row[x] = (short)(b * 10000 + y * 100 + x);
            CHECK(GDALRasterIO(band, GF_Write, 0, y, 64, 1, row, 64, 1, GDT_Int16, 0, 0) == CE_None);
        }
    }
    GDALClose(h);
    return p;
}

static nd_dataset *open_ds(const char *src) {
    static nd_dataset_conf conf;
    memset(&conf, 0, sizeof conf);
    conf.id = "t";
    conf.source = (char *)src;
    nd_dataset *ds = NULL;
    char err[512];
    if (nd_dataset_open(&conf, &ds, err, sizeof err) < 0) ND_FAIL_AT("open: %s", err);
    return ds;
}

ND_TEST(geotiff_window_values_and_georeferencing) {
    nd_dataset *ds = open_ds(make_tif());
    nd_subset s = {.ds = ds, .has_x = true, .has_y = true, .xlo = 300200, .xhi = 300600, .ylo = 4999300, .yhi = 4999500};
    s.vars[0] = &ds->vars[1];
    s.nvars = 1;
    nd_error e = {0};
    const char *out = path_in("out.tif");
    CHECK_INT(nd_subset_write(&s, out, &e), 0);
    GDALDatasetH h = GDALOpen(out, GA_ReadOnly);
    CHECK(h);
    CHECK_INT(GDALGetRasterXSize(h), 20);
    CHECK_INT(GDALGetRasterYSize(h), 10);
    CHECK_INT(GDALGetRasterCount(h), 1);
    double gt[6];
    GDALGetGeoTransform(h, gt);
    CHECK_NEAR(gt[0], 300200, 0);
    CHECK_NEAR(gt[3], 4999500, 0);
    short v[200];
    CHECK(GDALRasterIO(GDALGetRasterBand(h, 1), GF_Read, 0, 0, 20, 10, v, 20, 10, GDT_Int16, 0, 0) == CE_None);
    /* window starts at column 10, row 25 of band 2 */
    CHECK_INT(v[0], 20000 + 25 * 100 + 10);
    CHECK_INT(v[199], 20000 + 34 * 100 + 29);
    int has = 0;
    CHECK_NEAR(GDALGetRasterNoDataValue(GDALGetRasterBand(h, 1), &has), -1, 0);
    CHECK(has);
    GDALClose(h);
    nd_dataset_free(ds);
}

ND_TEST(geotiff_scaled) {
    nd_dataset *ds = open_ds(make_tif());
    nd_subset s = {.ds = ds, .scale_x = 2, .scale_y = 2};
    nd_error e = {0};
    const char *out = path_in("half.tif");
    CHECK_INT(nd_subset_write(&s, out, &e), 0);
    GDALDatasetH h = GDALOpen(out, GA_ReadOnly);
    CHECK_INT(GDALGetRasterXSize(h), 32);
    CHECK_INT(GDALGetRasterYSize(h), 24);
    CHECK_INT(GDALGetRasterCount(h), 2);
    short v[4];
    /* nearest: every second cell */
    CHECK(GDALRasterIO(GDALGetRasterBand(h, 1), GF_Read, 0, 0, 2, 2, v, 2, 2, GDT_Int16, 0, 0) == CE_None);
    CHECK_INT(v[1] - v[0], 2);
    CHECK_INT(v[2] - v[0], 200);
    GDALClose(h);
    nd_dataset_free(ds);
}

ND_TEST(failure_leaves_no_file) {
    nd_dataset *ds = open_ds(make_tif());
    nd_subset s = {.ds = ds, .has_x = true, .xlo = 0, .xhi = 10};
    nd_error e = {0};
    const char *out = path_in("never.tif");
    CHECK(nd_subset_write(&s, out, &e) < 0);
    CHECK_INT(e.code, ND_E_INVALID_SUBSETTING);
    CHECK(access(out, F_OK) != 0);
    nd_subset big = {.ds = ds, .width = 100000, .height = 100000, .max_bytes = 1000};
    CHECK(nd_subset_write(&big, out, &e) < 0);
    CHECK_INT(e.code, ND_E_TOO_LARGE);
    CHECK(access(out, F_OK) != 0);
    nd_dataset_free(ds);
}

/* Two daily CF files of a 6x4 float field, joined along time. */
static void make_nc(const char *dir, int day) {
    char p[600];
    snprintf(p, sizeof p, "%s/f_2025010%d.nc", dir, day);
    int nc, dt, dy, dx, vt, vy, vx, v;
    CHECK_INT(nc_create(p, NC_NETCDF4 | NC_CLOBBER, &nc), NC_NOERR);
    nc_def_dim(nc, "time", 1, &dt);
    nc_def_dim(nc, "lat", 4, &dy);
    nc_def_dim(nc, "lon", 6, &dx);
    nc_def_var(nc, "time", NC_DOUBLE, 1, &dt, &vt);
    nc_put_att_text(nc, vt, "units", 27, "hours since 2025-01-01 00:00");
    nc_put_att_text(nc, vt, "calendar", 7, "noleap");
    nc_def_var(nc, "lat", NC_DOUBLE, 1, &dy, &vy);
    nc_put_att_text(nc, vy, "units", 13, "degrees_north");
    nc_def_var(nc, "lon", NC_DOUBLE, 1, &dx, &vx);
    nc_put_att_text(nc, vx, "units", 12, "degrees_east");
    int dims[3] = {dt, dy, dx};
    nc_def_var(nc, "temp", NC_FLOAT, 3, dims, &v);
    nc_put_att_text(nc, v, "units", 1, "K");
    nc_put_att_text(nc, v, "long_name", 11, "temperature");
    float fill = -999;
    nc_put_att_float(nc, v, "_FillValue", NC_FLOAT, 1, &fill);
    nc_put_att_text(nc, NC_GLOBAL, "title", 4, "test");
    nc_enddef(nc);
    double t = (day - 1) * 24.0, lat[4] = {10.5, 11.5, 12.5, 13.5}, lon[6] = {0.5, 1.5, 2.5, 3.5, 4.5, 5.5};
    nc_put_var_double(nc, vt, &t);
    nc_put_var_double(nc, vy, lat);
    nc_put_var_double(nc, vx, lon);
    float val[24];
    for (int i = 0; i < 24; i++) val[i] = (float)(day * 1000 + i);
    nc_put_var_float(nc, v, val);
    nc_close(nc);
}

ND_TEST(netcdf_window_over_an_aggregation) {
    make_nc(nd_test_tmp_dir(), 1);
    make_nc(nd_test_tmp_dir(), 2);
    char glob[600];
    snprintf(glob, sizeof glob, "%s/f_*.nc", nd_test_tmp_dir());
    nd_dataset *ds = open_ds(glob);
    CHECK_INT(ds->time->n, 2);
    /* lon 1..4, lat 11..13, day 2 only */
    nd_subset s = {.ds = ds, .has_x = true, .has_y = true, .xlo = 1, .xhi = 4, .ylo = 11, .yhi = 13, .t0 = 1, .nt = 1,
                   .format = ND_OUT_NETCDF};
    nd_error e = {0};
    const char *out = path_in("out.nc");
    if (nd_subset_write(&s, out, &e) < 0) ND_FAIL_AT("write: %s", e.detail);
    int nc, v;
    CHECK_INT(nc_open(out, NC_NOWRITE, &nc), NC_NOERR);
    size_t n;
    int d;
    CHECK_INT(nc_inq_dimid(nc, "lon", &d), NC_NOERR);
    nc_inq_dimlen(nc, d, &n);
    CHECK_INT(n, 3);
    CHECK_INT(nc_inq_dimid(nc, "lat", &d), NC_NOERR);
    nc_inq_dimlen(nc, d, &n);
    CHECK_INT(n, 2);
    double lat[2], lon[3], t;
    nc_inq_varid(nc, "lat", &v);
    nc_get_var_double(nc, v, lat);
    nc_inq_varid(nc, "lon", &v);
    nc_get_var_double(nc, v, lon);
    CHECK_NEAR(lat[0], 11.5, 0);
    CHECK_NEAR(lon[0], 1.5, 0);
    nc_inq_varid(nc, "time", &v);
    nc_get_var_double(nc, v, &t);
    CHECK_NEAR(t, 24, 0);
    char cal[32] = "";
    nc_get_att_text(nc, v, "calendar", cal);
    CHECK(strncmp(cal, "noleap", 6) == 0);
    float val[6];
    nc_inq_varid(nc, "temp", &v);
    nc_get_var_float(nc, v, val);
    /* stored rows 1..2 (lat 11.5, 12.5), columns 1..3 of day 2 */
    CHECK_NEAR(val[0], 2000 + 1 * 6 + 1, 0);
    CHECK_NEAR(val[5], 2000 + 2 * 6 + 3, 0);
    float fill = 0;
    nc_get_att_float(nc, v, "_FillValue", &fill);
    CHECK_NEAR(fill, -999, 0);
    char gm[16] = "";
    nc_get_att_text(nc, v, "grid_mapping", gm);
    CHECK(strncmp(gm, "crs", 3) == 0);
    char title[8] = "";
    nc_get_att_text(nc, NC_GLOBAL, "title", title);
    CHECK(strncmp(title, "test", 4) == 0);
    nc_close(nc);
    nd_dataset_free(ds);
}
