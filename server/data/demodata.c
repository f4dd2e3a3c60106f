/* `nadir demo-data`: writes deterministic synthetic SST, Sentinel-2-like and DEM files with known answers, and a config serving them. */
#include "nadir/demodata.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <netcdf.h>
#include <ogr_srs_api.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A fixed integer hash instead of rand(): the same bytes on every run and every machine. */
static uint32_t hash3(uint32_t a, uint32_t b, uint32_t c) {
    uint32_t h = a * 0x9E3779B1u ^ (b + 0x7F4A7C15u) * 0x85EBCA77u ^ (c + 0x165667B1u) * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    return h;
}

/* Uniform in [-1, 1]. */
static double noise3(uint32_t a, uint32_t b, uint32_t c) {
    return hash3(a, b, c) / 4294967295.0 * 2.0 - 1.0;
}

static int mkdir_p(const char *path, char *err, size_t errlen) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return fail(err, errlen, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return fail(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = c;
        if (c == '\0') break;
    }
    return 0;
}

/* The temp file sits next to the target so that rename() is atomic (same file system). */
static void tmp_name(char *out, size_t n, const char *path) {
    snprintf(out, n, "%s.tmp%ld", path, (long)getpid());
}

static int commit_file(const char *tmp, const char *path, char *err, size_t errlen) {
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fail(err, errlen, "%s: cannot rename from temp file: %s", path, strerror(e));
    }
    return 0;
}

/* ---- 1. SST: a CF-1.8 daily time series over NW Europe --------------------------------- */

#define SST_NLON 200
#define SST_NLAT 104
#define SST_LON0 (-20.0) /* western edge; cell centres are at edge + (i + 0.5) * RES */
#define SST_LAT0 40.0
#define SST_RES 0.25
#define SST_DAYS 31

typedef struct { const char *name; const double (*v)[2]; size_t n; } land_poly;

/* Coarse coastlines (lon, lat), tens of vertices each: enough that a map of the field is
 * recognisably Europe and that seas are water. Polygons may overlap (the mask is their
 * union) and may close outside the grid. North Africa lies south of 40N, outside the grid. */
static const double iberia[][2] = {
    {-9.0, 36.9}, {-9.5, 38.7}, {-9.5, 38.8}, {-9.2, 39.5}, {-8.9, 40.2}, {-8.7, 41.2},
    {-8.9, 42.2}, {-9.3, 42.9}, {-8.4, 43.4}, {-7.7, 43.8}, {-5.7, 43.6}, {-3.8, 43.5},
    {-2.9, 43.4}, {-1.8, 43.4}, {0.0, 42.8}, {1.5, 42.6}, {3.2, 42.4}, {3.2, 41.9},
    {2.2, 41.4}, {1.2, 41.1}, {0.9, 40.7}, {0.0, 40.0}, {-0.3, 39.5}, {0.2, 38.8},
    {-0.5, 38.3}, {-0.7, 37.6}, {-2.4, 36.8}, {-4.4, 36.7}, {-5.6, 36.0}};
/* France, Benelux, Germany, Jutland, Poland, the Baltic states, the Balkans and Italy in one
 * ring, so that the Adriatic, the Black Sea and the Baltic are bays of it. */
