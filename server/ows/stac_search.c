/* STAC item search (GET and POST /stac/search, /stac/collections/{id}/items): parameters into a typed query,
 * pages with next links, the fields extension applied to the results. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stac.h"

#define MAX_LIST 1000

typedef struct params {
    nd_search s;
    const char *ids[MAX_LIST], *colls[MAX_LIST];
    nd_geom geom;
    json_t *include, *exclude; /* fields: arrays of dotted paths */
    json_t *canon;             /* the query without token and limit, for the token's fingerprint */
} params;

static int bad(nd_req *rq, const char *param, const char *fmt, const char *arg) {
    return nd_fail(&rq->err, ND_E_INVALID_PARAM, param, fmt, arg);
}

/* ---------------------------------------------------------------- one parameter at a time */

static int set_bbox(nd_req *rq, params *p, const double *v, size_t n) {
    if (n != 4 && n != 6) return bad(rq, "bbox", "%s", "bbox takes 4 numbers (west, south, east, north) or 6 with heights");
    double b[4] = {v[0], v[1], n == 6 ? v[3] : v[2], n == 6 ? v[4] : v[3]};
    for (int i = 0; i < 4; i++)
        if (!isfinite(b[i])) return bad(rq, "bbox", "%s", "bbox numbers must be finite");
    if (b[1] > b[3] || b[1] < -90 || b[3] > 90 || fabs(b[0]) > 180 || fabs(b[2]) > 180)
        return bad(rq, "bbox", "%s", "bbox must lie in longitude/latitude with south <= north");
    memcpy(p->s.bbox, b, sizeof b);
    p->s.has_bbox = true;
    json_object_set_new(p->canon, "bbox", json_pack("[f,f,f,f]", b[0], b[1], b[2], b[3]));
    return 0;
}

static int set_datetime(nd_req *rq, params *p, const char *s) {
    if (!s || nd_cat_interval_parse(s, p->s.datetime))
        return bad(rq, "datetime", "%s",
                   "datetime must be an RFC 3339 date-time or an interval A/B with '..' or nothing for an open end");
    p->s.has_datetime = true;
    json_object_set_new(p->canon, "datetime", json_pack("[f,f]", p->s.datetime[0], p->s.datetime[1]));
    return 0;
}

static int set_intersects(nd_req *rq, params *p, json_t *g) {
    char why[200];
    if (!json_is_object(g) || nd_geom_from_geojson(rq->arena, g, &p->geom, why, sizeof why))
        return bad(rq, "intersects", "intersects must be a valid GeoJSON geometry: %s",
                   json_is_object(g) ? why : "not an object");
    p->s.intersects = &p->geom;
    char *d = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(p->canon, "intersects", json_string(d));
    free(d);
    return 0;
}

static int add_list(nd_req *rq, params *p, const char *param, const char *v) {
    bool ids = !strcmp(param, "ids");
    size_t *n = ids ? &p->s.nids : &p->s.ncollections;
    const char **arr = ids ? p->ids : p->colls;
    if (*n == MAX_LIST) return bad(rq, param, "at most %s values", "1000");
    if (!*v || strlen(v) > 256) return bad(rq, param, "%s", "values must have 1 to 256 characters");
    arr[(*n)++] = nd_arena_strdup(rq->arena, v);
    json_t *c = json_object_get(p->canon, param);
    if (!c) json_object_set_new(p->canon, param, c = json_array());
    json_array_append_new(c, json_string(v));
    return 0;
}

static int set_limit(nd_req *rq, params *p, long long v, bool ok) {
    if (!ok || v < 1 || v > ND_CAT_MAX_LIMIT) return bad(rq, "limit", "limit must be an integer from 1 to %s", "10000");
    p->s.limit = (int)v;
    return 0;
}

static int add_sort(nd_req *rq, params *p, const char *field, bool desc) {
    if (p->s.nsort == ND_CAT_MAX_SORT) return bad(rq, "sortby", "%s", "at most 8 sort keys");
    const char *name = !strncmp(field, "properties.", 11) ? field + 11 : field;
    if (!*name || strpbrk(name, "\"\\") ||
        !nd_cat_is_queryable(nd_stac_cat(), p->s.collections, p->s.ncollections, name))
        return bad(rq, "sortby", "Unknown sort property '%.80s' (see /stac/queryables)", field);
    if (!strcmp(name, "geometry")) return bad(rq, "sortby", "%s", "cannot sort by geometry");
    p->s.sort[p->s.nsort].property = nd_arena_strdup(rq->arena, name);
    p->s.sort[p->s.nsort++].desc = desc;
    json_t *c = json_object_get(p->canon, "sortby");
    if (!c) json_object_set_new(p->canon, "sortby", c = json_array());
    json_array_append_new(c, json_pack("[s,b]", name, desc));
    return 0;
}

