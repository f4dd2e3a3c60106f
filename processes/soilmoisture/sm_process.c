/* The `soil-moisture` process: reads sigma0 VV, incidence and NDVI datasets onto one grid, rasterises
 * the parcels (any OGR vector sent inline), averages and inverts them through the kernel, and writes
 * the moisture GeoTIFF, the parcels as GeoJSON, a CSV table and a JSON summary. */
#include <gdal.h>
#include <gdal_alg.h>
#include <math.h>
#include <stdbool.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nadir/process.h"
#include "nadir/read.h"
#include "soilmoisture.h"
#include "sm_io.h"

#define MAX_PARCELS 200000
#define MAX_PIXELS (400u * 1000u * 1000u)
#define BLOCK_ROWS 256

static const char *const cpu_only[] = {"cpu", NULL};
static const char *const devices[] = {"auto", "cpu", "cuda", NULL};
static const char *const conditions[] = {"none", "dry", "wet", NULL};
static const char *const vector_fmt[] = {"application/geo+json", "application/json", NULL};
static const char *const tiff_fmt[] = {"image/tiff; application=geotiff", NULL};
static const char *const geojson_fmt[] = {"application/geo+json", NULL};
static const char *const csv_fmt[] = {"text/csv", NULL};
static const char *const json_fmt[] = {"application/json", NULL};

static const nd_io inputs[] = {
    {.id = "sigma0_vv", .title = "Sentinel-1 sigma0 VV (dB)", .description = "Dataset of VV backscatter in dB; its grid is the output grid.",
     .type = ND_IO_DATASET, .min_occurs = 1, .max_occurs = 1},
    {.id = "incidence", .title = "Incidence angle (degrees)", .description = "Dataset of the local incidence angle.",
     .type = ND_IO_DATASET, .min_occurs = 1, .max_occurs = 1},
    {.id = "ndvi", .title = "Sentinel-2 NDVI", .description = "Dataset of NDVI in [-1, 1], reprojected onto the sigma0 grid (or give red and nir).",
     .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "red", .title = "Sentinel-2 red (B4)", .description = "Dataset of red reflectance: with nir, NDVI is computed per pixel when ndvi is not given.",
     .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "nir", .title = "Sentinel-2 NIR (B8)", .description = "Dataset of near-infrared reflectance, with red.",
     .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "parcels", .title = "Agricultural parcels", .description = "GeoJSON (or any OGR-readable text) polygons with an id and a crop class.",
     .type = ND_IO_COMPLEX, .formats = vector_fmt, .max_bytes = 64u << 20, .min_occurs = 1, .max_occurs = 1},
    {.id = "id_field", .title = "Parcel id field", .description = "The attribute naming each parcel in the outputs (default: the feature number).", .type = ND_IO_STRING, .def = "id", .max_bytes = 64, .max_occurs = 1},
    {.id = "class_field", .title = "Crop class field", .description = "The attribute holding the crop class.", .type = ND_IO_STRING, .def = "crop", .max_bytes = 64, .max_occurs = 1},
    {.id = "excluded_classes", .title = "Excluded classes", .description = "Comma-separated crop classes not inverted.",
     .type = ND_IO_STRING, .def = "vineyard,orchard", .max_bytes = 1024, .max_occurs = 1},
    {.id = "min_pixels", .title = "Minimum parcel size (pixels)", .description = "Parcels with fewer valid pixels are skipped and listed.", .type = ND_IO_INTEGER, .def = "20", .has_min = true,
     .min = 1, .has_max = true, .max = 1e7, .max_occurs = 1},
    {.id = "condition", .title = "A-priori condition", .description = "none, dry (5-25 vol.%) or wet (20-40 vol.%): "
     "each has a network trained over its range (El Hajj et al. 2017).",
     .type = ND_IO_STRING, .allowed = conditions, .def = "none", .max_occurs = 1},
    {.id = "territory", .title = "Territory polygon", .description = "GeoJSON polygon(s): the grid is cut to their envelope and parcels outside are skipped and listed.",
     .type = ND_IO_COMPLEX, .formats = vector_fmt, .max_bytes = 4u << 20, .max_occurs = 1},
    {.id = "bbox", .title = "Territory", .description = "Area in longitude/latitude (CRS84); default: the sigma0 extent.",
     .type = ND_IO_BBOX, .max_occurs = 1},
    {.id = "device", .title = "Device", .description = "auto or cpu; cuda is refused (no GPU path for this kernel).", .type = ND_IO_STRING, .allowed = devices, .def = "auto", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "moisture", .title = "Soil moisture map (vol.%)", .description = "Float32 GeoTIFF on the sigma0 grid, one value per parcel, nodata -9999 elsewhere.", .type = ND_IO_COMPLEX, .formats = tiff_fmt},
    {.id = "parcels", .title = "Parcels with moisture", .description = "GeoJSON (RFC 7946): id, crop, pixels, average inputs, moisture, status.", .type = ND_IO_COMPLEX, .formats = geojson_fmt},
    {.id = "table", .title = "Average inputs and output per parcel", .description = "CSV, one row per parcel.", .type = ND_IO_COMPLEX, .formats = csv_fmt},
    {.id = "summary", .title = "Counts and skipped parcels", .description = "JSON: parcels, inverted, skipped with reasons, repaired geometries.", .type = ND_IO_COMPLEX, .formats = json_fmt},
};

