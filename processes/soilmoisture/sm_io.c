/* GDAL/OGR input and output of the soil-moisture process: inline parcels (repaired or listed when
 * invalid), their rasterisation onto the sigma0 grid, and the GeoTIFF, GeoJSON, CSV and JSON outputs. */
#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_srs_api.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nadir/dataset.h"
#include "sm_io.h"

#define NODATA -9999.0

void nd_sm_vector_free(nd_sm_vector *v) {
    for (size_t k = 0; k < v->n; k++) {
        if (v->geoms && v->geoms[k]) OGR_G_DestroyGeometry(v->geoms[k]);
        if (v->ids) free(v->ids[k]);
        if (v->cls) free(v->cls[k]);
    }
    free(v->geoms), free(v->ids), free(v->cls), free(v->bad);
    memset(v, 0, sizeof *v);
}

int nd_sm_box_to_crs(const double in[4], const char *crs_wkt, double out[4]) {
    OGRSpatialReferenceH src = nd_srs_new(NULL), dst = nd_srs_new(crs_wkt);
    OGRCoordinateTransformationH ct = dst ? OCTNewCoordinateTransformation(src, dst) : NULL;
    int rc = -1;
    if (ct) {
        double xs[84], ys[84];
        int ok[84], k = 0;
        for (int i = 0; i <= 20; i++) {
            double f = i / 20.0;
            xs[k] = in[0] + f * (in[2] - in[0]), ys[k++] = in[1];
            xs[k] = in[0] + f * (in[2] - in[0]), ys[k++] = in[3];
            xs[k] = in[0], ys[k++] = in[1] + f * (in[3] - in[1]);
            xs[k] = in[2], ys[k++] = in[1] + f * (in[3] - in[1]);
        }
        OCTTransformEx(ct, k, xs, ys, NULL, ok);
        out[0] = out[1] = INFINITY, out[2] = out[3] = -INFINITY;
        for (int i = 0; i < k; i++)
            if (ok[i]) out[0] = fmin(out[0], xs[i]), out[2] = fmax(out[2], xs[i]), out[1] = fmin(out[1], ys[i]), out[3] = fmax(out[3], ys[i]);
        rc = isfinite(out[0]) ? 0 : -1;
        OCTDestroyCoordinateTransformation(ct);
    }
    OSRDestroySpatialReference(src);
    if (dst) OSRDestroySpatialReference(dst);
    return rc;
}

static char *field_text(OGRFeatureH f, const char *name, long long fallback) {
    int i = name ? OGR_F_GetFieldIndex(f, name) : -1;
    if (i >= 0 && OGR_F_IsFieldSetAndNotNull(f, i)) return strdup(OGR_F_GetFieldAsString(f, i));
    if (fallback < 0) return strdup("");
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", fallback);
    return strdup(buf);
}

