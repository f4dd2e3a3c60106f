/* GDAL/OGR input and output of the land-use process: sample polygons (or points) rasterised onto the
 * image grid, the styled class GeoTIFF, the objects as GeoJSON and the accuracy figures as JSON/CSV. */
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_alg.h>
#include <math.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nadir/dataset.h"
#include "lu_io.h"

#define MAX_SAMPLES 100000

void nd_lu_samples_free(nd_lu_samples *s) {
    for (int c = 0; c < s->nclasses; c++) free(s->names[c]);
    free(s->poly), free(s->feat_class), free(s->names), free(s->point_pix), free(s->point_feat);
    memset(s, 0, sizeof *s);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int nd_lu_samples_read(const json_t *value, const char *class_field, const nd_grid *g, nd_lu_samples *s,
                       nd_error *err) {
    memset(s, 0, sizeof *s);
    char *text = json_is_string(value) ? strdup(json_string_value(value)) : json_dumps(value, JSON_COMPACT);
    if (!text) return nd_fail(err, ND_E_INVALID_PARAM, "samples", "the samples are empty");
    static atomic_uint counter;
    char name[96];
    snprintf(name, sizeof name, "/vsimem/nd_lu_samples_%d_%u.json", (int)getpid(), atomic_fetch_add(&counter, 1));
    VSIFCloseL(VSIFileFromMemBuffer(name, (GByte *)text, (vsi_l_offset)strlen(text), FALSE));
    static const char *const drivers[] = {"GeoJSON", NULL};
    GDALDatasetH ds = GDALOpenEx(name, GDAL_OF_VECTOR, drivers, NULL, NULL);
    OGRLayerH layer = ds ? GDALDatasetGetLayer(ds, 0) : NULL;
    OGRSpatialReferenceH src = NULL, dst = nd_srs_new(g->crs);
    OGRCoordinateTransformationH ct = NULL;
    OGRGeometryH *geoms = NULL;
    char **cls = NULL;
    int rc = 0, n = 0;
    size_t npix = (size_t)g->width * (size_t)g->height;
    if (!layer) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "samples", "the samples are not a readable GeoJSON layer");
        goto done;
    }
    src = OGR_L_GetSpatialRef(layer) ? OSRClone(OGR_L_GetSpatialRef(layer)) : nd_srs_new(NULL);
    OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
    ct = dst ? OCTNewCoordinateTransformation(src, dst) : NULL;
    if (!ct) {
        rc = nd_fail(err, ND_E_INVALID_CRS, "samples", "the samples' CRS cannot be transformed to the image CRS");
        goto done;
    }
    long long nf = OGR_L_GetFeatureCount(layer, TRUE);
    if (nf < 0 || nf > MAX_SAMPLES) {
        rc = nd_fail(err, ND_E_TOO_LARGE, "samples", "more than %d sample features", MAX_SAMPLES);
        goto done;
    }
    geoms = calloc((size_t)nf + 1, sizeof *geoms), cls = calloc((size_t)nf + 1, sizeof *cls);
    int fi = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(layer), class_field);
    if (fi < 0) {
        rc = nd_fail(err, ND_E_INVALID_PARAM, "class_field", "the samples have no attribute '%s'", class_field);
        goto done;
    }
    OGR_L_ResetReading(layer);
    for (OGRFeatureH f; n <= nf && (f = OGR_L_GetNextFeature(layer)); n++) {
        OGRGeometryH gm = OGR_F_GetGeometryRef(f);
        if (gm && !OGR_G_IsEmpty(gm) && OGR_F_IsFieldSetAndNotNull(f, fi) && *OGR_F_GetFieldAsString(f, fi)) {
            OGRGeometryH c = OGR_G_Clone(gm);
            if (!OGR_G_IsValid(c)) {
                OGRGeometryH v = OGR_G_MakeValid(c);
                OGR_G_DestroyGeometry(c);
                c = v;
            }
            if (c && OGR_G_Transform(c, ct) == OGRERR_NONE) geoms[n] = c, cls[n] = strdup(OGR_F_GetFieldAsString(f, fi));
            else if (c) OGR_G_DestroyGeometry(c);
        }
        if (!geoms[n]) s->skipped++;
        OGR_F_Destroy(f);
    }
    /* Classes: the distinct names, sorted, so indices do not depend on feature order. */
    char **uniq = malloc(((size_t)n + 1) * sizeof *uniq);
    int nu = 0;
    for (int k = 0; k < n; k++)
        if (cls[k]) uniq[nu++] = cls[k];
    qsort(uniq, (size_t)nu, sizeof *uniq, cmp_str);
    s->names = malloc(((size_t)nu + 1) * sizeof *s->names);
    for (int k = 0; k < nu; k++)
        if (k == 0 || strcmp(uniq[k], uniq[k - 1]) != 0) s->names[s->nclasses++] = strdup(uniq[k]);
    free(uniq);
    s->nfeat = n;
    s->feat_class = malloc(((size_t)n + 1) * sizeof *s->feat_class);
    s->poly = malloc(npix * sizeof *s->poly);
    for (size_t i = 0; i < npix; i++) s->poly[i] = -1;
    for (int k = 0; k < n; k++) {
        s->feat_class[k] = -1;
        for (int c = 0; cls[k] && c < s->nclasses; c++)
            if (strcmp(cls[k], s->names[c]) == 0) s->feat_class[k] = c;
    }
    /* Rasterise into a MEM Int32 band (feature index + 1), then points by their pixel. */
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", g->width, g->height, 1, GDT_Int32, NULL);
    GDALSetGeoTransform(mem, (double *)g->gt);
    GDALSetProjection(mem, g->crs);
    OGRGeometryH *areal = malloc(((size_t)n + 1) * sizeof *areal);
    double *burn = malloc(((size_t)n + 1) * sizeof *burn);
    int na = 0, band = 1;
    s->point_pix = malloc(((size_t)n + 1) * sizeof *s->point_pix);
    s->point_feat = malloc(((size_t)n + 1) * sizeof *s->point_feat);
    for (int k = 0; k < n; k++) {
        if (!geoms[k]) continue;
        OGRwkbGeometryType t = wkbFlatten(OGR_G_GetGeometryType(geoms[k]));
        if (t == wkbPoint) {
            double px = OGR_G_GetX(geoms[k], 0), py = OGR_G_GetY(geoms[k], 0);
            double det = g->gt[1] * g->gt[5] - g->gt[2] * g->gt[4];
            double dx = px - g->gt[0], dy = py - g->gt[3];
            double col = (g->gt[5] * dx - g->gt[2] * dy) / det, row = (-g->gt[4] * dx + g->gt[1] * dy) / det;
            if (col >= 0 && row >= 0 && col < g->width && row < g->height) {
                s->point_pix[s->npoints] = (size_t)row * (size_t)g->width + (size_t)col;
                s->point_feat[s->npoints++] = k;
            }
        } else {
            areal[na] = geoms[k], burn[na++] = k + 1;
        }
    }
    if (na && GDALRasterizeGeometries(mem, 1, &band, na, areal, NULL, NULL, burn, NULL, NULL, NULL) != CE_None)
        rc = nd_fail(err, ND_E_INTERNAL, "", "the samples could not be rasterised");
    int *buf = malloc(npix * sizeof *buf);
    if (rc == 0 && GDALRasterIO(GDALGetRasterBand(mem, 1), GF_Read, 0, 0, g->width, g->height, buf, g->width, g->height,
                                GDT_Int32, 0, 0) != CE_None)
        rc = nd_fail(err, ND_E_INTERNAL, "", "the samples could not be rasterised");
    for (size_t i = 0; rc == 0 && i < npix; i++)
        if (buf[i] > 0) s->poly[i] = buf[i] - 1;
    free(buf), free(areal), free(burn);
    GDALClose(mem);
