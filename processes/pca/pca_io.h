/* NetCDF for the pca-screening process: L1B-like spectra read scanline block by scanline block, the
 * reusable basis file, and the synthetic demo file. */
#ifndef NADIR_PROCESSES_PCA_IO_H
#define NADIR_PROCESSES_PCA_IO_H

#include <stddef.h>
#include <stdint.h>

#include "pca.h"

/* An open spectra file: radiance(scanline, ground_pixel, channel) with wavelength(channel) and
 * optionally noise(channel), latitude/longitude(scanline, ground_pixel). */
typedef struct nd_pca_l1b {
    int nc, v_rad, v_lat, v_lon;
    size_t nscan, npix;
    int m;
    double *wl;     /* m */
    double *noise;  /* m, or NULL when the file has none */
    double fill;    /* _FillValue of radiance, or NaN */
} nd_pca_l1b;

int nd_pca_l1b_open(const char *path, nd_pca_l1b *f, char *err, size_t errlen);
/* Scanlines [s0, s0 + ns) as doubles (ns*npix x m), fill values as NaN. */
int nd_pca_l1b_read(const nd_pca_l1b *f, size_t s0, size_t ns, double *x);
/* latitude/longitude of those scanlines (ns*npix each); NaN when the file has none. */
int nd_pca_l1b_read_geo(const nd_pca_l1b *f, size_t s0, size_t ns, double *lat, double *lon);
void nd_pca_l1b_close(nd_pca_l1b *f);

/* The basis as CF NetCDF: noise, mean, eigenvalues, components(component, channel), wavelength. */
int nd_pca_basis_write(const char *path, const nd_pca_basis *b, const double *wl, char *err, size_t errlen);
int nd_pca_basis_read(const char *path, nd_pca_basis *b, char *err, size_t errlen);

/* A synthetic spectra file (nscan x npix spectra of m channels, events at rate event_rate, their
 * kinds in event_truth), and the one `nadir demo-data` writes under dir/spectra/. */
int nd_pca_synth_write(const char *path, size_t nscan, size_t npix, int m, double snr, double event_rate,
                       uint64_t seed, char *err, size_t errlen);
int nd_pca_demo_write(const char *dir, char *err, size_t errlen);

#endif
