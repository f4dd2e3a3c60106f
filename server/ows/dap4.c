/* OPeNDAP DAP4: the DMR, chunked little-endian .dap data with a CRC32 after each variable (unless the client
 * sends dap4.checksum=false: then none, and the first chunk carries the no-checksum flag that netCDF-C 4.9
 * understands), the DSR, and the DAP4 error document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netcdf.h>
#include <zlib.h>

#include "nadir/app.h"
#include "nadir/dap.h"
#include "nadir/ows.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dap4.c sends host-order values flagged little-endian"
#endif

#define CHUNK_LAST 1
#define CHUNK_ERROR 2
#define CHUNK_LITTLE_ENDIAN 4
#define CHUNK_NO_CHECKSUM 8

void nd_dap4_render_error(nd_req *rq, nd_resp *rs) {
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    int status = nd_error_http_status(code);
    nd_buf *b = &rs->body;
    nd_buf_reset(b);
    nd_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error httpcode=\"%d\">\n  <Message>", status);
    nd_buf_put_xml(b, rq->err.detail);
    nd_buf_puts(b, "</Message>\n  <Context>");
    nd_buf_put_xml(b, rq->err.locator);
    nd_buf_puts(b, "</Context>\n</Error>\n");
    rs->status = status;
    rs->content_type = "application/vnd.opendap.dap4.error+xml";
    rs->cache_seconds = 0;
}

static const char *dap4_type(int t) {
    switch (t) {
    case NC_BYTE: return "Int8";
    case NC_UBYTE: return "UInt8";
    case NC_CHAR: return "Char";
    case NC_SHORT: return "Int16";
    case NC_USHORT: return "UInt16";
    case NC_INT: return "Int32";
    case NC_UINT: return "UInt32";
    case NC_INT64: return "Int64";
    case NC_UINT64: return "UInt64";
    case NC_FLOAT: return "Float32";
    case NC_DOUBLE: return "Float64";
    default: return "String";
    }
}

static int parse_and_select(nd_req *rq, const nd_dataset *ds, nd_dap_req *d) {
    const char *q = nd_req_query(rq, "dap4.ce");
    nd_dap_ce c = {0};
    if (q) {
        /* netCDF-C 4.9.0 percent-encodes the constraint three times ("[" arrives as %25255b); no DAP4 name holds
         * a '%', so decoding until none is left is safe. */
        char *ce = nd_arena_strdup(rq->arena, q);
        for (int i = 0; i < 3 && strchr(ce, '%'); i++)
            if (nd_url_decode(ce, false) < 0)
                return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ce", "Malformed percent-encoding in dap4.ce");
        int rc = nd_dap4_ce_parse(rq->arena, ce, &c, &rq->err);
        if (rc < 0) return rc;
    }
    int rc = nd_dap_select(rq, ds, &c, ND_DAP4, d);
    if (rc < 0) nd_dap_req_free(d);
    return rc;
}

/* ---- DMR ---- */

static void attr_value(nd_buf *b, const nd_attr *a, size_t i) {
    char num[64];
    const void *p = a->data;
    switch (a->type) {
    case NC_BYTE: snprintf(num, sizeof num, "%d", ((const signed char *)p)[i]); break;
    case NC_UBYTE: snprintf(num, sizeof num, "%u", ((const unsigned char *)p)[i]); break;
    case NC_SHORT: snprintf(num, sizeof num, "%d", ((const short *)p)[i]); break;
    case NC_USHORT: snprintf(num, sizeof num, "%u", ((const unsigned short *)p)[i]); break;
    case NC_INT: snprintf(num, sizeof num, "%d", ((const int *)p)[i]); break;
    case NC_UINT: snprintf(num, sizeof num, "%u", ((const unsigned *)p)[i]); break;
    case NC_INT64: snprintf(num, sizeof num, "%lld", ((const long long *)p)[i]); break;
    case NC_UINT64: snprintf(num, sizeof num, "%llu", ((const unsigned long long *)p)[i]); break;
    case NC_FLOAT: snprintf(num, sizeof num, "%.9g", ((const float *)p)[i]); break;
    case NC_DOUBLE: snprintf(num, sizeof num, "%.17g", ((const double *)p)[i]); break;
    case NC_STRING: nd_buf_put_xml(b, ((char *const *)p)[i]); return;
    default: return;
    }
    if (strcmp(num, "nan") == 0 || strcmp(num, "-nan") == 0) strcpy(num, "NaN");
    else if (strcmp(num, "inf") == 0) strcpy(num, "Infinity");
    else if (strcmp(num, "-inf") == 0) strcpy(num, "-Infinity");
    nd_buf_puts(b, num);
}

