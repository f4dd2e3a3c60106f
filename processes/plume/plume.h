/* The plume kernel: robust background and noise, significant enhancements grouped into wind-aligned plume
 * objects, the source at each plume's upwind end, emission by cross-sectional flux and by integrated
 * mass enhancement, per-pixel source contributions, and sources clustered across days. Pure C on arrays:
 * no files, no HTTP. */
#ifndef NADIR_PROCESSES_PLUME_H
#define NADIR_PROCESSES_PLUME_H

#include <stddef.h>

/* One day's map on a regular grid: row-major ny x nx, row 0 first; NaN marks gaps (clouds, bad qa). */
typedef struct nd_plume_map {
    int nx, ny;
    double dx, dy;          /* pixel size, m */
    const double *omega;    /* column (e.g. mol m-2) */
    const double *u, *v;    /* wind towards +x (columns) and +y (rows), m s-1, on the same grid */
} nd_plume_map;

typedef struct nd_plume_params {
    int window;             /* background window, pixels (default 48) */
    double z_seed, z_grow;  /* hysteresis thresholds, in noise sigmas, on the 3x3 mean enhancement (seeds,
                             * default 2.5) and on the (2 smooth + 1)^2 mean (growth, default 0.8) */
    int min_pixels;         /* smallest plume object (default 6) */
    double max_misalign;    /* elongated objects must lie within this angle of the wind, degrees (default 45) */
    double sigma_min;       /* noise floor (0: 1e-6 of the largest |omega|) */
    int smooth;             /* box radius of the growth mean (default 2: 5 x 5); 0: raw pixels */
    int rim, iterations;    /* background re-estimated this often (default 3) without the enhanced pixels
                             * and a rim of this many pixels (default 6) */
    int threads;            /* threads for the background and significance rows (default 1); the result does
                             * not depend on it */
} nd_plume_params;

void nd_plume_params_default(nd_plume_params *p);

typedef struct nd_plume_source {
    double col, row;        /* source position, pixel coordinates (centre of pixel 0 = 0) */
    double q, q_unc;        /* emission (mean of the two methods) and its uncertainty, omega units x m2 s-1 */
    double q_csf, q_ime;    /* cross-sectional flux and integrated mass enhancement estimates */
    double u, v;            /* mean wind over the plume */
    double length;          /* plume length along the wind, m */
    int npixels, ntransects;
    int day;                /* index of the map it came from */
    int cluster;            /* persistent source it belongs to (nd_plume_cluster), or -1 */
} nd_plume_source;

/* Per-pixel results of one map; arrays of ny x nx, any may be NULL. */
typedef struct nd_plume_out {
    unsigned char *flag;    /* 0 none, 1 plume, 2 source pixel, 255 gap */
    int *source;            /* index into the sources of this call with the largest contribution, -1 */
    unsigned char *nsources;/* number of sources contributing more than 10% */
    float *contribution;    /* share of the main source (0..1) */
    float *distance;        /* distance to that source, m */
    double *background, *sigma;
} nd_plume_out;

/* Detects the plumes of one map; appends their sources to *src (realloc'd, *nsrc updated). Returns the
 * number of sources found, or -1 with a message in err (bad dimensions, no valid pixel, no wind). */
int nd_plume_detect(const nd_plume_map *map, const nd_plume_params *p, int day, nd_plume_out *out,
                    nd_plume_source **src, size_t *nsrc, char *err, size_t errlen);

/* Background (large-window median) and noise (1.4826 MAD) on a coarse grid, interpolated bilinearly. */
void nd_plume_background(const double *omega, int nx, int ny, int window, double *bg, double *sigma);
/* The same on `threads` threads (rows of nodes and of pixels split into bands). */
void nd_plume_background_mt(const double *omega, int nx, int ny, int window, int threads, double *bg, double *sigma);

/* A persistent source: detections of several days within `radius` pixels. */
typedef struct nd_plume_cluster {
    double col, row, q, q_unc, u, v;
    int ndetections;
} nd_plume_cluster;

/* Groups sources (greedily, strongest first) into persistent sources; sets each source's cluster. */
size_t nd_plume_cluster_sources(nd_plume_source *src, size_t nsrc, double radius, nd_plume_cluster **out);

#endif
