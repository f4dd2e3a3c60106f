/* Tile front-ends: WMTS 1.0.0 (KVP and REST), XYZ and OGC API Tiles tiles, each a GetMap of the tile's
 * window through nd_wms_render, kept in the disk tile cache. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/ows.h"
#include "nadir/tilecache.h"
#include "nadir/wms.h"
#include "nadir/wmts.h"
#include "wmts_priv.h"

static pthread_mutex_t fp_lock = PTHREAD_MUTEX_INITIALIZER;
/* Tile layers of job outputs published while serving go to room reserved at start-up (as the WMS layers do):
 * the table never moves, writers take publish_lock, nlayers is stored after the slot is filled. */
#define WMTS_PUBLISHED_LAYERS 4096
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;
static wmts_layer *layers;
static size_t nlayers, layers_cap;
static const nd_app *serving_app;
static nd_tilecache *cache;

size_t wmts_layer_count(void) { return __atomic_load_n(&nlayers, __ATOMIC_ACQUIRE); }
/* NULL past the end and for the layers of withdrawn datasets. */
const wmts_layer *wmts_layer_at(size_t i) {
    return i < wmts_layer_count() && nd_dataset_live(layers[i].ds) ? &layers[i] : NULL;
}

const wmts_layer *wmts_layer_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < wmts_layer_count(); i++)
        if ((strcmp(layers[i].name, name) == 0 || strcmp(layers[i].safe, name) == 0) && nd_dataset_live(layers[i].ds))
            return &layers[i];
    return NULL;
}

static void free_layers(void) {
    for (size_t i = 0; i < nlayers; i++) {
        free(layers[i].safe);
        free(layers[i].style_conf);
    }
    free(layers);
    layers = NULL;
    nlayers = layers_cap = 0;
    serving_app = NULL;
    nd_tilecache_close(cache);
    cache = NULL;
}

/* Tile layers for the WMS layers not yet here. */
static void add_layers(const nd_app *app) {
    size_t count = nd_wms_layer_count();
    if (count > layers_cap) count = layers_cap;
    for (size_t i = nlayers; i < count; i++) {
        wmts_layer *l = &layers[i];
        l->name = nd_wms_layer_name(i);
        l->safe = nd_xstrdup(l->name);
        for (char *p = l->safe; *p; p++)
            if (*p == '/') *p = ':';
        char id[256];
        snprintf(id, sizeof id, "%.*s", (int)strcspn(l->name, "/"), l->name);
        l->ds = nd_registry_get(app->datasets, id);
        const nd_variable *v = l->ds ? nd_dataset_var(l->ds, l->name + strlen(id) + 1) : NULL;
        /* a variable spans the axes; a composite or vector layer has the dataset's (none for vectors) */
        l->has_time = l->ds && l->ds->time && l->ds->time->n && (v ? v->has_time : true);
        l->has_z = l->ds && l->ds->vertical && l->ds->vertical->n && (v ? v->has_vertical : true);
        nd_buf conf = {0};
        const nd_config *cfg = app->config;
        for (size_t s = 0; s < cfg->nstyles; s++) {
            const nd_style_conf *sc = &cfg->styles[s];
            for (size_t k = 0; k < sc->nlayers; k++) {
                if (strcmp(sc->layers[k], l->name) != 0) continue;
                if (l->nstyles < 8) l->styles[l->nstyles++] = sc->name;
                nd_buf_printf(&conf, "%s|%s|%s|%d|%d|%s|%s|%d", sc->name, sc->palette ? sc->palette : "",
                              sc->range ? sc->range : "", sc->log, sc->bands, sc->above ? sc->above : "",
                              sc->below ? sc->below : "", sc->is_default);
                /* composite and vector keys too: a new fill or stretch must not be served from old tiles */
                for (size_t b = 0; b < sc->nrgb; b++) nd_buf_printf(&conf, "|rgb=%s", sc->rgb[b]);
                for (size_t b = 0; b < sc->nranges; b++) nd_buf_printf(&conf, "|range=%s", sc->ranges[b]);
                nd_buf_printf(&conf, "|%s|%s|%s|%s|%d|%d|%s;", sc->stretch ? sc->stretch : "",
                              sc->percentiles ? sc->percentiles : "", sc->fill ? sc->fill : "",
                              sc->stroke ? sc->stroke : "", sc->stroke_width, sc->point_size, sc->label ? sc->label : "");
            }
        }
        nd_buf_puts(&conf, "");
        l->style_conf = nd_buf_steal(&conf, NULL);
        __atomic_store_n(&nlayers, i + 1, __ATOMIC_RELEASE);
    }
}

