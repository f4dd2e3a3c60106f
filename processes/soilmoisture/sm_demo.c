/* `nadir demo-data` part for soil moisture: the synthetic territory as GeoTIFFs (sigma0 VV dB,
 * incidence, NDVI; UTM 31N at 10 m), the parcels as GeoJSON and the truth as CSV. */
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "nadir/land.h"
#include "soilmoisture.h"

#define X0 360000.0
#define Y0 4830000.0
#define RES 10.0

static int write_band(const char *path, const float *v, size_t w, size_t h, const char *units) {
    char **opts = CSLSetNameValue(NULL, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "TILED", "YES");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, (int)w, (int)h, 1, GDT_Float32, opts);
    CSLDestroy(opts);
    if (!ds) return -1;
    double gt[6] = {X0, RES, 0, Y0, 0, -RES};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH s = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(s, 32631);
    char *wkt = NULL;
    OSRExportToWkt(s, &wkt);
    GDALSetProjection(ds, wkt);
    CPLFree(wkt);
    OSRDestroySpatialReference(s);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    GDALSetRasterUnitType(b, units);
    CPLErr e = GDALRasterIO(b, GF_Write, 0, 0, (int)w, (int)h, (void *)v, (int)w, (int)h, GDT_Float32, 0, 0);
    GDALClose(ds);
    return e == CE_None ? 0 : -1;
}

int nd_soilmoisture_demo_write(const char *dir, char *err, size_t errlen) {
    char sub[4096], path[4200];
    snprintf(sub, sizeof sub, "%s/soilmoisture", dir);
    mkdir(sub, 0755);
    nd_sm_territory t;
    size_t cell = 20;
    if (nd_sm_territory_make(&t, 600, 400, cell, 2026, 1.0) < 0) return snprintf(err, errlen, "out of memory"), -1;
    int rc = 0;
    snprintf(path, sizeof path, "%s/sm_sigma0_vv.tif", sub);
    rc |= write_band(path, t.sigma_db, t.width, t.height, "dB");
    snprintf(path, sizeof path, "%s/sm_incidence.tif", sub);
    rc |= write_band(path, t.theta, t.width, t.height, "degree");
    snprintf(path, sizeof path, "%s/sm_ndvi.tif", sub);
    rc |= write_band(path, t.ndvi, t.width, t.height, "1");
    /* Parcels: rectangles of the id raster, written in CRS84 (the GeoJSON default). */
    OGRSpatialReferenceH utm = OSRNewSpatialReference(NULL), ll = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(utm, 32631);
    OSRSetWellKnownGeogCS(ll, "WGS84");
    OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(ll, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(utm, ll);
    snprintf(path, sizeof path, "%s/sm_parcels.geojson", sub);
    FILE *f = ct ? fopen(path, "w") : NULL;
    snprintf(path, sizeof path, "%s/sm_truth.csv", sub);
    FILE *c = fopen(path, "w");
    if (!f || !c) rc = -1;
    else {
        fputs("{\"type\":\"FeatureCollection\",\"features\":[", f);
        fputs("id,crop,moisture_vol_pct,ndvi\n", c);
        size_t nx = t.width / cell;
        for (size_t k = 0; k < t.nparcels; k++) {
            size_t px = k % nx, py = k / nx, w = (k % 7 == 6) ? 3 : cell - 2;
            double xa = X0 + (double)(px * cell + 1) * RES, xb = xa + (double)w * RES;
            double ya = Y0 - (double)(py * cell + 1) * RES, yb = ya - (double)w * RES;
            double xs[5] = {xa, xb, xb, xa, xa}, ys[5] = {ya, ya, yb, yb, ya};
            OCTTransform(ct, 5, xs, ys, NULL);
            fprintf(f, "%s{\"type\":\"Feature\",\"properties\":{\"id\":\"P%04zu\",\"crop\":\"%s\"},"
                       "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[",
                    k ? "," : "", k + 1, nd_sm_crop_names[t.crop[k]]);
            for (int i = 0; i < 5; i++) fprintf(f, "%s[%.9f,%.9f]", i ? "," : "", xs[i], ys[i]);
            fputs("]]}}", f);
            fprintf(c, "P%04zu,%s,%.4f,%.4f\n", k + 1, nd_sm_crop_names[t.crop[k]], t.mv[k], t.veg[k]);
        }
        fputs("]}\n", f);
    }
    if (f && fclose(f) != 0) rc = -1;
    if (c && fclose(c) != 0) rc = -1;
    if (ct) OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(utm);
    OSRDestroySpatialReference(ll);
    nd_sm_territory_free(&t);
    if (rc) snprintf(err, errlen, "the soil-moisture demo files could not be written");
    return rc ? -1 : 0;
}