int nd_sm_vector_read(const json_t *value, const char *id_field, const char *class_field, const char *crs_wkt,
                      size_t max, nd_sm_vector *v, nd_error *err) {
    memset(v, 0, sizeof *v);
    char *text = json_is_string(value) ? strdup(json_string_value(value)) : json_dumps(value, JSON_COMPACT);
    if (!text) return nd_fail(err, ND_E_INVALID_PARAM, "parcels", "the parcels are empty");
    static atomic_uint counter;
    char name[96];
    snprintf(name, sizeof name, "/vsimem/nd_sm_parcels_%d_%u.json", (int)getpid(), atomic_fetch_add(&counter, 1));
    VSIFCloseL(VSIFileFromMemBuffer(name, (GByte *)text, (vsi_l_offset)strlen(text), FALSE));
    static const char *const drivers[] = {"GeoJSON", NULL};
    GDALDatasetH ds = GDALOpenEx(name, GDAL_OF_VECTOR, drivers, NULL, NULL);
    int rc = 0;
    OGRSpatialReferenceH dst = nd_srs_new(crs_wkt), src = NULL;
    OGRCoordinateTransformationH ct = NULL;
    OGRLayerH layer = ds ? GDALDatasetGetLayer(ds, 0) : NULL;
    if (!layer) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "parcels", "the parcels are not a readable GeoJSON layer");
        goto done;
    }
    OGRSpatialReferenceH ls = OGR_L_GetSpatialRef(layer);
    src = ls ? OSRClone(ls) : nd_srs_new(NULL);
    OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
    ct = dst ? OCTNewCoordinateTransformation(src, dst) : NULL;
    if (!ct) {
        rc = nd_fail(err, ND_E_INVALID_CRS, "parcels", "the parcels' CRS cannot be transformed to the sigma0 CRS");
        goto done;
    }
    long long nf = OGR_L_GetFeatureCount(layer, TRUE);
    if (nf < 0 || (size_t)nf > max) {
        rc = nd_fail(err, ND_E_TOO_LARGE, "parcels", "more than %zu parcels", max);
        goto done;
    }
    size_t cap = (size_t)nf + 1;
    v->geoms = calloc(cap, sizeof *v->geoms), v->ids = calloc(cap, sizeof *v->ids);
    v->cls = calloc(cap, sizeof *v->cls), v->bad = calloc(cap, 1);
    OGR_L_ResetReading(layer);
    for (OGRFeatureH f; v->n < cap && (f = OGR_L_GetNextFeature(layer));) {
        size_t k = v->n++;
        v->ids[k] = field_text(f, id_field, (long long)k + 1);
        v->cls[k] = field_text(f, class_field, -1);
        OGRGeometryH g = OGR_F_GetGeometryRef(f);
        OGRGeometryH c = g && !OGR_G_IsEmpty(g) ? OGR_G_Clone(g) : NULL;
        if (c && !OGR_G_IsValid(c)) {
            OGRGeometryH fixed = OGR_G_MakeValid(c);
            OGR_G_DestroyGeometry(c);
            c = fixed && OGR_G_IsValid(fixed) && !OGR_G_IsEmpty(fixed) ? fixed : (fixed ? (OGR_G_DestroyGeometry(fixed), NULL) : NULL);
            if (c) v->repaired++;
        }
        OGRwkbGeometryType t = c ? wkbFlatten(OGR_G_GetGeometryType(c)) : wkbUnknown;
        if (c && t != wkbPolygon && t != wkbMultiPolygon && t != wkbGeometryCollection) {
            OGR_G_DestroyGeometry(c); /* points and lines have no area to average over */
            c = NULL;
        }
        if (c && OGR_G_Transform(c, ct) != OGRERR_NONE) {
            OGR_G_DestroyGeometry(c);
            c = NULL;
        }
        v->geoms[k] = c;
        v->bad[k] = c == NULL;
        OGR_F_Destroy(f);
    }
done:
    if (ct) OCTDestroyCoordinateTransformation(ct);
    if (src) OSRDestroySpatialReference(src);
    if (dst) OSRDestroySpatialReference(dst);
    if (ds) GDALClose(ds);
    VSIUnlink(name);
    free(text);
    if (rc) nd_sm_vector_free(v);
    return rc;
}

static GDALDatasetH create_tiff(const char *path, const nd_grid *g, GDALDataType t) {
    char **opts = CSLSetNameValue(NULL, "TILED", "YES");
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    opts = CSLSetNameValue(opts, "BIGTIFF", "IF_SAFER");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, g->width, g->height, 1, t, opts);
    CSLDestroy(opts);
    if (!ds) return NULL;
    GDALSetGeoTransform(ds, (double *)g->gt);
    GDALSetProjection(ds, g->crs);
    return ds;
}

int nd_sm_rasterise(const nd_sm_vector *v, const nd_grid *grid, const char *path, GDALDatasetH *out, nd_error *err) {
    *out = create_tiff(path, grid, GDT_Int32);
    if (!*out) return nd_fail(err, ND_E_INTERNAL, "", "the parcel raster could not be created");
    OGRGeometryH *gs = malloc((v->n + 1) * sizeof *gs);
    double *burn = malloc((v->n + 1) * sizeof *burn);
    int n = 0, band = 1;
    for (size_t k = 0; k < v->n; k++)
        if (v->geoms[k]) gs[n] = v->geoms[k], burn[n++] = (double)(k + 1);
    CPLErr e = n ? GDALRasterizeGeometries(*out, 1, &band, n, gs, NULL, NULL, burn, NULL, NULL, NULL) : CE_None;
    free(gs), free(burn);
    if (e != CE_None) return nd_fail(err, ND_E_INTERNAL, "", "the parcels could not be rasterised");
    return 0;
}

