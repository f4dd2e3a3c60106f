/* The `land-use` process: segments a VHR image, computes object features (with an optional NDVI time
 * series), labels objects from sample polygons split by polygon, trains the threaded Random Forest,
 * classifies every object and writes the class raster, the objects and the accuracy figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lu_io.h"
#include "nadir/process.h"
#include "nadir/read.h"

#define MAX_PIXELS (25u * 1000u * 1000u)
#define MAX_DATES 64

static const char *const cpu_only[] = {"cpu", NULL};
static const char *const devices[] = {"auto", "cpu", "cuda", NULL};
static const char *const vector_fmt[] = {"application/geo+json", "application/json", NULL};
static const char *const tiff_fmt[] = {"image/tiff; application=geotiff", NULL};
static const char *const geojson_fmt[] = {"application/geo+json", NULL};
static const char *const csv_fmt[] = {"text/csv", NULL};
static const char *const json_fmt[] = {"application/json", NULL};

static const nd_io inputs[] = {
    {.id = "image", .title = "VHR image", .description = "Dataset of a multiband image (blue, green, red, NIR by default); its grid is the output grid.",
     .type = ND_IO_DATASET, .min_occurs = 1, .max_occurs = 1},
    {.id = "series", .title = "NDVI time series", .description = "Optional dataset: NDVI per date (time steps, or one band per date), reprojected onto the image grid.",
     .type = ND_IO_DATASET, .max_occurs = 1},
    {.id = "samples", .title = "Training samples", .description = "GeoJSON polygons (or points) with a class attribute.",
     .type = ND_IO_COMPLEX, .formats = vector_fmt, .max_bytes = 16u << 20, .min_occurs = 1, .max_occurs = 1},
    {.id = "class_field", .title = "Class attribute", .description = "The attribute of the samples holding the class.",
     .type = ND_IO_STRING, .def = "class", .max_bytes = 64, .max_occurs = 1},
    {.id = "red_band", .title = "Red band", .description = "1-based band of the image used as red for NDVI.",
     .type = ND_IO_INTEGER, .def = "3", .has_min = true, .min = 1, .has_max = true, .max = 64, .max_occurs = 1},
    {.id = "nir_band", .title = "NIR band", .description = "1-based band of the image used as near infrared.",
     .type = ND_IO_INTEGER, .def = "4", .has_min = true, .min = 1, .has_max = true, .max = 64, .max_occurs = 1},
    {.id = "scale", .title = "Segmentation scale", .description = "SLIC grid step in pixels.", .type = ND_IO_INTEGER,
     .def = "10", .has_min = true, .min = 3, .has_max = true, .max = 500, .max_occurs = 1},
    {.id = "compactness", .title = "Compactness", .description = "Weight of space against spectra (standardised bands).",
     .type = ND_IO_NUMBER, .def = "0.6", .has_min = true, .min = 0.001, .has_max = true, .max = 100, .max_occurs = 1},
    {.id = "min_size", .title = "Minimum object size (pixels)", .description = "Smaller segments are merged into a neighbour.",
     .type = ND_IO_INTEGER, .def = "25", .has_min = true, .min = 1, .has_max = true, .max = 1e6, .max_occurs = 1},
    {.id = "trees", .title = "Trees", .description = "Number of trees of the forest.", .type = ND_IO_INTEGER,
     .def = "100", .has_min = true, .min = 1, .has_max = true, .max = 2000, .max_occurs = 1},
    {.id = "max_depth", .title = "Maximum depth", .description = "0: grown until pure.", .type = ND_IO_INTEGER,
     .def = "0", .has_min = true, .min = 0, .has_max = true, .max = 200, .max_occurs = 1},
    {.id = "features_per_split", .title = "Features per split", .description = "0: the square root of the feature count.",
     .type = ND_IO_INTEGER, .def = "0", .has_min = true, .min = 0, .has_max = true, .max = 1000, .max_occurs = 1},
    {.id = "validation", .title = "Validation share", .description = "Share of the sample polygons of each class held out for validation.",
     .type = ND_IO_NUMBER, .def = "0.3", .has_min = true, .min = 0, .has_max = true, .max = 0.9, .max_occurs = 1},
    {.id = "seed", .title = "Seed", .description = "Seed of the split and of the forest.", .type = ND_IO_INTEGER,
     .def = "1", .has_min = true, .min = 0, .has_max = true, .max = 2147483647, .max_occurs = 1},
    {.id = "device", .title = "Device", .description = "auto or cpu; cuda is refused (no GPU path for this kernel).",
     .type = ND_IO_STRING, .allowed = devices, .def = "auto", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "classes", .title = "Class map", .description = "Byte GeoTIFF: class index + 1, 0 no data, colour table and class names.",
     .type = ND_IO_COMPLEX, .formats = tiff_fmt},
    {.id = "objects", .title = "Objects", .description = "GeoJSON (RFC 7946) of the segments with class and confidence.",
     .type = ND_IO_COMPLEX, .formats = geojson_fmt},
    {.id = "metrics", .title = "Accuracy", .description = "JSON: confusion matrix, overall accuracy, kappa, F1 per class.",
     .type = ND_IO_COMPLEX, .formats = json_fmt},
    {.id = "metrics_csv", .title = "Accuracy (CSV)", .description = "The confusion matrix with F1 per class, OA and kappa.",
     .type = ND_IO_COMPLEX, .formats = csv_fmt},
    {.id = "features", .title = "Object features (CSV)", .description = "Per object: label, split (train, validation or none), prediction and every feature.",
     .type = ND_IO_COMPLEX, .formats = csv_fmt},
};

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* features.csv: what the forest saw, so other classifiers can be compared on the same features. */
static int write_features(const char *dir, const nd_lu_features *f, const int *obj_class, const int *obj_poly,
                          const unsigned char *is_val, const int *pred, char **names, nd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/features.csv", dir);
    FILE *o = fopen(path, "w");
    if (!o) return nd_fail(err, ND_E_INTERNAL, "", "features.csv could not be created");
    fputs("object,label,split,predicted", o);
    for (int j = 0; j < f->nfeat; j++) fprintf(o, ",%s", f->names[j]);
    fputc('\n', o);
    for (int k = 0; k < f->nobj; k++) {
        const char *split = obj_class[k] < 0 ? "none" : is_val[obj_poly[k]] ? "validation" : "train";
        fprintf(o, "%d,%s,%s,%s", k, obj_class[k] >= 0 ? names[obj_class[k]] : "", split, names[pred[k]]);
        for (int j = 0; j < f->nfeat; j++) fprintf(o, ",%.9g", f->x[(size_t)k * f->nfeat + j]);
        fputc('\n', o);
    }
    return fclose(o) == 0 ? 0 : nd_fail(err, ND_E_INTERNAL, "", "features.csv could not be written");
}

