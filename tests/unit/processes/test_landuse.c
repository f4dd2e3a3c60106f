/* The land-use kernel on the synthetic scene: segmentation quality against the truth polygons, held-out
 * accuracy of the Random Forest split by polygon, the same accuracy as scikit-learn's forest on the same
 * features (python3-sklearn), determinism across thread counts, and the accuracy figures themselves. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../processes/landuse/landuse.h"
#include "test.h"

ND_TEST(lu_metrics_known_matrix) {
    /* truth 0 0 0 1 1 2, predicted 0 0 1 1 1 2: OA 5/6; kappa from the marginals; F1 per class. */
    int t[] = {0, 0, 0, 1, 1, 2}, p[] = {0, 0, 1, 1, 1, 2};
    nd_lu_metrics m;
    nd_lu_metrics_compute(t, p, 6, 3, &m);
    CHECK_INT(m.confusion[0 * 3 + 0], 2);
    CHECK_INT(m.confusion[0 * 3 + 1], 1);
    CHECK_INT(m.confusion[1 * 3 + 1], 2);
    CHECK_NEAR(m.oa, 5.0 / 6, 1e-12);
    double pe = (3.0 * 2 + 2.0 * 3 + 1.0 * 1) / 36;
    CHECK_NEAR(m.kappa, (5.0 / 6 - pe) / (1 - pe), 1e-12);
    CHECK_NEAR(m.f1[0], 2.0 * 2 / (3 + 2), 1e-12);
    CHECK_NEAR(m.f1[1], 2.0 * 2 / (2 + 3), 1e-12);
    CHECK_NEAR(m.f1[2], 1.0, 1e-12);
    nd_lu_metrics_free(&m);
}

ND_TEST(lu_forest_separable_and_thread_independent) {
    /* Three classes separated by x0 < 1 / x0 > 2, x1 deciding between the last two; noise features. */
    size_t n = 600;
    double *x = malloc(n * 4 * sizeof *x);
    int *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(i % 3);
        x[i * 4] = y[i] == 0 ? (double)(i % 7) / 7.0 : 2.0 + (double)(i % 5) / 5.0;
        x[i * 4 + 1] = y[i] == 2 ? 5.0 + (double)(i % 11) : -(double)(i % 13);
        x[i * 4 + 2] = (double)((i * 7919) % 101), x[i * 4 + 3] = (double)((i * 104729) % 53);
    }
    nd_lu_forest_opts o = {.trees = 25, .mtry = 2, .threads = 1, .seed = 3};
    nd_lu_forest a, b;
    CHECK(nd_lu_forest_train(x, y, n, 4, 3, &o, &a) == 0);
    o.threads = 3;
    CHECK(nd_lu_forest_train(x, y, n, 4, 3, &o, &b) == 0);
    for (int t = 0; t < a.ntrees; t++) {
        CHECK_INT(a.trees[t].nnodes, b.trees[t].nnodes);
        CHECK(memcmp(a.trees[t].nodes, b.trees[t].nodes, (size_t)a.trees[t].nnodes * sizeof(nd_lu_node)) == 0);
    }
    int *cls = malloc(n * sizeof *cls);
    double *conf = malloc(n * sizeof *conf);
    nd_lu_forest_predict_many(&a, x, n, 2, cls, conf);
    for (size_t i = 0; i < n; i++) CHECK_INT(cls[i], y[i]);
    double q[4] = {0.5, -3, 40, 7}, c;
    CHECK_INT(nd_lu_forest_predict(&a, q, &c), 0);
    CHECK(c > 0.8);
    nd_lu_forest_free(&a), nd_lu_forest_free(&b);
    free(x), free(y), free(cls), free(conf);
}

/* The whole chain on the synthetic scene, shared by the tests below. */
typedef struct chain {
    nd_lu_scene s;
    int *labels, nseg;
    nd_lu_features f;
    int *obj_poly, *obj_class;
    unsigned char *is_val;
    double ue, br;
} chain;

