/* OGC API - Common: landing page (HTML and JSON), conformance, OpenAPI, collections. */
#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include "nadir/app.h"

#define CRS84 "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#define GREGORIAN "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"

static const char *const core_conformance[] = {
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    NULL,
};

/* Serialises o into the response (consuming it); cacheable for a minute. */
static int send_json(nd_resp *rs, json_t *o) {
    nd_resp_json(rs, 200, o);
    rs->cache_seconds = 60;
    return 0;
}

static const char *service_href(nd_req *rq, const char *tmpl, const char *id) {
    const char *at = strstr(tmpl, "{id}");
    if (!at) return tmpl;
    return nd_arena_printf(rq->arena, "%.*s%s%s", (int)(at - tmpl), tmpl, id, at + 4);
}

static void iso(const nd_datetime *d, char out[48]) { nd_datetime_format(d, out, 48); }

static json_t *collection_json(nd_req *rq, const nd_dataset *ds) {
    const nd_dataset_conf *c = ds->conf;
    const char *self = nd_arena_printf(rq->arena, "/collections/%s", ds->id);
    json_t *o = json_pack("{s:s, s:s}", "id", ds->id, "title", c->title ? c->title : ds->id);
    if (c->abstract) json_object_set_new(o, "description", json_string(c->abstract));
    json_t *kw = json_array();
    for (size_t i = 0; i < c->nkeywords; i++) json_array_append_new(kw, json_string(c->keywords[i]));
    json_object_set_new(o, "keywords", kw);
    if (c->license) json_object_set_new(o, "license", json_string(c->license));

    json_t *extent = json_object();
    json_object_set_new(extent, "spatial",
                        json_pack("{s:[[f,f,f,f]], s:s}", "bbox", ds->wgs84[0], ds->wgs84[1], ds->wgs84[2],
                                  ds->wgs84[3], "crs", CRS84));
    if (ds->time && ds->time->n) {
        char t0[48], t1[48];
        iso(&ds->time->dates[0], t0);
        iso(&ds->time->dates[ds->time->n - 1], t1);
        json_t *temporal = json_pack("{s:[[s,s]], s:s, s:s, s:i}", "interval", t0, t1, "trs", GREGORIAN,
                                     "calendar", nd_cal_name(ds->time->tu.cal), "steps", (int)ds->time->n);
        json_object_set_new(extent, "temporal", temporal);
    }
    if (ds->vertical && ds->vertical->n) {
        const nd_vertical_axis *v = ds->vertical;
        double lo = v->values[0], hi = v->values[v->n - 1];
        if (lo > hi) { double t = lo; lo = hi; hi = t; }
        json_object_set_new(extent, "vertical", json_pack("{s:[[f,f]], s:s, s:s}", "interval", lo, hi, "name",
                                                          v->name, "units", v->units ? v->units : ""));
    }
    json_object_set_new(o, "extent", extent);

    const char *storage = ds->epsg ? nd_arena_printf(rq->arena, "http://www.opengis.net/def/crs/EPSG/0/%d", ds->epsg)
                                   : NULL;
    json_object_set_new(o, "crs", json_pack("[s]", CRS84));
    if (storage) {
        json_array_append_new(json_object_get(o, "crs"), json_string(storage));
        json_object_set_new(o, "storageCrs", json_string(storage));
    }
    json_object_set_new(o, "gridSize", json_pack("{s:I, s:I}", "width", (json_int_t)ds->width, "height",
                                                 (json_int_t)ds->height));

    json_t *vars = json_array();
    for (size_t i = 0; i < ds->nvars; i++) {
        const nd_variable *v = &ds->vars[i];
        json_t *jv = json_pack("{s:s}", "id", v->name);
        if (v->long_name) json_object_set_new(jv, "title", json_string(v->long_name));
        if (v->standard_name) json_object_set_new(jv, "standard_name", json_string(v->standard_name));
        if (v->units) json_object_set_new(jv, "units", json_string(v->units));
        json_t *dims = json_array();
        for (int d = 0; d < v->ndims; d++)
            json_array_append_new(dims, json_pack("{s:s, s:I}", "name", v->dims[d], "size", (json_int_t)v->shape[d]));
        json_object_set_new(jv, "dimensions", dims);
        json_array_append_new(vars, jv);
    }
    json_object_set_new(o, "variables", vars);

    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s?f=json", self), "self", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s?f=html", self), "alternate", "text/html", NULL));
    json_array_append_new(links, nd_json_link(rq, "/?f=json", "root", "application/json", NULL));
    for (size_t i = 0; i < rq->app->nservices; i++) {
        const nd_service *s = rq->app->services[i];
        if (s->dataset_href)
            json_array_append_new(links, nd_json_link(rq, service_href(rq, s->dataset_href, ds->id), s->rel, s->type, s->title));
    }
    json_object_set_new(o, "links", links);
    return o;
}

