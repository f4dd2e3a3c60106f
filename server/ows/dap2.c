/* OPeNDAP DAP2: .das .dds .dods (XDR, big-endian, streamed) .ascii .html .info .ver, and the DAP2 error form.
 * Type mapping (documented in docs): byte and ubyte -> Byte; short/ushort/int/uint -> Int16/UInt16/Int32/UInt32,
 * unsigned ones with _Unsigned "true" (netCDF-C shows DAP2 through the signed netCDF-3 model, Byte included); float/double -> Float32/Float64; int64/uint64 -> Float64 (DAP2 has no 64-bit
 * integers: exact up to 2^53, never a failed request); string -> String; char arrays -> String arrays over all
 * but the last dimension, with DODS { strlen; dimName; } so netCDF clients rebuild the char array. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <netcdf.h>

#include "nadir/app.h"
#include "nadir/dap.h"
#include "nadir/ows.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dap2.c swaps host-order values to XDR big-endian"
#endif

#define ASCII_MAX_BYTES (4u << 20) /* values an .ascii response may hold: it is built in memory, ~10x as text */

/* DAP2 error codes are free integers; clients show the message, so the HTTP status is reused. */
void nd_dap2_render_error(nd_req *rq, nd_resp *rs) {
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    int status = nd_error_http_status(code);
    nd_buf *b = &rs->body;
    nd_buf_reset(b);
    nd_buf_printf(b, "Error {\n    code = %d;\n    message = \"", status);
    for (const char *p = rq->err.detail; *p; p++) {
        if (*p == '"' || *p == '\\') nd_buf_append(b, "\\", 1);
        nd_buf_append(b, p, 1);
    }
    nd_buf_puts(b, "\";\n};\n");
    rs->status = status;
    rs->content_type = "text/plain; charset=utf-8";
    nd_resp_header(rq, rs, "Content-Description", "dods-error");
    nd_resp_header(rq, rs, "XDODS-Server", "nadir/" ND_VERSION);
    rs->cache_seconds = 0;
}

static const char *dap2_type(int t) {
    switch (t) {
    case NC_BYTE: case NC_UBYTE: return "Byte";
    case NC_SHORT: return "Int16";
    case NC_USHORT: return "UInt16";
    case NC_INT: return "Int32";
    case NC_UINT: return "UInt32";
    case NC_FLOAT: return "Float32";
    case NC_CHAR: case NC_STRING: return "String";
    default: return "Float64"; /* double, int64, uint64 */
    }
}

const char *nd_dap2_query_ce(nd_req *rq) {
    char *ce = nd_arena_strdup(rq->arena, rq->query ? rq->query : "");
    if (nd_url_decode(ce, false) < 0) return NULL;
    return ce;
}

static int parse_and_select(nd_req *rq, const nd_dataset *ds, nd_dap_req *d) {
    const char *ce = nd_dap2_query_ce(rq);
    if (!ce) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "ce", "Malformed percent-encoding in the constraint");
    nd_dap_ce c;
    int rc = nd_dap2_ce_parse(rq->arena, ce, &c, &rq->err);
    if (rc < 0) return rc;
    rc = nd_dap_select(rq, ds, &c, ND_DAP2, d);
    if (rc < 0) nd_dap_req_free(d);
    return rc;
}

/* ---- DDS ---- */

static void dds_decl(nd_buf *b, const nd_dap_item *it, const char *indent) {
    const nd_svar *sv = it->sv;
    int rank = sv->type == NC_CHAR && it->rank > 0 ? it->rank - 1 : it->rank;
    nd_buf_printf(b, "%s%s ", indent, dap2_type(sv->type));
    nd_dap_put_name(b, sv->v.name);
    for (int k = 0; k < rank; k++) {
        nd_buf_puts(b, "[");
        nd_dap_put_name(b, sv->v.dims[k]);
        nd_buf_printf(b, " = %zu]", it->count[k]);
    }
    nd_buf_puts(b, ";\n");
}