static void add_field(params *p, const char *f, bool exclude) {
    if (!*f) return;
    json_array_append_new(exclude ? p->exclude : p->include, json_string(f));
}

static int set_filter_text(nd_req *rq, params *p, const char *text, const char *lang) {
    nd_cql2 *f;
    if (lang && !strcmp(lang, "cql2-json")) {
        json_error_t je;
        json_t *j = json_loads(text, 0, &je);
        if (!j) return bad(rq, "filter", "filter is not JSON (filter-lang=cql2-json): %s", je.text);
        int rc = nd_cql2_parse_json(rq->arena, j, &f, &rq->err);
        json_decref(j);
        if (rc) return rc;
    } else if (nd_cql2_parse_text(rq->arena, text, &f, &rq->err)) {
        return -1;
    }
    p->s.filter = f;
    json_object_set_new(p->canon, "filter", json_string(text));
    return 0;
}

static int check_lang(nd_req *rq, const char *lang) {
    if (lang && strcmp(lang, "cql2-text") && strcmp(lang, "cql2-json"))
        return bad(rq, "filter-lang", "%s", "filter-lang must be cql2-text or cql2-json");
    return 0;
}

static int check_crs(nd_req *rq, const char *crs) {
    if (crs && strcmp(crs, "http://www.opengis.net/def/crs/OGC/1.3/CRS84"))
        return bad(rq, "filter-crs", "%s", "filter-crs must be http://www.opengis.net/def/crs/OGC/1.3/CRS84");
    return 0;
}

/* ---------------------------------------------------------------- GET */

/* Splits a comma-separated value into its parts (in the arena). */
static size_t split(nd_req *rq, const char *s, char **out, size_t max) {
    size_t n = 0;
    char *copy = nd_arena_strdup(rq->arena, s);
    for (char *tok = copy, *end; tok && n < max; tok = end ? end + 1 : NULL) {
        end = strchr(tok, ',');
        if (end) *end = 0;
        while (isspace((unsigned char)*tok)) tok++;
        out[n++] = tok;
    }
    return n;
}

static int parse_get(nd_req *rq, params *p) {
    const char *v;
    char *parts[MAX_LIST + 1];
    if ((v = nd_req_query(rq, "bbox"))) {
        double nums[7];
        size_t n = split(rq, v, parts, 7);
        for (size_t i = 0; i < n; i++) {
            char *end;
            errno = 0;
            nums[i] = strtod(parts[i], &end);
            if (end == parts[i] || *end || errno) return bad(rq, "bbox", "bbox: '%.40s' is not a number", parts[i]);
        }
        if (set_bbox(rq, p, nums, n)) return -1;
    }
    if ((v = nd_req_query(rq, "intersects"))) {
        if (p->s.has_bbox) return bad(rq, "intersects", "%s", "bbox and intersects cannot be used together");
        json_error_t je;
        json_t *g = json_loads(v, 0, &je);
        if (!g) return bad(rq, "intersects", "intersects is not GeoJSON: %s", je.text);
        int rc = set_intersects(rq, p, g);
        json_decref(g);
        if (rc) return rc;
    }
    if ((v = nd_req_query(rq, "datetime")) && set_datetime(rq, p, v)) return -1;
    static const char *const lists[] = {"ids", "collections"};
    for (int k = 0; k < 2; k++)
        if ((v = nd_req_query(rq, lists[k]))) {
            size_t n = split(rq, v, parts, MAX_LIST + 1);
            for (size_t i = 0; i < n; i++)
                if (add_list(rq, p, lists[k], parts[i])) return -1;
        }
    if ((v = nd_req_query(rq, "limit"))) {
        char *end;
        errno = 0;
        long long l = strtoll(v, &end, 10);
        if (set_limit(rq, p, l, end != v && !*end && !errno)) return -1;
    }
    if ((v = nd_req_query(rq, "sortby"))) {
        size_t n = split(rq, v, parts, ND_CAT_MAX_SORT + 1);
        for (size_t i = 0; i < n; i++) {
            char *f = parts[i];
            bool desc = *f == '-';
            if (*f == '-' || *f == '+') f++;
            if (add_sort(rq, p, f, desc)) return -1;
        }
    }
    if ((v = nd_req_query(rq, "fields"))) {
        size_t n = split(rq, v, parts, 100);
        for (size_t i = 0; i < n; i++) {
            char *f = parts[i];
            bool ex = *f == '-';
            if (*f == '-' || *f == '+') f++;
            add_field(p, f, ex);
        }
    }
    const char *lang = nd_req_query(rq, "filter-lang");
    if (check_lang(rq, lang) || check_crs(rq, nd_req_query(rq, "filter-crs"))) return -1;
    if ((v = nd_req_query(rq, "filter")) && set_filter_text(rq, p, v, lang)) return -1;
    if ((v = nd_req_query(rq, "token"))) p->s.token = v;
    return 0;
}

