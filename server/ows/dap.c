/* OPeNDAP routes: the /opendap/ catalogue, dispatch on the response suffix, constraint evaluation against a
 * dataset's structure, and the stream that sends values slab by slab so no response sits whole in memory. */
#include <ctype.h>
#include <jansson.h>
#include <netcdf.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "nadir/app.h"
#include "nadir/dap.h"
#include "nadir/ows.h"

#define SLAB_BYTES (4u << 20) /* raw values read per step of a stream */

/* ---- Common pieces ---- */

void nd_dap_headers(nd_req *rq, nd_resp *rs, nd_dap_version ver, const char *description) {
    nd_resp_header(rq, rs, "XDODS-Server", "nadir/" ND_VERSION);
    nd_resp_header(rq, rs, "XOPeNDAP-Server", "nadir/" ND_VERSION);
    nd_resp_header(rq, rs, "XDAP", ver == ND_DAP4 ? "4.0" : "2.0");
    if (description) nd_resp_header(rq, rs, "Content-Description", description);
}

void nd_dap_put_name(nd_buf *b, const char *name) {
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (isalnum(*p) || strchr("_!~*'-", *p)) nd_buf_append(b, p, 1);
        else nd_buf_printf(b, "%%%02X", *p);
    }
}

const char *nd_dap_url(nd_req *rq, const nd_dataset *ds) {
    return nd_req_url(rq, nd_arena_printf(rq->arena, "/opendap/%s", ds->id));
}

void nd_dap_req_free(nd_dap_req *d) {
    nd_schema_free(d->schema);
    free(d->items);
    *d = (nd_dap_req){0};
}

/* The dimensions a variable shows in DAP: DAP2 drops a char array's last (string length) dimension. */
static int dap_rank(const nd_svar *sv, nd_dap_version ver) {
    return ver == ND_DAP2 && sv->type == NC_CHAR && sv->v.ndims > 0 ? sv->v.ndims - 1 : sv->v.ndims;
}

static void whole(nd_dap_item *it, const nd_svar *sv) {
    *it = (nd_dap_item){.sv = sv, .rank = sv->v.ndims};
    for (int k = 0; k < sv->v.ndims; k++) it->count[k] = sv->v.shape[k], it->stride[k] = 1;
}

static int window(nd_req *rq, nd_dap_item *it, const nd_svar *sv, const nd_dap_proj *p, nd_dap_version ver) {
    whole(it, sv);
    if (!p->nslices) return 0;
    int rank = dap_rank(sv, ver);
    if ((int)p->nslices != rank)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ce", "%s has %d dimensions, the constraint gives %zu",
                       sv->v.name, rank, p->nslices);
    for (int k = 0; k < rank; k++) {
        const nd_dap_slice *s = &p->slices[k];
        size_t n = sv->v.shape[k];
        size_t stop = s->open_end ? (n ? n - 1 : 0) : s->stop;
        if (n == 0 || s->start >= n || stop >= n)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ce", "Index %zu outside 0..%zu on dimension %s of %s",
                           s->start >= n ? s->start : stop, n ? n - 1 : 0, sv->v.dims[k], sv->v.name);
        it->start[k] = s->start;
        it->stride[k] = (ptrdiff_t)s->stride;
        it->count[k] = (stop - s->start) / s->stride + 1;
    }
    return 0;
}

static uint64_t item_values(const nd_dap_item *it) {
    uint64_t n = 1;
    for (int k = 0; k < it->rank; k++)
        if (__builtin_mul_overflow(n, (uint64_t)it->count[k], &n)) return UINT64_MAX;
    return n;
}

const nd_svar *nd_dap_coord(const nd_schema *s, int dimid) {
    for (size_t i = 0; i < s->nvars; i++)
        if (s->vars[i].is_coord && s->vars[i].dimids[0] == dimid) return &s->vars[i];
    return NULL;
}

const char *nd_dap_dim_path(nd_arena *a, const nd_schema *s, int dimid) {
    const nd_dim *d = &s->dims[dimid];
    return nd_arena_printf(a, "%s/%s", d->group < 0 ? "" : s->groups[d->group].path, d->name);
}

