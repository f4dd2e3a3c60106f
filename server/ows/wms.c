/* WMS 1.1.1 / 1.3.0 front-end: the operation table, the layer table built at start-up, and the parsing of the
 * parameters GetMap, GetFeatureInfo and GetLegendGraphic share. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/warp.h"
#include "wms_priv.h"

/* ---- The layer table ---- */

static wms_state state;

const wms_state *wms_state_get(void) { return &state; }

/* Layers of job outputs published while serving go to the room left at start-up, so the table never moves
 * under the requests reading it; writers take publish_lock, readers read n once (it is stored last). */
#define WMS_PUBLISHED_LAYERS 4096
static size_t layers_cap;
static bool serving;
static pthread_mutex_t publish_lock = PTHREAD_MUTEX_INITIALIZER;

const wms_layer *wms_layer_find(const char *name) {
    size_t n = __atomic_load_n(&state.n, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++)
        if (strcmp(state.layers[i].name, name) == 0 && nd_dataset_live(state.layers[i].ds)) return &state.layers[i];
    return NULL;
}

static bool name_has(const nd_variable *v, const char *what) {
    const char *s[] = {v->name, v->standard_name, v->long_name};
    for (size_t i = 0; i < 3; i++)
        if (s[i] && strcasestr(s[i], what)) return true;
    return false;
}

/* A palette that suits the quantity, as ncWMS/THREDDS users expect (temperatures warm, anomalies diverging). */
static const nd_palette *default_palette(const nd_variable *v) {
    if (name_has(v, "anom")) return nd_palette_find("balance");
    if (name_has(v, "temp") || name_has(v, "sst")) return nd_palette_find("thermal");
    if (name_has(v, "ice")) return nd_palette_find("greyscale");
    return nd_palette_find("viridis");
}

static size_t default_time(const nd_dataset *ds) { return ds->time && ds->time->n ? ds->time->n - 1 : 0; }

static int float_cmp(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void layer_range(wms_layer *l, const nd_variable *v, double *lo, double *hi, bool stretch) {
    nd_error err = {0};
    double st[4];
    if (nd_read_stats(l->ds, v, default_time(l->ds), 0, st, &err) < 0) {
        *lo = 0;
        *hi = 1;
        return;
    }
    *lo = st[0];
    *hi = st[1];
    if (stretch) { /* composites: mean +- 2 sigma shows the scene better than the extremes */
        *lo = fmax(st[0], st[2] - 2 * st[3]);
        *hi = fmin(st[1], st[2] + 2 * st[3]);
    }
    if (!(*hi > *lo)) *hi = *lo + 1;
}

/* The low and high percentiles of a band, from a read of the whole band onto a grid of at most 512 x 512 cells
 * in its own CRS (a sample large enough for a 2/98 % stretch, small enough to stay quick at start-up). */
static int band_percentiles(const nd_dataset *ds, const nd_variable *v, double plo, double phi, double *lo,
                            double *hi) {
    if (!ds->width || !ds->height) return -1;
    double f = fmax(1.0, fmax((double)ds->width, (double)ds->height) / 512.0);
    int w = (int)fmax(1, floor((double)ds->width / f)), h = (int)fmax(1, floor((double)ds->height / f));
    nd_grid g = {w, h, {ds->bbox[0], (ds->bbox[2] - ds->bbox[0]) / w, 0, ds->bbox[3], 0, -(ds->bbox[3] - ds->bbox[1]) / h},
                 ds->crs_wkt};
    float *buf = nd_xmalloc((size_t)w * (size_t)h * sizeof *buf);
    nd_error err = {0};
    size_t n = 0;
    if (nd_read_warped(ds, v, default_time(ds), 0, &g, ND_RESAMPLE_NEAREST, buf, &err) == 0)
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++)
            if (isfinite(buf[i])) buf[n++] = buf[i];
    if (n) {
        qsort(buf, n, sizeof *buf, float_cmp);
        *lo = buf[(size_t)fmin((double)(n - 1), floor(plo / 100.0 * (double)(n - 1) + 0.5))];
        *hi = buf[(size_t)fmin((double)(n - 1), floor(phi / 100.0 * (double)(n - 1) + 0.5))];
    }
    free(buf);
    return n ? 0 : -1;
}

