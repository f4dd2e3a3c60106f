/* The warper behind nd_read_warped (read.h): its per-thread handle cache and helpers for map services. */
#ifndef NADIR_WARP_H
#define NADIR_WARP_H

#include <stdbool.h>
#include <stddef.h>

#include "nadir/read.h"

/* Closes the GDAL handles this thread keeps open (they are closed at thread exit anyway). */
void nd_warp_cache_clear(void);
/* How many sources this thread holds open. */
size_t nd_warp_cache_size(void);
/* True when GDAL/PROJ understand crs ("EPSG:3857", WKT...); parsed once per thread. */
bool nd_warp_crs_valid(const char *crs);
/* gdalwarp's -r name of a resampling. */
const char *nd_warp_resampling_name(nd_resampling rs);

#endif