typedef struct job {
    nd_kernel_env *env;
    nd_error *err;
    nd_dataset *ds[4];          /* sigma0, incidence, ndvi (or red), nir (when from red and NIR) */
    nd_grid grid;
    char *crs_wkt;
    nd_sm_vector vec;
    nd_sm_parcel *parcels;
    unsigned char *excluded;
} job;

static void job_free(job *j) {
    for (int i = 0; i < 4; i++) nd_dataset_free(j->ds[i]);
    nd_sm_vector_free(&j->vec);
    free(j->parcels), free(j->excluded);
}

static const char *S(const json_t *in, const char *k) { return json_string_value(json_object_get(in, k)); }

/* The output grid: the sigma0 grid, cut to the territory when one is given. */
static int make_grid(job *j, const json_t *in, const double *native) {
    const nd_dataset *ds = j->ds[0];
    if (!ds->regular || !ds->crs_wkt) return nd_fail(j->err, ND_E_INVALID_PARAM, "sigma0_vv", "the sigma0 raster has no regular georeferenced grid");
    size_t x0 = 0, y0 = 0, x1 = ds->width, y1 = ds->height;
    const json_t *bb = json_object_get(json_object_get(in, "bbox"), "bbox");
    double nb[4];
    if (bb) {
        double b[4];
        for (int i = 0; i < 4; i++) b[i] = json_number_value(json_array_get(bb, (size_t)i));
        if (nd_sm_box_to_crs(b, ds->crs_wkt, nb) < 0) return nd_fail(j->err, ND_E_INVALID_PARAM, "bbox", "the territory cannot be expressed in the sigma0 CRS");
    }
    if (native && bb) /* both: their intersection */
        nb[0] = fmax(nb[0], native[0]), nb[1] = fmax(nb[1], native[1]), nb[2] = fmin(nb[2], native[2]), nb[3] = fmin(nb[3], native[3]);
    else if (native)
        memcpy(nb, native, sizeof nb);
    if (bb || native) {
        const double *gt = ds->geotransform;
        double cx0 = (nb[0] - gt[0]) / gt[1], cx1 = (nb[2] - gt[0]) / gt[1];
        double cy0 = (nb[3] - gt[3]) / gt[5], cy1 = (nb[1] - gt[3]) / gt[5];
        if (cx0 > cx1) { double t = cx0; cx0 = cx1; cx1 = t; }
        if (cy0 > cy1) { double t = cy0; cy0 = cy1; cy1 = t; }
        cx0 = fmax(0, floor(cx0)), cy0 = fmax(0, floor(cy0));
        cx1 = fmin((double)ds->width, ceil(cx1)), cy1 = fmin((double)ds->height, ceil(cy1));
        if (cx1 <= cx0 || cy1 <= cy0) return nd_fail(j->err, ND_E_INVALID_PARAM, "bbox", "the territory does not meet the sigma0 raster");
        x0 = (size_t)cx0, y0 = (size_t)cy0, x1 = (size_t)cx1, y1 = (size_t)cy1;
    }
    if ((x1 - x0) * (y1 - y0) > MAX_PIXELS)
        return nd_fail(j->err, ND_E_TOO_LARGE, "bbox", "the territory has more than %u pixels", MAX_PIXELS);
    j->grid.width = (int)(x1 - x0), j->grid.height = (int)(y1 - y0);
    memcpy(j->grid.gt, ds->geotransform, sizeof j->grid.gt);
    j->grid.gt[0] += (double)x0 * ds->geotransform[1] + (double)y0 * ds->geotransform[2];
    j->grid.gt[3] += (double)x0 * ds->geotransform[4] + (double)y0 * ds->geotransform[5];
    j->grid.crs = ds->crs_wkt;
    return 0;
}

/* The excluded class list as a flag per parcel (case-insensitive, spaces around commas ignored). */
static void mark_excluded(job *j, const char *list) {
    j->excluded = calloc(j->vec.n ? j->vec.n : 1, 1);
    for (size_t k = 0; k < j->vec.n; k++) {
        const char *c = j->vec.cls[k];
        if (!c || !*c) continue;
        for (const char *p = list; *p;) {
            while (*p == ' ' || *p == ',') p++;
            size_t n = strcspn(p, ",");
            size_t m = n;
            while (m && p[m - 1] == ' ') m--;
            if (m && strlen(c) == m && strncasecmp(c, p, m) == 0) j->excluded[k] = 1;
            p += n;
        }
    }
}

