/* WMS GetFeatureInfo (the value with units under the clicked pixel, or its time series over a TIME interval,
 * as ncWMS gives it) in text/plain, application/json, text/html and text/xml; and GetLegendGraphic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "wms_priv.h"

typedef enum { INFO_TEXT, INFO_JSON, INFO_HTML, INFO_XML } info_format;

typedef struct {
    const wms_layer *l;
    size_t first, count;      /* time steps */
    bool series;
    double *values;           /* count x nbands */
    int nbands;
    nd_feature_info *feats;   /* vector layers: the features at the point */
    size_t nfeats;
} layer_info;

#define WMS_MAX_FEATURES 50   /* FEATURE_COUNT's ceiling */
#define WMS_PICK_PIXELS 3     /* a point or a line this close to the click (in map pixels) is hit */

/* The features of a vector layer under pixel (i, j): polygons containing its centre, points and lines within a
 * few pixels. */
static int read_features(nd_req *rq, const wms_map *m, int i, int j, layer_info *li) {
    double dx = (m->bbox[2] - m->bbox[0]) / m->width, dy = (m->bbox[3] - m->bbox[1]) / m->height;
    double x = m->bbox[0] + (i + 0.5) * dx, y = m->bbox[3] - (j + 0.5) * dy;
    const char *fc = nd_req_query(rq, "FEATURE_COUNT");
    long max = fc && *fc ? strtol(fc, NULL, 10) : 1;
    if (max < 1) max = 1;
    if (max > WMS_MAX_FEATURES) max = WMS_MAX_FEATURES;
    return nd_vector_query(li->l->ds, li->l->vlayer, m->crs, x, y, WMS_PICK_PIXELS * fmax(dx, dy), (size_t)max,
                           rq->arena, &li->feats, &li->nfeats, &rq->err);
}

static void features_text(nd_buf *b, const layer_info *li) {
    for (size_t f = 0; f < li->nfeats; f++) {
        const nd_feature_info *fi = &li->feats[f];
        nd_buf_printf(b, "  Feature %lld:\n", fi->fid);
        for (size_t k = 0; k < fi->n; k++)
            nd_buf_printf(b, "    %s = %s\n", fi->names[k], fi->values[k] ? fi->values[k] : "none");
    }
    if (!li->nfeats) nd_buf_puts(b, "  no feature here\n");
}

static json_t *features_json(const layer_info *li, json_t *feats) {
    for (size_t f = 0; f < li->nfeats; f++) {
        const nd_feature_info *fi = &li->feats[f];
        json_t *props = json_object();
        for (size_t k = 0; k < fi->n; k++)
            json_object_set_new(props, fi->names[k], fi->values[k] ? json_string(fi->values[k]) : json_null());
        json_array_append_new(feats, json_pack("{s:s, s:I, s:n, s:s, s:o}", "type", "Feature", "id", (json_int_t)fi->fid,
                                               "geometry", "layer", li->l->name, "properties", props));
    }
    return feats;
}

static void features_html(nd_buf *b, const layer_info *li) {
    for (size_t f = 0; f < li->nfeats; f++) {
        const nd_feature_info *fi = &li->feats[f];
        nd_buf_puts(b, "<table border=\"1\"><caption>");
        nd_buf_put_xml(b, li->l->name);
        nd_buf_printf(b, " feature %lld</caption>\n", fi->fid);
        for (size_t k = 0; k < fi->n; k++) {
            nd_buf_puts(b, "<tr><th>");
            nd_buf_put_xml(b, fi->names[k]);
            nd_buf_puts(b, "</th><td>");
            if (fi->values[k]) nd_buf_put_xml(b, fi->values[k]);
            nd_buf_puts(b, "</td></tr>\n");
        }
        nd_buf_puts(b, "</table>\n");
    }
}

