/* WMTS 1.0.0 capabilities (XML) and the OGC API Tiles documents (tile matrix sets, tile sets; JSON). */
#include <stdio.h>
#include <string.h>

#include "nadir/cftime.h"
#include "nadir/ows.h"
#include "wmts_priv.h"

#define MAX_TIME_VALUES 2000 /* past this the Dimension lists the first and the last steps only */

static void put_time(nd_buf *b, const nd_datetime *dt) {
    char s[64];
    nd_datetime_format(dt, s, sizeof s);
    nd_buf_put_xml(b, s);
}

static void layer_xml(nd_req *rq, nd_buf *b, const wmts_layer *l) {
    if (l && !nd_auth_may_layer(rq, l->name)) return; /* no name of a forbidden dataset leaks */
    const nd_dataset *ds = l->ds;
    nd_buf_puts(b, "    <Layer>\n      <ows:Title>");
    nd_buf_put_xml(b, l->name);
    nd_buf_puts(b, "</ows:Title>\n");
    if (ds) {
        double w = ds->wgs84[0], e = ds->wgs84[2];
        if (w > e) w = -180, e = 180;
        nd_buf_printf(b,
                      "      <ows:WGS84BoundingBox>\n        <ows:LowerCorner>%.10g %.10g</ows:LowerCorner>\n"
                      "        <ows:UpperCorner>%.10g %.10g</ows:UpperCorner>\n      </ows:WGS84BoundingBox>\n",
                      w, ds->wgs84[1], e, ds->wgs84[3]);
    }
    nd_buf_puts(b, "      <ows:Identifier>");
    nd_buf_put_xml(b, l->safe);
    nd_buf_puts(b, "</ows:Identifier>\n      <Style isDefault=\"true\">\n        <ows:Identifier>default</ows:Identifier>\n"
                   "      </Style>\n");
    for (size_t i = 0; i < l->nstyles; i++) {
        nd_buf_puts(b, "      <Style>\n        <ows:Identifier>");
        nd_buf_put_xml(b, l->styles[i]);
        nd_buf_puts(b, "</ows:Identifier>\n      </Style>\n");
    }
    nd_buf_puts(b, "      <Format>image/png</Format>\n      <Format>image/jpeg</Format>\n"
                   "      <InfoFormat>application/json</InfoFormat>\n      <InfoFormat>text/plain</InfoFormat>\n"
                   "      <InfoFormat>text/html</InfoFormat>\n");
    const nd_time_axis *t = l->has_time ? ds->time : NULL;
    if (t && t->n) {
        nd_buf_puts(b, "      <Dimension>\n        <ows:Identifier>Time</ows:Identifier>\n        <ows:UOM>ISO8601</ows:UOM>\n"
                       "        <Default>");
        put_time(b, &t->dates[t->n - 1]);
        nd_buf_puts(b, "</Default>\n        <Current>false</Current>\n");
        for (size_t i = 0; i < t->n; i++) {
            if (t->n > MAX_TIME_VALUES && i > 0 && i + 1 < t->n) continue;
            nd_buf_puts(b, "        <Value>");
            put_time(b, &t->dates[i]);
            nd_buf_puts(b, "</Value>\n");
        }
        nd_buf_puts(b, "      </Dimension>\n");
    }
    const nd_vertical_axis *z = l->has_z ? ds->vertical : NULL;
    if (z) { /* the WMS default: the first level */
        nd_buf_puts(b, "      <Dimension>\n        <ows:Identifier>Elevation</ows:Identifier>\n        <ows:UOM>");
        nd_buf_put_xml(b, z->units ? z->units : "");
        nd_buf_printf(b, "</ows:UOM>\n        <Default>%.10g</Default>\n", z->values[0]);
        for (size_t i = 0; i < z->n; i++) nd_buf_printf(b, "        <Value>%.10g</Value>\n", z->values[i]);
        nd_buf_puts(b, "      </Dimension>\n");
    }
    /* the template's dimension segments, {Time} then {Elevation} (wmts_rest reads them in this order) */
    const char *dims = t && z ? "{Time}/{Elevation}/" : t ? "{Time}/" : z ? "{Elevation}/" : "";
    for (int s = 0; s < nd_tms_count(); s++) {
        const nd_tms *tms = nd_tms_at(s);
        nd_buf_printf(b, "      <TileMatrixSetLink>\n        <TileMatrixSet>%s</TileMatrixSet>\n", tms->id);
        if (ds) {
            nd_buf_puts(b, "        <TileMatrixSetLimits>\n");
            for (int z = 0; z <= ND_TMS_MAX_ZOOM; z++) {
                long r0, r1, c0, c1;
                nd_tms_tile_range(tms, z, ds->wgs84, &r0, &r1, &c0, &c1);
                nd_buf_printf(b,
                              "          <TileMatrixLimits><TileMatrix>%d</TileMatrix><MinTileRow>%ld</MinTileRow>"
                              "<MaxTileRow>%ld</MaxTileRow><MinTileCol>%ld</MinTileCol><MaxTileCol>%ld</MaxTileCol>"
                              "</TileMatrixLimits>\n",
                              z, r0, r1, c0, c1);
            }
            nd_buf_puts(b, "        </TileMatrixSetLimits>\n");
        }
        nd_buf_puts(b, "      </TileMatrixSetLink>\n");
    }
    static const char *const fmts[][2] = {{"image/png", "png"}, {"image/jpeg", "jpg"}};
    for (size_t f = 0; f < 2; f++) {
        nd_buf_printf(b, "      <ResourceURL format=\"%s\" resourceType=\"tile\" template=\"", fmts[f][0]);
        nd_buf_put_xml(b, nd_req_url(rq, "/wmts/1.0.0/"));
        nd_buf_put_xml(b, l->safe);
        nd_buf_printf(b, "/{Style}/%s{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.%s\"/>\n", dims, fmts[f][1]);
    }
    static const char *const infos[][2] = {{"application/json", "json"}, {"text/plain", "txt"}, {"text/html", "html"}};
    for (size_t f = 0; f < 3; f++) {
        nd_buf_printf(b, "      <ResourceURL format=\"%s\" resourceType=\"FeatureInfo\" template=\"", infos[f][0]);
        nd_buf_put_xml(b, nd_req_url(rq, "/wmts/1.0.0/"));
        nd_buf_put_xml(b, l->safe);
        nd_buf_printf(b, "/{Style}/%s{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}/{J}/{I}.%s\"/>\n", dims,
                      infos[f][1]);
    }
    nd_buf_puts(b, "    </Layer>\n");
}

