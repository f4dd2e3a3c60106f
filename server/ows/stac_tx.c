/* STAC transactions (create, replace, patch, delete of items and collections), on only when configured and
 * guarded by the transactions rules of the auth section, or by the catalogue's API key without one. */
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>

#include "stac.h"

#define MAX_BATCH 10000

/* With an auth section, the transactions rule of the collection decides (creating a collection is for admins);
 * without one, the catalogue's own API key. */
static int authorize(nd_req *rq) {
    if (nd_auth_active(rq)) {
        const char *id = nd_req_param(rq, "collectionId");
        if (!id) return nd_auth_may(rq, ND_AUTH_DATASET, NULL, ND_OP_ADMIN) ? 0 : nd_auth_refuse(rq, "Creating collections");
        return nd_auth_check(rq, ND_AUTH_DATASET, id, ND_OP_TRANSACTIONS);
    }
    const char *key = rq->app->config->catalog.api_key;
    const char *auth = nd_req_header(rq, "Authorization"), *x = nd_req_header(rq, "X-API-Key");
    const char *given = x;
    if (!given && auth && !strncasecmp(auth, "Bearer ", 7)) given = auth + 7;
    if (!given) return nd_fail(&rq->err, ND_E_UNAUTHORIZED, "Authorization", "Transactions need the API key");
    size_t n = strlen(key);
    if (strlen(given) != n || CRYPTO_memcmp(given, key, n) != 0)
        return nd_fail(&rq->err, ND_E_FORBIDDEN, "Authorization", "The API key is not valid");
    return 0;
}

static int no_content(nd_resp *rs) {
    rs->status = 204;
    rs->content_type = NULL;
    rs->cache_seconds = 0;
    return 0;
}

/* RFC 7386 JSON merge patch. */
static void merge_patch(json_t *target, json_t *patch) {
    const char *k;
    json_t *v;
    json_object_foreach(patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else if (json_is_object(v) && json_is_object(json_object_get(target, k))) {
            merge_patch(json_object_get(target, k), v);
        } else {
            json_object_set(target, k, v);
        }
    }
}

static int id_matches(nd_req *rq, json_t *o, const char *id, const char *what) {
    json_t *j = json_object_get(o, "id");
    if (!j) json_object_set_new(o, "id", json_string(id));
    else if (!json_is_string(j) || strcmp(json_string_value(j), id))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "id", "The %s id differs from the path's", what);
    return 0;
}

static int send_created(nd_req *rq, nd_resp *rs, json_t *o, bool item, int status) {
    json_t *out = item ? nd_stac_item_out(rq, o) : nd_stac_collection_out(rq, o);
    json_t *self = json_object_get(json_array_get(json_object_get(out, "links"), 0), "href");
    if (self) nd_resp_header(rq, rs, "Location", json_string_value(self));
    return nd_stac_send(rs, out, status, item ? ND_GEOJSON : "application/json");
}

static int coll_create(nd_req *rq, nd_resp *rs) {
    json_t *body;
    if (authorize(rq) || nd_stac_body(rq, &body)) return -1;
    if (nd_cat_put_collection(nd_stac_cat(), body, ND_PUT_CREATE, "api", &rq->err)) return json_decref(body), -1;
    return send_created(rq, rs, body, false, 201);
}

