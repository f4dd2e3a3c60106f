/* GDAL side of the super-resolution process: region to pixel window, and the output GeoTIFF. */
#include <cpl_string.h>
#include <gdal.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sr_io.h"

int nd_sr_window(const nd_dataset *ds, const json_t *box, int win[4], nd_error *err) {
    const double *gt = ds->geotransform;
    if (gt[2] != 0 || gt[4] != 0 || gt[1] <= 0 || gt[5] == 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "image", "the image grid is rotated: super-resolution needs a north-up grid");
    win[0] = 0, win[1] = 0, win[2] = (int)ds->width, win[3] = (int)ds->height;
    const json_t *arr = json_object_get(box, "bbox");
    if (!json_is_array(arr)) return 0;
    double b[4];
    for (int i = 0; i < 4; i++) b[i] = json_number_value(json_array_get(arr, (size_t)i));
    OGRSpatialReferenceH src = nd_srs_new(json_string_value(json_object_get(box, "crs")));
    OGRSpatialReferenceH dst = ds->crs_wkt ? nd_srs_new(ds->crs_wkt) : NULL;
    OGRCoordinateTransformationH ct = src && dst ? OCTNewCoordinateTransformation(src, dst) : NULL;
    /* The box's edges, densified, so a curved image of the box in the raster's CRS is covered. */
    double x[84], y[84];
    int n = 0;
    for (int k = 0; k <= 20; k++) {
        double t = k / 20.0;
        x[n] = b[0] + t * (b[2] - b[0]), y[n++] = b[1];
        x[n] = b[0] + t * (b[2] - b[0]), y[n++] = b[3];
        x[n] = b[0], y[n++] = b[1] + t * (b[3] - b[1]);
        x[n] = b[2], y[n++] = b[1] + t * (b[3] - b[1]);
    }
    int ok = ct && OCTTransform(ct, n, x, y, NULL);
    if (ct) OCTDestroyCoordinateTransformation(ct);
    if (src) OSRDestroySpatialReference(src);
    if (dst) OSRDestroySpatialReference(dst);
    if (!ok) return nd_fail(err, ND_E_INVALID_CRS, "bbox", "the region cannot be expressed in the image CRS");
    double minx = INFINITY, maxx = -INFINITY, miny = INFINITY, maxy = -INFINITY;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        minx = fmin(minx, x[i]), maxx = fmax(maxx, x[i]), miny = fmin(miny, y[i]), maxy = fmax(maxy, y[i]);
    }
    /* Pixel columns and rows touched by the box; a tiny tolerance keeps a box on pixel edges exact. */
    double c0 = (minx - gt[0]) / gt[1], c1 = (maxx - gt[0]) / gt[1];
    double r0 = (gt[5] < 0 ? maxy - gt[3] : miny - gt[3]) / gt[5], r1 = (gt[5] < 0 ? miny - gt[3] : maxy - gt[3]) / gt[5];
    double x0 = fmax(0, floor(c0 + 1e-6)), x1 = fmin((double)ds->width, ceil(c1 - 1e-6));
    double y0 = fmax(0, floor(r0 + 1e-6)), y1 = fmin((double)ds->height, ceil(r1 - 1e-6));
    if (!(x1 > x0 && y1 > y0)) return nd_fail(err, ND_E_INVALID_PARAM, "bbox", "the region does not meet the image");
    win[0] = (int)x0, win[1] = (int)y0, win[2] = (int)x1, win[3] = (int)y1;
    return 0;
}

int nd_sr_write(const char *dir, const char *name, const nd_grid *g, const float *data, int nb, int w, int h,
                int out_w, int out_h, const char *const *names, nd_error *err) {
    size_t on = (size_t)out_w * out_h;
    float *res = NULL;
    if (out_w != w || out_h != h) {
        /* GDAL's cubic resampling onto out_w x out_h pixels of the same extent (pixel centres kept). */
        GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, nb, GDT_Float32, NULL);
        res = malloc((size_t)nb * on * sizeof *res);
        if (!mem || !res) {
            if (mem) GDALClose(mem);
            free(res);
            return nd_fail(err, ND_E_INTERNAL, "", "out of memory resampling the result");
        }
        CPLErr e = GDALDatasetRasterIO(mem, GF_Write, 0, 0, w, h, (void *)data, w, h, GDT_Float32, nb, NULL, 0, 0, 0);
        for (int b = 1; b <= nb; b++) GDALSetRasterNoDataValue(GDALGetRasterBand(mem, b), NAN);
        GDALRasterIOExtraArg arg;
        INIT_RASTERIO_EXTRA_ARG(arg);
        arg.eResampleAlg = GRIORA_Cubic;
        if (e == CE_None)
            e = GDALDatasetRasterIOEx(mem, GF_Read, 0, 0, w, h, res, out_w, out_h, GDT_Float32, nb, NULL, 0, 0, 0, &arg);
        GDALClose(mem);
        if (e != CE_None) {
            free(res);
            return nd_fail(err, ND_E_INTERNAL, "", "the result could not be resampled");
        }
        data = res;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char **opts = CSLSetNameValue(NULL, "TILED", "YES");
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "PREDICTOR", "3");
    opts = CSLSetNameValue(opts, "BIGTIFF", "IF_SAFER");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, out_w, out_h, nb, GDT_Float32, opts);
    CSLDestroy(opts);
    if (!ds) {
        free(res);
        return nd_fail(err, ND_E_INTERNAL, "", "%s could not be created", name);
    }
    /* Same extent, pixel size from the new pixel counts. */
    double gt[6] = {g->gt[0], g->gt[1] * w / out_w, 0, g->gt[3], 0, g->gt[5] * h / out_h};
    GDALSetGeoTransform(ds, gt);
    if (g->crs) GDALSetProjection(ds, g->crs);
    CPLErr e = CE_None;
    for (int b = 0; b < nb && e == CE_None; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b + 1);
        GDALSetRasterNoDataValue(band, NAN);
        if (names && names[b]) GDALSetDescription(band, names[b]);
        e = GDALRasterIO(band, GF_Write, 0, 0, out_w, out_h, (void *)(data + (size_t)b * on), out_w, out_h, GDT_Float32, 0, 0);
    }
    GDALClose(ds);
    free(res);
    return e == CE_None ? 0 : nd_fail(err, ND_E_INTERNAL, "", "%s could not be written", name);
}
