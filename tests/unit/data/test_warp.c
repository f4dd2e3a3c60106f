/* nd_read_warped against the gdalwarp program: nearest identical, bilinear within 1e-4, in EPSG:4326, 3857, UTM. */
#include <gdal.h>

#include "nadir/demodata.h"
#include "nadir/read.h"
#include "nadir/warp.h"
#include "test.h"

static const char *demo(void) {
    static char dir[512];
    char err[512] = "";
    snprintf(dir, sizeof dir, "%s/demo", nd_test_tmp_dir());
    if (nd_demo_data_write(dir, NULL, err, sizeof err) != 0) ND_FAIL_AT("nd_demo_data_write: %s", err);
    return dir;
}

static nd_dataset *open_ds(nd_dataset_conf *conf, const char *id, const char *source) {
    memset(conf, 0, sizeof *conf);
    conf->id = (char *)id;
    conf->source = (char *)source;
    nd_dataset *ds = NULL;
    char err[512] = "";
    if (nd_dataset_open(conf, &ds, err, sizeof err) != 0) ND_FAIL_AT("open %s: %s", source, err);
    return ds;
}

/* Runs gdalwarp on src into a Float32 GeoTIFF over the same window and returns band `band` of it. */
static float *gdalwarp(const char *src, const nd_grid *g, const char *rs, int band, const char *s_srs) {
    char out[600], cmd[2400];
    snprintf(out, sizeof out, "%s/gdalwarp.tif", nd_test_tmp_dir());
    remove(out);
    double xmin = g->gt[0], ymax = g->gt[3], xmax = xmin + g->width * g->gt[1], ymin = ymax + g->height * g->gt[5];
    snprintf(cmd, sizeof cmd,
             "gdalwarp -q -overwrite %s%s -t_srs %s -te %.17g %.17g %.17g %.17g -ts %d %d -r %s -ot Float32 "
             "-dstnodata nan '%s' '%s' 2>&1",
             s_srs ? "-s_srs " : "", s_srs ? s_srs : "", g->crs, xmin, ymin, xmax, ymax, g->width, g->height, rs, src, out);
    if (system(cmd) != 0) ND_FAIL_AT("%s failed", cmd);
    GDALAllRegister();
    GDALDatasetH h = GDALOpen(out, GA_ReadOnly);
    CHECK(h != NULL);
    float *v = malloc((size_t)g->width * g->height * sizeof *v);
    CHECK(GDALRasterIO(GDALGetRasterBand(h, band), GF_Read, 0, 0, g->width, g->height, v, g->width, g->height,
                       GDT_Float32, 0, 0) == CE_None);
    GDALClose(h);
    return v;
}

/* Compares ours with gdalwarp's raw values mapped through scale/offset; returns the valid pixel count. */
static size_t compare(const float *ours, const float *ref, const nd_grid *g, const nd_variable *v, double rtol) {
    size_t n = (size_t)g->width * g->height, valid = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(ref[i])) {
            if (!isnan(ours[i])) ND_FAIL_AT("%s pixel %zu: %g, gdalwarp has nodata", g->crs, i, ours[i]);
            continue;
        }
        float want = (float)((double)ref[i] * v->scale + v->offset);
        if (isnan(ours[i])) ND_FAIL_AT("%s %dx%d pixel %zu: nodata, gdalwarp has %g", g->crs, g->width, g->height, i, want);
        if (rtol == 0 ? ours[i] != want : fabs(ours[i] - want) > rtol * fmax(1e-6, fabs(want)))
            ND_FAIL_AT("pixel %zu (%zu,%zu): %.9g vs gdalwarp %.9g", i, i % g->width, i / g->width, ours[i], want);
        valid++;
    }
    return valid;
}

static void check_case(const nd_dataset *ds, const char *var, const char *src, int band, size_t t, nd_grid g) {
    /* CF lon/lat grids have no CRS in GDAL's eyes: gdalwarp is told, as nadir tells the warper */
    const char *s_srs = ds->kind == ND_DS_NETCDF ? "EPSG:4326" : NULL;
    const nd_variable *v = nd_dataset_var(ds, var);
    CHECK(v != NULL);
    float *ours = malloc((size_t)g.width * g.height * sizeof *ours);
    nd_error err = {0};
    for (int r = 0; r < 2; r++) {
        nd_resampling rs = r ? ND_RESAMPLE_BILINEAR : ND_RESAMPLE_NEAREST;
        int rc = nd_read_warped(ds, v, t, 0, &g, rs, ours, &err);
        if (rc != 0) ND_FAIL_AT("nd_read_warped: %s", err.detail);
        float *ref = gdalwarp(src, &g, nd_warp_resampling_name(rs), band, s_srs);
        size_t valid = compare(ours, ref, &g, v, r ? 1e-4 : 0);
        /* a test where everything is nodata proves nothing */
        if (valid < (size_t)g.width * g.height / 8) ND_FAIL_AT("%s: only %zu valid pixels", g.crs, valid);
        free(ref);
    }
    free(ours);
}

