/* The `divand` process: observations (ODV, CSV or the demo cruises) analysed onto a lon/lat/depth/time
 * grid by the DIVAnd kernel, written as CF NetCDF. */
#ifndef NADIR_PROCESSES_DIVAND_PROCESS_H
#define NADIR_PROCESSES_DIVAND_PROCESS_H

#include "nadir/process.h"

extern const nd_process nd_process_divand;

#endif
