/* The `super-resolution` process: a 4-band image (red, green, blue, NIR) of a region enlarged 2 or 4
 * times by the shipped CNN on the CPU or a CUDA GPU, optionally resampled to any pixel size, written as
 * a GeoTIFF over exactly the input's extent. Everything a request can get wrong is refused before the
 * job exists (check). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nadir/process.h"
#include "nadir/read.h"
#include "sr_io.h"
#include "sr_process.h"
#include "superres.h"

#define MAX_IN_PIXELS (16u * 1000u * 1000u)  /* per band, in the input window */
#define MAX_OUT_PIXELS (64u * 1000u * 1000u) /* per band, in the written image */

static const char *const devices_cpu[] = {"cpu", NULL};
static const char *const devices_gpu[] = {"cpu", "cuda", NULL};
static const char *const device_values[] = {"auto", "cpu", "cuda", NULL};
static const char *const scales[] = {"2", "4", NULL};
static const char *const tiff_fmt[] = {"image/tiff; application=geotiff", NULL};
static const char *const json_fmt[] = {"application/json", NULL};

#define BAND_INPUT(key, what, dflt)                                                                          \
    {.id = key, .title = what " band", .description = "1-based band of the image holding " what ".",       \
     .type = ND_IO_INTEGER, .def = dflt, .has_min = true, .min = 1, .has_max = true, .max = 1000, .max_occurs = 1}

static const nd_io inputs[] = {
    {.id = "image", .title = "Image", .description = "Dataset of a multiband image with red, green, blue and "
     "near-infrared bands, e.g. Sentinel-2 B02, B03, B04, B08 at 10 m.", .type = ND_IO_DATASET, .min_occurs = 1,
     .max_occurs = 1},
    {.id = "scale", .title = "Scale factor", .description = "How many times finer the output grid is: 2 or 4.",
     .type = ND_IO_INTEGER, .allowed = scales, .def = "2", .max_occurs = 1},
    {.id = "resolution", .title = "Target resolution", .description = "Optional pixel size of the output in the "
     "image CRS units (e.g. 1.5 m): the super-resolved image is resampled (cubic) onto it, same extent.",
     .type = ND_IO_NUMBER, .has_min = true, .min = 1e-9, .max_occurs = 1},
    {.id = "bbox", .title = "Region", .description = "Optional region (CRS84 unless a crs is given); the whole "
     "image when absent. Rounded outwards to whole input pixels.", .type = ND_IO_BBOX, .max_occurs = 1},
    BAND_INPUT("red_band", "red", "3"),
    BAND_INPUT("green_band", "green", "2"),
    BAND_INPUT("blue_band", "blue", "1"),
    BAND_INPUT("nir_band", "near infrared", "4"),
    {.id = "tile", .title = "Tile size", .description = "Input pixels per tile side; tiles overlap by the "
     "network's receptive field, so the result does not depend on it.", .type = ND_IO_INTEGER, .def = "256",
     .has_min = true, .min = 16, .has_max = true, .max = 4096, .max_occurs = 1},
    {.id = "device", .title = "Device", .description = "auto (the GPU when there is one, else the CPU), cpu or "
     "cuda (refused when this server has no usable GPU).", .type = ND_IO_STRING, .allowed = device_values,
     .def = "auto", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "image", .title = "Super-resolved image", .description = "Float32 GeoTIFF, the input's bands in its "
     "order, same extent and CRS, pixel size divided by the scale (or the target resolution); NaN no data.",
     .type = ND_IO_COMPLEX, .formats = tiff_fmt},
    {.id = "summary", .title = "Summary", .description = "JSON: scale, device, sizes, pixel size, tiles, "
     "seconds and output megapixels per second.", .type = ND_IO_COMPLEX, .formats = json_fmt},
};

static long long I(const json_t *in, const char *k) { return json_integer_value(json_object_get(in, k)); }

static const char *const band_keys[ND_SR_BANDS] = {"red_band", "green_band", "blue_band", "nir_band"};

/* Output size in pixels for a window of w x h input pixels. */
static void out_size(const nd_dataset *ds, const json_t *in, int w, int h, long long *ow, long long *oh) {
    int s = (int)I(in, "scale");
    const json_t *r = json_object_get(in, "resolution");
    *ow = (long long)w * s, *oh = (long long)h * s;
    if (json_is_number(r)) {
        double res = json_number_value(r);
        *ow = llround(fmin(1e12, w * fabs(ds->geotransform[1]) / res));
        *oh = llround(fmin(1e12, h * fabs(ds->geotransform[5]) / res));
        if (*ow < 1) *ow = 1;
        if (*oh < 1) *oh = 1;
    }
}

