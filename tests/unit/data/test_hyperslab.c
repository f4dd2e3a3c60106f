/* Hyperslabs: values equal to direct netCDF-C / GDAL reads bit for bit, strides, aggregation boundaries, bad windows. */
#include <gdal.h>
#include <netcdf.h>
#include <stdbool.h>
#include <stdint.h>

#include "nadir/read.h"
#include "test.h"

#define NC(call) CHECK_INT((call), NC_NOERR)

static const char *tmp(const char *name) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", nd_test_tmp_dir(), name);
    return b;
}

/* value(t, y, x) of the test field: distinct everywhere, so a misplaced cell shows. */
static float field(size_t t, size_t y, size_t x) { return (float)(t * 10000 + y * 100 + x) + 0.25f; }

/* A daily file with nt steps from day t0: time(time) int, lat, lon, sst(time,lat,lon) float, flag(time,lat,lon)
 * ushort; lat/lon 6x8 degrees. */
static void make_day_file(const char *path, size_t t0, size_t nt, bool unlimited) {
    int nc, dt, dy, dx, vt, vy, vx, vs, vf, vr;
    NC(nc_create(path, NC_CLOBBER | NC_NETCDF4, &nc));
    NC(nc_def_dim(nc, "time", unlimited ? NC_UNLIMITED : nt, &dt));
    NC(nc_def_dim(nc, "lat", 6, &dy));
    NC(nc_def_dim(nc, "lon", 8, &dx));
    NC(nc_def_var(nc, "time", NC_INT, 1, &dt, &vt));
    NC(nc_put_att_text(nc, vt, "units", 22, "days since 2025-01-01"));
    NC(nc_def_var(nc, "lat", NC_DOUBLE, 1, &dy, &vy));
    NC(nc_put_att_text(nc, vy, "units", 13, "degrees_north"));
    NC(nc_def_var(nc, "lon", NC_DOUBLE, 1, &dx, &vx));
    NC(nc_put_att_text(nc, vx, "units", 12, "degrees_east"));
    int dims[3] = {dt, dy, dx};
    NC(nc_def_var(nc, "sst", NC_FLOAT, 3, dims, &vs));
    NC(nc_def_var(nc, "flag", NC_USHORT, 3, dims, &vf));
    NC(nc_def_var(nc, "tr", NC_FLOAT, 3, (int[]){dy, dt, dx}, &vr));
    NC(nc_enddef(nc));
    int tv[16];
    double lat[6], lon[8];
    for (size_t i = 0; i < nt; i++) tv[i] = (int)(t0 + i);
    for (int i = 0; i < 6; i++) lat[i] = 10.5 + i;
    for (int i = 0; i < 8; i++) lon[i] = 20.5 + i;
    NC(nc_put_vara_int(nc, vt, (size_t[]){0}, (size_t[]){nt}, tv));
    NC(nc_put_var_double(nc, vy, lat));
    NC(nc_put_var_double(nc, vx, lon));
    float *s = malloc(nt * 48 * sizeof *s);
    unsigned short *f = malloc(nt * 48 * sizeof *f);
    for (size_t t = 0; t < nt; t++)
        for (size_t y = 0; y < 6; y++)
            for (size_t x = 0; x < 8; x++) {
                s[(t * 6 + y) * 8 + x] = field(t0 + t, y, x);
                f[(t * 6 + y) * 8 + x] = (unsigned short)(60000 + (t0 + t) * 48 + y * 8 + x);
            }
    NC(nc_put_vara_float(nc, vs, (size_t[]){0, 0, 0}, (size_t[]){nt, 6, 8}, s));
    NC(nc_put_vara_ushort(nc, vf, (size_t[]){0, 0, 0}, (size_t[]){nt, 6, 8}, f));
    for (size_t y = 0; y < 6; y++)
        for (size_t t = 0; t < nt; t++)
            for (size_t x = 0; x < 8; x++) s[(y * nt + t) * 8 + x] = field(t0 + t, y, x) + 0.5f;
    NC(nc_put_vara_float(nc, vr, (size_t[]){0, 0, 0}, (size_t[]){6, nt, 8}, s));
    NC(nc_close(nc));
    free(s);
    free(f);
}

