/* Image encoders: PNG with libpng (8-bit palette when the image is indexed), JPEG/WebP/GeoTIFF through
 * GDAL's drivers writing to /vsimem/. */
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <ogr_srs_api.h>
#include <png.h>

#include "nadir/dataset.h"
#include "nadir/render.h"

/* ---- PNG ---- */

static void png_write_buf(png_structp png, png_bytep data, png_size_t len) {
    nd_buf_append(png_get_io_ptr(png), data, len);
}

static void png_flush_none(png_structp png) { (void)png; }

static bool opaque(const nd_image *im) {
    size_t n = (size_t)im->width * (size_t)im->height;
    for (size_t i = 0; i < n; i++)
        if (im->pixels[4 * i + 3] != 255) return false;
    return true;
}

int nd_encode_png(const nd_image *im, nd_buf *out, nd_error *err) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return nd_fail(err, ND_E_INTERNAL, "", "PNG encoder unavailable");
    }
    size_t start = out->len;
    png_bytep *rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(rows);
        out->len = start;
        return nd_fail(err, ND_E_INTERNAL, "", "PNG encoding failed");
    }
    png_set_write_fn(png, out, png_write_buf, png_flush_none);
    /* Map tiles are sent once: fast deflate beats a few percent of size (measured on RGB tiles, Huffman-only
     * and RLE strategies save under 10 % of the time for 30 % more bytes, so the default strategy stays). */
    png_set_compression_level(png, im->indexed ? 2 : 1);
    int channels = 1;
    if (im->indexed) {
        png_color pal[256];
        png_byte trns[256];
        int ntrns = 0;
        for (int i = 0; i < im->npalette; i++) {
            pal[i] = (png_color){im->palette[i].r, im->palette[i].g, im->palette[i].b};
            trns[i] = im->palette[i].a;
            if (trns[i] != 255) ntrns = i + 1;
        }
        int depth = 8;
        png_set_IHDR(png, info, (png_uint_32)im->width, (png_uint_32)im->height, depth, PNG_COLOR_TYPE_PALETTE,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_set_PLTE(png, info, pal, im->npalette);
        if (ntrns) png_set_tRNS(png, info, trns, ntrns, NULL);
        png_set_filter(png, 0, PNG_FILTER_NONE);
    } else {
        bool op = opaque(im);
        channels = 4;
        png_set_IHDR(png, info, (png_uint_32)im->width, (png_uint_32)im->height, 8,
                     op ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_set_filter(png, 0, PNG_FILTER_SUB);
    }
    png_write_info(png, info);
    /* opaque RGBA is written as RGB: libpng strips the fourth byte (transformations follow png_write_info) */
    if (!im->indexed && channels == 4 && opaque(im)) png_set_filler(png, 0, PNG_FILLER_AFTER);
    rows = malloc((size_t)im->height * sizeof *rows);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < im->height; y++) rows[y] = im->pixels + (size_t)y * (size_t)im->width * (size_t)channels;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return 0;
}

/* ---- GDAL drivers into /vsimem/ ---- */

static void vsimem_name(char *name, size_t n, const char *ext) {
    static unsigned long counter;
    unsigned long k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    snprintf(name, n, "/vsimem/nadir_render_%lx_%lu.%s", (unsigned long)pthread_self(), k, ext);
}

/* A MEM dataset over interleaved 8-bit samples (pixel stride `stride` bytes), `bands` of them. */
static GDALDatasetH mem_over(uint8_t *px, int w, int h, int bands, int stride) {
    nd_gdal_init();
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", w, h, 0, GDT_Byte, NULL);
    if (!mem) return NULL;
    for (int b = 0; b < bands; b++) {
        char ptr[64], po[32], lo[32];
        snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", (void *)(px + b));
        snprintf(po, sizeof po, "PIXELOFFSET=%d", stride);
        snprintf(lo, sizeof lo, "LINEOFFSET=%d", stride * w);
        char *opts[] = {ptr, po, lo, NULL};
        if (GDALAddBand(mem, GDT_Byte, opts) != CE_None) {
            GDALClose(mem);
            return NULL;
        }
    }
    return mem;
}

/* Copies src with driver into memory and appends the file's bytes to out. */
static int copy_out(GDALDatasetH src, const char *driver, const char *ext, char **opts, nd_buf *out, nd_error *err) {
    char name[128];
    vsimem_name(name, sizeof name, ext);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH d = GDALCreateCopy(GDALGetDriverByName(driver), name, src, FALSE, opts, NULL, NULL);
    int rc = 0;
    if (!d) rc = nd_fail(err, ND_E_INTERNAL, "", "%s encoding failed", driver);
    else GDALClose(d);
    CPLPopErrorHandler();
    vsi_l_offset len = 0;
    GByte *bytes = rc == 0 ? VSIGetMemFileBuffer(name, &len, TRUE) : NULL;
    if (bytes) nd_buf_append(out, bytes, (size_t)len);
    CPLFree(bytes);
    VSIUnlink(name);
    return rc;
}

