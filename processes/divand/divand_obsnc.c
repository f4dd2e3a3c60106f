/* Observation tables as CF NetCDF point files (featureType point: obslon, obslat, obsdepth, obstime
 * and the value along one observation dimension), with netCDF-C. */
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "divand_obs.h"

#define NC_TRY(call, what)                                                                                            \
    do {                                                                                                              \
        int _s = (call);                                                                                              \
        if (_s != NC_NOERR) {                                                                                         \
            snprintf(err, errlen, "%s: %s", what, nc_strerror(_s));                                                   \
            goto fail;                                                                                                \
        }                                                                                                             \
    } while (0)

int nd_dv_write_netcdf(const char *path, const nd_dv_table *t, const char *name, const char *units, char *err,
                       size_t errlen) {
    int nc = -1, dim, v[5];
    NC_TRY(nc_create(path, NC_CLOBBER | NC_NETCDF4, &nc), "NetCDF create");
    NC_TRY(nc_def_dim(nc, "observations", t->n, &dim), "NetCDF");
    const char *names[5] = {"obslon", "obslat", "obsdepth", "obstime", name};
    const char *std[5] = {"longitude", "latitude", "depth", "time", NULL};
    const char *un[5] = {"degrees_east", "degrees_north", "m", "days since 1970-01-01 00:00:00", units};
    for (int k = 0; k < 5; k++) {
        NC_TRY(nc_def_var(nc, names[k], NC_DOUBLE, 1, &dim, &v[k]), "NetCDF");
        if (std[k]) NC_TRY(nc_put_att_text(nc, v[k], "standard_name", strlen(std[k]), std[k]), "NetCDF");
        NC_TRY(nc_put_att_text(nc, v[k], "units", strlen(un[k]), un[k]), "NetCDF");
    }
    NC_TRY(nc_put_att_text(nc, v[2], "positive", 4, "down"), "NetCDF");
    NC_TRY(nc_put_att_text(nc, v[4], "coordinates", 31, "obstime obsdepth obslat obslon"), "NetCDF");
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "featureType", 5, "point"), "NetCDF");
    NC_TRY(nc_put_att_text(nc, NC_GLOBAL, "Conventions", 6, "CF-1.8"), "NetCDF");
    NC_TRY(nc_enddef(nc), "NetCDF");
    const double *data[5] = {t->lon, t->lat, t->depth, t->time, t->value};
    for (int k = 0; k < 5 && t->n; k++) NC_TRY(nc_put_var_double(nc, v[k], data[k]), "NetCDF write");
    NC_TRY(nc_close(nc), "NetCDF close");
    return 0;
fail:
    if (nc >= 0) nc_close(nc);
    return -1;
}

int nd_dv_read_netcdf(const char *path, const char *parameter, size_t max_rows, nd_dv_table *t, char *err,
                      size_t errlen) {
    int nc = -1, v[5], dim;
    size_t n;
    double *buf[5] = {0};
    NC_TRY(nc_open(path, NC_NOWRITE, &nc), "NetCDF open");
    const char *names[4] = {"obslon", "obslat", "obsdepth", "obstime"};
    for (int k = 0; k < 4; k++) NC_TRY(nc_inq_varid(nc, names[k], &v[k]), names[k]);
    if (parameter && *parameter) NC_TRY(nc_inq_varid(nc, parameter, &v[4]), "the value variable");
    else {
        int nv;
        NC_TRY(nc_inq_nvars(nc, &nv), "NetCDF");
        v[4] = -1;
        for (int i = 0; i < nv && v[4] < 0; i++) {
            char nm[NC_MAX_NAME + 1];
            NC_TRY(nc_inq_varname(nc, i, nm), "NetCDF");
            if (strncmp(nm, "obs", 3) != 0) v[4] = i;
        }
        if (v[4] < 0) {
            snprintf(err, errlen, "no value variable beside obslon/obslat/obsdepth/obstime");
            goto fail;
        }
    }
    NC_TRY(nc_inq_vardimid(nc, v[0], &dim), "NetCDF");
    NC_TRY(nc_inq_dimlen(nc, dim, &n), "NetCDF");
    if (n > max_rows) {
        snprintf(err, errlen, "more than %zu observations", max_rows);
        goto fail;
    }
    char vname[NC_MAX_NAME + 1];
    NC_TRY(nc_inq_varname(nc, v[4], vname), "NetCDF");
    snprintf(t->parameter, sizeof t->parameter, "%.127s", vname);
    for (int k = 0; k < 5; k++) {
        buf[k] = malloc((n ? n : 1) * sizeof(double));
        if (!buf[k]) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        if (n) NC_TRY(nc_get_var_double(nc, v[k], buf[k]), "NetCDF read");
    }
    for (size_t i = 0; i < n; i++)
        if (nd_dv_table_add(t, buf[0][i], buf[1][i], buf[2][i], buf[3][i], buf[4][i]) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    for (int k = 0; k < 5; k++) free(buf[k]);
    nc_close(nc);
    return 0;
fail:
    for (int k = 0; k < 5; k++) free(buf[k]);
    if (nc >= 0) nc_close(nc);
    return -1;
}