bool nd_dap_is_grid(const nd_schema *s, const nd_svar *sv) {
    if (sv->group >= 0 || sv->is_coord || sv->v.ndims < 1 || sv->v.ndims > ND_DAP_MAX_RANK || sv->type == NC_CHAR ||
        sv->type == NC_STRING)
        return false;
    for (int k = 0; k < sv->v.ndims; k++)
        if (!nd_dap_coord(s, sv->dimids[k])) return false;
    return true;
}

/* What a constraint asks of one variable: itself at the top level, and (Grids) its array and maps as members. */
typedef struct {
    const nd_dap_proj *top;
    const nd_dap_proj *member[ND_DAP_MAX_RANK + 1]; /* [0] the array, [1 + k] the map of dimension k */
    int map_of_grid[ND_DAP_MAX_RANK + 1];           /* -1: the member's slices are its own; k: slice k of the Grid's */
} wanted;

static int dap_fail_unknown(nd_req *rq, const nd_dap_proj *p) {
    if (p->parent) return nd_fail(&rq->err, ND_E_NOT_FOUND, "ce", "No such variable: %s.%s", p->parent, p->name);
    return nd_fail(&rq->err, ND_E_NOT_FOUND, "ce", "No such variable: %s", p->name);
}

/* Records projection p in w (the first projection of a part wins, as libdap keeps the first). */
static int want(nd_req *rq, const nd_schema *s, const nd_dap_proj *p, nd_dap_version ver, wanted *w) {
    const nd_svar *sv = nd_schema_var(s, p->parent ? p->parent : p->name);
    if (!sv || (ver == ND_DAP2 && sv->group >= 0)) return dap_fail_unknown(rq, p);
    wanted *x = &w[sv - s->vars];
    bool grid = ver == ND_DAP2 && nd_dap_is_grid(s, sv);
    if (!p->parent) {
        if (!grid) {
            if (!x->top) x->top = p;
            return 0;
        }
        /* a whole Grid: the array's slices apply to the maps, dimension by dimension */
        if (!x->member[0]) x->member[0] = p, x->map_of_grid[0] = -1;
        for (int k = 0; k < sv->v.ndims; k++)
            if (!x->member[1 + k]) x->member[1 + k] = p, x->map_of_grid[1 + k] = k;
        return 0;
    }
    if (strcmp(p->parent, p->name) == 0) {
        if (!grid) { /* "a.a" on a plain Array: the Array itself, as clients that assume Grids ask for it */
            if (!x->top) x->top = p;
        } else if (!x->member[0]) {
            x->member[0] = p, x->map_of_grid[0] = -1;
        }
        return 0;
    }
    for (int k = 0; grid && k < sv->v.ndims; k++) {
        if (strcmp(sv->v.dims[k], p->name) != 0) continue;
        if (!x->member[1 + k]) x->member[1 + k] = p, x->map_of_grid[1 + k] = -1;
        return 0;
    }
    return dap_fail_unknown(rq, p);
}

static void count_bytes(nd_dap_req *out, const nd_dap_item *it) {
    uint64_t n = item_values(it), esz = nd_nc_type_size(it->sv->type), b;
    if (it->sv->type == NC_STRING) esz = 64; /* an estimate: strings are short names and labels */
    if (__builtin_mul_overflow(n, esz, &b) || __builtin_add_overflow(out->raw_bytes, b, &out->raw_bytes))
        out->raw_bytes = UINT64_MAX;
}

/* Appends the members of Grid sv that w asks for: the array, then the maps in dimension order. */
static int add_members(nd_req *rq, nd_dap_req *out, const nd_schema *s, const nd_svar *sv, const wanted *w) {
    size_t first = out->nitems;
    if (!nd_dap_is_grid(s, sv)) return 0; /* only Grids have members */
    for (int j = 0; j <= sv->v.ndims; j++) {
        const nd_dap_proj *p = w->member[j];
        if (!p) continue;
        const nd_svar *m = j == 0 ? sv : nd_dap_coord(s, sv->dimids[j - 1]);
        nd_dap_item *it = &out->items[out->nitems];
        nd_dap_proj one = {0};
        if (w->map_of_grid[j] >= 0 && p->nslices) {
            if ((int)p->nslices != sv->v.ndims)
                return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ce", "%s has %d dimensions, the constraint gives %zu",
                               sv->v.name, sv->v.ndims, p->nslices);
            one.slices = &p->slices[w->map_of_grid[j]];
            one.nslices = 1;
            p = &one;
        }
        if (window(rq, it, m, p, ND_DAP2) < 0) return -(int)rq->err.code;
        it->grid = sv;
        out->nitems++;
        count_bytes(out, it);
    }
    /* a Grid when the array and every map came, each map as long as the array's dimension */
    bool whole = out->nitems - first == (size_t)sv->v.ndims + 1 && out->items[first].sv == sv;
    for (int k = 0; whole && k < sv->v.ndims; k++) {
        const nd_dap_item *a = &out->items[first], *m = &out->items[first + 1 + k];
        whole = m->start[0] == a->start[k] && m->stride[0] == a->stride[k] && m->count[0] == a->count[k];
    }
    for (size_t i = first; i < out->nitems; i++) out->items[i].as_grid = whole;
    return 0;
}

