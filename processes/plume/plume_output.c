/* The plume-detection outputs: per-day maps in CF NetCDF, persistent sources as GeoJSON and CSV, and
 * a quick-look PNG drawn with Cairo. */
#include <cairo.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"
#include "plume_process.h"

#define NC(call)                                                                                                  \
    do {                                                                                                          \
        int _s = (call);                                                                                          \
        if (_s != NC_NOERR) {                                                                                     \
            rc = nd_fail(err, ND_E_IO, "", "writing maps.nc: %s", nc_strerror(_s));                              \
            goto done;                                                                                            \
        }                                                                                                         \
    } while (0)
#define ATT(var, name, text) NC(nc_put_att_text(nc, var, name, strlen(text), text))

int nd_plume_nc_open(nd_plume_nc *w, const char *path, const nd_grid *g, const nd_dataset *ds, size_t t0, size_t nt,
                     nd_error *err) {
    int rc = 0, nc = -1, d[3], vt, vx, vy;
    memset(w, 0, sizeof *w);
    w->nc = -1;
    w->nx = (size_t)g->width, w->ny = (size_t)g->height;
    NC(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc));
    w->nc = nc;
    NC(nc_def_dim(nc, "time", nt, &d[0]));
    NC(nc_def_dim(nc, "lat", w->ny, &d[1]));
    NC(nc_def_dim(nc, "lon", w->nx, &d[2]));
    NC(nc_def_var(nc, "time", NC_DOUBLE, 1, &d[0], &vt));
    ATT(vt, "units", ds->time->units);
    ATT(vt, "standard_name", "time");
    NC(nc_def_var(nc, "lat", NC_DOUBLE, 1, &d[1], &vy));
    ATT(vy, "units", "degrees_north");
    ATT(vy, "standard_name", "latitude");
    NC(nc_def_var(nc, "lon", NC_DOUBLE, 1, &d[2], &vx));
    ATT(vx, "units", "degrees_east");
    ATT(vx, "standard_name", "longitude");
    NC(nc_def_var(nc, "flag", NC_UBYTE, 3, d, &w->flag));
    unsigned char fv[4] = {0, 1, 2, 255};
    NC(nc_put_att_uchar(nc, w->flag, "flag_values", NC_UBYTE, 4, fv));
    ATT(w->flag, "flag_meanings", "none plume source gap");
    NC(nc_def_var(nc, "source_id", NC_INT, 3, d, &w->source));
    int fill = -1;
    NC(nc_def_var_fill(nc, w->source, 0, &fill));
    ATT(w->source, "long_name", "index of the detection (sources.csv detection column) contributing most");
    NC(nc_def_var(nc, "nsources", NC_UBYTE, 3, d, &w->nsources));
    ATT(w->nsources, "long_name", "number of sources contributing more than 10%");
    NC(nc_def_var(nc, "contribution", NC_FLOAT, 3, d, &w->contribution));
    float ff = NAN;
    NC(nc_def_var_fill(nc, w->contribution, 0, &ff));
    ATT(w->contribution, "long_name", "share of the main source in the modelled plume column");
    NC(nc_def_var(nc, "distance", NC_FLOAT, 3, d, &w->distance));
    NC(nc_def_var_fill(nc, w->distance, 0, &ff));
    ATT(w->distance, "units", "m");
    ATT(w->distance, "long_name", "distance to the main source");
    size_t chunk[3] = {1, w->ny < 512 ? w->ny : 512, w->nx < 512 ? w->nx : 512};
    NC(nc_def_var_chunking(nc, w->flag, NC_CHUNKED, chunk));
    NC(nc_def_var_deflate(nc, w->flag, 0, 1, 1));
    ATT(NC_GLOBAL, "Conventions", "CF-1.8");
    ATT(NC_GLOBAL, "title", "nadir plume-detection per-pixel results");
    NC(nc_enddef(nc));
    NC(nc_put_var_double(nc, vt, ds->time->values + t0));
    double *c = nd_xmalloc((w->nx > w->ny ? w->nx : w->ny) * sizeof *c);
    for (size_t i = 0; i < w->ny; i++) c[i] = g->gt[3] + (i + 0.5) * g->gt[5];
    int s1 = nc_put_var_double(nc, vy, c);
    for (size_t i = 0; i < w->nx; i++) c[i] = g->gt[0] + (i + 0.5) * g->gt[1];
    int s2 = nc_put_var_double(nc, vx, c);
    free(c);
    NC(s1);
    NC(s2);
done:
    return rc;
}

int nd_plume_nc_put_day(nd_plume_nc *w, size_t t, const unsigned char *flag, const int *source,
                        const unsigned char *nsources, const float *contribution, const float *distance, nd_error *err) {
    int rc = 0;
    size_t st[3] = {t, 0, 0}, ct[3] = {1, w->ny, w->nx};
    NC(nc_put_vara_uchar(w->nc, w->flag, st, ct, flag));
    NC(nc_put_vara_int(w->nc, w->source, st, ct, source));
    NC(nc_put_vara_uchar(w->nc, w->nsources, st, ct, nsources));
    NC(nc_put_vara_float(w->nc, w->contribution, st, ct, contribution));
    NC(nc_put_vara_float(w->nc, w->distance, st, ct, distance));
done:
    return rc;
}