/* A Grid's members as libdap declares them: "Grid { Array: ... Maps: ... } g;" when the array and every map came,
 * "Structure { ... } g;" for a partial projection (libdap's Grid::print_decl). Returns the items used. */
static size_t dds_container(nd_buf *b, const nd_dap_item *it, size_t n) {
    const nd_svar *g = it->grid;
    size_t k = 0;
    nd_buf_puts(b, it->as_grid ? "    Grid {\n      Array:\n" : "    Structure {\n");
    for (; k < n && it[k].grid == g; k++) {
        if (it->as_grid && k == 1) nd_buf_puts(b, "      Maps:\n");
        dds_decl(b, &it[k], "        ");
    }
    nd_buf_puts(b, "    } ");
    nd_dap_put_name(b, g->v.name);
    nd_buf_puts(b, ";\n");
    return k;
}

static void dds_text(nd_buf *b, const nd_dap_req *d) {
    nd_buf_puts(b, "Dataset {\n");
    for (size_t i = 0; i < d->nitems;) {
        if (d->items[i].grid) {
            i += dds_container(b, &d->items[i], d->nitems - i);
        } else {
            dds_decl(b, &d->items[i], "    ");
            i++;
        }
    }
    nd_buf_puts(b, "} ");
    nd_dap_put_name(b, d->ds->id);
    nd_buf_puts(b, ";\n");
}

static void text_response(nd_req *rq, nd_resp *rs, const char *description) {
    rs->status = 200;
    rs->content_type = "text/plain; charset=utf-8";
    rs->compressible = true;
    rs->cache_seconds = 60;
    nd_dap_headers(rq, rs, ND_DAP2, description);
}

int nd_dap2_dds(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    int rc = parse_and_select(rq, ds, &d);
    if (rc < 0) return rc;
    dds_text(&rs->body, &d);
    nd_dap_req_free(&d);
    text_response(rq, rs, "dods-dds");
    return 0;
}

/* ---- DAS ---- */

static void put_string(nd_buf *b, const char *s, size_t n) {
    nd_buf_puts(b, "\"");
    for (size_t i = 0; i < n && s[i]; i++) {
        if (s[i] == '"' || s[i] == '\\') nd_buf_append(b, "\\", 1);
        nd_buf_append(b, &s[i], 1);
    }
    nd_buf_puts(b, "\"");
}

static void put_double(nd_buf *b, double v, int digits) {
    if (isnan(v)) nd_buf_puts(b, "NaN");
    else if (isinf(v)) nd_buf_puts(b, v > 0 ? "Inf" : "-Inf");
    else nd_buf_printf(b, "%.*g", digits, v);
}

/* One attribute; on a signed-byte variable byte attributes keep the Byte bit pattern (netCDF-C reads both
 * back signed), elsewhere they widen to Int16. */
static void das_attr(nd_buf *b, const nd_attr *a, int var_type, const char *indent) {
    if (!a->name[0] || (a->type != NC_CHAR && a->len == 0)) return;
    const char *t = a->type == NC_BYTE && var_type != NC_BYTE ? "Int16" : dap2_type(a->type);
    nd_buf_printf(b, "%s%s ", indent, t);
    nd_dap_put_name(b, a->name);
    nd_buf_puts(b, " ");
    if (a->type == NC_CHAR) {
        put_string(b, a->data, a->len);
    } else {
        for (size_t i = 0; i < a->len; i++) {
            if (i) nd_buf_puts(b, ", ");
            const void *p = a->data;
            switch (a->type) {
            case NC_BYTE:
                if (var_type == NC_BYTE) nd_buf_printf(b, "%u", ((const unsigned char *)p)[i]);
                else nd_buf_printf(b, "%d", ((const signed char *)p)[i]);
                break;
            case NC_UBYTE: nd_buf_printf(b, "%u", ((const unsigned char *)p)[i]); break;
            case NC_SHORT: nd_buf_printf(b, "%d", ((const short *)p)[i]); break;
            case NC_USHORT: nd_buf_printf(b, "%u", ((const unsigned short *)p)[i]); break;
            case NC_INT: nd_buf_printf(b, "%d", ((const int *)p)[i]); break;
            case NC_UINT: nd_buf_printf(b, "%u", ((const unsigned *)p)[i]); break;
            case NC_INT64: nd_buf_printf(b, "%lld", ((const long long *)p)[i]); break;
            case NC_UINT64: nd_buf_printf(b, "%llu", ((const unsigned long long *)p)[i]); break;
            case NC_FLOAT: put_double(b, ((const float *)p)[i], 9); break;
            case NC_DOUBLE: put_double(b, ((const double *)p)[i], 17); break;
            case NC_STRING: {
                const char *s = ((char *const *)p)[i];
                put_string(b, s, strlen(s));
                break;
            }
            }
        }
    }
    nd_buf_puts(b, ";\n");
}

