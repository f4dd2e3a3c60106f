/* Footprints: the outline of valid data of a raster (GDALPolygonize of the valid mask at reduced resolution,
 * simplified, in lon/lat), and the real outline of swath files from their 2-D latitude/longitude arrays. */
#include <cpl_conv.h>
#include <gdal.h>
#include <gdal_alg.h>
#include <math.h>
#include <netcdf.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <string.h>

#include "nadir/catalog.h"

#define MASK_MAX 256   /* the mask is polygonized at most this many cells a side */
#define SWATH_MAX (64u << 20)

static bool valid(double v, int has_nd, double nd) { return !isnan(v) && !(has_nd && v == nd); }

/* The valid-data outline of band 1 of src (a GDAL dataset name) as GeoJSON in lon/lat, or NULL. */
json_t *nd_cat_footprint_raster(const char *src, const char *fallback_wkt) {
    GDALDatasetH ds = GDALOpenEx(src, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    if (!ds || GDALGetRasterCount(ds) < 1) {
        if (ds) GDALClose(ds);
        return NULL;
    }
    int W = GDALGetRasterXSize(ds), H = GDALGetRasterYSize(ds);
    double gt[6];
    const char *wkt = GDALGetProjectionRef(ds);
    if (!wkt || !*wkt) wkt = fallback_wkt; /* NetCDF without grid_mapping: the dataset knows its CRS */
    if (GDALGetGeoTransform(ds, gt) != CE_None || !wkt || !*wkt) {
        GDALClose(ds);
        return NULL;
    }
    double scale = fmax(1.0, fmax((double)W / MASK_MAX, (double)H / MASK_MAX));
    int w = (int)ceil(W / scale), h = (int)ceil(H / scale);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    int has_nd = 0;
    double nd = GDALGetRasterNoDataValue(b, &has_nd);
    double *buf = CPLMalloc((size_t)w * h * sizeof *buf);
    json_t *out = NULL;
    if (GDALRasterIO(b, GF_Read, 0, 0, W, H, buf, w, h, GDT_Float64, 0, 0) != CE_None) goto done;
    GDALDriverH mem = GDALGetDriverByName("MEM");
    GDALDatasetH m = GDALCreate(mem, "", w, h, 1, GDT_Byte, NULL);
    unsigned char *mask = CPLMalloc((size_t)w * h);
    long nvalid = 0;
    for (long i = 0; i < (long)w * h; i++) nvalid += mask[i] = valid(buf[i], has_nd, nd);
    GDALRasterBandH mb = GDALGetRasterBand(m, 1);
    if (GDALRasterIO(mb, GF_Write, 0, 0, w, h, mask, w, h, GDT_Byte, 0, 0) != CE_None) nvalid = 0;
    double mgt[6] = {gt[0], gt[1] * W / w, gt[2] * W / w, gt[3], gt[4] * H / h, gt[5] * H / h};
    GDALSetGeoTransform(m, mgt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(wkt);
    OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL);
    OSRSetWellKnownGeogCS(wgs, "WGS84");
    OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    GDALDriverH vmem = GDALGetDriverByName("Memory");
    GDALDatasetH vds = vmem ? GDALCreate(vmem, "", 0, 0, 0, GDT_Unknown, NULL) : NULL;
    OGRLayerH lyr = vds ? GDALDatasetCreateLayer(vds, "fp", NULL, wkbPolygon, NULL) : NULL;
    if (nvalid && lyr) {
        OGRFieldDefnH fd = OGR_Fld_Create("v", OFTInteger);
        OGR_L_CreateField(lyr, fd, TRUE);
        OGR_Fld_Destroy(fd);
        /* the mask band masks itself: only valid cells become polygons */
        if (GDALPolygonize(mb, mb, lyr, 0, NULL, NULL, NULL) == CE_None) {
            OGRGeometryH all = OGR_G_CreateGeometry(wkbMultiPolygon);
            OGRFeatureH f;
            OGR_L_ResetReading(lyr);
            while ((f = OGR_L_GetNextFeature(lyr))) {
                OGRGeometryH g = OGR_F_GetGeometryRef(f);
                if (g) OGR_G_AddGeometry(all, g);
                OGR_F_Destroy(f);
            }
            OGRGeometryH u = OGR_G_UnionCascaded(all);
            OGR_G_DestroyGeometry(all);
            if (u) {
                OGRGeometryH s = OGR_G_SimplifyPreserveTopology(u, fabs(mgt[1]) * 1.5);
                OGR_G_DestroyGeometry(u);
                if (s) {
                    OGR_G_AssignSpatialReference(s, srs);
                    OGR_G_Segmentize(s, fabs(mgt[1]) * w / 16); /* edges curve once in lon/lat */
                    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(srs, wgs);
                    if (ct && OGR_G_Transform(s, ct) == OGRERR_NONE) {
                        char *gj = OGR_G_ExportToJson(s);
                        out = gj ? json_loads(gj, 0, NULL) : NULL;
                        CPLFree(gj);
                    }
                    if (ct) OCTDestroyCoordinateTransformation(ct);
                    OGR_G_DestroyGeometry(s);
                }
            }
        }
    }
    if (vds) GDALClose(vds);
    OSRDestroySpatialReference(srs);
    OSRDestroySpatialReference(wgs);
    CPLFree(mask);
    GDALClose(m);
done:
    CPLFree(buf);
    GDALClose(ds);
    return out;
}

/* A 2-D variable whose units or standard_name say latitude/longitude. */
static int find_2d(int nc, bool lat, int *varid) {
    int nv;
    if (nc_inq_nvars(nc, &nv)) return -1;
    for (int v = 0; v < nv; v++) {
        int nd;
        char sn[128] = "", un[128] = "", name[NC_MAX_NAME + 1];
        size_t len;
        if (nc_inq_varndims(nc, v, &nd) || nd != 2 || nc_inq_varname(nc, v, name)) continue;
        if (!nc_inq_attlen(nc, v, "standard_name", &len) && len < sizeof sn) nc_get_att_text(nc, v, "standard_name", sn);
        if (!nc_inq_attlen(nc, v, "units", &len) && len < sizeof un) nc_get_att_text(nc, v, "units", un);
        bool hit = lat ? (!strcmp(sn, "latitude") || !strncmp(un, "degrees_north", 13) || !strcmp(name, "lat") ||
                          !strcmp(name, "latitude"))
                       : (!strcmp(sn, "longitude") || !strncmp(un, "degrees_east", 12) || !strcmp(name, "lon") ||
                          !strcmp(name, "longitude"));
        if (hit) {
            *varid = v;
            return 0;
        }
    }
    return -1;
}

/* The swath outline: the perimeter cells of the lat/lon arrays, in order, longitudes unwrapped so the ring is
 * continuous (nd_geom cuts it at the antimeridian afterwards). */
json_t *nd_cat_footprint_swath(const char *path) {
    int nc, vlat, vlon;
    if (nc_open(path, NC_NOWRITE, &nc)) return NULL;
    json_t *out = NULL;
    double *la = NULL, *lo = NULL;
    int dims[2];
    size_t ny, nx;
    if (find_2d(nc, true, &vlat) || find_2d(nc, false, &vlon) || nc_inq_vardimid(nc, vlat, dims) ||
        nc_inq_dimlen(nc, dims[0], &ny) || nc_inq_dimlen(nc, dims[1], &nx) || ny < 2 || nx < 2 ||
        ny * nx > SWATH_MAX / sizeof(double))
        goto done;
    la = CPLMalloc(ny * nx * sizeof *la);
    lo = CPLMalloc(ny * nx * sizeof *lo);
    if (nc_get_var_double(nc, vlat, la) || nc_get_var_double(nc, vlon, lo)) goto done;
    /* the perimeter, anticlockwise in index space, a few hundred points at most */
    size_t step_x = nx / 64 + 1, step_y = ny / 64 + 1;
    json_t *ring = json_array();
    double prev = NAN, shift = 0;
#define ADD(j, i)                                                                                     \
    do {                                                                                              \
        double x = lo[(j) * nx + (i)], y = la[(j) * nx + (i)];                                        \
        if (!isnan(prev)) {                                                                           \
            if (x + shift - prev > 180) shift -= 360;                                                 \
            else if (x + shift - prev < -180) shift += 360;                                           \
        }                                                                                             \
        prev = x + shift;                                                                             \
        json_array_append_new(ring, json_pack("[f,f]", prev, y));                                     \
    } while (0)
    for (size_t i = 0; i < nx - 1; i += step_x) ADD(0, i);
    for (size_t j = 0; j < ny - 1; j += step_y) ADD(j, nx - 1);
    for (size_t i = nx - 1; i > 0; i = i > step_x ? i - step_x : 0) ADD(ny - 1, i);
    for (size_t j = ny - 1; j > 0; j = j > step_y ? j - step_y : 0) ADD(j, 0);
#undef ADD
    json_array_append(ring, json_array_get(ring, 0));
    out = json_pack("{s:s, s:[o]}", "type", "Polygon", "coordinates", ring);
    /* GeoJSON rings are anticlockwise; the index order may be either: fix with OGR */
    char *text = json_dumps(out, JSON_COMPACT);
    OGRGeometryH g = OGR_G_CreateGeometryFromJson(text);
    free(text);
    if (g) {
        OGR_G_CloseRings(g);
        if (!OGR_G_IsValid(g)) { /* a self-touching perimeter: its buffer(0) is the area it bounds */
            OGRGeometryH b = OGR_G_Buffer(g, 0, 8);
            OGR_G_DestroyGeometry(g);
            g = b;
        }
        char *gj = g ? OGR_G_ExportToJson(g) : NULL;
        if (gj) {
            json_decref(out);
            out = json_loads(gj, 0, NULL);
            CPLFree(gj);
        }
        OGR_G_DestroyGeometry(g);
    }
done:
    CPLFree(la);
    CPLFree(lo);
    nc_close(nc);
    return out;
}