static long long I(const json_t *in, const char *k) { return json_integer_value(json_object_get(in, k)); }

static int stopped(nd_kernel_env *env, int pct, const char *msg, nd_error *err) {
    if (env->progress && env->progress(env, pct, msg)) return nd_fail(err, ND_E_UNAVAILABLE, "", "stopped");
    return 0;
}

/* The NDVI series warped onto the grid: time steps of its first variable, else one variable per date. */
static int read_series(nd_kernel_env *env, const char *id, const nd_grid *g, float **out, int *ndates, nd_error *err) {
    nd_dataset *ds;
    int rc = nd_kernel_open_dataset(env, id, &ds, err);
    if (rc) return rc;
    size_t npix = (size_t)g->width * (size_t)g->height;
    int nt = ds->nvars && ds->vars[0].has_time && ds->time ? (int)ds->time->n : (int)ds->nvars;
    if (nt < 1 || nt > MAX_DATES) {
        nd_dataset_free(ds);
        return nd_fail(err, ND_E_INVALID_PARAM, "series", "the series must have 1 to %d dates", MAX_DATES);
    }
    *out = malloc((size_t)nt * npix * sizeof **out);
    size_t valid = 0, bad = 0;
    for (int d = 0; d < nt && rc == 0; d++) {
        const nd_variable *v = ds->vars[0].has_time ? &ds->vars[0] : &ds->vars[d];
        rc = nd_read_warped(ds, v, ds->vars[0].has_time ? (size_t)d : 0, 0, g, ND_RESAMPLE_BILINEAR, *out + (size_t)d * npix, err);
        for (size_t i = 0; rc == 0 && i < npix; i++) {
            float x = (*out)[(size_t)d * npix + i];
            if (isnan(x)) continue;
            valid++;
            bad += x < -1.0f || x > 1.0f;
        }
    }
    nd_dataset_free(ds);
    if (rc == 0 && valid == 0) rc = nd_fail(err, ND_E_INVALID_PARAM, "series", "the NDVI series does not overlap the image");
    if (rc == 0 && bad * 100 > valid)
        rc = nd_fail(err, ND_E_INVALID_PARAM, "series", "NDVI values outside [-1, 1] (%zu of %zu): is the series scaled?", bad, valid);
    if (rc == 0) /* outside the series: NDVI 0 (bare), so no NaN reaches the features */
        for (size_t i = 0; i < (size_t)nt * npix; i++)
            if (isnan((*out)[i])) (*out)[i] = 0;
    if (rc) free(*out), *out = NULL;
    *ndates = nt;
    return rc;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    const char *device = json_string_value(json_object_get(in, "device"));
    if (device && strcmp(device, "cuda") == 0)
        return nd_fail(err, ND_E_INVALID_PARAM, "device", "land-use has no CUDA path: use device cpu or auto");
    nd_dataset *ds;
    int rc = nd_kernel_open_dataset(env, json_string_value(json_object_get(in, "image")), &ds, err);
    if (rc) return rc;
    int red = (int)I(in, "red_band"), nir = (int)I(in, "nir_band");
    if ((size_t)red > ds->nvars || (size_t)nir > ds->nvars || ds->nvars < 1) {
        nd_dataset_free(ds);
        return nd_fail(err, ND_E_INVALID_PARAM, "nir_band", "the image has %zu bands", ds->nvars);
    }
    if ((size_t)ds->width * ds->height > MAX_PIXELS || !ds->crs_wkt) {
        nd_dataset_free(ds);
        return nd_fail(err, ND_E_TOO_LARGE, "image", "the image must be georeferenced and at most %u pixels", MAX_PIXELS);
    }
    nd_grid g = {.width = (int)ds->width, .height = (int)ds->height, .crs = ds->crs_wkt};
    memcpy(g.gt, ds->geotransform, sizeof g.gt);
    size_t npix = ds->width * ds->height;
    /* Bands reordered so that red and NIR are bands 3 and 4 of the kernel's image (its NDVI convention). */
    int nb = (int)ds->nvars < 4 ? 4 : (int)ds->nvars;
    if (nb > 16) nb = 16;
    float *img = malloc((size_t)nb * npix * sizeof *img);
    int order[16], k = 0;
    for (int b = 1; b <= (int)ds->nvars && k < nb; b++)
        if (b != red && b != nir && k < 2) order[k++] = b;
    while (k < 2) order[k++] = red;
    order[2] = red, order[3] = nir, k = 4;
    for (int b = 1; b <= (int)ds->nvars && k < nb; b++)
        if (b != red && b != nir && b != order[0] && b != order[1]) order[k++] = b;
    nb = k;
    for (int b = 0; b < nb && rc == 0; b++)
        rc = nd_read_warped(ds, &ds->vars[order[b] - 1], 0, 0, &g, ND_RESAMPLE_NEAREST, img + (size_t)b * npix, err);
    for (size_t i = 0; rc == 0 && i < (size_t)nb * npix; i++)
        if (isnan(img[i])) img[i] = 0;
    nd_lu_samples smp = {0};
    if (rc == 0) rc = nd_lu_samples_read(json_object_get(json_object_get(in, "samples"), "value"),
                                         json_string_value(json_object_get(in, "class_field")), &g, &smp, err);
    if (rc == 0 && smp.nclasses < 2)
        rc = nd_fail(err, ND_E_INVALID_PARAM, "samples", "the samples have %s: a classification needs at least two",
                     smp.nclasses ? "one class only" : "no class");
    float *series = NULL;
    int ndates = 0;
    const char *sid = json_string_value(json_object_get(in, "series"));
    if (rc == 0 && sid) rc = read_series(env, sid, &g, &series, &ndates, err);
    int *labels = rc ? NULL : malloc(npix * sizeof *labels), nseg = 0;
    nd_lu_features f = {0};
    int *obj_poly = NULL, *obj_class = NULL, *pred = NULL;
    double *conf = NULL;
    unsigned char *is_val = NULL;
    if (rc == 0) rc = stopped(env, 10, "segmenting", err);
    if (rc == 0) {
        nd_lu_seg_opts so = {.scale = (int)I(in, "scale"), .compactness = json_number_value(json_object_get(in, "compactness")),
                             .min_size = (int)I(in, "min_size"), .iterations = 10};
        if (nd_lu_segment(img, g.width, g.height, nb, &so, labels, &nseg) < 0) rc = nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    }
    if (rc == 0) rc = stopped(env, 40, "object features", err);
    if (rc == 0 && nd_lu_features_compute(img, g.width, g.height, nb, labels, nseg, series, 1, g.width, g.height, ndates, &f) < 0)
        rc = nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    if (rc == 0) {
        obj_poly = malloc((size_t)nseg * sizeof *obj_poly), obj_class = malloc((size_t)nseg * sizeof *obj_class);
        nd_lu_label_objects(labels, nseg, smp.poly, npix, smp.feat_class, obj_poly, obj_class);
        for (size_t k = 0; k < smp.npoints; k++) { /* a point labels the object it falls in */
            int o = labels[smp.point_pix[k]];
            if (smp.feat_class[smp.point_feat[k]] >= 0) obj_poly[o] = smp.point_feat[k], obj_class[o] = smp.feat_class[smp.point_feat[k]];
        }
        long *per = calloc((size_t)smp.nclasses, sizeof *per);
        for (int o = 0; o < nseg; o++)
            if (obj_class[o] >= 0) per[obj_class[o]]++;
        for (int c = 0; c < smp.nclasses && rc == 0; c++)
            if (!per[c]) rc = nd_fail(err, ND_E_INVALID_PARAM, "samples", "class '%.64s' has no sample object inside the image", smp.names[c]);
        free(per);
    }
    size_t ntr = 0, nva = 0;
    double *xtr = NULL;
    int *ytr = NULL, *yva = NULL, *pva = NULL;
    if (rc == 0) {
        is_val = calloc((size_t)smp.nfeat + 1, 1);
        nd_lu_split_polygons(smp.feat_class, smp.nfeat, smp.nclasses, json_number_value(json_object_get(in, "validation")),
                             (uint64_t)I(in, "seed"), is_val);
        xtr = malloc((size_t)nseg * (size_t)f.nfeat * sizeof *xtr);
        ytr = malloc((size_t)nseg * sizeof *ytr), yva = malloc((size_t)nseg * sizeof *yva), pva = malloc((size_t)nseg * sizeof *pva);
        for (int o = 0; o < nseg; o++) {
            if (obj_class[o] < 0 || is_val[obj_poly[o]]) continue;
            memcpy(xtr + ntr * (size_t)f.nfeat, f.x + (size_t)o * f.nfeat, (size_t)f.nfeat * sizeof *xtr);
            ytr[ntr++] = obj_class[o];
        }
        rc = stopped(env, 55, "training the forest", err);
    }
    nd_lu_forest forest = {0};
    double t_train = 0, t_pred = 0;
    if (rc == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int mtry = (int)I(in, "features_per_split");
        nd_lu_forest_opts fo = {.trees = (int)I(in, "trees"), .max_depth = (int)I(in, "max_depth"),
                                .mtry = mtry > 0 ? (mtry < f.nfeat ? mtry : f.nfeat) : (int)floor(sqrt((double)f.nfeat)),
                                .threads = cpus > 0 ? (int)cpus : 1, .seed = (uint64_t)I(in, "seed")};
        double t0 = now_s();
        int trc = nd_lu_forest_train(xtr, ytr, ntr, f.nfeat, smp.nclasses, &fo, &forest);
        t_train = now_s() - t0;
        if (trc < 0)
            rc = nd_fail(err, ND_E_INTERNAL, "", "the forest could not be trained");
        else {
            pred = malloc((size_t)nseg * sizeof *pred), conf = malloc((size_t)nseg * sizeof *conf);
            t0 = now_s();
            nd_lu_forest_predict_many(&forest, f.x, (size_t)nseg, fo.threads, pred, conf);
            t_pred = now_s() - t0;
            rc = stopped(env, 80, "writing outputs", err);
        }
    }
    if (rc == 0) {
        for (int o = 0; o < nseg; o++)
            if (obj_class[o] >= 0 && is_val[obj_poly[o]]) yva[nva] = obj_class[o], pva[nva++] = pred[o];
        nd_lu_metrics m;
        nd_lu_metrics_compute(yva, pva, nva, smp.nclasses, &m);
        rc = nd_lu_write_classes(env->dir, &g, labels, pred, conf, nseg, smp.names, smp.nclasses, err);
        if (rc == 0) rc = nd_lu_write_metrics_csv(env->dir, &m, smp.names, err);
        if (rc == 0) rc = write_features(env->dir, &f, obj_class, obj_poly, is_val, pred, smp.names, err);
        if (rc == 0) {
            json_t *doc = nd_lu_metrics_json(&m, smp.names);
            json_object_set_new(doc, "training_objects", json_integer((json_int_t)ntr));
            json_object_set_new(doc, "objects", json_integer(nseg));
            json_object_set_new(doc, "features", json_integer(f.nfeat));
            json_object_set_new(doc, "skipped_samples", json_integer((json_int_t)smp.skipped));
            json_object_set_new(doc, "seconds", json_pack("{s:f, s:f}", "train", t_train, "predict", t_pred));
            json_object_set_new(out, "metrics", json_pack("{s:o, s:s}", "value", doc, "mediaType", "application/json"));
            json_object_set_new(out, "classes", json_pack("{s:s, s:s}", "file", "classes.tif", "mediaType", "image/tiff; application=geotiff"));
            json_object_set_new(out, "objects", json_pack("{s:s, s:s}", "file", "objects.geojson", "mediaType", "application/geo+json"));
            json_object_set_new(out, "metrics_csv", json_pack("{s:s, s:s}", "file", "metrics.csv", "mediaType", "text/csv"));
            json_object_set_new(out, "features", json_pack("{s:s, s:s}", "file", "features.csv", "mediaType", "text/csv"));
        }
        nd_lu_metrics_free(&m);
    }
    nd_lu_forest_free(&forest);
    nd_lu_features_free(&f);
    nd_lu_samples_free(&smp);
    free(img), free(series), free(labels), free(obj_poly), free(obj_class), free(pred), free(conf), free(is_val);
    free(xtr), free(ytr), free(yva), free(pva);
    nd_dataset_free(ds);
    return rc;
}

const nd_process nd_process_landuse = {
    .id = "land-use",
    .title = "Object-based land-use classification",
    .description = "Segments a very-high-resolution image into objects (SLIC with scale, compactness and minimum "
                   "size), computes per-object spectral, NDVI, texture, shape and NDVI time-series features, labels "
                   "objects from sample polygons split by polygon into training and validation, trains a Random "
                   "Forest with threads and classifies every object with a confidence.",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = cpu_only,
    .run = run,
};
