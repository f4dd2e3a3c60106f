/* `nadir demo-data DIR`: deterministic synthetic data with known answers, plus Debian's real samples. */
#ifndef NADIR_DEMODATA_H
#define NADIR_DEMODATA_H

#include <stddef.h>

/* Writes the demo files under dir and dir/nadir.yaml, a configuration that serves them.
 * samples_dir, when not NULL, is searched for real sample data extracted from Debian packages
 * (r-cran-stars: L7_ETMs.tif, reduced.nc) which is added to the configuration when found.
 * Writes atomically (temp name + rename) so an interrupted run leaves no partial file. */
int nd_demo_data_write(const char *dir, const char *samples_dir, char *err, size_t errlen);

#endif