/* A composite's bands and stretch from a style: rgb names the bands, ranges fixes them, else stretch says how
 * they come from the data (minmax, stddev: mean +- 2 sigma, percentile: the percentiles key). */
static void rgb_from_conf(const wms_layer *l, const nd_style_conf *sc, wms_rgb *out) {
    for (int b = 0; b < 3; b++) {
        out->vars[b] = l->rgb[b];
        out->lo[b] = l->lo[b];
        out->hi[b] = l->hi[b];
    }
    if (!sc) return;
    for (int b = 0; b < 3 && sc->nrgb == 3; b++) {
        const nd_variable *v = nd_dataset_var(l->ds, sc->rgb[b]);
        if (!v && strspn(sc->rgb[b], "0123456789") == strlen(sc->rgb[b])) { /* a 1-based band number */
            long k = strtol(sc->rgb[b], NULL, 10);
            if (k >= 1 && (size_t)k <= l->ds->nvars) v = &l->ds->vars[k - 1];
        }
        if (v) out->vars[b] = v;
    }
    double plo = 2, phi = 98;
    if (sc->percentiles) sscanf(sc->percentiles, "%lf,%lf", &plo, &phi);
    for (int b = 0; b < 3; b++) {
        double a, c, st[4];
        nd_error err = {0};
        if (sc->nranges == 3 && sscanf(sc->ranges[b], "%lf,%lf", &a, &c) == 2) {
            out->lo[b] = a, out->hi[b] = c;
        } else if (sc->stretch && !strcmp(sc->stretch, "percentile")) {
            if (band_percentiles(l->ds, out->vars[b], plo, phi, &a, &c) == 0) out->lo[b] = a, out->hi[b] = c;
        } else if (nd_read_stats(l->ds, out->vars[b], default_time(l->ds), 0, st, &err) == 0) {
            bool minmax = sc->stretch && !strcmp(sc->stretch, "minmax");
            out->lo[b] = minmax ? st[0] : fmax(st[0], st[2] - 2 * st[3]);
            out->hi[b] = minmax ? st[1] : fmin(st[1], st[2] + 2 * st[3]);
        }
        if (!(out->hi[b] > out->lo[b])) out->hi[b] = out->lo[b] + 1;
    }
}

static void add_layer(wms_layer *l) {
    if (state.n == layers_cap) {
        if (serving) { /* full: the output stays in the catalogue and the job's results, without a map */
            fprintf(stderr, "nadir: wms: no room for layer %s (%d published layers at most)\n", l->name,
                    WMS_PUBLISHED_LAYERS);
            free(l->name);
            free(l->title);
            return;
        }
        layers_cap = layers_cap ? 2 * layers_cap : 16;
        state.layers = nd_xrealloc(state.layers, layers_cap * sizeof *state.layers);
    }
    state.layers[state.n] = *l;
    __atomic_store_n(&state.n, state.n + 1, __ATOMIC_RELEASE);
}

static void state_free(void) {
    for (size_t i = 0; i < state.n; i++) {
        free(state.layers[i].name);
        free(state.layers[i].title);
    }
    free(state.layers);
    memset(&state, 0, sizeof state);
    layers_cap = 0;
    serving = false;
}

