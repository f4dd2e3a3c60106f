/* The soil-moisture kernel: forward model against its published formulas, the MLP (gradient, fit,
 * determinism), the shipped weights reproduced bit for bit, inversion accuracy on held-out simulated
 * data, parcel averaging in linear units and the skipped parcels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../processes/soilmoisture/soilmoisture.h"
#include "test.h"

ND_TEST(sm_topp_and_dubois) {
    /* Topp et al. 1980 at dry, mid and wet soil. */
    CHECK_NEAR(nd_sm_topp(0.0), 3.03, 1e-12);
    CHECK_NEAR(nd_sm_topp(0.2), 3.03 + 1.86 + 5.84 - 0.6136, 1e-9);
    CHECK_NEAR(nd_sm_topp(0.4), 3.03 + 3.72 + 23.36 - 4.9088, 1e-9);
    /* Dubois: the moisture term is 10^(0.046 eps tan(theta)), so the dB difference between two moistures
     * at 40 degrees is 0.46 tan(40) (eps2 - eps1) whatever the roughness. */
    double d = nd_sm_db(nd_sm_dubois_vv(0.3, 40, 1.0, 5.5465)) - nd_sm_db(nd_sm_dubois_vv(0.1, 40, 1.0, 5.5465));
    CHECK_NEAR(d, 0.46 * tan(40 * M_PI / 180) * (nd_sm_topp(0.3) - nd_sm_topp(0.1)), 1e-9);
    /* Roughness: (k s sin theta)^1.1, so doubling s adds 11 log10(2) dB. */
    double r = nd_sm_db(nd_sm_dubois_vv(0.2, 35, 2.0, 5.5465)) - nd_sm_db(nd_sm_dubois_vv(0.2, 35, 1.0, 5.5465));
    CHECK_NEAR(r, 11 * log10(2.0), 1e-9);
    /* A typical agricultural field at 40 degrees, 20 vol.%: about -13.6 dB. */
    CHECK_NEAR(nd_sm_db(nd_sm_dubois_vv(0.2, 40, 1.0, 5.5465)), -13.6, 0.1);
}

ND_TEST(sm_water_cloud) {
    /* NDVI 0: bare soil exactly. */
    CHECK_NEAR(nd_sm_forward_vv(0.25, 38, 0.0), nd_sm_dubois_vv(0.25, 38, ND_SM_HRMS_CM, ND_SM_LAMBDA_CM), 1e-15);
    /* NDVI 0.8 at 40 degrees: tau^2 = exp(-2 B V / cos) and the canopy term A V cos (1 - tau^2). */
    double c = cos(40 * M_PI / 180), t2 = exp(-2 * 0.091 * 0.8 / c);
    double want = 0.0012 * 0.8 * c * (1 - t2) + t2 * nd_sm_dubois_vv(0.25, 40, ND_SM_HRMS_CM, ND_SM_LAMBDA_CM);
    CHECK_NEAR(nd_sm_forward_vv(0.25, 40, 0.8), want, 1e-15);
    CHECK(nd_sm_forward_vv(0.25, 40, 0.8) < nd_sm_forward_vv(0.25, 40, 0.2)); /* attenuation dominates */
    /* Monotone in moisture over the trained range: the inversion is well posed. */
    for (double th = 25; th <= 50; th += 5)
        for (double v = 0; v <= 0.9; v += 0.3)
            for (double mv = 0.05; mv < 0.40; mv += 0.01) CHECK(nd_sm_forward_vv(mv + 0.01, th, v) > nd_sm_forward_vv(mv, th, v));
}

ND_TEST(sm_rng_deterministic) {
    nd_rng a, b;
    nd_rng_seed(&a, 7), nd_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++) CHECK(nd_rng_next(&a) == nd_rng_next(&b));
    /* N(0,1): mean and variance over 20000 draws. */
    double s = 0, s2 = 0;
    for (int i = 0; i < 20000; i++) {
        double x = nd_rng_normal(&a);
        s += x, s2 += x * x;
    }
    CHECK_NEAR(s / 20000, 0, 0.03);
    CHECK_NEAR(s2 / 20000, 1, 0.04);
}