int nd_dap_select(nd_req *rq, const nd_dataset *ds, const nd_dap_ce *ce, nd_dap_version ver, nd_dap_req *out) {
    *out = (nd_dap_req){.ds = ds};
    int rc = nd_schema_build(ds, &out->schema, &rq->err);
    if (rc < 0) return rc;
    const nd_schema *s = out->schema;
    if (ce->nsel)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ce",
                       "Selections filter Sequences, and this dataset has none (use index ranges instead)");
    out->constrained = ce->nproj > 0;
    wanted *w = nd_arena_alloc(rq->arena, (s->nvars + 1) * sizeof *w);
    memset(w, 0, (s->nvars + 1) * sizeof *w);
    size_t nitems = 0;
    for (size_t i = 0; i < ce->nproj; i++)
        if (want(rq, s, &ce->proj[i], ver, w) < 0) return -(int)rq->err.code;
    for (size_t i = 0; i < s->nvars && !out->constrained; i++) {
        if (ver == ND_DAP2 && s->vars[i].group >= 0) continue;
        nd_dap_proj *p = nd_arena_alloc(rq->arena, sizeof *p);
        *p = (nd_dap_proj){.name = s->vars[i].path ? s->vars[i].path : s->vars[i].v.name};
        if (want(rq, s, p, ver, w) < 0) return -(int)rq->err.code;
    }
    for (size_t i = 0; i < s->nvars; i++) {
        nitems += w[i].top != NULL;
        for (int j = 0; j <= s->vars[i].v.ndims && j <= ND_DAP_MAX_RANK; j++) nitems += w[i].member[j] != NULL;
    }
    out->items = nd_xcalloc(nitems + 1, sizeof *out->items);
    for (size_t i = 0; i < s->nvars; i++) {
        const nd_svar *sv = &s->vars[i];
        if (w[i].top) {
            nd_dap_item *it = &out->items[out->nitems];
            if (window(rq, it, sv, w[i].top, ver) < 0) return -(int)rq->err.code;
            out->nitems++;
            count_bytes(out, it);
        }
        if (add_members(rq, out, s, sv, &w[i]) < 0) return -(int)rq->err.code;
    }
    uint64_t limit = (uint64_t)rq->app->config->server.max_coverage_bytes;
    if (out->raw_bytes > limit)
        return nd_fail(&rq->err, ND_E_TOO_LARGE, "ce",
                       "The response would hold %llu bytes of values, over the limit of %llu; constrain it with "
                       "index ranges",
                       (unsigned long long)out->raw_bytes, (unsigned long long)limit);
    return 0;
}

/* ---- The stream ---- */

typedef struct stream {
    nd_dap_req d;
    const nd_dap_codec *codec;
    void *cs;
    nd_buf head, out, payload;
    size_t out_pos;
    size_t item;          /* current item */
    bool in_item, finished, failed;
    int split;            /* dimensions before split are stepped one index at a time, split in runs */
    size_t run;           /* indexes of dimension split per step */
    size_t pos[ND_DAP_MAX_RANK];
    void *raw;
    size_t raw_cap;
    nd_error err;
    bool gzip, zdone;     /* gzip Content-Encoding, done on the fly piece by piece */
    bool zstored;         /* the first piece did not compress: the rest goes out in stored blocks */
    z_stream z;
    nd_buf zout;
    size_t zpos;
} stream;