static void run_chain(chain *c) {
    CHECK(nd_lu_scene_make(&c->s, 480, 480, 60, 2026) == 0);
    size_t n = (size_t)c->s.width * (size_t)c->s.height;
    c->labels = malloc(n * sizeof *c->labels);
    nd_lu_seg_opts so = {.scale = 10, .compactness = 0.6, .min_size = 25, .iterations = 8};
    CHECK(nd_lu_segment(c->s.image, c->s.width, c->s.height, 4, &so, c->labels, &c->nseg) == 0);
    nd_lu_seg_quality(c->labels, c->s.truth_poly, c->s.width, c->s.height, 2, &c->ue, &c->br);
    CHECK(nd_lu_features_compute(c->s.image, c->s.width, c->s.height, 4, c->labels, c->nseg, c->s.series, c->s.ts_factor,
                                 c->s.ts_width, c->s.ts_height, c->s.ndates, &c->f) == 0);
    int *sample = malloc(n * sizeof *sample);
    for (size_t i = 0; i < n; i++) sample[i] = c->s.poly_sample[c->s.truth_poly[i]] ? c->s.truth_poly[i] : -1;
    c->obj_poly = malloc((size_t)c->nseg * sizeof(int));
    c->obj_class = malloc((size_t)c->nseg * sizeof(int));
    nd_lu_label_objects(c->labels, c->nseg, sample, n, c->s.poly_class, c->obj_poly, c->obj_class);
    int *pc = malloc((size_t)c->s.npoly * sizeof *pc);
    for (int k = 0; k < c->s.npoly; k++) pc[k] = c->s.poly_sample[k] ? c->s.poly_class[k] : -1;
    c->is_val = calloc((size_t)c->s.npoly, 1);
    nd_lu_split_polygons(pc, c->s.npoly, LU_NCLASSES, 0.35, 7, c->is_val);
    free(sample), free(pc);
}

static void free_chain(chain *c) {
    nd_lu_scene_free(&c->s);
    nd_lu_features_free(&c->f);
    free(c->labels), free(c->obj_poly), free(c->obj_class), free(c->is_val);
}

ND_TEST(lu_segmentation_quality) {
    chain c;
    run_chain(&c);
    fprintf(stderr, "segmentation: %d objects for %d truth polygons; under-segmentation error %.4f, boundary recall %.4f\n",
            c.nseg, c.s.npoly, c.ue, c.br);
    CHECK(c.ue <= 0.12);
    CHECK(c.br >= 0.90);
    CHECK(c.nseg > c.s.npoly && c.nseg < 4000);
    free_chain(&c);
}

static void split_sets(const chain *c, double **xtr, int **ytr, size_t *ntr, double **xva, int **yva, size_t *nva) {
    int F = c->f.nfeat;
    *xtr = malloc((size_t)c->nseg * F * sizeof(double)), *xva = malloc((size_t)c->nseg * F * sizeof(double));
    *ytr = malloc((size_t)c->nseg * sizeof(int)), *yva = malloc((size_t)c->nseg * sizeof(int));
    *ntr = *nva = 0;
    for (int o = 0; o < c->nseg; o++) {
        if (c->obj_class[o] < 0) continue;
        int v = c->is_val[c->obj_poly[o]];
        double *dst = v ? *xva + *nva * F : *xtr + *ntr * F;
        memcpy(dst, c->f.x + (size_t)o * F, (size_t)F * sizeof(double));
        if (v) (*yva)[(*nva)++] = c->obj_class[o];
        else (*ytr)[(*ntr)++] = c->obj_class[o];
    }
}

static void write_csv(const char *path, const double *x, const int *y, size_t n, int F) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%d", y[i]);
        for (int j = 0; j < F; j++) fprintf(f, ",%.17g", x[i * F + j]);
        fputc('\n', f);
    }
    fclose(f);
}