static void build_layers(const nd_app *app) {
    free_layers();
    layers_cap = nd_wms_layer_count() + WMTS_PUBLISHED_LAYERS;
    layers = nd_xcalloc(layers_cap, sizeof *layers);
    add_layers(app);
}

void nd_wmts_publish(void) {
    pthread_mutex_lock(&publish_lock);
    if (serving_app) add_layers(serving_app);
    pthread_mutex_unlock(&publish_lock);
}

static void render_ows11(nd_req *rq, nd_resp *rs) { nd_ows_render_exception(rq, rs, ND_OWS_EXC_OWS11); }

/* A whole decimal number in [lo, hi]; -1 otherwise. */
static int parse_long(const char *s, long lo, long hi, long *out) {
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static const char *format_ext(const char *format) {
    if (!strcasecmp(format, "image/png")) return "png";
    if (!strcasecmp(format, "image/jpeg")) return "jpg";
    return NULL;
}

static const char *format_of_ext(const char *ext) {
    if (!strcasecmp(ext, "png")) return "image/png";
    if (!strcasecmp(ext, "jpg") || !strcasecmp(ext, "jpeg")) return "image/jpeg";
    return NULL;
}

/* ncWMS parameters change the picture without being part of the key: such tiles bypass the cache. */
static bool cacheable(const nd_req *rq) {
    static const char *const keys[] = {"COLORSCALERANGE", "PALETTE", "NUMCOLORBANDS", "ABOVEMAXCOLOR",
                                       "BELOWMINCOLOR", "LOGSCALE", "INTERPOLATION"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (nd_req_query(rq, keys[i])) return false;
    return true;
}

/* The layer's sources and styles digest; an aggregation of thousands of files is not stat'ed for every tile:
 * a change shows within a second. */
static uint64_t layer_fingerprint(wmts_layer *l) {
    time_t now = time(NULL);
    pthread_mutex_lock(&fp_lock);
    if (l->fingerprint_at != now) {
        l->fingerprint = nd_tilecache_fingerprint(l->ds ? l->ds->files : NULL, l->ds ? l->ds->nfiles : 0, l->style_conf);
        l->fingerprint_at = now;
    }
    uint64_t fp = l->fingerprint;
    pthread_mutex_unlock(&fp_lock);
    return fp;
}

typedef struct tile_req {
    const wmts_layer *layer;
    const char *style, *format, *time, *elevation;
    const nd_tms *tms;
    long z, row, col;
} tile_req;

/* Renders (or finds in the cache) one tile; errors in rq->err. */
static int serve_tile(nd_req *rq, nd_resp *rs, tile_req *t) {
    if (!t->layer) return nd_fail(&rq->err, ND_E_LAYER_NOT_DEFINED, "layer", "no layer is called that");
    if (nd_auth_check_layer(rq, t->layer->name)) return -1;
    if (t->style && (!*t->style || !strcasecmp(t->style, "default"))) t->style = NULL;
    if (t->style) {
        bool known = false;
        for (size_t i = 0; i < t->layer->nstyles; i++) known |= strcmp(t->layer->styles[i], t->style) == 0;
        if (!known) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "style", "the layer has no such style");
    }
    if (!t->format || !format_ext(t->format))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "format", "tiles are image/png or image/jpeg");
    if (t->time && (!*t->time || !strcasecmp(t->time, "default") || !strcasecmp(t->time, "current"))) t->time = NULL;
    if (t->elevation && (!*t->elevation || !strcasecmp(t->elevation, "default"))) t->elevation = NULL;
    double bbox[4];
    if (t->z < 0 || t->z > ND_TMS_MAX_ZOOM)
        return nd_fail(&rq->err, ND_E_TILE_OUT_OF_RANGE, "tilematrix", "tile matrices are 0..%d", ND_TMS_MAX_ZOOM);
    if (!nd_tms_tile_bbox(t->tms, (int)t->z, t->row, t->col, bbox)) {
        long w, h;
        nd_tms_matrix_size(t->tms, (int)t->z, &w, &h);
        bool row_bad = t->row < 0 || t->row >= h;
        return nd_fail(&rq->err, ND_E_TILE_OUT_OF_RANGE, row_bad ? "tilerow" : "tilecol",
                       "tile matrix %ld has %ld rows and %ld columns", t->z, h, w);
    }
    nd_tile_key key = {t->layer->name, t->style, t->time, t->elevation, t->tms->id, (int)t->z, t->row, t->col,
                       t->format, 0};
    bool use_cache = cache && cacheable(rq);
    if (use_cache) {
        key.fingerprint = layer_fingerprint((wmts_layer *)t->layer);
        if (nd_tilecache_get(cache, &key, &rs->body) == 1) {
            rs->status = 200;
            rs->content_type = !strcasecmp(t->format, "image/png") ? "image/png" : "image/jpeg";
            rs->cache_seconds = 3600;
            nd_resp_header(rq, rs, "X-Tile-Cache", "hit");
            return 0;
        }
    }
    nd_map_query q = {t->layer->name, t->style, t->tms->crs_gdal, {bbox[0], bbox[1], bbox[2], bbox[3]},
                      ND_TMS_TILE_SIZE, ND_TMS_TILE_SIZE, t->format, t->time, t->elevation, true};
    if (nd_wms_render(rq, &q, rs) < 0) return -1;
    if (use_cache && !rs->stream.read) nd_tilecache_put(cache, &key, rs->body.data, rs->body.len);
    rs->cache_seconds = 3600;
    nd_resp_header(rq, rs, "X-Tile-Cache", use_cache ? "miss" : "bypass");
    return 0;
}

