/* `pca-screening`: the adapter between the job machinery and the PCA kernel; reads L1B-like spectra
 * with netCDF-C block by block, trains (or reuses) a basis, and writes scores, the selected spectra,
 * the basis and a STAC item. */
#include <ctype.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"
#include "nadir/catalog.h"
#include "nadir/process.h"
#include "pca.h"
#include "pca_io.h"
#include "pca_process.h"

static const char *const devices[] = {"cpu", NULL};
static const char *const device_values[] = {"auto", "cpu", "cuda", NULL};
static const char *const nc_fmt[] = {"application/x-netcdf", NULL};
static const char *const json_fmt[] = {"application/json", NULL};
static const char *const geojson_fmt[] = {"application/geo+json", NULL};

static const nd_io inputs[] = {
    {.id = "collection", .title = "Collection", .description = "The STAC collection of this server's catalogue "
     "holding the spectra files (radiance(scanline, ground_pixel, channel) with wavelength(channel), "
     "latitude/longitude and optionally noise(channel)), as `nadir ingest` put them there.",
     .type = ND_IO_STRING, .min_occurs = 1, .max_occurs = 1, .max_bytes = 256},
    {.id = "item", .title = "Item", .description = "The STAC item (one spectra file) of that collection; absent: "
     "every item of the collection (within 'datetime' when given), one task per file on a pool of worker "
     "processes, gathered into one result.", .type = ND_IO_STRING, .max_occurs = 1, .max_bytes = 256},
    {.id = "datetime", .title = "Time range", .description = "Without 'item': only the items of the collection in "
     "this RFC 3339 interval (start/end, '..' open).", .type = ND_IO_STRING, .max_occurs = 1, .max_bytes = 100},
    {.id = "workers", .title = "Worker processes", .description = "Without 'item': files screened at once; 0: the "
     "job's threads setting (jobs.threads).", .type = ND_IO_INTEGER, .def = "0", .has_min = true, .min = 0,
     .has_max = true, .max = 64, .max_occurs = 1},
    {.id = "components", .title = "Components", .description = "Number of principal components K; 0: chosen "
     "from 'variance', or when it is absent the eigenvalues above the noise floor.",
     .type = ND_IO_INTEGER, .def = "0", .has_min = true, .min = 0, .has_max = true, .max = 1000, .max_occurs = 1},
    {.id = "variance", .title = "Explained variance", .description = "Fraction of the variance above the noise "
     "the components must explain (used when components is 0).",
     .type = ND_IO_NUMBER, .has_min = true, .min = 0.5, .has_max = true, .max = 1, .max_occurs = 1},
    {.id = "basis", .title = "Basis", .description = "The id of an earlier pca-screening job whose basis is "
     "reused instead of training on this input.", .type = ND_IO_STRING, .max_bytes = 36, .max_occurs = 1},
    {.id = "sample", .title = "Training sample", .description = "At most this many spectra, evenly spread over "
     "the input, form the reference set.", .type = ND_IO_INTEGER, .def = "20000", .has_min = true, .min = 100,
     .has_max = true, .max = 200000, .max_occurs = 1},
    {.id = "retrain", .title = "Retraining rounds", .description = "Rounds that drop the reference spectra "
     "scoring above 5 times the median and train again.", .type = ND_IO_INTEGER, .def = "2", .has_min = true,
     .min = 0, .has_max = true, .max = 5, .max_occurs = 1},
    {.id = "threshold", .title = "Score threshold", .description = "Below 1: the quantile of the reference "
     "scores above which a spectrum is flagged; 1 or more: the score itself.", .type = ND_IO_NUMBER,
     .def = "0.999", .has_min = true, .min = 0.5, .max_occurs = 1},
    {.id = "device", .title = "Device", .description = "auto, cpu or cuda.", .type = ND_IO_STRING,
     .allowed = device_values, .def = "auto", .max_occurs = 1},
};

static const nd_io outputs[] = {
    {.id = "scores", .title = "Scores", .description = "score, zscore, flag and leading PC scores per pixel.",
     .type = ND_IO_COMPLEX, .formats = nc_fmt},
    {.id = "selected", .title = "Selected spectra", .description = "The flagged spectra with residuals.",
     .type = ND_IO_COMPLEX, .formats = nc_fmt},
    {.id = "basis", .title = "Basis", .description = "The PCA basis, reusable by a later job.",
     .type = ND_IO_COMPLEX, .formats = nc_fmt},
    {.id = "summary", .title = "Summary", .description = "Counts, threshold and components.",
     .type = ND_IO_COMPLEX, .formats = json_fmt},
    {.id = "item", .title = "STAC item", .description = "A STAC item of the result.", .type = ND_IO_COMPLEX,
     .formats = geojson_fmt},
};

