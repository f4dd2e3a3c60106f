/* Tests for nd_demo_data_write: the files open in netCDF-C and GDAL, hold the promised answers, and are byte-identical on re-runs. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>

#include <gdal.h>
#include <netcdf.h>
#include <ogr_srs_api.h>

#include "nadir/demodata.h"
#include "test.h"

#define NLON 200
#define NLAT 104

/* Writes the demo into the test's scratch directory under name; returns that path. */
static const char *write_demo(char *dir, size_t n, const char *name, const char *samples) {
    char err[512] = "";
    snprintf(dir, n, "%s/%s", nd_test_tmp_dir(), name);
    if (nd_demo_data_write(dir, samples, err, sizeof err) != 0) ND_FAIL_AT("nd_demo_data_write: %s", err);
    return dir;
}
#define WRITE_DEMO(var, name, samples) char var##_buf[512]; const char *var = write_demo(var##_buf, sizeof var##_buf, name, samples)

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    buf[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

/* One day's field in degC (NAN on land) and its time value. */
static void read_sst(const char *dir, int day, double *field, double *time) {
    char path[600];
    snprintf(path, sizeof path, "%s/sst/sst_202501%02d.nc", dir, day + 1);
    int nc, v, tv;
    CHECK_INT(nc_open(path, NC_NOWRITE, &nc), NC_NOERR);
    CHECK_INT(nc_inq_varid(nc, "sst", &v), NC_NOERR);
    CHECK_INT(nc_inq_varid(nc, "time", &tv), NC_NOERR);
    CHECK_INT(nc_get_var_double(nc, tv, time), NC_NOERR);
    static short raw[NLAT * NLON];
    short fill = 0;
    float scale = 0;
    CHECK_INT(nc_get_var_short(nc, v, raw), NC_NOERR);
    CHECK_INT(nc_get_att_short(nc, v, "_FillValue", &fill), NC_NOERR);
    CHECK_INT(nc_get_att_float(nc, v, "scale_factor", &scale), NC_NOERR);
    CHECK_INT(fill, -32768);
    CHECK_NEAR(scale, 0.01, 1e-7);
    for (int k = 0; k < NLAT * NLON; k++) field[k] = raw[k] == fill ? NAN : raw[k] * 0.01;
    nc_close(nc);
}

static double at(const double *field, double lon, double lat) {
    int i = (int)floor((lon + 20) / 0.25), j = (int)floor((lat - 40) / 0.25);
    return field[j * NLON + i];
}

ND_TEST(sst_files_are_cf) {
    WRITE_DEMO(dir, "demo", NULL);
    char path[600], text[128];
    snprintf(path, sizeof path, "%s/sst/sst_20250115.nc", dir);
    int nc, fmt, v, dim;
    size_t len;
    CHECK_INT(nc_open(path, NC_NOWRITE, &nc), NC_NOERR);
    CHECK_INT(nc_inq_format(nc, &fmt), NC_NOERR);
    CHECK_INT(fmt, NC_FORMAT_64BIT_OFFSET);
    CHECK_INT(nc_get_att_text(nc, NC_GLOBAL, "Conventions", text), NC_NOERR);
    CHECK(strncmp(text, "CF-1.8", 6) == 0);
    CHECK_INT(nc_inq_dimid(nc, "lat", &dim), NC_NOERR);
    CHECK_INT(nc_inq_dimlen(nc, dim, &len), NC_NOERR);
    CHECK_INT(len, NLAT);
    CHECK_INT(nc_inq_dimid(nc, "lon", &dim), NC_NOERR);
    CHECK_INT(nc_inq_dimlen(nc, dim, &len), NC_NOERR);
    CHECK_INT(len, NLON);
    CHECK_INT(nc_inq_varid(nc, "time", &v), NC_NOERR);
    memset(text, 0, sizeof text);
    CHECK_INT(nc_get_att_text(nc, v, "units", text), NC_NOERR);
    CHECK_STR(text, "days since 2025-01-01 00:00:00");
    CHECK_INT(nc_inq_varid(nc, "sst", &v), NC_NOERR);
    memset(text, 0, sizeof text);
    CHECK_INT(nc_get_att_text(nc, v, "standard_name", text), NC_NOERR);
    CHECK_STR(text, "sea_surface_temperature");
    memset(text, 0, sizeof text);
    CHECK_INT(nc_get_att_text(nc, v, "units", text), NC_NOERR);
    CHECK_STR(text, "degree_Celsius");
    double lon[NLON], lat[NLAT];
    CHECK_INT(nc_inq_varid(nc, "lon", &v), NC_NOERR);
    CHECK_INT(nc_get_var_double(nc, v, lon), NC_NOERR);
    CHECK_INT(nc_inq_varid(nc, "lat", &v), NC_NOERR);
    CHECK_INT(nc_get_var_double(nc, v, lat), NC_NOERR);
    CHECK_NEAR(lon[0], -19.875, 1e-9);
    CHECK_NEAR(lon[NLON - 1], 29.875, 1e-9);
    CHECK_NEAR(lat[0], 40.125, 1e-9);
    CHECK_NEAR(lat[NLAT - 1], 65.875, 1e-9);
    nc_close(nc);
}

ND_TEST(sst_series_values) {
    WRITE_DEMO(dir, "demo", NULL);
    static double f[31][NLAT * NLON];
    double mean[31];
    for (int d = 0; d < 31; d++) {
        double t = -1;
        read_sst(dir, d, f[d], &t);
        CHECK_NEAR(t, d, 0);
        double sum = 0;
        int n = 0, nland = 0;
        for (int k = 0; k < NLAT * NLON; k++) {
            if (isnan(f[d][k])) { nland++; continue; }
            CHECK(f[d][k] >= 0 && f[d][k] <= 20);
            sum += f[d][k];
            n++;
        }
        CHECK(nland > NLAT * NLON / 4 && nland < NLAT * NLON * 3 / 4);
        mean[d] = sum / n;
        /* Land: Paris, Madrid, central Germany, Stockholm's hinterland, Dublin's, Helsinki's. */
        CHECK(isnan(at(f[d], 2.35, 48.85)));
        CHECK(isnan(at(f[d], -3.7, 40.4)));
        CHECK(isnan(at(f[d], 10.0, 51.0)));
        CHECK(isnan(at(f[d], 16.0, 60.0)));
        CHECK(isnan(at(f[d], -7.5, 53.3)));
        CHECK(isnan(at(f[d], 25.0, 61.5)));
        /* Water, with January magnitudes. */
        double biscay = at(f[d], -5.0, 45.0), baltic = at(f[d], 19.5, 57.0);
        double atlantic = at(f[d], -15.0, 55.0), north_sea = at(f[d], 3.0, 56.0);
        double lion = at(f[d], 4.5, 42.5), adriatic = at(f[d], 16.0, 42.8);
        CHECK(biscay > 11 && biscay < 15);
        CHECK(baltic > 1 && baltic < 5);
        CHECK(atlantic > 9 && atlantic < 13 && atlantic > baltic + 4);
        CHECK(north_sea > 5.5 && north_sea < 9);
        CHECK(lion > 11.5 && lion < 15);
        CHECK(adriatic > 12 && adriatic < 15.5);
        CHECK(!isnan(at(f[d], 1.0, 50.2)));   /* the Channel */
        CHECK(!isnan(at(f[d], 20.0, 62.0)));  /* the Gulf of Bothnia */
        CHECK(!isnan(at(f[d], 12.0, 40.5)));  /* the Tyrrhenian */
    }
    /* A slow cooling of about 0.05 degC a day, and small day-to-day changes. */
    CHECK_NEAR(mean[0] - mean[30], 1.5, 0.4);
    for (int d = 1; d < 31; d++) {
        CHECK(fabs(mean[d] - mean[d - 1]) < 0.4);
        for (int k = 0; k < NLAT * NLON; k++)
            if (!isnan(f[d][k])) CHECK(fabs(f[d][k] - f[d - 1][k]) < 0.6);
    }
}

static GDALDatasetH open_raster(const char *dir, const char *rel) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    GDALAllRegister();
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    if (!ds) ND_FAIL_AT("cannot open %s", path);
    return ds;
}