static void features_xml(nd_buf *b, const layer_info *li) {
    for (size_t f = 0; f < li->nfeats; f++) {
        const nd_feature_info *fi = &li->feats[f];
        nd_buf_printf(b, "    <Feature id=\"%lld\">\n", fi->fid);
        for (size_t k = 0; k < fi->n; k++) {
            nd_buf_puts(b, "      <Attribute name=\"");
            nd_buf_put_xml(b, fi->names[k]);
            nd_buf_puts(b, "\">");
            if (fi->values[k]) nd_buf_put_xml(b, fi->values[k]);
            nd_buf_puts(b, "</Attribute>\n");
        }
        nd_buf_puts(b, "    </Feature>\n");
    }
}

static int info_format_of(nd_req *rq, info_format *f) {
    const char *s = nd_req_query(rq, "INFO_FORMAT");
    if (!s || !*s || strcasecmp(s, "text/plain") == 0) *f = INFO_TEXT;
    else if (strcasecmp(s, "application/json") == 0 || strcasecmp(s, "application/geo+json") == 0) *f = INFO_JSON;
    else if (strcasecmp(s, "text/html") == 0) *f = INFO_HTML;
    else if (strcasecmp(s, "text/xml") == 0 || strcasecmp(s, "application/vnd.ogc.gml") == 0) *f = INFO_XML;
    else return nd_fail(&rq->err, ND_E_INVALID_FORMAT, "info_format", "INFO_FORMAT is not supported");
    return 0;
}

static int pixel_param(nd_req *rq, const char *key, const char *alt, int size, int *out) {
    const char *s = nd_req_query(rq, key);
    if (!s) s = nd_req_query(rq, alt);
    if (!s || !*s) return nd_fail(&rq->err, ND_E_MISSING_PARAM, key, "%s is required", key);
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < 0 || v >= size)
        return nd_fail(&rq->err, ND_E_INVALID_POINT, key, "%s is not a pixel of the map", key);
    *out = (int)v;
    return 0;
}

static const char *var_units(const nd_variable *v) { return v && v->units ? v->units : ""; }

static void time_iso(const nd_dataset *ds, size_t t, char *out, size_t n) {
    if (ds->time && t < ds->time->n) nd_datetime_format(&ds->time->dates[t], out, n);
    else snprintf(out, n, "%s", "");
}

/* Reads the pixel's value(s) for every time step of the layer's info. */
static int read_point(nd_req *rq, const wms_map *m, int i, int j, layer_info *li, size_t z) {
    const wms_layer *l = li->l;
    double dx = (m->bbox[2] - m->bbox[0]) / m->width, dy = (m->bbox[3] - m->bbox[1]) / m->height;
    double x = m->bbox[0] + (i + 0.5) * dx, y = m->bbox[3] - (j + 0.5) * dy;
    /* The data at the centre of pixel (i, j), at full resolution: a target cell a millionth of the map's
     * pixel keeps the warper off the overviews a whole map pixel would read. */
    double hx = dx * 1e-6, hy = dy * 1e-6;
    nd_grid g = {1, 1, {x - hx / 2, hx, 0, y + hy / 2, 0, -hy}, m->crs};
    li->nbands = l->kind == WMS_RGB ? 3 : 1;
    li->values = nd_arena_alloc(rq->arena, li->count * (size_t)li->nbands * sizeof(double));
    for (size_t k = 0; k < li->count; k++)
        for (int b = 0; b < li->nbands; b++) {
            const nd_variable *v = l->kind == WMS_RGB ? l->rgb[b] : l->var;
            float x;
            if (nd_read_warped(l->ds, v, li->first + k, z, &g, m->styles[0].rs, &x, &rq->err) < 0) return -1;
            li->values[k * (size_t)li->nbands + (size_t)b] = x;
        }
    return 0;
}

static const nd_variable *band_var(const layer_info *li, int b) {
    return li->l->kind == WMS_RGB ? li->l->rgb[b] : li->l->var;
}