/* The layers of the datasets reg->items[from..n), appended to the table. */
static void add_layers(const nd_registry *reg, size_t from) {
    for (size_t d = from; reg && d < reg->n; d++) {
        const nd_dataset *ds = reg->items[d];
        for (size_t k = 0; ds->vector && k < ds->vector->nlayers; k++) {
            const nd_vector_layer *vl = &ds->vector->layers[k];
            wms_layer l = {0};
            l.ds = ds;
            l.kind = WMS_VECTOR;
            l.vlayer = k;
            l.geom = vl->geom;
            l.name = nd_xmalloc(strlen(ds->id) + strlen(vl->name) + 2);
            sprintf(l.name, "%s/%s", ds->id, vl->name);
            l.title = nd_xstrdup(vl->name);
            l.palette = nd_palette_find("viridis");
            add_layer(&l);
        }
        for (size_t k = 0; k < ds->nvars; k++) {
            const nd_variable *v = &ds->vars[k];
            wms_layer l = {0};
            l.ds = ds;
            l.kind = WMS_SCALAR;
            l.var = v;
            l.name = nd_xstrdup(ds->id);
            l.name = nd_xrealloc(l.name, strlen(ds->id) + strlen(v->name) + 2);
            sprintf(l.name + strlen(ds->id), "/%s", v->name);
            l.title = nd_xstrdup(v->long_name ? v->long_name : v->standard_name ? v->standard_name : v->name);
            l.palette = default_palette(v);
            layer_range(&l, v, &l.min, &l.max, false);
            if (l.palette == nd_palette_find("balance")) { /* anomalies: centred on zero */
                double a = fmax(fabs(l.min), fabs(l.max));
                l.min = -a;
                l.max = a;
            }
            add_layer(&l);
        }
        /* Multiband images get a true-colour composite: bands 3,2,1 (blue, green, red first, as Sentinel-2
         * B02,B03,B04 and Landsat ETM+ store them), or 1,2,3 for a plain RGB image. */
        if (ds->kind == ND_DS_RASTER && ds->nvars >= 3) {
            wms_layer l = {0};
            l.ds = ds;
            l.kind = WMS_RGB;
            int order[3] = {2, 1, 0};
            if (ds->nvars == 3) order[0] = 0, order[2] = 2;
            for (int b = 0; b < 3; b++) {
                l.rgb[b] = &ds->vars[order[b]];
                layer_range(&l, l.rgb[b], &l.lo[b], &l.hi[b], true);
            }
            l.name = nd_xmalloc(strlen(ds->id) + 5);
            sprintf(l.name, "%s/rgb", ds->id);
            l.title = nd_xstrdup("True colour composite");
            l.palette = nd_palette_find("viridis");
            add_layer(&l);
        }
    }
}

static void build_layers(const nd_registry *reg) {
    state_free();
    add_layers(reg, 0);
    nd_warp_cache_clear(); /* the start-up thread serves no requests */
}

void nd_wms_publish(const nd_dataset *ds) {
    nd_registry one = {.items = (nd_dataset **)&ds, .n = 1};
    pthread_mutex_lock(&publish_lock);
    if (serving) add_layers(&one, 0);
    pthread_mutex_unlock(&publish_lock);
    nd_warp_cache_clear(); /* the handles the ranges opened: the jobs' thread ends after GDAL at exit */
}

/* Configured styles: each names the layers offering it. */
static void attach_styles(const nd_config *cfg) {
    for (size_t i = 0; cfg && i < cfg->nstyles; i++) {
        const nd_style_conf *sc = &cfg->styles[i];
        for (size_t k = 0; k < sc->nlayers; k++)
            for (size_t j = 0; j < state.n; j++) {
                wms_layer *l = &state.layers[j];
                if (strcmp(l->name, sc->layers[k]) != 0 || l->nstyles == 8) continue;
                if (l->kind == WMS_RGB) rgb_from_conf(l, sc, &l->style_rgb[l->nstyles]);
                l->styles[l->nstyles++] = sc;
                if (sc->is_default && !l->default_style) l->default_style = sc;
            }
    }
}

/* A configured style's colour map; its range defaults to the layer's. */
static void apply_style_conf(const wms_layer *l, const nd_style_conf *sc, nd_colormap *cm) {
    const nd_palette *p = nd_palette_find(sc->palette);
    if (p) cm->palette = p;
    double a, b;
    if (sc->range && sscanf(sc->range, "%lf,%lf", &a, &b) == 2 && a < b) {
        cm->min = a;
        cm->max = b;
    } else {
        cm->min = l->min;
        cm->max = l->max;
    }
    cm->log = sc->log && cm->min > 0;
    cm->nbands = sc->bands >= 2 && sc->bands <= 250 ? sc->bands : 250;
    cm->above_extend = !sc->above || strcmp(sc->above, "extend") == 0;
    cm->below_extend = !sc->below || strcmp(sc->below, "extend") == 0;
    if (!cm->above_extend) nd_color_parse(sc->above, &cm->above);
    if (!cm->below_extend) nd_color_parse(sc->below, &cm->below);
}