static void check_epsg(GDALDatasetH ds, const char *code) {
    OGRSpatialReferenceH srs = OSRNewSpatialReference(GDALGetProjectionRef(ds));
    CHECK(srs != NULL);
    CHECK_STR(OSRGetAuthorityCode(srs, NULL), code);
    OSRDestroySpatialReference(srs);
}

ND_TEST(s2_scene) {
    WRITE_DEMO(dir, "demo", NULL);
    GDALDatasetH ds = open_raster(dir, "s2/s2_demo_10m.tif");
    CHECK_INT(GDALGetRasterCount(ds), 4);
    CHECK_INT(GDALGetRasterXSize(ds), 1024);
    CHECK_INT(GDALGetRasterYSize(ds), 1024);
    check_epsg(ds, "32631");
    double gt[6];
    CHECK_INT(GDALGetGeoTransform(ds, gt), CE_None);
    CHECK_NEAR(gt[0], 380000, 0);
    CHECK_NEAR(gt[1], 10, 0);
    CHECK_NEAR(gt[3], 4830000, 0);
    CHECK_NEAR(gt[5], -10, 0);
    CHECK_STR(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE"), "DEFLATE");
    CHECK_STR(GDALGetMetadataItem(ds, "LAYOUT", "IMAGE_STRUCTURE"), "COG");
    static const char *names[4] = {"B02", "B03", "B04", "B08"};
    uint16_t (*v)[1024 * 1024] = malloc(sizeof *v * 4);
    CHECK(v != NULL);
    for (int b = 0; b < 4; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        CHECK_INT(GDALGetRasterDataType(band), GDT_UInt16);
        CHECK_STR(GDALGetDescription(band), names[b]);
        int has = 0, bx = 0, by = 0;
        CHECK_NEAR(GDALGetRasterNoDataValue(band, &has), 0, 0);
        CHECK(has);
        GDALGetBlockSize(band, &bx, &by);
        CHECK_INT(bx, 256);
        CHECK_INT(by, 256);
        CHECK_INT(GDALGetOverviewCount(band), 3);
        CHECK_INT(GDALGetRasterBandXSize(GDALGetOverview(band, 2)), 128);
        CHECK_INT(GDALRasterIO(band, GF_Read, 0, 0, 1024, 1024, v[b], 1024, 1024, GDT_UInt16, 0, 0), CE_None);
    }
#define PX(b, x, y) v[b][(y) * 1024 + (x)]
    /* Lake centre and a river pixel: water, NIR below red. */
    CHECK(PX(3, 840, 250) < PX(2, 840, 250) && PX(3, 840, 250) < 400);
    int rx = (int)lround(560 + 90 * sin(600 / 150.0) + 30 * sin(600 / 47.0));
    CHECK(PX(3, rx, 600) < PX(2, rx, 600));
    /* Forest centre: vegetation, bright NIR, dark red. */
    CHECK(PX(3, 200, 780) > 2000 && PX(2, 200, 780) < 600);
    /* Town: bright in the visible, flat spectrum. */
    CHECK(PX(2, 62, 62) > 1000 && PX(3, 62, 62) < 2500);
    long water = 0, veg = 0;
    for (int k = 0; k < 1024 * 1024; k++) {
        CHECK(v[0][k] > 0 && v[3][k] > 0);
        if (v[3][k] < v[2][k]) water++;
        else if (v[3][k] > 2000 && v[2][k] < 700) veg++;
    }
    CHECK(water > 25000 && water < 60000); /* the lake (~22000) and the river (~14000) */
    CHECK(veg > 1024 * 1024 / 5);
    free(v);
    GDALClose(ds);
}

ND_TEST(dem_grid) {
    WRITE_DEMO(dir, "demo", NULL);
    GDALDatasetH ds = open_raster(dir, "dem/dem_demo.tif");
    CHECK_INT(GDALGetRasterCount(ds), 1);
    CHECK_INT(GDALGetRasterXSize(ds), 512);
    CHECK_INT(GDALGetRasterYSize(ds), 512);
    check_epsg(ds, "4326");
    double gt[6];
    CHECK_INT(GDALGetGeoTransform(ds, gt), CE_None);
    CHECK_NEAR(gt[0], 10.0, 1e-12);
    CHECK_NEAR(gt[1], 0.001, 1e-12);
    CHECK_NEAR(gt[3], 46.6, 1e-12);
    CHECK_NEAR(gt[5], -0.001, 1e-12);
    CHECK_STR(GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE"), "DEFLATE");
    GDALRasterBandH band = GDALGetRasterBand(ds, 1);
    CHECK_INT(GDALGetRasterDataType(band), GDT_Float32);
    int has = 0, bx = 0, by = 0;
    CHECK_NEAR(GDALGetRasterNoDataValue(band, &has), -9999, 0);
    CHECK(has);
    GDALGetBlockSize(band, &bx, &by);
    CHECK_INT(bx, 256);
    static float h[512 * 512];
    CHECK_INT(GDALRasterIO(band, GF_Read, 0, 0, 512, 512, h, 512, 512, GDT_Float32, 0, 0), CE_None);
    float lo = h[0], hi = h[0];
    for (int k = 0; k < 512 * 512; k++) {
        if (h[k] < lo) lo = h[k];
        if (h[k] > hi) hi = h[k];
    }
    CHECK(lo >= 200 && lo < 900);
    CHECK(hi <= 2500 && hi > 2000);
    /* Smooth: neighbours differ by far less than the relief. */
    for (int y = 0; y < 512; y++)
        for (int x = 1; x < 512; x++) CHECK(fabsf(h[y * 512 + x] - h[y * 512 + x - 1]) < 40);
    GDALClose(ds);
}

ND_TEST(config_lists_datasets) {
    WRITE_DEMO(dir, "demo", NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/nadir.yaml", dir);
    char *text = slurp(path, NULL);
    CHECK(text != NULL);
    CHECK(text[0] == '#');
    CHECK_CONTAINS(text, "port: ${PORT:-8080}");
    CHECK_CONTAINS(text, "- id: sst\n");
    CHECK_CONTAINS(text, "- id: s2_demo\n");
    CHECK_CONTAINS(text, "- id: dem_demo\n");
    CHECK_CONTAINS(text, "source: \"sst/sst_*.nc\"");
    CHECK_CONTAINS(text, "source: \"s2/s2_demo_10m.tif\"");
    CHECK_CONTAINS(text, "source: \"dem/dem_demo.tif\"");
    CHECK(strstr(text, "id: landsat7") == NULL); /* no samples_dir, no samples */
    free(text);
}

ND_TEST(config_adds_debian_samples) {
    /* The layout of Debian's r-cran-stars package, with stand-in files. */
    char samples[600], cmd[1400];
    snprintf(samples, sizeof samples, "%s/samples", nd_test_tmp_dir());
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/usr/lib/R/site-library/stars/tif' '%s/usr/lib/R/site-library/stars/nc' && "
             "touch '%s/usr/lib/R/site-library/stars/tif/L7_ETMs.tif' '%s/usr/lib/R/site-library/stars/nc/reduced.nc'",
             samples, samples, samples, samples);
    CHECK_INT(system(cmd), 0);
    WRITE_DEMO(dir, "demo", samples);
    char path[600], want[800], real[600];
    snprintf(path, sizeof path, "%s/nadir.yaml", dir);
    char *text = slurp(path, NULL);
    CHECK(text != NULL);
    CHECK_CONTAINS(text, "- id: landsat7\n");
    CHECK_CONTAINS(text, "Landsat 7 ETM+ (Olinda, Brazil) — r-cran-stars sample");
    CHECK_CONTAINS(text, "- id: oisst\n");
    CHECK_CONTAINS(text, "NOAA OISST v2 daily SST — r-cran-stars sample");
    CHECK(realpath(samples, real) != NULL);
    snprintf(want, sizeof want, "source: \"%s/usr/lib/R/site-library/stars/tif/L7_ETMs.tif\"", real);
    CHECK_CONTAINS(text, want);
    snprintf(want, sizeof want, "source: \"%s/usr/lib/R/site-library/stars/nc/reduced.nc\"", real);
    CHECK_CONTAINS(text, want);
    free(text);
}

/* Compares every regular file under a with its twin under b; counts them. */
static int compare_trees(const char *a, const char *b) {
    DIR *d = opendir(a);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        CHECK(strstr(e->d_name, ".tmp") == NULL); /* no temp file left behind */
        char pa[800], pb[800];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        struct stat st;
        CHECK(stat(pa, &st) == 0);
        if (S_ISDIR(st.st_mode)) {
            n += compare_trees(pa, pb);
            continue;
        }
        size_t la = 0, lb = 0;
        char *x = slurp(pa, &la), *y = slurp(pb, &lb);
        if (!x || !y || la != lb || memcmp(x, y, la) != 0) ND_FAIL_AT("%s and %s differ", pa, pb);
        free(x);
        free(y);
        n++;
    }
    closedir(d);
    return n;
}

ND_TEST(deterministic_and_overwrites) {
    WRITE_DEMO(a, "a", NULL);
    WRITE_DEMO(b, "b", NULL);
    CHECK_INT(compare_trees(a, b), 31 + 2 + 1);
    CHECK_INT(compare_trees(b, a), 31 + 2 + 1);
    /* Writing again over an existing demo directory gives the same bytes. */
    WRITE_DEMO(again, "a", NULL);
    CHECK_INT(compare_trees(again, b), 31 + 2 + 1);
}

ND_TEST(error_names_the_file) {
    char blocker[600], dir[700], err[512] = "";
    snprintf(blocker, sizeof blocker, "%s/file", nd_test_tmp_dir());
    FILE *f = fopen(blocker, "w");
    CHECK(f != NULL);
    fclose(f);
    snprintf(dir, sizeof dir, "%s/demo", blocker);
    CHECK(nd_demo_data_write(dir, NULL, err, sizeof err) < 0);
    CHECK_CONTAINS(err, blocker);
    CHECK(nd_demo_data_write("", NULL, err, sizeof err) < 0);
}