/* ---- WMTS KVP ---- */

static const char *need(nd_req *rq, const char *key) {
    const char *v = nd_req_query(rq, key);
    if (!v || !*v) nd_fail(&rq->err, ND_E_MISSING_PARAM, key, "%s is required", key);
    return v && *v ? v : NULL;
}

/* The tile parameters shared by GetTile and GetFeatureInfo. */
static int kvp_tile(nd_req *rq, tile_req *t) {
    const char *layer = need(rq, "LAYER"), *style, *fmt, *set, *m, *r, *c;
    if (!layer || !(style = need(rq, "STYLE")) || !(fmt = need(rq, "FORMAT")) || !(set = need(rq, "TILEMATRIXSET")) ||
        !(m = need(rq, "TILEMATRIX")) || !(r = need(rq, "TILEROW")) || !(c = need(rq, "TILECOL")))
        return -1;
    memset(t, 0, sizeof *t);
    t->layer = wmts_layer_find(layer);
    if (!t->layer) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "layer", "no layer is called that");
    t->tms = nd_tms_get(set);
    if (!t->tms) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilematrixset", "unknown tile matrix set");
    if (parse_long(m, 0, ND_TMS_MAX_ZOOM, &t->z) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilematrix", "tile matrices are 0..%d", ND_TMS_MAX_ZOOM);
    if (parse_long(r, -(1L << 40), 1L << 40, &t->row) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilerow", "TileRow is a whole number");
    if (parse_long(c, -(1L << 40), 1L << 40, &t->col) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilecol", "TileCol is a whole number");
    t->style = style;
    t->format = fmt;
    t->time = nd_req_query(rq, "TIME");
    t->elevation = nd_req_query(rq, "ELEVATION");
    return 0;
}

static int kvp_gettile(nd_req *rq, nd_resp *rs) {
    tile_req t;
    if (kvp_tile(rq, &t) < 0) return -1;
    return serve_tile(rq, rs, &t);
}

/* GetFeatureInfo at pixel (I, J) of a tile: the WMS 1.3.0 GetFeatureInfo of the tile's window. */
static int featureinfo(nd_req *rq, nd_resp *rs, tile_req t, const char *i, const char *j, const char *info) {
    long pi, pj;
    if (parse_long(i, 0, ND_TMS_TILE_SIZE - 1, &pi) < 0 || parse_long(j, 0, ND_TMS_TILE_SIZE - 1, &pj) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "i", "I and J are 0..%d", ND_TMS_TILE_SIZE - 1);
    double bbox[4];
    if (!nd_tms_tile_bbox(t.tms, (int)t.z, t.row, t.col, bbox))
        return nd_fail(&rq->err, ND_E_TILE_OUT_OF_RANGE, "tilerow", "the tile is outside the tile matrix");
    nd_kvlist q = {0};
    nd_arena *a = rq->arena;
    nd_kvlist_add(a, &q, "SERVICE", "WMS");
    nd_kvlist_add(a, &q, "VERSION", "1.3.0");
    nd_kvlist_add(a, &q, "REQUEST", "GetFeatureInfo");
    nd_kvlist_add(a, &q, "LAYERS", t.layer->name);
    nd_kvlist_add(a, &q, "QUERY_LAYERS", t.layer->name);
    nd_kvlist_add(a, &q, "STYLES", "");
    nd_kvlist_add(a, &q, "CRS", t.tms->w0 == 1 ? "EPSG:3857" : "CRS:84");
    nd_kvlist_add(a, &q, "BBOX", nd_arena_printf(a, "%.17g,%.17g,%.17g,%.17g", bbox[0], bbox[1], bbox[2], bbox[3]));
    nd_kvlist_add(a, &q, "WIDTH", "256");
    nd_kvlist_add(a, &q, "HEIGHT", "256");
    nd_kvlist_add(a, &q, "FORMAT", "image/png");
    nd_kvlist_add(a, &q, "I", nd_arena_printf(a, "%ld", pi));
    nd_kvlist_add(a, &q, "J", nd_arena_printf(a, "%ld", pj));
    nd_kvlist_add(a, &q, "INFO_FORMAT", info);
    if (t.time && *t.time) nd_kvlist_add(a, &q, "TIME", t.time);
    if (t.elevation && *t.elevation) nd_kvlist_add(a, &q, "ELEVATION", t.elevation);
    nd_kvlist saved = rq->query_params;
    rq->query_params = q;
    int rc = nd_wms_handle(rq, rs);
    rq->query_params = saved;
    rq->version = "1.0.0";
    return rc;
}

static int kvp_featureinfo(nd_req *rq, nd_resp *rs) {
    tile_req t;
    const char *i, *j, *info;
    if (kvp_tile(rq, &t) < 0 || !(i = need(rq, "I")) || !(j = need(rq, "J")) || !(info = need(rq, "INFOFORMAT")))
        return -1;
    return featureinfo(rq, rs, t, i, j, info);
}

static const char *const versions[] = {"1.0.0", NULL};
static const nd_ows_op ops[] = {
    {"GetCapabilities", wmts_capabilities, 0},
    {"GetTile", kvp_gettile, ND_OWS_NEEDS_VERSION},
    {"GetFeatureInfo", kvp_featureinfo, ND_OWS_NEEDS_VERSION},
};
static const nd_ows_service wmts_service = {"WMTS", versions, ops, sizeof ops / sizeof ops[0], false};

int nd_wmts_kvp(nd_req *rq, nd_resp *rs) { return nd_ows_dispatch(&wmts_service, rq, rs); }

/* ---- REST and XYZ paths ---- */

/* Splits "a/b/c" (in the arena) into at most max segments; the count, or -1 past max. */
static int split(nd_req *rq, const char *path, char **seg, int max) {
    char *s = nd_arena_strdup(rq->arena, path);
    int n = 0;
    char *save = NULL; /* strtok_r: strtok's hidden state is shared by the request threads */
    for (char *tok = strtok_r(s, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (n == max) return -1;
        seg[n++] = tok;
    }
    return n;
}

/* "12.png" into 12 and the media type. */
static int last_segment(nd_req *rq, char *seg, long *v, const char **format) {
    char *dot = strrchr(seg, '.');
    if (!dot) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "the tile needs an extension (.png, .jpg)");
    *dot = 0;
    *format = format_of_ext(dot + 1);
    if (!*format) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "format", "tiles are .png or .jpg");
    if (parse_long(seg, -(1L << 40), 1L << 40, v) < 0)
        return nd_fail(&rq->err, ND_E_TILE_OUT_OF_RANGE, "tilecol", "not a tile index");
    return 0;
}

/* /wmts/1.0.0/{layer}/{style}[/{Time}]/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.{ext} */
static int wmts_rest(nd_req *rq, nd_resp *rs) {
    const char *rest = nd_req_param(rq, "rest");
    rq->version = "1.0.0";
    if (rest && !strcmp(rest, "WMTSCapabilities.xml")) return wmts_capabilities(rq, rs);
    char *seg[12];
    int n = rest ? split(rq, rest, seg, 12) : 0;
    if (n < 6 || n > 10) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "no such WMTS resource");
    /* .../{TileCol}/{J}/{I}.{json|txt|html}: FeatureInfo, two more segments than a tile */
    const char *ext = strrchr(seg[n - 1], '.');
    bool info = ext && (!strcmp(ext, ".json") || !strcmp(ext, ".txt") || !strcmp(ext, ".html"));
    if (info && n < 8) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "no such WMTS resource");
    const char *pj = NULL, *pi = NULL, *info_format = NULL;
    if (info) {
        char *dot = strrchr(seg[n - 1], '.');
        if (!dot) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "FeatureInfo needs an extension");
        *dot = 0;
        info_format = !strcmp(dot + 1, "json") ? "application/json" : !strcmp(dot + 1, "txt") ? "text/plain"
                      : !strcmp(dot + 1, "html")                    ? "text/html"
                                                                    : NULL;
        if (!info_format) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "infoformat", "json, txt or html");
        pi = seg[n - 1];
        pj = seg[n - 2];
        seg[n - 3] = nd_arena_printf(rq->arena, "%s.png", seg[n - 3]);
        n -= 2;
    }
    tile_req t = {0};
    t.layer = wmts_layer_find(seg[0]);
    if (!t.layer) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "layer", "no layer is called that");
    t.style = seg[1];
    /* the dimensions between style and tile matrix set, in the template's order: {Time}, then {Elevation} */
    int ndims = n - 6;
    if (ndims > 2 || (ndims == 2 && !(t.layer->has_time && t.layer->has_z)))
        return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "no such WMTS resource");
    t.elevation = nd_req_query(rq, "elevation");
    if (ndims == 2) t.time = seg[2], t.elevation = seg[3];
    else if (ndims == 1 && !t.layer->has_time && t.layer->has_z) t.elevation = seg[2];
    else if (ndims == 1) t.time = seg[2];
    int k = n - 4;
    t.tms = nd_tms_get(seg[k]);
    if (!t.tms) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilematrixset", "unknown tile matrix set");
    if (parse_long(seg[k + 1], 0, ND_TMS_MAX_ZOOM, &t.z) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilematrix", "tile matrices are 0..%d", ND_TMS_MAX_ZOOM);
    if (parse_long(seg[k + 2], -(1L << 40), 1L << 40, &t.row) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "tilerow", "TileRow is a whole number");
    if (last_segment(rq, seg[k + 3], &t.col, &t.format) < 0) return -1;
    if (info) return featureinfo(rq, rs, t, pi, pj, info_format);
    return serve_tile(rq, rs, &t);
}

