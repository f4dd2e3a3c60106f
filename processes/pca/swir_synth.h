/* A synthetic SWIR forward model (2305-2385 nm): continuum x Beer-Lambert absorption of CH4, CO and
 * H2O lines over varying surfaces, angles and columns, fixed instrument noise per channel, and
 * injected events of known position; the known truth the PCA screening is tested against. */
#ifndef NADIR_PROCESSES_SWIR_SYNTH_H
#define NADIR_PROCESSES_SWIR_SYNTH_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ND_SWIR_NONE = 0,
    ND_SWIR_CO = 1,        /* CO column 10-30 times the background: a fire or industrial plume */
    ND_SWIR_ABSORBER = 2,  /* lines of a gas never seen in the reference set */
    ND_SWIR_SPIKE = 3,     /* a few saturated or spiky channels */
} nd_swir_event;

typedef struct nd_swir_model {
    int m;
    double *wl;        /* m: wavelength, nm */
    double *xs[4];     /* m each: CH4, CO, H2O, extra-absorber optical depth per unit column, unit airmass */
    double *noise;     /* m: instrument noise standard deviation (radiance units) */
    double saturation; /* the radiance a saturated channel reads */
} nd_swir_model;

/* A model with m channels and signal-to-noise snr on a reference bright scene. */
int nd_swir_model_init(nd_swir_model *mod, int m, double snr);
void nd_swir_model_free(nd_swir_model *mod);

/* One 64-bit random stream (splitmix64 seeded xorshift), shared with the plume generator's style. */
typedef struct nd_swir_rng {
    uint64_t s;
} nd_swir_rng;
double nd_swir_uniform(nd_swir_rng *r);
double nd_swir_normal(nd_swir_rng *r);

/* n spectra (row-major n x m) of random scenes; each spectrum holds the event `event[i]` when event
 * is given (NULL: no event anywhere). noise_only: the same mean scene everywhere, only noise varies. */
void nd_swir_simulate(const nd_swir_model *mod, size_t n, uint64_t seed, const unsigned char *event, int noise_only,
                      double *x);

#endif
