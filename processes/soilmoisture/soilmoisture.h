/* The soil-moisture kernel (S2MP, El Hajj et al. 2017): forward model, neural inversion, parcel
 * averaging and the synthetic territory, all pure C on arrays (the GDAL adapter is sm_process.c). */
#ifndef NADIR_SOILMOISTURE_H
#define NADIR_SOILMOISTURE_H

#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------- random numbers (deterministic) */

typedef struct nd_rng {
    uint64_t s[4];
} nd_rng;

void nd_rng_seed(nd_rng *r, uint64_t seed);
uint64_t nd_rng_next(nd_rng *r);
double nd_rng_uniform(nd_rng *r);  /* [0, 1) */
double nd_rng_normal(nd_rng *r);   /* N(0, 1) */

/* ---------------------------------------------------------------- forward model */

/* Sentinel-1 C band: 5.405 GHz, wavelength in cm. */
#define ND_SM_LAMBDA_CM 5.5465
/* Water cloud model coefficients for VV with NDVI as the vegetation descriptor (docs/processes/soilmoisture.md). */
#define ND_SM_WCM_A 0.0012
#define ND_SM_WCM_B 0.091
/* The rms height the product assumes for agricultural soils, cm. */
#define ND_SM_HRMS_CM 1.0

/* Relative permittivity (real part) of a soil of volumetric moisture mv (m3/m3): Topp et al. 1980. */
double nd_sm_topp(double mv);
/* Bare-soil VV backscatter, linear, Dubois et al. 1995; theta in degrees, hrms and lambda in cm. */
double nd_sm_dubois_vv(double mv, double theta_deg, double hrms_cm, double lambda_cm);
/* Total VV backscatter (linear) through the water cloud model over the Dubois soil, NDVI as V1 = V2. */
double nd_sm_forward_vv(double mv, double theta_deg, double ndvi);
static inline double nd_sm_db(double lin) { return 10.0 * __builtin_log10(lin); }
static inline double nd_sm_lin(double db) { return __builtin_pow(10.0, db / 10.0); }

/* ---------------------------------------------------------------- the network */

#define ND_MLP_MAX_LAYERS 4
#define ND_MLP_MAX_WIDTH 64

/* A fully connected network: tanh hidden layers, a linear output, inputs and output standardised. */
typedef struct nd_mlp {
    int nlayers;                       /* weight layers */
    int sizes[ND_MLP_MAX_LAYERS + 1];  /* sizes[0] inputs ... sizes[nlayers] outputs */
    size_t nparams;
    double *w;                         /* per layer: W (out x in, row-major) then b (out) */
    double in_mean[ND_MLP_MAX_WIDTH], in_scale[ND_MLP_MAX_WIDTH];
    double out_mean[ND_MLP_MAX_WIDTH], out_scale[ND_MLP_MAX_WIDTH];
} nd_mlp;

typedef struct nd_mlp_train_opts {
    int epochs, batch;
    double lr, lr_final;  /* Adam step size, decayed geometrically to lr_final */
    uint64_t seed;
} nd_mlp_train_opts;

/* Allocates the weights, Glorot-uniform from rng; biases zero. sizes has nlayers + 1 entries. */
int nd_mlp_init(nd_mlp *m, int nlayers, const int *sizes, nd_rng *rng);
void nd_mlp_free(nd_mlp *m);
/* Fits the standardisation to x (n x in) and y (n x out). */
void nd_mlp_fit_scaling(nd_mlp *m, const double *x, const double *y, size_t n);
/* One input vector (raw units) to the outputs (raw units). */
void nd_mlp_forward(const nd_mlp *m, const double *x, double *y);
/* Mini-batch Adam on the mean squared error of standardised outputs; deterministic for a seed.
 * Returns the final training MSE (standardised). */
double nd_mlp_train(nd_mlp *m, const double *x, const double *y, size_t n, const nd_mlp_train_opts *o,
                    void (*progress)(void *ctx, int epoch, double mse), void *ctx);

/* ---------------------------------------------------------------- training set, trainer, shipped net */

typedef struct nd_sm_train_conf {
    uint64_t seed;
    size_t samples;
    double mv_lo, mv_hi; /* the moisture range (vol.%) of the training set */
    double noise_db;     /* Gaussian noise on sigma0 (dB) in the training set */
    double ndvi_noise;   /* Gaussian noise on NDVI */
    nd_mlp_train_opts opt;
    int hidden[2];
} nd_sm_train_conf;

/* The a-priori soil condition (El Hajj et al. 2017): none, dry or slightly wet (5-25 vol.%), very wet (20-40 vol.%);
 * each has a network of its own, trained over its range. */
typedef enum { ND_SM_COND_NONE = 0, ND_SM_COND_DRY, ND_SM_COND_WET, ND_SM_NCOND } nd_sm_condition;

/* The configuration that produced the network of cond in processes/soilmoisture/weights.c (seed: the base seed
 * plus cond). */
nd_sm_train_conf nd_sm_train_defaults(nd_sm_condition cond, uint64_t seed);
/* Simulated (sigma0 VV dB, theta deg, NDVI) -> mv vol.% samples, mv uniform in [mv_lo, mv_hi], theta in
 * [25, 50], NDVI in [0, 0.9]; x is n x 3, y n x 1. */