/* /tiles/{layer}/{z}/{x}/{y}.png in WebMercatorQuad, layer in its ':' form (or "dataset/variable"). */
static int xyz(nd_req *rq, nd_resp *rs) {
    const char *rest = nd_req_param(rq, "rest");
    char *seg[6];
    int n = rest ? split(rq, rest, seg, 5) : -1;
    if (n != 4 && n != 5) return nd_fail(&rq->err, ND_E_NOT_FOUND, "path", "tiles are /tiles/{layer}/{z}/{x}/{y}.png");
    tile_req t = {0};
    const char *layer = seg[0];
    if (n == 5) layer = nd_arena_printf(rq->arena, "%s/%s", seg[0], seg[1]);
    int k = n - 3;
    t.layer = wmts_layer_find(layer);
    if (!t.layer) return nd_fail(&rq->err, ND_E_LAYER_NOT_DEFINED, "layer", "no layer is called that");
    t.tms = nd_tms_at(0);
    if (parse_long(seg[k], -1000, 1000, &t.z) < 0 || parse_long(seg[k + 1], -(1L << 40), 1L << 40, &t.col) < 0)
        return nd_fail(&rq->err, ND_E_TILE_OUT_OF_RANGE, "tilematrix", "not a tile index");
    if (last_segment(rq, seg[k + 2], &t.row, &t.format) < 0) return -1;
    t.style = nd_req_query(rq, "style");
    t.time = nd_req_query(rq, "time");
    t.elevation = nd_req_query(rq, "elevation");
    return serve_tile(rq, rs, &t);
}