static void stream_free(void *p) {
    stream *st = p;
    nd_dap_req_free(&st->d);
    nd_buf_free(&st->head);
    nd_buf_free(&st->out);
    nd_buf_free(&st->payload);
    free(st->raw);
    free(st->cs);
    if (st->gzip) deflateEnd(&st->z);
    nd_buf_free(&st->zout);
    free(st);
}

/* Picks how an item is cut: the outermost dimension whose inner block fits SLAB_BYTES is read in runs. */
static void plan(stream *st, const nd_dap_item *it) {
    size_t esz = nd_nc_type_size(it->sv->type), inner = esz ? esz : 1;
    int k = it->rank - 1;
    for (; k > 0 && inner * it->count[k] <= SLAB_BYTES; k--) inner *= it->count[k];
    if (it->rank == 0) k = 0;
    st->split = k;
    st->run = it->rank ? (SLAB_BYTES / inner ? SLAB_BYTES / inner : 1) : 1;
    if (it->rank && st->run > it->count[k]) st->run = it->count[k];
    memset(st->pos, 0, sizeof st->pos);
}

/* Reads and encodes the next slab of the current item; false when the item is done. */
static bool step(stream *st, const nd_dap_item *it) {
    size_t start[ND_DAP_MAX_RANK], count[ND_DAP_MAX_RANK];
    ptrdiff_t stride[ND_DAP_MAX_RANK];
    int r = it->rank, k = st->split;
    if (item_values(it) == 0 || st->pos[0] >= (r ? it->count[0] : 1)) return false;
    size_t n = 1, rowlen = 1;
    for (int d = 0; d < r; d++) {
        stride[d] = it->stride[d];
        if (d < k) start[d] = it->start[d] + st->pos[d] * (size_t)it->stride[d], count[d] = 1;
        else if (d == k) {
            start[d] = it->start[d] + st->pos[d] * (size_t)it->stride[d];
            count[d] = it->count[d] - st->pos[d] < st->run ? it->count[d] - st->pos[d] : st->run;
        } else start[d] = it->start[d], count[d] = it->count[d];
        n *= count[d];
    }
    size_t esz = nd_nc_type_size(it->sv->type);
    if (n * esz + 16 > st->raw_cap) {
        free(st->raw);
        st->raw_cap = n * esz + 16;
        st->raw = nd_xmalloc(st->raw_cap);
    }
    if (nd_schema_read(st->d.ds, it->sv, start, count, stride, st->raw, &st->err) < 0) {
        st->failed = true;
        return false;
    }
    size_t nvals = n;
    if (st->codec->char_as_string && it->sv->type == NC_CHAR && r > 0) rowlen = count[r - 1], nvals = n / rowlen;
    st->codec->values(st->cs, it, st->raw, nvals, rowlen, &st->payload);
    if (it->sv->type == NC_STRING) {
        char **s = st->raw;
        for (size_t i = 0; i < n; i++) free(s[i]);
    }
    if (r == 0) {
        st->pos[0] = 1;
        return true;
    }
    /* odometer over dimensions 0..k, dimension k by runs */
    st->pos[k] += count[k];
    for (int d = k; d > 0 && st->pos[d] >= it->count[d]; d--) {
        st->pos[d] = 0;
        st->pos[d - 1]++;
    }
    return true;
}

static size_t item_nvalues(const stream *st, const nd_dap_item *it) {
    uint64_t n = item_values(it);
    if (st->codec->char_as_string && it->sv->type == NC_CHAR && it->rank > 0) n /= it->count[it->rank - 1];
    return (size_t)n;
}

/* Produces the next piece into st->out. */
static void refill(stream *st) {
    nd_buf_reset(&st->out);
    st->out_pos = 0;
    if (st->head.len) {
        nd_buf_append(&st->out, st->head.data, st->head.len);
        nd_buf_free(&st->head);
        return;
    }
    nd_buf_reset(&st->payload);
    bool last = false;
    while (st->payload.len < SLAB_BYTES / 2 && !st->failed) {
        if (st->item == st->d.nitems) {
            last = true;
            break;
        }
        const nd_dap_item *it = &st->d.items[st->item];
        if (!st->in_item) {
            plan(st, it);
            st->codec->begin(st->cs, it, item_nvalues(st, it), &st->payload);
            st->in_item = true;
        }
        if (!step(st, it) && !st->failed) {
            st->codec->end(st->cs, it, item_nvalues(st, it), &st->payload);
            st->in_item = false;
            st->item++;
        }
    }
    if (st->failed) return;
    if (st->codec->frame) st->codec->frame(st->cs, &st->payload, last, &st->out);
    else nd_buf_append(&st->out, st->payload.data, st->payload.len);
    if (last) st->finished = true;
}

