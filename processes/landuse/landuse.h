/* The land-use kernel (the Moringa chain): SLIC segmentation, per-object features, labels from sample
 * polygons split by polygon, a threaded Random Forest and accuracy figures; pure C on arrays (the
 * GDAL adapter is lu_process.c). */
#ifndef NADIR_LANDUSE_H
#define NADIR_LANDUSE_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- the synthetic scene */

enum { LU_WHEAT, LU_MAIZE, LU_GRASS, LU_FOREST, LU_URBAN, LU_WATER, LU_ROAD, LU_NCLASSES };
extern const char *const nd_lu_class_names[LU_NCLASSES];

typedef struct nd_lu_scene {
    int width, height, nbands;   /* VHR image: blue, green, red, NIR reflectance x 10000 */
    float *image;                /* band-sequential: nbands * width * height */
    int *truth_poly;             /* per pixel: polygon index */
    int npoly;
    int *poly_class;             /* per polygon: LU_* */
    unsigned char *poly_sample;  /* per polygon: 1 when it is a sample polygon (labels known) */
    int ts_factor, ts_width, ts_height, ndates;  /* NDVI series on a grid ts_factor times coarser */
    float *series;               /* ndates * ts_width * ts_height */
} nd_lu_scene;

/* Voronoi polygons of random classes crossed by roads, rendered with class texture, per-polygon
 * variation and sensor noise; a Sentinel-2-like NDVI series with each crop's phenology. About half the
 * polygons of each class are samples. */
int nd_lu_scene_make(nd_lu_scene *s, int width, int height, int npoly, uint64_t seed);
void nd_lu_scene_free(nd_lu_scene *s);

/* ---------------------------------------------------------------- segmentation */

typedef struct nd_lu_seg_opts {
    int scale;            /* SLIC grid step S in pixels */
    double compactness;   /* m: weight of space against colour */
    int min_size;         /* segments smaller than this are merged into a neighbour */
    int iterations;
} nd_lu_seg_opts;

/* SLIC superpixels on the band-sequential image (bands standardised first), then connected and with
 * small segments merged. labels gets width*height segment ids 0..*nseg-1. */
int nd_lu_segment(const float *image, int width, int height, int nbands, const nd_lu_seg_opts *o, int *labels,
                  int *nseg);
/* Under-segmentation error (Neubert & Protzel 2012: sum over truth segments of min(|s in g|, |s out g|)
 * over overlapping segments, divided by the pixel count) and boundary recall (share of truth boundary
 * pixels within tol pixels of a segment boundary). */
void nd_lu_seg_quality(const int *labels, const int *truth, int width, int height, int tol, double *ue, double *br);

/* ---------------------------------------------------------------- features and labels */

typedef struct nd_lu_features {
    int nobj, nfeat;
    double *x;            /* nobj * nfeat */
    int *area;            /* pixels per object */
    char (*names)[32];    /* nfeat names */
} nd_lu_features;

/* Per object: band means and deviations, NDVI mean and deviation (red = band 2, NIR = band 3),
 * texture (mean absolute NIR gradient), shape (area, compactness), and, with a series, the object's
 * NDVI at each date, the amplitude and the date of the maximum. series may be NULL. */
int nd_lu_features_compute(const float *image, int width, int height, int nbands, const int *labels, int nseg,
                           const float *series, int ts_factor, int ts_width, int ts_height, int ndates,
                           nd_lu_features *f);
void nd_lu_features_free(nd_lu_features *f);

/* Object labels from a rasterised sample map (per pixel: sample polygon index or -1, poly_class gives
 * its class): an object takes the polygon covering most of its pixels if that covers at least half.
 * obj_poly and obj_class get -1 for unlabelled objects. */
void nd_lu_label_objects(const int *labels, int nseg, const int *sample_poly, size_t npix, const int *poly_class,
                         int *obj_poly, int *obj_class);
/* Marks about val_fraction of the sample polygons of each class as validation (1), the rest training (0);
 * every class with two or more polygons keeps at least one on each side (none held out when val_fraction
 * is 0). */
void nd_lu_split_polygons(const int *poly_class, int npoly, int nclasses, double val_fraction, uint64_t seed,
                          unsigned char *is_val);

/* ---------------------------------------------------------------- Random Forest */

typedef struct nd_lu_forest_opts {
    int trees, max_depth, mtry, min_leaf, threads;
    uint64_t seed;
} nd_lu_forest_opts;

typedef struct nd_lu_node {
    int feature;          /* -1: leaf */
    double threshold;     /* go left when x <= threshold */
    int left, right;      /* child indices */
    int cls;              /* leaf: majority class */
    float prob;           /* leaf: share of the majority class */
} nd_lu_node;

typedef struct nd_lu_tree {
    nd_lu_node *nodes;
    int nnodes, cap;
} nd_lu_tree;

typedef struct nd_lu_forest {
    int ntrees, nclasses, nfeat;
    nd_lu_tree *trees;
    double *leaf_probs;   /* unused when NULL */
} nd_lu_forest;

/* Trains on n samples (x: n * nfeat, y in [0, nclasses)), trees spread over threads; the forest is the
 * same whatever the thread count (tree t draws from its own seeded stream). */
int nd_lu_forest_train(const double *x, const int *y, size_t n, int nfeat, int nclasses, const nd_lu_forest_opts *o,
                       nd_lu_forest *f);
/* Class with most votes and the share of votes it got. */
int nd_lu_forest_predict(const nd_lu_forest *f, const double *x, double *confidence);
/* Predicts n rows with threads. */
void nd_lu_forest_predict_many(const nd_lu_forest *f, const double *x, size_t n, int threads, int *cls, double *conf);
void nd_lu_forest_free(nd_lu_forest *f);

/* ---------------------------------------------------------------- accuracy */

typedef struct nd_lu_metrics {
    int nclasses;
    long *confusion;      /* nclasses * nclasses, rows: truth, columns: predicted */
    double oa, kappa;
    double *f1;           /* per class; NAN for a class absent from truth and predictions */
    long n;
} nd_lu_metrics;

void nd_lu_metrics_compute(const int *truth, const int *pred, size_t n, int nclasses, nd_lu_metrics *m);
void nd_lu_metrics_free(nd_lu_metrics *m);

/* The process (lu_process.c), listed in processes/registry.c. */
struct nd_process;
extern const struct nd_process nd_process_landuse;

#endif