static void tms_xml(nd_buf *b, const nd_tms *t) {
    nd_buf_printf(b, "    <TileMatrixSet>\n      <ows:Identifier>%s</ows:Identifier>\n      <ows:SupportedCRS>%s</ows:SupportedCRS>\n",
                  t->id, t->crs_urn);
    if (t->wkss) nd_buf_printf(b, "      <WellKnownScaleSet>%s</WellKnownScaleSet>\n", t->wkss);
    for (int z = 0; z <= ND_TMS_MAX_ZOOM; z++) {
        long w, h;
        nd_tms_matrix_size(t, z, &w, &h);
        nd_buf_printf(b,
                      "      <TileMatrix>\n        <ows:Identifier>%d</ows:Identifier>\n"
                      "        <ScaleDenominator>%.17g</ScaleDenominator>\n        <TopLeftCorner>%.17g %.17g</TopLeftCorner>\n"
                      "        <TileWidth>%d</TileWidth>\n        <TileHeight>%d</TileHeight>\n"
                      "        <MatrixWidth>%ld</MatrixWidth>\n        <MatrixHeight>%ld</MatrixHeight>\n      </TileMatrix>\n",
                      z, nd_tms_scale_denominator(t, z), t->origin_x, t->origin_y, ND_TMS_TILE_SIZE, ND_TMS_TILE_SIZE, w, h);
    }
    nd_buf_puts(b, "    </TileMatrixSet>\n");
}