done:
    for (int k = 0; geoms && k <= nf && k < n + 1; k++) {
        if (geoms[k]) OGR_G_DestroyGeometry(geoms[k]);
        free(cls[k]);
    }
    free(geoms), free(cls);
    if (ct) OCTDestroyCoordinateTransformation(ct);
    if (src) OSRDestroySpatialReference(src);
    if (dst) OSRDestroySpatialReference(dst);
    if (ds) GDALClose(ds);
    VSIUnlink(name);
    free(text);
    if (rc) nd_lu_samples_free(s);
    return rc;
}

/* A qualitative palette (ColorBrewer Set1/Dark2-like) for up to 12 classes, then grey. */
static const unsigned char palette[12][3] = {
    {230, 171, 2}, {102, 166, 30}, {166, 216, 84}, {27, 94, 32},  {228, 26, 28},   {55, 126, 184},
    {90, 90, 90},  {152, 78, 163}, {255, 127, 0},  {166, 86, 40}, {247, 129, 191}, {0, 200, 200},
};

int nd_lu_write_classes(const char *dir, const nd_grid *g, const int *labels, const int *obj_cls, const double *obj_conf,
                        int nseg, char **names, int nclasses, nd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/classes.tif", dir);
    char **opts = CSLSetNameValue(NULL, "TILED", "YES");
    opts = CSLSetNameValue(opts, "COMPRESS", "DEFLATE");
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, g->width, g->height, 1, GDT_Byte, opts);
    CSLDestroy(opts);
    if (!ds) return nd_fail(err, ND_E_INTERNAL, "", "classes.tif could not be created");
    GDALSetGeoTransform(ds, (double *)g->gt);
    GDALSetProjection(ds, g->crs);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    GDALSetRasterNoDataValue(b, 0);
    GDALColorTableH ct = GDALCreateColorTable(GPI_RGB);
    char **cats = CSLAddString(NULL, "no data");
    GDALColorEntry none = {0, 0, 0, 0};
    GDALSetColorEntry(ct, 0, &none);
    for (int c = 0; c < nclasses && c < 254; c++) {
        const unsigned char *p = c < 12 ? palette[c] : (const unsigned char[3]){128, 128, 128};
        GDALColorEntry e = {p[0], p[1], p[2], 255};
        GDALSetColorEntry(ct, c + 1, &e);
        cats = CSLAddString(cats, names[c]);
        char key[32];
        snprintf(key, sizeof key, "CLASS_%d", c + 1); /* in the TIFF itself: category names live in .aux.xml */
        GDALSetMetadataItem(b, key, names[c], NULL);
    }
    GDALSetRasterColorTable(b, ct);
    GDALSetRasterCategoryNames(b, cats);
    GDALDestroyColorTable(ct);
    CSLDestroy(cats);
    size_t npix = (size_t)g->width * (size_t)g->height;
    unsigned char *row = malloc(npix);
    for (size_t i = 0; i < npix; i++) row[i] = obj_cls[labels[i]] >= 0 ? (unsigned char)(obj_cls[labels[i]] + 1) : 0;
    CPLErr e = GDALRasterIO(b, GF_Write, 0, 0, g->width, g->height, row, g->width, g->height, GDT_Byte, 0, 0);
    free(row);
    GDALClose(ds);
    if (e != CE_None) return nd_fail(err, ND_E_INTERNAL, "", "classes.tif could not be written");

    /* Objects: the label raster polygonised in memory, then written with class and confidence. */
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", g->width, g->height, 1, GDT_Int32, NULL);
    GDALSetGeoTransform(mem, (double *)g->gt);
    GDALSetProjection(mem, g->crs);
    CPLErr we = GDALRasterIO(GDALGetRasterBand(mem, 1), GF_Write, 0, 0, g->width, g->height, (void *)labels, g->width,
                             g->height, GDT_Int32, 0, 0);
    GDALDatasetH vm = GDALCreate(GDALGetDriverByName("Memory"), "", 0, 0, 0, GDT_Unknown, NULL);
    OGRSpatialReferenceH srs = nd_srs_new(g->crs);
    OGRLayerH pl = GDALDatasetCreateLayer(vm, "objects", srs, wkbPolygon, NULL);
    OGRFieldDefnH fd = OGR_Fld_Create("object", OFTInteger);
    OGR_L_CreateField(pl, fd, TRUE);
    OGR_Fld_Destroy(fd);
    int rc = we == CE_None && GDALPolygonize(GDALGetRasterBand(mem, 1), NULL, pl, 0, NULL, NULL, NULL) == CE_None ? 0 : -1;
    snprintf(path, sizeof path, "%s/objects.geojson", dir);
    GDALDatasetH out = rc ? NULL : GDALCreate(GDALGetDriverByName("GeoJSON"), path, 0, 0, 0, GDT_Unknown, NULL);
    char **lo = CSLSetNameValue(NULL, "RFC7946", "YES");
    OGRLayerH ol = out ? GDALDatasetCreateLayer(out, "objects", srs, wkbPolygon, lo) : NULL;
    CSLDestroy(lo);
    if (ol) {
        static const struct { const char *n; OGRFieldType t; } fields[] = {
            {"object", OFTInteger}, {"class", OFTString}, {"class_index", OFTInteger}, {"confidence", OFTReal}};
        for (int i = 0; i < 4; i++) {
            OGRFieldDefnH d = OGR_Fld_Create(fields[i].n, fields[i].t);
            OGR_L_CreateField(ol, d, TRUE);
            OGR_Fld_Destroy(d);
        }
        OGR_L_ResetReading(pl);
        for (OGRFeatureH f; rc == 0 && (f = OGR_L_GetNextFeature(pl));) {
            int obj = OGR_F_GetFieldAsInteger(f, 0);
            OGRFeatureH o = OGR_F_Create(OGR_L_GetLayerDefn(ol));
            OGR_F_SetFieldInteger(o, 0, obj);
            if (obj >= 0 && obj < nseg && obj_cls[obj] >= 0) {
                OGR_F_SetFieldString(o, 1, names[obj_cls[obj]]);
                OGR_F_SetFieldInteger(o, 2, obj_cls[obj]);
                OGR_F_SetFieldDouble(o, 3, obj_conf[obj]);
            }
            OGR_F_SetGeometry(o, OGR_F_GetGeometryRef(f));
            if (OGR_L_CreateFeature(ol, o) != OGRERR_NONE) rc = -1;
            OGR_F_Destroy(o);
            OGR_F_Destroy(f);
        }
    } else {
        rc = -1;
    }
    if (out) GDALClose(out);
    OSRDestroySpatialReference(srs);
    GDALClose(vm);
    GDALClose(mem);
    return rc ? nd_fail(err, ND_E_INTERNAL, "", "objects.geojson could not be written") : 0;
}