static nd_grid grid(const char *crs, int w, int h, double xmin, double ymin, double xmax, double ymax) {
    return (nd_grid){w, h, {xmin, (xmax - xmin) / w, 0, ymax, 0, -(ymax - ymin) / h}, crs};
}

ND_TEST(raster_utm_cog_in_three_crs) {
    const char *d = demo();
    char src[600];
    snprintf(src, sizeof src, "%s/s2/s2_demo_10m.tif", d);
    nd_dataset_conf conf;
    nd_dataset *ds = open_ds(&conf, "s2", src);
    double *b = ds->bbox, *w = ds->wgs84;
    /* native UTM, a sub-window at another resolution */
    check_case(ds, ds->vars[2].name, src, 3, 0, grid("EPSG:32631", 200, 150, b[0] + 1000, b[1] + 2000, b[2] - 3000, b[3] - 500));
    /* geographic and web mercator, the whole scene (downsampled: overviews come into play) */
    check_case(ds, ds->vars[0].name, src, 1, 0, grid("EPSG:4326", 256, 256, w[0], w[1], w[2], w[3]));
    check_case(ds, ds->vars[3].name, src, 4, 0, grid("EPSG:4326", 64, 64, w[0], w[1], w[2], w[3]));
    double x0 = w[0] * 20037508.342789244 / 180, x1 = w[2] * 20037508.342789244 / 180;
    double y0 = log(tan(M_PI / 4 + w[1] * M_PI / 360)) * 6378137, y1 = log(tan(M_PI / 4 + w[3] * M_PI / 360)) * 6378137;
    check_case(ds, ds->vars[1].name, src, 2, 0, grid("EPSG:3857", 256, 256, x0, y0, x1, y1));
    CHECK(nd_warp_cache_size() > 0);
    nd_warp_cache_clear();
    CHECK_INT(nd_warp_cache_size(), 0);
    nd_dataset_free(ds);
}

ND_TEST(float_dem_geographic_to_mercator_and_utm) {
    const char *d = demo();
    char src[600];
    snprintf(src, sizeof src, "%s/dem/dem_demo.tif", d);
    nd_dataset_conf conf;
    nd_dataset *ds = open_ds(&conf, "dem", src);
    double *w = ds->wgs84;
    check_case(ds, ds->vars[0].name, src, 1, 0, grid("EPSG:4326", 300, 200, w[0] + 0.05, w[1] + 0.02, w[2] - 0.1, w[3]));
    double x0 = w[0] * 20037508.342789244 / 180, x1 = w[2] * 20037508.342789244 / 180;
    double y0 = log(tan(M_PI / 4 + w[1] * M_PI / 360)) * 6378137, y1 = log(tan(M_PI / 4 + w[3] * M_PI / 360)) * 6378137;
    check_case(ds, ds->vars[0].name, src, 1, 0, grid("EPSG:3857", 256, 256, x0, y0, x1, y1));
    /* the DEM lies in UTM zone 32N */
    check_case(ds, ds->vars[0].name, src, 1, 0, grid("EPSG:32632", 128, 128, 580000, 5106000, 612000, 5158000));
    nd_warp_cache_clear();
    nd_dataset_free(ds);
}

ND_TEST(netcdf_aggregation_time_steps_scaled) {
    const char *d = demo();
    char glob[600], file[600];
    snprintf(glob, sizeof glob, "%s/sst/sst_*.nc", d);
    nd_dataset_conf conf;
    nd_dataset *ds = open_ds(&conf, "sst", glob);
    CHECK(ds->time && ds->time->n >= 10);
    const nd_variable *v = nd_dataset_var(ds, "sst");
    CHECK(v && v->scale == 0.01f);
    double *w = ds->wgs84;
    for (size_t t = 0; t < ds->time->n; t += 9) {
        snprintf(file, sizeof file, "NETCDF:\"%s\":sst", ds->files[ds->time->file_index[t]]);
        check_case(ds, "sst", file, 1, t, grid("EPSG:4326", 180, 100, w[0], w[1], w[2], w[3]));
        check_case(ds, "sst", file, 1, t, grid("EPSG:3857", 256, 256, -2e6, 5e6, 3e6, 9e6));
        check_case(ds, "sst", file, 1, t, grid("EPSG:32631", 200, 200, 200000, 4500000, 800000, 6500000));
    }
    /* days differ: the time index really selects another file */
    nd_grid g = grid("EPSG:4326", 50, 30, w[0], w[1], w[2], w[3]);
    float a[1500], b[1500];
    nd_error err = {0};
    CHECK_INT(nd_read_warped(ds, v, 0, 0, &g, ND_RESAMPLE_NEAREST, a, &err), 0);
    CHECK_INT(nd_read_warped(ds, v, ds->time->n - 1, 0, &g, ND_RESAMPLE_NEAREST, b, &err), 0);
    CHECK(memcmp(a, b, sizeof a) != 0);
    /* out of range time index, unknown CRS */
    CHECK(nd_read_warped(ds, v, ds->time->n, 0, &g, ND_RESAMPLE_NEAREST, a, &err) < 0);
    CHECK_INT(err.code, ND_E_INVALID_DIMENSION);
    g.crs = "EPSG:999999";
    CHECK(nd_read_warped(ds, v, 0, 0, &g, ND_RESAMPLE_NEAREST, a, &err) < 0);
    CHECK_INT(err.code, ND_E_INVALID_CRS);
    CHECK(!nd_warp_crs_valid("EPSG:999999"));
    CHECK(nd_warp_crs_valid("EPSG:3857"));
    nd_warp_cache_clear();
    nd_dataset_free(ds);
}