/* ---------------------------------------------------------------- POST */

static int str_list(nd_req *rq, params *p, json_t *body, const char *key) {
    json_t *a = json_object_get(body, key);
    if (!a || json_is_null(a)) return 0;
    if (!json_is_array(a)) return bad(rq, key, "%s must be an array of strings", key);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v)) return bad(rq, key, "%s must be an array of strings", key);
        if (add_list(rq, p, key, json_string_value(v))) return -1;
    }
    return 0;
}

static int parse_post(nd_req *rq, params *p, json_t *body) {
    json_t *v;
    if ((v = json_object_get(body, "bbox")) && !json_is_null(v)) {
        double nums[6];
        size_t n = json_array_size(v);
        if (!json_is_array(v) || n > 6) return bad(rq, "bbox", "%s", "bbox must be an array of 4 or 6 numbers");
        for (size_t i = 0; i < n; i++) {
            if (!json_is_number(json_array_get(v, i))) return bad(rq, "bbox", "%s", "bbox must hold numbers");
            nums[i] = json_number_value(json_array_get(v, i));
        }
        if (set_bbox(rq, p, nums, n)) return -1;
    }
    if ((v = json_object_get(body, "intersects")) && !json_is_null(v)) {
        if (p->s.has_bbox) return bad(rq, "intersects", "%s", "bbox and intersects cannot be used together");
        if (set_intersects(rq, p, v)) return -1;
    }
    if ((v = json_object_get(body, "datetime")) && !json_is_null(v) && set_datetime(rq, p, json_string_value(v)))
        return -1;
    if (str_list(rq, p, body, "ids") || str_list(rq, p, body, "collections")) return -1;
    if ((v = json_object_get(body, "limit")) && !json_is_null(v) &&
        set_limit(rq, p, json_integer_value(v), json_is_integer(v)))
        return -1;
    if ((v = json_object_get(body, "sortby")) && !json_is_null(v)) {
        if (!json_is_array(v)) return bad(rq, "sortby", "%s", "sortby must be an array of {field, direction}");
        size_t i;
        json_t *s;
        json_array_foreach(v, i, s) {
            const char *field = json_string_value(json_object_get(s, "field"));
            const char *dir = json_string_value(json_object_get(s, "direction"));
            if (!field || (dir && strcmp(dir, "asc") && strcmp(dir, "desc")))
                return bad(rq, "sortby", "%s", "each sortby entry needs a field and a direction asc or desc");
            if (add_sort(rq, p, field, dir && !strcmp(dir, "desc"))) return -1;
        }
    }
    if ((v = json_object_get(body, "fields")) && !json_is_null(v)) {
        if (!json_is_object(v)) return bad(rq, "fields", "%s", "fields must be an object with include/exclude");
        static const char *const keys[] = {"include", "exclude"};
        for (int k = 0; k < 2; k++) {
            json_t *a = json_object_get(v, keys[k]), *f;
            size_t i;
            if (a && !json_is_array(a)) return bad(rq, "fields", "%s", "fields include/exclude must be arrays");
            json_array_foreach(a, i, f) {
                if (!json_is_string(f)) return bad(rq, "fields", "%s", "fields entries must be strings");
                add_field(p, json_string_value(f), k == 1);
            }
        }
    }
    json_t *lang = json_object_get(body, "filter-lang");
    if (lang && !json_is_string(lang)) return bad(rq, "filter-lang", "%s", "filter-lang must be a string");
    if (check_lang(rq, json_string_value(lang)) ||
        check_crs(rq, json_string_value(json_object_get(body, "filter-crs"))))
        return -1;
    if ((v = json_object_get(body, "filter")) && !json_is_null(v)) {
        const char *l = json_string_value(lang);
        if (json_is_string(v) && (!l || !strcmp(l, "cql2-text"))) {
            if (set_filter_text(rq, p, json_string_value(v), "cql2-text")) return -1;
        } else {
            if (l && strcmp(l, "cql2-json")) return bad(rq, "filter", "%s", "a cql2-text filter must be a string");
            nd_cql2 *f;
            if (nd_cql2_parse_json(rq->arena, v, &f, &rq->err)) return -1;
            p->s.filter = f;
            char *d = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
            json_object_set_new(p->canon, "filter", json_string(d));
            free(d);
        }
    }
    if ((v = json_object_get(body, "token")) && !json_is_null(v)) {
        if (!json_is_string(v)) return bad(rq, "token", "%s", "token must be a string");
        p->s.token = nd_arena_strdup(rq->arena, json_string_value(v));
    }
    return 0;
}

