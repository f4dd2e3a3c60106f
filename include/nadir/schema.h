/* The whole structure of a dataset in the netCDF data model (dimensions, every variable of every atomic type,
 * attributes), as OPeNDAP and NetCDF output publish it; raster datasets get x/y/time coordinates and a CRS
 * variable. Built on demand from the data, owned by the caller. */
#ifndef NADIR_SCHEMA_H
#define NADIR_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "nadir/dataset.h"
#include "nadir/error.h"

typedef struct nd_attr {
    char *name;
    int type;      /* NC_BYTE..NC_STRING */
    size_t len;    /* values; for NC_CHAR the text length */
    void *data;    /* packed values; NC_CHAR: NUL-terminated text; NC_STRING: char *[len] */
} nd_attr;

typedef struct nd_dim {
    char *name;
    size_t len;
    bool unlimited;
    int group;     /* index into nd_schema.groups, -1: the root group */
} nd_dim;

/* A netCDF-4 group below the root (DAP4 publishes them; DAP2 has no groups and shows the root only). */
typedef struct nd_group {
    char *name;
    char *path;    /* fully qualified: "/g1/g2" */
    int parent;    /* -1: the root */
    nd_attr *attrs;
    size_t nattrs;
} nd_group;

typedef struct nd_svar {
    nd_variable v;        /* name, dims, shape (joined), nc_type or band: what nd_read_hyperslab reads */
    int type;             /* the type published (NC_BYTE..NC_STRING) */
    int *dimids;          /* into nd_schema.dims */
    nd_attr *attrs;
    size_t nattrs;
    double *values;       /* synthetic 1-D coordinates (NC_DOUBLE), or NULL: read from the data */
    bool constant;        /* a scalar with no data (the CRS container variable): reads as zero */
    bool is_coord;        /* 1-D and named like its dimension */
    int group;            /* index into nd_schema.groups, -1: the root group */
    char *path;           /* fully qualified name ("/g1/v") for variables in groups, NULL at the root */
} nd_svar;

typedef struct nd_schema {
    nd_dim *dims;
    size_t ndims;
    nd_svar *vars;
    size_t nvars;
    nd_attr *gattrs;
    size_t ngattrs;
    nd_group *groups;     /* parents before children; variables and dimensions are in the same order */
    size_t ngroups;
} nd_schema;

int nd_schema_build(const nd_dataset *ds, nd_schema **out, nd_error *err);
void nd_schema_free(nd_schema *s);
/* A root-group variable by name, or any variable by its fully qualified name ("/v", "/g1/v"). */
const nd_svar *nd_schema_var(const nd_schema *s, const char *name);
const nd_attr *nd_schema_attr(const nd_attr *attrs, size_t n, const char *name);
/* Values of sv over the window, packed in sv->type (strings: malloc'd pointers, free with nd_schema_free_strings). */
int nd_schema_read(const nd_dataset *ds, const nd_svar *sv, const size_t *start, const size_t *count,
                   const ptrdiff_t *stride, void *out, nd_error *err);
void nd_schema_free_strings(char **s, size_t n);
/* Bytes per value of a netCDF atomic type (NC_STRING: a pointer), 0 for others. */
size_t nd_nc_type_size(int type);

/* netCDF-C is not thread-safe: every netCDF call made while serving goes between these. */
void nd_nc_lock(void);
void nd_nc_unlock(void);

#endif