static void html_head(nd_buf *b, const char *title) {
    nd_buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    nd_buf_put_xml(b, title);
    nd_buf_puts(b, "</title><meta name=\"viewport\" content=\"width=device-width\"><style>"
                   "body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#1b2a38}"
                   "a{color:#0a5ea8}table{border-collapse:collapse;width:100%}td,th{padding:.3em .6em;"
                   "border-bottom:1px solid #dde;text-align:left}code{background:#f3f5f8;padding:0 .2em}"
                   "</style></head><body>");
}

static int send_html(nd_resp *rs, nd_buf *b) {
    nd_buf_puts(b, "</body></html>\n");
    nd_buf_free(&rs->body);
    rs->body = *b;
    rs->status = 200;
    rs->content_type = "text/html; charset=utf-8";
    rs->compressible = true;
    rs->cache_seconds = 60;
    return 0;
}

static int build_landing(nd_req *rq, nd_resp *rs) {
    const nd_app *app = rq->app;
    if (nd_req_wants_json(rq)) {
        json_t *links = json_array();
        json_array_append_new(links, nd_json_link(rq, "/?f=json", "self", "application/json", "This document"));
        json_array_append_new(links, nd_json_link(rq, "/?f=html", "alternate", "text/html", "This document as HTML"));
        json_array_append_new(links, nd_json_link(rq, "/openapi", "service-desc", "application/vnd.oai.openapi+json;version=3.0",
                                          "The API definition"));
        json_array_append_new(links, nd_json_link(rq, "/conformance", "conformance", "application/json", "Conformance classes"));
        json_array_append_new(links, nd_json_link(rq, "/collections", "data", "application/json", "Datasets"));
        for (size_t i = 0; i < app->nservices; i++) {
            const nd_service *s = app->services[i];
            json_array_append_new(links, nd_json_link(rq, s->href, s->rel, s->type, s->title));
        }
        for (size_t i = 0; app->datasets && i < app->datasets->n; i++) {
            const nd_dataset *ds = app->datasets->items[i];
            if (!nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) continue; /* no name of a forbidden dataset leaks */
            if (!nd_dataset_live(ds)) continue;
            json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/collections/%s", ds->id), "item",
                                              "application/json", ds->conf->title));
        }
        return send_json(rs, json_pack("{s:s, s:s, s:o}", "title", "nadir", "description",
                                       "Earth-observation data and processing through OGC, OPeNDAP and STAC APIs",
                                       "links", links));
    }
    nd_buf b = {0};
    html_head(&b, "nadir");
    nd_buf_puts(&b, "<h1>nadir</h1><p>Earth-observation data and processing through the standards your tools speak."
                    "</p><h2>Services</h2><ul>");
    nd_buf_puts(&b, "<li><a href=\"/collections\">Datasets (OGC API collections)</a></li>"
                    "<li><a href=\"/openapi\">OpenAPI definition</a></li>"
                    "<li><a href=\"/conformance\">Conformance classes</a></li>");
    for (size_t i = 0; i < app->nservices; i++) {
        nd_buf_puts(&b, "<li><a href=\"");
        nd_buf_put_xml(&b, app->services[i]->href);
        nd_buf_puts(&b, "\">");
        nd_buf_put_xml(&b, app->services[i]->title);
        nd_buf_puts(&b, "</a></li>");
    }
    nd_buf_puts(&b, "<li><a href=\"/health\">Health</a> · <a href=\"/metrics\">Metrics</a></li></ul>"
                    "<h2>Datasets</h2><table><tr><th>id</th><th>title</th><th>variables</th></tr>");
    for (size_t i = 0; app->datasets && i < app->datasets->n; i++) {
        const nd_dataset *ds = app->datasets->items[i];
        if (!nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) continue;
        if (!nd_dataset_live(ds)) continue;
        nd_buf_puts(&b, "<tr><td><a href=\"/collections/");
        nd_buf_put_xml(&b, ds->id);
        nd_buf_puts(&b, "?f=html\">");
        nd_buf_put_xml(&b, ds->id);
        nd_buf_puts(&b, "</a></td><td>");
        nd_buf_put_xml(&b, ds->conf->title);
        nd_buf_puts(&b, "</td><td>");
        for (size_t v = 0; v < ds->nvars; v++) {
            if (v) nd_buf_puts(&b, ", ");
            nd_buf_puts(&b, "<code>");
            nd_buf_put_xml(&b, ds->vars[v].name);
            nd_buf_puts(&b, "</code>");
        }
        nd_buf_puts(&b, "</td></tr>");
    }
    nd_buf_puts(&b, "</table>");
    return send_html(rs, &b);
}