static int check_image(const nd_dataset *ds, const json_t *in, int win[4], long long *ow, long long *oh,
                       nd_error *err) {
    if (ds->nvars < ND_SR_BANDS)
        return nd_fail(err, ND_E_INVALID_PARAM, "image", "the image has %zu band%s: super-resolution needs 4 (red, "
                       "green, blue, near infrared)", ds->nvars, ds->nvars == 1 ? "" : "s");
    for (int b = 0; b < ND_SR_BANDS; b++)
        if ((size_t)I(in, band_keys[b]) > ds->nvars)
            return nd_fail(err, ND_E_INVALID_PARAM, band_keys[b], "the image has %zu bands, %s is %lld", ds->nvars,
                           band_keys[b], I(in, band_keys[b]));
    int rc = nd_sr_window(ds, json_object_get(in, "bbox"), win, err);
    if (rc) return rc;
    int w = win[2] - win[0], h = win[3] - win[1];
    if ((unsigned long long)w * (unsigned long long)h > MAX_IN_PIXELS)
        return nd_fail(err, ND_E_TOO_LARGE, "bbox", "the region has %d x %d pixels, more than the %u a job may "
                       "enlarge: choose a smaller region", w, h, MAX_IN_PIXELS);
    out_size(ds, in, w, h, ow, oh);
    if ((unsigned long long)*ow * (unsigned long long)*oh > MAX_OUT_PIXELS)
        return nd_fail(err, ND_E_TOO_LARGE, "bbox", "the output would have %lld x %lld pixels, more than %u: "
                       "choose a smaller region or a coarser resolution", *ow, *oh, MAX_OUT_PIXELS);
    return 0;
}

static int check_device(const json_t *in, nd_error *err) {
    const char *device = json_string_value(json_object_get(in, "device"));
    if (device && !strcmp(device, "cuda") && !nd_sr_cuda_available())
        return nd_fail(err, ND_E_INVALID_PARAM, "device", "device 'cuda': %s; use device auto or cpu",
                       ND_HAVE_CUDA ? "this server sees no usable CUDA GPU" : "this server was built without CUDA");
    return 0;
}

/* Before a job exists: the device, the image's bands and the size of what would be written. */
static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    int rc = check_device(in, err);
    if (rc) return rc;
    const nd_dataset *ds = nd_registry_get(lim->datasets, json_string_value(json_object_get(in, "image")));
    if (!ds) return 0; /* the generic dataset check has answered */
    int win[4];
    long long ow, oh;
    return check_image(ds, in, win, &ow, &oh, err);
}

typedef struct {
    nd_kernel_env *env;
} progress_ctx;