/* Reads the three rasters block by block onto the grid, accumulating per parcel. */
static int accumulate(job *j, GDALRasterBandH idband) {
    size_t w = (size_t)j->grid.width, h = (size_t)j->grid.height;
    size_t rows = BLOCK_ROWS;
    float *buf[4];
    int *ids = malloc(w * rows * sizeof *ids);
    for (int i = 0; i < 4; i++) buf[i] = malloc(w * rows * sizeof(float));
    size_t valid[3] = {0}, badndvi = 0;
    int rc = 0;
    nd_sm_reset(j->parcels, j->vec.n);
    for (size_t y = 0; y < h && rc == 0; y += rows) {
        size_t n = y + rows <= h ? rows : h - y;
        nd_grid g = j->grid;
        g.height = (int)n;
        g.gt[0] += (double)y * j->grid.gt[2];
        g.gt[3] += (double)y * j->grid.gt[5];
        for (int i = 0; i < 4 && rc == 0; i++) {
            const nd_dataset *ds = j->ds[i];
            if (!ds) continue;
            rc = nd_read_warped(ds, &ds->vars[0], 0, 0, &g, i == 0 ? ND_RESAMPLE_NEAREST : ND_RESAMPLE_BILINEAR,
                                buf[i], j->err);
        }
        if (rc == 0 && GDALRasterIO(idband, GF_Read, 0, (int)y, (int)w, (int)n, ids, (int)w, (int)n, GDT_Int32, 0, 0) != CE_None)
            rc = nd_fail(j->err, ND_E_INTERNAL, "", "the parcel raster could not be read back");
        if (rc) break;
        if (j->ds[3]) /* NDVI from red (buf[2]) and NIR (buf[3]); NaN where both are 0 */
            for (size_t i = 0; i < w * n; i++) buf[2][i] = (buf[3][i] - buf[2][i]) / (buf[3][i] + buf[2][i]);
        for (size_t i = 0; i < w * n; i++) {
            for (int b = 0; b < 3; b++) valid[b] += !isnan(buf[b][i]);
            badndvi += !isnan(buf[2][i]) && (buf[2][i] < -1.0f || buf[2][i] > 1.0f);
        }
        nd_sm_accumulate(j->parcels, j->vec.n, ids, buf[0], buf[1], buf[2], w * n);
        if (j->env->progress && j->env->progress(j->env, 10 + (int)(70 * (y + n) / h), "averaging parcels"))
            rc = nd_fail(j->err, ND_E_UNAVAILABLE, "", "stopped");
    }
    static const char *const names[3] = {"sigma0_vv", "incidence", "ndvi"};
    for (int b = 0; b < 3 && rc == 0; b++)
        if (valid[b] == 0)
            rc = nd_fail(j->err, ND_E_INVALID_PARAM, names[b],
                         b ? "the %s raster does not overlap the sigma0 raster (nothing to average)"
                           : "the %s raster has no valid pixel in the territory", names[b]);
    if (rc == 0 && badndvi * 2 > valid[2])
        rc = nd_fail(j->err, ND_E_INVALID_PARAM, "ndvi",
                     "most NDVI values are outside [-1, 1] (%zu of %zu): is the NDVI scaled (e.g. by 10000)?", badndvi,
                     valid[2]);
    free(ids);
    for (int i = 0; i < 4; i++) free(buf[i]);
    return rc;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    const char *device = S(in, "device");
    if (device && strcmp(device, "cuda") == 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "device", "soil-moisture has no CUDA path: use device cpu or auto");
    job j = {.env = env, .err = err};
    nd_sm_vector terr = {0};
    OGRGeometryH area = NULL;
    double env_box[4];
    bool bands = !S(in, "ndvi");
    const char *ids[4] = {"sigma0_vv", "incidence", bands ? "red" : "ndvi", bands ? "nir" : NULL};
    int rc = 0;
    if (bands && (!S(in, "red") || !S(in, "nir")))
        rc = nd_fail(err, ND_E_MISSING_PARAM, "ndvi", "give ndvi, or both red and nir");
    for (int i = 0; i < 4 && rc == 0 && ids[i]; i++) {
        rc = nd_kernel_open_dataset(env, S(in, ids[i]), &j.ds[i], err);
        if (rc == 0 && (j.ds[i]->nvars == 0 || j.ds[i]->vars[0].ndims < 2))
            rc = nd_fail(err, ND_E_INVALID_PARAM, ids[i], "dataset '%s' has no gridded variable", j.ds[i]->id);
    }
    const json_t *tv = json_object_get(json_object_get(in, "territory"), "value");
    if (rc == 0 && tv) { /* a territory polygon: the grid is cut to its envelope, parcels outside are listed */
        rc = nd_sm_vector_read(tv, NULL, NULL, j.ds[0]->crs_wkt, 1000, &terr, err);
        for (size_t k = 0; rc == 0 && k < terr.n; k++) {
            if (!terr.geoms[k]) continue;
            OGRGeometryH u = area ? OGR_G_Union(area, terr.geoms[k]) : OGR_G_Clone(terr.geoms[k]);
            if (area) OGR_G_DestroyGeometry(area);
            area = u;
        }
        if (rc == 0 && !area) rc = nd_fail(err, ND_E_INVALID_PARAM, "territory", "the territory has no usable polygon");
        if (rc == 0) {
            OGREnvelope e;
            OGR_G_GetEnvelope(area, &e);
            env_box[0] = e.MinX, env_box[1] = e.MinY, env_box[2] = e.MaxX, env_box[3] = e.MaxY;
        }
    }
    if (rc == 0) rc = make_grid(&j, in, area ? env_box : NULL);
    if (rc == 0) {
        const json_t *pv = json_object_get(json_object_get(in, "parcels"), "value");
        rc = nd_sm_vector_read(pv, S(in, "id_field"), S(in, "class_field"), j.grid.crs, MAX_PARCELS, &j.vec, err);
    }
    if (rc == 0 && j.vec.n == 0) rc = nd_fail(err, ND_E_INVALID_PARAM, "parcels", "the parcel layer has no feature");
    for (size_t k = 0; rc == 0 && area && k < j.vec.n; k++)
        if (j.vec.geoms[k] && !OGR_G_Intersects(j.vec.geoms[k], area)) {
            OGR_G_DestroyGeometry(j.vec.geoms[k]);
            j.vec.geoms[k] = NULL;
            j.vec.bad[k] = 2;
        }
    char path[4200];
    GDALDatasetH idds = NULL;
    if (rc == 0) {
        if (env->progress) env->progress(env, 5, "rasterising parcels");
        snprintf(path, sizeof path, "%s/parcel_ids.tif", env->dir);
        rc = nd_sm_rasterise(&j.vec, &j.grid, path, &idds, err);
    }
    if (rc == 0) {
        j.parcels = calloc(j.vec.n, sizeof *j.parcels);
        for (size_t k = 0; k < j.vec.n; k++) j.parcels[k].id = (int)k + 1;
        mark_excluded(&j, S(in, "excluded_classes"));
        rc = accumulate(&j, GDALGetRasterBand(idds, 1));
    }
    if (rc == 0) {
        for (size_t k = 0; k < j.vec.n; k++)
            if (j.vec.bad[k]) j.parcels[k].skipped = j.vec.bad[k] == 2 ? ND_SM_SKIP_OUTSIDE : ND_SM_SKIP_GEOMETRY;
        const char *c = S(in, "condition");
        nd_sm_condition cond = c && !strcmp(c, "dry") ? ND_SM_COND_DRY : c && !strcmp(c, "wet") ? ND_SM_COND_WET : ND_SM_COND_NONE;
        nd_mlp m;
        nd_sm_shipped(&m, cond);
        size_t done = nd_sm_finish(&m, j.parcels, j.vec.n, j.excluded,
                                   (size_t)json_integer_value(json_object_get(in, "min_pixels")), cond);
        if (env->progress) env->progress(env, 85, "writing outputs");
        rc = nd_sm_write_outputs(env->dir, &j.vec, j.parcels, done, &j.grid, idds, out, err);
    }
    if (idds) {
        GDALClose(idds);
        unlink(path);
    }
    if (area) OGR_G_DestroyGeometry(area);
    nd_sm_vector_free(&terr);
    job_free(&j);
    return rc;
}

/* What can be refused before a job exists. */
static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    if (!json_object_get(in, "ndvi") && (!json_object_get(in, "red") || !json_object_get(in, "nir")))
        return nd_fail(err, ND_E_MISSING_PARAM, "ndvi", "give ndvi, or both red and nir");
    return 0;
}

const nd_process nd_process_soilmoisture = {
    .id = "soil-moisture",
    .title = "Plot-scale soil moisture (S2MP)",
    .description = "Surface soil moisture (vol.%) of agricultural parcels from Sentinel-1 VV backscatter, incidence "
                   "and Sentinel-2 NDVI: parcel averages (sigma0 in linear units) inverted by a neural network trained "
                   "on the water cloud model over the Dubois bare-soil model (El Hajj et al. 2017). Parcels too small "
                   "or of excluded classes are skipped and listed.",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = cpu_only,
    .run = run,
    .check = check,
};