static void dmr_attr(nd_buf *b, const nd_attr *a, const char *indent) {
    if (!a->name[0]) return;
    nd_buf_printf(b, "%s<Attribute name=\"", indent);
    nd_buf_put_xml(b, a->name);
    nd_buf_printf(b, "\" type=\"%s\">", a->type == NC_CHAR ? "String" : dap4_type(a->type));
    if (a->type == NC_CHAR) {
        nd_buf_puts(b, "<Value>");
        nd_buf_put_xml(b, a->data);
        nd_buf_puts(b, "</Value>");
    } else {
        for (size_t i = 0; i < a->len; i++) {
            nd_buf_puts(b, "<Value>");
            attr_value(b, a, i);
            nd_buf_puts(b, "</Value>");
        }
    }
    nd_buf_puts(b, "</Attribute>\n");
}

static bool in_items(const nd_dap_req *d, const nd_svar *sv, bool whole) {
    for (size_t i = 0; i < d->nitems; i++) {
        if (d->items[i].sv != sv) continue;
        if (!whole) return true;
        for (int k = 0; k < sv->v.ndims; k++)
            if (d->items[i].count[k] != sv->v.shape[k] || d->items[i].start[k] || d->items[i].stride[k] != 1)
                return false;
        return true;
    }
    return false;
}

static bool has_items(const nd_dap_req *d, int group);

/* Does group g (or a group below it) hold a selected item? */
static bool group_used(const nd_dap_req *d, int g) {
    if (has_items(d, g)) return true;
    for (size_t i = 0; i < d->schema->ngroups; i++)
        if (d->schema->groups[i].parent == g && group_used(d, (int)i)) return true;
    return false;
}

static bool has_items(const nd_dap_req *d, int group) {
    for (size_t i = 0; i < d->nitems; i++)
        if (d->items[i].sv->group == group) return true;
    return false;
}

static void indent(nd_buf *b, int depth) {
    for (int i = 0; i < depth; i++) nd_buf_puts(b, "  ");
}

/* The declarations of one group (-1: the root) at depth: its dimensions, variables, attributes, then subgroups. */
static void dmr_group(nd_buf *b, nd_arena *a, const nd_dap_req *d, int group, int depth) {
    const nd_schema *s = d->schema;
    /* Shared dimensions used at full length by some selected variable. */
    for (size_t i = 0; i < s->ndims; i++) {
        if (s->dims[i].group != group) continue;
        bool used = false;
        for (size_t k = 0; k < d->nitems && !used; k++) {
            const nd_dap_item *it = &d->items[k];
            for (int j = 0; j < it->rank && !used; j++)
                used = it->sv->dimids[j] == (int)i && it->count[j] == s->dims[i].len;
        }
        if (!used) continue;
        indent(b, depth);
        nd_buf_puts(b, "<Dimension name=\"");
        nd_buf_put_xml(b, s->dims[i].name);
        nd_buf_printf(b, "\" size=\"%zu\"/>\n", s->dims[i].len);
    }
    for (size_t i = 0; i < d->nitems; i++) {
        const nd_dap_item *it = &d->items[i];
        const nd_svar *sv = it->sv;
        if (sv->group != group) continue;
        const char *t = dap4_type(sv->type);
        indent(b, depth);
        nd_buf_printf(b, "<%s name=\"", t);
        nd_buf_put_xml(b, sv->v.name);
        nd_buf_puts(b, "\">\n");
        for (int k = 0; k < it->rank; k++) {
            indent(b, depth + 1);
            if (it->count[k] == s->dims[sv->dimids[k]].len) {
                nd_buf_puts(b, "<Dim name=\"");
                nd_buf_put_xml(b, nd_dap_dim_path(a, s, sv->dimids[k]));
                nd_buf_puts(b, "\"/>\n");
            } else {
                nd_buf_printf(b, "<Dim size=\"%zu\"/>\n", it->count[k]);
            }
        }
        for (size_t at = 0; at < sv->nattrs; at++) {
            indent(b, depth);
            dmr_attr(b, &sv->attrs[at], "  ");
        }
        /* Maps name coordinate variables sent whole alongside. */
        for (int k = 0; k < it->rank && !sv->is_coord; k++) {
            const nd_svar *m = nd_dap_coord(s, sv->dimids[k]);
            if (!m || !in_items(d, m, true) || it->count[k] != m->v.shape[0]) continue;
            indent(b, depth + 1);
            nd_buf_puts(b, "<Map name=\"");
            nd_buf_put_xml(b, m->path ? m->path : nd_arena_printf(a, "/%s", m->v.name));
            nd_buf_puts(b, "\"/>\n");
        }
        indent(b, depth);
        nd_buf_printf(b, "</%s>\n", t);
    }
    const nd_attr *ga = group < 0 ? s->gattrs : s->groups[group].attrs;
    size_t nga = group < 0 ? s->ngattrs : s->groups[group].nattrs;
    for (size_t at = 0; at < nga; at++) {
        indent(b, depth - 1);
        dmr_attr(b, &ga[at], "  ");
    }
    for (size_t g = 0; g < s->ngroups; g++) {
        if (s->groups[g].parent != group || !group_used(d, (int)g)) continue;
        indent(b, depth);
        nd_buf_puts(b, "<Group name=\"");
        nd_buf_put_xml(b, s->groups[g].name);
        nd_buf_puts(b, "\">\n");
        dmr_group(b, a, d, (int)g, depth + 1);
        indent(b, depth);
        nd_buf_puts(b, "</Group>\n");
    }
}

