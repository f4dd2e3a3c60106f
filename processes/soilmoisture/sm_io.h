/* GDAL/OGR side of the soil-moisture process: parcels in, rasterised ids, the output files. */
#ifndef NADIR_SM_IO_H
#define NADIR_SM_IO_H

#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>

#include "nadir/error.h"
#include "nadir/read.h"
#include "soilmoisture.h"

/* The parcels of a vector layer, geometries in the grid CRS. */
typedef struct nd_sm_vector {
    size_t n;
    OGRGeometryH *geoms;   /* NULL where the feature had no usable geometry */
    char **ids, **cls;     /* the id and class attributes as text */
    unsigned char *bad;    /* 1: invalid geometry that could not be repaired, or none; 2: outside the territory */
    size_t repaired;       /* invalid geometries made valid */
} nd_sm_vector;

/* Reads inline vector text or JSON (GeoJSON), transforms to crs_wkt; at most max features. */
int nd_sm_vector_read(const json_t *value, const char *id_field, const char *class_field, const char *crs_wkt,
                      size_t max, nd_sm_vector *v, nd_error *err);
void nd_sm_vector_free(nd_sm_vector *v);
/* A CRS84 box as the envelope of its edges in crs_wkt. */
int nd_sm_box_to_crs(const double in[4], const char *crs_wkt, double out[4]);
/* Burns parcel k as k + 1 into an Int32 GeoTIFF on grid at path (kept open in *out). */
int nd_sm_rasterise(const nd_sm_vector *v, const nd_grid *grid, const char *path, GDALDatasetH *out, nd_error *err);
/* moisture.tif, parcels.geojson, parcels.csv and the summary into dir and outputs. */
int nd_sm_write_outputs(const char *dir, const nd_sm_vector *v, const nd_sm_parcel *p, size_t done, const nd_grid *grid,
                        GDALDatasetH ids, json_t *outputs, nd_error *err);

#endif
