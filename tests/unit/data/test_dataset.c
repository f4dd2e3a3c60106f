/* Datasets: fixtures written with netCDF-C and GDAL, extents checked against gdalinfo -json and ncdump. */
#include <sys/stat.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <jansson.h>
#include <netcdf.h>
#include <ogr_srs_api.h>
#include <stdint.h>

#include "nadir/dataset.h"
#include "test.h"

#define NC(call) CHECK_INT((call), NC_NOERR)

/* ---- Paths and external tools ---- */

static const char *tmp(const char *name) {
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", nd_test_tmp_dir(), name);
    return b;
}

static char *run(const char *cmd) {
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 1024) buf = realloc(buf, cap *= 2);
    }
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static json_t *gdalinfo(const char *name) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "gdalinfo -json '%s' 2>/dev/null", name);
    char *out = run(cmd);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (!j) ND_FAIL_AT("gdalinfo -json %s: %s", name, e.text);
    free(out);
    return j;
}

static double jnum(json_t *j, const char *key, size_t i) {
    return json_number_value(json_array_get(json_object_get(j, key), i));
}

static void check_box(const double *b, double w, double s, double e, double n) {
    CHECK_NEAR(b[0], w, 1e-9);
    CHECK_NEAR(b[1], s, 1e-9);
    CHECK_NEAR(b[2], e, 1e-9);
    CHECK_NEAR(b[3], n, 1e-9);
}

/* Size, geotransform and corners as gdalinfo reports them; WGS84 box must hold gdalinfo's corner-based one. */
static void check_against_gdalinfo(const nd_dataset *ds, const char *name, bool wgs84) {
    json_t *j = gdalinfo(name);
    CHECK_INT(jnum(j, "size", 0), ds->width);
    CHECK_INT(jnum(j, "size", 1), ds->height);
    for (size_t i = 0; i < 6; i++) {
        double g = jnum(j, "geoTransform", i);
        CHECK_NEAR(ds->geotransform[i], g, 1e-6 * fmax(1, fabs(g)));
    }
    json_t *cc = json_object_get(j, "cornerCoordinates");
    double ulx = jnum(cc, "upperLeft", 0), uly = jnum(cc, "upperLeft", 1);
    double lrx = jnum(cc, "lowerRight", 0), lry = jnum(cc, "lowerRight", 1);
    CHECK_NEAR(ds->bbox[0], ulx, 1e-6 * fmax(1, fabs(ulx)));
    CHECK_NEAR(ds->bbox[3], uly, 1e-6 * fmax(1, fabs(uly)));
    CHECK_NEAR(ds->bbox[2], lrx, 1e-6 * fmax(1, fabs(lrx)));
    CHECK_NEAR(ds->bbox[1], lry, 1e-6 * fmax(1, fabs(lry)));
    json_t *ext = json_object_get(j, "wgs84Extent");
    if (wgs84 && !ext) {
        /* GDAL gives CF lat/lon without grid_mapping no CRS; we take WGS84 and its corners are the box */
        CHECK_INT(ds->epsg, 4326);
        CHECK_NEAR(ds->wgs84[0], ulx, 1e-9);
        CHECK_NEAR(ds->wgs84[1], lry, 1e-9);
        CHECK_NEAR(ds->wgs84[2], lrx, 1e-9);
        CHECK_NEAR(ds->wgs84[3], uly, 1e-9);
    } else if (wgs84) {
        json_t *ring = json_array_get(json_object_get(ext, "coordinates"), 0);
        double w = 1e9, s = 1e9, e = -1e9, n = -1e9;
        for (size_t i = 0; i < json_array_size(ring); i++) {
            json_t *pt = json_array_get(ring, i);
            double x = json_number_value(json_array_get(pt, 0)), y = json_number_value(json_array_get(pt, 1));
            w = fmin(w, x), e = fmax(e, x), s = fmin(s, y), n = fmax(n, y);
        }
        /* gdalinfo transforms 4 corners, we densify the edges: ours holds theirs, and not by much more. */
        CHECK(ds->wgs84[0] <= w + 1e-6 && ds->wgs84[0] > w - 0.2);
        CHECK(ds->wgs84[1] <= s + 1e-6 && ds->wgs84[1] > s - 0.2);
        CHECK(ds->wgs84[2] >= e - 1e-6 && ds->wgs84[2] < e + 0.2);
        CHECK(ds->wgs84[3] >= n - 1e-6 && ds->wgs84[3] < n + 0.2);
    }
    json_decref(j);
}

static void check_band_against_gdalinfo(const nd_variable *v, const char *name, int band) {
    json_t *j = gdalinfo(name);
    json_t *b = json_array_get(json_object_get(j, "bands"), (size_t)band - 1);
    CHECK(b != NULL);
    json_t *nd = json_object_get(b, "noDataValue");
    CHECK_INT(v->has_fill, nd != NULL);
    if (nd) CHECK_NEAR(v->fill, json_number_value(nd), 1e-9);
    json_t *sc = json_object_get(b, "scale"), *of = json_object_get(b, "offset");
    CHECK_NEAR(v->scale, sc ? json_number_value(sc) : 1.0, 1e-12);
    CHECK_NEAR(v->offset, of ? json_number_value(of) : 0.0, 1e-12);
    json_decref(j);
}