static nd_dataset *open_ds(const char *src) {
    static nd_dataset_conf confs[4];
    static int k;
    nd_dataset_conf *c = &confs[k++ % 4];
    *c = (nd_dataset_conf){.id = "t", .source = (char *)src};
    nd_dataset *ds = NULL;
    char err[512];
    if (nd_dataset_open(c, &ds, err, sizeof err) != 0) ND_FAIL_AT("open %s: %s", src, err);
    return ds;
}

/* Three files of 3, 2 and 4 steps: days 0-2, 3-4, 5-8. */
static nd_dataset *aggregation(void) {
    make_day_file(tmp("agg_b.nc"), 3, 2, true);
    make_day_file(tmp("agg_a.nc"), 0, 3, false);
    make_day_file(tmp("agg_c.nc"), 5, 4, true);
    return open_ds(tmp("agg_*.nc"));
}

/* Direct strided read from one file with netCDF-C. */
static void direct(const char *path, const char *var, const size_t *st, const size_t *ct, const ptrdiff_t *sd,
                   void *out) {
    int nc, v;
    NC(nc_open(path, NC_NOWRITE, &nc));
    NC(nc_inq_varid(nc, var, &v));
    NC(nc_get_vars(nc, v, st, ct, sd, out));
    NC(nc_close(nc));
}

ND_TEST(single_file_equals_netcdf_bit_for_bit) {
    make_day_file(tmp("one.nc"), 0, 5, true);
    nd_dataset *ds = open_ds(tmp("one.nc"));
    const nd_variable *v = nd_dataset_var(ds, "sst");
    CHECK(v != NULL);
    CHECK_INT(nd_var_type_size(v), 4);
    size_t st[3] = {1, 1, 2}, ct[3] = {2, 3, 3};
    ptrdiff_t sd[3] = {2, 2, 2};
    float got[18], want[18];
    nd_error e = {0};
    CHECK_INT(nd_read_hyperslab(ds, v, st, ct, sd, got, &e), 0);
    direct(tmp("one.nc"), "sst", st, ct, sd, want);
    CHECK(memcmp(got, want, sizeof got) == 0);
    CHECK(got[0] == field(1, 1, 2));
    CHECK(got[17] == field(3, 5, 6));
    nd_dataset_free(ds);
}

ND_TEST(aggregation_equals_concatenation_across_boundaries) {
    nd_dataset *ds = aggregation();
    CHECK_INT(ds->nfiles, 3);
    CHECK_INT(ds->time->n, 9);
    const nd_variable *v = nd_dataset_var(ds, "sst");
    CHECK_INT(v->shape[0], 9);
    /* Every step, all cells: the whole joined variable. */
    float all[9 * 48];
    nd_error e = {0};
    CHECK_INT(nd_read_hyperslab(ds, v, (size_t[]){0, 0, 0}, (size_t[]){9, 6, 8}, (ptrdiff_t[]){1, 1, 1}, all, &e), 0);
    float want[9 * 48];
    direct(tmp("agg_a.nc"), "sst", (size_t[]){0, 0, 0}, (size_t[]){3, 6, 8}, (ptrdiff_t[]){1, 1, 1}, want);
    direct(tmp("agg_b.nc"), "sst", (size_t[]){0, 0, 0}, (size_t[]){2, 6, 8}, (ptrdiff_t[]){1, 1, 1}, want + 3 * 48);
    direct(tmp("agg_c.nc"), "sst", (size_t[]){0, 0, 0}, (size_t[]){4, 6, 8}, (ptrdiff_t[]){1, 1, 1}, want + 5 * 48);
    CHECK(memcmp(all, want, sizeof all) == 0);
    /* A strided window crossing both boundaries: steps 1, 4, 7 (files a, b, c). */
    float got[3 * 2 * 2];
    CHECK_INT(nd_read_hyperslab(ds, v, (size_t[]){1, 2, 3}, (size_t[]){3, 2, 2}, (ptrdiff_t[]){3, 3, 4}, got, &e), 0);
    for (size_t t = 0; t < 3; t++)
        for (size_t y = 0; y < 2; y++)
            for (size_t x = 0; x < 2; x++) CHECK(got[(t * 2 + y) * 2 + x] == field(1 + 3 * t, 2 + 3 * y, 3 + 4 * x));
    /* Steps 2..3: the last of the first file and the first of the second, in another type. */
    const nd_variable *fl = nd_dataset_var(ds, "flag");
    CHECK_INT(nd_var_type_size(fl), 2);
    unsigned short u[2];
    CHECK_INT(nd_read_hyperslab(ds, fl, (size_t[]){2, 5, 7}, (size_t[]){2, 1, 1}, (ptrdiff_t[]){1, 1, 1}, u, &e), 0);
    CHECK_INT(u[0], 60000 + 2 * 48 + 47);
    CHECK_INT(u[1], 60000 + 3 * 48 + 47);
    nd_dataset_free(ds);
}