static int write_tiff(const char *dir, const nd_sm_vector *v, const nd_sm_parcel *p, const nd_grid *g,
                      GDALDatasetH ids, nd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/moisture.tif", dir);
    GDALDatasetH ds = create_tiff(path, g, GDT_Float32);
    if (!ds) return nd_fail(err, ND_E_INTERNAL, "", "moisture.tif could not be created");
    GDALRasterBandH b = GDALGetRasterBand(ds, 1), ib = GDALGetRasterBand(ids, 1);
    GDALSetRasterNoDataValue(b, NODATA);
    GDALSetDescription(b, "soil_moisture");
    GDALSetRasterUnitType(b, "vol.%");
    size_t w = (size_t)g->width;
    int *row = malloc(w * 64 * sizeof *row);
    float *val = malloc(w * 64 * sizeof *val);
    int rc = 0;
    for (int y = 0; y < g->height && rc == 0; y += 64) {
        int n = y + 64 <= g->height ? 64 : g->height - y;
        if (GDALRasterIO(ib, GF_Read, 0, y, g->width, n, row, g->width, n, GDT_Int32, 0, 0) != CE_None) rc = -1;
        for (size_t i = 0; rc == 0 && i < w * (size_t)n; i++) {
            int id = row[i];
            val[i] = id > 0 && (size_t)id <= v->n && !isnan(p[id - 1].mv) ? (float)p[id - 1].mv : (float)NODATA;
        }
        if (rc == 0 && GDALRasterIO(b, GF_Write, 0, y, g->width, n, val, g->width, n, GDT_Float32, 0, 0) != CE_None) rc = -1;
    }
    free(row), free(val);
    GDALClose(ds);
    return rc ? nd_fail(err, ND_E_INTERNAL, "", "moisture.tif could not be written") : 0;
}

static void set_real(OGRFeatureH f, const char *name, double x) {
    int i = OGR_F_GetFieldIndex(f, name);
    if (isnan(x)) OGR_F_SetFieldNull(f, i);
    else OGR_F_SetFieldDouble(f, i, x);
}

static int write_geojson(const char *dir, const nd_sm_vector *v, const nd_sm_parcel *p, const nd_grid *g, nd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/parcels.geojson", dir);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GeoJSON"), path, 0, 0, 0, GDT_Unknown, NULL);
    if (!ds) return nd_fail(err, ND_E_INTERNAL, "", "parcels.geojson could not be created");
    OGRSpatialReferenceH srs = nd_srs_new(g->crs);
    char **lo = CSLSetNameValue(NULL, "RFC7946", "YES"); /* WGS84 longitude/latitude, as the format wants */
    lo = CSLSetNameValue(lo, "COORDINATE_PRECISION", "8");
    OGRLayerH l = GDALDatasetCreateLayer(ds, "parcels", srs, wkbUnknown, lo);
    CSLDestroy(lo);
    OSRDestroySpatialReference(srs);
    if (!l) {
        GDALClose(ds);
        return nd_fail(err, ND_E_INTERNAL, "", "parcels.geojson could not be created");
    }
    static const struct { const char *name; OGRFieldType t; } fields[] = {
        {"id", OFTString}, {"crop", OFTString}, {"pixels", OFTInteger64}, {"sigma0_vv_db", OFTReal},
        {"incidence_deg", OFTReal}, {"ndvi", OFTReal}, {"moisture", OFTReal}, {"status", OFTString}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        OGRFieldDefnH fd = OGR_Fld_Create(fields[i].name, fields[i].t);
        OGR_L_CreateField(l, fd, TRUE);
        OGR_Fld_Destroy(fd);
    }
    int rc = 0;
    for (size_t k = 0; k < v->n && rc == 0; k++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGR_F_SetFieldString(f, 0, v->ids[k]);
        OGR_F_SetFieldString(f, 1, v->cls[k]);
        OGR_F_SetFieldInteger64(f, 2, (GIntBig)p[k].npix);
        set_real(f, "sigma0_vv_db", p[k].sigma_db);
        set_real(f, "incidence_deg", p[k].theta);
        set_real(f, "ndvi", p[k].ndvi);
        set_real(f, "moisture", p[k].mv);
        OGR_F_SetFieldString(f, 7, p[k].skipped ? nd_sm_skip_reason(p[k].skipped) : "ok");
        if (v->geoms[k]) OGR_F_SetGeometry(f, v->geoms[k]);
        if (OGR_L_CreateFeature(l, f) != OGRERR_NONE) rc = -1;
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    return rc ? nd_fail(err, ND_E_INTERNAL, "", "parcels.geojson could not be written") : 0;
}

