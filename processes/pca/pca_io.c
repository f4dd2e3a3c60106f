/* netCDF-C reading of L1B-like spectra and reading/writing of the PCA basis (see pca_io.h). */
#include "pca_io.h"

#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/arena.h"

#define MAX_CHANNELS 10000

static int nc_err(char *err, size_t errlen, const char *what, int s) {
    snprintf(err, errlen, "%s: %s", what, nc_strerror(s));
    return -1;
}

static int dim_len(int nc, int var, int i, size_t *len) {
    int dims[NC_MAX_VAR_DIMS];
    if (nc_inq_vardimid(nc, var, dims) != NC_NOERR) return -1;
    return nc_inq_dimlen(nc, dims[i], len) == NC_NOERR ? 0 : -1;
}

int nd_pca_l1b_open(const char *path, nd_pca_l1b *f, char *err, size_t errlen) {
    memset(f, 0, sizeof *f);
    f->nc = -1;
    f->v_lat = f->v_lon = -1;
    int s = nc_open(path, NC_NOWRITE, &f->nc);
    if (s != NC_NOERR) return nc_err(err, errlen, "the spectra file could not be opened", s);
    int nd = 0;
    if (nc_inq_varid(f->nc, "radiance", &f->v_rad) != NC_NOERR) {
        snprintf(err, errlen, "the spectra file has no variable 'radiance'");
        goto fail;
    }
    nc_inq_varndims(f->nc, f->v_rad, &nd);
    size_t m = 0;
    if (nd != 3 || dim_len(f->nc, f->v_rad, 0, &f->nscan) || dim_len(f->nc, f->v_rad, 1, &f->npix) ||
        dim_len(f->nc, f->v_rad, 2, &m)) {
        snprintf(err, errlen, "radiance must have the dimensions (scanline, ground_pixel, channel), it has %d", nd);
        goto fail;
    }
    if (m < 3 || m > MAX_CHANNELS || f->nscan == 0 || f->npix == 0) {
        snprintf(err, errlen, "radiance has %zu x %zu spectra of %zu channels (3 to %d channels needed)", f->nscan,
                 f->npix, m, MAX_CHANNELS);
        goto fail;
    }
    f->m = (int)m;
    f->wl = nd_xmalloc(m * sizeof(double));
    int v;
    if (nc_inq_varid(f->nc, "wavelength", &v) != NC_NOERR || nc_get_var_double(f->nc, v, f->wl) != NC_NOERR) {
        for (size_t j = 0; j < m; j++) f->wl[j] = (double)j;
    }
    int nvd = 0;
    if (nc_inq_varid(f->nc, "noise", &v) == NC_NOERR && nc_inq_varndims(f->nc, v, &nvd) == NC_NOERR && nvd == 1) {
        size_t len = 0;
        dim_len(f->nc, v, 0, &len);
        if (len != m) {
            snprintf(err, errlen, "noise has %zu values for %zu channels", len, m);
            goto fail;
        }
        f->noise = nd_xmalloc(m * sizeof(double));
        nc_get_var_double(f->nc, v, f->noise);
        for (size_t j = 0; j < m; j++)
            if (!(f->noise[j] > 0) || !isfinite(f->noise[j])) {
                snprintf(err, errlen, "noise must be positive and finite in every channel (channel %zu is not)", j);
                goto fail;
            }
    }
    f->fill = NAN;
    float ff;
    if (nc_get_att_float(f->nc, f->v_rad, "_FillValue", &ff) == NC_NOERR) f->fill = ff;
    if (nc_inq_varid(f->nc, "latitude", &f->v_lat) != NC_NOERR) f->v_lat = -1;
    if (nc_inq_varid(f->nc, "longitude", &f->v_lon) != NC_NOERR) f->v_lon = -1;
    return 0;
fail:
    nd_pca_l1b_close(f);
    return -1;
}

int nd_pca_l1b_read(const nd_pca_l1b *f, size_t s0, size_t ns, double *x) {
    size_t start[3] = {s0, 0, 0}, count[3] = {ns, f->npix, (size_t)f->m};
    if (nc_get_vara_double(f->nc, f->v_rad, start, count, x) != NC_NOERR) return -1;
    size_t n = ns * f->npix * (size_t)f->m;
    for (size_t i = 0; i < n; i++)
        if (x[i] == f->fill || fabs(x[i]) > 1e30) x[i] = NAN;
    return 0;
}

int nd_pca_l1b_read_geo(const nd_pca_l1b *f, size_t s0, size_t ns, double *lat, double *lon) {
    size_t start[2] = {s0, 0}, count[2] = {ns, f->npix}, n = ns * f->npix;
    if (f->v_lat < 0 || nc_get_vara_double(f->nc, f->v_lat, start, count, lat) != NC_NOERR)
        for (size_t i = 0; i < n; i++) lat[i] = NAN;
    if (f->v_lon < 0 || nc_get_vara_double(f->nc, f->v_lon, start, count, lon) != NC_NOERR)
        for (size_t i = 0; i < n; i++) lon[i] = NAN;
    return 0;
}