/* tr(lat, time, lon): time is not the outermost dimension, so pieces are scattered into place. */
ND_TEST(aggregation_time_not_outermost) {
    nd_dataset *ds = aggregation();
    const nd_variable *v = nd_dataset_var(ds, "tr");
    CHECK(v != NULL);
    CHECK_INT(v->shape[1], 9);
    float got[2 * 4 * 3];
    nd_error e = {0};
    CHECK_INT(nd_read_hyperslab(ds, v, (size_t[]){1, 1, 0}, (size_t[]){2, 4, 3}, (ptrdiff_t[]){3, 2, 3}, got, &e), 0);
    for (size_t y = 0; y < 2; y++)
        for (size_t t = 0; t < 4; t++)
            for (size_t x = 0; x < 3; x++)
                CHECK(got[(y * 4 + t) * 3 + x] == field(1 + 2 * t, 1 + 3 * y, 3 * x) + 0.5f);
    nd_dataset_free(ds);
}

ND_TEST(coordinate_variables_and_joined_time) {
    nd_dataset *ds = aggregation();
    /* Any variable of the file can be read, not only data variables. */
    char *ldims[1] = {"lat"}, *tdims[1] = {"time"};
    size_t lshape[1] = {6}, tshape[1] = {9};
    nd_variable lat = {.name = "lat", .nc_type = NC_DOUBLE, .ndims = 1, .dims = ldims, .shape = lshape};
    nd_variable tm = {.name = "time", .nc_type = NC_INT, .ndims = 1, .dims = tdims, .shape = tshape};
    double l[3];
    int t[9];
    nd_error e = {0};
    CHECK_INT(nd_read_hyperslab(ds, &lat, (size_t[]){1}, (size_t[]){3}, (ptrdiff_t[]){2}, l, &e), 0);
    CHECK(l[0] == 11.5 && l[1] == 13.5 && l[2] == 15.5);
    CHECK_INT(nd_read_hyperslab(ds, &tm, (size_t[]){0}, (size_t[]){9}, (ptrdiff_t[]){1}, t, &e), 0);
    for (int i = 0; i < 9; i++) CHECK_INT(t[i], i);
    nd_dataset_free(ds);
}