#define NPCS 3          /* leading PC scores written per pixel */
#define MAX_SAMPLE_VALUES 25000000u /* doubles in the reference set: 200 MB */

typedef struct run_ctx {
    nd_kernel_env *env;
    nd_error *err;
    nd_pca_l1b f;
    size_t scan_block; /* scanlines per read: about ND_PCA_BLOCK spectra */
} run_ctx;

static int progress(run_ctx *c, int pct, const char *msg) {
    if (c->env->progress && c->env->progress(c->env, pct, msg))
        return nd_fail(c->err, ND_E_INTERNAL, "", "the job was dismissed");
    return 0;
}

/* The reference set: every stride-th valid spectrum, at most cap of them. */
static double *read_sample(run_ctx *c, size_t cap, size_t *nout) {
    size_t m = (size_t)c->f.m, n = c->f.nscan * c->f.npix, stride = n / cap + (n % cap != 0);
    double *s = nd_xmalloc(cap * m * sizeof *s), *blk = nd_xmalloc(c->scan_block * c->f.npix * m * sizeof *blk);
    size_t k = 0;
    for (size_t s0 = 0; s0 < c->f.nscan && k < cap; s0 += c->scan_block) {
        size_t ns = c->f.nscan - s0 < c->scan_block ? c->f.nscan - s0 : c->scan_block;
        if (nd_pca_l1b_read(&c->f, s0, ns, blk) < 0) break;
        for (size_t i = 0; i < ns * c->f.npix && k < cap; i++) {
            size_t g = s0 * c->f.npix + i;
            if (g % stride) continue;
            const double *row = blk + i * m;
            int ok = 1;
            for (size_t j = 0; j < m && ok; j++) ok = isfinite(row[j]);
            if (ok) memcpy(s + k++ * m, row, m * sizeof *row);
        }
    }
    free(blk);
    *nout = k;
    return s;
}

/* Noise per channel when the file has none: the RMS residual after the leading components of the
 * un-normalised sample, corrected for the dimensions those components took. */
static void estimate_noise(const double *x, size_t n, int m, double *noise) {
    double *one = nd_xmalloc((size_t)m * sizeof *one);
    for (int j = 0; j < m; j++) one[j] = 1;
    nd_pca_acc a;
    nd_pca_acc_init(&a, m, ND_PCA_SYRK);
    nd_pca_acc_add(&a, x, n, one, NULL);
    nd_pca_basis b;
    char e[128];
    int k0 = m / 4 < 20 ? m / 4 : 20;
    if (k0 < 1) k0 = 1;
    if (nd_pca_train(&a, one, k0, 0, &b, e, sizeof e) == 0) {
        double *res = nd_xmalloc(n * (size_t)m * sizeof *res);
        nd_pca_score(&b, x, n, &(nd_pca_result){.residual = res});
        for (int j = 0; j < m; j++) {
            double s2 = 0;
            for (size_t i = 0; i < n; i++) s2 += res[i * m + j] * res[i * m + j];
            noise[j] = sqrt(s2 / n * m / (m - k0));
            if (!(noise[j] > 0)) noise[j] = 1;
        }
        free(res);
        nd_pca_basis_free(&b);
    } else {
        memcpy(noise, one, (size_t)m * sizeof *one);
    }
    nd_pca_acc_free(&a);
    free(one);
}

/* The eigenvalues above the Marchenko-Pastur edge of unit noise, i.e. not explained by noise alone. */
static int k_above_noise(const nd_pca_basis *b) {
    double edge = pow(1 + sqrt((double)b->m / (double)b->ntrain), 2) * 1.05;
    int k = 0;
    while (k < b->m - 1 && b->eigval[k] > edge) k++;
    return k > 0 ? k : 1;
}

/* Trains on the sample, dropping gross outliers for `rounds` rounds; keeps the final scores. An event
 * frequent enough in the sample takes a component of its own and then hides from the residual, so an
 * outlier is judged by its residual score and by its Mahalanobis distance inside the components (T2):
 * ordinary scenes spread over many spectra, an event's component rests on the few it came from. */