static const double continent[][2] = {
    {-1.8, 43.35}, {-1.45, 43.6}, {-1.25, 44.6}, {-1.15, 45.55}, {-1.2, 46.2}, {-1.9, 46.7},
    {-2.2, 47.2}, {-3.1, 47.5}, {-4.4, 47.8}, {-4.75, 48.3}, {-4.6, 48.6}, {-4.0, 48.72},
    {-3.0, 48.8}, {-2.0, 48.65}, {-1.6, 48.8}, {-1.9, 49.7}, {-1.25, 49.7}, {-1.1, 49.35},
    {-0.2, 49.3}, {0.1, 49.45}, {1.1, 49.95}, {1.55, 50.2}, {1.6, 50.7}, {1.85, 50.95},
    {2.4, 51.05}, {3.0, 51.25}, {3.6, 51.45}, {4.1, 52.0}, {4.6, 52.5}, {4.75, 52.95},
    {5.4, 53.2}, {6.9, 53.45}, {7.6, 53.7}, {8.1, 53.55}, {8.7, 53.9}, {8.9, 54.2},
    {8.6, 54.5}, {8.6, 54.9}, {8.6, 55.45}, {8.1, 55.55}, {8.15, 56.1}, {8.2, 56.7},
    {8.6, 57.1}, {9.95, 57.6}, {10.6, 57.75}, {10.5, 57.4}, {10.3, 56.95}, {10.9, 56.45},
    {10.2, 56.1}, {9.9, 55.7}, {9.7, 55.5}, {9.9, 55.0}, {9.9, 54.75}, {10.15, 54.45},
    {11.0, 54.4}, {10.85, 54.0}, {11.5, 54.0}, {12.1, 54.2}, {12.5, 54.45}, {13.4, 54.65},
    {13.8, 54.3}, {14.2, 53.95}, {15.6, 54.2}, {16.9, 54.6}, {17.6, 54.8}, {18.4, 54.8},
    {18.6, 54.4}, {19.9, 54.6}, {20.0, 54.95}, {21.1, 55.7}, {21.0, 56.5}, {21.5, 57.4},
    {22.6, 57.75}, {23.2, 57.15}, {24.1, 57.0}, {24.4, 57.9}, {24.5, 58.4}, {23.5, 58.6},
    {23.5, 59.0}, {24.0, 59.3}, {24.7, 59.45}, {26.5, 59.55}, {28.0, 59.45}, {29.1, 59.9},
    {30.2, 59.95}, {31.0, 60.0}, {31.0, 46.6}, {30.7, 46.5}, {30.2, 45.9}, {29.7, 45.3},
    {28.8, 44.4}, {28.6, 43.7}, {28.0, 43.3}, {27.5, 42.5}, {28.0, 41.65}, {29.1, 41.2},
    {29.0, 41.0}, {27.5, 40.95}, {26.7, 40.4}, {26.2, 40.05}, {26.0, 40.75}, {24.0, 40.8},
    {22.9, 40.6}, {22.6, 40.0}, {22.8, 39.4}, {22.5, 39.0}, {20.7, 39.0}, {20.2, 39.6},
    {19.95, 39.95}, {19.4, 40.4}, {19.45, 41.3}, {19.5, 41.8}, {19.0, 42.05}, {18.5, 42.4},
    {18.1, 42.65}, {17.4, 43.0}, {16.4, 43.5}, {15.9, 43.7}, {15.2, 44.1}, {14.9, 44.9},
    {14.4, 45.3}, {13.9, 44.8}, {13.55, 45.3}, {13.7, 45.65}, {13.1, 45.7}, {12.3, 45.4},
    {12.5, 44.9}, {12.3, 44.5}, {12.6, 44.05}, {13.6, 43.6}, {14.2, 42.45}, {14.7, 42.1},
    {15.2, 41.9}, {16.1, 41.9}, {15.9, 41.55}, {16.9, 41.1}, {18.0, 40.6}, {18.5, 40.1},
    {18.35, 39.8}, {17.9, 40.3}, {17.2, 40.45}, {16.6, 40.1}, {16.55, 39.5}, {15.9, 39.5},
    {15.7, 40.0}, {15.0, 40.2}, {14.8, 40.65}, {14.3, 40.6}, {14.0, 40.8}, {13.6, 41.2},
    {12.9, 41.3}, {12.6, 41.45}, {12.2, 41.75}, {11.8, 42.1}, {11.1, 42.4}, {10.5, 42.95},
    {10.3, 43.55}, {10.2, 43.9}, {9.8, 44.1}, {8.9, 44.4}, {8.4, 44.3}, {8.0, 43.9},
    {7.5, 43.75}, {7.3, 43.7}, {6.9, 43.5}, {6.6, 43.15}, {6.0, 43.1}, {5.3, 43.3},
    {4.6, 43.4}, {3.9, 43.5}, {3.1, 43.1}, {3.05, 42.7}, {3.2, 42.4}, {1.5, 42.3},
    {0.0, 42.5}};
static const double britain[][2] = {
    {-5.2, 49.96}, {-5.7, 50.05}, {-5.0, 50.55}, {-4.2, 51.2}, {-3.0, 51.3}, {-4.3, 51.6},
    {-5.3, 51.85}, {-4.1, 52.5}, {-4.75, 52.8}, {-4.6, 53.3}, {-3.0, 53.4}, {-3.0, 54.0},
    {-3.6, 54.5}, {-3.4, 54.9}, {-5.0, 54.7}, {-5.1, 55.4}, {-5.7, 55.3}, {-5.6, 56.0},
    {-5.5, 56.5}, {-6.2, 56.7}, {-5.7, 57.3}, {-5.8, 57.9}, {-5.0, 58.6}, {-3.4, 58.67},
    {-3.0, 58.65}, {-3.1, 58.4}, {-4.0, 57.9}, {-4.2, 57.5}, {-3.3, 57.7}, {-2.0, 57.7},
    {-1.8, 57.5}, {-2.1, 57.15}, {-2.6, 56.3}, {-2.1, 55.9}, {-2.0, 55.75}, {-1.4, 55.0},
    {-0.6, 54.5}, {-0.1, 54.1}, {0.1, 53.6}, {0.3, 53.0}, {1.7, 52.7}, {1.75, 52.5},
    {1.6, 52.0}, {0.9, 51.5}, {1.45, 51.4}, {1.4, 51.1}, {1.0, 50.9}, {0.25, 50.75},
    {-0.1, 50.8}, {-1.1, 50.8}, {-1.3, 50.6}, {-2.45, 50.6}, {-3.65, 50.2}, {-4.1, 50.35}};
static const double ireland[][2] = {
    {-7.4, 55.4}, {-6.1, 55.2}, {-5.7, 54.7}, {-5.45, 54.4}, {-6.3, 54.0}, {-6.05, 53.35},
    {-6.0, 52.95}, {-6.35, 52.17}, {-7.0, 52.1}, {-8.3, 51.8}, {-9.8, 51.45}, {-10.45, 52.1},
    {-9.9, 52.55}, {-9.0, 53.2}, {-10.2, 53.4}, {-10.1, 54.0}, {-10.0, 54.25}, {-8.6, 54.3},
    {-8.8, 54.65}, {-8.3, 55.15}};