/* Loss of the network on (x, y), standardised like training. */
static double loss(const nd_mlp *m, const double *x, const double *y, size_t n) {
    double se = 0;
    for (size_t i = 0; i < n; i++) {
        double p;
        nd_mlp_forward(m, x + 2 * i, &p);
        double d = (p - y[i]) / m->out_scale[0];
        se += d * d;
    }
    return se / (double)n;
}

ND_TEST(mlp_fits_and_is_deterministic) {
    /* y = sin(2 x1) * x2 on [-1, 1]^2: a smooth function a 2-12-12-1 network learns to 1e-3. */
    size_t n = 2000;
    double *x = malloc(n * 2 * sizeof *x), *y = malloc(n * sizeof *y);
    nd_rng r;
    nd_rng_seed(&r, 3);
    for (size_t i = 0; i < n; i++) {
        x[2 * i] = 2 * nd_rng_uniform(&r) - 1, x[2 * i + 1] = 2 * nd_rng_uniform(&r) - 1;
        y[i] = sin(2 * x[2 * i]) * x[2 * i + 1];
    }
    int sizes[4] = {2, 12, 12, 1};
    nd_mlp a, b, c;
    nd_rng ra, rb, rc;
    nd_rng_seed(&ra, 11), nd_rng_seed(&rb, 11), nd_rng_seed(&rc, 12);
    CHECK(nd_mlp_init(&a, 3, sizes, &ra) == 0 && nd_mlp_init(&b, 3, sizes, &rb) == 0 && nd_mlp_init(&c, 3, sizes, &rc) == 0);
    nd_mlp_fit_scaling(&a, x, y, n), nd_mlp_fit_scaling(&b, x, y, n), nd_mlp_fit_scaling(&c, x, y, n);
    double before = loss(&a, x, y, n);
    nd_mlp_train_opts o = {.epochs = 150, .batch = 16, .lr = 5e-3, .lr_final = 2e-4, .seed = 5};
    double mse = nd_mlp_train(&a, x, y, n, &o, NULL, NULL);
    nd_mlp_train(&b, x, y, n, &o, NULL, NULL);
    nd_mlp_train(&c, x, y, n, &o, NULL, NULL);
    double after = loss(&a, x, y, n);
    fprintf(stderr, "mlp: standardised MSE %.5f -> %.6f (training %.6f)\n", before, after, mse);
    CHECK(before > 0.3);
    CHECK(after < 2e-3);
    CHECK(memcmp(a.w, b.w, a.nparams * sizeof *a.w) == 0); /* same seed: same bits */
    CHECK(memcmp(a.w, c.w, a.nparams * sizeof *a.w) != 0); /* another seed: other weights */
    nd_mlp_free(&a), nd_mlp_free(&b), nd_mlp_free(&c);
    free(x), free(y);
}

