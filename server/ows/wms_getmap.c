/* WMS GetMap: each layer warped onto the requested window (data/), coloured by its style and encoded
 * (renderers/); errors as XML, in the image (INIMAGE) or as a blank image (BLANK). A WMTS or XYZ tile is this
 * with a 256x256 EPSG:3857 or CRS:84 window. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/warp.h"
#include "nadir/wms.h"
#include "wms_priv.h"

typedef enum { FMT_PNG, FMT_JPEG, FMT_WEBP, FMT_TIFF, FMT_UNKNOWN } map_format;
typedef enum { EXC_XML, EXC_INIMAGE, EXC_BLANK } exc_mode;

static map_format format_of(const char *f) {
    if (!f) return FMT_UNKNOWN;
    if (strcasecmp(f, "image/png") == 0 || strncasecmp(f, "image/png;", 10) == 0 || strcasecmp(f, "image/png8") == 0)
        return FMT_PNG;
    if (strcasecmp(f, "image/jpeg") == 0 || strcasecmp(f, "image/jpg") == 0) return FMT_JPEG;
    if (strcasecmp(f, "image/webp") == 0) return FMT_WEBP;
    if (strcasecmp(f, "image/tiff") == 0 || strcasecmp(f, "image/geotiff") == 0 ||
        strncasecmp(f, "image/tiff;", 11) == 0)
        return FMT_TIFF;
    return FMT_UNKNOWN;
}

static const char *const mime[] = {"image/png", "image/jpeg", "image/webp", "image/tiff"};

static exc_mode exceptions_of(const char *e) {
    if (!e) return EXC_XML;
    if (strcasecmp(e, "INIMAGE") == 0 || strcasecmp(e, "application/vnd.ogc.se_inimage") == 0) return EXC_INIMAGE;
    if (strcasecmp(e, "BLANK") == 0 || strcasecmp(e, "application/vnd.ogc.se_blank") == 0) return EXC_BLANK;
    return EXC_XML;
}

static void map_grid(const wms_map *m, nd_grid *g) {
    g->width = m->width;
    g->height = m->height;
    g->gt[0] = m->bbox[0];
    g->gt[1] = (m->bbox[2] - m->bbox[0]) / m->width;
    g->gt[2] = 0;
    g->gt[3] = m->bbox[3];
    g->gt[4] = 0;
    g->gt[5] = -(m->bbox[3] - m->bbox[1]) / m->height;
    g->crs = m->crs;
}

int wms_render_layer(nd_req *rq, const wms_map *m, size_t i, nd_image *out, float **values) {
    const wms_layer *l = m->layers[i];
    const wms_style *st = &m->styles[i];
    size_t t, z;
    if (wms_resolve_dims(rq, l, m->time, m->elevation, &t, &z) < 0) return -1;
    nd_grid g;
    map_grid(m, &g);
    size_t n = (size_t)m->width * (size_t)m->height;
    if (l->kind == WMS_VECTOR) {
        nd_shapes shapes;
        if (nd_vector_shapes(l->ds, l->vlayer, &g, st->label, rq->arena, &shapes, &rq->err) < 0) return -1;
        if (nd_render_shapes(&shapes, m->width, m->height, &st->vs, out) < 0)
            return nd_fail(&rq->err, ND_E_INTERNAL, "layers", "the features could not be drawn");
        if (!m->transparent) /* drawn over BGCOLOR, as the raster layers' no-data is */
            for (size_t k = 0; k < n; k++) {
                uint8_t *p = out->pixels + 4 * k;
                double a = p[3] / 255.0;
                p[0] = (uint8_t)lround(p[0] * a + m->bg.r * (1 - a));
                p[1] = (uint8_t)lround(p[1] * a + m->bg.g * (1 - a));
                p[2] = (uint8_t)lround(p[2] * a + m->bg.b * (1 - a));
                p[3] = 255;
            }
        return 0;
    }
    if (l->kind == WMS_RGB) {
        float *bufs[3] = {wms_scratch(1, n), wms_scratch(2, n), wms_scratch(3, n)};
        if (nd_read_warped_bands(l->ds, st->bands.vars, 3, t, z, &g, st->rs, bufs, &rq->err) < 0) return -1;
        const float *bands[3] = {bufs[0], bufs[1], bufs[2]};
        nd_rgba nodata = m->transparent ? (nd_rgba){0, 0, 0, 0} : m->bg;
        return nd_render_rgb(bands, m->width, m->height, st->bands.lo, st->bands.hi, nodata, out);
    }
    float *buf = wms_scratch(0, n);
    if (nd_read_warped(l->ds, l->var, t, z, &g, st->rs, buf, &rq->err) < 0) return -1;
    if (values) *values = buf;
    return nd_render_colormap(buf, m->width, m->height, &st->cm, out);
}

