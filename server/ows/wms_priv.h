/* Shared by the WMS files (wms.c, wms_capabilities.c, wms_getmap.c, wms_featureinfo.c): the layer table
 * built at start-up and the parsing of the parameters the operations have in common. */
#ifndef NADIR_WMS_PRIV_H
#define NADIR_WMS_PRIV_H

#include <stdbool.h>

#include "nadir/app.h"
#include "nadir/ows.h"
#include "nadir/read.h"
#include "nadir/render.h"
#include "nadir/vector.h"

#define WMS_MAX_SIZE 4096       /* MaxWidth / MaxHeight */
#define WMS_MAX_LAYERS 16       /* layers in one GetMap */
#define WMS_MAX_SERIES 1000     /* time steps in one GetFeatureInfo time series */

typedef enum { WMS_SCALAR, WMS_RGB, WMS_VECTOR } wms_kind;

/* A composite's bands and their stretch: the layer's own, or one per configured style. */
typedef struct wms_rgb {
    const nd_variable *vars[3]; /* red, green, blue */
    double lo[3], hi[3];        /* each band stretched from lo to hi */
} wms_rgb;

typedef struct wms_layer {
    char *name;                 /* "dataset/variable", "dataset/rgb" or "dataset/<vector layer>" */
    char *title;
    const nd_dataset *ds;
    wms_kind kind;
    const nd_variable *var;     /* scalar layers */
    const nd_variable *rgb[3];  /* composites: red, green, blue */
    double min, max;            /* default colour range (from the data) */
    double lo[3], hi[3];        /* composites: per-band stretch */
    const nd_palette *palette;  /* default colour map */
    size_t vlayer;              /* vector layers: index into ds->vector->layers */
    nd_geom_kind geom;          /* vector layers: points, lines or polygons */
    wms_rgb style_rgb[8];       /* composites: the bands and stretch of styles[i] */
    const nd_style_conf *styles[8]; /* configured styles offered by the layer */
    size_t nstyles;
    const nd_style_conf *default_style; /* the configured one marked default, or NULL */
} wms_layer;

typedef struct wms_state {
    wms_layer *layers;
    size_t n;
} wms_state;

const wms_state *wms_state_get(void);
const wms_layer *wms_layer_find(const char *name);

/* A resolved style for one layer. */
typedef struct wms_style {
    bool rgb;
    wms_rgb bands;              /* composites */
    nd_vector_style vs;         /* vector layers */
    const char *label;          /* vector layers: the labelling attribute, or NULL */
    nd_colormap cm;
    nd_resampling rs;
} wms_style;

/* The map window shared by GetMap and GetFeatureInfo. */
typedef struct wms_map {
    const wms_layer *layers[WMS_MAX_LAYERS];
    wms_style styles[WMS_MAX_LAYERS];
    size_t nlayers;
    const char *crs;            /* as GDAL takes it */
    double bbox[4];             /* minx, miny, maxx, maxy in x/y (easting/northing) order */
    int width, height;
    const char *format;
    bool transparent;
    nd_rgba bg;
    const char *time, *elevation; /* TIME / ELEVATION as given, NULL for the defaults */
    bool v111;
} wms_map;

/* Parses LAYERS, STYLES, CRS/SRS, BBOX, WIDTH, HEIGHT, TRANSPARENT, BGCOLOR, TIME, ELEVATION and the ncWMS
 * style parameters; errors use the right WMS code (InvalidSRS for 1.1.1). */
int wms_parse_map(nd_req *rq, wms_map *m, const char *layers_key);
/* STYLES entry name ("" = default) for layer l, refined by PALETTE, COLORSCALERANGE, NUMCOLORBANDS, LOGSCALE,
 * ABOVEMAXCOLOR, BELOWMINCOLOR, INTERPOLATION. */
int wms_parse_style(nd_req *rq, const wms_layer *l, const char *name, wms_style *st);
/* Resolves a TIME and an ELEVATION value (NULL: the defaults, latest time and first level) for layer l. */
int wms_resolve_dims(nd_req *rq, const wms_layer *l, const char *time, const char *elevation, size_t *t, size_t *z);
/* The time steps [*first, *last] inside a TIME interval "a/b" (refused past max steps). */
int wms_time_range(nd_req *rq, const nd_dataset *ds, const char *value, size_t max, size_t *first, size_t *last);
/* A per-thread scratch buffer reused between requests (slot 0..3). */
float *wms_scratch(int slot, size_t nfloats);
/* Frees the scratch buffers of maps larger than 1024x1024, once the response no longer needs them. */
void wms_scratch_trim(void);

int wms_getcapabilities(nd_req *rq, nd_resp *rs);
int wms_getmap(nd_req *rq, nd_resp *rs);
int wms_getfeatureinfo(nd_req *rq, nd_resp *rs);
int wms_getlegendgraphic(nd_req *rq, nd_resp *rs);
void wms_render_error(nd_req *rq, nd_resp *rs);

/* Renders one layer into an image with its style; values (width*height floats) receive the data when
 * not NULL (scalar layers). */
int wms_render_layer(nd_req *rq, const wms_map *m, size_t i, nd_image *out, float **values);

#endif
