/* The warper behind nd_read_warped (read.h): its per-thread handle cache and helpers for map services. */
#ifndef NADIR_WARP_H
#define NADIR_WARP_H

#include <stdbool.h>
#include <stddef.h>

#include "nadir/read.h"

/* nd_read_warped for several variables stored as bands of one file (an RGB composite): one warp, one read of
 * the source window. vars share time/z; outs[k] receives vars[k]. */
int nd_read_warped_bands(const nd_dataset *ds, const nd_variable *const *vars, int nvars, size_t time_index,
                         size_t z_index, const nd_grid *dst, nd_resampling rs, float *const *outs, nd_error *err);
/* Closes the GDAL handles this thread keeps open (they are closed at thread exit anyway). */
void nd_warp_cache_clear(void);
/* How many sources this thread holds open. */
size_t nd_warp_cache_size(void);
/* True when GDAL/PROJ understand crs ("EPSG:3857", WKT...); parsed once per thread. */
bool nd_warp_crs_valid(const char *crs);
/* 0 when crs is understood; *northing_first when its authority orders the axes lat/lon or northing/easting
 * (WMS 1.3.0 BBOX follows that order). */
int nd_warp_crs_axes(const char *crs, bool *northing_first);
/* Approximate min, max, mean, standard deviation of the physical values of one slice. */
int nd_read_stats(const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index, double out[4],
                  nd_error *err);
/* gdalwarp's -r name of a resampling. */
const char *nd_warp_resampling_name(nd_resampling rs);

#endif