static int coll_write(nd_req *rq, nd_resp *rs, bool patch) {
    const char *id = nd_req_param(rq, "collectionId");
    json_t *body;
    if (authorize(rq) || nd_stac_body(rq, &body)) return -1;
    if (patch) {
        json_t *cur = nd_cat_get_collection(nd_stac_cat(), id);
        if (!cur) return json_decref(body), nd_fail(&rq->err, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
        merge_patch(cur, body);
        json_decref(body);
        body = cur;
    }
    if (id_matches(rq, body, id, "collection") ||
        nd_cat_put_collection(nd_stac_cat(), body, ND_PUT_REPLACE, "api", &rq->err))
        return json_decref(body), -1;
    return send_created(rq, rs, body, false, 200);
}

static int coll_put(nd_req *rq, nd_resp *rs) { return coll_write(rq, rs, false); }
static int coll_patch(nd_req *rq, nd_resp *rs) { return coll_write(rq, rs, true); }

static int coll_delete(nd_req *rq, nd_resp *rs) {
    if (authorize(rq) || nd_cat_delete_collection(nd_stac_cat(), nd_req_param(rq, "collectionId"), &rq->err))
        return -1;
    return no_content(rs);
}

static int item_create(nd_req *rq, nd_resp *rs) {
    const char *cid = nd_req_param(rq, "collectionId");
    json_t *body;
    if (authorize(rq) || nd_stac_body(rq, &body)) return -1;
    const char *type = json_string_value(json_object_get(body, "type"));
    if (type && !strcmp(type, "FeatureCollection")) {
        json_t *f = json_object_get(body, "features");
        size_t n = json_array_size(f);
        if (!json_is_array(f) || n == 0 || n > MAX_BATCH)
            return json_decref(body), nd_fail(&rq->err, ND_E_INVALID_PARAM, "features",
                                              "features must be an array of 1 to %d items", MAX_BATCH);
        json_t **items = nd_arena_alloc(rq->arena, n * sizeof *items);
        for (size_t i = 0; i < n; i++) items[i] = json_array_get(f, i);
        int rc = nd_cat_put_items(nd_stac_cat(), cid, items, n, ND_PUT_CREATE, &rq->err);
        json_decref(body);
        if (rc) return rc;
        rs->status = 201;
        return nd_stac_send(rs, json_pack("{s:I}", "created", (json_int_t)n), 201, NULL);
    }
    if (nd_cat_put_items(nd_stac_cat(), cid, &body, 1, ND_PUT_CREATE, &rq->err)) return json_decref(body), -1;
    return send_created(rq, rs, body, true, 201);
}

static int item_write(nd_req *rq, nd_resp *rs, bool patch) {
    const char *cid = nd_req_param(rq, "collectionId"), *id = nd_req_param(rq, "itemId");
    json_t *body;
    if (authorize(rq) || nd_stac_body(rq, &body)) return -1;
    if (patch) {
        json_t *cur = nd_cat_get_item(nd_stac_cat(), cid, id);
        if (!cur) return json_decref(body), nd_fail(&rq->err, ND_E_NOT_FOUND, "itemId", "No item with this id");
        merge_patch(cur, body);
        json_decref(body);
        body = cur;
    }
    if (id_matches(rq, body, id, "item") || nd_cat_put_items(nd_stac_cat(), cid, &body, 1, ND_PUT_REPLACE, &rq->err))
        return json_decref(body), -1;
    return send_created(rq, rs, body, true, 200);
}

static int item_put(nd_req *rq, nd_resp *rs) { return item_write(rq, rs, false); }
static int item_patch(nd_req *rq, nd_resp *rs) { return item_write(rq, rs, true); }

static int item_delete(nd_req *rq, nd_resp *rs) {
    if (authorize(rq) ||
        nd_cat_delete_item(nd_stac_cat(), nd_req_param(rq, "collectionId"), nd_req_param(rq, "itemId"), &rq->err))
        return -1;
    return no_content(rs);
}

void nd_stac_tx_register(nd_app *app) {
    static const nd_route routes[] = {
        {"POST", "/stac/collections", coll_create, "stac", "Create a collection (transactions)", NULL},
        {"PUT", "/stac/collections/{collectionId}", coll_put, "stac", "Replace a collection", NULL},
        {"PATCH", "/stac/collections/{collectionId}", coll_patch, "stac", "Patch a collection (merge patch)", NULL},
        {"DELETE", "/stac/collections/{collectionId}", coll_delete, "stac", "Delete a collection and its items", NULL},
        {"POST", "/stac/collections/{collectionId}/items", item_create, "stac", "Create items", NULL},
        {"PUT", "/stac/collections/{collectionId}/items/{itemId}", item_put, "stac", "Replace an item", NULL},
        {"PATCH", "/stac/collections/{collectionId}/items/{itemId}", item_patch, "stac", "Patch an item", NULL},
        {"DELETE", "/stac/collections/{collectionId}/items/{itemId}", item_delete, "stac", "Delete an item", NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
}