void nd_pca_l1b_close(nd_pca_l1b *f) {
    if (f->nc >= 0) nc_close(f->nc);
    free(f->wl);
    free(f->noise);
    memset(f, 0, sizeof *f);
    f->nc = -1;
}

#define NC(call)                                                                                                  \
    do {                                                                                                          \
        int _s = (call);                                                                                          \
        if (_s != NC_NOERR) {                                                                                     \
            nc_err(err, errlen, path, _s);                                                                        \
            goto done;                                                                                            \
        }                                                                                                         \
    } while (0)
#define ATT(var, name, text) NC(nc_put_att_text(nc, var, name, strlen(text), text))

int nd_pca_basis_write(const char *path, const nd_pca_basis *b, const double *wl, char *err, size_t errlen) {
    int nc = -1, rc = -1, dc, dk, v_wl, v_noise, v_mean, v_ev, v_vec;
    NC(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc));
    NC(nc_def_dim(nc, "channel", (size_t)b->m, &dc));
    NC(nc_def_dim(nc, "component", (size_t)b->k, &dk));
    NC(nc_def_var(nc, "wavelength", NC_DOUBLE, 1, &dc, &v_wl));
    ATT(v_wl, "units", "nm");
    NC(nc_def_var(nc, "noise", NC_DOUBLE, 1, &dc, &v_noise));
    ATT(v_noise, "long_name", "noise standard deviation the spectra were divided by");
    NC(nc_def_var(nc, "mean", NC_DOUBLE, 1, &dc, &v_mean));
    ATT(v_mean, "long_name", "mean noise-normalised spectrum of the reference set");
    NC(nc_def_var(nc, "eigenvalue", NC_DOUBLE, 1, &dc, &v_ev));
    ATT(v_ev, "long_name", "eigenvalues of the noise-normalised covariance, descending");
    int d2[2] = {dk, dc};
    NC(nc_def_var(nc, "component", NC_DOUBLE, 2, d2, &v_vec));
    ATT(v_vec, "long_name", "leading eigenvectors (unit length)");
    unsigned long long ntrain = b->ntrain;
    NC(nc_put_att_ulonglong(nc, NC_GLOBAL, "reference_spectra", NC_UINT64, 1, &ntrain));
    ATT(NC_GLOBAL, "title", "PCA basis of nadir pca-screening");
    NC(nc_enddef(nc));
    NC(nc_put_var_double(nc, v_wl, wl));
    NC(nc_put_var_double(nc, v_noise, b->noise));
    NC(nc_put_var_double(nc, v_mean, b->mean));
    NC(nc_put_var_double(nc, v_ev, b->eigval));
    NC(nc_put_var_double(nc, v_vec, b->vec));
    rc = 0;
done:
    if (nc >= 0 && nc_close(nc) != NC_NOERR) rc = -1;
    return rc;
}

int nd_pca_basis_read(const char *path, nd_pca_basis *b, char *err, size_t errlen) {
    memset(b, 0, sizeof *b);
    int nc = -1, rc = -1, v, dim;
    size_t m = 0, k = 0;
    NC(nc_open(path, NC_NOWRITE, &nc));
    NC(nc_inq_dimid(nc, "channel", &dim));
    NC(nc_inq_dimlen(nc, dim, &m));
    NC(nc_inq_dimid(nc, "component", &dim));
    NC(nc_inq_dimlen(nc, dim, &k));
    if (m < 3 || m > MAX_CHANNELS || k < 1 || k >= m) {
        snprintf(err, errlen, "the basis file has %zu components of %zu channels", k, m);
        goto done;
    }
    b->m = (int)m;
    b->k = (int)k;
    b->noise = nd_xmalloc(m * sizeof(double));
    b->mean = nd_xmalloc(m * sizeof(double));
    b->eigval = nd_xmalloc(m * sizeof(double));
    b->vec = nd_xmalloc(m * k * sizeof(double));
    NC(nc_inq_varid(nc, "noise", &v));
    NC(nc_get_var_double(nc, v, b->noise));
    NC(nc_inq_varid(nc, "mean", &v));
    NC(nc_get_var_double(nc, v, b->mean));
    NC(nc_inq_varid(nc, "eigenvalue", &v));
    NC(nc_get_var_double(nc, v, b->eigval));
    NC(nc_inq_varid(nc, "component", &v));
    NC(nc_get_var_double(nc, v, b->vec));
    unsigned long long ntrain = 0;
    if (nc_get_att_ulonglong(nc, NC_GLOBAL, "reference_spectra", &ntrain) == NC_NOERR) b->ntrain = ntrain;
    rc = 0;
done:
    if (nc >= 0) nc_close(nc);
    if (rc < 0) nd_pca_basis_free(b);
    return rc;
}