static void operation(nd_req *rq, nd_buf *b, const char *name) {
    nd_buf_printf(b, "    <ows:Operation name=\"%s\">\n      <ows:DCP>\n        <ows:HTTP>\n          <ows:Get xlink:href=\"", name);
    nd_buf_put_xml(b, nd_req_url(rq, "/wmts?"));
    nd_buf_puts(b, "\">\n            <ows:Constraint name=\"GetEncoding\">\n              <ows:AllowedValues>\n"
                   "                <ows:Value>KVP</ows:Value>\n              </ows:AllowedValues>\n"
                   "            </ows:Constraint>\n          </ows:Get>\n");
    if (strcmp(name, "GetFeatureInfo") != 0) {
        nd_buf_puts(b, "          <ows:Get xlink:href=\"");
        nd_buf_put_xml(b, nd_req_url(rq, "/wmts/1.0.0/"));
        nd_buf_puts(b, "\">\n            <ows:Constraint name=\"GetEncoding\">\n              <ows:AllowedValues>\n"
                       "                <ows:Value>RESTful</ows:Value>\n              </ows:AllowedValues>\n"
                       "            </ows:Constraint>\n          </ows:Get>\n");
    }
    nd_buf_puts(b, "        </ows:HTTP>\n      </ows:DCP>\n    </ows:Operation>\n");
}

int wmts_capabilities(nd_req *rq, nd_resp *rs) {
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<Capabilities xmlns=\"http://www.opengis.net/wmts/1.0\" xmlns:ows=\"http://www.opengis.net/ows/1.1\" "
                   "xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xmlns:gml=\"http://www.opengis.net/gml\" xsi:schemaLocation=\"http://www.opengis.net/wmts/1.0 "
                   "http://schemas.opengis.net/wmts/1.0/wmtsGetCapabilities_response.xsd\" version=\"1.0.0\">\n"
                   "  <ows:ServiceIdentification>\n    <ows:Title>");
    nd_buf_puts(b, "nadir map tiles");
    nd_buf_puts(b, "</ows:Title>\n    <ows:ServiceType>OGC WMTS</ows:ServiceType>\n"
                   "    <ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>\n  </ows:ServiceIdentification>\n"
                   "  <ows:OperationsMetadata>\n");
    operation(rq, b, "GetCapabilities");
    operation(rq, b, "GetTile");
    operation(rq, b, "GetFeatureInfo");
    nd_buf_puts(b, "  </ows:OperationsMetadata>\n  <Contents>\n");
    for (size_t i = 0; i < wmts_layer_count(); i++)
        if (wmts_layer_at(i)) layer_xml(rq, b, wmts_layer_at(i)); /* NULL: a withdrawn job output */
    for (int s = 0; s < nd_tms_count(); s++) tms_xml(b, nd_tms_at(s));
    nd_buf_puts(b, "  </Contents>\n  <ServiceMetadataURL xlink:href=\"");
    nd_buf_put_xml(b, nd_req_url(rq, "/wmts/1.0.0/WMTSCapabilities.xml"));
    nd_buf_puts(b, "\"/>\n</Capabilities>\n");
    rs->status = 200;
    rs->content_type = "application/xml";
    rs->compressible = true;
    rs->cache_seconds = 60;
    return 0;
}

/* ---- OGC API Tiles ---- */

static void json_done(nd_resp *rs) {
    rs->status = 200;
    rs->content_type = "application/json";
    rs->compressible = true;
    rs->cache_seconds = 60;
}

int wmts_api_tms_list(nd_req *rq, nd_resp *rs) {
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "{\"tileMatrixSets\":[");
    for (int i = 0; i < nd_tms_count(); i++) {
        const nd_tms *t = nd_tms_at(i);
        nd_buf_printf(b, "%s{\"id\":\"%s\",\"title\":\"%s\",\"uri\":\"%s\",\"links\":[{\"rel\":\"self\",\"type\":\"application/json\",\"href\":\"%s\"}]}",
                      i ? "," : "", t->id, t->title, t->uri, nd_req_url(rq, nd_arena_printf(rq->arena, "/tileMatrixSets/%s", t->id)));
    }
    nd_buf_printf(b, "],\"links\":[{\"rel\":\"self\",\"type\":\"application/json\",\"href\":\"%s\"}]}",
                  nd_req_url(rq, "/tileMatrixSets"));
    json_done(rs);
    return 0;
}

