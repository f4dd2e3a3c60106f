/* Datasets: what a configured source holds (variables, grid, CRS, extents, time and vertical axes),
 * read from the data itself. Immutable once opened; shared by every service. */
#ifndef NADIR_DATASET_H
#define NADIR_DATASET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nadir/cftime.h"
#include "nadir/config.h"

typedef enum { ND_DS_RASTER, ND_DS_NETCDF, ND_DS_VECTOR } nd_ds_kind;

/* The time axis, joined across files for aggregations. */
typedef struct nd_time_axis {
    char *name;              /* dimension/variable name, e.g. "time" */
    size_t n;
    double *values;          /* in `units`, ascending */
    char *units;             /* original CF units string, e.g. "days since 1970-01-01" */
    nd_time_units tu;
    nd_datetime *dates;      /* decoded, n of them */
    uint32_t *file_index;    /* which file of nd_dataset.files holds step i */
    uint32_t *local_index;   /* index of step i inside that file */
} nd_time_axis;

typedef struct nd_vertical_axis {
    char *name;              /* e.g. "depth", "lev", "height" */
    size_t n;
    double *values;
    char *units;
    bool positive_down;      /* CF positive="down" or pressure units */
} nd_vertical_axis;

typedef struct nd_variable {
    char *name;
    char *long_name, *standard_name, *units; /* NULL when absent */
    int nc_type;             /* netCDF type (NC_FLOAT...) for NetCDF; 0 for rasters */
    int gdal_type;           /* GDALDataType of the band for rasters; 0 for NetCDF */
    int band;                /* 1-based GDAL band for rasters; 0 for NetCDF */
    int ndims;
    char **dims;             /* dimension names, outermost first */
    size_t *shape;           /* joined shape (time dimension summed over files) */
    bool has_fill;
    double fill;             /* _FillValue, else missing_value, else GDAL nodata */
    double scale, offset;    /* scale_factor (1) and add_offset (0) */
    bool has_time, has_vertical; /* spans the dataset's time / vertical axis */
} nd_variable;

typedef struct nd_dataset {
    const nd_dataset_conf *conf;
    const char *id;          /* == conf->id */
    nd_ds_kind kind;
    char **files;            /* absolute paths, sorted by first time value */
    size_t nfiles;

    /* Horizontal grid */
    size_t width, height;    /* x and y sizes */
    double geotransform[6];  /* GDAL convention, pixel corners */
    char *crs_wkt;           /* WKT2 of the native CRS */
    int epsg;                /* 0 when the CRS has no EPSG code */
    char *x_name, *y_name;   /* coordinate/dimension names ("lon"/"lat", "x"/"y") */
    char *x_dim, *y_dim;     /* the dimensions they index (== x_name/y_name for CF coordinate variables) */
    double *x_values;        /* cell centres as stored, width of them; longitudes that wrap at 0/360 are
                              * unwrapped to increase (NULL for rotated rasters) */
    double *y_values;        /* cell centres as stored, height of them (NULL for rotated rasters) */
    bool y_ascending;        /* y stored south-to-north (row 0 is the southernmost): flip when reading */
    bool regular;            /* spacing uniform (1e-6 relative); else geotransform is the mean step */
    double bbox[4];          /* native: minx, miny, maxx, maxy (outer cell edges) */
    double wgs84[4];         /* lon/lat: west, south, east, north; west > east when crossing 180° */

    nd_time_axis *time;      /* NULL when none */
    nd_vertical_axis *vertical; /* NULL when none */

    nd_variable *vars;
    size_t nvars;
    bool withdrawn;          /* set once by nd_registry_withdraw, read through nd_dataset_live */
    nd_dataset_conf *own_conf; /* the configuration it owns (nd_dataset_open_file), else NULL */
    struct nd_vector *vector; /* ND_DS_VECTOR (no vars): the OGR layers, nadir/vector.h; NULL otherwise */
} nd_dataset;

/* Opens the source, reads every extent from the data. On error err names the file and the cause.
 * conf must outlive the dataset. A relative source is taken as is (relative to the working directory). */