static int on_tile(void *ctx, int done, int total) {
    nd_kernel_env *env = ((progress_ctx *)ctx)->env;
    char msg[64];
    snprintf(msg, sizeof msg, "tile %d of %d", done, total);
    return env->progress ? env->progress(env, 5 + 85 * done / total, msg) : 0;
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    int rc = check_device(in, err);
    if (rc) return rc;
    const char *device = json_string_value(json_object_get(in, "device"));
    int use_gpu = device && (!strcmp(device, "cuda") || (!strcmp(device, "auto") && nd_sr_cuda_available()));
    int s = (int)I(in, "scale");
    const nd_sr_model *m = nd_sr_model_builtin(s);
    if (!m) return nd_fail(err, ND_E_INTERNAL, "scale", "no network is built in for scale %d", s);
    nd_dataset *ds;
    rc = nd_kernel_open_dataset(env, json_string_value(json_object_get(in, "image")), &ds, err);
    if (rc) return rc;
    int win[4];
    long long ow, oh;
    rc = check_image(ds, in, win, &ow, &oh, err);
    int w = win[2] - win[0], h = win[3] - win[1];
    size_t n = (size_t)w * (size_t)h;
    nd_grid g = {.width = w, .height = h, .crs = ds->crs_wkt};
    memcpy(g.gt, ds->geotransform, sizeof g.gt);
    g.gt[0] += win[0] * g.gt[1], g.gt[3] += win[1] * g.gt[5];
    float *img = rc ? NULL : malloc(ND_SR_BANDS * n * sizeof *img);
    float *sr = rc ? NULL : malloc(ND_SR_BANDS * n * (size_t)(s * s) * sizeof *sr);
    if (!rc && (!img || !sr)) rc = nd_fail(err, ND_E_INTERNAL, "", "out of memory");
    /* Channels in the network's order (red, green, blue, NIR); the output keeps the image's band order. */
    int chan_band[ND_SR_BANDS];
    for (int c = 0; c < ND_SR_BANDS && rc == 0; c++) {
        chan_band[c] = (int)I(in, band_keys[c]);
        rc = nd_read_warped(ds, &ds->vars[chan_band[c] - 1], 0, 0, &g, ND_RESAMPLE_NEAREST, img + (size_t)c * n, err);
    }
    double t0 = now_s(), secs = 0;
    int tile = (int)I(in, "tile");
    if (rc == 0 && env->progress && env->progress(env, 5, use_gpu ? "super-resolving on the GPU" : "super-resolving"))
        rc = nd_fail(err, ND_E_UNAVAILABLE, "", "stopped");
    if (rc == 0) {
        progress_ctx pc = {env};
        nd_sr_opts o = {.tile = tile, .device = use_gpu ? ND_SR_CUDA : ND_SR_CPU, .progress = on_tile, .ctx = &pc};
        char e[256] = "";
        int r = nd_sr_run(m, img, h, w, &o, sr, e, sizeof e);
        if (r == -2) rc = nd_fail(err, ND_E_UNAVAILABLE, "", "stopped");
        else if (r) rc = nd_fail(err, ND_E_INTERNAL, "", "super-resolution failed: %s", e);
        secs = now_s() - t0;
    }
    if (rc == 0) {
        /* Back to the image's band order: written band k is the channel read from the k-th lowest band. */
        float *ordered = malloc(ND_SR_BANDS * n * (size_t)(s * s) * sizeof *ordered);
        const char *names[ND_SR_BANDS];
        static const char *const chan_names[ND_SR_BANDS] = {"red", "green", "blue", "nir"};
        int used[ND_SR_BANDS] = {0};
        size_t on = n * (size_t)(s * s);
        for (int k = 0; k < ND_SR_BANDS && ordered; k++) {
            int best = -1;
            for (int c = 0; c < ND_SR_BANDS; c++)
                if (!used[c] && (best < 0 || chan_band[c] < chan_band[best])) best = c;
            used[best] = 1;
            names[k] = chan_names[best];
            memcpy(ordered + (size_t)k * on, sr + (size_t)best * on, on * sizeof *ordered);
        }
        nd_grid og = g;
        og.width = w * s, og.height = h * s, og.gt[1] /= s, og.gt[5] /= s;
        rc = ordered ? nd_sr_write(env->dir, "superres.tif", &og, ordered, ND_SR_BANDS, w * s, h * s, (int)ow, (int)oh,
                                   names, err)
                     : nd_fail(err, ND_E_INTERNAL, "", "out of memory");
        free(ordered);
    }
    if (rc == 0) {
        int T = tile > 0 ? tile : (w > h ? w : h);
        json_t *sum = json_pack("{s:i, s:s, s:[i,i], s:[i,i], s:[f,f], s:i, s:i, s:f, s:f}", "scale", s, "device",
                                use_gpu ? "cuda" : "cpu", "input_size", w, h, "output_size", (int)ow, (int)oh,
                                "pixel_size", g.gt[1] * w / (double)ow, -g.gt[5] * h / (double)oh, "tiles",
                                ((w + T - 1) / T) * ((h + T - 1) / T), "halo", nd_sr_halo(m), "seconds", secs,
                                "mpixels_per_s", secs > 0 ? (double)n * s * s / secs / 1e6 : 0.0);
        json_object_set_new(out, "summary", json_pack("{s:o, s:s}", "value", sum, "mediaType", "application/json"));
        json_object_set_new(out, "image", json_pack("{s:s, s:s}", "file", "superres.tif", "mediaType",
                                                    "image/tiff; application=geotiff"));
    }
    free(img), free(sr);
    nd_dataset_free(ds);
    return rc;
}

const nd_process nd_process_superres = {
    .id = "super-resolution",
    .title = "Super-resolution of a 4-band image",
    .description = "Enlarges a red, green, blue and near-infrared image (e.g. Sentinel-2 at 10 m) 2 or 4 times "
                   "with a compact residual CNN (EDSR blocks, sub-pixel tail over bicubic) trained by the Wald "
                   "protocol, tile by tile with overlap, on the CPU or a CUDA GPU; optionally resampled to any "
                   "pixel size. The output keeps the input's extent and CRS.",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = ND_HAVE_CUDA ? devices_gpu : devices_cpu,
    .run = run,
    .check = check,
};
