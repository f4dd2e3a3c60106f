/* The pca-screening files: the demo spectra written and read back block by block, the basis round
 * trip, and the whole adapter on a synthetic file (flags against the injected events). */
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../processes/pca/pca_process.h"
#include "../../../processes/pca/swir_synth.h"
#include "test.h"

ND_TEST(pca_demo_file_reads_back) {
    char err[256], path[512];
    CHECK(nd_pca_demo_write(nd_test_tmp_dir(), err, sizeof err) == 0);
    snprintf(path, sizeof path, "%s/spectra/swir_l1b_demo.nc", nd_test_tmp_dir());
    nd_pca_l1b f;
    if (nd_pca_l1b_open(path, &f, err, sizeof err) < 0) ND_FAIL_AT("%s", err);
    CHECK_INT(f.nscan, 120);
    CHECK_INT(f.npix, 50);
    CHECK_INT(f.m, 200);
    CHECK(f.noise != NULL);
    CHECK_NEAR(f.wl[0], 2305.2, 1e-9);
    CHECK_NEAR(f.wl[199], 2384.8, 1e-9);
    /* scanlines 10..12 equal the model run again with the same seed and events (float precision) */
    double *x = malloc(3 * 50 * 200 * sizeof *x);
    CHECK(nd_pca_l1b_read(&f, 10, 3, x) == 0);
    nd_swir_model mod;
    nd_swir_model_init(&mod, 200, 100);
    size_t n = 120 * 50;
    unsigned char *ev = malloc(n);
    int nc, v;
    CHECK(nc_open(path, NC_NOWRITE, &nc) == NC_NOERR && nc_inq_varid(nc, "event_truth", &v) == NC_NOERR);
    CHECK(nc_get_var_uchar(nc, v, ev) == NC_NOERR);
    nc_close(nc);
    size_t nev = 0;
    for (size_t i = 0; i < n; i++) nev += ev[i] != 0;
    CHECK(nev > 30 && nev < 100);
    double *all = malloc(n * 200 * sizeof *all);
    nd_swir_simulate(&mod, n, 2025, ev, 0, all);
    for (int i = 0; i < 3 * 50 * 200; i++) CHECK_NEAR(x[i], (float)all[10 * 50 * 200 + i], 0);
    free(all);
    free(ev);
    free(x);
    nd_swir_model_free(&mod);
    nd_pca_l1b_close(&f);
}

ND_TEST(pca_basis_round_trip) {
    nd_pca_basis b = {.m = 4, .k = 2, .ntrain = 123};
    double noise[4] = {1, 2, 3, 4}, mean[4] = {5, 6, 7, 8}, ev[4] = {9, 3, 1, 0.5}, vec[8] = {1, 0, 0, 0, 0, 1, 0, 0};
    double wl[4] = {2300, 2301, 2302, 2303};
    b.noise = noise, b.mean = mean, b.eigval = ev, b.vec = vec;
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/basis.nc", nd_test_tmp_dir());
    CHECK(nd_pca_basis_write(path, &b, wl, err, sizeof err) == 0);
    nd_pca_basis r;
    if (nd_pca_basis_read(path, &r, err, sizeof err) < 0) ND_FAIL_AT("%s", err);
    CHECK_INT(r.m, 4);
    CHECK_INT(r.k, 2);
    CHECK_INT(r.ntrain, 123);
    CHECK(memcmp(r.noise, noise, sizeof noise) == 0 && memcmp(r.mean, mean, sizeof mean) == 0);
    CHECK(memcmp(r.eigval, ev, sizeof ev) == 0 && memcmp(r.vec, vec, sizeof vec) == 0);
    nd_pca_basis_free(&r);
}

