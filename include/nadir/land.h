/* The land kernels' entry points outside the process registry: the soil-moisture trainer command and
 * the synthetic territories written by `nadir demo-data` (processes/soilmoisture, processes/landuse). */
#ifndef NADIR_LAND_H
#define NADIR_LAND_H

#include <stddef.h>

/* `nadir train soil-moisture [--seed N] [--out FILE]` (argv[0] is "train"). */
int nd_sm_train_main(int argc, char **argv);
/* Writes the synthetic soil-moisture territory (sigma0, incidence, NDVI GeoTIFFs, parcels GeoJSON) into dir. */
int nd_soilmoisture_demo_write(const char *dir, char *err, size_t errlen);
/* Writes the synthetic land-use scene (VHR GeoTIFF, NDVI series, sample polygons GeoJSON) into dir. */
int nd_landuse_demo_write(const char *dir, char *err, size_t errlen);

#endif