/* RGBA of pixel i of an image. */
static nd_rgba pixel(const nd_image *im, size_t i) {
    if (im->indexed) return im->palette[im->pixels[i]];
    const uint8_t *p = im->pixels + 4 * i;
    return (nd_rgba){p[0], p[1], p[2], p[3]};
}

/* Draws src over dst (both width*height; dst RGBA). */
static void composite(nd_image *dst, const nd_image *src) {
    size_t n = (size_t)dst->width * (size_t)dst->height;
    for (size_t i = 0; i < n; i++) {
        nd_rgba s = pixel(src, i);
        if (s.a == 0) continue;
        uint8_t *d = dst->pixels + 4 * i;
        if (s.a == 255 || d[3] == 0) {
            d[0] = s.r, d[1] = s.g, d[2] = s.b, d[3] = s.a;
            continue;
        }
        double a = s.a / 255.0, b = d[3] / 255.0 * (1 - a), o = a + b;
        d[0] = (uint8_t)lround((s.r * a + d[0] * b) / o);
        d[1] = (uint8_t)lround((s.g * a + d[1] * b) / o);
        d[2] = (uint8_t)lround((s.b * a + d[2] * b) / o);
        d[3] = (uint8_t)lround(o * 255);
    }
}

static int encode(const nd_image *im, map_format f, nd_resp *rs, nd_error *err) {
    int rc;
    switch (f) {
    case FMT_JPEG: rc = nd_encode_jpeg(im, 85, &rs->body, err); break;
    case FMT_WEBP: rc = nd_encode_webp(im, 85, &rs->body, err); break;
    default: rc = nd_encode_png(im, &rs->body, err); break;
    }
    if (rc < 0) return rc;
    rs->status = 200;
    rs->content_type = mime[f == FMT_TIFF ? FMT_PNG : f];
    return 0;
}

static int render(nd_req *rq, nd_resp *rs, const wms_map *m, map_format f) {
    if (f == FMT_TIFF) {
        /* the data values of the (first) layer, for analysis clients */
        if (m->layers[0]->kind != WMS_SCALAR)
            return nd_fail(&rq->err, ND_E_INVALID_FORMAT, "format", "image/tiff is offered for data layers only");
        const wms_layer *l = m->layers[0];
        size_t t, z;
        if (wms_resolve_dims(rq, l, m->time, m->elevation, &t, &z) < 0) return -1;
        nd_grid g;
        map_grid(m, &g);
        float *buf = wms_scratch(0, (size_t)m->width * (size_t)m->height);
        if (nd_read_warped(l->ds, l->var, t, z, &g, m->styles[0].rs, buf, &rq->err) < 0) return -1;
        if (nd_encode_geotiff(buf, m->width, m->height, g.gt, m->crs, &rs->body, &rq->err) < 0) return -1;
        rs->status = 200;
        rs->content_type = "image/tiff";
        return 0;
    }
    nd_image im = {0};
    if (wms_render_layer(rq, m, 0, &im, NULL) < 0) return -1;
    if (m->nlayers > 1) {
        /* several layers: flatten into RGBA, in request order (the first at the bottom) */
        nd_image acc = {0};
        acc.width = m->width;
        acc.height = m->height;
        acc.pixels = nd_xcalloc((size_t)m->width * (size_t)m->height, 4);
        composite(&acc, &im);
        nd_image_free(&im);
        for (size_t i = 1; i < m->nlayers; i++) {
            nd_image li = {0};
            if (wms_render_layer(rq, m, i, &li, NULL) < 0) {
                nd_image_free(&acc);
                return -1;
            }
            composite(&acc, &li);
            nd_image_free(&li);
        }
        im = acc;
    }
    int rc = encode(&im, f, rs, &rq->err);
    nd_image_free(&im);
    return rc;
}