/* ncdump's output for one variable (-t: times as dates), from its values on; *txt is to be freed. */
static char *ncdump(const char *opts, const char *path, const char *var, char **txt) {
    char cmd[1200], key[128];
    snprintf(cmd, sizeof cmd, "ncdump %s -v %s '%s'", opts, var, path);
    *txt = run(cmd);
    snprintf(key, sizeof key, "\n %s = ", var);
    char *p = strstr(*txt, "data:");
    CHECK(p != NULL && (p = strstr(p, key)) != NULL);
    return p + strlen(key);
}

static size_t ncdump_values(const char *path, const char *var, double *out, size_t max) {
    char *txt, *p = ncdump("", path, var, &txt);
    size_t n = 0;
    while (n < max) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) break;
        out[n++] = v;
        p = end + strspn(end, ", \n");
    }
    free(txt);
    return n;
}

/* Dates as ncdump -t decodes them (its own calendar code): "2000-03-01 06" -> fields. */
static size_t ncdump_dates(const char *path, const char *var, nd_datetime *out, size_t max) {
    char *txt, *p = ncdump("-t", path, var, &txt);
    size_t n = 0;
    while (n < max && (p = strchr(p, '"'))) {
        nd_datetime d = {0};
        sscanf(p + 1, "%d-%d-%d %d:%d:%lf", &d.year, &d.month, &d.day, &d.hour, &d.minute, &d.second);
        out[n++] = d;
        p = strchr(p + 1, '"') + 1;
    }
    free(txt);
    return n;
}

/* ---- NetCDF fixtures ---- */

static int nc_new(const char *path, int format) {
    int nc;
    NC(nc_create(path, NC_CLOBBER | format, &nc));
    return nc;
}

static void att(int nc, int var, const char *name, const char *value) {
    NC(nc_put_att_text(nc, var, name, strlen(value), value));
}

/* Writes in data mode and returns to define mode, so classic files can be built in any order. */
static void put(int nc, int var, const double *v) {
    nc_enddef(nc);
    NC(nc_put_var_double(nc, var, v));
    nc_redef(nc);
}

static int coord(int nc, const char *name, size_t n, const double *v, const char *units, const char *sn,
                 const char *axis, int *dim) {
    int var;
    NC(nc_def_dim(nc, name, n, dim));
    NC(nc_def_var(nc, name, NC_DOUBLE, 1, dim, &var));
    if (units) att(nc, var, "units", units);
    if (sn) att(nc, var, "standard_name", sn);
    if (axis) att(nc, var, "axis", axis);
    put(nc, var, v);
    return var;
}

static int datavar(int nc, const char *name, nc_type t, int ndims, const int *dims) {
    int var;
    NC(nc_def_var(nc, name, t, ndims, dims, &var));
    size_t n = 1, len;
    for (int i = 0; i < ndims; i++) n *= (nc_inq_dimlen(nc, dims[i], &len), len);
    double *v = calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) v[i] = (double)(i % 7);
    put(nc, var, v);
    free(v);
    return var;
}

static void lin(double *v, size_t n, double first, double step) {
    for (size_t i = 0; i < n; i++) v[i] = first + step * (double)i;
}

/* CF lat/lon, latitude north-to-south, noleap hours since 1800, packed shorts and a static field. */
static void make_latlon(const char *path) {
    int nc = nc_new(path, NC_NETCDF4), dt, dy, dx, dnv, v;
    double lat[6], lon[8], time[3] = {1752000, 1753416, 1753422};
    lin(lat, 6, 45, -10);
    lin(lon, 8, -20, 10);
    int tv = coord(nc, "time", 3, time, "hours since 1800-01-01", "time", "T", &dt);
    att(nc, tv, "calendar", "noleap");
    int latv = coord(nc, "lat", 6, lat, "degrees_north", "latitude", "Y", &dy);
    coord(nc, "lon", 8, lon, "degrees_east", "longitude", "X", &dx);
    att(nc, latv, "bounds", "lat_bnds");
    NC(nc_def_dim(nc, "nv", 2, &dnv));
    datavar(nc, "lat_bnds", NC_DOUBLE, 2, (int[]){dy, dnv});
    NC(nc_def_var(nc, "tas", NC_SHORT, 3, (int[]){dt, dy, dx}, &v));
    short fill = -32767;
    double sf = 0.01, ao = 273.15;
    NC(nc_put_att_short(nc, v, "_FillValue", NC_SHORT, 1, &fill));
    NC(nc_put_att_double(nc, v, "scale_factor", NC_DOUBLE, 1, &sf));
    NC(nc_put_att_double(nc, v, "add_offset", NC_DOUBLE, 1, &ao));
    att(nc, v, "units", "K");
    att(nc, v, "long_name", "near-surface air temperature");
    att(nc, v, "standard_name", "air_temperature");
    v = datavar(nc, "pr", NC_FLOAT, 3, (int[]){dt, dy, dx});
    float mv = 1e20f;
    NC(nc_put_att_float(nc, v, "missing_value", NC_FLOAT, 1, &mv));
    datavar(nc, "area", NC_FLOAT, 2, (int[]){dy, dx});
    NC(nc_close(nc));
}