/* ---- Per-thread scratch buffers: a 256x256 tile's floats come from here, not from malloc/mmap ---- */

typedef struct {
    float *buf[4];
    size_t cap[4];
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p) {
    scratch *s = p;
    for (int i = 0; i < 4; i++) free(s->buf[i]);
    free(s);
}

static void scratch_make(void) { pthread_key_create(&scratch_key, scratch_free); }

float *wms_scratch(int slot, size_t n) {
    pthread_once(&scratch_once, scratch_make);
    scratch *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = nd_xcalloc(1, sizeof *s);
        pthread_setspecific(scratch_key, s);
    }
    if (s->cap[slot] < n) {
        free(s->buf[slot]);
        s->buf[slot] = nd_xmalloc(n * sizeof(float));
        s->cap[slot] = n;
    }
    return s->buf[slot];
}

void wms_scratch_trim(void) {
    pthread_once(&scratch_once, scratch_make);
    scratch *s = pthread_getspecific(scratch_key);
    for (int i = 0; s && i < 4; i++)
        if (s->cap[i] > 1024 * 1024) { /* larger than a 1024x1024 map: given back */
            free(s->buf[i]);
            s->buf[i] = NULL;
            s->cap[i] = 0;
        }
}

/* ---- Parameters ---- */

static bool is_v111(const nd_req *rq) { return rq->version && strcmp(rq->version, "1.1.1") == 0; }

static int parse_int(nd_req *rq, const char *key, int max, int *out) {
    const char *s = nd_req_query(rq, key);
    if (!s || !*s) return nd_fail(&rq->err, ND_E_MISSING_PARAM, key, "%s is required", key);
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || end == s || v <= 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, key, "%s must be a positive integer", key);
    if (v > max) return nd_fail(&rq->err, ND_E_INVALID_PARAM, key, "%s is larger than %d", key, max);
    *out = (int)v;
    return 0;
}

static int parse_doubles(const char *s, double *out, int n) {
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtod(s, &end);
        if (end == s || !isfinite(out[i])) return -1;
        s = end;
        if (i < n - 1) {
            if (*s != ',') return -1;
            s++;
        }
    }
    return *s ? -1 : 0;
}

static int parse_bool(nd_req *rq, const char *key, bool def, bool *out) {
    const char *s = nd_req_query(rq, key);
    *out = def;
    if (!s || !*s) return 0;
    if (strcasecmp(s, "true") == 0) *out = true;
    else if (strcasecmp(s, "false") == 0) *out = false;
    else return nd_fail(&rq->err, ND_E_INVALID_PARAM, key, "%s must be TRUE or FALSE", key);
    return 0;
}

/* CRS as the client wrote it -> what GDAL takes; CRS:84 is longitude/latitude WGS 84. */
static const char *gdal_crs(nd_req *rq, const char *crs) {
    if (strcasecmp(crs, "CRS:84") == 0) return "OGC:CRS84";
    if (strncasecmp(crs, "EPSG:", 5) == 0) {
        const char *p = crs + 5;
        if (!*p) return NULL;
        for (const char *q = p; *q; q++)
            if (!isdigit((unsigned char)*q)) return NULL;
        return nd_arena_printf(rq->arena, "EPSG:%s", p);
    }
    return NULL; /* AUTO:, WKT and files are not map CRSs here */
}

static int color_param(nd_req *rq, const char *key, nd_rgba *c, bool *extend) {
    const char *s = nd_req_query(rq, key);
    if (!s || !*s) return 0;
    if (strcasecmp(s, "extend") == 0) {
        *extend = true;
        return 0;
    }
    if (nd_color_parse(s, c) < 0) return nd_fail(&rq->err, ND_E_INVALID_PARAM, key, "%s is not a colour", key);
    *extend = false;
    return 0;
}