static const double scandinavia[][2] = { /* Norway and Sweden */
    {7.05, 57.98}, {8.0, 58.1}, {8.8, 58.45}, {10.0, 59.0}, {10.9, 59.2}, {11.2, 58.9},
    {11.4, 58.3}, {11.8, 57.7}, {12.2, 57.1}, {12.8, 56.65}, {12.45, 56.3}, {12.7, 56.05},
    {12.95, 55.6}, {12.8, 55.4}, {13.8, 55.4}, {14.35, 55.55}, {14.8, 56.15}, {15.6, 56.15},
    {16.35, 56.65}, {16.6, 57.3}, {16.65, 57.75}, {16.9, 58.5}, {17.95, 58.9}, {18.1, 59.35},
    {18.9, 59.75}, {18.45, 60.35}, {17.2, 60.7}, {17.2, 61.7}, {17.35, 62.4}, {18.7, 63.3},
    {20.3, 63.8}, {21.2, 64.75}, {22.1, 65.6}, {24.1, 65.85}, {24.1, 67.2}, {14.4, 67.3},
    {13.0, 66.2}, {12.0, 65.5}, {10.7, 64.5}, {9.7, 63.7}, {8.5, 63.4}, {7.7, 63.1},
    {6.1, 62.5}, {5.1, 62.2}, {5.0, 61.6}, {5.0, 60.4}, {5.2, 59.4}, {5.6, 58.95},
    {5.9, 58.45}};
static const double finland[][2] = { /* and Russian Karelia, closed east of the grid */
    {24.0, 67.0}, {24.0, 65.85}, {24.6, 65.7}, {25.4, 65.0}, {24.5, 64.7}, {23.1, 63.85},
    {21.6, 63.1}, {21.4, 62.3}, {21.45, 61.5}, {21.5, 61.1}, {21.4, 60.6}, {22.0, 60.2},
    {22.95, 59.82}, {24.0, 60.0}, {24.95, 60.15}, {26.95, 60.45}, {28.5, 60.5}, {29.7, 60.2},
    {30.2, 60.0}, {31.0, 60.0}, {31.0, 67.0}};
static const double iceland[][2] = {
    {-22.7, 63.8}, {-21.0, 63.85}, {-19.0, 63.4}, {-16.6, 63.8}, {-15.2, 64.25}, {-14.5, 64.4},
    {-13.5, 65.27}, {-14.5, 65.8}, {-14.5, 66.37}, {-16.0, 66.5}, {-17.0, 66.2}, {-18.9, 66.2},
    {-20.3, 66.1}, {-21.5, 65.8}, {-24.5, 65.5}, {-24.0, 64.85}, {-22.0, 64.3}};
static const double zealand[][2] = {
    {11.1, 55.7}, {11.35, 55.97}, {12.3, 56.12}, {12.6, 56.03}, {12.6, 55.68}, {12.45, 55.3},
    {11.9, 55.0}, {11.15, 55.33}};
static const double funen[][2] = {
    {9.75, 55.5}, {10.1, 55.6}, {10.6, 55.6}, {10.8, 55.3}, {10.6, 55.05}, {10.2, 55.1},
    {9.9, 55.25}};
static const double gotland[][2] = {
    {18.15, 56.92}, {18.1, 57.25}, {18.4, 57.6}, {18.75, 57.95}, {19.3, 57.95}, {19.0, 57.6},
    {18.75, 57.25}, {18.4, 56.95}};
static const double corsica[][2] = {
    {9.35, 43.0}, {9.45, 42.7}, {9.55, 42.1}, {9.3, 41.6}, {9.15, 41.38}, {8.8, 41.55},
    {8.6, 41.95}, {8.6, 42.35}, {8.75, 42.6}, {9.25, 42.75}};
static const double sardinia[][2] = {
    {9.2, 41.25}, {9.5, 40.92}, {9.7, 40.38}, {9.65, 39.9}, {9.6, 39.2}, {9.1, 39.2},
    {8.4, 38.9}, {8.5, 39.9}, {8.3, 40.55}, {8.2, 40.95}, {8.7, 40.9}};
static const double shetland[][2] = {
    {-1.3, 60.85}, {-0.8, 60.8}, {-1.0, 60.2}, {-1.3, 59.85}, {-1.4, 60.2}, {-1.7, 60.3},
    {-1.5, 60.55}};

#define POLY(a) {#a, a, sizeof a / sizeof a[0]}
static const land_poly land_polys[] = {
    POLY(iberia), POLY(continent), POLY(britain), POLY(ireland), POLY(scandinavia),
    POLY(finland), POLY(iceland), POLY(zealand), POLY(funen), POLY(gotland),
    POLY(corsica), POLY(sardinia), POLY(shetland)};

static int in_poly(const land_poly *p, double x, double y) {
    int in = 0;
    for (size_t i = 0, j = p->n - 1; i < p->n; j = i++) {
        double xi = p->v[i][0], yi = p->v[i][1], xj = p->v[j][0], yj = p->v[j][1];
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) in = !in;
    }
    return in;
}

static int is_land(double lon, double lat) {
    for (size_t k = 0; k < sizeof land_polys / sizeof land_polys[0]; k++)
        if (in_poly(&land_polys[k], lon, lat)) return 1;
    return 0;
}

static double ramp(double v, double lo, double hi) { /* smoothstep 0..1 */
    double t = v <= lo ? 0 : v >= hi ? 1 : (v - lo) / (hi - lo);
    return t * t * (3 - 2 * t);
}