/* The layer shown by a collection's map tiles: ?variable= or the dataset's first layer. */
const wmts_layer *wmts_collection_layer(nd_req *rq, const char *id) {
    if (!nd_auth_may(rq, ND_AUTH_DATASET, id, ND_OP_READ)) return NULL;
    const char *var = nd_req_query(rq, "variable");
    if (var) return wmts_layer_find(nd_arena_printf(rq->arena, "%s/%s", id, var));
    size_t n = strlen(id);
    for (size_t i = 0; i < nlayers; i++)
        if (!strncmp(layers[i].name, id, n) && layers[i].name[n] == '/') return &layers[i];
    return NULL;
}

/* /collections/{id}/map/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol} */
static int api_tile(nd_req *rq, nd_resp *rs) {
    tile_req t = {0};
    t.layer = wmts_collection_layer(rq, nd_req_param(rq, "id"));
    if (!t.layer) return nd_fail(&rq->err, ND_E_NOT_FOUND, "id", "no map of that collection");
    t.tms = nd_tms_get(nd_req_param(rq, "tms"));
    if (!t.tms) return nd_fail(&rq->err, ND_E_NOT_FOUND, "tileMatrixSetId", "unknown tile matrix set");
    if (parse_long(nd_req_param(rq, "z"), -1000, 1000, &t.z) < 0 ||
        parse_long(nd_req_param(rq, "row"), -(1L << 40), 1L << 40, &t.row) < 0 ||
        parse_long(nd_req_param(rq, "col"), -(1L << 40), 1L << 40, &t.col) < 0)
        return nd_fail(&rq->err, ND_E_TILE_OUT_OF_RANGE, "tileMatrix", "not a tile index");
    const char *f = nd_req_query(rq, "f");
    t.format = f && !strcasecmp(f, "jpeg") ? "image/jpeg" : "image/png";
    t.style = nd_req_query(rq, "style");
    t.time = nd_req_query(rq, "datetime");
    t.elevation = nd_req_query(rq, "elevation");
    int rc = serve_tile(rq, rs, &t);
    /* OGC API Tiles: an out-of-range tile is a 404 */
    if (rc < 0 && rq->err.code == ND_E_TILE_OUT_OF_RANGE) rq->err.code = ND_E_NOT_FOUND;
    return rc;
}