/* ---------------------------------------------------------------- fields */

static json_t *get_path(json_t *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *tok = buf, *dot; cur && tok; tok = dot ? dot + 1 : NULL) {
        dot = strchr(tok, '.');
        if (dot) *dot = 0;
        cur = json_object_get(cur, tok);
    }
    return cur;
}

static void set_path(json_t *o, const char *path, json_t *v) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    char *tok = buf;
    for (char *dot; (dot = strchr(tok, '.')); tok = dot + 1) {
        *dot = 0;
        json_t *next = json_object_get(cur, tok);
        if (!json_is_object(next)) json_object_set_new(cur, tok, next = json_object());
        cur = next;
    }
    json_object_set(cur, tok, v);
}

static void del_path(json_t *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *last = strrchr(buf, '.');
    json_t *parent = o;
    if (last) {
        *last = 0;
        parent = get_path(o, buf);
    }
    json_object_del(parent, last ? last + 1 : buf);
}

static bool in_array(json_t *a, const char *s) {
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) if (!strcmp(json_string_value(v), s)) return true;
    return false;
}

/* The fields extension: include keeps the named paths (and what identifies the item); exclude removes paths
 * that include does not name. */
static json_t *apply_fields(json_t *it, json_t *include, json_t *exclude) {
    size_t i;
    json_t *v;
    if (json_array_size(include)) {
        json_t *out = json_object();
        static const char *const keep[] = {"type", "id", "stac_version", "collection", "links"};
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (json_object_get(it, keep[k])) json_object_set(out, keep[k], json_object_get(it, keep[k]));
        json_array_foreach(include, i, v) {
            json_t *val = get_path(it, json_string_value(v));
            if (val) set_path(out, json_string_value(v), val);
        }
        json_decref(it);
        it = out;
    }
    json_array_foreach(exclude, i, v) if (!in_array(include, json_string_value(v))) del_path(it, json_string_value(v));
    return it;
}

/* ---------------------------------------------------------------- running it */

static const char *next_url(nd_req *rq, const char *token) {
    nd_buf b = {0};
    nd_buf_puts(&b, rq->path);
    char sep = '?';
    for (size_t i = 0; i < rq->query_params.n; i++) {
        const nd_kv *kv = &rq->query_params.items[i];
        if (!strcmp(kv->key, "token")) continue;
        nd_buf_printf(&b, "%c", sep);
        nd_buf_put_urlenc(&b, kv->key);
        nd_buf_puts(&b, "=");
        nd_buf_put_urlenc(&b, kv->value);
        sep = '&';
    }
    nd_buf_printf(&b, "%ctoken=", sep);
    nd_buf_put_urlenc(&b, token);
    const char *url = nd_req_url(rq, b.data);
    nd_buf_free(&b);
    return url;
}

static const char *self_url(nd_req *rq) {
    return nd_req_url(rq, rq->query && *rq->query ? nd_arena_printf(rq->arena, "%s?%s", rq->path, rq->query) : rq->path);
}

/* Searches only the collections the caller may read: named ones are checked, and "any collection" becomes
 * the readable ones (or one that matches nothing) when some are forbidden. */