/* Projected x/y (metres, y ascending) with a grid_mapping; crs_wkt set instead of CF parameters when given. */
static void make_projected(const char *path, const char *crs_wkt) {
    int nc = nc_new(path, NC_NETCDF4), dy, dx, gm, v;
    double x[7], y[5];
    lin(x, 7, -300000, 50000);
    lin(y, 5, -100000, 50000);
    coord(nc, "x", 7, x, "m", "projection_x_coordinate", "X", &dx);
    coord(nc, "y", 5, y, "m", "projection_y_coordinate", "Y", &dy);
    NC(nc_def_var(nc, "crs", NC_INT, 0, NULL, &gm));
    if (crs_wkt) {
        att(nc, gm, "crs_wkt", crs_wkt);
    } else {
        double sp[2] = {25, 60}, lon0 = -100, lat0 = 42.5, zero = 0, a = 6378137, rf = 298.257223563;
        att(nc, gm, "grid_mapping_name", "lambert_conformal_conic");
        NC(nc_put_att_double(nc, gm, "standard_parallel", NC_DOUBLE, 2, sp));
        NC(nc_put_att_double(nc, gm, "longitude_of_central_meridian", NC_DOUBLE, 1, &lon0));
        NC(nc_put_att_double(nc, gm, "latitude_of_projection_origin", NC_DOUBLE, 1, &lat0));
        NC(nc_put_att_double(nc, gm, "false_easting", NC_DOUBLE, 1, &zero));
        NC(nc_put_att_double(nc, gm, "false_northing", NC_DOUBLE, 1, &zero));
        NC(nc_put_att_double(nc, gm, "semi_major_axis", NC_DOUBLE, 1, &a));
        NC(nc_put_att_double(nc, gm, "inverse_flattening", NC_DOUBLE, 1, &rf));
    }
    v = datavar(nc, "prcp", NC_FLOAT, 2, (int[]){dy, dx});
    att(nc, v, "grid_mapping", "crs");
    att(nc, v, "units", "mm");
    NC(nc_close(nc));
}

/* A vertical axis described by standard_name/units only, latitude south-to-north. */
static void make_levels(const char *path, const char *zname, const char *zunits, const char *zsn,
                        const char *positive) {
    int nc = nc_new(path, NC_NETCDF4), dz, dy, dx;
    double z[4] = {0, 10, 50, 100}, lat[3] = {-10, 0, 10}, lon[4];
    lin(lon, 4, 100, 1);
    int zv = coord(nc, zname, 4, z, zunits, zsn, NULL, &dz);
    if (positive) att(nc, zv, "positive", positive);
    coord(nc, "lat", 3, lat, "degrees_north", NULL, NULL, &dy);
    coord(nc, "lon", 4, lon, "degrees_east", NULL, NULL, &dx);
    datavar(nc, "temp", NC_DOUBLE, 3, (int[]){dz, dy, dx});
    NC(nc_close(nc));
}

/* One file of an aggregation: two steps, the same 3x4 grid unless lat0 moves it. */
static void make_step_file(const char *path, const char *units, double t0, double dt, double lat0) {
    int nc = nc_new(path, NC_NETCDF4), d_t, dy, dx;
    double t[2] = {t0, t0 + dt}, lat[3], lon[4];
    lin(lat, 3, lat0, 1);
    lin(lon, 4, 0, 1);
    coord(nc, "time", 2, t, units, "time", "T", &d_t);
    coord(nc, "lat", 3, lat, "degrees_north", NULL, NULL, &dy);
    coord(nc, "lon", 4, lon, "degrees_east", NULL, NULL, &dx);
    datavar(nc, "sst", NC_FLOAT, 3, (int[]){d_t, dy, dx});
    NC(nc_close(nc));
}

/* A 2-D lat/lon grid with one variable "v". */
static void make_grid(const char *path, int format, const double *lat, size_t nlat, const double *lon, size_t nlon) {
    int nc = nc_new(path, format), dy, dx;
    coord(nc, "lat", nlat, lat, "degrees_north", NULL, NULL, &dy);
    coord(nc, "lon", nlon, lon, "degrees_east", NULL, NULL, &dx);
    datavar(nc, "v", NC_FLOAT, 2, (int[]){dy, dx});
    NC(nc_close(nc));
}

static void make_geo_grid(const char *path, size_t nlon, double lon0, double dlon, size_t nlat, double lat0,
                          double dlat) {
    double lat[256], lon[256];
    lin(lat, nlat, lat0, dlat);
    lin(lon, nlon, lon0, dlon);
    make_grid(path, NC_NETCDF4, lat, nlat, lon, nlon);
}

/* ---- GeoTIFF fixtures ---- */

