/* Named colour maps and the value -> colour rules of a style (range, log scale, bands, out-of-range colours). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/render.h"

/* Anchors sampled from matplotlib (viridis, cividis), cmocean (thermal, balance) and the classic maps. */
static const uint32_t viridis[] = {0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e,
                                   0x1f9e89, 0x35b779, 0x6ece58, 0xb5de2b, 0xfde725};
static const uint32_t cividis[] = {0x00224e, 0x123570, 0x3b496c, 0x575d6d, 0x707173,
                                   0x8a8678, 0xa59c74, 0xc3b369, 0xe1cc55, 0xfee838};
static const uint32_t thermal[] = {0x042333, 0x15306e, 0x3d3a9a, 0x64448f, 0x8a5186,
                                   0xb15e7a, 0xd66e63, 0xf08b46, 0xfbb63b, 0xe8fa5b};
static const uint32_t balance[] = {0x181c43, 0x1b3a8c, 0x1f6bbb, 0x6a9cc2, 0xb6cdd6, 0xf1eceb,
                                   0xdeb0a0, 0xcc7559, 0xae3a2b, 0x7b0d1d, 0x3c0912};
static const uint32_t rainbow[] = {0x0000ff, 0x00ffff, 0x00ff00, 0xffff00, 0xff0000};
static const uint32_t greyscale[] = {0x000000, 0xffffff};
static const uint32_t redblue[] = {0x0000ff, 0xffffff, 0xff0000};
/* Categorical: Tableau 10, and a palette for flags (0 = no, 1 = yes). */
static const uint32_t tab10[] = {0x1f77b4, 0xff7f0e, 0x2ca02c, 0xd62728, 0x9467bd,
                                 0x8c564b, 0xe377c2, 0x7f7f7f, 0xbcbd22, 0x17becf};
static const uint32_t flags[] = {0xd9d9d9, 0xe41a1c, 0x377eb8, 0x4daf4a, 0x984ea3, 0xff7f00};

#define P(name, title, cat, arr) {name, title, cat, sizeof arr / sizeof arr[0], arr}
static const nd_palette palettes[] = {
    P("viridis", "Viridis (perceptually uniform)", false, viridis),
    P("cividis", "Cividis (colour-blind friendly)", false, cividis),
    P("thermal", "Thermal (temperature)", false, thermal),
    P("balance", "Balance (diverging)", false, balance),
    P("redblue", "Blue-white-red (diverging)", false, redblue),
    P("rainbow", "Rainbow", false, rainbow),
    P("greyscale", "Greyscale", false, greyscale),
    P("tab10", "Ten classes (categorical)", true, tab10),
    P("flags", "Flags (categorical)", true, flags),
};

size_t nd_palette_count(void) { return sizeof palettes / sizeof palettes[0]; }
const nd_palette *nd_palette_at(size_t i) { return i < nd_palette_count() ? &palettes[i] : NULL; }

const nd_palette *nd_palette_find(const char *name) {
    if (!name) return NULL;
    if (strcasecmp(name, "grayscale") == 0 || strcasecmp(name, "greyscale") == 0) return &palettes[6];
    if (strcasecmp(name, "diverging") == 0) return &palettes[3];
    for (size_t i = 0; i < nd_palette_count(); i++)
        if (strcasecmp(palettes[i].name, name) == 0) return &palettes[i];
    return NULL;
}

static nd_rgba rgb(uint32_t c) { return (nd_rgba){(uint8_t)(c >> 16), (uint8_t)(c >> 8), (uint8_t)c, 255}; }

nd_rgba nd_palette_color(const nd_palette *p, double t) {
    if (p->categorical) {
        long k = lround(t * (double)(p->n - 1));
        return rgb(p->colors[k < 0 ? 0 : (size_t)k >= p->n ? p->n - 1 : (size_t)k]);
    }
    if (!(t > 0)) return rgb(p->colors[0]);
    if (t >= 1) return rgb(p->colors[p->n - 1]);
    double x = t * (double)(p->n - 1);
    size_t i = (size_t)x;
    double f = x - (double)i;
    nd_rgba a = rgb(p->colors[i]), b = rgb(p->colors[i + 1]);
    return (nd_rgba){(uint8_t)lround(a.r + f * (b.r - a.r)), (uint8_t)lround(a.g + f * (b.g - a.g)),
                     (uint8_t)lround(a.b + f * (b.b - a.b)), 255};
}

int nd_color_parse(const char *s, nd_rgba *out) {
    if (!s) return -1;
    if (strcasecmp(s, "transparent") == 0) {
        *out = (nd_rgba){0, 0, 0, 0};
        return 0;
    }
    if (s[0] == '#') s++;
    else if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s += 2;
    size_t n = strlen(s);
    if (n != 6 && n != 8) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return -1;
    unsigned long v = strtoul(s, NULL, 16);
    *out = rgb((uint32_t)(v & 0xffffff));
    if (n == 8) out->a = (uint8_t)(v >> 24);
    return 0;
}

void nd_colormap_init(nd_colormap *cm, double min, double max) {
    memset(cm, 0, sizeof *cm);
    cm->palette = &palettes[0];
    cm->min = min;
    cm->max = max;
    cm->nbands = 250;
    cm->below_extend = cm->above_extend = true;
    cm->nodata = (nd_rgba){0, 0, 0, 0};
}

