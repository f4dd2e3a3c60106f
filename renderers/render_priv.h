/* Shared by the Cairo drawers of renderers/ (legend.c, vector.c). */
#ifndef NADIR_RENDER_PRIV_H
#define NADIR_RENDER_PRIV_H

#include <cairo.h>

#include "nadir/render.h"

/* The surface's premultiplied ARGB32 pixels as straight RGBA into out (allocated; nd_image_free). */
void nd_cairo_to_image(cairo_surface_t *s, int width, int height, nd_image *out);

#endif