static void make_tif(const char *path, int epsg, const double gt[6], const char *const desc[3]) {
    GDALAllRegister();
    GDALDatasetH d = GDALCreate(GDALGetDriverByName("GTiff"), path, 20, 10, 3, GDT_UInt16, NULL);
    CHECK(d != NULL);
    GDALSetGeoTransform(d, (double *)gt);
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(s, epsg);
    GDALSetSpatialRef(d, s);
    OSRDestroySpatialReference(s);
    uint16_t buf[200];
    for (int i = 0; i < 200; i++) buf[i] = (uint16_t)i;
    for (int b = 1; b <= 3; b++) {
        GDALRasterBandH band = GDALGetRasterBand(d, b);
        GDALSetRasterNoDataValue(band, 0);
        if (desc && desc[b - 1]) GDALSetDescription(band, desc[b - 1]);
        GDALSetRasterScale(band, 0.0001);
        GDALSetRasterOffset(band, -0.1);
        GDALSetRasterUnitType(band, "reflectance");
        CHECK_INT(GDALRasterIO(band, GF_Write, 0, 0, 20, 10, buf, 20, 10, GDT_UInt16, 0, 0), CE_None);
    }
    GDALClose(d);
}

static const double utm_gt[6] = {500000, 30, 0, 4500000, 0, -30};

static nd_dataset *open_ok(nd_dataset_conf *c, const char *src) {
    c->id = "ds";
    c->source = (char *)src;
    nd_dataset *ds = NULL;
    char err[1024] = "";
    if (nd_dataset_open(c, &ds, err, sizeof err) != 0) ND_FAIL_AT("open %s: %s", src, err);
    CHECK(ds != NULL);
    return ds;
}

/* With a default configuration; datasets keep a pointer to theirs, so it lives in static storage. */
static nd_dataset *open_src(const char *src) {
    static nd_dataset_conf confs[4];
    static int k;
    nd_dataset_conf *c = &confs[k++ % 4];
    *c = (nd_dataset_conf){0};
    return open_ok(c, src);
}

static void open_fails(const char *src, char *const *vars, size_t nvars, const char *want1, const char *want2) {
    nd_dataset_conf c = {.id = "bad", .source = (char *)src, .variables = (char **)vars, .nvariables = nvars};
    nd_dataset *ds = (nd_dataset *)1;
    char err[1024] = "";
    CHECK(nd_dataset_open(&c, &ds, err, sizeof err) < 0);
    CHECK(ds == NULL);
    CHECK_CONTAINS(err, want1);
    if (want2) CHECK_CONTAINS(err, want2);
}

static char *gdal_nc_name(const char *path, const char *var) {
    static char buf[1024];
    snprintf(buf, sizeof buf, "NETCDF:\"%s\":%s", path, var);
    return buf;
}

/* ---- Tests ---- */

ND_TEST(netcdf_latlon_north_to_south) {
    const char *p = tmp("latlon.nc");
    make_latlon(p);
    nd_dataset *ds = open_src(p);
    CHECK_INT(ds->kind, ND_DS_NETCDF);
    CHECK_INT(ds->nfiles, 1);
    CHECK_STR(ds->x_name, "lon");
    CHECK_STR(ds->y_name, "lat");
    CHECK_INT(ds->epsg, 4326);
    CHECK(!ds->y_ascending);
    CHECK(ds->regular);
    CHECK(ds->geotransform[5] < 0);
    check_box(ds->bbox, -25, -10, 55, 50);
    check_box(ds->wgs84, -25, -10, 55, 50);
    check_against_gdalinfo(ds, gdal_nc_name(p, "tas"), true);

    double v[16];
    CHECK_INT(ncdump_values(p, "lat", v, 16), 6);
    CHECK_NEAR(ds->y_values[0], v[0], 1e-9);
    CHECK_NEAR(ds->y_values[5], v[5], 1e-9);
    CHECK_INT(ncdump_values(p, "lon", v, 16), 8);
    CHECK_NEAR(ds->x_values[0], v[0], 1e-9);
    CHECK_NEAR(ds->x_values[7], v[7], 1e-9);

    /* data variables only: lat_bnds is a bounds variable */
    CHECK_INT(ds->nvars, 3);
    CHECK(nd_dataset_var(ds, "lat_bnds") == NULL);
    const nd_variable *tas = nd_dataset_var(ds, "tas");
    CHECK(tas != NULL);
    CHECK_INT(tas->nc_type, NC_SHORT);
    CHECK(tas->has_fill && tas->fill == -32767);
    CHECK_NEAR(tas->scale, 0.01, 1e-15);
    CHECK_NEAR(tas->offset, 273.15, 1e-12);
    CHECK_STR(tas->units, "K");
    CHECK_STR(tas->standard_name, "air_temperature");
    CHECK_STR(tas->long_name, "near-surface air temperature");
    CHECK_INT(tas->ndims, 3);
    CHECK_STR(tas->dims[0], "time");
    CHECK(tas->shape[0] == 3 && tas->shape[1] == 6 && tas->shape[2] == 8);
    CHECK(tas->has_time && !tas->has_vertical);
    const nd_variable *pr = nd_dataset_var(ds, "pr"), *area = nd_dataset_var(ds, "area");
    CHECK(pr->has_fill);
    CHECK_NEAR(pr->fill, 1e20, 1e13);
    CHECK(!area->has_time);
    CHECK(area->has_fill && area->fill == NC_FILL_FLOAT); /* netCDF's default fill, as GDAL reports */
    CHECK(ds->vertical == NULL);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_time_noleap) {
    const char *p = tmp("latlon.nc");
    make_latlon(p);
    nd_dataset *ds = open_src(p);
    CHECK(ds->time != NULL);
    CHECK_STR(ds->time->name, "time");
    CHECK_STR(ds->time->units, "hours since 1800-01-01");
    CHECK_INT(ds->time->tu.cal, ND_CAL_NOLEAP);
    CHECK_INT(ds->time->n, 3);
    double v[8];
    CHECK_INT(ncdump_values(p, "time", v, 8), 3);
    CHECK_NEAR(ds->time->values[0], v[0], 0);
    CHECK_NEAR(ds->time->values[2], v[2], 0);
    char s[64];
    const char *want[3] = {"2000-01-01T00:00:00Z", "2000-03-01T00:00:00Z", "2000-03-01T06:00:00Z"};
    for (int i = 0; i < 3; i++) {
        nd_datetime_format(&ds->time->dates[i], s, sizeof s);
        CHECK_STR(s, want[i]);
        CHECK_INT(ds->time->file_index[i], 0);
        CHECK_INT(ds->time->local_index[i], i);
    }
    nd_datetime d[8];
    CHECK_INT(ncdump_dates(p, "time", d, 8), 3);
    for (int i = 0; i < 3; i++) {
        const nd_datetime *t = &ds->time->dates[i];
        CHECK(t->year == d[i].year && t->month == d[i].month && t->day == d[i].day && t->hour == d[i].hour);
    }
    nd_dataset_free(ds);
}