ND_TEST(mlp_gradient_matches_finite_differences) {
    /* One sample, full batch, plain gradient step of size h on one weight changes the loss by about
     * -h |g|^2: checked through training one epoch with Adam is not possible, so compare the loss slope
     * of each weight by central differences with the decrease a tiny Adam step produces. */
    int sizes[3] = {2, 5, 1};
    nd_mlp m;
    nd_rng r;
    nd_rng_seed(&r, 9);
    CHECK(nd_mlp_init(&m, 2, sizes, &r) == 0);
    double x[2] = {0.3, -0.7}, y = 0.9;
    /* With one sample and the first Adam step, each weight moves by -lr * sign(g): the loss drops by
     * lr * sum |g_k| to first order. */
    double g1 = 0, h = 1e-6;
    for (size_t k = 0; k < m.nparams; k++) {
        double w0 = m.w[k];
        m.w[k] = w0 + h;
        double lp = loss(&m, x, &y, 1) / 2;
        m.w[k] = w0 - h;
        double lm = loss(&m, x, &y, 1) / 2;
        m.w[k] = w0;
        g1 += fabs((lp - lm) / (2 * h));
    }
    double l0 = loss(&m, x, &y, 1) / 2, lr = 1e-7;
    nd_mlp_train_opts o = {.epochs = 1, .batch = 1, .lr = lr, .lr_final = lr, .seed = 1};
    nd_mlp_train(&m, x, &y, 1, &o, NULL, NULL);
    double l1 = loss(&m, x, &y, 1) / 2;
    CHECK_NEAR((l0 - l1) / lr, g1, 1e-3 * g1 + 1e-6);
    nd_mlp_free(&m);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

ND_TEST(sm_trainer_reproduces_shipped_weights) {
    /* One of the three networks (the wet one: its seed and range are the defaults' offsets), to stay quick; the
     * integration test runs the whole `nadir train soil-moisture` against the committed file. */
    nd_sm_train_conf c = nd_sm_train_defaults(ND_SM_COND_WET, 42);
    CHECK(c.seed == 44 && c.mv_lo == 20 && c.mv_hi == 40);
    nd_mlp m, s;
    CHECK(nd_sm_train(&c, &m, NULL, NULL) == 0);
    nd_sm_shipped(&s, ND_SM_COND_WET);
    CHECK(s.nparams == m.nparams);
    CHECK(memcmp(s.w, m.w, m.nparams * sizeof *m.w) == 0);
    CHECK(memcmp(s.in_mean, m.in_mean, 3 * sizeof(double)) == 0 && s.out_scale[0] == m.out_scale[0]);
    /* the source text of the three is the committed file */
    nd_sm_train_conf cs[ND_SM_NCOND];
    nd_mlp ms[ND_SM_NCOND];
    for (int k = 0; k < ND_SM_NCOND; k++) {
        cs[k] = nd_sm_train_defaults((nd_sm_condition)k, 42);
        nd_sm_shipped(&ms[k], (nd_sm_condition)k);
    }
    char *text = nd_sm_weights_source(ms, cs), *want = slurp(ND_TEST_DATA "/../../processes/soilmoisture/weights.c");
    CHECK(want != NULL && strcmp(text, want) == 0);
    free(text), free(want);
    nd_mlp_free(&m);
}

/* RMSE (vol.%) of the shipped network of cond on n held-out samples of [lo, hi] from a seed the trainer never used. */
static double heldout_rmse_in(nd_sm_condition cond, double lo, double hi, double noise_db, double ndvi_noise,
                              uint64_t seed) {
    nd_mlp m;
    nd_sm_shipped(&m, cond);
    nd_rng r;
    nd_rng_seed(&r, seed);
    size_t n = 5000;
    double *x = malloc(n * 3 * sizeof *x), *y = malloc(n * sizeof *y), se = 0;
    nd_sm_simulate(&r, n, lo, hi, noise_db, ndvi_noise, x, y);
    for (size_t i = 0; i < n; i++) {
        double e = nd_sm_invert(&m, x[3 * i], x[3 * i + 1], x[3 * i + 2], cond) - y[i];
        se += e * e;
    }
    free(x), free(y);
    return sqrt(se / (double)n);
}

static double heldout_rmse(double noise_db, double ndvi_noise, uint64_t seed) {
    return heldout_rmse_in(ND_SM_COND_NONE, 5, 40, noise_db, ndvi_noise, seed);
}

ND_TEST(sm_condition_networks_beat_the_general_one_in_their_range) {
    /* held-out soils of each range with 1 dB noise: the condition's own network against the general one clamped */
    const struct { nd_sm_condition cond; double lo, hi; } cases[] = {{ND_SM_COND_DRY, 5, 25}, {ND_SM_COND_WET, 20, 40}};
    for (int k = 0; k < 2; k++) {
        double own = heldout_rmse_in(cases[k].cond, cases[k].lo, cases[k].hi, 1.0, 0.02, 777 + (uint64_t)k);
        nd_mlp g;
        nd_sm_shipped(&g, ND_SM_COND_NONE);
        nd_rng r;
        nd_rng_seed(&r, 777 + (uint64_t)k);
        size_t n = 5000;
        double *x = malloc(n * 3 * sizeof *x), *y = malloc(n * sizeof *y), se = 0;
        nd_sm_simulate(&r, n, cases[k].lo, cases[k].hi, 1.0, 0.02, x, y);
        for (size_t i = 0; i < n; i++) {
            double e = nd_sm_invert(&g, x[3 * i], x[3 * i + 1], x[3 * i + 2], cases[k].cond) - y[i];
            se += e * e;
        }
        free(x), free(y);
        double general = sqrt(se / (double)n);
        fprintf(stderr, "%s soils, 1 dB noise: own network RMSE %.3f vol.%%, general network clamped %.3f\n",
                k ? "wet" : "dry", own, general);
        CHECK(own < general);
    }
}

ND_TEST(sm_inversion_accuracy) {
    double clean = heldout_rmse(0, 0, 20261122), noisy = heldout_rmse(1.0, 0.02, 20261123);
    fprintf(stderr, "soil moisture held-out RMSE: noise-free %.3f vol.%%, 1 dB noise %.3f vol.%%\n", clean, noisy);
    CHECK(clean <= 1.0);
    CHECK(noisy <= 5.0);
    /* The a-priori condition keeps the answer in its range. */
    nd_mlp m, dry;
    nd_sm_shipped(&m, ND_SM_COND_NONE);
    nd_sm_shipped(&dry, ND_SM_COND_DRY);
    double s = nd_sm_db(nd_sm_forward_vv(0.35, 40, 0.5));
    CHECK_NEAR(nd_sm_invert(&m, s, 40, 0.5, ND_SM_COND_NONE), 35, 1.5);
    CHECK(nd_sm_invert(&dry, s, 40, 0.5, ND_SM_COND_DRY) <= 25);
}

ND_TEST(sm_parcels_linear_mean_and_skips) {
    nd_mlp m;
    nd_sm_shipped(&m, ND_SM_COND_NONE);
    /* parcel 1: two pixels -10 and -20 dB -> linear mean 0.055 -> -12.596 dB (not -15);
     * parcel 2: one pixel (too small with min 2); parcel 3: excluded class; parcel 4: NDVI 1.5;
     * parcel 5: only NaN pixels. */
    int ids[] = {1, 1, 2, 3, 3, 4, 4, 5, 0};
    float sg[] = {-10, -20, -12, -12, -12, -12, -12, NAN, -5};
    float th[] = {30, 40, 35, 35, 35, 35, 35, 35, 35};
    float nv[] = {0.2f, 0.4f, 0.3f, 0.3f, 0.3f, 1.5f, 0.3f, 0.3f, 0.3f};
    nd_sm_parcel p[5];
    unsigned char excl[5] = {0, 0, 1, 0, 0};
    for (int k = 0; k < 5; k++) p[k].id = k + 1;
    size_t done = nd_sm_parcels(&m, ids, sg, th, nv, 9, p, 5, excl, 2, ND_SM_COND_NONE);
    CHECK_INT(done, 1);
    CHECK_NEAR(p[0].sigma_db, 10 * log10(0.055), 1e-6);
    CHECK_NEAR(p[0].theta, 35, 1e-9);
    CHECK_NEAR(p[0].ndvi, 0.3, 1e-6);
    CHECK_NEAR(p[0].mv, nd_sm_invert(&m, 10 * log10(0.055), 35, 0.3, ND_SM_COND_NONE), 1e-6);
    CHECK_INT(p[1].skipped, ND_SM_SKIP_SMALL);
    CHECK_INT(p[2].skipped, ND_SM_SKIP_CLASS);
    CHECK_INT(p[3].skipped, ND_SM_SKIP_NDVI);
    CHECK_INT(p[4].skipped, ND_SM_SKIP_NODATA);
    for (int k = 1; k < 5; k++) CHECK(isnan(p[k].mv));
    CHECK_STR(nd_sm_skip_reason(ND_SM_SKIP_CLASS), "excluded class");
}

ND_TEST(sm_territory_inverted) {
    /* 1 dB speckle per pixel, averaged over parcels of 18x18 pixels: the parcel estimates are within
     * the product accuracy; the 3x3 plots and the vineyards are skipped. */
    nd_sm_territory t;
    CHECK(nd_sm_territory_make(&t, 400, 300, 20, 99, 1.0) == 0);
    nd_mlp m;
    nd_sm_shipped(&m, ND_SM_COND_NONE);
    nd_sm_parcel *p = calloc(t.nparcels, sizeof *p);
    unsigned char *excl = calloc(t.nparcels, 1);
    for (size_t k = 0; k < t.nparcels; k++) p[k].id = (int)k + 1, excl[k] = t.crop[k] == 3;
    size_t done = nd_sm_parcels(&m, t.ids, t.sigma_db, t.theta, t.ndvi, t.width * t.height, p, t.nparcels, excl, 20,
                                ND_SM_COND_NONE);
    double se = 0;
    size_t n = 0, small = 0, vine = 0;
    for (size_t k = 0; k < t.nparcels; k++) {
        if (t.crop[k] == 3) {
            CHECK_INT(p[k].skipped, ND_SM_SKIP_CLASS);
            vine++;
        } else if (k % 7 == 6) {
            CHECK_INT(p[k].skipped, ND_SM_SKIP_SMALL);
            small++;
        } else {
            CHECK_INT(p[k].skipped, 0);
            se += (p[k].mv - t.mv[k]) * (p[k].mv - t.mv[k]);
            n++;
        }
    }
    double rmse = sqrt(se / (double)n);
    fprintf(stderr, "territory: %zu parcels inverted, %zu small, %zu vineyards; RMSE %.3f vol.%%\n", done, small, vine,
            rmse);
    CHECK_INT(done, n);
    CHECK(small > 0 && vine > 0);
    CHECK(rmse <= 2.0);
    free(p), free(excl);
    nd_sm_territory_free(&t);
}

#include <gdal.h>
#include <ogr_api.h>

#include "nadir/land.h"

ND_TEST(sm_demo_files) {
    GDALAllRegister();
    char err[256], path[1024];
    CHECK(nd_soilmoisture_demo_write(nd_test_tmp_dir(), err, sizeof err) == 0);
    snprintf(path, sizeof path, "%s/soilmoisture/sm_sigma0_vv.tif", nd_test_tmp_dir());
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    CHECK(ds != NULL);
    CHECK_INT(GDALGetRasterXSize(ds), 600);
    CHECK_INT(GDALGetRasterYSize(ds), 400);
    double gt[6];
    GDALGetGeoTransform(ds, gt);
    CHECK_NEAR(gt[0], 360000, 1e-9);
    CHECK_NEAR(gt[1], 10, 1e-12);
    /* The first parcel's pixel (1,1) is the territory's: same seed, same values. */
    nd_sm_territory t;
    CHECK(nd_sm_territory_make(&t, 600, 400, 20, 2026, 1.0) == 0);
    float v;
    CHECK(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 5, 7, 1, 1, &v, 1, 1, GDT_Float32, 0, 0) == CE_None);
    CHECK(v == t.sigma_db[7 * 600 + 5]);
    GDALClose(ds);
    snprintf(path, sizeof path, "%s/soilmoisture/sm_parcels.geojson", nd_test_tmp_dir());
    GDALDatasetH vs = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    CHECK(vs != NULL);
    CHECK_INT(OGR_L_GetFeatureCount(GDALDatasetGetLayer(vs, 0), TRUE), (long long)t.nparcels);
    GDALClose(vs);
    nd_sm_territory_free(&t);
}