void nd_sm_simulate(nd_rng *rng, size_t n, double mv_lo, double mv_hi, double noise_db, double ndvi_noise, double *x,
                    double *y);
/* Trains the network of conf; progress may be NULL. */
int nd_sm_train(const nd_sm_train_conf *conf, nd_mlp *out, void (*progress)(void *ctx, int epoch, double mse),
                void *ctx);
/* The networks of the three conditions as a C source file (hex floats: exact), the format of weights.c. Returns
 * malloc'd text. */
char *nd_sm_weights_source(const nd_mlp m[ND_SM_NCOND], const nd_sm_train_conf conf[ND_SM_NCOND]);
/* What weights.c holds (written by nd_sm_weights_source). */
typedef struct nd_sm_weights_blob {
    int nlayers, sizes[ND_MLP_MAX_LAYERS + 1];
    double in_mean[3], in_scale[3], out_mean, out_scale;
    size_t nparams;
    const double *w;
} nd_sm_weights_blob;
extern const nd_sm_weights_blob nd_sm_weights[ND_SM_NCOND];

/* The shipped network of a condition (weights.c) as a view: m->w points into static storage, do not free. */
void nd_sm_shipped(nd_mlp *m, nd_sm_condition cond);
/* `nadir train soil-moisture [--seed N] [--out FILE]`. */
int nd_sm_train_main(int argc, char **argv);

/* ---------------------------------------------------------------- inversion */

/* Soil moisture (vol.%) from VV sigma0 (dB), incidence (deg) and NDVI by the network of the condition (m, from
 * nd_sm_shipped(m, cond)), clamped to the range it was trained on (none [5, 40], dry [5, 25], wet [20, 40]). */
double nd_sm_invert(const nd_mlp *m, double sigma_db, double theta_deg, double ndvi, nd_sm_condition cond);

/* Per-parcel aggregation: ids[i] > 0 is the parcel of pixel i, 0 none. */
typedef struct nd_sm_parcel {
    int id;
    size_t npix;        /* valid pixels */
    double sigma_db;    /* mean of sigma0 taken in linear units, back in dB */
    double theta, ndvi; /* plain means */
    double mv;          /* vol.%; NAN when skipped */
    int skipped;        /* 0 or one of ND_SM_SKIP_* */
} nd_sm_parcel;

enum { ND_SM_SKIP_NONE = 0, ND_SM_SKIP_SMALL, ND_SM_SKIP_CLASS, ND_SM_SKIP_NODATA, ND_SM_SKIP_NDVI, ND_SM_SKIP_GEOMETRY,
       ND_SM_SKIP_OUTSIDE };
const char *nd_sm_skip_reason(int skipped);

/* Averages the pixels of each parcel (NaN pixels ignored) and inverts the averages. parcels[k].id must
 * be set (1..maxid) and excluded[k] tells whether its class is excluded; parcels with fewer than
 * min_pixels valid pixels are skipped. Returns the number inverted. */
size_t nd_sm_parcels(const nd_mlp *m, const int *ids, const float *sigma_db, const float *theta, const float *ndvi,
                     size_t npix, nd_sm_parcel *parcels, size_t nparcels, const unsigned char *excluded,
                     size_t min_pixels, nd_sm_condition cond);

/* The same in steps, for rasters read block by block: reset, accumulate each block, finish. A parcel
 * already marked skipped (set skipped before finishing, e.g. for an invalid geometry) stays skipped. */
void nd_sm_reset(nd_sm_parcel *parcels, size_t nparcels);
void nd_sm_accumulate(nd_sm_parcel *parcels, size_t nparcels, const int *ids, const float *sigma_db,
                      const float *theta, const float *ndvi, size_t npix);
size_t nd_sm_finish(const nd_mlp *m, nd_sm_parcel *parcels, size_t nparcels, const unsigned char *excluded,
                    size_t min_pixels, nd_sm_condition cond);

/* ---------------------------------------------------------------- synthetic territory */

typedef struct nd_sm_territory {
    size_t width, height;
    size_t nparcels;
    int *ids;                  /* width*height, 0 outside parcels */
    float *sigma_db, *theta, *ndvi;
    double *mv, *veg;          /* per parcel (index id-1): true moisture vol.% and NDVI */
    int *crop;                 /* per parcel: 0 wheat, 1 maize, 2 grassland, 3 vineyard (excluded) */
} nd_sm_territory;

/* A grid of rectangular parcels separated by 2-pixel lanes, moisture and NDVI known per parcel,
 * sigma0 from the forward model with noise_db Gaussian noise per pixel, NDVI with 0.02 noise. */
int nd_sm_territory_make(nd_sm_territory *t, size_t width, size_t height, size_t cell, uint64_t seed, double noise_db);
void nd_sm_territory_free(nd_sm_territory *t);
extern const char *const nd_sm_crop_names[4];

/* The process (sm_process.c), listed in processes/registry.c. */
struct nd_process;
extern const struct nd_process nd_process_soilmoisture;

#endif