static void das_text(nd_buf *b, const nd_dap_req *d) {
    const nd_schema *s = d->schema;
    nd_buf_puts(b, "Attributes {\n");
    for (size_t i = 0; i < s->nvars; i++) {
        const nd_svar *sv = &s->vars[i];
        nd_buf_puts(b, "    ");
        nd_dap_put_name(b, sv->v.name);
        nd_buf_puts(b, " {\n");
        for (size_t a = 0; a < sv->nattrs; a++) das_attr(b, &sv->attrs[a], sv->type, "        ");
        /* netCDF-C shows DAP2 through the netCDF-3 model (unsigned types become signed of the same size):
         * _Unsigned tells clients (netCDF4-python, xarray) how to read the bits back. */
        if (!nd_schema_attr(sv->attrs, sv->nattrs, "_Unsigned")) {
            if (sv->type == NC_UBYTE || sv->type == NC_USHORT || sv->type == NC_UINT)
                nd_buf_puts(b, "        String _Unsigned \"true\";\n");
        }
        if (sv->v.nc_type == NC_INT64 || sv->v.nc_type == NC_UINT64)
            nd_buf_printf(b, "        String _nadir_dap2_type \"%s served as Float64\";\n",
                          sv->v.nc_type == NC_INT64 ? "int64" : "uint64");
        if (sv->type == NC_CHAR && sv->v.ndims > 0) {
            /* netCDF-C reads these flattened names (libdap2/dapattr.c) */
            nd_buf_printf(b, "        Int32 DODS.strlen %zu;\n        String DODS.dimName ",
                          sv->v.shape[sv->v.ndims - 1]);
            const char *dn = sv->v.dims[sv->v.ndims - 1];
            put_string(b, dn, strlen(dn));
            nd_buf_puts(b, ";\n");
        }
        nd_buf_puts(b, "    }\n");
    }
    nd_buf_puts(b, "    NC_GLOBAL {\n");
    for (size_t a = 0; a < s->ngattrs; a++) das_attr(b, &s->gattrs[a], 0, "        ");
    nd_buf_puts(b, "    }\n");
    for (size_t i = 0; i < s->ndims; i++)
        if (s->dims[i].unlimited) {
            nd_buf_puts(b, "    DODS_EXTRA {\n        String Unlimited_Dimension ");
            put_string(b, s->dims[i].name, strlen(s->dims[i].name));
            nd_buf_puts(b, ";\n    }\n");
            break;
        }
    nd_buf_puts(b, "}\n");
}

int nd_dap2_das(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    int rc = parse_and_select(rq, ds, &d);
    if (rc < 0) return rc;
    das_text(&rs->body, &d);
    nd_dap_req_free(&d);
    text_response(rq, rs, "dods-das");
    return 0;
}

/* ---- .dods: XDR ---- */

static void be32(nd_buf *b, uint32_t v) {
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                          (unsigned char)v};
    nd_buf_append(b, x, 4);
}

static void xdr_string(nd_buf *b, const char *s, size_t n) {
    be32(b, (uint32_t)n);
    nd_buf_append(b, s, n);
    static const char pad[4] = {0};
    if (n % 4) nd_buf_append(b, pad, 4 - n % 4);
}

