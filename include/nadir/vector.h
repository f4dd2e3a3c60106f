/* Vector datasets (anything OGR reads: Shapefile, GeoPackage, GeoJSON): the layers a source holds, their
 * features projected onto a map grid for drawing, and the features under a point for GetFeatureInfo.
 * Implemented in data/vector.c; data/ knows no Cairo and no HTTP. */
#ifndef NADIR_VECTOR_H
#define NADIR_VECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "nadir/arena.h"
#include "nadir/dataset.h"
#include "nadir/error.h"
#include "nadir/read.h"

typedef enum { ND_GEOM_MIXED = 0, ND_GEOM_POINT = 1, ND_GEOM_LINE = 2, ND_GEOM_POLYGON = 3 } nd_geom_kind;

typedef struct nd_vector_layer {
    char *name;              /* the OGR layer name: the WMS layer is "dataset/name" */
    nd_geom_kind geom;
    char **fields;           /* attribute names, in the source's order */
    size_t nfields;
    long long nfeatures;
    double bbox[4];          /* in the dataset's CRS */
} nd_vector_layer;

/* What a vector dataset holds besides the common extents (nd_dataset.vector). */
typedef struct nd_vector {
    char *path;
    nd_vector_layer *layers;
    size_t nlayers;
} nd_vector;

/* True when path is a file OGR opens as vector data and GDAL not as a raster. */
bool nd_dataset_is_vector(const char *path);
/* Fills a zeroed ds (conf/id set): kind ND_DS_VECTOR, files, CRS, bbox and wgs84 over all layers. */
int nd_dataset_load_vector(nd_dataset *ds, const char *path, char *err, size_t errlen);
void nd_vector_free(nd_vector *v);
const nd_vector_layer *nd_vector_layer_find(const nd_dataset *ds, const char *name, size_t *index);

/* Features of one layer inside a map grid, in that grid's pixel coordinates (x right, y down). */
typedef struct nd_shape {
    nd_geom_kind kind;       /* point, line or polygon (a multi-geometry is one shape of several parts) */
    size_t first_part, nparts; /* into nd_shapes.part_start */
    const char *label;       /* the label field's text, or NULL */
    double lx, ly;           /* where the label goes: a point on the surface */
} nd_shape;

typedef struct nd_shapes {
    nd_shape *shapes;
    size_t nshapes;
    size_t *part_start;      /* nparts + 1 offsets into xy (in points) */
    size_t nparts;
    double *xy;              /* x, y pairs */
    size_t npoints;
} nd_shapes;

/* The features of layer `layer` that touch grid g, projected into its pixel space (clipped to the window first
 * only when the map's CRS cannot hold them whole); label_field (NULL for none) gives each shape its label.
 * Memory from arena. */
int nd_vector_shapes(const nd_dataset *ds, size_t layer, const nd_grid *g, const char *label_field, nd_arena *arena,
                     nd_shapes *out, nd_error *err);

/* One feature's attributes, as text. */
typedef struct nd_feature_info {
    long long fid;
    size_t n;
    const char **names, **values; /* values[i] NULL when the field is unset */
} nd_feature_info;

/* The features of layer `layer` at (x, y) in crs: polygons containing the point, points and lines within tol
 * (in crs units) of it; at most max of them. Memory from arena. */
int nd_vector_query(const nd_dataset *ds, size_t layer, const char *crs, double x, double y, double tol, size_t max,
                    nd_arena *arena, nd_feature_info **out, size_t *n, nd_error *err);

#endif