/* EXCEPTIONS=INIMAGE / BLANK: the error drawn into (or as) an image of the requested size and format. */
static int image_exception(nd_req *rq, nd_resp *rs, exc_mode mode, map_format f) {
    const char *w = nd_req_query(rq, "WIDTH"), *h = nd_req_query(rq, "HEIGHT");
    long width = w ? strtol(w, NULL, 10) : 0, height = h ? strtol(h, NULL, 10) : 0;
    if (f == FMT_UNKNOWN || f == FMT_TIFF || width <= 0 || height <= 0 || width > WMS_MAX_SIZE ||
        height > WMS_MAX_SIZE)
        return -1; /* no image can be made: the XML report it is */
    const char *tr = nd_req_query(rq, "TRANSPARENT");
    const char *bgs = nd_req_query(rq, "BGCOLOR");
    nd_rgba bg = {255, 255, 255, 255};
    if (bgs) nd_color_parse(bgs, &bg);
    bg.a = 255;
    if (tr && strcasecmp(tr, "true") == 0) bg = (nd_rgba){0, 0, 0, 0};
    nd_image im = {0};
    if (mode == EXC_BLANK) nd_render_blank((int)width, (int)height, bg, &im);
    else {
        char msg[700];
        snprintf(msg, sizeof msg, "%s: %s", nd_error_ows_code(rq->err.code), rq->err.detail);
        nd_render_message((int)width, (int)height, bg, msg, &im);
    }
    nd_error e2 = {0};
    nd_buf_reset(&rs->body);
    int rc = encode(&im, f, rs, &e2);
    nd_image_free(&im);
    rs->cache_seconds = 0;
    return rc;
}

int wms_getmap(nd_req *rq, nd_resp *rs) {
    exc_mode mode = exceptions_of(nd_req_query(rq, "EXCEPTIONS"));
    const char *fs = nd_req_query(rq, "FORMAT");
    map_format f = format_of(fs);
    wms_map m;
    int rc = wms_parse_map(rq, &m, "LAYERS");
    if (rc == 0 && (!fs || !*fs)) rc = nd_fail(&rq->err, ND_E_MISSING_PARAM, "format", "FORMAT is required");
    if (rc == 0 && f == FMT_UNKNOWN)
        rc = nd_fail(&rq->err, ND_E_INVALID_FORMAT, "format", "FORMAT is not one of the GetMap formats");
    if (rc == 0) rc = render(rq, rs, &m, f);
    wms_scratch_trim();
    if (rc < 0 && mode != EXC_XML && image_exception(rq, rs, mode, f) == 0) return 0;
    if (rc < 0) return rc;
    rs->cache_seconds = 60;
    return 0;
}

/* ---- For the tile front-ends (WMTS, XYZ, OGC API Tiles): a tile is a GetMap of its window ---- */

size_t nd_wms_layer_count(void) { return __atomic_load_n(&wms_state_get()->n, __ATOMIC_ACQUIRE); }

const char *nd_wms_layer_name(size_t i) { return i < wms_state_get()->n ? wms_state_get()->layers[i].name : NULL; }

int nd_wms_render(nd_req *rq, const nd_map_query *q, nd_resp *rs) {
    wms_map m;
    memset(&m, 0, sizeof m);
    const wms_layer *l = q->layer ? wms_layer_find(q->layer) : NULL;
    if (!l) return nd_fail(&rq->err, ND_E_LAYER_NOT_DEFINED, "layer", "no layer is called that");
    if (nd_auth_check_layer(rq, l->name)) return -1;
    if (q->width <= 0 || q->height <= 0 || q->width > WMS_MAX_SIZE || q->height > WMS_MAX_SIZE)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "width", "image sizes are 1..%d", WMS_MAX_SIZE);
    if (!(q->bbox[0] < q->bbox[2]) || !(q->bbox[1] < q->bbox[3]))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "the window is empty");
    map_format f = format_of(q->format);
    if (f == FMT_UNKNOWN) return nd_fail(&rq->err, ND_E_INVALID_FORMAT, "format", "format not supported");
    m.layers[0] = l;
    m.nlayers = 1;
    if (wms_parse_style(rq, l, q->style ? q->style : "", &m.styles[0]) < 0) return -1;
    m.crs = q->crs;
    memcpy(m.bbox, q->bbox, sizeof m.bbox);
    m.width = q->width;
    m.height = q->height;
    m.format = q->format;
    m.transparent = q->transparent;
    m.bg = (nd_rgba){255, 255, 255, 255};
    m.styles[0].cm.nodata = q->transparent ? (nd_rgba){0, 0, 0, 0} : m.bg;
    m.time = q->time;
    m.elevation = q->elevation;
    int rc = render(rq, rs, &m, f);
    wms_scratch_trim();
    if (rc == 0) rs->cache_seconds = 60;
    return rc;
}
