/* GDAL/OGR side of the land-use process: sample polygons in, class raster, objects and metrics out. */
#ifndef NADIR_LU_IO_H
#define NADIR_LU_IO_H

#include <jansson.h>

#include "landuse.h"
#include "nadir/error.h"
#include "nadir/read.h"

/* Samples rasterised onto grid: per pixel the sample feature index or -1; per feature its class index
 * (classes sorted by name into *names, *nclasses) ; points label the pixel they fall in. */
typedef struct nd_lu_samples {
    int *poly;            /* width*height */
    int nfeat;
    int *feat_class;      /* per feature, -1 when its geometry was unusable */
    char **names;
    int nclasses;
    size_t skipped;       /* features without a usable geometry or class */
    size_t npoints;       /* point samples: the pixel each falls in and its feature */
    size_t *point_pix;
    int *point_feat;
} nd_lu_samples;

int nd_lu_samples_read(const json_t *value, const char *class_field, const nd_grid *grid, nd_lu_samples *s,
                       nd_error *err);
void nd_lu_samples_free(nd_lu_samples *s);

/* classes.tif (Byte, class + 1, 0 nodata, colour table and category names), objects.geojson (segments
 * polygonised with class and confidence) into dir. */
int nd_lu_write_classes(const char *dir, const nd_grid *grid, const int *labels, const int *obj_cls,
                        const double *obj_conf, int nseg, char **names, int nclasses, nd_error *err);
/* metrics.json document and metrics.csv. */
json_t *nd_lu_metrics_json(const nd_lu_metrics *m, char **names);
int nd_lu_write_metrics_csv(const char *dir, const nd_lu_metrics *m, char **names, nd_error *err);

#endif