ND_TEST(bad_windows_refused) {
    make_day_file(tmp("bad.nc"), 0, 2, false);
    nd_dataset *ds = open_ds(tmp("bad.nc"));
    const nd_variable *v = nd_dataset_var(ds, "sst");
    float buf[64];
    nd_error e = {0};
    /* stride 0 */
    CHECK(nd_read_hyperslab(ds, v, (size_t[]){0, 0, 0}, (size_t[]){1, 1, 1}, (ptrdiff_t[]){1, 0, 1}, buf, &e) < 0);
    CHECK_INT(e.code, ND_E_INVALID_PARAM);
    /* start past the end */
    e = (nd_error){0};
    CHECK(nd_read_hyperslab(ds, v, (size_t[]){2, 0, 0}, (size_t[]){1, 1, 1}, (ptrdiff_t[]){1, 1, 1}, buf, &e) < 0);
    CHECK_STR(e.locator, "time");
    /* last index past the end through the stride */
    e = (nd_error){0};
    CHECK(nd_read_hyperslab(ds, v, (size_t[]){0, 0, 0}, (size_t[]){1, 2, 1}, (ptrdiff_t[]){1, 6, 1}, buf, &e) < 0);
    CHECK_STR(e.locator, "lat");
    /* overflowing count * stride */
    e = (nd_error){0};
    CHECK(nd_read_hyperslab(ds, v, (size_t[]){0, 0, 0}, (size_t[]){1, 1, SIZE_MAX}, (ptrdiff_t[]){1, 1, PTRDIFF_MAX},
                            buf, &e) < 0);
    /* an empty window reads nothing and succeeds */
    CHECK_INT(nd_read_hyperslab(ds, v, (size_t[]){0, 0, 0}, (size_t[]){0, 1, 1}, (ptrdiff_t[]){1, 1, 1}, buf, &e), 0);
    nd_dataset_free(ds);
}

ND_TEST(every_netcdf_type_has_its_size) {
    static const int types[] = {NC_BYTE, NC_UBYTE, NC_CHAR, NC_SHORT, NC_USHORT, NC_INT, NC_UINT, NC_FLOAT,
                                NC_INT64, NC_UINT64, NC_DOUBLE, NC_STRING};
    static const size_t sizes[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8, sizeof(char *)};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        nd_variable v = {.nc_type = types[i]};
        CHECK_INT(nd_var_type_size(&v), sizes[i]);
    }
    nd_variable r = {.band = 1, .gdal_type = GDT_UInt16};
    CHECK_INT(nd_var_type_size(&r), 2);
}

ND_TEST(raster_equals_gdal_with_strides) {
    GDALAllRegister();
    const char *path = tmp("r.tif");
    GDALDatasetH h = GDALCreate(GDALGetDriverByName("GTiff"), path, 13, 9, 2, GDT_Int16, NULL);
    double gt[6] = {500000, 10, 0, 4000000, 0, -10};
    GDALSetGeoTransform(h, gt);
    GDALSetProjection(h, "EPSG:32631");
    short px[9 * 13];
    for (int b = 1; b <= 2; b++) {
        for (int i = 0; i < 9 * 13; i++) px[i] = (short)(b * 1000 - i * 7);
        CHECK_INT(GDALRasterIO(GDALGetRasterBand(h, b), GF_Write, 0, 0, 13, 9, px, 13, 9, GDT_Int16, 0, 0), CE_None);
    }
    GDALClose(h);
    nd_dataset *ds = open_ds(path);
    const nd_variable *v = &ds->vars[1];
    CHECK_INT(v->band, 2);
    CHECK_INT(nd_var_type_size(v), 2);
    short got[3 * 4];
    nd_error e = {0};
    CHECK_INT(nd_read_hyperslab(ds, v, (size_t[]){1, 2}, (size_t[]){3, 4}, (ptrdiff_t[]){3, 3}, got, &e), 0);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 4; i++) CHECK_INT(got[j * 4 + i], 2000 - ((1 + 3 * j) * 13 + 2 + 3 * i) * 7);
    short whole[9 * 13];
    CHECK_INT(nd_read_hyperslab(ds, v, (size_t[]){0, 0}, (size_t[]){9, 13}, (ptrdiff_t[]){1, 1}, whole, &e), 0);
    CHECK(memcmp(whole, px, sizeof px) == 0);
    CHECK(nd_read_hyperslab(ds, v, (size_t[]){0, 0}, (size_t[]){10, 1}, (ptrdiff_t[]){1, 1}, whole, &e) < 0);
    nd_dataset_free(ds);
}