ND_TEST(netcdf_projected_lcc) {
    const char *p = tmp("lcc.nc");
    make_projected(p, NULL);
    nd_dataset *ds = open_src(p);
    CHECK_STR(ds->x_name, "x");
    CHECK(ds->y_ascending);
    CHECK(ds->geotransform[5] < 0);
    CHECK_NEAR(ds->geotransform[0], -325000, 1e-6);
    CHECK_NEAR(ds->geotransform[3], 125000, 1e-6);
    CHECK_INT(ds->epsg, 0);
    CHECK_CONTAINS(ds->crs_wkt, "Lambert Conic Conformal");
    CHECK(ds->wgs84[0] < -100 && ds->wgs84[2] > -100 && ds->wgs84[1] > 35 && ds->wgs84[3] < 50);
    check_against_gdalinfo(ds, p, true);
    CHECK_INT(ds->nvars, 1);
    CHECK_STR(ds->vars[0].name, "prcp");
    CHECK(ds->time == NULL);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_crs_wkt_attribute) {
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(s, 32633);
    char *wkt = NULL;
    OSRExportToWkt(s, &wkt);
    const char *p = tmp("utm.nc");
    make_projected(p, wkt);
    VSIFree(wkt);
    OSRDestroySpatialReference(s);
    nd_dataset *ds = open_src(p);
    CHECK_INT(ds->epsg, 32633);
    CHECK_CONTAINS(ds->crs_wkt, "UTM zone 33N");
    CHECK(ds->wgs84[0] > 7 && ds->wgs84[2] < 11 && ds->wgs84[1] > -2 && ds->wgs84[3] < 2);
    check_against_gdalinfo(ds, p, true);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_depth_axis_south_to_north) {
    const char *p = tmp("depth.nc");
    make_levels(p, "depth", "m", "depth", NULL);
    nd_dataset *ds = open_src(p);
    CHECK(ds->y_ascending);
    CHECK_NEAR(ds->bbox[1], -15, 1e-9);
    CHECK_NEAR(ds->bbox[3], 15, 1e-9);
    CHECK_NEAR(ds->geotransform[3], 15, 1e-9);
    CHECK_NEAR(ds->geotransform[5], -10, 1e-9);
    check_against_gdalinfo(ds, gdal_nc_name(p, "temp"), true);
    double lat[4];
    CHECK_INT(ncdump_values(p, "lat", lat, 4), 3);
    CHECK_NEAR(ds->y_values[0], lat[0], 0);
    CHECK_NEAR(ds->y_values[2], lat[2], 0);
    CHECK(ds->vertical != NULL);
    CHECK_STR(ds->vertical->name, "depth");
    CHECK_INT(ds->vertical->n, 4);
    CHECK_NEAR(ds->vertical->values[3], 100, 0);
    CHECK_STR(ds->vertical->units, "m");
    CHECK(ds->vertical->positive_down);
    CHECK(ds->vars[0].has_vertical && !ds->vars[0].has_time);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_vertical_pressure_and_height) {
    const char *p = tmp("plev.nc");
    make_levels(p, "plev", "hPa", NULL, NULL);
    nd_dataset *ds = open_src(p);
    CHECK(ds->vertical && ds->vertical->positive_down);
    CHECK_STR(ds->vertical->name, "plev");
    nd_dataset_free(ds);
    p = tmp("height.nc");
    make_levels(p, "height", "m", "height", "up");
    ds = open_src(p);
    CHECK(ds->vertical && !ds->vertical->positive_down);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_irregular_lat_opens) {
    const char *p = tmp("irregular.nc");
    make_grid(p, NC_NETCDF4, (double[]){0, 1, 3, 6}, 4, (double[]){10, 11, 12}, 3);
    nd_dataset *ds = open_src(p);
    CHECK(!ds->regular);
    CHECK_NEAR(ds->bbox[1], -0.5, 1e-9);
    CHECK_NEAR(ds->bbox[3], 7.5, 1e-9);
    CHECK_NEAR(ds->y_values[2], 3, 0);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_global_0_360) {
    const char *p = tmp("global.nc");
    make_geo_grid(p, 180, 0, 2, 90, -89, 2);
    nd_dataset *ds = open_src(p);
    check_against_gdalinfo(ds, p, false); /* gdalinfo keeps 0..360 in its WGS84 box */
    check_box(ds->bbox, -1, -90, 359, 90);
    check_box(ds->wgs84, -180, -90, 180, 90);
    nd_dataset_free(ds);
    /* a regional grid across the antimeridian keeps west > east */
    p = tmp("pacific.nc");
    make_geo_grid(p, 4, 170, 10, 3, -10, 10);
    ds = open_src(p);
    CHECK_NEAR(ds->wgs84[0], 165, 1e-9);
    CHECK_NEAR(ds->wgs84[2], -155, 1e-9);
    nd_dataset_free(ds);
    /* east of 180 only: shifted into -180..180 */
    p = tmp("east.nc");
    make_geo_grid(p, 4, 200, 10, 3, -10, 10);
    ds = open_src(p);
    CHECK_NEAR(ds->wgs84[0], -165, 1e-9);
    CHECK_NEAR(ds->wgs84[2], -125, 1e-9);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_lon_across_0_360_seam) {
    const char *p = tmp("seam.nc");
    make_grid(p, NC_NETCDF4, (double[]){51, 50.9, 50.8}, 3, (double[]){359.75, 359.85, 359.95, 0.05, 0.15, 0.25}, 6);
    nd_dataset *ds = open_src(p);
    CHECK(ds->regular);
    CHECK_NEAR(ds->x_values[0], -0.25, 1e-9);
    CHECK_NEAR(ds->x_values[5], 0.25, 1e-9);
    check_against_gdalinfo(ds, gdal_nc_name(p, "v"), true); /* GDAL shifts it to -0.3..0.3 too */
    nd_dataset_free(ds);
}