static void write_text(nd_buf *b, const layer_info *infos, size_t n, double x, double y, const char *crs) {
    nd_buf_printf(b, "GetFeatureInfo results at x=%.10g y=%.10g (%s)\n", x, y, crs);
    for (size_t k = 0; k < n; k++) {
        const layer_info *li = &infos[k];
        nd_buf_printf(b, "\nLayer '%s'\n", li->l->name);
        if (li->l->kind == WMS_VECTOR) {
            features_text(b, li);
            continue;
        }
        for (size_t t = 0; t < li->count; t++) {
            char ts[64];
            time_iso(li->l->ds, li->first + t, ts, sizeof ts);
            if (*ts) nd_buf_printf(b, "  time = %s\n", ts);
            for (int c = 0; c < li->nbands; c++) {
                const nd_variable *v = band_var(li, c);
                double val = li->values[t * (size_t)li->nbands + (size_t)c];
                if (isnan(val)) nd_buf_printf(b, "  %s = none\n", v->name);
                else nd_buf_printf(b, "  %s = %.7g %s\n", v->name, val, var_units(v));
            }
        }
    }
}

static json_t *num_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

static void write_json(nd_buf *b, const layer_info *infos, size_t n, double x, double y, const char *crs) {
    json_t *fc = json_pack("{s:s, s:[]}", "type", "FeatureCollection", "features");
    json_t *feats = json_object_get(fc, "features");
    for (size_t k = 0; k < n; k++) {
        const layer_info *li = &infos[k];
        if (li->l->kind == WMS_VECTOR) features_json(li, feats);
        for (int c = 0; c < li->nbands; c++) {
            const nd_variable *v = band_var(li, c);
            json_t *props = json_pack("{s:s, s:s, s:s}", "layer", li->l->name, "variable", v->name, "units",
                                      var_units(v));
            if (li->series) {
                json_t *ts = json_array(), *vs = json_array();
                for (size_t t = 0; t < li->count; t++) {
                    char s[64];
                    time_iso(li->l->ds, li->first + t, s, sizeof s);
                    json_array_append_new(ts, json_string(s));
                    json_array_append_new(vs, num_or_null(li->values[t * (size_t)li->nbands + (size_t)c]));
                }
                json_object_set_new(props, "time", ts);
                json_object_set_new(props, "values", vs);
            } else {
                char s[64];
                time_iso(li->l->ds, li->first, s, sizeof s);
                if (*s) json_object_set_new(props, "time", json_string(s));
                json_object_set_new(props, "value", num_or_null(li->values[c]));
            }
            json_array_append_new(feats, json_pack("{s:s, s:{s:s, s:[f,f]}, s:o}", "type", "Feature", "geometry",
                                                   "type", "Point", "coordinates", x, y, "properties", props));
        }
    }
    json_object_set_new(fc, "crs", json_string(crs));
    char *s = json_dumps(fc, JSON_COMPACT);
    nd_buf_puts(b, s);
    free(s);
    json_decref(fc);
}

