/* STAC API 1.0 front-end: landing page, conformance, queryables, collections and items over the catalogue. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stac.h"

/* Opened once at start-up and shared by the handler threads (the catalogue has its own connection pool). */
static nd_cat *g_cat;

nd_cat *nd_stac_cat(void) { return g_cat; }

static const char *const stac_conformance[] = {
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#fields",
    "https://api.stacspec.org/v1.0.0/ogcapi-features#sort",
    "https://api.stacspec.org/v1.0.0/ogcapi-features/extensions/transaction",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#filter",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search",
    "https://api.stacspec.org/v1.0.0-rc.1/collection-search#free-text",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/simpletx",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-operators",
    NULL,
};

int nd_stac_send(nd_resp *rs, json_t *o, int status, const char *type) {
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    nd_resp_set_json(rs, status, s, strlen(s));
    free(s);
    rs->content_type = type ? type : "application/json";
    rs->cache_seconds = 0; /* the catalogue changes under transactions and ingest */
    return 0;
}

int nd_stac_body(nd_req *rq, json_t **out) {
    json_error_t je;
    *out = NULL;
    if (!rq->body || !rq->body_len) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "body", "A JSON body is required");
    json_t *j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "body", "Malformed JSON: %s (at character %d)", je.text,
                           je.position);
    if (!json_is_object(j)) {
        json_decref(j);
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "body", "The body must be a JSON object");
    }
    *out = j;
    return 0;
}

static const char *urlpart(nd_req *rq, const char *s) {
    nd_buf b = {0};
    nd_buf_put_urlenc(&b, s);
    const char *out = nd_arena_strdup(rq->arena, b.data ? b.data : "");
    nd_buf_free(&b);
    return out;
}

/* Asset hrefs stored as paths on this server ("/wms?...") follow its public URL. */
static void absolute_assets(nd_req *rq, json_t *o) {
    const char *k;
    json_t *a;
    json_object_foreach(json_object_get(o, "assets"), k, a) {
        const char *href = json_string_value(json_object_get(a, "href"));
        if (href && href[0] == '/' && href[1] != '/') json_object_set_new(a, "href", json_string(nd_req_url(rq, href)));
    }
}

json_t *nd_stac_item_out(nd_req *rq, json_t *it) {
    const char *c = json_string_value(json_object_get(it, "collection"));
    const char *id = json_string_value(json_object_get(it, "id"));
    json_t *links = json_array();
    if (c && id) {
        const char *cp = nd_arena_printf(rq->arena, "/stac/collections/%s", urlpart(rq, c));
        json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s/items/%s", cp, urlpart(rq, id)),
                                                  "self", ND_GEOJSON, NULL));
        json_array_append_new(links, nd_json_link(rq, cp, "parent", "application/json", NULL));
        json_array_append_new(links, nd_json_link(rq, cp, "collection", "application/json", NULL));
    }
    json_array_append_new(links, nd_json_link(rq, "/stac", "root", "application/json", NULL));
    json_object_set_new(it, "links", links);
    absolute_assets(rq, it);
    return it;
}

json_t *nd_stac_collection_out(nd_req *rq, json_t *c) {
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *cp = nd_arena_printf(rq->arena, "/stac/collections/%s", urlpart(rq, id ? id : ""));
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, cp, "self", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/stac", "parent", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/stac", "root", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s/items", cp), "items", ND_GEOJSON,
                                              "Items"));
    json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "%s/queryables", cp),
                                              "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                                              "application/schema+json", "Queryables"));
    json_object_set_new(c, "links", links);
    if (!json_object_get(c, "type")) json_object_set_new(c, "type", json_string("Collection"));
    if (!json_object_get(c, "stac_version")) json_object_set_new(c, "stac_version", json_string(ND_STAC_VERSION));
    absolute_assets(rq, c);
    return c;
}

void nd_stac_drop_forbidden(nd_req *rq, json_t *list) {
    for (size_t i = json_array_size(list); nd_auth_active(rq) && i-- > 0;)
        if (!nd_auth_may(rq, ND_AUTH_DATASET, json_string_value(json_object_get(json_array_get(list, i), "id")),
                         ND_OP_READ))
            json_array_remove(list, i);
}