static int train(run_ctx *c, const double *x, size_t n, const double *noise, int k, double variance, int rounds,
                 nd_pca_basis *b, double *scores) {
    int m = c->f.m;
    char *keep = nd_xmalloc(n);
    memset(keep, 1, n);
    double *pcs = NULL, *t2 = nd_xmalloc(n * sizeof *t2);
    for (int r = 0;; r++) {
        nd_pca_acc a;
        nd_pca_acc_init(&a, m, ND_PCA_SYRK);
        for (size_t i = 0; i < n; i++)
            if (keep[i]) nd_pca_acc_add(&a, x + i * m, 1, noise, NULL);
        char e[256];
        int rc = nd_pca_train(&a, noise, k, variance > 0 ? variance : 1.0, b, e, sizeof e);
        nd_pca_acc_free(&a);
        if (rc < 0) {
            free(keep);
            free(t2);
            return nd_fail(c->err, ND_E_INVALID_PARAM, "components", "%s", e);
        }
        if (k == 0 && !(variance > 0)) b->k = k_above_noise(b);
        pcs = nd_xrealloc(pcs, n * (size_t)b->k * sizeof *pcs);
        nd_pca_score(b, x, n, &(nd_pca_result){.score = scores, .pcs = pcs, .npcs = b->k});
        if (r == rounds) break;
        for (size_t i = 0; i < n; i++) {
            t2[i] = 0;
            for (int j = 0; j < b->k; j++) t2[i] += pcs[i * b->k + j] * pcs[i * b->k + j] / b->eigval[j];
        }
        double med = nd_pca_quantile(scores, n, 0.5), tmed = nd_pca_quantile(t2, n, 0.5);
        size_t dropped = 0;
        for (size_t i = 0; i < n; i++)
            if (keep[i] && (scores[i] > 5 * med || t2[i] > 10 * tmed + 50)) keep[i] = 0, dropped++;
        if (!dropped) break;
        nd_pca_basis_free(b);
    }
    for (size_t i = 0; i < n; i++)
        if (!keep[i]) scores[i] = NAN;
    free(keep);
    free(pcs);
    free(t2);
    return 0;
}

/* A 36-character job id (hex and dashes): the only thing of the user's that reaches a path here. */
static int valid_job_id(const char *s) {
    if (strlen(s) != 36) return 0;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p) && *p != '-') return 0;
    return 1;
}

static int load_basis(run_ctx *c, const char *job, nd_pca_basis *b) {
    if (!valid_job_id(job)) return nd_fail(c->err, ND_E_INVALID_PARAM, "basis", "basis must be the id of a job");
    const char *slash = strrchr(c->env->dir, '/');
    size_t plen = slash ? (size_t)(slash - c->env->dir) : 0;
    char path[4096], e[256];
    snprintf(path, sizeof path, "%.*s/%s/basis.nc", (int)plen, c->env->dir, job);
    if (nd_pca_basis_read(path, b, e, sizeof e) < 0)
        return nd_fail(c->err, ND_E_INVALID_PARAM, "basis", "job %s has no usable basis", job);
    if (b->m != c->f.m)
        return nd_fail(c->err, ND_E_INVALID_PARAM, "basis", "the basis has %d channels, the spectra %d", b->m, c->f.m);
    return 0;
}

/* Before a job exists: the basis names a job (nothing else of the user's may reach a path). */
static int check(const json_t *in, const nd_process_limits *lim, nd_error *err) {
    const char *basis = json_string_value(json_object_get(in, "basis"));
    if (basis && !valid_job_id(basis))
        return nd_fail(err, ND_E_INVALID_PARAM, "basis", "basis must be the id of an earlier pca-screening job");
    return 0;
}

/* The local file of a catalogue item (the file `nadir ingest` read it from): the path comes from the server's own
 * catalogue, never from the request. */
static char *item_file(nd_kernel_env *env, const char *coll, const char *item, nd_error *err) {
    if (!env->config) {
        nd_fail(err, ND_E_INTERNAL, "", "the job has no configuration to find the catalogue in");
        return NULL;
    }
    char db[4096], e[512];
    if (env->config->catalog.database) snprintf(db, sizeof db, "%s", env->config->catalog.database);
    else snprintf(db, sizeof db, "%s/catalog.db", env->config->server.data_dir);
    nd_cat *cat = NULL;
    if (nd_cat_open(db, 1, &cat, e, sizeof e) < 0) {
        nd_fail(err, ND_E_UNAVAILABLE, "collection", "the catalogue could not be opened");
        return NULL;
    }
    json_t *it = nd_cat_get_item(cat, coll, item);
    char *path = it ? nd_cat_file_path(cat, coll, item) : NULL;
    nd_cat_close(cat);
    if (!it) nd_fail(err, ND_E_INVALID_PARAM, "item", "collection '%s' has no item '%s'", coll, item);
    else if (!path) nd_fail(err, ND_E_INVALID_PARAM, "item", "item '%s' has no local data file", item);
    json_decref(it);
    return path;
}

