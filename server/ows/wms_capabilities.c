/* WMS GetCapabilities, 1.3.0 (WMS_Capabilities) and 1.1.1 (WMT_MS_Capabilities): layers grouped by dataset,
 * bounding boxes per CRS, time and elevation dimensions, styles with legend URLs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wms_priv.h"

#define MERC_R 6378137.0
#define MERC_LAT 85.0511287798066

/* The CRSs every layer is offered in (besides its native one); any EPSG code PROJ knows is accepted. */
static const char *const common_crs[] = {"CRS:84", "EPSG:4326", "EPSG:3857", "EPSG:3395", "EPSG:4258", "EPSG:3035",
                                         NULL};

typedef struct {
    nd_buf *b;
    bool v111;
    const char *url; /* the service's GET URL ending in '?' */
} cap_ctx;

static void tag_text(nd_buf *b, const char *indent, const char *tag, const char *text) {
    nd_buf_printf(b, "%s<%s>", indent, tag);
    nd_buf_put_xml(b, text ? text : "");
    nd_buf_printf(b, "</%s>\n", tag);
}

static void online(nd_buf *b, const char *indent, const char *href) {
    nd_buf_printf(b, "%s<OnlineResource xmlns:xlink=\"http://www.w3.org/1999/xlink\" xlink:type=\"simple\" xlink:href=\"",
                  indent);
    nd_buf_put_xml(b, href);
    nd_buf_puts(b, "\"/>\n");
}

static void dcp(cap_ctx *c, const char *indent) {
    nd_buf_printf(c->b, "%s<DCPType><HTTP><Get>\n", indent);
    online(c->b, indent, c->url);
    nd_buf_printf(c->b, "%s</Get></HTTP></DCPType>\n", indent);
}

static void operation(cap_ctx *c, const char *name, const char *const *formats) {
    nd_buf_printf(c->b, "      <%s>\n", name);
    for (const char *const *f = formats; *f; f++) tag_text(c->b, "        ", "Format", *f);
    dcp(c, "        ");
    nd_buf_printf(c->b, "      </%s>\n", name);
}

/* ---- Extents ---- */

static void merc(double lon, double lat, double *x, double *y) {
    lat = fmax(-MERC_LAT, fmin(MERC_LAT, lat));
    *x = lon * M_PI / 180 * MERC_R;
    *y = log(tan(M_PI / 4 + lat * M_PI / 360)) * MERC_R;
}

static void geo_box(const nd_dataset *ds, double g[4]) {
    memcpy(g, ds->wgs84, 4 * sizeof(double));
    if (g[0] > g[2]) g[0] = -180, g[2] = 180; /* crossing the antimeridian: WMS boxes cannot */
}

static void bbox_el(cap_ctx *c, const char *indent, const char *crs, double minx, double miny, double maxx,
                    double maxy, bool swap) {
    if (swap && !c->v111) {
        double t = minx;
        minx = miny, miny = t;
        t = maxx;
        maxx = maxy, maxy = t;
    }
    nd_buf_printf(c->b, "%s<BoundingBox %s=\"%s\" minx=\"%.10g\" miny=\"%.10g\" maxx=\"%.10g\" maxy=\"%.10g\"/>\n",
                  indent, c->v111 ? "SRS" : "CRS", crs, minx, miny, maxx, maxy);
}