static void dmr_text(nd_buf *b, nd_arena *a, const nd_dap_req *d) {
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Dataset xmlns=\"http://xml.opendap.org/ns/DAP/4.0#\""
                   " dapVersion=\"4.0\" dmrVersion=\"1.0\" name=\"");
    nd_buf_put_xml(b, d->ds->id);
    nd_buf_puts(b, "\">\n");
    dmr_group(b, a, d, -1, 1);
    nd_buf_puts(b, "</Dataset>\n");
}

int nd_dap4_dmr(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    int rc = parse_and_select(rq, ds, &d);
    if (rc < 0) return rc;
    dmr_text(&rs->body, rq->arena, &d);
    nd_dap_req_free(&d);
    rs->status = 200;
    rs->content_type = "application/vnd.opendap.dap4.dataset-metadata+xml";
    rs->compressible = true;
    rs->cache_seconds = 60;
    nd_dap_headers(rq, rs, ND_DAP4, "dap4-dmr");
    return 0;
}

/* ---- .dap: chunks of little-endian values ---- */

typedef struct {
    bool checksums;
    uint32_t crc;
} dap4_state;

static void le64(nd_buf *b, uint64_t v) {
    unsigned char x[8];
    for (int i = 0; i < 8; i++) x[i] = (unsigned char)(v >> (8 * i));
    nd_buf_append(b, x, 8);
}

static void d_begin(void *cs, const nd_dap_item *it, size_t n, nd_buf *out) {
    ((dap4_state *)cs)->crc = (uint32_t)crc32(0L, Z_NULL, 0);
}

static void d_values(void *cs, const nd_dap_item *it, const void *raw, size_t n, size_t rowlen, nd_buf *out) {
    dap4_state *st = cs;
    size_t before = out->len;
    if (it->sv->type == NC_STRING) {
        for (size_t i = 0; i < n; i++) {
            const char *s = ((char *const *)raw)[i];
            size_t len = strlen(s);
            le64(out, len);
            nd_buf_append(out, s, len);
        }
    } else {
        nd_buf_append(out, raw, n * nd_nc_type_size(it->sv->type));
    }
    /* crc32 takes uInt lengths: feed it in pieces under 1 GiB */
    for (size_t off = before; off < out->len;) {
        size_t len = out->len - off > (1u << 30) ? (1u << 30) : out->len - off;
        st->crc = (uint32_t)crc32(st->crc, (const Bytef *)out->data + off, (uInt)len);
        off += len;
    }
}

static void d_end(void *cs, const nd_dap_item *it, size_t n, nd_buf *out) {
    dap4_state *st = cs;
    if (!st->checksums) return;
    unsigned char x[4] = {(unsigned char)st->crc, (unsigned char)(st->crc >> 8), (unsigned char)(st->crc >> 16),
                          (unsigned char)(st->crc >> 24)};
    nd_buf_append(out, x, 4);
}

