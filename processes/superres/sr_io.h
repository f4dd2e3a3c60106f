/* GDAL side of the super-resolution process: the input window a region selects, and the GeoTIFF
 * written at the new resolution over exactly the same extent. */
#ifndef ND_SR_IO_H
#define ND_SR_IO_H

#include <jansson.h>

#include "nadir/dataset.h"
#include "nadir/error.h"
#include "nadir/read.h"

/* The pixel window [x0, x1) x [y0, y1) of ds that covers box ({"bbox": [4], "crs": ...}, NULL: all of
 * ds), rounded outwards to whole pixels and clipped to the raster. Refuses rotated grids and boxes that
 * miss the raster. */
int nd_sr_window(const nd_dataset *ds, const json_t *box, int win[4], nd_error *err);

/* Writes dir/name: a float32 GeoTIFF of nb bands (band-sequential data, h x w) on grid g (g.width and
 * g.height must equal w and h), NaN as no data, band descriptions from names. When out_w/out_h differ
 * from w/h the data are first resampled (cubic) onto that many pixels over the same extent. */
int nd_sr_write(const char *dir, const char *name, const nd_grid *g, const float *data, int nb, int w, int h,
                int out_w, int out_h, const char *const *names, nd_error *err);

#endif
