/* Subsets written through GDAL: a VRT gathers the bands (variables x time steps x levels, across the files
 * of an aggregation), then GDALTranslate (-projwin, -outsize) or GDALWarp (-t_srs -te -ts) writes the
 * GeoTIFF/COG/PNG block by block, so values and georeferencing are gdal_translate's and gdalwarp's own. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <ogr_srs_api.h>

#include "nadir/arena.h"
#include "nadir/schema.h"
#include "nadir/subset.h"

/* The GDAL name of the file holding time step t of v, and the band in it for (t, z). */
static char *source_of(const nd_subset *s, const nd_variable *v, size_t t, size_t z, int *band) {
    const nd_dataset *ds = s->ds;
    size_t file = 0, local = 0, steps_in_file = 1;
    if (v->has_time && ds->time) {
        file = ds->time->file_index[t];
        local = ds->time->local_index[t];
        steps_in_file = 0;
        for (size_t i = 0; i < ds->time->n; i++) steps_in_file += ds->time->file_index[i] == file;
    }
    size_t nzf = v->has_vertical && ds->vertical ? ds->vertical->n : 1;
    char *name = NULL;
    if (ds->kind == ND_DS_RASTER) {
        *band = v->band;
        name = strdup(ds->files[file]);
    } else {
        /* GDAL's netCDF driver numbers bands over the non-horizontal dimensions, innermost fastest. */
        (void)steps_in_file;
        *band = (int)((v->has_time && ds->time ? local * nzf : 0) + (v->has_vertical ? z : 0) + 1);
        if (asprintf(&name, "NETCDF:\"%s\":%s", ds->files[file], v->name) < 0) name = NULL;
    }
    return name;
}

static void put_attr_escaped(nd_buf *b, const char *s) { nd_buf_put_xml(b, s); }