static void x_begin(void *cs, const nd_dap_item *it, size_t n, nd_buf *out) {
    int rank = it->sv->type == NC_CHAR && it->rank > 0 ? it->rank - 1 : it->rank;
    if (rank == 0 && it->sv->type != NC_CHAR) return;
    if (it->sv->type == NC_CHAR && rank == 0) return; /* a scalar string */
    be32(out, (uint32_t)n);
    if (it->sv->type != NC_STRING && it->sv->type != NC_CHAR) be32(out, (uint32_t)n);
}

/* Fixed-size values are converted in bulk straight into the buffer: this loop is the hot path of .dods. */
static void x_values(void *cs, const nd_dap_item *it, const void *raw, size_t n, size_t rowlen, nd_buf *out) {
    int t = it->sv->type;
    bool scalar = it->rank == 0;
    if ((t == NC_BYTE || t == NC_UBYTE) && !scalar) {
        nd_buf_append(out, raw, n);
        return;
    }
    if (t == NC_STRING || t == NC_CHAR) {
        for (size_t i = 0; i < n; i++) {
            const char *s = t == NC_STRING ? ((char *const *)raw)[i] : (const char *)raw + i * rowlen;
            xdr_string(out, s, t == NC_STRING ? strlen(s) : strnlen(s, rowlen));
        }
        return;
    }
    size_t w = t == NC_DOUBLE || t == NC_INT64 || t == NC_UINT64 ? 8 : 4;
    nd_buf_reserve(out, n * w + 1);
    unsigned char *o = (unsigned char *)out->data + out->len;
    for (size_t i = 0; i < n; i++) {
        uint32_t v32 = 0;
        uint64_t v64 = 0;
        double dv;
        switch (t) {
        case NC_BYTE: case NC_UBYTE: v32 = ((const unsigned char *)raw)[i]; break;
        case NC_SHORT: v32 = (uint32_t)(int32_t)((const short *)raw)[i]; break;
        case NC_USHORT: v32 = ((const unsigned short *)raw)[i]; break;
        case NC_INT64: dv = (double)((const long long *)raw)[i]; memcpy(&v64, &dv, 8); break;
        case NC_UINT64: dv = (double)((const unsigned long long *)raw)[i]; memcpy(&v64, &dv, 8); break;
        case NC_DOUBLE: memcpy(&v64, (const char *)raw + 8 * i, 8); break;
        default: memcpy(&v32, (const char *)raw + 4 * i, 4); break;
        }
        if (w == 4) {
            v32 = __builtin_bswap32(v32);
            memcpy(o + 4 * i, &v32, 4);
        } else {
            v64 = __builtin_bswap64(v64);
            memcpy(o + 8 * i, &v64, 8);
        }
    }
    out->len += n * w;
    out->data[out->len] = '\0';
}

static void x_end(void *cs, const nd_dap_item *it, size_t n, nd_buf *out) {
    int t = it->sv->type;
    static const char pad[4] = {0};
    if ((t == NC_BYTE || t == NC_UBYTE) && it->rank > 0 && n % 4) nd_buf_append(out, pad, 4 - n % 4);
}

static const nd_dap_codec xdr_codec = {x_begin, x_values, x_end, NULL, true};

/* Exact size of the XDR body when no value has a variable length; UINT64_MAX otherwise. */
static uint64_t xdr_size(const nd_dap_req *d) {
    uint64_t total = 0;
    for (size_t i = 0; i < d->nitems; i++) {
        const nd_dap_item *it = &d->items[i];
        uint64_t n = 1;
        for (int k = 0; k < it->rank; k++) n *= it->count[k];
        switch (it->sv->type) {
        case NC_CHAR: case NC_STRING: return UINT64_MAX;
        case NC_BYTE: case NC_UBYTE: total += it->rank ? 8 + (n + 3) / 4 * 4 : 4; break;
        case NC_DOUBLE: case NC_INT64: case NC_UINT64: total += (it->rank ? 8 : 0) + 8 * n; break;
        default: total += (it->rank ? 8 : 0) + 4 * n; break;
        }
    }
    return total;
}