int nd_plume_nc_close(nd_plume_nc *w, nd_error *err) {
    int s = w->nc >= 0 ? nc_close(w->nc) : NC_NOERR;
    w->nc = -1;
    if (s != NC_NOERR && err) return nd_fail(err, ND_E_IO, "", "closing maps.nc: %s", nc_strerror(s));
    return s == NC_NOERR ? 0 : -1;
}

int nd_plume_write_sources(nd_kernel_env *env, const nd_grid *g, const nd_plume_source *src, size_t nsrc,
                           const nd_plume_cluster *cl, size_t ncl, double dx, double dy, nd_error *err) {
    (void)dx, (void)dy;
    char path[4096];
    snprintf(path, sizeof path, "%s/sources.csv", env->dir);
    FILE *f = fopen(path, "w");
    if (!f) return nd_fail(err, ND_E_IO, "", "sources.csv could not be written");
    fprintf(f, "source,lon,lat,emission,emission_uncertainty,wind_u,wind_v,detections\n");
    json_t *features = json_array();
    for (size_t k = 0; k < ncl; k++) {
        double lon = g->gt[0] + (cl[k].col + 0.5) * g->gt[1], lat = g->gt[3] + (cl[k].row + 0.5) * g->gt[5];
        /* winds back to east/north: the kernel's rows run southward */
        double u = cl[k].u, v = -cl[k].v;
        fprintf(f, "%zu,%.6f,%.6f,%.6g,%.6g,%.3f,%.3f,%d\n", k, lon, lat, cl[k].q, cl[k].q_unc, u, v, cl[k].ndetections);
        json_t *days = json_array();
        for (size_t i = 0; i < nsrc; i++)
            if (src[i].cluster == (int)k)
                json_array_append_new(days, json_pack("{s:i, s:f, s:f, s:f}", "time_step", src[i].day, "emission_csf",
                                                      isfinite(src[i].q_csf) ? src[i].q_csf : -1.0, "emission_ime",
                                                      isfinite(src[i].q_ime) ? src[i].q_ime : -1.0, "length_m",
                                                      src[i].length));
        json_array_append_new(features,
                              json_pack("{s:s, s:I, s:{s:s, s:[f,f]}, s:{s:f, s:f, s:f, s:f, s:i, s:o}}", "type",
                                        "Feature", "id", (json_int_t)k, "geometry", "type", "Point", "coordinates",
                                        lon, lat, "properties", "emission", cl[k].q, "emission_uncertainty",
                                        cl[k].q_unc, "wind_u", u, "wind_v", v, "detections", cl[k].ndetections,
                                        "detections_by_day", days));
    }
    int bad = fclose(f) != 0;
    json_t *fc = json_pack("{s:s, s:o}", "type", "FeatureCollection", "features", features);
    snprintf(path, sizeof path, "%s/sources.geojson", env->dir);
    bad |= json_dump_file(fc, path, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0;
    json_decref(fc);
    return bad ? nd_fail(err, ND_E_IO, "", "the source files could not be written") : 0;
}

int nd_plume_quicklook(nd_kernel_env *env, const unsigned char *maxflag, int nx, int ny, const nd_plume_cluster *cl,
                       size_t ncl, nd_error *err) {
    /* at most 1024 pixels on the long side */
    double scale = fmin(1.0, 1024.0 / (nx > ny ? nx : ny));
    int w = (int)fmax(1, nx * scale), h = (int)fmax(1, ny * scale);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    cairo_surface_flush(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned char fl = maxflag[(size_t)(y / scale) * nx + (size_t)(x / scale)];
            uint32_t rgb = fl == 255 ? 0xb0b0b0 : fl == 1 ? 0xff8c00 : fl == 2 ? 0xd00000 : 0x203040;
            memcpy(data + (size_t)y * stride + 4 * (size_t)x, &rgb, 4);
        }
    cairo_surface_mark_dirty(s);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_set_line_width(cr, 1.5);
    for (size_t k = 0; k < ncl; k++) {
        cairo_arc(cr, (cl[k].col + 0.5) * scale, (cl[k].row + 0.5) * scale, 5, 0, 2 * M_PI);
        cairo_stroke(cr);
    }
    cairo_destroy(cr);
    char path[4096];
    snprintf(path, sizeof path, "%s/quicklook.png", env->dir);
    cairo_status_t st = cairo_surface_write_to_png(s, path);
    cairo_surface_destroy(s);
    return st == CAIRO_STATUS_SUCCESS ? 0 : nd_fail(err, ND_E_IO, "", "quicklook.png could not be written");
}