static const char *const tiles_conformance[] = {
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/png",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/jpeg",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    NULL,
};

static const char *const no_conformance[] = {NULL};

static const nd_service wmts_entry = {
    "wmts", "Web Map Tile Service 1.0.0", "/wmts/1.0.0/WMTSCapabilities.xml", "service", "application/xml",
    no_conformance, NULL,
};

/* OGC API - Tiles: its conformance classes, and from each collection the link to its map tile sets. */
static const nd_service tiles_entry = {
    "tiles", "Map tiles (OGC API - Tiles)", "/tileMatrixSets", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map",
    "application/json", tiles_conformance, "/collections/{id}/map/tiles",
};

/* The cache (server.tile_cache_dir, default <data_dir>/tiles), created at start-up unless turned off. */
static void open_cache(const nd_app *app) {
    const nd_server_conf *sc = &app->config->server;
    if (sc->tile_cache_max <= 0) return;
    char path[4096];
    if (sc->tile_cache_dir) snprintf(path, sizeof path, "%s", sc->tile_cache_dir);
    else if (sc->data_dir) snprintf(path, sizeof path, "%s/tiles", sc->data_dir);
    else return;
    cache = nd_tilecache_open(path, (uint64_t)sc->tile_cache_max);
}

void nd_wmts_register(nd_app *app) {
    build_layers(app);
    serving_app = app;
    open_cache(app);
    static int once;
    if (!once++) atexit(free_layers);
    const nd_route routes[] = {
        {"GET", "/wmts", nd_wmts_kvp, "wmts", "Web Map Tile Service 1.0.0 (KVP)", render_ows11},
        {"GET", "/wmts/1.0.0/{rest*}", wmts_rest, "wmts", "WMTS 1.0.0 RESTful capabilities and tiles", render_ows11},
        {"GET", "/tiles/{rest*}", xyz, "wmts", "XYZ tiles /tiles/{layer}/{z}/{x}/{y}.png (Web Mercator)", render_ows11},
        {"GET", "/tileMatrixSets", wmts_api_tms_list, "tiles", "The tile matrix sets", NULL},
        {"GET", "/tileMatrixSets/{tms}", wmts_api_tms, "tiles", "One tile matrix set (OGC TMS 2.0)", NULL},
        {"GET", "/collections/{id}/map/tiles", wmts_api_tilesets, "tiles", "Map tile sets of a collection", NULL},
        {"GET", "/collections/{id}/map/tiles/{tms}", wmts_api_tileset, "tiles", "One map tile set", NULL},
        {"GET", "/collections/{id}/map/tiles/{tms}/{z}/{row}/{col}", api_tile, "tiles", "A map tile", NULL},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
    nd_app_add_service(app, &wmts_entry);
    nd_app_add_service(app, &tiles_entry);
}
