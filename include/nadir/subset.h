/* Cutting a window of one or more variables of a dataset (trims and slices on every axis, optionally
 * reprojected or scaled) and writing it as GeoTIFF/COG/PNG (through GDAL) or CF NetCDF-4 (netCDF-C).
 * Knows no HTTP: WCS and the `subset` process share it. */
#ifndef NADIR_SUBSET_H
#define NADIR_SUBSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nadir/dataset.h"
#include "nadir/error.h"
#include "nadir/read.h"

typedef enum { ND_OUT_GTIFF, ND_OUT_COG, ND_OUT_NETCDF, ND_OUT_PNG } nd_out_format;

#define ND_SUBSET_MAX_VARS 64

typedef struct nd_subset {
    const nd_dataset *ds;
    const nd_variable *vars[ND_SUBSET_MAX_VARS]; /* range components in output order; 0 of them: all */
    size_t nvars;
    size_t t0, nt;            /* time steps [t0, t0+nt); nt == 0 means all (or no time axis) */
    size_t z0, nz;            /* vertical levels, same convention */
    /* Horizontal window: x/y order (easting/longitude first) in window_crs (NULL: native CRS). A slice
     * sets lo == hi on that axis and selects the one cell holding the point. */
    bool has_x, has_y;
    double xlo, xhi, ylo, yhi;
    const char *window_crs;   /* anything OSRSetFromUserInput reads; NULL = native */
    const char *out_crs;      /* NULL = native: no reprojection */
    int width, height;        /* output size (0: from the native resolution, or the scale factors) */
    double scale_x, scale_y;  /* > 0: output size = window size / factor (0: none) */
    nd_resampling resampling; /* for scaling/reprojection */
    nd_out_format format;
    long long max_bytes;      /* refuse outputs estimated larger than this (0: no limit) */
} nd_subset;

/* What a subset resolves to before any data is touched. */
typedef struct nd_subset_plan {
    int xoff, yoff, xsize, ysize; /* native pixel window (north-up grid) */
    double ulx, uly, lrx, lry;    /* its corners in the native CRS (gdal_translate -projwin) */
    int out_w, out_h;             /* output raster size */
    bool warp;                    /* reprojection (GDALWarp) instead of a window copy (GDALTranslate) */
    double te[4];                 /* warp target extent in out_crs: minx miny maxx maxy */
    size_t nbands;                /* variables x time steps x levels */
    int gdal_type;                /* GDALDataType of the output bands */
    uint64_t bytes;               /* uncompressed size estimate */
} nd_subset_plan;

/* Resolves windows, checks every parameter and the size limit. ND_E_INVALID_SUBSETTING for windows
 * outside the extent or inverted, ND_E_INVALID_CRS / OUTPUT_CRS... for CRSs, ND_E_TOO_LARGE over the limit. */
int nd_subset_plan_make(nd_subset *s, nd_subset_plan *p, nd_error *err);
/* Writes the subset to path (a new file; removed again on failure), block by block. */
int nd_subset_write(nd_subset *s, const char *path, nd_error *err);

/* ---- Shared inside server/data (subset.c, subset_gdal.c, subset_nc.c) ---- */
int nd_subset_write_gdal(nd_subset *s, const nd_subset_plan *p, const char *path, nd_error *err);
int nd_subset_write_netcdf(nd_subset *s, const nd_subset_plan *p, const char *path, nd_error *err);
/* Bands written for variable v: its time steps times its levels. */
size_t nd_subset_steps(const nd_subset *s, const nd_variable *v, size_t *nt, size_t *nz);

/* Index of the time step at or nearest to date (within the axis extent), or -1. */
long nd_subset_time_index(const nd_dataset *ds, const nd_datetime *date);
/* Time steps within [lo, hi]: first index and count (0 when none). */
size_t nd_subset_time_range(const nd_dataset *ds, const nd_datetime *lo, const nd_datetime *hi, size_t *first);

#endif