ND_TEST(netcdf_band_for_time_and_depth) {
    /* a 4-D variable (time, depth, lat, lon) with value 100*t + z in every cell */
    char path[600];
    snprintf(path, sizeof path, "%s/tz.nc", nd_test_tmp_dir());
    char cdl[600], cmd[1400];
    snprintf(cdl, sizeof cdl, "%s/tz.cdl", nd_test_tmp_dir());
    FILE *f = fopen(cdl, "w");
    CHECK(f != NULL);
    fprintf(f,
             "netcdf tz { dimensions: time = 2; depth = 3; lat = 4; lon = 5;\n"
             "variables: double time(time); time:units = \"days since 2000-01-01\"; double depth(depth); "
             "depth:units = \"m\"; depth:positive = \"down\"; double lat(lat); lat:units = \"degrees_north\"; "
             "double lon(lon); lon:units = \"degrees_east\"; float v(time, depth, lat, lon);\n"
             "data: time = 0, 1; depth = 0, 10, 20; lat = 0, 1, 2, 3; lon = 0, 1, 2, 3, 4;\n"
             "v = %s; }\n",
             "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0, 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1, "
             "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2, 100,100,100,100,100,100,100,100,100,100,100,100,100,100,"
             "100,100,100,100,100,100, 101,101,101,101,101,101,101,101,101,101,101,101,101,101,101,101,101,101,101,"
             "101, 102,102,102,102,102,102,102,102,102,102,102,102,102,102,102,102,102,102,102,102");
    fclose(f);
    snprintf(cmd, sizeof cmd, "ncgen -o '%s' '%s'", path, cdl);
    if (system(cmd) != 0) ND_FAIL_AT("ncgen failed");
    nd_dataset_conf conf;
    nd_dataset *ds = open_ds(&conf, "tz", path);
    const nd_variable *v = nd_dataset_var(ds, "v");
    CHECK(v && ds->time && ds->vertical);
    nd_grid g = grid("EPSG:4326", 4, 3, 0.5, 0.5, 3.5, 2.5);
    float out[12];
    nd_error err = {0};
    for (size_t t = 0; t < 2; t++)
        for (size_t z = 0; z < 3; z++) {
            CHECK_INT(nd_read_warped(ds, v, t, z, &g, ND_RESAMPLE_NEAREST, out, &err), 0);
            for (int i = 0; i < 12; i++) CHECK_NEAR(out[i], 100.0 * t + z, 0);
        }
    CHECK(nd_read_warped(ds, v, 0, 3, &g, ND_RESAMPLE_NEAREST, out, &err) < 0);
    nd_warp_cache_clear();
    nd_dataset_free(ds);
}

/* Web-mercator tiles at several zoom levels, as WMTS/XYZ will ask for them: nearest stays identical. */
ND_TEST(mercator_tiles_equal_gdalwarp) {
    const char *d = demo();
    char src[600];
    snprintf(src, sizeof src, "%s/s2/s2_demo_10m.tif", d);
    nd_dataset_conf conf;
    nd_dataset *ds = open_ds(&conf, "s2", src);
    const double R = 20037508.342789244;
    double lon = (ds->wgs84[0] + ds->wgs84[2]) / 2, lat = (ds->wgs84[1] + ds->wgs84[3]) / 2;
    double mx = lon * R / 180, my = log(tan(M_PI / 4 + lat * M_PI / 360)) * 6378137;
    for (int z = 12; z <= 16; z++) {
        double size = 2 * R / (1 << z);
        double tx = floor((mx + R) / size), ty = floor((R - my) / size);
        double minx = -R + tx * size, maxy = R - ty * size;
        nd_grid g = grid("EPSG:3857", 256, 256, minx, maxy - size, minx + size, maxy);
        const nd_variable *v = &ds->vars[0];
        float *ours = malloc(256 * 256 * sizeof *ours);
        nd_error err = {0};
        CHECK_INT(nd_read_warped(ds, v, 0, 0, &g, ND_RESAMPLE_NEAREST, ours, &err), 0);
        float *ref = gdalwarp(src, &g, "near", 1, NULL);
        size_t valid = compare(ours, ref, &g, v, 0);
        CHECK(valid > 1000);
        free(ref);
        free(ours);
    }
    nd_warp_cache_clear();
    nd_dataset_free(ds);
}
