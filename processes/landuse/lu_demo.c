/* `nadir demo-data` part for land use: the synthetic scene as a 4-band UInt16 VHR GeoTIFF (1.5 m, UTM
 * 31N), an 8-date NDVI series GeoTIFF (6 m), the truth class raster and the sample polygons (GeoJSON). */
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "landuse.h"
#include "nadir/land.h"

#define X0 600000.0
#define Y0 4800000.0
#define RES 1.5

static GDALDatasetH create(const char *path, int w, int h, int nb, GDALDataType t, double res, const char *wkt) {
    char **opts = CSLSetNameValue(NULL, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "TILED", "YES");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, w, h, nb, t, opts);
    CSLDestroy(opts);
    if (!ds) return NULL;
    double gt[6] = {X0, res, 0, Y0, 0, -res};
    GDALSetGeoTransform(ds, gt);
    GDALSetProjection(ds, wkt);
    return ds;
}

int nd_landuse_demo_write(const char *dir, char *err, size_t errlen) {
    char sub[4096], path[4200];
    snprintf(sub, sizeof sub, "%s/landuse", dir);
    mkdir(sub, 0755);
    nd_lu_scene s;
    if (nd_lu_scene_make(&s, 480, 480, 60, 2026) < 0) return snprintf(err, errlen, "out of memory"), -1;
    OGRSpatialReferenceH utm = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(utm, 32631);
    OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
    char *wkt = NULL;
    OSRExportToWkt(utm, &wkt);
    int rc = 0;
    size_t n = (size_t)s.width * (size_t)s.height, tn = (size_t)s.ts_width * (size_t)s.ts_height;
    snprintf(path, sizeof path, "%s/lu_vhr.tif", sub);
    GDALDatasetH ds = create(path, s.width, s.height, 4, GDT_UInt16, RES, wkt);
    static const char *const band_names[4] = {"blue", "green", "red", "nir"};
    for (int b = 0; ds && b < 4 && rc == 0; b++) {
        GDALRasterBandH h = GDALGetRasterBand(ds, b + 1);
        GDALSetDescription(h, band_names[b]);
        rc = GDALRasterIO(h, GF_Write, 0, 0, s.width, s.height, s.image + (size_t)b * n, s.width, s.height, GDT_Float32, 0, 0) == CE_None ? 0 : -1;
    }
    if (!ds) rc = -1;
    else GDALClose(ds);
    snprintf(path, sizeof path, "%s/lu_ndvi_series.tif", sub);
    ds = rc ? NULL : create(path, s.ts_width, s.ts_height, s.ndates, GDT_Float32, RES * s.ts_factor, wkt);
    for (int d = 0; ds && d < s.ndates && rc == 0; d++)
        rc = GDALRasterIO(GDALGetRasterBand(ds, d + 1), GF_Write, 0, 0, s.ts_width, s.ts_height, s.series + (size_t)d * tn,
                          s.ts_width, s.ts_height, GDT_Float32, 0, 0) == CE_None ? 0 : -1;
    if (ds) GDALClose(ds);
    else rc = -1;
    /* Truth: class + 1 per pixel; polygons: the truth polygons polygonised, the sample ones written. */
    snprintf(path, sizeof path, "%s/lu_truth.tif", sub);
    ds = rc ? NULL : create(path, s.width, s.height, 1, GDT_Byte, RES, wkt);
    unsigned char *cls = malloc(n);
    for (size_t i = 0; i < n; i++) cls[i] = (unsigned char)(s.poly_class[s.truth_poly[i]] + 1);
    if (ds && GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, s.width, s.height, cls, s.width, s.height, GDT_Byte, 0, 0) != CE_None)
        rc = -1;
    if (ds) GDALClose(ds);
    free(cls);
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", s.width, s.height, 1, GDT_Int32, NULL);
    double gt[6] = {X0, RES, 0, Y0, 0, -RES};
    GDALSetGeoTransform(mem, gt);
    GDALSetProjection(mem, wkt);
    if (GDALRasterIO(GDALGetRasterBand(mem, 1), GF_Write, 0, 0, s.width, s.height, s.truth_poly, s.width, s.height, GDT_Int32, 0, 0) != CE_None)
        rc = -1;
    GDALDatasetH vm = GDALCreate(GDALGetDriverByName("Memory"), "", 0, 0, 0, GDT_Unknown, NULL);
    OGRLayerH pl = GDALDatasetCreateLayer(vm, "p", utm, wkbPolygon, NULL);
    OGRFieldDefnH fd = OGR_Fld_Create("poly", OFTInteger);
    OGR_L_CreateField(pl, fd, TRUE);
    OGR_Fld_Destroy(fd);
    if (rc == 0 && GDALPolygonize(GDALGetRasterBand(mem, 1), NULL, pl, 0, NULL, NULL, NULL) != CE_None) rc = -1;
    snprintf(path, sizeof path, "%s/lu_samples.geojson", sub);
    GDALDatasetH out = rc ? NULL : GDALCreate(GDALGetDriverByName("GeoJSON"), path, 0, 0, 0, GDT_Unknown, NULL);
    char **lo = CSLSetNameValue(NULL, "RFC7946", "YES");
    OGRLayerH ol = out ? GDALDatasetCreateLayer(out, "samples", utm, wkbPolygon, lo) : NULL;
    CSLDestroy(lo);
    if (ol) {
        fd = OGR_Fld_Create("class", OFTString);
        OGR_L_CreateField(ol, fd, TRUE);
        OGR_Fld_Destroy(fd);
        OGR_L_ResetReading(pl);
        for (OGRFeatureH f; (f = OGR_L_GetNextFeature(pl));) {
            int k = OGR_F_GetFieldAsInteger(f, 0);
            if (k >= 0 && k < s.npoly && s.poly_sample[k]) {
                OGRFeatureH o = OGR_F_Create(OGR_L_GetLayerDefn(ol));
                OGR_F_SetFieldString(o, 0, nd_lu_class_names[s.poly_class[k]]);
                OGR_F_SetGeometry(o, OGR_F_GetGeometryRef(f));
                if (OGR_L_CreateFeature(ol, o) != OGRERR_NONE) rc = -1;
                OGR_F_Destroy(o);
            }
            OGR_F_Destroy(f);
        }
    } else {
        rc = -1;
    }
    if (out) GDALClose(out);
    GDALClose(vm);
    GDALClose(mem);
    CPLFree(wkt);
    OSRDestroySpatialReference(utm);
    nd_lu_scene_free(&s);
    if (rc) snprintf(err, errlen, "the land-use demo files could not be written");
    return rc ? -1 : 0;
}
