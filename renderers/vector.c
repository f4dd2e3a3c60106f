/* Vector features drawn with Cairo: polygons filled and outlined, lines stroked, points as discs, labels with a
 * halo; and the legend swatch of a vector style. */
#include <math.h>
#include <string.h>

#include "nadir/vector.h"
#include "render_priv.h"

static void set_color(cairo_t *cr, nd_rgba c) {
    cairo_set_source_rgba(cr, c.r / 255.0, c.g / 255.0, c.b / 255.0, c.a / 255.0);
}

void nd_vector_style_init(nd_vector_style *vs) {
    vs->fill = (nd_rgba){0xe8, 0xe0, 0xcc, 255};
    vs->stroke = (nd_rgba){0x6e, 0x6e, 0x6e, 255};
    vs->stroke_width = 1;
    vs->point_size = 6;
    vs->label_color = (nd_rgba){0x22, 0x22, 0x22, 255};
    vs->label_size = 11;
}

/* Paints the current path with the fill, then strokes it, keeping the path between the two. */
static void paint(cairo_t *cr, const nd_vector_style *vs, bool fill) {
    if (fill && vs->fill.a) {
        set_color(cr, vs->fill);
        cairo_fill_preserve(cr);
    }
    if (vs->stroke.a && vs->stroke_width > 0) {
        set_color(cr, vs->stroke);
        cairo_set_line_width(cr, vs->stroke_width);
        cairo_stroke_preserve(cr);
    }
    cairo_new_path(cr);
}

static void draw_shape(cairo_t *cr, const nd_shapes *s, const nd_shape *sh, const nd_vector_style *vs) {
    for (size_t p = sh->first_part; p < sh->first_part + sh->nparts; p++) {
        size_t a = s->part_start[p], b = s->part_start[p + 1];
        const double *xy = s->xy;
        if (sh->kind == ND_GEOM_POINT) {
            for (size_t k = a; k < b; k++) {
                cairo_new_sub_path(cr);
                cairo_arc(cr, xy[2 * k], xy[2 * k + 1], vs->point_size / 2, 0, 2 * M_PI);
            }
            continue;
        }
        if (b - a < 2) continue;
        cairo_move_to(cr, xy[2 * a], xy[2 * a + 1]);
        for (size_t k = a + 1; k < b; k++) cairo_line_to(cr, xy[2 * k], xy[2 * k + 1]);
        if (sh->kind == ND_GEOM_POLYGON) cairo_close_path(cr);
    }
    /* a polygon's rings in one path, filled even-odd: holes stay holes whatever their orientation */
    paint(cr, vs, sh->kind != ND_GEOM_LINE);
}

static void draw_label(cairo_t *cr, const nd_shape *sh, const nd_vector_style *vs) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, sh->label, &ext);
    double x = sh->lx - ext.width / 2 - ext.x_bearing, y = sh->ly - ext.height / 2 - ext.y_bearing;
    if (sh->kind == ND_GEOM_POINT) { /* beside the symbol, not on it */
        x = sh->lx + vs->point_size / 2 + 2;
        y = sh->ly - ext.height / 2 - ext.y_bearing;
    }
    cairo_move_to(cr, x, y);
    cairo_text_path(cr, sh->label);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_set_line_width(cr, 2.5);
    cairo_stroke_preserve(cr);
    set_color(cr, vs->label_color);
    cairo_fill(cr);
}

int nd_render_shapes(const nd_shapes *s, int width, int height, const nd_vector_style *vs, nd_image *out) {
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return -1;
    }
    cairo_t *cr = cairo_create(surf);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    for (size_t i = 0; i < s->nshapes; i++) draw_shape(cr, s, &s->shapes[i], vs);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, vs->label_size);
    for (size_t i = 0; i < s->nshapes; i++)
        if (s->shapes[i].label && *s->shapes[i].label) draw_label(cr, &s->shapes[i], vs);
    cairo_destroy(cr);
    nd_cairo_to_image(surf, width, height, out);
    cairo_surface_destroy(surf);
    return 0;
}

static cairo_status_t write_buf(void *closure, const unsigned char *data, unsigned int len) {
    nd_buf_append(closure, data, len);
    return CAIRO_STATUS_SUCCESS;
}

int nd_legend_vector_png(const nd_vector_style *vs, int geom_kind, int width, int height, const char *title, nd_buf *out,
                         nd_error *err) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return nd_fail(err, ND_E_INTERNAL, "", "cannot draw the legend");
    }
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double cy = 14, x0 = 6;
    if (geom_kind == ND_GEOM_POINT) {
        cairo_arc(cr, x0 + 8, cy, vs->point_size / 2, 0, 2 * M_PI);
        paint(cr, vs, true);
    } else if (geom_kind == ND_GEOM_LINE) {
        cairo_move_to(cr, x0, cy);
        cairo_line_to(cr, x0 + 16, cy);
        paint(cr, vs, false);
    } else {
        cairo_rectangle(cr, x0, cy - 6, 16, 12);
        paint(cr, vs, true);
    }
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, x0 + 22, cy + 4);
    cairo_show_text(cr, title ? title : "");
    cairo_destroy(cr);
    cairo_status_t st = cairo_surface_write_to_png_stream(s, write_buf, out);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) return nd_fail(err, ND_E_INTERNAL, "", "cannot encode the legend");
    return 0;
}