/* STYLES entry (or PALETTE) for layer l -> its style; the ncWMS parameters refine it. */
int wms_parse_style(nd_req *rq, const wms_layer *l, const char *name, wms_style *st) {
    memset(st, 0, sizeof *st);
    const char *interp = nd_req_query(rq, "INTERPOLATION");
    if (!interp) interp = nd_req_query(rq, "RESAMPLING");
    st->rs = ND_RESAMPLE_NEAREST;
    if (interp && *interp) {
        if (strcasecmp(interp, "bilinear") == 0) st->rs = ND_RESAMPLE_BILINEAR;
        else if (strcasecmp(interp, "nearest") != 0 && strcasecmp(interp, "near") != 0)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "interpolation", "INTERPOLATION is nearest or bilinear");
    }
    if (l->kind == WMS_RGB || l->kind == WMS_VECTOR) {
        /* a configured style by name, or the default (the configured default, else the built-in one) */
        size_t k = l->nstyles;
        for (size_t i = 0; i < l->nstyles && *name; i++)
            if (strcmp(l->styles[i]->name, name) == 0) k = i;
        bool dflt = !*name || !strcasecmp(name, "default") || (l->kind == WMS_RGB && !strcasecmp(name, "rgb"));
        if (k == l->nstyles && !dflt)
            return nd_fail(&rq->err, ND_E_STYLE_NOT_DEFINED, "styles", "style is not defined for layer %s", l->name);
        if (k == l->nstyles && l->default_style)
            for (size_t i = 0; i < l->nstyles; i++)
                if (l->styles[i] == l->default_style) k = i;
        const nd_style_conf *sc = k < l->nstyles ? l->styles[k] : NULL;
        if (l->kind == WMS_RGB) {
            st->rgb = true;
            if (sc) st->bands = l->style_rgb[k];
            else rgb_from_conf(l, NULL, &st->bands);
            return 0;
        }
        nd_vector_style_init(&st->vs);
        if (sc) {
            if (sc->fill) nd_color_parse(sc->fill, &st->vs.fill);
            if (sc->stroke) nd_color_parse(sc->stroke, &st->vs.stroke);
            st->vs.stroke_width = sc->stroke_width;
            st->vs.point_size = sc->point_size;
            st->label = sc->label;
        }
        if (l->geom == ND_GEOM_POINT && !(sc && sc->fill)) st->vs.fill = (nd_rgba){0xd7, 0x30, 0x1f, 255};
        return 0;
    }
    nd_colormap_init(&st->cm, l->min, l->max);
    st->cm.palette = l->palette;
    const char *pal = NULL;
    const nd_style_conf *conf = NULL;
    for (size_t i = 0; i < l->nstyles && *name; i++)
        if (strcmp(l->styles[i]->name, name) == 0) conf = l->styles[i];
    if (!conf && (!*name || strcasecmp(name, "default") == 0)) conf = l->default_style;
    if (conf) {
        apply_style_conf(l, conf, &st->cm);
    } else if (*name && strcasecmp(name, "default") != 0) {
        const char *slash = strchr(name, '/');
        if (slash && (strncasecmp(name, "default-scalar/", 15) == 0 || strncasecmp(name, "boxfill/", 8) == 0))
            pal = slash + 1;
        else if (!slash)
            pal = name;
        if (!pal || !nd_palette_find(pal))
            return nd_fail(&rq->err, ND_E_STYLE_NOT_DEFINED, "styles", "style is not defined for layer %s",
                           l->name);
    }
    const char *p2 = nd_req_query(rq, "PALETTE");
    if (p2 && *p2) {
        if (!nd_palette_find(p2)) return nd_fail(&rq->err, ND_E_STYLE_NOT_DEFINED, "palette", "unknown palette");
        pal = p2;
    }
    if (pal) st->cm.palette = nd_palette_find(pal);
    if (st->cm.palette->categorical) {
        st->cm.min = floor(l->min);
        st->cm.nbands = (int)fmin(250, fmax(1, floor(l->max) - floor(l->min) + 1));
    }
    const char *range = nd_req_query(rq, "COLORSCALERANGE");
    if (range && *range && strcasecmp(range, "auto") != 0 && strcasecmp(range, "default") != 0) {
        double r[2];
        if (parse_doubles(range, r, 2) < 0 || !(r[1] > r[0]))
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "colorscalerange",
                           "COLORSCALERANGE must be min,max with min < max");
        st->cm.min = r[0];
        st->cm.max = r[1];
    }
    const char *nb = nd_req_query(rq, "NUMCOLORBANDS");
    if (nb && *nb) {
        char *end;
        long n = strtol(nb, &end, 10);
        if (*end || n < 2 || n > 250)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "numcolorbands", "NUMCOLORBANDS is 2..250");
        st->cm.nbands = (int)n;
    }
    if (parse_bool(rq, "LOGSCALE", false, &st->cm.log) < 0) return -1;
    if (st->cm.log && !(st->cm.min > 0))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "logscale", "LOGSCALE needs a colour range above zero");
    if (color_param(rq, "ABOVEMAXCOLOR", &st->cm.above, &st->cm.above_extend) < 0 ||
        color_param(rq, "BELOWMINCOLOR", &st->cm.below, &st->cm.below_extend) < 0)
        return -1;
    return 0;
}