int nd_dap2_dods(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    int rc = parse_and_select(rq, ds, &d);
    if (rc < 0) return rc;
    nd_buf head = {0};
    dds_text(&head, &d);
    /* netCDF-C's DAP2 library (User-Agent "oc4.9.0") looks for "Data:\r\n" before "Data:\n", byte by byte over
     * the whole response: told the first form, it stops right after the DDS instead of scanning every value,
     * which was 40% of its time reading a large response. Other clients get libdap's "Data:\n". */
    const char *ua = nd_req_header(rq, "User-Agent");
    bool oc = ua && ua[0] == 'o' && ua[1] == 'c' && ua[2] >= '0' && ua[2] <= '9';
    nd_buf_puts(&head, oc ? "Data:\r\n" : "Data:\n");
    uint64_t body = xdr_size(&d), size = body == UINT64_MAX ? UINT64_MAX : head.len + body;
    rs->status = 200;
    rs->content_type = "application/octet-stream";
    rs->cache_seconds = 0;
    nd_dap_headers(rq, rs, ND_DAP2, "dods-data");
    /* Streamed (gzipped on the fly by the stream when the client accepts it), so memory stays O(slab). */
    nd_dap_stream(rq, &d, &head, &xdr_codec, NULL, size, rs);
    return 0;
}

/* ---- .ascii ---- */

static void ascii_value(nd_buf *b, int t, const void *raw, size_t i, size_t rowlen) {
    switch (t) {
    case NC_BYTE: nd_buf_printf(b, "%d", ((const signed char *)raw)[i]); break;
    case NC_UBYTE: nd_buf_printf(b, "%u", ((const unsigned char *)raw)[i]); break;
    case NC_SHORT: nd_buf_printf(b, "%d", ((const short *)raw)[i]); break;
    case NC_USHORT: nd_buf_printf(b, "%u", ((const unsigned short *)raw)[i]); break;
    case NC_INT: nd_buf_printf(b, "%d", ((const int *)raw)[i]); break;
    case NC_UINT: nd_buf_printf(b, "%u", ((const unsigned *)raw)[i]); break;
    case NC_INT64: nd_buf_printf(b, "%lld", ((const long long *)raw)[i]); break;
    case NC_UINT64: nd_buf_printf(b, "%llu", ((const unsigned long long *)raw)[i]); break;
    case NC_FLOAT: put_double(b, ((const float *)raw)[i], 9); break;
    case NC_DOUBLE: put_double(b, ((const double *)raw)[i], 17); break;
    case NC_STRING: {
        const char *s = ((char *const *)raw)[i];
        put_string(b, s, strlen(s));
        break;
    }
    case NC_CHAR: {
        const char *row = (const char *)raw + i * rowlen;
        put_string(b, row, strnlen(row, rowlen));
        break;
    }
    }
}

/* libdap's ASCII form: the DDS, a rule, then one line per innermost row, "name[i][j], v, v, ...". */
static int ascii_item(nd_req *rq, nd_buf *b, const nd_dap_req *d, const nd_dap_item *it) {
    const nd_svar *sv = it->sv;
    size_t n = 1;
    for (int k = 0; k < it->rank; k++) n *= it->count[k];
    size_t esz = nd_nc_type_size(sv->type);
    void *raw = nd_xmalloc(n * esz + 16);
    int rc = nd_schema_read(d->ds, sv, it->start, it->count, it->stride, raw, &rq->err);
    if (rc < 0) {
        free(raw);
        return rc;
    }
    int rank = it->rank;
    size_t rowlen = 1;
    if (sv->type == NC_CHAR && rank > 0) rowlen = it->count[rank - 1], rank--, n /= rowlen;
    size_t inner = rank ? it->count[rank - 1] : 1;
    for (size_t r = 0; r < (inner ? n / inner : 0); r++) {
        if (it->grid) { /* a Grid member: "g.m" as libdap's ASCII form names it */
            nd_dap_put_name(b, it->grid->v.name);
            nd_buf_puts(b, ".");
        }
        nd_dap_put_name(b, sv->v.name);
        size_t rem = r;
        size_t idx[ND_DAP_MAX_RANK] = {0};
        for (int k = rank - 2; k >= 0; k--) idx[k] = rem % it->count[k], rem /= it->count[k];
        for (int k = 0; k < rank - 1; k++) nd_buf_printf(b, "[%zu]", idx[k]);
        for (size_t i = 0; i < inner; i++) {
            nd_buf_puts(b, ", ");
            ascii_value(b, sv->type, raw, r * inner + i, rowlen);
        }
        nd_buf_puts(b, "\n");
    }
    if (sv->type == NC_STRING) nd_schema_free_strings(raw, n), raw = NULL;
    free(raw);
    return 0;
}