ND_TEST(lu_forest_heldout_accuracy_and_sklearn) {
    chain c;
    run_chain(&c);
    double *xtr, *xva;
    int *ytr, *yva;
    size_t ntr, nva;
    split_sets(&c, &xtr, &ytr, &ntr, &xva, &yva, &nva);
    /* No object of a validation polygon is trained on. */
    for (int o = 0; o < c.nseg; o++)
        if (c.obj_class[o] >= 0) CHECK(c.is_val[c.obj_poly[o]] == 0 || c.is_val[c.obj_poly[o]] == 1);
    CHECK(ntr > 100 && nva > 50);
    nd_lu_forest_opts o = {.trees = 100, .mtry = (int)floor(sqrt((double)c.f.nfeat)), .threads = 2, .seed = 1};
    nd_lu_forest f;
    CHECK(nd_lu_forest_train(xtr, ytr, ntr, c.f.nfeat, LU_NCLASSES, &o, &f) == 0);
    int *pred = malloc(nva * sizeof *pred);
    nd_lu_forest_predict_many(&f, xva, nva, 2, pred, NULL);
    nd_lu_metrics m;
    nd_lu_metrics_compute(yva, pred, nva, LU_NCLASSES, &m);
    fprintf(stderr, "forest: %zu training objects, %zu held-out objects; OA %.4f kappa %.4f; F1", ntr, nva, m.oa, m.kappa);
    for (int k = 0; k < LU_NCLASSES; k++) fprintf(stderr, " %s %.3f", nd_lu_class_names[k], m.f1[k]);
    fputc('\n', stderr);
    CHECK(m.oa >= 0.9);
    /* scikit-learn on the same features and split. */
    char tr[512], va[512], cmd[2048];
    snprintf(tr, sizeof tr, "%s/lu_train.csv", nd_test_tmp_dir());
    snprintf(va, sizeof va, "%s/lu_val.csv", nd_test_tmp_dir());
    write_csv(tr, xtr, ytr, ntr, c.f.nfeat);
    write_csv(va, xva, yva, nva, c.f.nfeat);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; from sklearn.ensemble import RandomForestClassifier as R; "
             "a=np.loadtxt('%s',delimiter=','); b=np.loadtxt('%s',delimiter=','); "
             "f=R(n_estimators=100,random_state=0,n_jobs=1).fit(a[:,1:],a[:,0]); print((f.predict(b[:,1:])==b[:,0]).mean())\"",
             tr, va);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    double sk = -1;
    int got = fscanf(p, "%lf", &sk);
    int st = pclose(p);
    if (got != 1 || st != 0) ND_FAIL_AT("scikit-learn did not run (apt-get install python3-sklearn)");
    fprintf(stderr, "scikit-learn RandomForestClassifier OA %.4f; ours %.4f; difference %.2f points\n", sk, m.oa,
            100 * (m.oa - sk));
    CHECK(fabs(m.oa - sk) <= 0.015);
    nd_lu_metrics_free(&m);
    nd_lu_forest_free(&f);
    free(pred), free(xtr), free(xva), free(ytr), free(yva);
    free_chain(&c);
}

ND_TEST(lu_split_keeps_both_sides) {
    int pc[] = {0, 0, 0, 1, 1, 2, -1, 0, 1, 1};
    unsigned char v[10];
    nd_lu_split_polygons(pc, 10, 3, 0.3, 1, v);
    int tr[3] = {0}, va[3] = {0};
    for (int k = 0; k < 10; k++)
        if (pc[k] >= 0) (v[k] ? va : tr)[pc[k]]++;
    CHECK(tr[0] >= 1 && va[0] >= 1 && tr[1] >= 1 && va[1] >= 1);
    CHECK_INT(va[2], 0); /* one polygon only: it trains */
    CHECK_INT(v[6], 0);
}

#include <gdal.h>
#include <ogr_api.h>

#include "nadir/land.h"

ND_TEST(lu_demo_files) {
    GDALAllRegister();
    char err[256], path[1024];
    CHECK(nd_landuse_demo_write(nd_test_tmp_dir(), err, sizeof err) == 0);
    snprintf(path, sizeof path, "%s/landuse/lu_vhr.tif", nd_test_tmp_dir());
    GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
    CHECK(ds != NULL);
    CHECK_INT(GDALGetRasterCount(ds), 4);
    CHECK_INT(GDALGetRasterXSize(ds), 480);
    CHECK(GDALGetRasterDataType(GDALGetRasterBand(ds, 1)) == GDT_UInt16);
    GDALClose(ds);
    snprintf(path, sizeof path, "%s/landuse/lu_ndvi_series.tif", nd_test_tmp_dir());
    ds = GDALOpen(path, GA_ReadOnly);
    CHECK(ds != NULL);
    CHECK_INT(GDALGetRasterCount(ds), 8);
    CHECK_INT(GDALGetRasterXSize(ds), 120);
    GDALClose(ds);
    snprintf(path, sizeof path, "%s/landuse/lu_samples.geojson", nd_test_tmp_dir());
    GDALDatasetH vs = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    CHECK(vs != NULL);
    OGRLayerH l = GDALDatasetGetLayer(vs, 0);
    long long nf = OGR_L_GetFeatureCount(l, TRUE);
    CHECK(nf >= 30);
    int seen[LU_NCLASSES] = {0};
    OGRFeatureH f;
    while ((f = OGR_L_GetNextFeature(l))) {
        const char *c = OGR_F_GetFieldAsString(f, 0);
        int k = -1;
        for (int i = 0; i < LU_NCLASSES; i++)
            if (!strcmp(c, nd_lu_class_names[i])) k = i;
        CHECK(k >= 0);
        seen[k]++;
        OGR_F_Destroy(f);
    }
    for (int i = 0; i < LU_NCLASSES; i++) CHECK(seen[i] > 0);
    GDALClose(vs);
}
