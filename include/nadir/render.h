/* Drawing maps: colour maps and styles over float grids, RGB composites, image encoders, legends. */
#ifndef NADIR_RENDER_H
#define NADIR_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nadir/arena.h"
#include "nadir/config.h"
#include "nadir/error.h"

typedef struct nd_rgba {
    uint8_t r, g, b, a;
} nd_rgba;

/* A named colour map: anchors spaced evenly over 0..1 (continuous) or classes (categorical). */
typedef struct nd_palette {
    const char *name;
    const char *title;
    bool categorical;
    size_t n;
    const uint32_t *colors; /* 0xRRGGBB */
} nd_palette;

const nd_palette *nd_palette_find(const char *name);   /* case-insensitive; NULL when unknown */
size_t nd_palette_count(void);
const nd_palette *nd_palette_at(size_t i);
/* The colour at t in 0..1 (continuous palettes interpolate linearly between anchors). */
nd_rgba nd_palette_color(const nd_palette *p, double t);
/* Parses "#RRGGBB", "0xRRGGBB", "RRGGBB", "#AARRGGBB"/"0xAARRGGBB" (ncWMS) or "transparent"; -1 if none. */
int nd_color_parse(const char *s, nd_rgba *out);

/* How values become colours (ncWMS parameters in brackets). */
typedef struct nd_colormap {
    const nd_palette *palette;  /* PALETTE / STYLES=default-scalar/NAME */
    double min, max;            /* COLORSCALERANGE */
    bool log;                   /* LOGSCALE: needs min > 0 */
    int nbands;                 /* NUMCOLORBANDS, 2..250 */
    nd_rgba below, above;       /* BELOWMINCOLOR / ABOVEMAXCOLOR (used unless *_extend) */
    bool below_extend, above_extend; /* "extend": the first/last colour of the map (default) */
    nd_rgba nodata;             /* transparent unless TRANSPARENT=FALSE (then BGCOLOR) */
} nd_colormap;

/* Defaults: viridis, 254 bands, linear, extend both ends, transparent nodata; range min..max. */
void nd_colormap_init(nd_colormap *cm, double min, double max);
/* The band (0..nbands-1) of a value, or -1 below, -2 above, -3 nodata. */
int nd_colormap_band(const nd_colormap *cm, float v);
nd_rgba nd_colormap_band_color(const nd_colormap *cm, int band);
/* The colour a value gets (the same as in the rendered image). */
nd_rgba nd_colormap_value_color(const nd_colormap *cm, float v);

/* An image: indexed (a palette of at most 256 colours, one byte per pixel) or RGBA (4 bytes a pixel). */
typedef struct nd_image {
    int width, height;
    bool indexed;
    uint8_t *pixels;
    nd_rgba palette[256];
    int npalette;
} nd_image;

void nd_image_free(nd_image *im);
/* Colours n = w*h values through cm into an indexed image (palette: bands, below, above, nodata). */
int nd_render_colormap(const float *values, int width, int height, const nd_colormap *cm, nd_image *out);
/* Three bands stretched linearly from lo[k]..hi[k] to 0..255; transparent (or bg) where any band is NaN. */
int nd_render_rgb(const float *const bands[3], int width, int height, const double lo[3], const double hi[3],
                  nd_rgba nodata, nd_image *out);
/* An image of one colour (EXCEPTIONS=BLANK, layers outside the window). */
int nd_render_blank(int width, int height, nd_rgba c, nd_image *out);
/* Writes a short message into the image (EXCEPTIONS=INIMAGE), with Cairo. */
int nd_render_message(int width, int height, nd_rgba bg, const char *text, nd_image *out);

/* Encoders append to out. PNG: 8-bit palette with tRNS for indexed images, else RGBA (or RGB when opaque). */
int nd_encode_png(const nd_image *im, nd_buf *out, nd_error *err);
/* JPEG (quality 1..100, alpha flattened onto white or bg) and WebP through GDAL's drivers in /vsimem/. */
int nd_encode_jpeg(const nd_image *im, int quality, nd_buf *out, nd_error *err);
int nd_encode_webp(const nd_image *im, int quality, nd_buf *out, nd_error *err);
/* A Float32 GeoTIFF of the values, NaN as nodata, with geotransform gt and CRS crs (EPSG:n or WKT). */
int nd_encode_geotiff(const float *values, int width, int height, const double gt[6], const char *crs, nd_buf *out,
                      nd_error *err);

/* How vector features are drawn (the style's fill, stroke, stroke_width, point_size, label). */
typedef struct nd_vector_style {
    nd_rgba fill;               /* polygons and point symbols; transparent: not filled */
    nd_rgba stroke;             /* outlines and lines; transparent: not stroked */
    double stroke_width;        /* pixels */
    double point_size;          /* diameter of point symbols, pixels */
    nd_rgba label_color;        /* labels (with a white halo) */
    double label_size;          /* font size, pixels */
} nd_vector_style;

struct nd_shapes;
/* Defaults: a light land fill, grey outlines 1 px, red points 6 px, dark 11 px labels. */
void nd_vector_style_init(nd_vector_style *vs);
/* Draws shapes (pixel coordinates, nadir/vector.h) with Cairo, antialiased, into an RGBA image of width x height
 * on a transparent background; labels last, so no feature covers them. */
int nd_render_shapes(const struct nd_shapes *s, int width, int height, const nd_vector_style *vs, nd_image *out);
/* A legend for a vector style: a swatch of the symbol and the title. */
int nd_legend_vector_png(const nd_vector_style *vs, int geom_kind, int width, int height, const char *title, nd_buf *out,
                         nd_error *err);

/* The configured styles against the renderers (known palette, 3 composite bands, per-band ranges); on error writes
 * "style 'NAME': why" into err. Run at start-up so a typo fails there, not as a silent fallback. */
int nd_styles_check(const nd_config *cfg, char *err, size_t errlen);
struct nd_registry;
/* The styles' layers and composite bands against the opened datasets (a layer of a dataset that is not configured
 * is let through: a job may publish it later). */
int nd_styles_check_layers(const nd_config *cfg, const struct nd_registry *reg, char *err, size_t errlen);

/* A colour-bar legend (PNG) with ticks and the title/units, or the class list of a categorical palette. */
int nd_legend_png(const nd_colormap *cm, int width, int height, const char *title, const char *units, nd_buf *out,
                  nd_error *err);

#endif
