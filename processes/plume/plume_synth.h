/* Synthetic trace-gas maps with known truth: a smooth background with gradients, steady Gaussian plumes
 * from point sources of known rate advected by a known uniform wind (optional decay), retrieval noise and
 * cloud gaps; the truth the plume kernel is tested against and the demo data of plume-detection. */
#ifndef NADIR_PROCESSES_PLUME_SYNTH_H
#define NADIR_PROCESSES_PLUME_SYNTH_H

#include <stddef.h>
#include <stdint.h>

typedef struct nd_plume_truth {
    double col, row;  /* pixel coordinates of the source */
    double q;         /* emission, column units x m2 s-1 (e.g. mol s-1 for mol m-2) */
} nd_plume_truth;

typedef struct nd_plume_scene {
    int nx, ny;
    double dx, dy;              /* m */
    double bg0, gx, gy, wave;   /* background: bg0 + gx*col + gy*row + wave*sin(large-scale pattern) */
    double noise;               /* retrieval noise standard deviation */
    double gap_fraction;        /* share of the map under clouds (NaN) */
    double sigma0, growth;      /* plume width sigma(a) = sigma0 + growth * a, m */
    double lifetime;            /* s; 0: no decay */
} nd_plume_scene;

/* The plume column of one source at distance a downwind and c across, for wind speed speed. */
double nd_plume_synth_column(const nd_plume_scene *sc, double q, double speed, double a, double c);

/* Fills omega (ny x nx) for one day with wind (u, v); truth_enh (may be NULL) gets the noise-free plume
 * enhancement alone. */
void nd_plume_synth_map(const nd_plume_scene *sc, const nd_plume_truth *src, size_t nsrc, double u, double v,
                        uint64_t seed, double *omega, double *truth_enh);

#endif