static double mix(double a, double b, double w) { return a + (b - a) * w; }

/* January SST in degC: an Atlantic gradient blended smoothly into North Sea, Baltic,
 * Mediterranean and Black Sea regimes, plus a smooth pattern, a cooling trend and noise. */
static double sst_value(double lon, double lat, int day, int i, int j) {
    double atl = 16.0 - 0.28 * (lat - 40) - 0.04 * (lon + 20);
    double ns = 8.0 - 0.25 * (lon - 2) + 0.15 * (lat - 55);
    double bal = 4.8 - 0.35 * (lat - 55) - 0.05 * (lon - 15);
    double med = 15.0 - 0.35 * (lat - 40) + 0.02 * (lon - 5);
    double black = 8.5 - 0.3 * (lat - 43);
    double w_ns = ramp(lon, -3, 0) * ramp(lat, 50.6, 51.6) * (1 - ramp(lat, 59, 61.5));
    /* The Baltic starts east of the Danish straits; north of 61N only east of Sweden's coast
     * so that the Norwegian Sea stays Atlantic. */
    double w_bal = ramp(lon, 10.5, 13) * ramp(lat, 53.5, 54) * (1 - ramp(lat, 61, 62) * (1 - ramp(lon, 15, 16.5)));
    double w_med = ramp(lon, -1.0, -0.25) * (1 - ramp(lat, 46.0, 46.5));
    double w_black = ramp(lon, 26.5, 27.5) * ramp(lat, 41.0, 41.3);
    double t = mix(mix(mix(mix(atl, ns, w_ns), bal, w_bal), med, w_med), black, w_black);
    t += 0.3 * sin(lon * 0.35 + lat * 0.2) + 0.2 * sin(lat * 0.5 - lon * 0.15 + 1.3) +
         0.1 * sin((lon + lat) * 0.9);
    t -= 0.05 * day;
    t += 0.10 * noise3(1, (uint32_t)day, 0) + 0.08 * noise3(2, (uint32_t)day, (uint32_t)(j * SST_NLON + i));
    return t < 0 ? 0 : t > 20 ? 20 : t; /* the Bothnian Bay sits at freezing point */
}