static int readable_collections(nd_req *rq, params *p) {
    if (!nd_auth_active(rq)) return 0;
    for (size_t i = 0; i < p->s.ncollections; i++)
        if (nd_auth_check(rq, ND_AUTH_DATASET, p->colls[i], ND_OP_READ)) return -1;
    if (p->s.ncollections) return 0;
    json_t *all = nd_cat_list_collections(nd_stac_cat(), NULL, NULL, NULL);
    size_t total = json_array_size(all);
    nd_stac_drop_forbidden(rq, all);
    if (json_array_size(all) < total) {
        for (size_t i = 0; i < json_array_size(all) && i < MAX_LIST; i++)
            p->colls[p->s.ncollections++] =
                nd_arena_strdup(rq->arena, json_string_value(json_object_get(json_array_get(all, i), "id")));
        if (!p->s.ncollections) p->colls[p->s.ncollections++] = ""; /* no collection has an empty id */
    }
    json_decref(all);
    return 0;
}

/* Copies n bytes of a stored item with every href stored as a path on this server ("href":"/wms?...") made
 * absolute, as nd_stac_item_out does for the assets of a parsed item; base is the base URL as JSON without its
 * closing quote. */
static void put_absolute(nd_buf *b, const char *text, size_t n, const char *base, size_t blen) {
    static const char key[] = "\"href\":\"/";
    const char *p = text, *end = text + n, *h;
    while ((h = memmem(p, (size_t)(end - p), key, sizeof key - 1))) {
        const char *path = h + sizeof key - 2; /* the '/' */
        if (path + 1 < end && path[1] == '/') { /* "//host/...": a network-path reference, left as it is */
            nd_buf_append(b, p, (size_t)(path + 1 - p));
            p = path + 1;
            continue;
        }
        nd_buf_append(b, p, (size_t)(h + 7 - p)); /* up to "href": */
        nd_buf_append(b, base, blen);
        p = path;
    }
    nd_buf_append(b, p, (size_t)(end - p));
}

static int run(nd_req *rq, nd_resp *rs, params *p, json_t *post_body) {
    p->s.collections = p->colls;
    p->s.ids = p->ids;
    if (readable_collections(rq, p)) return -1;
    char *fp = json_dumps(p->canon, JSON_COMPACT | JSON_SORT_KEYS);
    p->s.fingerprint = nd_arena_strdup(rq->arena, fp);
    free(fp);
    p->s.count = p->s.token == NULL; /* numberMatched on the first page; later pages skip the count */
    p->s.raw = true;
    nd_page page;
    int rc = nd_cat_search(nd_stac_cat(), rq->arena, &p->s, &page, &rq->err);
    if (rc) return rc;
    json_t *links = json_array();
    json_t *self = json_pack("{s:s, s:s, s:s}", "href", self_url(rq), "rel", "self", "type", ND_GEOJSON);
    json_array_append_new(links, self);
    json_array_append_new(links, nd_json_link(rq, "/stac", "root", "application/json", NULL));
    if (page.next) {
        json_t *next;
        if (post_body) {
            json_t *body = json_deep_copy(post_body);
            json_object_set_new(body, "token", json_string(page.next));
            next = json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "href", nd_req_url(rq, rq->path), "rel", "next", "type",
                             ND_GEOJSON, "method", "POST", "body", body, "merge", 0);
        } else {
            next = json_pack("{s:s, s:s, s:s, s:s}", "href", next_url(rq, page.next), "rel", "next", "type",
                             ND_GEOJSON, "method", "GET");
        }
        json_array_append_new(links, next);
    }
    json_t *o = json_pack("{s:o, s:I}", "links", links, "numberReturned", (json_int_t)page.nraw);
    if (page.matched >= 0) json_object_set_new(o, "numberMatched", json_integer(page.matched));
    json_t *ctx = json_pack("{s:I, s:I}", "returned", (json_int_t)page.nraw, "limit",
                            (json_int_t)(p->s.limit ? p->s.limit : ND_CAT_DEFAULT_LIMIT));
    if (page.matched >= 0) json_object_set_new(ctx, "matched", json_integer(page.matched));
    json_object_set_new(o, "context", ctx);
    char *tail = json_dumps(o, JSON_COMPACT);
    json_decref(o);

    /* Items are spliced as stored, their hrefs on this server made absolute and their links appended, unless
     * the fields extension needs them parsed: paging throughput is mostly this loop. */
    nd_buf b = {0};
    nd_buf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
    bool plain = !json_array_size(p->include) && !json_array_size(p->exclude);
    json_t *base = json_string(nd_req_url(rq, ""));
    char *base_json = json_dumps(base, JSON_ENCODE_ANY);
    json_decref(base);
    size_t blen = strlen(base_json) - 1; /* the base URL as JSON without its closing quote */
    for (size_t i = 0; i < page.nraw; i++) {
        const char *text = page.raw[i];
        size_t len = strlen(text);
        if (i) nd_buf_puts(&b, ",");
        if (plain && len > 2 && text[len - 1] == '}') {
            nd_buf b2 = {0};
            nd_buf_put_urlenc(&b2, page.raw_collection[i]);
            size_t clen = b2.len;
            nd_buf_put_urlenc(&b2, page.raw_id[i]);
            put_absolute(&b, text, len - 1, base_json, blen);
            nd_buf_puts(&b, ",\"links\":[{\"href\":");
            nd_buf_append(&b, base_json, blen);
            nd_buf_printf(&b, "/stac/collections/%.*s/items/%s\",\"rel\":\"self\",\"type\":\"" ND_GEOJSON "\"}",
                          (int)clen, b2.data, b2.data + clen);
            static const char *const rels[] = {"parent", "collection"};
            for (int k = 0; k < 2; k++) {
                nd_buf_puts(&b, ",{\"href\":");
                nd_buf_append(&b, base_json, blen);
                nd_buf_printf(&b, "/stac/collections/%.*s\",\"rel\":\"%s\",\"type\":\"application/json\"}", (int)clen,
                              b2.data, rels[k]);
            }
            nd_buf_puts(&b, ",{\"href\":");
            nd_buf_append(&b, base_json, blen);
            nd_buf_puts(&b, "/stac\",\"rel\":\"root\",\"type\":\"application/json\"}]}");
            nd_buf_free(&b2);
            continue;
        }
        json_t *it = json_loads(text, 0, NULL);
        if (!it) it = json_object();
        it = apply_fields(nd_stac_item_out(rq, it), p->include, p->exclude);
        char *d = json_dumps(it, JSON_COMPACT);
        json_decref(it);
        nd_buf_puts(&b, d);
        free(d);
    }
    free(base_json);
    nd_buf_puts(&b, "],");
    nd_buf_puts(&b, tail + 1);
    free(tail);
    nd_resp_set_json(rs, 200, b.data, b.len);
    nd_buf_free(&b);
    rs->content_type = ND_GEOJSON;
    rs->cache_seconds = 0;
    return 0;
}