static int build_conformance(nd_req *rq, nd_resp *rs) {
    json_t *list = json_array();
    for (const char *const *c = core_conformance; *c; c++) json_array_append_new(list, json_string(*c));
    for (size_t i = 0; i < rq->app->nservices; i++)
        for (const char *const *c = rq->app->services[i]->conformance; c && *c; c++)
            json_array_append_new(list, json_string(*c));
    return send_json(rs, json_pack("{s:o}", "conformsTo", list));
}

/* The OpenAPI document is generated from the route table, so it grows with each service. */
/* The operation ids the OGC API standards' own OpenAPI documents give (clients and the CITE suites look operations
 * up by them); every other operation gets one from its method and path, "get" + "/collections/{id}/map/tiles" ->
 * "getCollectionsIdMapTiles": unique, as (method, path) is, and stable for client generators. */
static const char *operation_id(nd_arena *a, const char *method, const char *path) {
    static const char *const standard[][3] = {
        {"get", "/", "getLandingPage"},          {"get", "/conformance", "getConformanceClasses"},
        {"get", "/collections", "getCollections"}, {"get", "/collections/{id}", "describeCollection"},
        {"get", "/processes", "getProcesses"},   {"get", "/processes/{id}", "getProcessDescription"},
        {"post", "/processes/{id}/execution", "execute"}, {"get", "/jobs", "getJobs"},
        {"get", "/jobs/{jobId}", "getStatus"},   {"delete", "/jobs/{jobId}", "dismiss"},
        {"get", "/jobs/{jobId}/results", "getResult"},
    };
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++)
        if (!strcmp(standard[i][0], method) && !strcmp(standard[i][1], path)) return standard[i][2];
    nd_buf b = {0};
    nd_buf_puts(&b, method);
    bool up = true;
    for (const char *p = path; *p; p++) {
        if (!isalnum((unsigned char)*p)) {
            up = true;
            continue;
        }
        char c = up ? (char)toupper((unsigned char)*p) : *p;
        nd_buf_append(&b, &c, 1);
        up = false;
    }
    const char *id = nd_arena_strdup(a, b.data);
    nd_buf_free(&b);
    return id;
}

static int build_openapi(nd_req *rq, nd_resp *rs) {
    json_t *paths = json_object();
    const nd_router *r = rq->app->router;
    for (size_t i = 0; i < nd_router_count(r); i++) {
        const nd_route *rt = nd_router_at(r, i);
        if (!rt->summary) continue;
        char *path = nd_arena_strdup(rq->arena, rt->path);
        char *star = strstr(path, "*}");
        if (star) memmove(star, star + 1, strlen(star)); /* "{rest*}" -> "{rest}" */
        json_t *item = json_object_get(paths, path);
        if (!item) json_object_set_new(paths, path, item = json_object());
        json_t *params = json_array();
        for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
            size_t n = strcspn(p + 1, "}");
            json_array_append_new(params, json_pack("{s:s%, s:s, s:b, s:{s:s}}", "name", p + 1, n, "in", "path",
                                                    "required", 1, "schema", "type", "string"));
        }
        const char *method = strcmp(rt->method, "*") == 0 ? "get" : rt->method;
        char lower[16];
        size_t k = 0;
        for (; method[k] && k < sizeof lower - 1; k++) lower[k] = (char)(method[k] | 0x20);
        lower[k] = 0;
        json_object_set_new(item, lower,
                            json_pack("{s:s, s:s, s:[s], s:o, s:{s:{s:s}, s:{s:s}}}", "operationId",
                                      operation_id(rq->arena, lower, path), "summary", rt->summary, "tags",
                                      rt->service, "parameters", params, "responses", "200", "description", "OK",
                                      "default", "description", "An error (problem+json or the protocol's own form)"));
    }
    json_t *doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o}", "openapi", "3.0.3", "info", "title",
                            "nadir", "version", ND_VERSION, "description",
                            "Earth-observation data and processing through OGC, OPeNDAP and STAC APIs", "servers",
                            "url", nd_req_url(rq, ""), "paths", paths);
    send_json(rs, doc);
    rs->content_type = "application/vnd.oai.openapi+json;version=3.0";
    return 0;
}