json_t *nd_lu_metrics_json(const nd_lu_metrics *m, char **names) {
    int K = m->nclasses;
    json_t *cls = json_array(), *conf = json_array(), *f1 = json_object();
    for (int c = 0; c < K; c++) {
        json_array_append_new(cls, json_string(names[c]));
        json_t *row = json_array();
        for (int k = 0; k < K; k++) json_array_append_new(row, json_integer(m->confusion[c * K + k]));
        json_array_append_new(conf, row);
        json_object_set_new(f1, names[c], isnan(m->f1[c]) ? json_null() : json_real(m->f1[c]));
    }
    return json_pack("{s:o, s:o, s:s, s:o, s:o, s:o, s:I}", "classes", cls, "confusion_matrix", conf, "confusion_axes",
                     "rows: reference, columns: predicted", "overall_accuracy", isnan(m->oa) ? json_null() : json_real(m->oa),
                     "kappa", isnan(m->kappa) ? json_null() : json_real(m->kappa), "f1", f1, "validation_objects",
                     (json_int_t)m->n);
}

static void csv_text(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int nd_lu_write_metrics_csv(const char *dir, const nd_lu_metrics *m, char **names, nd_error *err) {
    char path[4200];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return nd_fail(err, ND_E_INTERNAL, "", "metrics.csv could not be created");
    int K = m->nclasses;
    fputs("reference\\predicted", f);
    for (int c = 0; c < K; c++) fputc(',', f), csv_text(f, names[c]);
    fputs(",f1\n", f);
    for (int c = 0; c < K; c++) {
        csv_text(f, names[c]);
        for (int k = 0; k < K; k++) fprintf(f, ",%ld", m->confusion[c * K + k]);
        if (isnan(m->f1[c])) fputs(",\n", f);
        else fprintf(f, ",%.6f\n", m->f1[c]);
    }
    fprintf(f, "overall_accuracy,%.6f\nkappa,%.6f\n", m->oa, m->kappa);
    return fclose(f) == 0 ? 0 : nd_fail(err, ND_E_INTERNAL, "", "metrics.csv could not be written");
}