static int run(nd_kernel_env *env, const json_t *in, json_t *out, nd_error *err) {
    const char *device = json_string_value(json_object_get(in, "device"));
    if (device && !strcmp(device, "cuda"))
        return nd_fail(err, ND_E_INVALID_PARAM, "device", "device 'cuda' is not available: this build has no CUDA "
                       "path for pca-screening");
    const char *coll = json_string_value(json_object_get(in, "collection"));
    if (!json_object_get(in, "item")) return nd_pca_screen_many(env, coll, in, out, err);
    char *path = item_file(env, coll, json_string_value(json_object_get(in, "item")), err);
    if (!path) return -(int)err->code;
    int rc = nd_pca_screen_file(env, path, in, out, err);
    free(path);
    return rc;
}

/* Appends the sample of one more file to *x (n spectra of m channels so far). */
static int sample_file(run_ctx *c, const char *path, const char *name, size_t cap, size_t nfiles, double **x, size_t *n, int *m,
                       double **wl, double **noise) {
    char e[512];
    if (nd_pca_l1b_open(path, &c->f, e, sizeof e) < 0)
        return nd_fail(c->err, ND_E_INVALID_PARAM, "item", "item '%s': %s", name, e);
    int rc = 0;
    if (!*m) {
        *m = c->f.m;
        *wl = nd_xmalloc((size_t)*m * sizeof **wl);
        memcpy(*wl, c->f.wl, (size_t)*m * sizeof **wl);
        if (c->f.noise) {
            *noise = nd_xmalloc((size_t)*m * sizeof **noise);
            memcpy(*noise, c->f.noise, (size_t)*m * sizeof **noise);
        }
    } else if (c->f.m != *m) {
        rc = nd_fail(c->err, ND_E_INVALID_PARAM, "item", "item '%s' has %d channels, the first file %d", name,
                     c->f.m, *m);
    }
    if (rc == 0) {
        c->scan_block = ND_PCA_BLOCK / c->f.npix ? ND_PCA_BLOCK / c->f.npix : 1;
        if (cap * (size_t)*m > MAX_SAMPLE_VALUES) cap = MAX_SAMPLE_VALUES / (size_t)*m;
        cap = cap / nfiles > 10 ? cap / nfiles : 10; /* an even share from every file: the basis sees the whole period */
        size_t k;
        double *part = read_sample(c, cap, &k);
        *x = nd_xrealloc(*x, (*n + k) * (size_t)*m * sizeof **x);
        memcpy(*x + *n * (size_t)*m, part, k * (size_t)*m * sizeof *part);
        *n += k;
        free(part);
    }
    nd_pca_l1b_close(&c->f);
    memset(&c->f, 0, sizeof c->f);
    return rc;
}

int nd_pca_reference(nd_kernel_env *env, char *const *paths, char *const *names, size_t nfiles, const json_t *in,
                     nd_pca_basis *b, double *threshold, nd_error *err) {
    run_ctx c = {.env = env, .err = err};
    json_int_t k = json_integer_value(json_object_get(in, "components"));
    double variance = json_is_number(json_object_get(in, "variance")) ? json_number_value(json_object_get(in, "variance")) : 0;
    double thr_in = json_number_value(json_object_get(in, "threshold"));
    const char *basis_job = json_string_value(json_object_get(in, "basis"));
    size_t cap = (size_t)json_integer_value(json_object_get(in, "sample"));
    double *sample = NULL, *sscore = NULL, *wl = NULL, *noise = NULL;
    size_t ns = 0;
    int m = 0, rc = 0;
    memset(b, 0, sizeof *b);
    if ((rc = progress(&c, 1, "reading the reference set")) < 0) goto done;
    for (size_t i = 0; i < nfiles; i++) {
        if ((rc = sample_file(&c, paths[i], names[i], cap, nfiles, &sample, &ns, &m, &wl, &noise)) < 0)
            goto done;
        if (k >= m) {
            rc = nd_fail(err, ND_E_INVALID_PARAM, "components", "%lld components asked for but the spectra have %d "
                         "channels (at most %d)", (long long)k, m, m - 1);
            goto done;
        }
        if (nfiles > 1 && (rc = progress(&c, 1 + (int)(4 * (i + 1) / nfiles), "reading the reference set")) < 0)
            goto done;
    }
    if (ns < 10) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "item", "the spectra hold %zu valid spectra (all-NaN, fill or "
                     "negative radiances elsewhere): too few to screen", ns);
        goto done;
    }
    c.f.m = m;
    sscore = nd_xmalloc(ns * sizeof *sscore);
    if (basis_job) {
        if ((rc = load_basis(&c, basis_job, b)) < 0) goto done;
        nd_pca_score(b, sample, ns, &(nd_pca_result){.score = sscore});
    } else {
        if (!noise) {
            noise = nd_xmalloc((size_t)m * sizeof *noise);
            estimate_noise(sample, ns, m, noise);
        }
        if ((rc = progress(&c, 5, "training")) < 0 ||
            (rc = train(&c, sample, ns, noise, (int)k, variance,
                        (int)json_integer_value(json_object_get(in, "retrain")), b, sscore)) < 0)
            goto done;
    }
    *threshold = thr_in < 1 ? nd_pca_quantile(sscore, ns, thr_in) : thr_in;
    char bpath[4096], e[256];
    snprintf(bpath, sizeof bpath, "%s/basis.nc", env->dir);
    if (nd_pca_basis_write(bpath, b, wl, e, sizeof e) < 0) rc = nd_fail(err, ND_E_IO, "", "the basis could not be written");