static int landing(nd_req *rq, nd_resp *rs) {
    json_t *conf = json_array();
    for (const char *const *c = stac_conformance; *c; c++) json_array_append_new(conf, json_string(*c));
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, "/stac", "self", "application/json", "This catalogue"));
    json_array_append_new(links, nd_json_link(rq, "/stac", "root", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/stac/conformance", "conformance", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/stac/collections", "data", "application/json", "Collections"));
    json_t *get = nd_json_link(rq, "/stac/search", "search", ND_GEOJSON, "Item search");
    json_object_set_new(get, "method", json_string("GET"));
    json_array_append_new(links, get);
    json_t *post = nd_json_link(rq, "/stac/search", "search", ND_GEOJSON, "Item search");
    json_object_set_new(post, "method", json_string("POST"));
    json_array_append_new(links, post);
    json_array_append_new(links, nd_json_link(rq, "/stac/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                                              "application/schema+json", "Queryables"));
    json_array_append_new(links, nd_json_link(rq, "/openapi", "service-desc",
                                              "application/vnd.oai.openapi+json;version=3.0", "The API definition"));
    json_array_append_new(links, nd_json_link(rq, "/?f=html", "service-doc", "text/html", "The server's documentation"));
    json_t *colls = nd_cat_list_collections(g_cat, NULL, NULL, NULL);
    size_t i;
    json_t *c;
    json_array_foreach(colls, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        if (!nd_auth_may(rq, ND_AUTH_DATASET, id, ND_OP_READ)) continue; /* no name of a forbidden collection leaks */
        json_array_append_new(links, nd_json_link(rq, nd_arena_printf(rq->arena, "/stac/collections/%s", urlpart(rq, id)),
                                                  "child", "application/json",
                                                  json_string_value(json_object_get(c, "title"))));
    }
    json_decref(colls);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "type", "Catalog", "id", "nadir", "title",
                          "nadir STAC catalogue", "description",
                          "Earth-observation data of this server: find granules, then open them by WMS, WCS or OPeNDAP",
                          "stac_version", ND_STAC_VERSION, "conformsTo", conf, "links", links);
    return nd_stac_send(rs, o, 200, NULL);
}

static int conformance(nd_req *rq, nd_resp *rs) {
    json_t *conf = json_array();
    for (const char *const *c = stac_conformance; *c; c++) json_array_append_new(conf, json_string(*c));
    return nd_stac_send(rs, json_pack("{s:o}", "conformsTo", conf), 200, NULL);
}

static int queryables_of(nd_req *rq, nd_resp *rs, const char *collection) {
    const char *self = collection ? nd_arena_printf(rq->arena, "/stac/collections/%s/queryables", urlpart(rq, collection))
                                  : "/stac/queryables";
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "$schema", "https://json-schema.org/draft/2019-09/schema",
                          "$id", nd_req_url(rq, self), "type", "object", "title", "Queryables", "properties",
                          nd_cat_queryables(g_cat, collection), "additionalProperties", 0);
    return nd_stac_send(rs, o, 200, "application/schema+json");
}

static int queryables(nd_req *rq, nd_resp *rs) { return queryables_of(rq, rs, NULL); }