/* A CSV field: quoted, inner quotes doubled (ids and classes are user text). */
static void csv_text(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double x) {
    if (isnan(x)) fputs(",", f);
    else fprintf(f, ",%.6f", x);
}

static int write_csv(const char *dir, const nd_sm_vector *v, const nd_sm_parcel *p, nd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/parcels.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return nd_fail(err, ND_E_INTERNAL, "", "parcels.csv could not be created");
    fputs("id,crop,pixels,sigma0_vv_db,incidence_deg,ndvi,moisture_vol_pct,status\n", f);
    for (size_t k = 0; k < v->n; k++) {
        csv_text(f, v->ids[k]);
        fputc(',', f);
        csv_text(f, v->cls[k]);
        fprintf(f, ",%zu", p[k].npix);
        csv_num(f, p[k].sigma_db), csv_num(f, p[k].theta), csv_num(f, p[k].ndvi), csv_num(f, p[k].mv);
        fprintf(f, ",%s\n", p[k].skipped ? nd_sm_skip_reason(p[k].skipped) : "ok");
    }
    return fclose(f) == 0 ? 0 : nd_fail(err, ND_E_INTERNAL, "", "parcels.csv could not be written");
}

int nd_sm_write_outputs(const char *dir, const nd_sm_vector *v, const nd_sm_parcel *p, size_t done, const nd_grid *grid,
                        GDALDatasetH ids, json_t *outputs, nd_error *err) {
    int rc = write_tiff(dir, v, p, grid, ids, err);
    if (rc == 0) rc = write_geojson(dir, v, p, grid, err);
    if (rc == 0) rc = write_csv(dir, v, p, err);
    if (rc) return rc;
    json_t *skipped = json_array();
    for (size_t k = 0; k < v->n; k++)
        if (p[k].skipped)
            json_array_append_new(skipped, json_pack("{s:s, s:s, s:I}", "id", v->ids[k], "reason",
                                                     nd_sm_skip_reason(p[k].skipped), "pixels", (json_int_t)p[k].npix));
    double s = 0, s2 = 0;
    for (size_t k = 0; k < v->n; k++)
        if (!isnan(p[k].mv)) s += p[k].mv, s2 += p[k].mv * p[k].mv;
    json_t *doc = json_pack("{s:I, s:I, s:I, s:I, s:o, s:{s:i, s:i}, s:s, s:s}", "parcels", (json_int_t)v->n,
                            "inverted", (json_int_t)done, "skipped_count", (json_int_t)(v->n - done),
                            "repaired_geometries", (json_int_t)v->repaired, "skipped", skipped, "grid", "width",
                            grid->width, "height", grid->height, "units", "vol.%", "method",
                            "MLP inversion of the water cloud model (NDVI) over Dubois et al. 1995, VV");
    if (done) {
        double mean = s / (double)done;
        json_object_set_new(doc, "mean_moisture", json_real(mean));
        json_object_set_new(doc, "std_moisture", json_real(sqrt(fmax(0, s2 / (double)done - mean * mean))));
    }
    json_object_set_new(outputs, "moisture", json_pack("{s:s, s:s}", "file", "moisture.tif", "mediaType", "image/tiff; application=geotiff"));
    json_object_set_new(outputs, "parcels", json_pack("{s:s, s:s}", "file", "parcels.geojson", "mediaType", "application/geo+json"));
    json_object_set_new(outputs, "table", json_pack("{s:s, s:s}", "file", "parcels.csv", "mediaType", "text/csv"));
    json_object_set_new(outputs, "summary", json_pack("{s:o, s:s}", "value", doc, "mediaType", "application/json"));
    return 0;
}