ND_TEST(netcdf_classic_without_extension) {
    const char *p = tmp("grid.bin");
    make_grid(p, 0, (double[]){0, 1, 2, 3}, 4, (double[]){0, 1, 2, 3, 4}, 5);
    nd_dataset *ds = open_src(p);
    CHECK_INT(ds->kind, ND_DS_NETCDF);
    CHECK_INT(ds->width, 5);
    CHECK_INT(ds->height, 4);
    nd_dataset_free(ds);
}

ND_TEST(netcdf_variables_subset) {
    const char *p = tmp("latlon.nc");
    make_latlon(p);
    char *vars[] = {"pr", "tas"};
    nd_dataset_conf c = {.variables = vars, .nvariables = 2};
    nd_dataset *ds = open_ok(&c, p);
    CHECK_INT(ds->nvars, 2);
    CHECK_STR(ds->vars[0].name, "pr");
    CHECK_STR(ds->vars[1].name, "tas");
    nd_dataset_free(ds);
    char *bad[] = {"tas", "nope"};
    open_fails(p, bad, 2, "latlon.nc", "'nope'");
}

ND_TEST(errors_name_file_and_cause) {
    open_fails(tmp("missing.nc"), NULL, 0, "missing.nc", "No such file");
    const char *p = tmp("corrupt.nc");
    FILE *f = fopen(p, "wb");
    srand(42);
    for (int i = 0; i < 4096; i++) fputc(rand() & 0xff, f);
    fclose(f);
    open_fails(p, NULL, 0, "corrupt.nc", "not a NetCDF file");
    p = tmp("corrupt.tif");
    f = fopen(p, "wb");
    fputs("II*\0 definitely not a tiff", f);
    fclose(f);
    open_fails(p, NULL, 0, "corrupt.tif", "GDAL cannot open");
    /* dims without coordinate variables: nothing says where the grid is */
    p = tmp("nocoords.nc");
    int nc = nc_new(p, NC_NETCDF4), da, db;
    NC(nc_def_dim(nc, "a", 3, &da));
    NC(nc_def_dim(nc, "b", 4, &db));
    datavar(nc, "v", NC_FLOAT, 2, (int[]){da, db});
    NC(nc_close(nc));
    open_fails(p, NULL, 0, "nocoords.nc", "no horizontal coordinates");
    /* projected coordinates with no grid_mapping: CRS unknown */
    p = tmp("nogm.nc");
    nc = nc_new(p, NC_NETCDF4);
    double x[3] = {0, 1, 2};
    coord(nc, "x", 3, x, "m", "projection_x_coordinate", NULL, &da);
    coord(nc, "y", 3, x, "m", "projection_y_coordinate", NULL, &db);
    datavar(nc, "v", NC_FLOAT, 2, (int[]){db, da});
    NC(nc_close(nc));
    open_fails(p, NULL, 0, "nogm.nc", "grid_mapping");
    /* a station time series (CF DSG): lat(station), lon(station) share a dimension, so it is no grid */
    p = tmp("stations.nc");
    nc = nc_new(p, NC_NETCDF4);
    NC(nc_def_dim(nc, "station", 3, &da));
    coord(nc, "time", 3, x, "days since 2000-01-01", NULL, NULL, &db);
    int v;
    NC(nc_def_var(nc, "lat", NC_DOUBLE, 1, &da, &v));
    att(nc, v, "units", "degrees_north");
    NC(nc_def_var(nc, "lon", NC_DOUBLE, 1, &da, &v));
    att(nc, v, "units", "degrees_east");
    datavar(nc, "pr", NC_FLOAT, 2, (int[]){da, db});
    NC(nc_close(nc));
    open_fails(p, NULL, 0, "stations.nc", "no horizontal coordinates");
}