static int build_collections(nd_req *rq, nd_resp *rs) {
    json_t *list = json_array();
    for (size_t i = 0; rq->app->datasets && i < rq->app->datasets->n; i++)
        if (nd_dataset_live(rq->app->datasets->items[i]))
            json_array_append_new(list, collection_json(rq, rq->app->datasets->items[i]));
    for (size_t i = json_array_size(list); i-- > 0;) /* no name of a forbidden dataset leaks */
        if (!nd_auth_may(rq, ND_AUTH_DATASET, json_string_value(json_object_get(json_array_get(list, i), "id")),
                         ND_OP_READ))
            json_array_remove(list, i);
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, "/collections?f=json", "self", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/?f=json", "root", "application/json", NULL));
    return send_json(rs, json_pack("{s:o, s:o}", "collections", list, "links", links));
}

static void html_collection(nd_buf *b, json_t *c) {
    nd_buf_puts(b, "<h1>");
    nd_buf_put_xml(b, json_string_value(json_object_get(c, "title")));
    nd_buf_puts(b, "</h1><p>");
    nd_buf_put_xml(b, json_string_value(json_object_get(c, "description")));
    nd_buf_puts(b, "</p><pre>");
    char *s = json_dumps(json_object_get(c, "extent"), JSON_INDENT(2));
    nd_buf_put_xml(b, s);
    free(s);
    nd_buf_puts(b, "</pre><h2>Variables</h2><ul>");
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(c, "variables"), i, v) {
        nd_buf_puts(b, "<li><code>");
        nd_buf_put_xml(b, json_string_value(json_object_get(v, "id")));
        nd_buf_puts(b, "</code> ");
        nd_buf_put_xml(b, json_string_value(json_object_get(v, "title")));
        const char *units = json_string_value(json_object_get(v, "units"));
        if (units) {
            nd_buf_puts(b, " (");
            nd_buf_put_xml(b, units);
            nd_buf_puts(b, ")");
        }
        nd_buf_puts(b, "</li>");
    }
    nd_buf_puts(b, "</ul><h2>Links</h2><ul>");
    json_array_foreach(json_object_get(c, "links"), i, v) {
        nd_buf_puts(b, "<li><a href=\"");
        nd_buf_put_xml(b, json_string_value(json_object_get(v, "href")));
        nd_buf_puts(b, "\">");
        nd_buf_put_xml(b, json_string_value(json_object_get(v, "rel")));
        nd_buf_puts(b, "</a></li>");
    }
    nd_buf_puts(b, "</ul>");
}

static int collection(nd_req *rq, nd_resp *rs) {
    const char *id = nd_req_param(rq, "id");
    const nd_dataset *ds = rq->app->datasets ? nd_registry_get(rq->app->datasets, id) : NULL;
    if (!ds) return nd_fail(&rq->err, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
    if (nd_auth_check(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) return -1;
    json_t *c = collection_json(rq, ds);
    if (nd_req_wants_json(rq)) return send_json(rs, c);
    nd_buf b = {0};
    html_head(&b, json_string_value(json_object_get(c, "title")));
    html_collection(&b, c);
    json_decref(c);
    return send_html(rs, &b);
}

/* These documents depend only on the configuration and the services: built once per variant. */
static int landing(nd_req *rq, nd_resp *rs) {
    return nd_app_cached_doc(rq->app, nd_req_wants_json(rq) ? "landing.json" : "landing.html", rq, rs, build_landing);
}
static int conformance(nd_req *rq, nd_resp *rs) { return nd_app_cached_doc(rq->app, "conformance", rq, rs, build_conformance); }
static int openapi(nd_req *rq, nd_resp *rs) { return nd_app_cached_doc(rq->app, "openapi", rq, rs, build_openapi); }
static int collections(nd_req *rq, nd_resp *rs) { return nd_app_cached_doc(rq->app, "collections", rq, rs, build_collections); }

void nd_ogcapi_register(nd_app *app) {
    static const nd_route routes[] = {
        {"GET", "/", landing, "core", "Landing page", NULL},
        {"GET", "/conformance", conformance, "core", "Conformance classes", NULL},
        {"GET", "/openapi", openapi, "core", "This API definition", NULL},
        {"GET", "/collections", collections, "core", "The datasets", NULL},
        {"GET", "/collections/{id}", collection, "core", "One dataset: extent, variables, service links", NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
}