#define NCX(call)                                                                         \
    do {                                                                                  \
        if ((rc = (call)) != NC_NOERR) { step = #call; goto nc_fail; }                    \
    } while (0)

static int put_text(int ncid, int var, const char *name, const char *value) {
    return nc_put_att_text(ncid, var, name, strlen(value), value);
}

/* Classic 64-bit-offset format, not NetCDF-4: HDF5 files can carry object timestamps and
 * allocation-order differences, while the classic format is plain header + arrays, so the
 * same data gives the same bytes on every run. */
static int write_sst_day(const char *dir, int day, const unsigned char *land, short *field,
                         char *err, size_t errlen) {
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/sst/sst_202501%02d.nc", dir, day + 1);
    tmp_name(tmp, sizeof tmp, path);
    const char *step = "";
    int rc, ncid = -1, dt, dy, dx, vt, vy, vx, vs;
    NCX(nc_create(tmp, NC_CLOBBER | NC_64BIT_OFFSET, &ncid));
    NCX(nc_def_dim(ncid, "time", NC_UNLIMITED, &dt));
    NCX(nc_def_dim(ncid, "lat", SST_NLAT, &dy));
    NCX(nc_def_dim(ncid, "lon", SST_NLON, &dx));
    NCX(nc_def_var(ncid, "time", NC_DOUBLE, 1, &dt, &vt));
    NCX(nc_def_var(ncid, "lat", NC_DOUBLE, 1, &dy, &vy));
    NCX(nc_def_var(ncid, "lon", NC_DOUBLE, 1, &dx, &vx));
    int dims[3] = {dt, dy, dx};
    NCX(nc_def_var(ncid, "sst", NC_SHORT, 3, dims, &vs));
    NCX(put_text(ncid, vt, "standard_name", "time"));
    NCX(put_text(ncid, vt, "long_name", "time"));
    NCX(put_text(ncid, vt, "units", "days since 2025-01-01 00:00:00"));
    NCX(put_text(ncid, vt, "calendar", "standard"));
    NCX(put_text(ncid, vt, "axis", "T"));
    NCX(put_text(ncid, vy, "standard_name", "latitude"));
    NCX(put_text(ncid, vy, "long_name", "latitude"));
    NCX(put_text(ncid, vy, "units", "degrees_north"));
    NCX(put_text(ncid, vy, "axis", "Y"));
    NCX(put_text(ncid, vx, "standard_name", "longitude"));
    NCX(put_text(ncid, vx, "long_name", "longitude"));
    NCX(put_text(ncid, vx, "units", "degrees_east"));
    NCX(put_text(ncid, vx, "axis", "X"));
    /* Packed as short hundredths of a degree; valid_* are packed values, as CF asks. */
    short fill = -32768, vmin = -200, vmax = 3500;
    float scale = 0.01f, offset = 0.0f;
    NCX(put_text(ncid, vs, "standard_name", "sea_surface_temperature"));
    NCX(put_text(ncid, vs, "long_name", "Sea surface temperature"));
    NCX(put_text(ncid, vs, "units", "degree_Celsius"));
    NCX(nc_put_att_short(ncid, vs, "_FillValue", NC_SHORT, 1, &fill));
    NCX(nc_put_att_float(ncid, vs, "scale_factor", NC_FLOAT, 1, &scale));
    NCX(nc_put_att_float(ncid, vs, "add_offset", NC_FLOAT, 1, &offset));
    NCX(nc_put_att_short(ncid, vs, "valid_min", NC_SHORT, 1, &vmin));
    NCX(nc_put_att_short(ncid, vs, "valid_max", NC_SHORT, 1, &vmax));
    NCX(put_text(ncid, vs, "comment", "Land cells are _FillValue."));
    NCX(put_text(ncid, NC_GLOBAL, "Conventions", "CF-1.8"));
    NCX(put_text(ncid, NC_GLOBAL, "title", "nadir demo: synthetic daily sea surface temperature, NW Europe, January 2025"));
    NCX(put_text(ncid, NC_GLOBAL, "institution", "nadir project"));
    NCX(put_text(ncid, NC_GLOBAL, "source", "nadir demo-data (synthetic)"));
    /* No creation time: a timestamp would make re-runs differ. */
    NCX(put_text(ncid, NC_GLOBAL, "history", "written by `nadir demo-data`; deterministic"));
    NCX(put_text(ncid, NC_GLOBAL, "comment",
                 "Synthetic values with January-like magnitudes, not observations. "
                 "One file per day; join the files along time."));
    NCX(nc_enddef(ncid));

    double tval = day, lat[SST_NLAT], lon[SST_NLON];
    for (int j = 0; j < SST_NLAT; j++) lat[j] = SST_LAT0 + (j + 0.5) * SST_RES;
    for (int i = 0; i < SST_NLON; i++) lon[i] = SST_LON0 + (i + 0.5) * SST_RES;
    size_t t0 = 0, t1 = 1;
    NCX(nc_put_vara_double(ncid, vt, &t0, &t1, &tval));
    NCX(nc_put_var_double(ncid, vy, lat));
    NCX(nc_put_var_double(ncid, vx, lon));
    for (int j = 0; j < SST_NLAT; j++)
        for (int i = 0; i < SST_NLON; i++)
            field[j * SST_NLON + i] = land[j * SST_NLON + i]
                ? fill : (short)lround(sst_value(lon[i], lat[j], day, i, j) / 0.01);
    size_t start[3] = {0, 0, 0}, count[3] = {1, SST_NLAT, SST_NLON};
    NCX(nc_put_vara_short(ncid, vs, start, count, field));
    rc = nc_close(ncid);
    ncid = -1;
    if (rc != NC_NOERR) { step = "nc_close"; goto nc_fail; }
    return commit_file(tmp, path, err, errlen);
nc_fail:
    if (ncid >= 0) nc_close(ncid);
    unlink(tmp);
    return fail(err, errlen, "%s: %s failed: %s", path, step, nc_strerror(rc));
}

static int write_sst(const char *dir, char *err, size_t errlen) {
    char sub[PATH_MAX];
    snprintf(sub, sizeof sub, "%s/sst", dir);
    if (mkdir_p(sub, err, errlen) < 0) return -1;
    unsigned char *land = malloc(SST_NLAT * SST_NLON);
    short *field = malloc(sizeof *field * SST_NLAT * SST_NLON);
    if (!land || !field) {
        free(land);
        free(field);
        return fail(err, errlen, "%s: out of memory", sub);
    }
    for (int j = 0; j < SST_NLAT; j++)
        for (int i = 0; i < SST_NLON; i++)
            land[j * SST_NLON + i] = (unsigned char)is_land(SST_LON0 + (i + 0.5) * SST_RES,
                                                            SST_LAT0 + (j + 0.5) * SST_RES);
    int rc = 0;
    for (int day = 0; day < SST_DAYS && rc == 0; day++)
        rc = write_sst_day(dir, day, land, field, err, errlen);
    free(land);
    free(field);
    return rc;
}

/* ---- GDAL: build in memory, then one CreateCopy into a COG-layout GeoTIFF -------------- */

static int gdal_fail(char *err, size_t errlen, const char *path, const char *what) {
    const char *msg = CPLGetLastErrorMsg();
    return fail(err, errlen, "%s: %s: %s", path, what, msg && *msg ? msg : "unknown GDAL error");
}

/* The COG driver gives tiles, DEFLATE and internal overviews in the cloud-optimised order. */
static int write_cog(GDALDatasetH mem, const char *path, int overviews, char *err, size_t errlen) {
    char tmp[PATH_MAX + 32], ovr[16];
    tmp_name(tmp, sizeof tmp, path);
    snprintf(ovr, sizeof ovr, "%d", overviews);
    GDALDriverH cog = GDALGetDriverByName("COG");
    if (!cog) return fail(err, errlen, "%s: GDAL has no COG driver", path);
    char **opts = NULL;
    opts = CSLSetNameValue(opts, "BLOCKSIZE", "256");
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "PREDICTOR", "YES"); /* 2 for integers, 3 for floats */
    opts = CSLSetNameValue(opts, "OVERVIEW_RESAMPLING", "AVERAGE");
    opts = CSLSetNameValue(opts, "OVERVIEW_COUNT", ovr);
    opts = CSLSetNameValue(opts, "OVERVIEW_COMPRESS", "DEFLATE");
    CPLErrorReset();
    GDALDatasetH out = GDALCreateCopy(cog, tmp, mem, FALSE, opts, NULL, NULL);
    CSLDestroy(opts);
    if (!out) {
        int r = gdal_fail(err, errlen, path, "writing GeoTIFF");
        VSIUnlink(tmp);
        return r;
    }
    GDALClose(out);
    if (CPLGetLastErrorType() >= CE_Failure) {
        int r = gdal_fail(err, errlen, path, "closing GeoTIFF");
        VSIUnlink(tmp);
        return r;
    }
    return commit_file(tmp, path, err, errlen);
}