int nd_dap2_ascii(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    int rc = parse_and_select(rq, ds, &d);
    if (rc < 0) return rc;
    if (d.raw_bytes > ASCII_MAX_BYTES) {
        nd_dap_req_free(&d);
        return nd_fail(&rq->err, ND_E_TOO_LARGE, "ce",
                       "An ASCII response holds at most %u bytes of values; use .dods or a smaller constraint",
                       ASCII_MAX_BYTES);
    }
    dds_text(&rs->body, &d);
    nd_buf_puts(&rs->body, "---------------------------------------------\n");
    for (size_t i = 0; i < d.nitems && rc == 0; i++) rc = ascii_item(rq, &rs->body, &d, &d.items[i]);
    nd_dap_req_free(&d);
    if (rc < 0) return rc;
    text_response(rq, rs, "dods-ascii");
    rs->cache_seconds = 0;
    return 0;
}

/* ---- .html (request form), .info, .ver ---- */

static void html_pre(nd_buf *b, const char *title, const char *text) {
    nd_buf_printf(b, "<h2>%s</h2><pre>", title);
    nd_buf_put_xml(b, text);
    nd_buf_puts(b, "</pre>");
}

/* A JSON string literal with '/' escaped: no name or URL can close the script element. */
static void js_string(nd_buf *b, const char *s) {
    json_t *j = json_string(s ? s : "");
    char *t = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ESCAPE_SLASH | JSON_ENSURE_ASCII) : NULL;
    nd_buf_puts(b, t ? t : "\"\"");
    free(t);
    json_decref(j);
}

/* The .html and .info pages end alike: the structure and attributes as text, then the headers. */
static int html_finish(nd_req *rq, nd_resp *rs, nd_dap_req *d, const char *description) {
    nd_buf das = {0}, dds = {0};
    das_text(&das, d);
    dds_text(&dds, d);
    html_pre(&rs->body, "Structure (DDS)", dds.data);
    html_pre(&rs->body, "Attributes (DAS)", das.data);
    nd_buf_free(&das);
    nd_buf_free(&dds);
    nd_buf_puts(&rs->body, "</body></html>\n");
    nd_dap_req_free(d);
    rs->status = 200;
    rs->content_type = "text/html; charset=utf-8";
    rs->compressible = true;
    rs->cache_seconds = 60;
    nd_dap_headers(rq, rs, ND_DAP2, description);
    return 0;
}