int wms_parse_map(nd_req *rq, wms_map *m, const char *layers_key) {
    memset(m, 0, sizeof *m);
    m->v111 = is_v111(rq);
    const char *layers = nd_req_query(rq, layers_key);
    if (!layers || !*layers) return nd_fail(&rq->err, ND_E_MISSING_PARAM, layers_key, "%s is required", layers_key);
    const char *styles = nd_req_query(rq, "STYLES");
    if (!styles) styles = "";
    /* layers and styles, pairwise */
    const char *lp = layers, *sp = styles;
    size_t nstyles = *styles ? 1 : 0;
    for (const char *q = styles; *q; q++) nstyles += *q == ',';
    while (*lp) {
        size_t n = strcspn(lp, ",");
        if (m->nlayers == WMS_MAX_LAYERS)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, layers_key, "at most %d layers", WMS_MAX_LAYERS);
        char *name = nd_arena_strndup(rq->arena, lp, n);
        const wms_layer *l = wms_layer_find(name);
        if (!l) return nd_fail(&rq->err, ND_E_LAYER_NOT_DEFINED, layers_key, "no layer is called that");
        if (nd_auth_check_layer(rq, l->name)) return -1;
        size_t sn = strcspn(sp, ",");
        char *sname = nd_arena_strndup(rq->arena, sp, sn);
        sp += sn + (sp[sn] == ',');
        m->layers[m->nlayers] = l;
        if (wms_parse_style(rq, l, sname, &m->styles[m->nlayers]) < 0) return -1;
        m->nlayers++;
        lp += n + (lp[n] == ',');
    }
    if (nstyles > 1 && nstyles != m->nlayers)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "styles", "STYLES must name one style per layer");
    /* CRS (1.3.0) or SRS (1.1.1); clients mixing them up are forgiven */
    const char *ckey = m->v111 ? "SRS" : "CRS";
    const char *crs = nd_req_query(rq, ckey);
    if (!crs) crs = nd_req_query(rq, m->v111 ? "CRS" : "SRS");
    if (!crs || !*crs) return nd_fail(&rq->err, ND_E_MISSING_PARAM, ckey, "%s is required", ckey);
    m->crs = gdal_crs(rq, crs);
    bool swap = false;
    if (!m->crs || nd_warp_crs_axes(m->crs, &swap) < 0)
        /* the exception writer says InvalidSRS for 1.1.1 */
        return nd_fail(&rq->err, ND_E_INVALID_CRS, ckey,
                       "the coordinate reference system is not supported");
    const char *bbox = nd_req_query(rq, "BBOX");
    if (!bbox || !*bbox) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "bbox", "BBOX is required");
    double b[4];
    if (parse_doubles(bbox, b, 4) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "BBOX must be four numbers minx,miny,maxx,maxy");
    /* WMS 1.3.0: the CRS's own axis order, latitude first for EPSG:4326 */
    if (!m->v111 && swap) {
        double t = b[0];
        b[0] = b[1], b[1] = t;
        t = b[2];
        b[2] = b[3], b[3] = t;
    }
    if (!(b[0] < b[2]) || !(b[1] < b[3]))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "BBOX minimum must be below its maximum");
    /* No CRS reaches 1e9 (metres or degrees): beyond, PROJ fails point by point, slowly, for nothing. */
    for (int i = 0; i < 4; i++)
        if (fabs(b[i]) > 1e9)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "BBOX coordinates are out of range");
    memcpy(m->bbox, b, sizeof b);
    if (parse_int(rq, "WIDTH", WMS_MAX_SIZE, &m->width) < 0 || parse_int(rq, "HEIGHT", WMS_MAX_SIZE, &m->height) < 0)
        return -1;
    if (parse_bool(rq, "TRANSPARENT", false, &m->transparent) < 0) return -1;
    m->bg = (nd_rgba){255, 255, 255, 255};
    const char *bg = nd_req_query(rq, "BGCOLOR");
    if (bg && *bg && (nd_color_parse(bg, &m->bg) < 0 || strlen(bg) != 8 || strncasecmp(bg, "0x", 2) != 0))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bgcolor", "BGCOLOR must be 0xRRGGBB");
    m->bg.a = 255;
    for (size_t i = 0; i < m->nlayers; i++) {
        nd_rgba nodata = m->transparent ? (nd_rgba){0, 0, 0, 0} : m->bg;
        m->styles[i].cm.nodata = nodata;
        if (m->transparent && !m->styles[i].cm.below_extend && m->styles[i].cm.below.a == 0) m->styles[i].cm.below = nodata;
    }
    m->format = nd_req_query(rq, "FORMAT");
    m->time = nd_req_query(rq, "TIME");
    m->elevation = nd_req_query(rq, "ELEVATION");
    return 0;
}

