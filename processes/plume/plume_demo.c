/* The demo trace-gas maps that `nadir demo-data` writes for plume-detection: five daily NO2-like maps on a
 * 0.01 degree grid with six point sources of known rate, a different uniform wind each day, retrieval
 * noise and cloud gaps (qa_value 0.2), plus the truth as CSV. */
#include <errno.h>
#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plume_process.h"
#include "plume_synth.h"

#define NX 300
#define NY 260
#define NDAYS 5
#define LON0 5.0
#define LAT1 47.6
#define STEP 0.01

#define NC(call)                                                                                                  \
    do {                                                                                                          \
        int _s = (call);                                                                                          \
        if (_s != NC_NOERR) {                                                                                     \
            snprintf(err, errlen, "plume demo: %s", nc_strerror(_s));                                            \
            goto done;                                                                                            \
        }                                                                                                         \
    } while (0)
#define ATT(var, name, text) NC(nc_put_att_text(nc, var, name, strlen(text), text))

static const nd_plume_truth truth[6] = {{50, 50, 15}, {150, 50, 9}, {250, 50, 22.5}, {100, 137, 12}, {200, 137, 30},
                                        {150, 224, 18}};

int nd_plume_demo_write(const char *dir, char *err, size_t errlen) {
    char sub[4096], path[4200];
    snprintf(sub, sizeof sub, "%s/plume", dir);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "plume demo: the directory could not be created");
        return -1;
    }
    double latc = LAT1 - STEP * NY / 2;
    nd_plume_scene sc = {.nx = NX, .ny = NY, .dx = 6371008.8 * cos(latc * M_PI / 180) * STEP * M_PI / 180,
                         .dy = 6371008.8 * STEP * M_PI / 180, .bg0 = 0.03, .gx = 2e-6, .gy = -1e-6, .wave = 1e-4,
                         .noise = 1e-4, .gap_fraction = 0.1, .sigma0 = 600, .growth = 0.06};
    size_t n = (size_t)NX * NY;
    double *om = malloc(n * sizeof *om);
    float *no2 = malloc(NDAYS * n * sizeof *no2), *qa = malloc(NDAYS * n * sizeof *qa),
          *u = malloc(NDAYS * n * sizeof *u), *v = malloc(NDAYS * n * sizeof *v);
    int rc = -1, nc = -1;
    for (int d = 0; d < NDAYS; d++) {
        double ang = (30 + 60.0 * d) * M_PI / 180, sp = 4 + d % 3, up = sp * cos(ang), vp = sp * sin(ang);
        nd_plume_synth_map(&sc, truth, 6, up, vp, 500 + d, om, NULL);
        for (size_t i = 0; i < n; i++) {
            size_t k = (size_t)d * n + i;
            /* a cloudy pixel keeps a value, as retrievals do, but its quality is low */
            no2[k] = (float)(isnan(om[i]) ? sc.bg0 : om[i]);
            qa[k] = isnan(om[i]) ? 0.2f : 1.0f;
            u[k] = (float)up;
            v[k] = (float)-vp; /* rows run southward, the file's v is northward */
        }
    }
    snprintf(path, sizeof path, "%s/no2_demo.nc", sub);
    int dims[3], vt, vx, vy, vn, vq, vu, vv;
    NC(nc_create(path, NC_NETCDF4 | NC_CLOBBER, &nc));
    NC(nc_def_dim(nc, "time", NDAYS, &dims[0]));
    NC(nc_def_dim(nc, "lat", NY, &dims[1]));
    NC(nc_def_dim(nc, "lon", NX, &dims[2]));
    NC(nc_def_var(nc, "time", NC_DOUBLE, 1, dims, &vt));
    ATT(vt, "units", "days since 2025-06-01 13:30:00");
    ATT(vt, "calendar", "standard");
    ATT(vt, "standard_name", "time");
    NC(nc_def_var(nc, "lat", NC_DOUBLE, 1, &dims[1], &vy));
    ATT(vy, "units", "degrees_north");
    ATT(vy, "standard_name", "latitude");
    NC(nc_def_var(nc, "lon", NC_DOUBLE, 1, &dims[2], &vx));
    ATT(vx, "units", "degrees_east");
    ATT(vx, "standard_name", "longitude");
    NC(nc_def_var(nc, "no2", NC_FLOAT, 3, dims, &vn));
    ATT(vn, "units", "mol m-2");
    ATT(vn, "long_name", "tropospheric NO2 column (synthetic)");
    NC(nc_def_var(nc, "qa_value", NC_FLOAT, 3, dims, &vq));
    ATT(vq, "units", "1");
    NC(nc_def_var(nc, "u", NC_FLOAT, 3, dims, &vu));
    ATT(vu, "units", "m s-1");
    ATT(vu, "standard_name", "eastward_wind");
    NC(nc_def_var(nc, "v", NC_FLOAT, 3, dims, &vv));
    ATT(vv, "units", "m s-1");
    ATT(vv, "standard_name", "northward_wind");
    ATT(NC_GLOBAL, "Conventions", "CF-1.8");
    ATT(NC_GLOBAL, "title", "synthetic NO2 plumes (nadir demo data)");
    NC(nc_enddef(nc));
    double t[NDAYS], lat[NY], lon[NX];
    for (int d = 0; d < NDAYS; d++) t[d] = d;
    for (int j = 0; j < NY; j++) lat[j] = LAT1 - (j + 0.5) * STEP;
    for (int i = 0; i < NX; i++) lon[i] = LON0 + (i + 0.5) * STEP;
    NC(nc_put_var_double(nc, vt, t));
    NC(nc_put_var_double(nc, vy, lat));
    NC(nc_put_var_double(nc, vx, lon));
    NC(nc_put_var_float(nc, vn, no2));
    NC(nc_put_var_float(nc, vq, qa));
    NC(nc_put_var_float(nc, vu, u));
    NC(nc_put_var_float(nc, vv, v));
    rc = 0;
done:
    if (nc >= 0 && nc_close(nc) != NC_NOERR && rc == 0) rc = -1, snprintf(err, errlen, "plume demo: closing failed");
    if (rc == 0) {
        snprintf(path, sizeof path, "%s/sources_truth.csv", sub);
        FILE *f = fopen(path, "w");
        if (!f) {
            rc = -1;
            snprintf(err, errlen, "plume demo: the truth could not be written");
        } else {
            fprintf(f, "lon,lat,emission_mol_s\n");
            for (int k = 0; k < 6; k++)
                fprintf(f, "%.4f,%.4f,%g\n", LON0 + (truth[k].col + 0.5) * STEP, LAT1 - (truth[k].row + 0.5) * STEP,
                        truth[k].q);
            if (fclose(f) != 0) rc = -1;
        }
    }
    free(om);
    free(no2);
    free(qa);
    free(u);
    free(v);
    return rc;
}
