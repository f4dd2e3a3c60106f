/* Subsets written as CF NetCDF-4 with netCDF-C (being written). */
#include "nadir/subset.h"

int nd_subset_write_netcdf(nd_subset *s, const nd_subset_plan *p, const char *path, nd_error *err) {
    (void)s, (void)p, (void)path;
    return nd_fail(err, ND_E_NOT_IMPLEMENTED, "format", "application/netcdf is not available yet");
}