static void params_init(params *p) {
    memset(p, 0, sizeof *p);
    p->include = json_array();
    p->exclude = json_array();
    p->canon = json_object();
    p->s.collections = p->colls;
    p->s.ids = p->ids;
}

static void params_free(params *p) {
    json_decref(p->include);
    json_decref(p->exclude);
    json_decref(p->canon);
}

int nd_stac_search_get(nd_req *rq, nd_resp *rs) {
    params p;
    params_init(&p);
    int rc = parse_get(rq, &p);
    if (!rc) rc = run(rq, rs, &p, NULL);
    params_free(&p);
    return rc;
}

int nd_stac_search_post(nd_req *rq, nd_resp *rs) {
    json_t *body;
    if (nd_stac_body(rq, &body)) return -1;
    params p;
    params_init(&p);
    int rc = parse_post(rq, &p, body);
    if (!rc) {
        json_t *copy = json_deep_copy(body);
        json_object_del(copy, "token");
        rc = run(rq, rs, &p, copy);
        json_decref(copy);
    }
    params_free(&p);
    json_decref(body);
    return rc;
}

int nd_stac_items(nd_req *rq, nd_resp *rs) {
    const char *cid = nd_req_param(rq, "collectionId");
    json_t *c = nd_cat_get_collection(nd_stac_cat(), cid);
    if (!c) return nd_fail(&rq->err, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
    json_decref(c);
    params p;
    params_init(&p);
    int rc = add_list(rq, &p, "collections", cid);
    if (!rc && (nd_req_query(rq, "collections") || nd_req_query(rq, "ids") || nd_req_query(rq, "intersects")))
        rc = bad(rq, nd_req_query(rq, "collections") ? "collections" : nd_req_query(rq, "ids") ? "ids" : "intersects",
                 "%s", "not a parameter of the items of one collection (use /stac/search)");
    if (!rc) rc = parse_get(rq, &p);
    if (!rc) rc = run(rq, rs, &p, NULL);
    params_free(&p);
    return rc;
}
