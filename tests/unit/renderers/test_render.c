/* Renderers: colour maps (ranges, bands, log scale, out-of-range colours), PNG/JPEG/GeoTIFF encoders read back
 * with GDAL, legends. */
#include <cpl_vsi.h>
#include <gdal.h>

#include "nadir/render.h"
#include "nadir/vector.h"
#include "test.h"

static nd_rgba rgb(uint32_t c) { return (nd_rgba){(uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c, 255}; }
static int same(nd_rgba a, nd_rgba b) { return a.r == b.r && a.g == b.g && a.b == b.b && a.a == b.a; }

ND_TEST(palettes_and_colours) {
    const nd_palette *v = nd_palette_find("VIRIDIS");
    CHECK(v != NULL);
    CHECK(same(nd_palette_color(v, 0), rgb(0x440154)));
    CHECK(same(nd_palette_color(v, 1), rgb(0xfde725)));
    CHECK(nd_palette_find("grayscale") == nd_palette_find("greyscale"));
    CHECK(nd_palette_find("nope") == NULL);
    const nd_palette *g = nd_palette_find("greyscale");
    nd_rgba mid = nd_palette_color(g, 0.5);
    CHECK_INT(mid.r, 128);
    nd_rgba c;
    CHECK_INT(nd_color_parse("0xFF8000", &c), 0);
    CHECK(same(c, rgb(0xff8000)));
    CHECK_INT(nd_color_parse("#80FF0000", &c), 0);
    CHECK_INT(c.a, 0x80);
    CHECK_INT(c.r, 255);
    CHECK_INT(nd_color_parse("transparent", &c), 0);
    CHECK_INT(c.a, 0);
    CHECK(nd_color_parse("red", &c) < 0);
    CHECK(nd_color_parse("0x12345", &c) < 0);
    for (size_t i = 0; i < nd_palette_count(); i++) CHECK(nd_palette_at(i)->n >= 2);
}

ND_TEST(colormap_bands_and_out_of_range) {
    nd_colormap cm;
    nd_colormap_init(&cm, 0, 10);
    cm.palette = nd_palette_find("greyscale");
    cm.nbands = 2;
    CHECK_INT(nd_colormap_band(&cm, 0), 0);
    CHECK_INT(nd_colormap_band(&cm, 4.99f), 0);
    CHECK_INT(nd_colormap_band(&cm, 5), 1);
    CHECK_INT(nd_colormap_band(&cm, 10), 1);
    CHECK_INT(nd_colormap_band(&cm, -1), -1);
    CHECK_INT(nd_colormap_band(&cm, 11), -2);
    CHECK_INT(nd_colormap_band(&cm, NAN), -3);
    CHECK(same(nd_colormap_value_color(&cm, 1), rgb(0)));
    CHECK(same(nd_colormap_value_color(&cm, 9), rgb(0xffffff)));
    /* extend (default) vs explicit colours */
    CHECK(same(nd_colormap_value_color(&cm, -5), rgb(0)));
    cm.below_extend = false;
    cm.below = rgb(0x0000ff);
    CHECK(same(nd_colormap_value_color(&cm, -5), rgb(0x0000ff)));
    CHECK_INT(nd_colormap_value_color(&cm, NAN).a, 0);
    /* log scale: the split of two bands is the geometric mean */
    nd_colormap lg;
    nd_colormap_init(&lg, 1, 100);
    lg.log = true;
    lg.nbands = 2;
    CHECK_INT(nd_colormap_band(&lg, 9.9f), 0);
    CHECK_INT(nd_colormap_band(&lg, 10.1f), 1);
    CHECK_INT(nd_colormap_band(&lg, 0), -1);
}

ND_TEST(render_indexed_matches_value_colours) {
    float v[6] = {0, 2.5f, 5, 7.5f, NAN, 20};
    nd_colormap cm;
    nd_colormap_init(&cm, 0, 10);
    cm.above_extend = false;
    cm.above = rgb(0xff0000);
    nd_image im;
    CHECK_INT(nd_render_colormap(v, 3, 2, &cm, &im), 0);
    CHECK(im.indexed && im.npalette == 3 + 250);
    for (int i = 0; i < 6; i++) CHECK(same(im.palette[im.pixels[i]], nd_colormap_value_color(&cm, v[i])));
    CHECK_INT(im.pixels[4], 0);
    CHECK(same(im.palette[im.pixels[5]], rgb(0xff0000)));
    nd_image_free(&im);
}

/* Decodes any image with GDAL into RGBA (palette expanded). */
static unsigned char *decode(const nd_buf *b, int *w, int *h, int *bands) {
    VSILFILE *f = VSIFileFromMemBuffer("/vsimem/t.img", (GByte *)b->data, b->len, FALSE);
    VSIFCloseL(f);
    GDALAllRegister();
    GDALDatasetH d = GDALOpen("/vsimem/t.img", GA_ReadOnly);
    CHECK(d != NULL);
    *w = GDALGetRasterXSize(d), *h = GDALGetRasterYSize(d), *bands = GDALGetRasterCount(d);
    unsigned char *px = calloc((size_t)*w * *h * 4, 1);
    GDALColorTableH ct = GDALGetRasterColorTable(GDALGetRasterBand(d, 1));
    for (int k = 0; k < *bands; k++) {
        unsigned char *tmp = malloc((size_t)*w * *h);
        CHECK(GDALRasterIO(GDALGetRasterBand(d, k + 1), GF_Read, 0, 0, *w, *h, tmp, *w, *h, GDT_Byte, 0, 0) == CE_None);
        for (int i = 0; i < *w * *h; i++) {
            if (ct) {
                const GDALColorEntry *e = GDALGetColorEntry(ct, tmp[i]);
                px[4 * i] = (unsigned char)e->c1, px[4 * i + 1] = (unsigned char)e->c2;
                px[4 * i + 2] = (unsigned char)e->c3, px[4 * i + 3] = (unsigned char)e->c4;
            } else {
                px[4 * i + k] = tmp[i];
                if (*bands == 3) px[4 * i + 3] = 255;
            }
        }
        free(tmp);
    }
    GDALClose(d);
    VSIUnlink("/vsimem/t.img");
    return px;
}

ND_TEST(png_palette_and_rgba_round_trip) {
    float v[4] = {0, 10, NAN, 5};
    nd_colormap cm;
    nd_colormap_init(&cm, 0, 10);
    nd_image im;
    nd_render_colormap(v, 2, 2, &cm, &im);
    nd_buf b = {0};
    nd_error err = {0};
    CHECK_INT(nd_encode_png(&im, &b, &err), 0);
    CHECK(memcmp(b.data, "\x89PNG", 4) == 0);
    CHECK_INT((unsigned char)b.data[25], 3); /* colour type 3: palette */
    int w, h, n;
    unsigned char *px = decode(&b, &w, &h, &n);
    CHECK_INT(w, 2);
    for (int i = 0; i < 4; i++) {
        nd_rgba c = nd_colormap_value_color(&cm, v[i]);
        CHECK_INT(px[4 * i + 3], c.a);
        if (c.a) CHECK(px[4 * i] == c.r && px[4 * i + 1] == c.g && px[4 * i + 2] == c.b);
    }
    free(px);
    nd_image_free(&im);
    /* RGB composite: opaque -> an RGB PNG, stretched values */
    float r[2] = {0, 100}, g[2] = {50, 100}, bl[2] = {100, 0};
    const float *bands[3] = {r, g, bl};
    double lo[3] = {0, 0, 0}, hi[3] = {100, 100, 100};
    nd_render_rgb(bands, 2, 1, lo, hi, (nd_rgba){0, 0, 0, 0}, &im);
    nd_buf_reset(&b);
    CHECK_INT(nd_encode_png(&im, &b, &err), 0);
    CHECK_INT((unsigned char)b.data[25], 2); /* RGB */
    px = decode(&b, &w, &h, &n);
    CHECK(px[0] == 0 && px[1] == 128 && px[2] == 255 && px[4] == 255 && px[6] == 0);
    free(px);
    nd_image_free(&im);
    nd_buf_free(&b);
}

ND_TEST(jpeg_webp_geotiff) {
    nd_image im;
    nd_render_blank(16, 8, (nd_rgba){200, 10, 10, 255}, &im);
    nd_buf b = {0};
    nd_error err = {0};
    CHECK_INT(nd_encode_jpeg(&im, 90, &b, &err), 0);
    CHECK(memcmp(b.data, "\xff\xd8\xff", 3) == 0);
    int w, h, n;
    unsigned char *px = decode(&b, &w, &h, &n);
    CHECK(w == 16 && h == 8 && abs(px[0] - 200) < 6 && px[1] < 20);
    free(px);
    nd_buf_reset(&b);
    CHECK_INT(nd_encode_webp(&im, 90, &b, &err), 0);
    CHECK(memcmp(b.data, "RIFF", 4) == 0 && memcmp(b.data + 8, "WEBP", 4) == 0);
    nd_image_free(&im);
    float v[6] = {1.5f, 2, NAN, 4, 5, 6};
    double gt[6] = {10, 0.5, 0, 50, 0, -0.5};
    nd_buf_reset(&b);
    CHECK_INT(nd_encode_geotiff(v, 3, 2, gt, "EPSG:4326", &b, &err), 0);
    VSILFILE *f = VSIFileFromMemBuffer("/vsimem/t.tif", (GByte *)b.data, b.len, FALSE);
    VSIFCloseL(f);
    GDALDatasetH d = GDALOpen("/vsimem/t.tif", GA_ReadOnly);
    CHECK(d != NULL);
    double g2[6];
    GDALGetGeoTransform(d, g2);
    for (int i = 0; i < 6; i++) CHECK_NEAR(g2[i], gt[i], 0);
    float back[6];
    CHECK(GDALRasterIO(GDALGetRasterBand(d, 1), GF_Read, 0, 0, 3, 2, back, 3, 2, GDT_Float32, 0, 0) == CE_None);
    for (int i = 0; i < 6; i++) CHECK(isnan(v[i]) ? isnan(back[i]) : back[i] == v[i]);
    CHECK_CONTAINS(GDALGetProjectionRef(d), "4326");
    GDALClose(d);
    VSIUnlink("/vsimem/t.tif");
    nd_buf_free(&b);
}

ND_TEST(legend_and_message) {
    nd_colormap cm;
    nd_colormap_init(&cm, -2, 30);
    nd_buf b = {0};
    nd_error err = {0};
    CHECK_INT(nd_legend_png(&cm, 110, 264, "sst", "degC", &b, &err), 0);
    int w, h, n;
    unsigned char *px = decode(&b, &w, &h, &n);
    CHECK(w == 110 && h == 264);
    /* the bar: the palette's last colour near the top, its first near the bottom, at x=16 */
    nd_rgba top = nd_colormap_band_color(&cm, cm.nbands - 1);
    const unsigned char *p = px + 4 * (22 * w + 16);
    CHECK(abs(p[0] - top.r) + abs(p[1] - top.g) + abs(p[2] - top.b) < 10);
    free(px);
    nd_buf_reset(&b);
    cm.palette = nd_palette_find("tab10");
    cm.nbands = 4;
    CHECK_INT(nd_legend_png(&cm, 100, 120, "classes", NULL, &b, &err), 0);
    nd_buf_free(&b);
    nd_image im;
    CHECK_INT(nd_render_message(64, 32, (nd_rgba){255, 255, 255, 255}, "LayerNotDefined: no such layer", &im), 0);
    size_t red = 0;
    for (int i = 0; i < 64 * 32; i++) red += im.pixels[4 * i] > 150 && im.pixels[4 * i + 1] < 100;
    CHECK(red > 10);
    nd_image_free(&im);
}

ND_TEST(vector_shapes_drawn_with_the_style) {
    /* a 10 x 10 square filled red with no stroke, and a point as a 6 px blue disc */
    double xy[] = {5, 5, 15, 5, 15, 15, 5, 15, 5, 5, 30, 10};
    size_t parts[] = {0, 5, 6};
    nd_shape shapes[] = {{ND_GEOM_POLYGON, 0, 1, NULL, 0, 0}, {ND_GEOM_POINT, 1, 1, NULL, 0, 0}};
    nd_shapes s = {shapes, 2, parts, 2, xy, 6};
    nd_vector_style vs;
    nd_vector_style_init(&vs);
    vs.fill = rgb(0xff0000);
    vs.stroke.a = 0;
    nd_image im;
    CHECK_INT(nd_render_shapes(&s, 40, 20, &vs, &im), 0);
    const uint8_t *p = im.pixels + 4 * (10 * 40 + 10);
    CHECK(p[0] == 255 && p[1] == 0 && p[2] == 0 && p[3] == 255);
    CHECK_INT(im.pixels[4 * (2 * 40 + 2) + 3], 0); /* outside: transparent */
    p = im.pixels + 4 * (10 * 40 + 30);
    CHECK(p[0] == 255 && p[3] == 255); /* the point got the fill too */
    nd_image_free(&im);
}

ND_TEST(styles_checked_at_startup) {
    char *layers[] = {"a/b"};
    char *rgb2[] = {"B04", "B03"};
    char *bad_range[] = {"0,1", "0,1", "5,1"};
    nd_style_conf st = {.name = "s", .layers = layers, .nlayers = 1, .palette = "viridis"};
    nd_config cfg = {.styles = &st, .nstyles = 1};
    char err[512];
    CHECK_INT(nd_styles_check(&cfg, err, sizeof err), 0);
    st.palette = "viridiss";
    CHECK(nd_styles_check(&cfg, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "unknown palette 'viridiss'");
    CHECK_CONTAINS(err, "cividis");
    st.palette = "thermal";
    st.rgb = rgb2;
    st.nrgb = 2;
    CHECK(nd_styles_check(&cfg, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "a composite has 3");
    st.nrgb = 0;
    st.ranges = bad_range;
    st.nranges = 3;
    CHECK(nd_styles_check(&cfg, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "'5,1'");
}
