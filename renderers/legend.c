/* Legends (a colour bar with ticks, title and units, or the class list) and in-image messages, drawn with Cairo. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cairo.h>

#include "render_priv.h"

static cairo_status_t write_buf(void *closure, const unsigned char *data, unsigned int len) {
    nd_buf_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

static void set_color(cairo_t *cr, nd_rgba c) { cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, c.a / 255.0); }

/* A tick label with few digits: the range decides the precision. */
static void tick_label(double v, double span, char *s, size_t n) {
    int digits = span > 0 ? (int)fmax(0, 2 - floor(log10(span))) : 2;
    if (digits > 6) digits = 6;
    snprintf(s, n, "%.*f", digits, v);
}

int nd_legend_png(const nd_colormap *cm, int width, int height, const char *title, const char *units, nd_buf *out,
                  nd_error *err) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return nd_fail(err, ND_E_INTERNAL, "", "cannot draw the legend");
    }
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    char head[300];
    snprintf(head, sizeof head, "%s%s%s%s", title ? title : "", units && *units ? " (" : "", units ? units : "",
             units && *units ? ")" : "");
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, 4, 13);
    cairo_show_text(cr, head);
    double top = 20, bottom = height - 6, barw = 20, x0 = 6;
    if (cm->palette->categorical) {
        /* one row per class */
        int n = cm->nbands > 0 ? cm->nbands : 1;
        double row = fmin(18, (bottom - top) / n);
        for (int k = 0; k < n; k++) {
            set_color(cr, nd_colormap_band_color(cm, k));
            cairo_rectangle(cr, x0, top + k * row + 1, barw, row - 2);
            cairo_fill(cr);
            char lab[64];
            snprintf(lab, sizeof lab, "%g", cm->min + k);
            cairo_set_source_rgb(cr, 0, 0, 0);
            cairo_move_to(cr, x0 + barw + 6, top + k * row + row / 2 + 4);
            cairo_show_text(cr, lab);
        }
    } else {
        /* the bar runs from max (top) to min (bottom), one rectangle per colour band */
        double h = bottom - top;
        for (int b = 0; b < cm->nbands; b++) {
            set_color(cr, nd_colormap_band_color(cm, b));
            double y1 = bottom - h * (b + 1) / cm->nbands, y0 = bottom - h * b / cm->nbands;
            cairo_rectangle(cr, x0, floor(y1), barw, ceil(y0) - floor(y1));
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_set_line_width(cr, 1);
        cairo_rectangle(cr, x0 + 0.5, top + 0.5, barw - 1, h - 1);
        cairo_stroke(cr);
        for (int k = 0; k <= 4; k++) {
            double f = k / 4.0, v;
            if (cm->log) v = exp(log(cm->min) + f * (log(cm->max) - log(cm->min)));
            else v = cm->min + f * (cm->max - cm->min);
            double y = bottom - f * h;
            cairo_move_to(cr, x0 + barw, y);
            cairo_line_to(cr, x0 + barw + 4, y);
            cairo_stroke(cr);
            char lab[64];
            tick_label(v, cm->max - cm->min, lab, sizeof lab);
            cairo_move_to(cr, x0 + barw + 7, y + 4);
            cairo_show_text(cr, lab);
        }
    }
    cairo_destroy(cr);
    cairo_surface_flush(s);
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_buf, out);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) return nd_fail(err, ND_E_INTERNAL, "", "cannot encode the legend");
    return 0;
}

int nd_render_message(int width, int height, nd_rgba bg, const char *text, nd_image *out) {
    memset(out, 0, sizeof *out);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    cairo_t *cr = cairo_create(s);
    set_color(cr, bg);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 12);
    cairo_set_source_rgb(cr, 0.8, 0, 0);
    /* wrap the message over lines of ~width/7 characters */
    size_t per = (size_t)(width / 7 > 8 ? width / 7 : 8), len = strlen(text);
    double y = 16;
    for (size_t off = 0; off < len && y < height; off += per, y += 15) {
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(per < sizeof line - 1 ? per : sizeof line - 1), text + off);
        cairo_move_to(cr, 4, y);
        cairo_show_text(cr, line);
    }
    cairo_destroy(cr);
    nd_cairo_to_image(s, width, height, out);
    cairo_surface_destroy(s);
    return 0;
}

void nd_cairo_to_image(cairo_surface_t *s, int width, int height, nd_image *out) {
    cairo_surface_flush(s);
    memset(out, 0, sizeof *out);
    out->width = width;
    out->height = height;
    out->pixels = nd_xmalloc((size_t)width * (size_t)height * 4 + 1);
    const uint8_t *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int j = 0; j < height; j++)
        for (int i = 0; i < width; i++) {
            uint32_t px;
            memcpy(&px, data + (size_t)j * (size_t)stride + 4 * (size_t)i, 4);
            uint8_t a = (uint8_t)(px >> 24), r = (uint8_t)(px >> 16), g = (uint8_t)(px >> 8), b = (uint8_t)px;
            uint8_t *o = out->pixels + 4 * ((size_t)j * (size_t)width + (size_t)i);
            /* Cairo stores premultiplied alpha */
            o[0] = a ? (uint8_t)((r * 255 + a / 2) / a) : 0;
            o[1] = a ? (uint8_t)((g * 255 + a / 2) / a) : 0;
            o[2] = a ? (uint8_t)((b * 255 + a / 2) / a) : 0;
            o[3] = a;
        }
}