/* ---- Dimensions ---- */

static size_t nearest(const double *v, size_t n, double x) {
    size_t lo = 0, hi = n;
    while (lo < hi) { /* first value >= x */
        size_t mid = (lo + hi) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    if (lo == n) return n - 1;
    if (lo > 0 && x - v[lo - 1] <= v[lo] - x) return lo - 1;
    return lo;
}

static int time_value(const nd_time_axis *t, const char *s, double *out) {
    nd_datetime dt;
    if (nd_datetime_parse(s, &dt) < 0 || nd_time_encode(&t->tu, &dt, out) < 0) return -1;
    return 0;
}

/* One time step spacing: the slack allowed around the axis for the nearest-value rule. */
static double step_of(const double *v, size_t n) { return n > 1 ? (v[n - 1] - v[0]) / (double)(n - 1) : 0; }

int wms_time_range(nd_req *rq, const nd_dataset *ds, const char *value, size_t max, size_t *first, size_t *last) {
    const nd_time_axis *t = ds->time;
    const char *slash = strchr(value, '/');
    double a, b;
    char *from = nd_arena_strndup(rq->arena, value, slash ? (size_t)(slash - value) : strlen(value));
    const char *to = slash ? slash + 1 : value;
    char *to2 = nd_arena_strndup(rq->arena, to, strcspn(to, "/"));
    if (time_value(t, from, &a) < 0 || time_value(t, to2, &b) < 0 || b < a)
        return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "time", "TIME must be an ISO 8601 instant or start/end");
    size_t lo = 0, hi = t->n;
    while (lo < t->n && t->values[lo] < a) lo++;
    while (hi > lo && t->values[hi - 1] > b) hi--;
    if (hi <= lo) return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "time", "no time step in the interval");
    if (hi - lo > max)
        return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "time",
                       "the interval holds %zu time steps; at most %zu are read in one request", hi - lo, max);
    *first = lo;
    *last = hi - 1;
    return 0;
}