static int collection_queryables(nd_req *rq, nd_resp *rs) {
    const char *id = nd_req_param(rq, "collectionId");
    json_t *c = nd_cat_get_collection(g_cat, id);
    if (!c) return nd_fail(&rq->err, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
    json_decref(c);
    if (nd_auth_check(rq, ND_AUTH_DATASET, id, ND_OP_READ)) return -1;
    return queryables_of(rq, rs, id);
}

/* Collection search: bbox, datetime and q (free text) on the collections list. */
static int collections(nd_req *rq, nd_resp *rs) {
    double bbox[4], iv[2];
    const char *b = nd_req_query(rq, "bbox"), *dt = nd_req_query(rq, "datetime"), *q = nd_req_query(rq, "q");
    if (b) {
        int n = 0, used = 0;
        double v[6];
        const char *p = b;
        while (n < 6 && sscanf(p, "%lf%n", &v[n], &used) == 1) {
            n++;
            p += used;
            if (*p == ',') p++;
            else break;
        }
        if (*p || (n != 4 && n != 6)) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "bbox takes 4 or 6 numbers");
        if (n == 6) v[2] = v[3], v[3] = v[4];
        memcpy(bbox, v, sizeof bbox);
    }
    if (dt && nd_cat_interval_parse(dt, iv))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "datetime", "Not an RFC 3339 date-time or interval");
    if (q && strlen(q) > 256) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "q", "q is longer than 256 characters");
    json_t *list = nd_cat_list_collections(g_cat, q, b ? bbox : NULL, dt ? iv : NULL);
    size_t i;
    json_t *c;
    nd_stac_drop_forbidden(rq, list);
    json_array_foreach(list, i, c) nd_stac_collection_out(rq, c);
    json_t *links = json_array();
    json_array_append_new(links, nd_json_link(rq, "/stac/collections", "self", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/stac", "root", "application/json", NULL));
    json_array_append_new(links, nd_json_link(rq, "/stac", "parent", "application/json", NULL));
    size_t n = json_array_size(list);
    return nd_stac_send(rs, json_pack("{s:o, s:o, s:I, s:I}", "collections", list, "links", links, "numberMatched",
                                      (json_int_t)n, "numberReturned", (json_int_t)n),
                        200, NULL);
}

static int collection(nd_req *rq, nd_resp *rs) {
    json_t *c = nd_cat_get_collection(g_cat, nd_req_param(rq, "collectionId"));
    if (!c) return nd_fail(&rq->err, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
    if (nd_auth_check(rq, ND_AUTH_DATASET, nd_req_param(rq, "collectionId"), ND_OP_READ)) {
        json_decref(c);
        return -1;
    }
    return nd_stac_send(rs, nd_stac_collection_out(rq, c), 200, NULL);
}

static int item(nd_req *rq, nd_resp *rs) {
    const char *cid = nd_req_param(rq, "collectionId");
    json_t *c = nd_cat_get_collection(g_cat, cid);
    if (!c) return nd_fail(&rq->err, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
    json_decref(c);
    if (nd_auth_check(rq, ND_AUTH_DATASET, cid, ND_OP_READ)) return -1;
    json_t *it = nd_cat_get_item(g_cat, cid, nd_req_param(rq, "itemId"));
    if (!it) return nd_fail(&rq->err, ND_E_NOT_FOUND, "itemId", "No item with this id in the collection");
    return nd_stac_send(rs, nd_stac_item_out(rq, it), 200, ND_GEOJSON);
}

static const nd_service stac_service = {
    .id = "stac",
    .title = "STAC API 1.0 catalogue",
    .href = "/stac",
    .rel = "service",
    .type = "application/json",
    .conformance = stac_conformance,
    .dataset_href = "/stac/collections/{id}",
};

static int mkdirs(const char *dir) {
    char *p = nd_xstrdup(dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return free(p), -1;
            *s = '/';
        }
    int rc = mkdir(p, 0755) && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

/* The server does not start without its catalogue: a failure here ends the process with the reason. */
void nd_stac_register(nd_app *app) {
    const nd_config *cfg = app->config;
    char err[1024];
    if (!g_cat && cfg) {
        nd_buf path = {0};
        if (cfg->catalog.database) {
            nd_buf_puts(&path, cfg->catalog.database);
        } else {
            const char *dir = cfg->server.data_dir ? cfg->server.data_dir : "var";
            if (mkdirs(dir)) {
                fprintf(stderr, "nadir: catalogue: cannot create %s: %s\n", dir, strerror(errno));
                exit(1);
            }
            nd_buf_printf(&path, "%s/catalog.db", dir);
        }
        int threads = cfg->server.threads > 0 ? cfg->server.threads : 4;
        if (nd_cat_open(path.data, threads + 1, &g_cat, err, sizeof err)) {
            fprintf(stderr, "nadir: %s\n", err);
            exit(1);
        }
        int left = app->datasets ? nd_cat_sync_datasets(g_cat, app->datasets, err, sizeof err) : 0;
        if (left < 0) {
            fprintf(stderr, "nadir: %s\n", err);
            exit(1);
        }
        /* start-up, not a request: the operator sees why a file is missing from the catalogue */
        if (left > 0) fprintf(stderr, "nadir: warning: %d file(s) not in the catalogue; first: %s\n", left, err);
        nd_buf_free(&path);
    }
    if (!g_cat) return;
    static const nd_route routes[] = {
        {"GET", "/stac", landing, "stac", "STAC landing page", NULL},
        {"GET", "/stac/conformance", conformance, "stac", "STAC conformance classes", NULL},
        {"GET", "/stac/queryables", queryables, "stac", "Properties usable in filters and sorts", NULL},
        {"GET", "/stac/collections", collections, "stac", "STAC collections (bbox, datetime, q)", NULL},
        {"GET", "/stac/collections/{collectionId}", collection, "stac", "One STAC collection", NULL},
        {"GET", "/stac/collections/{collectionId}/queryables", collection_queryables, "stac",
         "Queryables of a collection", NULL},
        {"GET", "/stac/collections/{collectionId}/items", nd_stac_items, "stac", "Items of a collection", NULL},
        {"GET", "/stac/collections/{collectionId}/items/{itemId}", item, "stac", "One STAC item", NULL},
        {"GET", "/stac/collections/{collectionId}/items/{itemId}/file", nd_stac_item_file, "stac",
         "The data file of an ingested item", NULL},
        {"GET", "/stac/search", nd_stac_search_get, "stac", "Item search", NULL},
        {"POST", "/stac/search", nd_stac_search_post, "stac", "Item search (JSON body)", NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
    if (cfg && cfg->catalog.transactions) {
        if (!cfg->catalog.api_key && !cfg->auth.enabled) {
            fprintf(stderr, "nadir: catalog.transactions needs an auth section or catalog.api_key\n");
            exit(1);
        }
        nd_stac_tx_register(app);
    }
    nd_app_add_service(app, &stac_service);
}