int nd_dap2_html(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    nd_dap_ce none = {0};
    int rc = nd_dap_select(rq, ds, &none, ND_DAP2, &d);
    if (rc < 0) {
        nd_dap_req_free(&d);
        return rc;
    }
    const char *url = nd_dap_url(rq, ds);
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>OPeNDAP: ");
    nd_buf_put_xml(b, ds->id);
    nd_buf_puts(b, "</title><style>body{font-family:system-ui,sans-serif;max-width:70em;margin:2em auto;padding:0 "
                   "1em}input[type=text]{width:14em}#url{width:100%}td{padding:.2em .5em}</style></head><body><h1>");
    nd_buf_put_xml(b, ds->conf && ds->conf->title ? ds->conf->title : ds->id);
    nd_buf_puts(b, "</h1><p>Dataset URL: <code>");
    nd_buf_put_xml(b, url);
    nd_buf_puts(b, "</code> (DAP2; <code>dap4://</code> for DAP4).</p><form id=\"f\"><table>"
                   "<tr><th></th><th>variable</th><th>type</th><th>index ranges start:stride:stop</th></tr>");
    for (size_t i = 0; i < d.nitems; i++) {
        const nd_dap_item *it = &d.items[i];
        if (it->grid && it->grid != it->sv) continue; /* a Grid's maps come with it */
        int rank = it->sv->type == NC_CHAR && it->rank > 0 ? it->rank - 1 : it->rank;
        nd_buf_printf(b, "<tr><td><input type=\"checkbox\" data-var=\"%zu\"></td><td><code>", i);
        nd_buf_put_xml(b, it->sv->v.name);
        nd_buf_printf(b, "</code></td><td>%s</td><td>", dap2_type(it->sv->type));
        for (int k = 0; k < rank; k++) {
            nd_buf_puts(b, "<label>");
            nd_buf_put_xml(b, it->sv->v.dims[k]);
            nd_buf_printf(b, " <input type=\"text\" data-dim=\"%zu\" value=\"0:1:%zu\"></label> ", i,
                          it->count[k] ? it->count[k] - 1 : 0);
        }
        nd_buf_puts(b, "</td></tr>");
    }
    nd_buf_puts(b, "</table><p><label>Data URL <input id=\"url\" type=\"text\" readonly></label></p>"
                   "<p><button data-s=\".ascii\">Get ASCII</button> <button data-s=\".dods\">Get binary (.dods)"
                   "</button></p></form><script>");
    nd_buf_puts(b, "const base=");
    js_string(b, url);
    nd_buf_puts(b, ";const names=[");
    for (size_t i = 0; i < d.nitems; i++) {
        if (i) nd_buf_puts(b, ",");
        js_string(b, d.items[i].sv->v.name);
    }
    nd_buf_puts(b, "];function ce(){const p=[];document.querySelectorAll('[data-var]').forEach(c=>{if(!c.checked)"
                   "return;const i=c.dataset.var;let s=encodeURIComponent(names[i]);document.querySelectorAll("
                   "'[data-dim=\"'+i+'\"]').forEach(d=>s+='['+d.value+']');p.push(s)});return p.join(',')}"
                   "function upd(s){document.getElementById('url').value=base+(s||'.ascii')+'?'+ce()}"
                   "document.getElementById('f').addEventListener('input',()=>upd());"
                   "document.querySelectorAll('button').forEach(b=>b.addEventListener('click',e=>{e.preventDefault();"
                   "upd(b.dataset.s);location.href=document.getElementById('url').value}));upd();</script>");
    return html_finish(rq, rs, &d, "dods-form");
}

int nd_dap2_info(nd_req *rq, nd_resp *rs, const nd_dataset *ds) {
    nd_dap_req d;
    nd_dap_ce none = {0};
    int rc = nd_dap_select(rq, ds, &none, ND_DAP2, &d);
    if (rc < 0) {
        nd_dap_req_free(&d);
        return rc;
    }
    nd_buf *b = &rs->body;
    nd_buf_puts(b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>");
    nd_buf_put_xml(b, ds->id);
    nd_buf_puts(b, " (info)</title></head><body><h1>");
    nd_buf_put_xml(b, ds->id);
    nd_buf_printf(b, "</h1><p>%zu file%s; server nadir/%s</p>", ds->nfiles, ds->nfiles == 1 ? "" : "s", ND_VERSION);
    return html_finish(rq, rs, &d, "dods-description");
}

int nd_dap2_ver(nd_req *rq, nd_resp *rs) {
    nd_buf_puts(&rs->body, "Core version: DAP/2.0\nServer version: nadir/" ND_VERSION "\nDAP protocols: 2.0, 4.0\n");
    text_response(rq, rs, "dods-version");
    return 0;
}