static long stream_read(void *p, uint64_t pos, char *buf, size_t max) {
    stream *st = p;
    (void)pos; /* libmicrohttpd reads in order */
    while (st->out_pos == st->out.len) {
        if (st->finished || st->failed) return st->failed ? -1 : 0;
        refill(st);
        if (st->failed) return -1;
    }
    size_t n = st->out.len - st->out_pos;
    if (n > max) n = max;
    memcpy(buf, st->out.data + st->out_pos, n);
    st->out_pos += n;
    return (long)n;
}

/* Compresses the next raw piece into st->zout; the last one finishes the gzip member. */
static int gzip_piece(stream *st) {
    nd_buf_reset(&st->zout);
    st->zpos = 0;
    bool last = st->finished;
    if (!last) {
        refill(st);
        if (st->failed) return -1;
        last = st->finished;
    } else {
        nd_buf_reset(&st->out);
    }
    st->z.next_in = (Bytef *)st->out.data;
    st->z.avail_in = (uInt)st->out.len;
    st->out_pos = st->out.len;
    int rc;
    do {
        nd_buf_reserve(&st->zout, deflateBound(&st->z, st->z.avail_in) + 4096);
        st->z.next_out = (Bytef *)st->zout.data + st->zout.len;
        st->z.avail_out = (uInt)(st->zout.cap - 1 - st->zout.len);
        uInt before = st->z.avail_out;
        rc = deflate(&st->z, last ? Z_FINISH : Z_NO_FLUSH);
        st->zout.len += before - st->z.avail_out;
        if (rc == Z_STREAM_ERROR) return -1;
    } while (st->z.avail_in > 0 || (last && rc != Z_STREAM_END));
    if (last) st->zdone = true;
    /* Float data of full precision hardly compresses (~7% at level 1) but costs DEFLATE's full price, more than
     * the network saves: when the first piece of several MB shrank by less than 10%, the rest is stored. */
    if (!last && !st->zstored && st->out.len >= (1u << 20) && st->zout.len * 10 > st->out.len * 9) {
        st->zstored = true;
        nd_buf_reserve(&st->zout, st->zout.len + (64u << 10));
        st->z.next_out = (Bytef *)st->zout.data + st->zout.len;
        st->z.avail_out = (uInt)(st->zout.cap - 1 - st->zout.len);
        uInt before = st->z.avail_out;
        if (deflateParams(&st->z, 0, Z_DEFAULT_STRATEGY) != Z_OK) return -1;
        st->zout.len += before - st->z.avail_out;
    }
    return 0;
}

static long gzip_read(stream *st, char *buf, size_t max) {
    while (st->zpos == st->zout.len) {
        if (st->zdone) return 0;
        if (gzip_piece(st) < 0) return -1;
    }
    size_t n = st->zout.len - st->zpos;
    if (n > max) n = max;
    memcpy(buf, st->zout.data + st->zpos, n);
    st->zpos += n;
    return (long)n;
}

static long stream_read_any(void *p, uint64_t pos, char *buf, size_t max) {
    stream *st = p;
    return st->gzip ? gzip_read(st, buf, max) : stream_read(p, pos, buf, max);
}

/* Does Accept-Encoding allow gzip (listed, and not with q=0)? */
static bool accepts_gzip(const char *ae) {
    for (const char *p = ae; p && (p = strcasestr(p, "gzip")); p += 4) {
        const char *end = p + 4 + strcspn(p + 4, ",");
        const char *q = strstr(p, "q=");
        if (q && q < end && strtod(q + 2, NULL) <= 0) continue;
        return true;
    }
    return false;
}