/* The adapter on a file with 1% events: flags against event_truth, outputs present. */
ND_TEST(pca_screen_file_recall) {
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/l1b.nc", nd_test_tmp_dir());
    CHECK(nd_pca_synth_write(path, 200, 100, 200, 100, 0.01, 77, err, sizeof err) == 0);
    json_t *in = json_pack("{s:i, s:i, s:i, s:f, s:s}", "components", 0, "sample", 20000, "retrain", 2, "threshold",
                           0.999, "device", "cpu");
    json_t *out = json_object();
    nd_kernel_env env = {.dir = nd_test_tmp_dir()};
    nd_error e = {0};
    if (nd_pca_screen_file(&env, path, in, out, &e) < 0) ND_FAIL_AT("%s", e.detail);
    json_t *sum = json_object_get(json_object_get(out, "summary"), "value");
    char *text = json_dumps(sum, JSON_COMPACT);
    fprintf(stderr, "summary: %s\n", text);
    free(text);
    int nc, v;
    size_t n = 200 * 100, tp = 0, pos = 0, fp = 0, neg = 0;
    unsigned char *ev = malloc(n), *flag = malloc(n);
    CHECK(nc_open(path, NC_NOWRITE, &nc) == NC_NOERR && nc_inq_varid(nc, "event_truth", &v) == NC_NOERR);
    CHECK(nc_get_var_uchar(nc, v, ev) == NC_NOERR);
    nc_close(nc);
    snprintf(path, sizeof path, "%s/scores.nc", nd_test_tmp_dir());
    CHECK(nc_open(path, NC_NOWRITE, &nc) == NC_NOERR && nc_inq_varid(nc, "flag", &v) == NC_NOERR);
    CHECK(nc_get_var_uchar(nc, v, flag) == NC_NOERR);
    nc_close(nc);
    for (size_t i = 0; i < n; i++) {
        if (ev[i]) pos++, tp += flag[i] == 1;
        else neg++, fp += flag[i] == 1;
    }
    fprintf(stderr, "recall %zu/%zu, false positives %zu/%zu\n", tp, pos, fp, neg);
    CHECK((double)tp / pos >= 0.95);
    CHECK((double)fp / neg <= 0.005);
    CHECK_INT(json_integer_value(json_object_get(sum, "flagged")), tp + fp);
    snprintf(path, sizeof path, "%s/selected.nc", nd_test_tmp_dir());
    size_t ns = 0;
    int d;
    CHECK(nc_open(path, NC_NOWRITE, &nc) == NC_NOERR && nc_inq_dimid(nc, "spectrum", &d) == NC_NOERR);
    nc_inq_dimlen(nc, d, &ns);
    nc_close(nc);
    CHECK_INT(ns, tp + fp);
    free(ev);
    free(flag);
    json_decref(in);
    json_decref(out);
}

ND_TEST(pca_screen_file_bad_input) {
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/small.nc", nd_test_tmp_dir());
    CHECK(nd_pca_synth_write(path, 10, 10, 20, 100, 0, 1, err, sizeof err) == 0);
    json_t *in = json_pack("{s:i, s:i, s:i, s:f, s:s}", "components", 20, "sample", 1000, "retrain", 0, "threshold",
                           0.99, "device", "cpu");
    json_t *out = json_object();
    nd_kernel_env env = {.dir = nd_test_tmp_dir()};
    nd_error e = {0};
    CHECK(nd_pca_screen_file(&env, path, in, out, &e) < 0);
    CHECK_CONTAINS(e.detail, "20 channels");
    /* a file without radiance */
    snprintf(path, sizeof path, "%s/basis.nc", nd_test_tmp_dir());
    nd_pca_basis b = {.m = 4, .k = 1};
    double z[4] = {1, 1, 1, 1}, wl[4] = {0};
    b.noise = b.mean = b.eigval = b.vec = z;
    CHECK(nd_pca_basis_write(path, &b, wl, err, sizeof err) == 0);
    memset(&e, 0, sizeof e);
    CHECK(nd_pca_screen_file(&env, path, in, out, &e) < 0);
    CHECK_CONTAINS(e.detail, "no variable 'radiance'");
    json_decref(in);
    json_decref(out);
}