static void write_html(nd_buf *b, const layer_info *infos, size_t n, double x, double y, const char *crs) {
    nd_buf_puts(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>GetFeatureInfo</title></head><body>\n");
    nd_buf_printf(b, "<p>x=%.10g y=%.10g (", x, y);
    nd_buf_put_xml(b, crs);
    nd_buf_puts(b, ")</p>\n");
    for (size_t k = 0; k < n; k++) {
        const layer_info *li = &infos[k];
        if (li->l->kind == WMS_VECTOR) {
            features_html(b, li);
            continue;
        }
        nd_buf_puts(b, "<table border=\"1\"><caption>");
        nd_buf_put_xml(b, li->l->name);
        nd_buf_puts(b, "</caption>\n<tr><th>time</th><th>variable</th><th>value</th><th>units</th></tr>\n");
        for (size_t t = 0; t < li->count; t++)
            for (int c = 0; c < li->nbands; c++) {
                const nd_variable *v = band_var(li, c);
                char ts[64];
                time_iso(li->l->ds, li->first + t, ts, sizeof ts);
                double val = li->values[t * (size_t)li->nbands + (size_t)c];
                nd_buf_printf(b, "<tr><td>%s</td><td>", ts);
                nd_buf_put_xml(b, v->name);
                if (isnan(val)) nd_buf_puts(b, "</td><td></td><td>");
                else nd_buf_printf(b, "</td><td>%.7g</td><td>", val);
                nd_buf_put_xml(b, var_units(v));
                nd_buf_puts(b, "</td></tr>\n");
            }
        nd_buf_puts(b, "</table>\n");
    }
    nd_buf_puts(b, "</body></html>\n");
}

static void write_xml(nd_buf *b, const layer_info *infos, size_t n, double x, double y, const char *crs) {
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<FeatureInfoResponse>\n");
    nd_buf_printf(b, "  <Point x=\"%.10g\" y=\"%.10g\" crs=\"", x, y);
    nd_buf_put_xml(b, crs);
    nd_buf_puts(b, "\"/>\n");
    for (size_t k = 0; k < n; k++) {
        const layer_info *li = &infos[k];
        nd_buf_puts(b, "  <Layer name=\"");
        nd_buf_put_xml(b, li->l->name);
        nd_buf_puts(b, "\">\n");
        features_xml(b, li);
        for (size_t t = 0; t < li->count; t++)
            for (int c = 0; c < li->nbands; c++) {
                const nd_variable *v = band_var(li, c);
                char ts[64];
                time_iso(li->l->ds, li->first + t, ts, sizeof ts);
                double val = li->values[t * (size_t)li->nbands + (size_t)c];
                nd_buf_puts(b, "    <Value variable=\"");
                nd_buf_put_xml(b, v->name);
                nd_buf_printf(b, "\" time=\"%s\" units=\"", ts);
                nd_buf_put_xml(b, var_units(v));
                if (isnan(val)) nd_buf_puts(b, "\"/>\n");
                else nd_buf_printf(b, "\">%.7g</Value>\n", val);
            }
        nd_buf_puts(b, "  </Layer>\n");
    }
    nd_buf_puts(b, "</FeatureInfoResponse>\n");
}

int wms_getfeatureinfo(nd_req *rq, nd_resp *rs) {
    wms_map m;
    if (wms_parse_map(rq, &m, "LAYERS") < 0) return -1;
    info_format f = INFO_TEXT;
    if (info_format_of(rq, &f) < 0) return -1;
    const char *ql = nd_req_query(rq, "QUERY_LAYERS");
    if (!ql || !*ql) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "query_layers", "QUERY_LAYERS is required");
    int i, j;
    if (pixel_param(rq, m.v111 ? "X" : "I", m.v111 ? "I" : "X", m.width, &i) < 0 ||
        pixel_param(rq, m.v111 ? "Y" : "J", m.v111 ? "J" : "Y", m.height, &j) < 0)
        return -1;
    layer_info infos[WMS_MAX_LAYERS];
    size_t n = 0;
    const char *tv = nd_req_query(rq, "TIME");
    for (const char *p = ql; *p && n < WMS_MAX_LAYERS;) {
        size_t len = strcspn(p, ",");
        char *name = nd_arena_strndup(rq->arena, p, len);
        p += len + (p[len] == ',');
        const wms_layer *l = NULL;
        for (size_t k = 0; k < m.nlayers && !l; k++)
            if (strcmp(m.layers[k]->name, name) == 0) l = m.layers[k];
        if (!l)
            return nd_fail(&rq->err, ND_E_LAYER_NOT_DEFINED, "query_layers", "QUERY_LAYERS names a layer not in LAYERS");
        layer_info *li = &infos[n++];
        memset(li, 0, sizeof *li);
        li->l = l;
        if (l->kind == WMS_VECTOR) { /* attributes, not values: no time, no bands */
            if (read_features(rq, &m, i, j, li) < 0) return -1;
            continue;
        }
        size_t t, z;
        const nd_variable *v = l->kind == WMS_RGB ? l->rgb[0] : l->var;
        if (tv && strchr(tv, '/') && v->has_time && l->ds->time) {
            /* a time series at the point, bounded so one request cannot open years of files */
            size_t a, b;
            if (wms_time_range(rq, l->ds, tv, WMS_MAX_SERIES, &a, &b) < 0) return -1;
            if (wms_resolve_dims(rq, l, tv, m.elevation, &t, &z) < 0) return -1; /* ELEVATION */
            li->first = a;
            li->count = b - a + 1;
            li->series = true;
        } else {
            if (wms_resolve_dims(rq, l, tv, m.elevation, &t, &z) < 0) return -1;
            li->first = t;
            li->count = 1;
        }
        if (read_point(rq, &m, i, j, li, z) < 0) return -1;
    }
    double dx = (m.bbox[2] - m.bbox[0]) / m.width, dy = (m.bbox[3] - m.bbox[1]) / m.height;
    double x = m.bbox[0] + (i + 0.5) * dx, y = m.bbox[3] - (j + 0.5) * dy;
    const char *crs = nd_req_query(rq, m.v111 ? "SRS" : "CRS");
    if (!crs) crs = m.crs;
    switch (f) {
    case INFO_JSON: write_json(&rs->body, infos, n, x, y, crs); rs->content_type = "application/json"; break;
    case INFO_HTML: write_html(&rs->body, infos, n, x, y, crs); rs->content_type = "text/html; charset=utf-8"; break;
    case INFO_XML: write_xml(&rs->body, infos, n, x, y, crs); rs->content_type = "text/xml"; break;
    default: write_text(&rs->body, infos, n, x, y, crs); rs->content_type = "text/plain; charset=utf-8"; break;
    }
    rs->status = 200;
    rs->compressible = true;
    return 0;
}