void nd_dap_stream(nd_req *rq, nd_dap_req *d, nd_buf *head, const nd_dap_codec *codec, void *codec_state,
                   uint64_t size, nd_resp *rs) {
    stream *st = nd_xcalloc(1, sizeof *st);
    /* Level 1: the stream must keep up with the network; the gain is in text-like and repetitive data. */
    if (accepts_gzip(nd_req_header(rq, "Accept-Encoding")) &&
        deflateInit2(&st->z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
        st->gzip = true;
        size = UINT64_MAX;
        nd_resp_header(rq, rs, "Content-Encoding", "gzip");
    }
    nd_resp_header(rq, rs, "Vary", "Accept-Encoding");
    st->d = *d;
    *d = (nd_dap_req){0};
    st->head = *head;
    *head = (nd_buf){0};
    st->codec = codec;
    st->cs = codec_state;
    rs->stream = (nd_stream){stream_read_any, stream_free, st, size};
}

/* ---- Routes ---- */

typedef int (*ds_handler)(nd_req *, nd_resp *, const nd_dataset *);

static const struct {
    const char *suffix;
    ds_handler fn;
    nd_dap_version ver;
} suffixes[] = {
    {".dmr.xml", nd_dap4_dmr, ND_DAP4}, {".dsr.xml", nd_dap4_dsr, ND_DAP4}, {".dods", nd_dap2_dods, ND_DAP2},
    {".das", nd_dap2_das, ND_DAP2},     {".dds", nd_dap2_dds, ND_DAP2},     {".ascii", nd_dap2_ascii, ND_DAP2},
    {".asc", nd_dap2_ascii, ND_DAP2},   {".html", nd_dap2_html, ND_DAP2},   {".info", nd_dap2_info, ND_DAP2},
    {".dmr", nd_dap4_dmr, ND_DAP4},     {".dap", nd_dap4_dap, ND_DAP4},     {".dsr", nd_dap4_dsr, ND_DAP4},
};

static bool ends_with(const char *s, size_t n, const char *suf) {
    size_t k = strlen(suf);
    return n > k && memcmp(s + n - k, suf, k) == 0;
}

static bool is_dap4_path(const char *path) {
    size_t n = strlen(path);
    return ends_with(path, n, ".dmr") || ends_with(path, n, ".dap") || ends_with(path, n, ".dsr") ||
           ends_with(path, n, ".dmr.xml") || ends_with(path, n, ".dsr.xml");
}

static void render_error(nd_req *rq, nd_resp *rs) {
    if (rq->path && is_dap4_path(rq->path)) nd_dap4_render_error(rq, rs);
    else nd_dap2_render_error(rq, rs);
    nd_resp_header(rq, rs, "XOPeNDAP-Server", "nadir/" ND_VERSION);
}

static int catalogue(nd_req *rq, nd_resp *rs) {
    const nd_registry *reg = rq->app->datasets;
    if (nd_req_wants_json(rq) && nd_req_query(rq, "f")) {
        json_t *list = json_array();
        for (size_t i = 0; reg && i < reg->n; i++) {
            const nd_dataset *ds = reg->items[i];
            if (!nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) continue; /* no name of a forbidden dataset leaks */
            if (!nd_dataset_live(ds) || ds->kind == ND_DS_VECTOR) continue; /* vector data: maps only */
            const char *url = nd_dap_url(rq, ds);
            json_t *vars = json_array();
            for (size_t v = 0; v < ds->nvars; v++) json_array_append_new(vars, json_string(ds->vars[v].name));
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "id", ds->id, "title",
                                                  ds->conf->title ? ds->conf->title : ds->id, "dap2", url, "dap4",
                                                  nd_arena_printf(rq->arena, "dap4://%s", strstr(url, "://") ?
                                                                  strstr(url, "://") + 3 : url),
                                                  "html", nd_arena_printf(rq->arena, "%s.html", url), "files",
                                                  (json_int_t)ds->nfiles, "variables", vars));
        }
        json_t *doc = json_pack("{s:o}", "datasets", list);
        char *s = json_dumps(doc, JSON_INDENT(1) | JSON_ENSURE_ASCII);
        json_decref(doc);
        nd_resp_set_json(rs, 200, s, strlen(s));
        free(s);
        rs->cache_seconds = 60;
        return 0;
    }
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>OPeNDAP datasets</title>"
                   "<style>body{font-family:system-ui,sans-serif;max-width:64em;margin:2em auto;padding:0 1em}"
                   "td,th{padding:.3em .6em;border-bottom:1px solid #dde;text-align:left}</style></head><body>"
                   "<h1>OPeNDAP datasets</h1><p>DAP2 and DAP4 access; <a href=\"?f=json\">JSON</a>.</p><table>"
                   "<tr><th>dataset</th><th>title</th><th>files</th><th>access</th></tr>");
    for (size_t i = 0; reg && i < reg->n; i++) {
        const nd_dataset *ds = reg->items[i];
        if (!nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) continue;
        if (!nd_dataset_live(ds) || ds->kind == ND_DS_VECTOR) continue;
        const char *url = nd_dap_url(rq, ds);
        nd_buf_puts(b, "<tr><td><a href=\"");
        nd_buf_put_xml(b, url);
        nd_buf_puts(b, ".html\">");
        nd_buf_put_xml(b, ds->id);
        nd_buf_puts(b, "</a></td><td>");
        nd_buf_put_xml(b, ds->conf->title ? ds->conf->title : "");
        nd_buf_printf(b, "</td><td>%zu</td><td>", ds->nfiles);
        static const char *const links[] = {".das", ".dds", ".dmr.xml", ".info"};
        for (size_t k = 0; k < sizeof links / sizeof links[0]; k++) {
            nd_buf_puts(b, "<a href=\"");
            nd_buf_put_xml(b, url);
            nd_buf_puts(b, links[k]);
            nd_buf_puts(b, "\">");
            nd_buf_puts(b, links[k] + 1);
            nd_buf_puts(b, "</a> ");
        }
        nd_buf_puts(b, "<code>");
        nd_buf_put_xml(b, url);
        nd_buf_puts(b, "</code></td></tr>");
    }
    nd_buf_puts(b, "</table></body></html>\n");
    rs->status = 200;
    rs->content_type = "text/html; charset=utf-8";
    rs->compressible = true;
    rs->cache_seconds = 60;
    return 0;
}