int wmts_api_tms(nd_req *rq, nd_resp *rs) {
    const nd_tms *t = nd_tms_get(nd_req_param(rq, "tms"));
    if (!t) return nd_fail(&rq->err, ND_E_NOT_FOUND, "tileMatrixSetId", "unknown tile matrix set");
    nd_tms_json(t, &rs->body);
    json_done(rs);
    return 0;
}

/* A JSON string body: variable names come from the files and may hold any character. */
static void put_json_text(nd_buf *b, const char *s) {
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') nd_buf_printf(b, "\\%c", c);
        else if (c < 0x20) nd_buf_printf(b, "\\u%04x", c);
        else nd_buf_append(b, s, 1);
    }
}

/* One tile set entry: its links (self, tiling scheme, the tile template) and, in full, its limits. */
static void tileset_json(nd_req *rq, nd_buf *b, const char *id, const wmts_layer *l, const nd_tms *t, bool full) {
    const char *base = nd_req_url(rq, nd_arena_printf(rq->arena, "/collections/%s/map/tiles/%s", id, t->id));
    nd_buf_puts(b, "{\"title\":\"");
    put_json_text(b, l->safe);
    nd_buf_printf(b, " (%s)\",\"dataType\":\"map\",\"crs\":\"%s\",\"tileMatrixSetURI\":\"%s\",\"links\":["
                     "{\"rel\":\"self\",\"type\":\"application/json\",\"href\":\"%s\"},"
                     "{\"rel\":\"http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme\",\"type\":\"application/json\",\"href\":\"%s\"},"
                     "{\"rel\":\"item\",\"type\":\"image/png\",\"templated\":true,\"href\":\"%s/{tileMatrix}/{tileRow}/{tileCol}\"}]",
                  t->id, t->crs_uri, t->uri, base, nd_req_url(rq, nd_arena_printf(rq->arena, "/tileMatrixSets/%s", t->id)),
                  base);
    if (full && l->ds) {
        nd_buf_printf(b, ",\"tileMatrixSetLimits\":[");
        for (int z = 0; z <= ND_TMS_MAX_ZOOM; z++) {
            long r0, r1, c0, c1;
            nd_tms_tile_range(t, z, l->ds->wgs84, &r0, &r1, &c0, &c1);
            nd_buf_printf(b, "%s{\"tileMatrix\":\"%d\",\"minTileRow\":%ld,\"maxTileRow\":%ld,\"minTileCol\":%ld,\"maxTileCol\":%ld}",
                          z ? "," : "", z, r0, r1, c0, c1);
        }
        nd_buf_puts(b, "]");
    }
    nd_buf_puts(b, "}");
}

int wmts_api_tilesets(nd_req *rq, nd_resp *rs) {
    const char *id = nd_req_param(rq, "id");
    const wmts_layer *l = wmts_collection_layer(rq, id);
    if (!l) return nd_fail(&rq->err, ND_E_NOT_FOUND, "id", "no map of that collection");
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "{\"tilesets\":[");
    for (int i = 0; i < nd_tms_count(); i++) {
        if (i) nd_buf_puts(b, ",");
        tileset_json(rq, b, id, l, nd_tms_at(i), false);
    }
    nd_buf_puts(b, "]}");
    json_done(rs);
    return 0;
}

int wmts_api_tileset(nd_req *rq, nd_resp *rs) {
    const char *id = nd_req_param(rq, "id");
    const wmts_layer *l = wmts_collection_layer(rq, id);
    if (!l) return nd_fail(&rq->err, ND_E_NOT_FOUND, "id", "no map of that collection");
    const nd_tms *t = nd_tms_get(nd_req_param(rq, "tms"));
    if (!t) return nd_fail(&rq->err, ND_E_NOT_FOUND, "tileMatrixSetId", "unknown tile matrix set");
    tileset_json(rq, &rs->body, id, l, t, true);
    json_done(rs);
    return 0;
}