ND_TEST(aggregation_join_existing) {
    CHECK(mkdir(tmp("agg"), 0755) == 0);
    /* glob order a, b, c; time order c, a, b; a in days where the others count hours */
    const char *a = tmp("agg/sst_a.nc");
    make_step_file(a, "days since 2000-01-01", 2, 1, 0);
    make_step_file(tmp("agg/sst_b.nc"), "hours since 2000-01-01", 96, 24, 0);
    make_step_file(tmp("agg/sst_c.nc"), "hours since 2000-01-01 00:00:00", 0, 24, 0);
    nd_dataset *ds = open_src(tmp("agg/sst_*.nc"));
    CHECK_INT(ds->nfiles, 3);
    CHECK_CONTAINS(ds->files[0], "sst_c.nc");
    CHECK_CONTAINS(ds->files[1], "sst_a.nc");
    CHECK_CONTAINS(ds->files[2], "sst_b.nc");
    CHECK(ds->files[0][0] == '/');
    CHECK_STR(ds->time->units, "hours since 2000-01-01 00:00:00");
    CHECK_INT(ds->time->n, 6);
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(ds->time->values[i], 24.0 * i, 1e-9);
        CHECK_INT(ds->time->dates[i].day, i + 1);
        CHECK_INT(ds->time->file_index[i], i / 2);
        CHECK_INT(ds->time->local_index[i], i % 2);
    }
    const nd_variable *v = nd_dataset_var(ds, "sst");
    CHECK_INT(v->shape[0], 6);
    CHECK_INT(v->shape[1], 3);
    /* each file's own time values, as ncdump prints them, are what the join re-encoded */
    double t[4];
    CHECK_INT(ncdump_values(a, "time", t, 4), 2);
    CHECK_NEAR(ds->time->values[2], t[0] * 24, 1e-9);
    check_against_gdalinfo(ds, gdal_nc_name(a, "sst"), true);
    nd_dataset_free(ds);
}

ND_TEST(aggregation_errors) {
    CHECK(mkdir(tmp("overlap"), 0755) == 0);
    make_step_file(tmp("overlap/one.nc"), "days since 2000-01-01", 0, 1, 0);
    make_step_file(tmp("overlap/two.nc"), "hours since 2000-01-01", 24, 24, 0); /* starts where one.nc ends */
    open_fails(tmp("overlap/*.nc"), NULL, 0, "one.nc", "two.nc");
    open_fails(tmp("overlap/*.nc"), NULL, 0, "overlapping", NULL);

    CHECK(mkdir(tmp("mismatch"), 0755) == 0);
    make_step_file(tmp("mismatch/one.nc"), "days since 2000-01-01", 0, 1, 0);
    make_step_file(tmp("mismatch/two.nc"), "days since 2000-01-01", 5, 1, 0.5);
    open_fails(tmp("mismatch/*.nc"), NULL, 0, "grids differ", "two.nc");

    const char *g = tmp("mismatch/nothing_*.nc");
    open_fails(g, NULL, 0, g, "no file matches");
}

ND_TEST(geotiff_utm_bands) {
    const char *p = tmp("utm.tif");
    const char *const desc[3] = {"red", "nir", NULL};
    make_tif(p, 32633, utm_gt, desc);
    nd_dataset *ds = open_src(p);
    CHECK_INT(ds->kind, ND_DS_RASTER);
    CHECK_INT(ds->epsg, 32633);
    CHECK_INT(ds->width, 20);
    CHECK_INT(ds->height, 10);
    check_box(ds->bbox, 500000, 4499700, 500600, 4500000);
    CHECK(!ds->y_ascending);
    CHECK_NEAR(ds->x_values[0], 500015, 1e-9);
    check_against_gdalinfo(ds, p, true);
    CHECK_INT(ds->nvars, 3);
    CHECK_STR(ds->vars[0].name, "red");
    CHECK_STR(ds->vars[1].name, "nir");
    CHECK_STR(ds->vars[2].name, "band3");
    for (int b = 1; b <= 3; b++) {
        const nd_variable *v = &ds->vars[b - 1];
        CHECK_INT(v->band, b);
        CHECK_INT(v->gdal_type, GDT_UInt16);
        CHECK_STR(v->units, "reflectance");
        CHECK_STR(v->dims[0], "y");
        CHECK_INT(v->shape[1], 20);
        check_band_against_gdalinfo(v, p, b);
    }
    nd_dataset_free(ds);
    /* descriptions that are not identifiers, or repeat, fall back to bandN */
    const char *const odd[3] = {"near infra-red", "x", "x"};
    make_tif(p, 32633, utm_gt, odd);
    ds = open_src(p);
    CHECK_STR(ds->vars[0].name, "band1");
    CHECK_STR(ds->vars[1].name, "band2");
    CHECK_STR(ds->vars[2].name, "band3");
    nd_dataset_free(ds);
}