static GDALDatasetH mem_dataset(int nx, int ny, int nbands, GDALDataType type, int epsg,
                                const double gt[6]) {
    GDALDriverH drv = GDALGetDriverByName("MEM");
    GDALDatasetH ds = drv ? GDALCreate(drv, "", nx, ny, nbands, type, NULL) : NULL;
    if (!ds) return NULL;
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    char *wkt = NULL;
    int ok = OSRImportFromEPSG(srs, epsg) == OGRERR_NONE && OSRExportToWkt(srs, &wkt) == OGRERR_NONE &&
             GDALSetProjection(ds, wkt) == CE_None && GDALSetGeoTransform(ds, (double *)gt) == CE_None;
    CPLFree(wkt);
    OSRDestroySpatialReference(srs);
    if (!ok) {
        GDALClose(ds);
        return NULL;
    }
    return ds;
}

/* ---- 2. Sentinel-2-like scene: 4 bands, 10 m, east of Toulouse ------------------------- */

#define S2_N 1024
enum { C_WATER_RIVER, C_WATER_LAKE, C_FOREST, C_WHEAT, C_RAPESEED, C_GRASS, C_STUBBLE,
       C_BARE, C_URBAN, C_ROAD, C_NCLASS };
/* Surface reflectance x 10000 for B02, B03, B04, B08: textbook winter spectra. */
static const unsigned short s2_spectra[C_NCLASS][4] = {
    [C_WATER_RIVER] = {520, 560, 420, 300}, [C_WATER_LAKE] = {420, 450, 260, 180},
    [C_FOREST] = {260, 480, 280, 3300},     [C_WHEAT] = {330, 650, 380, 4200},
    [C_RAPESEED] = {420, 800, 520, 3700},   [C_GRASS] = {380, 700, 550, 3000},
    [C_STUBBLE] = {900, 1100, 1350, 2100},  [C_BARE] = {1050, 1380, 1750, 2350},
    [C_URBAN] = {1050, 1120, 1250, 1650},   [C_ROAD] = {950, 1000, 1050, 1200}};

/* The landscape in pixel coordinates (x right, y down); the tests probe these shapes. */
static int s2_class(int x, int y, uint32_t *parcel) {
    *parcel = 0;
    double river_x = 560 + 90 * sin(y / 150.0) + 30 * sin(y / 47.0);
    if (fabs(x - river_x) < 7) return C_WATER_RIVER;
    double lx = (x - 840) / 100.0, ly = (y - 250) / 70.0;
    if (lx * lx + ly * ly < 1) return C_WATER_LAKE;
    if (x >= 40 && x < 330 && y >= 40 && y < 260) /* a town with a street grid every 40 px */
        return ((x - 40) % 40 < 4 || (y - 40) % 40 < 4) ? C_ROAD : C_URBAN;
    double fx = x - 200.0, fy = y - 780.0, th = atan2(fy, fx);
    if (sqrt(fx * fx + fy * fy) < 150 + 20 * sin(3 * th) + 10 * sin(7 * th)) return C_FOREST;
    /* Fields: a warped grid of parcels, each with one crop, separated by grass margins. */
    double bx = x + 12 * sin(y / 70.0), by = y + 8 * sin(x / 90.0);
    int pi = (int)floor(bx / 128), pj = (int)floor(by / 102);
    if (fmod(bx, 128) < 2 || fmod(by, 102) < 2) return C_GRASS;
    *parcel = (uint32_t)(pj * 16 + pi + 1);
    static const int crops[] = {C_WHEAT, C_RAPESEED, C_GRASS, C_STUBBLE, C_BARE, C_WHEAT};
    return crops[hash3(7, (uint32_t)pi, (uint32_t)pj) % (sizeof crops / sizeof crops[0])];
}

