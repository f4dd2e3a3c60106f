/* The demo L1B-like spectra file (SWIR forward model with injected events of known position) that
 * `nadir demo-data` writes for the pca-screening process, and its NetCDF writer. */
#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pca_io.h"
#include "swir_synth.h"

#define NC(call)                                                                                                  \
    do {                                                                                                          \
        int _s = (call);                                                                                          \
        if (_s != NC_NOERR) {                                                                                     \
            snprintf(err, errlen, "%s: %s", path, nc_strerror(_s));                                               \
            goto done;                                                                                            \
        }                                                                                                         \
    } while (0)

#define ATT(var, name, text) NC(nc_put_att_text(nc, var, name, strlen(text), text))

int nd_pca_synth_write(const char *path, size_t nscan, size_t npix, int m, double snr, double event_rate,
                       uint64_t seed, char *err, size_t errlen) {
    nd_swir_model mod;
    if (nd_swir_model_init(&mod, m, snr) < 0) {
        snprintf(err, errlen, "bad model parameters");
        return -1;
    }
    size_t n = nscan * npix;
    unsigned char *ev = calloc(n, 1);
    double *x = malloc(n * (size_t)m * sizeof *x);
    float *xf = malloc(n * (size_t)m * sizeof *xf);
    double *lat = malloc(n * sizeof *lat), *lon = malloc(n * sizeof *lon), *t = malloc(nscan * sizeof *t);
    int rc = -1, nc = -1;
    if (!ev || !x || !xf || !lat || !lon || !t) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    nd_swir_rng r = {seed * 7919 + 1};
    for (size_t i = 0; i < n; i++)
        if (nd_swir_uniform(&r) < event_rate) ev[i] = (unsigned char)(1 + (int)(3 * nd_swir_uniform(&r)) % 3);
    nd_swir_simulate(&mod, n, seed, ev, 0, x);
    for (size_t i = 0; i < n * (size_t)m; i++) xf[i] = (float)x[i];
    /* a swath flying north-north-west over 5 x 5 degrees, 7 km pixels */
    for (size_t s = 0; s < nscan; s++) {
        t[s] = 1.0 * s;
        for (size_t p = 0; p < npix; p++) {
            lat[s * npix + p] = 40 + 0.065 * s - 0.01 * p;
            lon[s * npix + p] = 10 + 0.08 * p + 0.01 * s;
        }
    }
    int dims[3], v_rad, v_wl, v_lat, v_lon, v_t, v_noise, v_ev;
    NC(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc));
    NC(nc_def_dim(nc, "scanline", nscan, &dims[0]));
    NC(nc_def_dim(nc, "ground_pixel", npix, &dims[1]));
    NC(nc_def_dim(nc, "channel", (size_t)m, &dims[2]));
    NC(nc_def_var(nc, "radiance", NC_FLOAT, 3, dims, &v_rad));
    size_t chunk[3] = {nscan < 64 ? nscan : 64, npix, (size_t)m};
    NC(nc_def_var_chunking(nc, v_rad, NC_CHUNKED, chunk));
    ATT(v_rad, "units", "mol.m-2.nm-1.sr-1.s-1");
    ATT(v_rad, "long_name", "spectral radiance");
    NC(nc_def_var(nc, "wavelength", NC_DOUBLE, 1, &dims[2], &v_wl));
    ATT(v_wl, "units", "nm");
    NC(nc_def_var(nc, "noise", NC_DOUBLE, 1, &dims[2], &v_noise));
    ATT(v_noise, "long_name", "instrument noise standard deviation per channel");
    NC(nc_def_var(nc, "latitude", NC_DOUBLE, 2, dims, &v_lat));
    ATT(v_lat, "units", "degrees_north");
    NC(nc_def_var(nc, "longitude", NC_DOUBLE, 2, dims, &v_lon));
    ATT(v_lon, "units", "degrees_east");
    NC(nc_def_var(nc, "time", NC_DOUBLE, 1, dims, &v_t));
    ATT(v_t, "units", "seconds since 2025-06-01 10:00:00");
    NC(nc_def_var(nc, "event_truth", NC_UBYTE, 2, dims, &v_ev));
    ATT(v_ev, "flag_meanings", "none co_enhancement absorber spike");
    ATT(NC_GLOBAL, "title", "synthetic SWIR L1B spectra (nadir demo data)");
    NC(nc_enddef(nc));
    NC(nc_put_var_float(nc, v_rad, xf));
    NC(nc_put_var_double(nc, v_wl, mod.wl));
    NC(nc_put_var_double(nc, v_noise, mod.noise));
    NC(nc_put_var_double(nc, v_lat, lat));
    NC(nc_put_var_double(nc, v_lon, lon));
    NC(nc_put_var_double(nc, v_t, t));
    NC(nc_put_var_uchar(nc, v_ev, ev));
    rc = 0;
done:
    if (nc >= 0) {
        int s = nc_close(nc);
        if (rc == 0 && s != NC_NOERR) rc = -1, snprintf(err, errlen, "%s: %s", path, nc_strerror(s));
    }
    free(ev);
    free(x);
    free(xf);
    free(lat);
    free(lon);
    free(t);
    nd_swir_model_free(&mod);
    return rc;
}

int nd_pca_demo_write(const char *dir, char *err, size_t errlen) {
    char sub[4096], path[4200];
    snprintf(sub, sizeof sub, "%s/spectra", dir);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create the directory", sub);
        return -1;
    }
    snprintf(path, sizeof path, "%s/swir_l1b_demo.nc", sub);
    return nd_pca_synth_write(path, 120, 50, 200, 100, 0.01, 2025, err, errlen);
}