done:
    if (rc < 0) nd_pca_basis_free(b);
    free(sample);
    free(sscore);
    free(wl);
    free(noise);
    return rc;
}

int nd_pca_screen_file(nd_kernel_env *env, const char *path, const json_t *in, json_t *out, nd_error *err) {
    run_ctx c = {.env = env, .err = err};
    char e[512];
    const char *basis_job = json_string_value(json_object_get(in, "basis"));
    const char *name = json_string_value(json_object_get(in, "item"));
    char *paths[1] = {(char *)path}, *names[1] = {(char *)(name ? name : "item")};
    nd_pca_basis b = {0};
    double threshold = 0;
    int rc = nd_pca_reference(env, paths, names, 1, in, &b, &threshold, err);
    if (rc < 0) return rc;
    if (nd_pca_l1b_open(path, &c.f, e, sizeof e) < 0) {
        nd_pca_basis_free(&b);
        return nd_fail(err, ND_E_INVALID_PARAM, "item", "%s", e);
    }
    int m = c.f.m;
    nd_pca_screen_stats st = {0};
    if ((rc = nd_pca_screen_write(env, &c.f, &b, threshold, &st, err)) < 0) goto done;
    json_t *summary = json_pack("{s:I, s:I, s:I, s:f, s:f, s:i, s:i, s:I, s:s, s:s}", "spectra",
                                (json_int_t)(c.f.nscan * c.f.npix), "valid", (json_int_t)st.valid, "flagged",
                                (json_int_t)st.flagged, "flagged_fraction",
                                st.valid ? (double)st.flagged / (double)st.valid : 0.0, "threshold", threshold,
                                "components", b.k, "channels", m, "reference_spectra", (json_int_t)b.ntrain,
                                "covariance", "OpenBLAS dsyrk", "basis_from", basis_job ? basis_job : "this job");
    nd_pca_set_outputs(env, &c.f, &st, summary, out);
    progress(&c, 100, "done");
done:
    nd_pca_basis_free(&b);
    nd_pca_l1b_close(&c.f);
    return rc;
}

void nd_pca_set_outputs(nd_kernel_env *env, const nd_pca_l1b *f, const nd_pca_screen_stats *st, json_t *summary,
                        json_t *out) {
    json_t *item = nd_pca_stac_item(env, f, st, summary);
    json_object_set_new(out, "summary", json_pack("{s:o, s:s}", "value", summary, "mediaType", "application/json"));
    json_object_set_new(out, "item", json_pack("{s:o, s:s}", "value", item, "mediaType", "application/geo+json"));
    json_object_set_new(out, "scores", json_pack("{s:s, s:s}", "file", "scores.nc", "mediaType", "application/x-netcdf"));
    json_object_set_new(out, "selected",
                        json_pack("{s:s, s:s}", "file", "selected.nc", "mediaType", "application/x-netcdf"));
    json_object_set_new(out, "basis", json_pack("{s:s, s:s}", "file", "basis.nc", "mediaType", "application/x-netcdf"));
}

const nd_process nd_process_pca_screening = {
    .id = "pca-screening",
    .title = "PCA screening of spectra",
    .description = "Flags spectra whose noise-normalised residual after the leading principal components of a "
                   "reference set is extreme (fires, plumes, unknown absorbers, instrument spikes).",
    .version = "1.0.0",
    .inputs = inputs,
    .ninputs = sizeof inputs / sizeof inputs[0],
    .outputs = outputs,
    .noutputs = sizeof outputs / sizeof outputs[0],
    .sync = true,
    .async = true,
    .devices = devices,
    .run = run,
    .check = check,
};