static int write_s2(const char *dir, char *err, size_t errlen) {
    char sub[PATH_MAX], path[PATH_MAX + 32];
    snprintf(sub, sizeof sub, "%s/s2", dir);
    snprintf(path, sizeof path, "%s/s2_demo_10m.tif", sub);
    if (mkdir_p(sub, err, errlen) < 0) return -1;
    const double gt[6] = {380000, 10, 0, 4830000, 0, -10};
    GDALDatasetH mem = mem_dataset(S2_N, S2_N, 4, GDT_UInt16, 32631, gt);
    if (!mem) return gdal_fail(err, errlen, path, "creating in-memory raster");
    unsigned short *buf = malloc(sizeof *buf * S2_N * S2_N * 4);
    if (!buf) {
        GDALClose(mem);
        return fail(err, errlen, "%s: out of memory", path);
    }
    for (int y = 0; y < S2_N; y++)
        for (int x = 0; x < S2_N; x++) {
            uint32_t parcel;
            int c = s2_class(x, y, &parcel);
            /* Fields differ a little from each other, pixels a little within a field. */
            double field = 1 + 0.06 * noise3(11, parcel, (uint32_t)c);
            double tex = c == C_FOREST ? 0.10 : 0.03;
            for (int b = 0; b < 4; b++) {
                double v = s2_spectra[c][b] * field * (1 + tex * noise3(12 + b, (uint32_t)x, (uint32_t)y));
                buf[(size_t)b * S2_N * S2_N + (size_t)y * S2_N + x] = (unsigned short)lround(v);
            }
        }
    static const char *names[4] = {"B02", "B03", "B04", "B08"};
    int ok = 1;
    for (int b = 0; b < 4 && ok; b++) {
        GDALRasterBandH band = GDALGetRasterBand(mem, b + 1);
        GDALSetDescription(band, names[b]);
        GDALSetRasterNoDataValue(band, 0);
        ok = GDALRasterIO(band, GF_Write, 0, 0, S2_N, S2_N, buf + (size_t)b * S2_N * S2_N, S2_N, S2_N,
                          GDT_UInt16, 0, 0) == CE_None;
    }
    free(buf);
    GDALSetMetadataItem(mem, "DESCRIPTION", "nadir demo: synthetic Sentinel-2-like surface reflectance x 10000 "
                        "(fields, river, lake, forest, town, bare soil); not an observation", NULL);
    int rc = ok ? write_cog(mem, path, 3, err, errlen) : gdal_fail(err, errlen, path, "filling raster");
    GDALClose(mem);
    return rc;
}

/* ---- 3. DEM: Alpine-like hills and a valley, EPSG:4326 -------------------------------- */

#define DEM_N 512

static int write_dem(const char *dir, char *err, size_t errlen) {
    char sub[PATH_MAX], path[PATH_MAX + 32];
    snprintf(sub, sizeof sub, "%s/dem", dir);
    snprintf(path, sizeof path, "%s/dem_demo.tif", sub);
    if (mkdir_p(sub, err, errlen) < 0) return -1;
    const double gt[6] = {10.0, 0.001, 0, 46.6, 0, -0.001};
    GDALDatasetH mem = mem_dataset(DEM_N, DEM_N, 1, GDT_Float32, 4326, gt);
    if (!mem) return gdal_fail(err, errlen, path, "creating in-memory raster");
    float *h = malloc(sizeof *h * DEM_N * DEM_N);
    if (!h) {
        GDALClose(mem);
        return fail(err, errlen, "%s: out of memory", path);
    }
    /* Peaks as Gaussians (x, y, height, sigma in pixels) on a sloping plateau, and one
     * meandering valley carved across: about 250..2400 m, clamped to 200..2500 m. */
    static const double peaks[][4] = {
        {110, 90, 1100, 70}, {390, 140, 1000, 90}, {300, 430, 950, 60}, {70, 420, 800, 80},
        {470, 470, 600, 50}, {230, 60, 500, 40}};
    for (int y = 0; y < DEM_N; y++)
        for (int x = 0; x < DEM_N; x++) {
            double v = 1050 + 0.6 * (DEM_N - y) - 0.3 * x;
            for (size_t k = 0; k < sizeof peaks / sizeof peaks[0]; k++) {
                double dx = x - peaks[k][0], dy = y - peaks[k][1], s = peaks[k][3];
                v += peaks[k][2] * exp(-(dx * dx + dy * dy) / (2 * s * s));
            }
            double d = y - (270 + 40 * sin(x / 80.0));
            v -= 900 * exp(-(d * d) / (2 * 35.0 * 35.0));
            v += 25 * sin(x / 13.0) * cos(y / 17.0);
            h[(size_t)y * DEM_N + x] = (float)(v < 200 ? 200 : v > 2500 ? 2500 : v);
        }
    GDALRasterBandH band = GDALGetRasterBand(mem, 1);
    GDALSetDescription(band, "elevation");
    GDALSetRasterUnitType(band, "m");
    GDALSetRasterNoDataValue(band, -9999);
    int ok = GDALRasterIO(band, GF_Write, 0, 0, DEM_N, DEM_N, h, DEM_N, DEM_N, GDT_Float32, 0, 0) == CE_None;
    free(h);
    int rc = ok ? write_cog(mem, path, 1, err, errlen)
                : gdal_fail(err, errlen, path, "filling raster");
    GDALClose(mem);
    return rc;
}

/* ---- 4. The configuration, with Debian's real samples when present --------------------- */

/* Depth-first search for a file name; keeps the smallest path so the result (and so the
 * config) does not depend on readdir order. Symbolic links are not followed. */
static void find_file(const char *dir, const char *name, int depth, char *best, size_t n) {
    DIR *d = depth > 16 ? NULL : opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[PATH_MAX];
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
        struct stat st;
        if (lstat(p, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) find_file(p, name, depth + 1, best, n);
        else if (S_ISREG(st.st_mode) && !strcmp(e->d_name, name) && (!*best || strcmp(p, best) < 0))
            snprintf(best, n, "%s", p);
    }
    closedir(d);
}