static int dataset_request(nd_req *rq, nd_resp *rs) {
    const char *path = nd_req_param(rq, "path");
    if (!path || !*path) return catalogue(rq, rs);
    if (strcmp(path, "version") == 0 || strcmp(path, "version.ver") == 0) return nd_dap2_ver(rq, rs);
    size_t n = strlen(path);
    const nd_registry *reg = rq->app->datasets;
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (!ends_with(path, n, suffixes[i].suffix)) continue;
        char *id = nd_arena_strndup(rq->arena, path, n - strlen(suffixes[i].suffix));
        const nd_dataset *ds = reg ? nd_registry_get(reg, id) : NULL;
        if (ds && ds->kind == ND_DS_VECTOR) ds = NULL; /* vector data are maps only: no DAP view */
        if (!ds) continue; /* an id may itself hold a dot: try the other suffixes */
        if (nd_auth_check(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) return -1;
        return suffixes[i].fn(rq, rs, ds);
    }
    const nd_dataset *ds = reg ? nd_registry_get(reg, path) : NULL;
    if (ds && ds->kind == ND_DS_VECTOR) ds = NULL;
    if (ds && nd_auth_check(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) return -1;
    if (ds) return nd_dap2_html(rq, rs, ds); /* the bare dataset URL: the request form, as Hyrax and THREDDS */
    if (ends_with(path, n, ".ver")) return nd_dap2_ver(rq, rs);
    return nd_fail(&rq->err, ND_E_NOT_FOUND, "dataset", "No OPeNDAP dataset or response at this path");
}

static const char *const dap_conformance[] = {NULL};

void nd_dap_register(nd_app *app) {
    static const nd_route routes[] = {
        {"GET", "/opendap", catalogue, "opendap", NULL, nd_dap2_render_error},
        {"GET", "/opendap/{path*}", dataset_request, "opendap",
         "OPeNDAP: the catalogue, and DAP2 (.das .dds .dods .ascii .html .info .ver) and DAP4 (.dmr .dap .dsr) "
         "responses of each dataset",
         render_error},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) nd_router_add(app->router, &routes[i]);
    static const nd_service svc = {"opendap", "OPeNDAP (DAP2, DAP4)", "/opendap/", "service", "text/html",
                                   dap_conformance, "/opendap/{id}.html"};
    nd_app_add_service(app, &svc);
}
