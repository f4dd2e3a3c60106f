/* OPeNDAP internals shared by dap.c (routes, selection, streaming), dap2.c, dap4.c and dap_ce.c (constraints). */
#ifndef NADIR_DAP_H
#define NADIR_DAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nadir/arena.h"
#include "nadir/http.h"
#include "nadir/schema.h"

/* Parser bounds: a constraint longer, wider or deeper than this is refused before any work. */
#define ND_DAP_MAX_CE (64 * 1024)
#define ND_DAP_MAX_PROJ 1024
#define ND_DAP_MAX_RANK 32
#define ND_DAP_MAX_INDEX ((size_t)1 << 48)

/* One [start:stride:stop] (stop inclusive; open_end: "[a:]" or "[]" in DAP4, to the last index). */
typedef struct nd_dap_slice {
    size_t start, stride, stop;
    bool open_end;
} nd_dap_slice;

typedef struct nd_dap_proj {
    const char *name;      /* the variable (DAP4: fully qualified, "/v" or "/g1/v") */
    const char *parent;    /* DAP2 "g" of "g.m": a member of Grid g, its array (m == g) or a map; NULL otherwise */
    nd_dap_slice *slices;
    size_t nslices;
} nd_dap_proj;

typedef struct nd_dap_ce {
    nd_dap_proj *proj;
    size_t nproj;          /* 0: the whole dataset */
    size_t nsel;           /* DAP2 selection clauses ("&a<3"): none of our datasets has a Sequence to filter */
} nd_dap_ce;

/* DAP2: "proj,proj&sel&sel" (already percent-decoded). DAP4: "/a[0:1:9];/b" (the dap4.ce value). Allocations in a;
 * malformed text, stride 0, stop < start, numbers over ND_DAP_MAX_INDEX: ND_E_INVALID_PARAM with locator "ce". */
int nd_dap2_ce_parse(nd_arena *a, const char *ce, nd_dap_ce *out, nd_error *err);
int nd_dap4_ce_parse(nd_arena *a, const char *ce, nd_dap_ce *out, nd_error *err);

/* A projected variable with its window on every dimension (for DAP2 char arrays the last, string, dimension is
 * always whole). */
typedef struct nd_dap_item {
    const nd_svar *sv;
    /* DAP2: the Grid this item is a member of (its array, sv == grid, or one of its maps); NULL at the top level.
     * Members of one Grid are consecutive, the array first. as_grid: they form a whole Grid (the array and every
     * map, in matching windows), else libdap's Structure form of a partly projected Grid. */
    const nd_svar *grid;
    bool as_grid;
    int rank;
    size_t start[ND_DAP_MAX_RANK], count[ND_DAP_MAX_RANK];
    ptrdiff_t stride[ND_DAP_MAX_RANK];
} nd_dap_item;

typedef enum { ND_DAP2, ND_DAP4 } nd_dap_version;

/* A request's dataset, structure and selection (variables in dataset order). */
typedef struct nd_dap_req {
    const nd_dataset *ds;
    nd_schema *schema;      /* owned; handed to the stream when there is one */
    nd_dap_item *items;     /* malloc'd, schema order */
    size_t nitems;
    bool constrained;       /* a projection was given: the DDS/DMR lists only the items */
    uint64_t raw_bytes;     /* values selected, in their stored sizes */
} nd_dap_req;

/* Resolves ce against the dataset's schema (unknown variables: ND_E_NOT_FOUND; out of range: ND_E_INVALID_PARAM;
 * over server.max_coverage_bytes of values: ND_E_TOO_LARGE). */
int nd_dap_select(nd_req *rq, const nd_dataset *ds, const nd_dap_ce *ce, nd_dap_version ver, nd_dap_req *out);
void nd_dap_req_free(nd_dap_req *d);

/* DAP2 Grids: variables of the root group with a coordinate variable on each dimension (as THREDDS and Hyrax). */
bool nd_dap_is_grid(const nd_schema *s, const nd_svar *sv);
/* The coordinate variable of a schema dimension (1-D over it, named like it), or NULL. */
const nd_svar *nd_dap_coord(const nd_schema *s, int dimid);
/* The fully qualified DAP4 name of a dimension or a group ("/lat", "/g1/x"), in the arena. */
const char *nd_dap_dim_path(nd_arena *a, const nd_schema *s, int dimid);

/* Encoders a stream drives, one variable at a time, slab by slab along its outer dimensions. */
typedef struct nd_dap_codec {
    void (*begin)(void *st, const nd_dap_item *it, size_t nvalues, nd_buf *out);
    /* Encodes n values of it->sv->type (strings: char *; DAP2 char rows: `rowlen` chars each) */
    void (*values)(void *st, const nd_dap_item *it, const void *raw, size_t n, size_t rowlen, nd_buf *out);
    void (*end)(void *st, const nd_dap_item *it, size_t nvalues, nd_buf *out);
    /* Frames a piece of payload (DAP4 chunks); NULL: sent as is. last: no more payload follows. */
    void (*frame)(void *st, nd_buf *payload, bool last, nd_buf *out);
    bool char_as_string;   /* DAP2: char arrays are String arrays over all but the last dimension */
} nd_dap_codec;

/* Hands d (schema and items) and head (sent first) to a stream on rs; codec_state is freed with the stream.
 * gzip-encoded on the fly when the request accepts it (then the size is unknown). */
void nd_dap_stream(nd_req *rq, nd_dap_req *d, nd_buf *head, const nd_dap_codec *codec, void *codec_state,
                   uint64_t size, nd_resp *rs);

/* Every OPeNDAP response carries these. */
void nd_dap_headers(nd_req *rq, nd_resp *rs, nd_dap_version ver, const char *description);
/* A name as DAP2 identifiers allow it (others %XX-escaped). */
void nd_dap_put_name(nd_buf *b, const char *name);
/* The dataset's DAP URL: base + /opendap/ + id. */
const char *nd_dap_url(nd_req *rq, const nd_dataset *ds);

/* The protocol responses (dap2.c, dap4.c). */
int nd_dap2_das(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap2_dds(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap2_dods(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap2_ascii(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap2_html(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap2_info(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap2_ver(nd_req *rq, nd_resp *rs);
int nd_dap4_dmr(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap4_dap(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
int nd_dap4_dsr(nd_req *rq, nd_resp *rs, const nd_dataset *ds);
/* The raw query as a DAP2 constraint (percent-decoded; "dap4.ce=" keys are not DAP2). */
const char *nd_dap2_query_ce(nd_req *rq);

#endif
