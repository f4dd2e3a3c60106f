/* The synthetic ocean DIVAnd is tested and demonstrated on: a smooth 4-D temperature over a masked
 * North-East Atlantic + Baltic box, sampled along cruise tracks with noise. */
#ifndef NADIR_PROCESSES_DIVAND_TRUTH_H
#define NADIR_PROCESSES_DIVAND_TRUTH_H

#include <stddef.h>

#include "divand_obs.h"

#define ND_DV_DEMO_WEST (-20.0)
#define ND_DV_DEMO_EAST 30.0
#define ND_DV_DEMO_SOUTH 45.0
#define ND_DV_DEMO_NORTH 66.0

/* 1 on land (a coarse Europe: Iberia/France, the Low Countries to the Baltic states, Jutland,
 * Scandinavia, Finland, Great Britain, Ireland, Iceland), 0 at sea. */
int nd_divand_demo_land(double lon, double lat);
/* Sea floor depth in metres (a shelf of 60-150 m, the open Atlantic to 4000 m); 0 on land. */
double nd_divand_demo_bottom(double lon, double lat);
/* The true temperature (°C) at a position, depth (m) and time (days since 1970-01-01). */
double nd_divand_demo_truth(double lon, double lat, double depth, double days);
/* Appends ncruises cruise tracks within [day0, day0 + ndays) with profiles at standard depths to the
 * bottom and Gaussian noise of standard deviation noise; surface_only keeps depth 0. */
int nd_divand_demo_cruises(nd_dv_table *t, unsigned seed, int ncruises, double day0, double ndays, double noise,
                           int surface_only);
/* Writes the demo observations into dir: divand_obs.txt (ODV), divand_obs.csv, divand_obs.nc. */
int nd_divand_demo_write(const char *dir, char *err, size_t errlen);

#endif