static void extents(cap_ctx *c, const nd_dataset *ds, const char *indent) {
    double g[4];
    geo_box(ds, g);
    if (c->v111) {
        nd_buf_printf(c->b, "%s<LatLonBoundingBox minx=\"%.10g\" miny=\"%.10g\" maxx=\"%.10g\" maxy=\"%.10g\"/>\n",
                      indent, g[0], g[1], g[2], g[3]);
    } else {
        nd_buf_printf(c->b,
                      "%s<EX_GeographicBoundingBox><westBoundLongitude>%.10g</westBoundLongitude>"
                      "<eastBoundLongitude>%.10g</eastBoundLongitude><southBoundLatitude>%.10g</southBoundLatitude>"
                      "<northBoundLatitude>%.10g</northBoundLatitude></EX_GeographicBoundingBox>\n",
                      indent, g[0], g[2], g[1], g[3]);
        bbox_el(c, indent, "CRS:84", g[0], g[1], g[2], g[3], false);
    }
    bbox_el(c, indent, "EPSG:4326", g[0], g[1], g[2], g[3], true);
    double x0, y0, x1, y1;
    merc(g[0], g[1], &x0, &y0);
    merc(g[2], g[3], &x1, &y1);
    bbox_el(c, indent, "EPSG:3857", x0, y0, x1, y1, false);
    if (ds->epsg && ds->epsg != 4326 && ds->epsg != 3857) {
        char crs[32];
        snprintf(crs, sizeof crs, "EPSG:%d", ds->epsg);
        bbox_el(c, indent, crs, ds->bbox[0], ds->bbox[1], ds->bbox[2], ds->bbox[3], false);
    }
}

/* ---- Dimensions ---- */

static void iso(const nd_datetime *d, char *out, size_t n) { nd_datetime_format(d, out, n); }