int wms_getlegendgraphic(nd_req *rq, nd_resp *rs) {
    const char *name = nd_req_query(rq, "LAYER");
    if (!name || !*name) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "layer", "LAYER is required");
    const wms_layer *l = wms_layer_find(name);
    if (!l) return nd_fail(&rq->err, ND_E_LAYER_NOT_DEFINED, "layer", "no layer is called that");
    if (nd_auth_check_layer(rq, l->name)) return -1;
    const char *fmt = nd_req_query(rq, "FORMAT");
    if (fmt && *fmt && strcasecmp(fmt, "image/png") != 0)
        return nd_fail(&rq->err, ND_E_INVALID_FORMAT, "format", "legends are image/png");
    const char *sname = nd_req_query(rq, "STYLE");
    if (!sname) sname = nd_req_query(rq, "STYLES");
    wms_style st;
    if (wms_parse_style(rq, l, sname ? sname : "", &st) < 0) return -1;
    int w = 110, h = 264;
    const char *ws = nd_req_query(rq, "WIDTH"), *hs = nd_req_query(rq, "HEIGHT");
    if (ws) w = atoi(ws);
    if (hs) h = atoi(hs);
    if (w < 40 || h < 40 || w > 1000 || h > 1000)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, ws && (w < 40 || w > 1000) ? "width" : "height",
                       "legend sizes are 40..1000 pixels");
    if (l->kind == WMS_VECTOR) {
        if (nd_legend_vector_png(&st.vs, l->geom, w, h < 28 ? h : 28, l->title, &rs->body, &rq->err) < 0) return -1;
    } else if (st.rgb) {
        nd_image im;
        char msg[300];
        snprintf(msg, sizeof msg, "R %s G %s B %s", st.bands.vars[0]->name, st.bands.vars[1]->name,
                 st.bands.vars[2]->name);
        nd_render_message(w, h < 60 ? h : 60, (nd_rgba){255, 255, 255, 255}, msg, &im);
        int rc = nd_encode_png(&im, &rs->body, &rq->err);
        nd_image_free(&im);
        if (rc < 0) return rc;
    } else if (nd_legend_png(&st.cm, w, h, l->var->name, var_units(l->var), &rs->body, &rq->err) < 0) {
        return -1;
    }
    rs->status = 200;
    rs->content_type = "image/png";
    rs->cache_seconds = 300;
    return 0;
}