int nd_colormap_band(const nd_colormap *cm, float v) {
    if (isnan(v)) return -3;
    double t;
    if (cm->palette->categorical) {
        /* classes: integer values from min, one colour each */
        double k = floor((double)v - cm->min + 0.5);
        if (k < 0) return -1;
        if (k >= (double)cm->nbands) return -2;
        return (int)k;
    }
    if (cm->log) {
        if (v <= 0 || v < cm->min) return -1;
        t = (log((double)v) - log(cm->min)) / (log(cm->max) - log(cm->min));
    } else {
        if (v < cm->min) return -1;
        t = ((double)v - cm->min) / (cm->max - cm->min);
    }
    if (v > cm->max) return -2;
    int b = (int)(t * cm->nbands);
    return b < 0 ? 0 : b >= cm->nbands ? cm->nbands - 1 : b;
}

nd_rgba nd_colormap_band_color(const nd_colormap *cm, int band) {
    if (band == -3) return cm->nodata;
    if (band == -1) return cm->below_extend ? nd_colormap_band_color(cm, 0) : cm->below;
    if (band == -2) return cm->above_extend ? nd_colormap_band_color(cm, cm->nbands - 1) : cm->above;
    if (cm->palette->categorical) return rgb(cm->palette->colors[(size_t)band % cm->palette->n]);
    return nd_palette_color(cm->palette, cm->nbands > 1 ? (double)band / (cm->nbands - 1) : 0);
}

nd_rgba nd_colormap_value_color(const nd_colormap *cm, float v) {
    return nd_colormap_band_color(cm, nd_colormap_band(cm, v));
}

void nd_image_free(nd_image *im) {
    free(im->pixels);
    im->pixels = NULL;
}

/* Palette layout: 0 nodata, 1 below, 2 above, 3.. the bands. */
int nd_render_colormap(const float *values, int width, int height, const nd_colormap *cm, nd_image *out) {
    memset(out, 0, sizeof *out);
    int nb = cm->nbands < 1 ? 1 : cm->nbands > 253 ? 253 : cm->nbands;
    nd_colormap c = *cm;
    c.nbands = nb;
    out->width = width;
    out->height = height;
    out->indexed = true;
    out->npalette = 3 + nb;
    out->palette[0] = nd_colormap_band_color(&c, -3);
    out->palette[1] = nd_colormap_band_color(&c, -1);
    out->palette[2] = nd_colormap_band_color(&c, -2);
    for (int b = 0; b < nb; b++) out->palette[3 + b] = nd_colormap_band_color(&c, b);
    size_t n = (size_t)width * (size_t)height;
    out->pixels = nd_xmalloc(n ? n : 1);
    uint8_t *px = out->pixels;
    if (!c.log && !c.palette->categorical && c.max > c.min) {
        /* the common case without per-pixel branches on the style */
        const float lo = (float)c.min, hi = (float)c.max;
        const double k = nb / (c.max - c.min);
        for (size_t i = 0; i < n; i++) {
            float v = values[i];
            if (isnan(v)) px[i] = 0;
            else if (v < lo) px[i] = 1;
            else if (v > hi) px[i] = 2;
            else {
                int b = (int)(((double)v - c.min) * k);
                px[i] = (uint8_t)(3 + (b >= nb ? nb - 1 : b));
            }
        }
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int b = nd_colormap_band(&c, values[i]);
        px[i] = (uint8_t)(b == -3 ? 0 : b == -1 ? 1 : b == -2 ? 2 : 3 + b);
    }
    return 0;
}

/* (v - lo) * k, clamped to 0..255 and rounded; k = 255 / (hi - lo) */
static inline uint8_t stretch(float v, float lo, float k) {
    float t = (v - lo) * k;
    return (uint8_t)(t <= 0 ? 0 : t >= 255 ? 255 : (int)(t + 0.5f));
}

int nd_render_rgb(const float *const bands[3], int width, int height, const double lo[3], const double hi[3],
                  nd_rgba nodata, nd_image *out) {
    memset(out, 0, sizeof *out);
    out->width = width;
    out->height = height;
    size_t n = (size_t)width * (size_t)height;
    out->pixels = nd_xmalloc(4 * (n ? n : 1));
    uint8_t *p = out->pixels;
    float l[3], k[3];
    for (int b = 0; b < 3; b++) {
        l[b] = (float)lo[b];
        k[b] = hi[b] > lo[b] ? (float)(255.0 / (hi[b] - lo[b])) : 0;
    }
    for (size_t i = 0; i < n; i++, p += 4) {
        float r = bands[0][i], g = bands[1][i], b = bands[2][i];
        if (isnan(r) || isnan(g) || isnan(b)) {
            p[0] = nodata.r, p[1] = nodata.g, p[2] = nodata.b, p[3] = nodata.a;
            continue;
        }
        p[0] = stretch(r, l[0], k[0]);
        p[1] = stretch(g, l[1], k[1]);
        p[2] = stretch(b, l[2], k[2]);
        p[3] = 255;
    }
    return 0;
}

int nd_render_blank(int width, int height, nd_rgba c, nd_image *out) {
    memset(out, 0, sizeof *out);
    out->width = width;
    out->height = height;
    out->indexed = true;
    out->npalette = 1;
    out->palette[0] = c;
    out->pixels = nd_xcalloc((size_t)width * (size_t)height + 1, 1);
    return 0;
}