/* "start/end/period" when the steps are regular (ISO 8601 period), else the list of instants. */
static void time_values(nd_buf *b, const nd_time_axis *t) {
    char s[64], e[64];
    if (t->n >= 3) {
        double step = nd_datetime_diff_days(&t->dates[0], &t->dates[1], t->tu.cal);
        bool regular = step > 0;
        for (size_t i = 2; regular && i < t->n; i++)
            regular = fabs(nd_datetime_diff_days(&t->dates[i - 1], &t->dates[i], t->tu.cal) - step) < 1e-9;
        double secs = step * 86400;
        if (regular && fabs(secs - round(secs)) < 1e-6) {
            long v = lround(secs);
            char period[48];
            if (v % 86400 == 0) snprintf(period, sizeof period, "P%ldD", v / 86400);
            else if (v % 3600 == 0) snprintf(period, sizeof period, "PT%ldH", v / 3600);
            else if (v % 60 == 0) snprintf(period, sizeof period, "PT%ldM", v / 60);
            else snprintf(period, sizeof period, "PT%ldS", v);
            iso(&t->dates[0], s, sizeof s);
            iso(&t->dates[t->n - 1], e, sizeof e);
            nd_buf_printf(b, "%s/%s/%s", s, e, period);
            return;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        iso(&t->dates[i], s, sizeof s);
        nd_buf_printf(b, "%s%s", i ? "," : "", s);
    }
}

static void dimensions(cap_ctx *c, const nd_dataset *ds, bool has_time, bool has_z, const char *indent) {
    char def[64];
    if (has_time && ds->time && ds->time->n) {
        iso(&ds->time->dates[ds->time->n - 1], def, sizeof def);
        if (c->v111) {
            nd_buf_printf(c->b, "%s<Dimension name=\"time\" units=\"ISO8601\"/>\n", indent);
            nd_buf_printf(c->b, "%s<Extent name=\"time\" default=\"%s\" nearestValue=\"1\">", indent, def);
        } else {
            nd_buf_printf(c->b,
                          "%s<Dimension name=\"time\" units=\"ISO8601\" default=\"%s\" nearestValue=\"1\" "
                          "multipleValues=\"0\" current=\"0\">",
                          indent, def);
        }
        time_values(c->b, ds->time);
        nd_buf_puts(c->b, c->v111 ? "</Extent>\n" : "</Dimension>\n");
    }
    if (has_z && ds->vertical && ds->vertical->n) {
        const nd_vertical_axis *z = ds->vertical;
        const char *u = z->units ? z->units : "";
        nd_buf *b = c->b;
        if (c->v111) {
            nd_buf_printf(b, "%s<Dimension name=\"elevation\" units=\"", indent);
            nd_buf_put_xml(b, u);
            nd_buf_printf(b, "\"/>\n%s<Extent name=\"elevation\" default=\"%.10g\" nearestValue=\"1\">", indent,
                          z->values[0]);
        } else {
            nd_buf_printf(b, "%s<Dimension name=\"elevation\" units=\"", indent);
            nd_buf_put_xml(b, u);
            nd_buf_puts(b, "\" unitSymbol=\"");
            nd_buf_put_xml(b, u);
            nd_buf_printf(b, "\" default=\"%.10g\" nearestValue=\"1\" multipleValues=\"0\">", z->values[0]);
        }
        for (size_t i = 0; i < z->n; i++) nd_buf_printf(b, "%s%.10g", i ? "," : "", z->values[i]);
        nd_buf_puts(b, c->v111 ? "</Extent>\n" : "</Dimension>\n");
    }
}

/* ---- Styles ---- */

static void style(cap_ctx *c, nd_req *rq, const wms_layer *l, const char *name, const char *title) {
    nd_buf *b = c->b;
    nd_buf_puts(b, "          <Style>\n");
    tag_text(b, "            ", "Name", name);
    tag_text(b, "            ", "Title", title);
    if (l->kind != WMS_RGB) {
        if (l->kind == WMS_VECTOR) nd_buf_puts(b, "            <LegendURL width=\"110\" height=\"28\">\n");
        else nd_buf_puts(b, "            <LegendURL width=\"110\" height=\"264\">\n");
        tag_text(b, "              ", "Format", "image/png");
        nd_buf tmp = {0};
        nd_buf_printf(&tmp, "%sSERVICE=WMS&REQUEST=GetLegendGraphic&VERSION=%s&FORMAT=image/png&LAYER=", c->url,
                      rq->version);
        nd_buf_put_urlenc(&tmp, l->name);
        nd_buf_puts(&tmp, "&STYLE=");
        nd_buf_put_urlenc(&tmp, name);
        online(b, "              ", tmp.data);
        nd_buf_free(&tmp);
        nd_buf_puts(b, "            </LegendURL>\n");
    }
    nd_buf_puts(b, "          </Style>\n");
}

static void layer(cap_ctx *c, nd_req *rq, const wms_layer *l) {
    nd_buf *b = c->b;
    const nd_dataset *ds = l->ds;
    nd_buf_puts(b, "        <Layer queryable=\"1\" opaque=\"0\">\n");
    tag_text(b, "          ", "Name", l->name);
    tag_text(b, "          ", "Title", l->title);
    const nd_variable *v = l->var;
    nd_buf abs = {0};
    if (v) {
        nd_buf_printf(&abs, "Variable %s of dataset %s", v->name, ds->id);
        if (v->standard_name) nd_buf_printf(&abs, "; CF standard name %s", v->standard_name);
        if (v->units) nd_buf_printf(&abs, "; units %s", v->units);
        nd_buf_puts(&abs, ". Time: the nearest available step to the requested one (TIME outside the extent is "
                          "refused); default the latest.");
    } else if (l->kind == WMS_VECTOR) {
        static const char *const kinds[] = {"features", "points", "lines", "polygons"};
        const nd_vector_layer *vl = &ds->vector->layers[l->vlayer];
        nd_buf_printf(&abs, "%lld %s of layer %s of dataset %s; GetFeatureInfo gives their attributes.",
                      vl->nfeatures, kinds[l->geom], vl->name, ds->id);
    } else {
        nd_buf_printf(&abs, "Bands %s, %s, %s of dataset %s as red, green, blue, each stretched over mean +- 2 "
                            "standard deviations.",
                      l->rgb[0]->name, l->rgb[1]->name, l->rgb[2]->name, ds->id);
    }
    tag_text(b, "          ", "Abstract", abs.data);
    nd_buf_free(&abs);
    if (ds->epsg && ds->epsg != 4326 && ds->epsg != 3857)
        nd_buf_printf(b, "          <%s>EPSG:%d</%s>\n", c->v111 ? "SRS" : "CRS", ds->epsg, c->v111 ? "SRS" : "CRS");
    extents(c, ds, "          ");
    bool has_time = v ? v->has_time : false, has_z = v ? v->has_vertical : false;
    dimensions(c, ds, has_time, has_z, "          ");
    if (l->kind != WMS_SCALAR) {
        style(c, rq, l, l->kind == WMS_RGB ? "rgb" : "default", l->kind == WMS_RGB ? "True colour" : "Default");
        for (size_t i = 0; i < l->nstyles; i++)
            style(c, rq, l, l->styles[i]->name, l->styles[i]->title ? l->styles[i]->title : l->styles[i]->name);
    } else {
        for (size_t i = 0; i < l->nstyles; i++)
            style(c, rq, l, l->styles[i]->name, l->styles[i]->title ? l->styles[i]->title : l->styles[i]->name);
        style(c, rq, l, "default", l->default_style ? (l->default_style->title ? l->default_style->title
                                                                                : l->default_style->name)
                                                    : l->palette->title);
        for (size_t i = 0; i < nd_palette_count(); i++) {
            const nd_palette *p = nd_palette_at(i);
            style(c, rq, l, p->name, p->title);
        }
    }
    nd_buf_puts(b, "        </Layer>\n");
}

static void dataset_group(cap_ctx *c, nd_req *rq, const nd_dataset *ds) {
    if (!nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) return; /* no name of a forbidden dataset leaks */
    nd_buf *b = c->b;
    const nd_dataset_conf *conf = ds->conf;
    nd_buf_puts(b, "      <Layer>\n");
    tag_text(b, "        ", "Title", conf && conf->title ? conf->title : ds->id);
    if (conf && conf->abstract && *conf->abstract) tag_text(b, "        ", "Abstract", conf->abstract);
    if (conf && conf->nkeywords) {
        nd_buf_puts(b, "        <KeywordList>\n");
        for (size_t i = 0; i < conf->nkeywords; i++) tag_text(b, "          ", "Keyword", conf->keywords[i]);
        nd_buf_puts(b, "        </KeywordList>\n");
    }
    extents(c, ds, "        ");
    const wms_state *st = wms_state_get();
    for (size_t i = 0; i < st->n; i++)
        if (st->layers[i].ds == ds) layer(c, rq, &st->layers[i]);
    nd_buf_puts(b, "      </Layer>\n");
}

static int update_sequence(nd_req *rq) {
    const char *us = nd_req_query(rq, "UPDATESEQUENCE");
    if (!us || !*us) return 0;
    char *end;
    long long v = strtoll(us, &end, 10), cur = (long long)rq->app->started;
    if (*end || end == us || v > cur)
        return nd_fail(&rq->err, ND_E_INVALID_UPDATE_SEQUENCE, "updatesequence",
                       "UPDATESEQUENCE is ahead of the server's");
    if (v == cur)
        return nd_fail(&rq->err, ND_E_CURRENT_UPDATE_SEQUENCE, "updatesequence",
                       "the capabilities have not changed since this update sequence");
    return 0;
}

int wms_getcapabilities(nd_req *rq, nd_resp *rs) {
    if (update_sequence(rq) < 0) return -1;
    cap_ctx c = {&rs->body, strcmp(rq->version, "1.1.1") == 0, NULL};
    /* the URL clients use for the next requests: the endpoint they came through */
    c.url = nd_arena_printf(rq->arena, "%s?", nd_req_url(rq, rq->path && strcmp(rq->path, "/ows") == 0 ? "/ows" : "/wms"));
    nd_buf *b = c.b;
    long long seq = (long long)rq->app->started;
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    if (c.v111)
        nd_buf_printf(b, "<WMT_MS_Capabilities version=\"1.1.1\" updateSequence=\"%lld\">\n", seq);
    else
        nd_buf_printf(b, "<WMS_Capabilities version=\"1.3.0\" updateSequence=\"%lld\" xmlns=\"http://www.opengis.net/wms\" "
                         "xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                         "xsi:schemaLocation=\"http://www.opengis.net/wms "
                         "http://schemas.opengis.net/wms/1.3.0/capabilities_1_3_0.xsd\">\n",
                      seq);
    nd_buf_puts(b, "  <Service>\n");
    tag_text(b, "    ", "Name", c.v111 ? "OGC:WMS" : "WMS");
    tag_text(b, "    ", "Title", "nadir Web Map Service");
    tag_text(b, "    ", "Abstract", "Maps of every configured dataset variable, with time and elevation dimensions.");
    nd_buf_puts(b, "    <KeywordList><Keyword>WMS</Keyword><Keyword>Earth observation</Keyword></KeywordList>\n");
    online(b, "    ", nd_req_url(rq, "/"));
    tag_text(b, "    ", "Fees", "none");
    tag_text(b, "    ", "AccessConstraints", "none");
    if (!c.v111) {
        nd_buf_printf(b, "    <LayerLimit>%d</LayerLimit>\n    <MaxWidth>%d</MaxWidth>\n    <MaxHeight>%d</MaxHeight>\n",
                      WMS_MAX_LAYERS, WMS_MAX_SIZE, WMS_MAX_SIZE);
    }
    nd_buf_puts(b, "  </Service>\n  <Capability>\n    <Request>\n");
    static const char *const caps13[] = {"text/xml", NULL}, *const caps11[] = {"application/vnd.ogc.wms_xml", NULL};
    static const char *const maps[] = {"image/png", "image/jpeg", "image/webp", "image/tiff", NULL};
    static const char *const infos[] = {"text/plain", "application/json", "text/html", "text/xml", NULL};
    operation(&c, "GetCapabilities", c.v111 ? caps11 : caps13);
    operation(&c, "GetMap", maps);
    operation(&c, "GetFeatureInfo", infos);
    nd_buf_puts(b, "    </Request>\n    <Exception>\n");
    if (c.v111) {
        tag_text(b, "      ", "Format", "application/vnd.ogc.se_xml");
        tag_text(b, "      ", "Format", "application/vnd.ogc.se_inimage");
        tag_text(b, "      ", "Format", "application/vnd.ogc.se_blank");
    } else {
        tag_text(b, "      ", "Format", "XML");
        tag_text(b, "      ", "Format", "INIMAGE");
        tag_text(b, "      ", "Format", "BLANK");
    }
    nd_buf_puts(b, "    </Exception>\n    <Layer>\n");
    tag_text(b, "      ", "Title", "nadir datasets");
    for (const char *const *crs = common_crs; *crs; crs++) {
        if (c.v111 && strcmp(*crs, "CRS:84") == 0) continue;
        tag_text(b, "      ", c.v111 ? "SRS" : "CRS", *crs);
    }
    if (c.v111)
        nd_buf_puts(b, "      <LatLonBoundingBox minx=\"-180\" miny=\"-90\" maxx=\"180\" maxy=\"90\"/>\n");
    else
        nd_buf_puts(b, "      <EX_GeographicBoundingBox><westBoundLongitude>-180</westBoundLongitude><eastBoundLongitude>180"
                       "</eastBoundLongitude><southBoundLatitude>-90</southBoundLatitude><northBoundLatitude>90"
                       "</northBoundLatitude></EX_GeographicBoundingBox>\n");
    const nd_registry *reg = rq->app->datasets;
    for (size_t d = 0; reg && d < reg->n; d++)
        if (nd_dataset_live(reg->items[d])) dataset_group(&c, rq, reg->items[d]);
    nd_buf_puts(b, "    </Layer>\n  </Capability>\n");
    nd_buf_puts(b, c.v111 ? "</WMT_MS_Capabilities>\n" : "</WMS_Capabilities>\n");
    rs->status = 200;
    rs->content_type = c.v111 ? "application/vnd.ogc.wms_xml" : "text/xml";
    rs->compressible = true;
    rs->cache_seconds = 60;
    return 0;
}