/* Builds the VRT document; first is opened to learn the geotransform, CRS and band properties. */
static char *build_vrt(const nd_subset *s, const nd_subset_plan *p, nd_error *err) {
    const nd_dataset *ds = s->ds;
    int band = 0;
    char *first = source_of(s, s->vars[0], s->t0, s->z0, &band);
    if (!first) return NULL;
    GDALDatasetH src = GDALOpenEx(first, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
    free(first);
    if (!src) {
        nd_fail(err, ND_E_IO, "", "The coverage's data cannot be read");
        return NULL;
    }
    double gt[6];
    GDALGetGeoTransform(src, gt);
    int W = GDALGetRasterXSize(src), H = GDALGetRasterYSize(src);
    nd_buf b = {0};
    nd_buf_printf(&b, "<VRTDataset rasterXSize=\"%d\" rasterYSize=\"%d\">", W, H);
    OGRSpatialReferenceH srs = GDALGetSpatialRef(src), own = NULL;
    if (!srs && ds->crs_wkt) {
        /* CF files without grid_mapping: the dataset knows them as WGS 84 longitude/latitude. */
        own = OSRNewSpatialReference(NULL);
        if (OSRSetFromUserInput(own, ds->crs_wkt) == OGRERR_NONE) {
            OSRSetAxisMappingStrategy(own, OAMS_TRADITIONAL_GIS_ORDER);
            srs = own;
        }
    }
    char *wkt = NULL;
    const char *wopts[] = {"FORMAT=WKT2_2019", "MULTILINE=NO", NULL};
    if (srs && OSRExportToWktEx(srs, &wkt, wopts) == OGRERR_NONE && wkt) {
        int n = 0;
        const int *map = OSRGetDataAxisToSRSAxisMapping(srs, &n);
        nd_buf_puts(&b, "<SRS dataAxisToSRSAxisMapping=\"");
        for (int i = 0; i < n; i++) nd_buf_printf(&b, "%s%d", i ? "," : "", map[i]);
        nd_buf_puts(&b, "\">");
        put_attr_escaped(&b, wkt);
        nd_buf_puts(&b, "</SRS>");
    }
    CPLFree(wkt);
    if (own) OSRDestroySpatialReference(own);
    nd_buf_printf(&b, "<GeoTransform>%.17g,%.17g,%.17g,%.17g,%.17g,%.17g</GeoTransform>", gt[0], gt[1], gt[2], gt[3],
                  gt[4], gt[5]);
    int nb = 0;
    for (size_t i = 0; i < s->nvars; i++) {
        const nd_variable *v = s->vars[i];
        size_t nt, nz;
        nd_subset_steps(s, v, &nt, &nz);
        /* Band properties come from GDAL's view of the variable, so the output equals gdal_translate's. */
        char *vs = source_of(s, v, s->t0, s->z0, &band);
        GDALDatasetH vh = vs ? GDALOpenEx(vs, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL) : NULL;
        free(vs);
        GDALRasterBandH rb = vh && band <= GDALGetRasterCount(vh) ? GDALGetRasterBand(vh, band) : NULL;
        if (!rb) {
            if (vh) GDALClose(vh);
            GDALClose(src);
            nd_buf_free(&b);
            nd_fail(err, ND_E_IO, "", "Variable '%s' cannot be read", v->name);
            return NULL;
        }
        int has_nd = 0, has_sc = 0, has_off = 0;
        double nodata = GDALGetRasterNoDataValue(rb, &has_nd);
        double scale = GDALGetRasterScale(rb, &has_sc), offset = GDALGetRasterOffset(rb, &has_off);
        char unit[64];
        snprintf(unit, sizeof unit, "%s", GDALGetRasterUnitType(rb)); /* owned by the band closed below */
        GDALDataType type = (GDALDataType)p->gdal_type;
        GDALClose(vh);
        for (size_t t = 0; t < nt; t++)
            for (size_t z = 0; z < nz; z++) {
                char *name = source_of(s, v, s->t0 + t, s->z0 + z, &band);
                if (!name) continue;
                nd_buf_printf(&b, "<VRTRasterBand dataType=\"%s\" band=\"%d\">", GDALGetDataTypeName(type), ++nb);
                nd_buf_puts(&b, "<Description>");
                nd_buf_put_xml(&b, v->name);
                if (v->has_time && ds->time) {
                    char iso[48];
                    nd_datetime_format(&ds->time->dates[s->t0 + t], iso, sizeof iso);
                    nd_buf_printf(&b, " %s", iso);
                }
                if (v->has_vertical && ds->vertical) nd_buf_printf(&b, " %s=%.10g", ds->vertical->name,
                                                                   ds->vertical->values[s->z0 + z]);
                nd_buf_puts(&b, "</Description>");
                if (has_nd) nd_buf_printf(&b, "<NoDataValue>%.17g</NoDataValue>", nodata);
                if (has_off && offset != 0) nd_buf_printf(&b, "<Offset>%.17g</Offset>", offset);
                if (has_sc && scale != 1) nd_buf_printf(&b, "<Scale>%.17g</Scale>", scale);
                if (*unit) {
                    nd_buf_puts(&b, "<UnitType>");
                    nd_buf_put_xml(&b, unit);
                    nd_buf_puts(&b, "</UnitType>");
                }
                nd_buf_puts(&b, "<SimpleSource><SourceFilename relativeToVRT=\"0\">");
                nd_buf_put_xml(&b, name);
                /* Explicit rectangles: without them the VRT's implicit overviews (used by the warper) read nothing. */
                nd_buf_printf(&b, "</SourceFilename><SourceBand>%d</SourceBand><SrcRect xOff=\"0\" yOff=\"0\" "
                                  "xSize=\"%d\" ySize=\"%d\"/><DstRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" "
                                  "ySize=\"%d\"/></SimpleSource></VRTRasterBand>",
                              band, W, H, W, H);
                free(name);
            }
    }
    nd_buf_puts(&b, "</VRTDataset>");
    GDALClose(src);
    return nd_buf_steal(&b, NULL);
}

static const char *resampling_name(nd_resampling r) {
    switch (r) {
    case ND_RESAMPLE_BILINEAR: return "bilinear";
    case ND_RESAMPLE_CUBIC: return "cubic";
    case ND_RESAMPLE_AVERAGE: return "average";
    default: return "near";
    }
}

static char **add(char **argv, const char *a) { return CSLAddString(argv, a); }
static char **addf(char **argv, const char *fmt, double v) {
    char s[64];
    snprintf(s, sizeof s, fmt, v);
    return CSLAddString(argv, s);
}

static char **format_args(const nd_subset *s, char **a) {
    switch (s->format) {
    case ND_OUT_COG:
        a = add(add(a, "-of"), "COG");
        a = add(add(a, "-co"), "COMPRESS=DEFLATE");
        a = add(add(a, "-co"), "LEVEL=1");
        a = add(add(a, "-co"), "BIGTIFF=IF_SAFER");
        a = add(add(a, "-co"), "NUM_THREADS=ALL_CPUS");
        break;
    case ND_OUT_PNG:
        a = add(add(a, "-of"), "PNG");
        break;
    default:
        a = add(add(a, "-of"), "GTiff");
        a = add(add(a, "-co"), "TILED=YES");
        a = add(add(a, "-co"), "COMPRESS=DEFLATE");
        /* Level 1: most of DEFLATE's gain at several times the speed, for answers made on the fly. */
        a = add(add(a, "-co"), "ZLEVEL=1");
        a = add(add(a, "-co"), "BIGTIFF=IF_SAFER");
        /* Tiles are compressed on every core: compression is most of a GetCoverage's time (same bytes out). */
        a = add(add(a, "-co"), "NUM_THREADS=ALL_CPUS");
    }
    return a;
}

/* When every band comes from one file (a GeoTIFF, one step of a NetCDF variable), the copy reads it directly
 * with -b: no VRT in between. Returns the file's GDAL name with the -b arguments added to *a, or NULL. */
static char *direct_source(const nd_subset *s, char ***a) {
    char *first = NULL;
    char **bands = NULL;
    for (size_t i = 0; i < s->nvars; i++) {
        size_t nt, nz;
        nd_subset_steps(s, s->vars[i], &nt, &nz);
        for (size_t t = 0; t < nt; t++)
            for (size_t z = 0; z < nz; z++) {
                int band;
                char *name = source_of(s, s->vars[i], s->t0 + t, s->z0 + z, &band);
                if (!name || (first && strcmp(name, first) != 0)) {
                    free(name);
                    free(first);
                    CSLDestroy(bands);
                    return NULL;
                }
                if (!first) first = name;
                else free(name);
                bands = addf(add(bands, "-b"), "%.0f", band);
            }
    }
    for (char **b = bands; b && *b; b++) *a = add(*a, *b);
    CSLDestroy(bands);
    return first;
}

int nd_subset_write_gdal(nd_subset *s, const nd_subset_plan *p, const char *path, nd_error *err) {
    nd_gdal_init();
    /* GDAL's netCDF driver calls netCDF-C, which is not thread-safe: one lock for every caller. */
    bool nc = s->ds->kind == ND_DS_NETCDF;
    if (nc) nd_nc_lock();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    /* No .aux.xml side file next to the output: it would outlive the response. */
    CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", "NO");
    char **a = format_args(s, NULL);
    char *vrt = NULL, *direct = p->warp ? NULL : direct_source(s, &a);
    int rc = 0;
    GDALDatasetH src = NULL;
    if (direct) {
        src = GDALOpenEx(direct, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
        /* CF files without grid_mapping: the dataset knows them as WGS 84 longitude/latitude */
        if (src && !GDALGetSpatialRef(src)) a = add(add(a, "-a_srs"), s->ds->crs_wkt);
        a = add(add(a, "-ot"), GDALGetDataTypeName((GDALDataType)p->gdal_type));
    } else {
        vrt = build_vrt(s, p, err);
        src = vrt ? GDALOpenEx(vrt, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL) : NULL;
    }
    if (!src) {
        CSLDestroy(a);
        rc = err->code ? -(int)err->code : nd_fail(err, ND_E_INTERNAL, "", "The coverage cannot be assembled");
        goto out;
    }
    CPLErrorReset();
    GDALDatasetH dst = NULL;
    int usage = 0;
    if (p->warp) {
        a = add(add(a, "-t_srs"), s->out_crs);
        a = add(a, "-te");
        for (int i = 0; i < 4; i++) a = addf(a, "%.17g", p->te[i]);
        a = add(a, "-ts");
        a = addf(addf(a, "%.0f", p->out_w), "%.0f", p->out_h);
        a = add(add(a, "-r"), resampling_name(s->resampling));
        GDALWarpAppOptions *o = GDALWarpAppOptionsNew(a, NULL);
        if (o) {
            dst = GDALWarp(path, NULL, 1, &src, o, &usage);
            GDALWarpAppOptionsFree(o);
        }
    } else {
        a = add(a, "-projwin");
        a = addf(addf(addf(addf(a, "%.17g", p->ulx), "%.17g", p->uly), "%.17g", p->lrx), "%.17g", p->lry);
        if (p->out_w != p->xsize || p->out_h != p->ysize) {
            a = add(a, "-outsize");
            a = addf(addf(a, "%.0f", p->out_w), "%.0f", p->out_h);
            a = add(add(a, "-r"), resampling_name(s->resampling));
        }
        GDALTranslateOptions *o = GDALTranslateOptionsNew(a, NULL);
        if (o) {
            dst = GDALTranslate(path, src, o, &usage);
            GDALTranslateOptionsFree(o);
        }
    }
    CSLDestroy(a);
    CPLErrorReset();
    if (dst) GDALClose(dst);
    if (!dst || CPLGetLastErrorType() >= CE_Failure)
        rc = nd_fail(err, ND_E_INTERNAL, "", "The coverage could not be written");
out:
    if (src) GDALClose(src);
    free(vrt);
    free(direct);
    CPLSetThreadLocalConfigOption("GDAL_PAM_ENABLED", NULL);
    CPLPopErrorHandler();
    if (nc) nd_nc_unlock();
    return rc;
}