static void chunk_header(nd_buf *out, unsigned flags, size_t len) {
    unsigned char h[4] = {(unsigned char)flags, (unsigned char)(len >> 16), (unsigned char)(len >> 8),
                          (unsigned char)len};
    nd_buf_append(out, h, 4);
}

/* Chunk lengths have 24 bits: long payloads (long strings) go out as several chunks. */
static void d_frame(void *cs, nd_buf *payload, bool last, nd_buf *out) {
    const size_t max = 1u << 23;
    size_t off = 0;
    do {
        size_t len = payload->len - off > max ? max : payload->len - off;
        bool end = last && off + len == payload->len;
        if (len || end) {
            chunk_header(out, CHUNK_LITTLE_ENDIAN | (end ? CHUNK_LAST : 0), len);
            nd_buf_append(out, payload->data + off, len);
        }
        off += len;
    } while (off < payload->len);
}

static const nd_dap_codec dap4_codec = {d_begin, d_values, d_end, d_frame, false};

int nd_dap4_dap(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    int rc = parse_and_select(rq, ds, &d);
    if (rc < 0) return rc;
    dap4_state *st = nd_xcalloc(1, sizeof *st);
    const char *ck = nd_req_query(rq, "dap4.checksum");
    st->checksums = !ck || strcmp(ck, "false") != 0;
    nd_buf dmr = {0}, head = {0};
    dmr_text(&dmr, rq->arena, &d);
    nd_buf_puts(&dmr, "\r\n");
    /* The DMR is the first chunk, on its own. */
    chunk_header(&head, CHUNK_LITTLE_ENDIAN | (st->checksums ? 0 : CHUNK_NO_CHECKSUM), dmr.len);
    nd_buf_append(&head, dmr.data, dmr.len);
    nd_buf_free(&dmr);
    rs->status = 200;
    rs->content_type = "application/vnd.opendap.dap4.data";
    rs->cache_seconds = 0;
    nd_dap_headers(rq, rs, ND_DAP4, "dap4-data");
    nd_dap_stream(rq, &d, &head, &dap4_codec, st, UINT64_MAX, rs);
    return 0;
}

/* ---- DSR ---- */

int nd_dap4_dsr(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    const char *url = nd_dap_url(rq, ds);
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DatasetServices xmlns=\"http://xml.opendap.org/ns/DAP/"
                   "4.0/dataset-services#\">\n  <DapVersion>4.0</DapVersion>\n  <ServerSoftwareVersion>nadir/"
                   ND_VERSION "</ServerSoftwareVersion>\n  <Dataset name=\"");
    nd_buf_put_xml(b, ds->id);
    nd_buf_puts(b, "\" xml:base=\"");
    nd_buf_put_xml(b, url);
    nd_buf_puts(b, "\">\n");
    static const struct {
        const char *suffix, *role, *type;
    } svc[] = {
        {".dmr.xml", "http://services.opendap.org/dap4/dataset-metadata",
         "application/vnd.opendap.dap4.dataset-metadata+xml"},
        {".dap", "http://services.opendap.org/dap4/data", "application/vnd.opendap.dap4.data"},
        {".dsr.xml", "http://services.opendap.org/dap4/dataset-services",
         "application/vnd.opendap.dap4.dataset-services+xml"},
        {".das", "http://services.opendap.org/dap2/das", "text/plain"},
        {".dds", "http://services.opendap.org/dap2/dds", "text/plain"},
        {".dods", "http://services.opendap.org/dap2/data", "application/octet-stream"},
        {".html", "http://services.opendap.org/dap2/form", "text/html"},
    };
    for (size_t i = 0; i < sizeof svc / sizeof svc[0]; i++)
        nd_buf_printf(b, "    <Service role=\"%s\"><link type=\"%s\" href=\"%s\"/></Service>\n", svc[i].role,
                      svc[i].type, svc[i].suffix);
    nd_buf_puts(b, "  </Dataset>\n</DatasetServices>\n");
    rs->status = 200;
    rs->content_type = "application/vnd.opendap.dap4.dataset-services+xml";
    rs->compressible = true;
    rs->cache_seconds = 60;
    nd_dap_headers(rq, rs, ND_DAP4, "dap4-dsr");
    return 0;
}
