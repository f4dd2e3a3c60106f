/* Reading values out of datasets: raw hyperslabs in the stored type (OPeNDAP, NetCDF output) and
 * windows resampled onto a target grid (maps, tiles, coverages). data/ knows no HTTP. */
#ifndef NADIR_READ_H
#define NADIR_READ_H

#include <stddef.h>
#include <stdint.h>

#include "nadir/dataset.h"
#include "nadir/error.h"

/* Raw values of v over start/count/stride (one entry per dimension of v, outermost first, in the
 * joined index space of an aggregation), in the variable's stored type, packed C order into out.
 * Implemented in data/hyperslab.c. */
int nd_read_hyperslab(const nd_dataset *ds, const nd_variable *v, const size_t *start, const size_t *count,
                      const ptrdiff_t *stride, void *out, nd_error *err);
/* Bytes per value of the stored type (netCDF or GDAL type of v). */
size_t nd_var_type_size(const nd_variable *v);

typedef enum { ND_RESAMPLE_NEAREST, ND_RESAMPLE_BILINEAR, ND_RESAMPLE_CUBIC, ND_RESAMPLE_AVERAGE } nd_resampling;

/* A target grid: size, GDAL geotransform, CRS as anything OSRSetFromUserInput takes (EPSG:3857, WKT). */
typedef struct nd_grid {
    int width, height;
    double gt[6];
    const char *crs;
} nd_grid;

/* Physical values (scale/offset applied) of v at one time and vertical index, warped onto dst;
 * NaN where there is no data. Implemented in data/warp.c. */
int nd_read_warped(const nd_dataset *ds, const nd_variable *v, size_t time_index, size_t z_index,
                   const nd_grid *dst, nd_resampling rs, float *out, nd_error *err);

#endif