/* A YAML double-quoted scalar. */
static void put_quoted(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void put_dataset(FILE *f, const char *id, const char *title, const char *abstract,
                        const char *keywords, const char *license, const char *source) {
    fprintf(f, "\n  - id: %s\n    title: ", id);
    put_quoted(f, title);
    fputs("\n    abstract: ", f);
    put_quoted(f, abstract);
    fprintf(f, "\n    keywords: [%s]\n    license: %s\n    source: ", keywords, license);
    put_quoted(f, source);
    fputc('\n', f);
}

static int write_config(const char *dir, const char *samples_dir, char *err, size_t errlen) {
    char path[PATH_MAX], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/nadir.yaml", dir);
    tmp_name(tmp, sizeof tmp, path);
    char l7[PATH_MAX] = "", oisst[PATH_MAX] = "", countries[PATH_MAX] = "", real[PATH_MAX];
    if (samples_dir) {
        find_file(samples_dir, "L7_ETMs.tif", 0, l7, sizeof l7);
        find_file(samples_dir, "reduced.nc", 0, oisst, sizeof oisst);
        if (*l7 && realpath(l7, real)) snprintf(l7, sizeof l7, "%s", real);
        if (*oisst && realpath(oisst, real)) snprintf(oisst, sizeof oisst, "%s", real);
        find_file(samples_dir, "naturalearth_lowres.shp", 0, countries, sizeof countries);
        if (*countries && realpath(countries, real)) snprintf(countries, sizeof countries, "%s", real);
    }
    FILE *f = fopen(tmp, "w");
    if (!f) return fail(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
    fputs("# nadir demo configuration, written by `nadir demo-data`.\n"
          "# sst, s2_demo and dem_demo are synthetic and deterministic, with known answers;\n"
          "# landsat7 and oisst, when present, are real samples from Debian's r-cran-stars.\n"
          "# Relative paths are relative to this file's directory.\n"
          "#   nadir serve -c nadir.yaml      (PORT=9000 nadir serve ... to change the port)\n"
          "\nserver:\n  port: ${PORT:-8080}\n\ndatasets:", f);
    put_dataset(f, "sst", "Synthetic daily sea surface temperature, NW Europe, January 2025",
                "31 daily CF-1.8 NetCDF files on a 0.25 degree grid (20W-30E, 40N-66N), joined "
                "along time. January-like values: Atlantic 10-16 degC, North Sea 6-9, Baltic 0-5, "
                "Mediterranean 13-15; land is masked. Synthetic, not observations.",
                "sea surface temperature, ocean, daily, synthetic", "CC-BY-4.0", "sst/sst_*.nc");
    put_dataset(f, "s2_demo", "Synthetic Sentinel-2-like scene near Toulouse",
                "4-band (B02, B03, B04, B08) surface reflectance x 10000, 10 m, 1024 x 1024 pixels, "
                "EPSG:32631; fields, a river, a lake, a forest, a town and bare soil. Cloud-optimised "
                "GeoTIFF. Synthetic, not an observation.",
                "Sentinel-2, reflectance, land cover, synthetic", "CC-BY-4.0", "s2/s2_demo_10m.tif");
    put_dataset(f, "dem_demo", "Synthetic Alpine-like elevation model",
                "Float32 heights 200-2500 m on a 0.001 degree grid (EPSG:4326), 512 x 512 cells: "
                "hills and a valley. Synthetic.",
                "elevation, DEM, terrain, synthetic", "CC-BY-4.0", "dem/dem_demo.tif");
    if (*l7)
        put_dataset(f, "landsat7", "Landsat 7 ETM+ (Olinda, Brazil) — r-cran-stars sample",
                    "Six ETM+ bands at 30 m over Olinda, Brazil, UTM zone 25S (SIRGAS 2000), "
                    "from the R stars package as packaged by Debian.",
                    "Landsat, ETM+, reflectance, Brazil", "Apache-2.0", l7);
    if (*oisst)
        put_dataset(f, "oisst", "NOAA OISST v2 daily SST — r-cran-stars sample",
                    "One day of NOAA Optimum Interpolation SST v2 on a reduced 2 degree global grid, "
                    "from the R stars package as packaged by Debian.",
                    "sea surface temperature, OISST, NOAA, global", "Apache-2.0", oisst);
    if (*countries) /* a vector base layer for the viewer: WMS/WMTS layer countries/naturalearth_lowres */
        put_dataset(f, "countries", "Countries of the world — Natural Earth 1:110m",
                    "Country polygons with name, continent, ISO code, population and GDP estimates, from "
                    "Natural Earth (public domain) as shipped by Debian's python3-geopandas.",
                    "countries, boundaries, Natural Earth, base map", "public-domain", countries);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return fail(err, errlen, "%s: write failed: %s", path, strerror(errno));
    }
    return commit_file(tmp, path, err, errlen);
}

int nd_demo_data_write(const char *dir, const char *samples_dir, char *err, size_t errlen) {
    if (!dir || !*dir) return fail(err, errlen, "demo-data: no output directory given");
    if (mkdir_p(dir, err, errlen) < 0) return -1;
    GDALAllRegister();
    if (write_sst(dir, err, errlen) < 0 || write_s2(dir, err, errlen) < 0 ||
        write_dem(dir, err, errlen) < 0 || write_config(dir, samples_dir, err, errlen) < 0)
        return -1;
    return 0;
}
