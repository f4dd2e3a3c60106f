/* The kernels' part of `nadir demo-data`: each writes its synthetic inputs (with known answers) and
 * the rasters among them are added to the demo configuration as datasets. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "nadir/land.h"
#include "nadir/process.h"
#include "divand/divand_truth.h"
#include "pca/pca_io.h"
#include "plume/plume_process.h"

typedef struct {
    const char *name;
    int (*write)(const char *dir, char *err, size_t errlen);
    const char *datasets; /* YAML items appended under `datasets:` */
} kernel_demo;

/* The DIVAnd observations (ODV, CSV, NetCDF) go to their own folder. */
static int divand_demo_write(const char *dir, char *err, size_t errlen) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/divand", dir);
    if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", sub, strerror(errno));
        return -1;
    }
    return nd_divand_demo_write(sub, err, errlen);
}

static const kernel_demo demos[] = {
    {"pca", nd_pca_demo_write, NULL /* swath spectra: an input file, found through STAC (nadir ingest) */},
    {"plume", nd_plume_demo_write,
     "  - id: no2_demo\n"
     "    title: \"Synthetic NO2 columns with plumes from known sources (plume-detection input)\"\n"
     "    keywords: [NO2, plumes, synthetic]\n"
     "    license: CC-BY-4.0\n"
     "    source: \"plume/no2_demo.nc\"\n\n"},
    {"soil-moisture", nd_soilmoisture_demo_write,
     "  - id: sm_sigma0_vv\n"
     "    title: \"Synthetic Sentinel-1 sigma0 VV in dB (soil-moisture input)\"\n"
     "    license: CC-BY-4.0\n"
     "    source: \"soilmoisture/sm_sigma0_vv.tif\"\n\n"
     "  - id: sm_incidence\n"
     "    title: \"Synthetic incidence angle (soil-moisture input)\"\n"
     "    license: CC-BY-4.0\n"
     "    source: \"soilmoisture/sm_incidence.tif\"\n\n"
     "  - id: sm_ndvi\n"
     "    title: \"Synthetic NDVI (soil-moisture input)\"\n"
     "    license: CC-BY-4.0\n"
     "    source: \"soilmoisture/sm_ndvi.tif\"\n\n"},
    {"divand", divand_demo_write, NULL /* in-situ observations: process inputs, not grids */},
    {"land-use", nd_landuse_demo_write,
     "  - id: lu_vhr\n"
     "    title: \"Synthetic very-high-resolution scene (land-use input)\"\n"
     "    license: CC-BY-4.0\n"
     "    source: \"landuse/lu_vhr.tif\"\n\n"
     "  - id: lu_ndvi_series\n"
     "    title: \"Synthetic Sentinel-2-like NDVI series (land-use input)\"\n"
     "    license: CC-BY-4.0\n"
     "    source: \"landuse/lu_ndvi_series.tif\"\n\n"},
};

int nd_processes_demo_write(const char *dir, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/nadir.yaml", dir);
    for (size_t i = 0; i < sizeof demos / sizeof demos[0]; i++) {
        char e[512] = "";
        if (demos[i].write(dir, e, sizeof e) < 0) {
            snprintf(err, errlen, "%s demo data: %s", demos[i].name, e);
            return -1;
        }
        if (!demos[i].datasets) continue;
        /* The datasets section is the last of the demo configuration: items are appended to it. */
        FILE *f = fopen(path, "a");
        if (!f || fputs(demos[i].datasets, f) < 0 || fclose(f) != 0) {
            snprintf(err, errlen, "%s: cannot append the %s datasets", path, demos[i].name);
            return -1;
        }
    }
    return 0;
}