int nd_dataset_open(const nd_dataset_conf *conf, nd_dataset **out, char *err, size_t errlen);
/* Same, resolving a relative source (file or glob) against dir (the configuration's directory). */
int nd_dataset_open_in(const nd_dataset_conf *conf, const char *dir, nd_dataset **out, char *err,
                       size_t errlen);
/* A file as a dataset that owns its configuration (job outputs): id, title and abstract as given. */
int nd_dataset_open_file(const char *id, const char *title, const char *abstract, const char *path, nd_dataset **out,
                         char *err, size_t errlen);
void nd_dataset_free(nd_dataset *ds);
const nd_variable *nd_dataset_var(const nd_dataset *ds, const char *name);

/* The datasets of a running server: the configured ones, opened at start-up (the server never starts
 * half-configured), then the outputs of jobs, published while it runs. Slots are only ever appended, and a
 * dataset stays in memory until the registry is freed, so readers iterate items[0..n) without a lock: a
 * writer fills the slot before it publishes the new n. Withdrawn datasets (dismissed jobs) stay in their
 * slot but nd_registry_get no longer finds them and listings skip them (nd_dataset_live). */
typedef struct nd_registry {
    nd_dataset **items;
    size_t n;                /* filled slots; grows while serving (read it once per loop) */
    size_t cap;
    unsigned generation;     /* changes with every publish and withdrawal: cached listings compare it */
    struct nd_registry_lock *lock; /* serialises publishers */
} nd_registry;

/* Opens every dataset of cfg (relative sources against cfg->dir); on the first failure frees what was
 * opened and returns negative with "dataset 'ID' (FILE:LINE): cause". cfg must outlive the registry.
 * Room is kept for `published` datasets added later by nd_registry_publish. */
int nd_registry_open(const nd_config *cfg, nd_registry **out, char *err, size_t errlen);
void nd_registry_free(nd_registry *r);
const nd_dataset *nd_registry_get(const nd_registry *r, const char *id);
/* Opens the file at path as dataset id (title and abstract as given) and appends it; thread-safe. An id
 * already live is refused; a withdrawn one is replaced by a new slot. */
int nd_registry_publish(nd_registry *r, const char *id, const char *title, const char *abstract, const char *path,
                        const nd_dataset **out, char *err, size_t errlen);
/* The dataset is no longer found or listed; its memory stays until nd_registry_free (requests in flight). */
void nd_registry_withdraw(nd_registry *r, const char *id);
unsigned nd_registry_generation(const nd_registry *r);
/* False once withdrawn. */
bool nd_dataset_live(const nd_dataset *ds);

/* ---- Shared by the loaders inside server/data (dataset.c, netcdf.c, raster.c, aggregate.c) ---- */

/* Fill a zeroed ds (conf/id set) from one file or a glob; err gets "NAME: cause". */
int nd_dataset_load_netcdf(nd_dataset *ds, const char *path, char *err, size_t errlen);
int nd_dataset_load_raster(nd_dataset *ds, const char *path, char *err, size_t errlen);
int nd_dataset_load_glob(nd_dataset *ds, const char *pattern, char *err, size_t errlen);
/* Sets crs_wkt (WKT2), epsg and wgs84 from a WKT string or "EPSG:n"; needs ds->bbox. */
int nd_dataset_set_crs(nd_dataset *ds, const char *crs, char *err, size_t errlen);
/* True for a .nc/.nc4/.cdf/.netcdf name or a file starting with the CDF or HDF5 signature. */
bool nd_dataset_is_netcdf(const char *path);
/* GDALAllRegister once per process. */
void nd_gdal_init(void);
/* A CRS from anything OSRSetFromUserInput takes (EPSG:n, WKT, PROJ), NULL meaning WGS 84, with x = easting or
 * longitude whatever the authority's axis order; NULL when it is not a CRS. Free with OSRDestroySpatialReference. */
struct OGRSpatialReferenceHS *nd_srs_new(const char *def);
/* The part of a path after its last '/', for messages. */
const char *nd_path_base(const char *path);
void nd_variable_clear(nd_variable *v);
void nd_time_axis_free(nd_time_axis *t);

#endif
