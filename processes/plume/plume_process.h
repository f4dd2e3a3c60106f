/* The plume-detection process and the output writers its adapter uses. */
#ifndef NADIR_PROCESSES_PLUME_PROCESS_H
#define NADIR_PROCESSES_PLUME_PROCESS_H

#include <jansson.h>

#include "nadir/dataset.h"
#include "nadir/process.h"
#include "nadir/read.h"
#include "plume.h"

extern const nd_process nd_process_plume_detection;

/* Runs the kernel over time steps [t0, t0 + nt) of ds on grid g and writes every output into env->dir. */
int nd_plume_run_days(const nd_grid *g, const nd_dataset *ds, const nd_variable *vo, const nd_variable *vq, double qa_min,
                      const nd_dataset *wds, const nd_variable *vu, const nd_variable *vv, size_t t0, size_t nt,
                      double dx, double dy, int window, double radius, nd_kernel_env *env, json_t *out, nd_error *err);

/* maps.nc, written one day at a time. */
typedef struct nd_plume_nc {
    int nc, flag, source, nsources, contribution, distance;
    size_t nx, ny;
} nd_plume_nc;
int nd_plume_nc_open(nd_plume_nc *w, const char *path, const nd_grid *g, const nd_dataset *ds, size_t t0, size_t nt,
                     nd_error *err);
int nd_plume_nc_put_day(nd_plume_nc *w, size_t t, const unsigned char *flag, const int *source,
                        const unsigned char *nsources, const float *contribution, const float *distance, nd_error *err);
int nd_plume_nc_close(nd_plume_nc *w, nd_error *err);

/* sources.geojson and sources.csv: the persistent sources with position, emission, uncertainty, wind and
 * number of detections. */
int nd_plume_write_sources(nd_kernel_env *env, const nd_grid *g, const nd_plume_source *src, size_t nsrc,
                           const nd_plume_cluster *cl, size_t ncl, double dx, double dy, nd_error *err);
/* quicklook.png: plume pixels of any day, gaps, and the persistent sources. */
int nd_plume_quicklook(nd_kernel_env *env, const unsigned char *maxflag, int nx, int ny, const nd_plume_cluster *cl,
                       size_t ncl, nd_error *err);

/* The demo trace-gas maps (dir/plume/no2_demo.nc, five days, six sources of known rate, winds that change
 * per day, noise and cloud gaps) and their truth (dir/plume/sources_truth.csv). */
int nd_plume_demo_write(const char *dir, char *err, size_t errlen);

/* An a-priori source list (input 'apriori'): known sources by name and position. */
typedef struct nd_plume_apriori {
    struct { char name[64]; double lon, lat; } *src;
    size_t n;
} nd_plume_apriori;
/* Parses a GeoJSON FeatureCollection of points (name from properties.name) or CSV text name,lon,lat. */
int nd_plume_apriori_parse(const json_t *value, nd_plume_apriori *a, nd_error *err);
int nd_plume_apriori_add(nd_plume_apriori *a, const char *name, double lon, double lat, nd_error *err);
void nd_plume_apriori_free(nd_plume_apriori *a);
/* Finds each a-priori source among env->dir/sources.geojson (nearest within radius_m), labels the detected
 * sources ('apriori' property) and adds 'apriori' (per known source: found, source, distance_m, emission,
 * emission_uncertainty, detections) and 'apriori_found' to summary. */
int nd_plume_apriori_match(nd_kernel_env *env, const nd_plume_apriori *a, double radius_m, json_t *summary,
                           nd_error *err);

#endif