ND_TEST(geotiff_dated_glob) {
    CHECK(mkdir(tmp("tifs"), 0755) == 0);
    const char *names[3] = {"tifs/s2_20200103.tif", "tifs/s2_20200101.tif", "tifs/s2_20200102.tif"};
    for (int i = 0; i < 3; i++) make_tif(tmp(names[i]), 32633, utm_gt, NULL);
    nd_dataset *ds = open_src(tmp("tifs/s2_*.tif"));
    CHECK_INT(ds->kind, ND_DS_RASTER);
    CHECK_INT(ds->nfiles, 3);
    CHECK_CONTAINS(ds->files[0], "20200101");
    CHECK_CONTAINS(ds->files[2], "20200103");
    CHECK_INT(ds->time->n, 3);
    char s[64];
    nd_datetime_format(&ds->time->dates[2], s, sizeof s);
    CHECK_STR(s, "2020-01-03T00:00:00Z");
    CHECK_INT(ds->vars[0].ndims, 3);
    CHECK_INT(ds->vars[0].shape[0], 3);
    CHECK(ds->vars[0].has_time);
    nd_dataset_free(ds);
}

ND_TEST(registry_all_or_nothing) {
    const char *nc = tmp("latlon.nc"), *tif = tmp("utm.tif");
    make_latlon(nc);
    make_tif(tif, 32633, utm_gt, NULL);
    nd_dataset_conf ds[3] = {
        {.id = "temps", .source = "latlon.nc", .file = "nadir.yaml", .line = 10},
        {.id = "scene", .source = (char *)tif, .file = "nadir.yaml", .line = 20},
        {.id = "ghost", .source = "ghost.nc", .file = "nadir.yaml", .line = 30},
    };
    nd_config cfg = {.dir = (char *)nd_test_tmp_dir(), .datasets = ds, .ndatasets = 2};
    nd_registry *r = NULL;
    char err[1024] = "";
    if (nd_registry_open(&cfg, &r, err, sizeof err) != 0) ND_FAIL_AT("%s", err);
    CHECK_INT(r->n, 2);
    const nd_dataset *d = nd_registry_get(r, "scene");
    CHECK(d && d->epsg == 32633);
    CHECK(nd_registry_get(r, "temps")->time != NULL);
    CHECK(nd_registry_get(r, "nope") == NULL);
    nd_registry_free(r);
    cfg.ndatasets = 3;
    r = (nd_registry *)1;
    CHECK(nd_registry_open(&cfg, &r, err, sizeof err) < 0);
    CHECK(r == NULL);
    CHECK_CONTAINS(err, "dataset 'ghost' (nadir.yaml:30)");
    CHECK_CONTAINS(err, "ghost.nc");
}

/* Real data shipped by r-cran-stars, when ND_SAMPLES_DIR points at an unpacked copy. */
static char *find_sample(const char *dir, const char *name) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "find '%s' -name '%s' -print -quit 2>/dev/null", dir, name);
    char *out = run(cmd);
    out[strcspn(out, "\n")] = '\0';
    if (!*out) ND_FAIL_AT("%s not found under %s", name, dir);
    return out;
}

ND_TEST(samples_stars) {
    const char *dir = getenv("ND_SAMPLES_DIR");
    if (!dir || !*dir) {
        printf("skipped: ND_SAMPLES_DIR not set\n");
        return;
    }
    char *tif = find_sample(dir, "L7_ETMs.tif"), *nc = find_sample(dir, "reduced.nc");
    nd_dataset *ds = open_src(tif);
    CHECK_INT(ds->width, 349);
    CHECK_INT(ds->height, 352);
    CHECK_INT(ds->epsg, 31985);
    CHECK_INT(ds->nvars, 6);
    check_against_gdalinfo(ds, tif, true);
    nd_dataset_free(ds);

    ds = open_src(nc);
    check_against_gdalinfo(ds, gdal_nc_name(nc, "sst"), false);
    CHECK_NEAR(ds->wgs84[0], -180, 0);
    CHECK_NEAR(ds->wgs84[2], 180, 0);
    CHECK_INT(ds->nvars, 4);
    const nd_variable *sst = nd_dataset_var(ds, "sst");
    CHECK(sst && sst->has_fill && sst->fill == -999);
    CHECK_NEAR(sst->scale, 0.01, 1e-7);
    CHECK(ds->vertical && ds->vertical->n == 1);
    CHECK(ds->time && ds->time->n == 1);
    nd_datetime d[2];
    CHECK_INT(ncdump_dates(nc, "time", d, 2), 1);
    CHECK_INT(ds->time->dates[0].year, d[0].year);
    CHECK_INT(ds->time->dates[0].month, d[0].month);
    CHECK_INT(ds->time->dates[0].day, d[0].day);
    double y[90];
    CHECK_INT(ncdump_values(nc, "lat", y, 90), 90);
    CHECK_NEAR(ds->y_values[0], y[0], 1e-6);
    CHECK_NEAR(ds->y_values[89], y[89], 1e-6);
    CHECK(ds->y_ascending);
    nd_dataset_free(ds);
    free(tif);
    free(nc);
}