int wms_resolve_dims(nd_req *rq, const wms_layer *l, const char *tv, const char *ev, size_t *ti, size_t *zi) {
    const nd_dataset *ds = l->ds;
    *ti = default_time(ds);
    *zi = 0;
    if (ds->time && ds->time->n && tv && *tv && strcasecmp(tv, "current") != 0) {
        const nd_time_axis *t = ds->time;
        if (strchr(tv, ',')) return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "time", "GetMap takes one TIME");
        if (strchr(tv, '/')) {
            /* an interval: the latest step inside it; only one file is opened whatever its length */
            size_t a, b;
            if (wms_time_range(rq, ds, tv, (size_t)-1, &a, &b) < 0) return -1;
            *ti = b;
        } else {
            double x;
            if (time_value(t, tv, &x) < 0)
                return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "time", "TIME must be an ISO 8601 instant");
            double slack = step_of(t->values, t->n);
            if (x < t->values[0] - slack || x > t->values[t->n - 1] + slack)
                return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "time", "TIME is outside the layer's time extent");
            *ti = nearest(t->values, t->n, x);
        }
    }
    if (ds->vertical && ds->vertical->n && ev && *ev) {
        const nd_vertical_axis *z = ds->vertical;
        char *end;
        double x = strtod(ev, &end);
        if (*end || end == ev || !isfinite(x))
            return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "elevation", "ELEVATION must be a number");
        double lo = fmin(z->values[0], z->values[z->n - 1]), hi = fmax(z->values[0], z->values[z->n - 1]);
        double slack = fabs(step_of(z->values, z->n));
        if (x < lo - slack || x > hi + slack)
            return nd_fail(&rq->err, ND_E_INVALID_DIMENSION, "elevation", "ELEVATION is outside the layer's range");
        size_t best = 0;
        for (size_t i = 1; i < z->n; i++)
            if (fabs(z->values[i] - x) < fabs(z->values[best] - x)) best = i;
        *zi = best;
    }
    return 0;
}

/* ---- Service ---- */

static const char *const versions[] = {"1.3.0", "1.1.1", NULL};

static const nd_ows_op ops[] = {
    {"GetCapabilities", wms_getcapabilities, 0},
    {"GetMap", wms_getmap, ND_OWS_NEEDS_VERSION},
    {"map", wms_getmap, ND_OWS_NEEDS_VERSION}, /* WMS 1.0 name, still sent by a few clients */
    {"GetFeatureInfo", wms_getfeatureinfo, ND_OWS_NEEDS_VERSION},
    {"GetLegendGraphic", wms_getlegendgraphic, 0},
};

static const nd_ows_service wms_service = {"WMS", versions, ops, sizeof ops / sizeof ops[0], true};

void wms_render_error(nd_req *rq, nd_resp *rs) { nd_ows_render_exception(rq, rs, ND_OWS_EXC_WMS); }

int nd_wms_handle(nd_req *rq, nd_resp *rs) {
    /* WMS 1.1.1 clients send WMTVER on old servers and lower-case values; VERSION defaults per operation */
    return nd_ows_dispatch(&wms_service, rq, rs);
}

static const char *const no_conformance[] = {NULL};

static const nd_service wms_entry = {
    "wms", "Web Map Service 1.3.0 / 1.1.1", "/wms?SERVICE=WMS&REQUEST=GetCapabilities", "service",
    "text/xml", no_conformance, NULL,
};

void nd_wms_register(nd_app *app) {
    build_layers(app->datasets);
    attach_styles(app->config);
    layers_cap = state.n + WMS_PUBLISHED_LAYERS;
    state.layers = nd_xrealloc(state.layers, layers_cap * sizeof *state.layers);
    serving = true;
    nd_router_add(app->router, &(nd_route){"GET", "/wms", nd_wms_handle, "wms", "Web Map Service (WMS 1.1.1 and 1.3.0)",
                                           wms_render_error});
    nd_app_add_service(app, &wms_entry);
    nd_ows_endpoint_register(app);
}