/* RGB or RGBA samples of an image (the palette expanded). */
static uint8_t *expand(const nd_image *im, int channels, nd_rgba bg) {
    size_t n = (size_t)im->width * (size_t)im->height;
    uint8_t *px = nd_xmalloc(n * (size_t)channels + 1);
    for (size_t i = 0; i < n; i++) {
        nd_rgba c = im->indexed ? im->palette[im->pixels[i]]
                                : (nd_rgba){im->pixels[4 * i], im->pixels[4 * i + 1], im->pixels[4 * i + 2],
                                            im->pixels[4 * i + 3]};
        if (channels == 3 && c.a != 255) { /* JPEG has no alpha: blend onto bg */
            c.r = (uint8_t)((c.r * c.a + bg.r * (255 - c.a)) / 255);
            c.g = (uint8_t)((c.g * c.a + bg.g * (255 - c.a)) / 255);
            c.b = (uint8_t)((c.b * c.a + bg.b * (255 - c.a)) / 255);
        }
        uint8_t *p = px + i * (size_t)channels;
        p[0] = c.r, p[1] = c.g, p[2] = c.b;
        if (channels == 4) p[3] = c.a;
    }
    return px;
}

int nd_encode_jpeg(const nd_image *im, int quality, nd_buf *out, nd_error *err) {
    uint8_t *px = expand(im, 3, (nd_rgba){255, 255, 255, 255});
    GDALDatasetH mem = mem_over(px, im->width, im->height, 3, 3);
    char q[32];
    snprintf(q, sizeof q, "QUALITY=%d", quality < 1 ? 1 : quality > 100 ? 100 : quality);
    char *opts[] = {q, NULL};
    int rc = mem ? copy_out(mem, "JPEG", "jpg", opts, out, err) : nd_fail(err, ND_E_INTERNAL, "", "no memory");
    if (mem) GDALClose(mem);
    free(px);
    return rc;
}

int nd_encode_webp(const nd_image *im, int quality, nd_buf *out, nd_error *err) {
    uint8_t *px = expand(im, 4, (nd_rgba){0, 0, 0, 0});
    GDALDatasetH mem = mem_over(px, im->width, im->height, 4, 4);
    if (mem) GDALSetRasterColorInterpretation(GDALGetRasterBand(mem, 4), GCI_AlphaBand);
    char q[32];
    snprintf(q, sizeof q, "QUALITY=%d", quality < 1 ? 1 : quality > 100 ? 100 : quality);
    char *opts[] = {q, NULL};
    int rc = mem ? copy_out(mem, "WEBP", "webp", opts, out, err) : nd_fail(err, ND_E_INTERNAL, "", "no memory");
    if (mem) GDALClose(mem);
    free(px);
    return rc;
}

int nd_encode_geotiff(const float *values, int width, int height, const double gt[6], const char *crs, nd_buf *out,
                      nd_error *err) {
    nd_gdal_init();
    GDALDatasetH mem = GDALCreate(GDALGetDriverByName("MEM"), "", width, height, 0, GDT_Float32, NULL);
    char ptr[64];
    snprintf(ptr, sizeof ptr, "DATAPOINTER=%p", (const void *)values);
    char *bopts[] = {ptr, NULL};
    if (!mem || GDALAddBand(mem, GDT_Float32, bopts) != CE_None) {
        if (mem) GDALClose(mem);
        return nd_fail(err, ND_E_INTERNAL, "", "cannot build the GeoTIFF");
    }
    GDALSetGeoTransform(mem, (double *)gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    CPLPushErrorHandler(CPLQuietErrorHandler);
    if (OSRSetFromUserInput(srs, crs) == OGRERR_NONE) {
        OSRSetAxisMappingStrategy(srs, OAMS_TRADITIONAL_GIS_ORDER);
        GDALSetSpatialRef(mem, srs);
    }
    CPLPopErrorHandler();
    OSRDestroySpatialReference(srs);
    GDALSetRasterNoDataValue(GDALGetRasterBand(mem, 1), NAN);
    char *opts[] = {"COMPRESS=DEFLATE", "PREDICTOR=3", "ZLEVEL=1", NULL};
    int rc = copy_out(mem, "GTiff", "tif", opts, out, err);
    GDALClose(mem);
    return rc;
}
