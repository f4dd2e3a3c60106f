/* The STAC catalogue: an SQLite store of collections and items, search with keyset paging, CQL2, ingest. */
#ifndef NADIR_CATALOG_H
#define NADIR_CATALOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

#include "nadir/arena.h"
#include "nadir/dataset.h"
#include "nadir/error.h"

#define ND_CAT_SCHEMA_VERSION 6
#define ND_CAT_MAX_LIMIT 10000
#define ND_CAT_DEFAULT_LIMIT 10
#define ND_CAT_MAX_SORT 8

typedef struct nd_cat nd_cat;

/* Opens (creating and migrating) the catalogue with up to nconn pooled connections (WAL). */
int nd_cat_open(const char *path, int nconn, nd_cat **out, char *err, size_t errlen);
void nd_cat_close(nd_cat *c);
/* The schema version the file is at (PRAGMA user_version). */
int nd_cat_schema_version(nd_cat *c);

/* ---- collections and items: JSON objects (jansson); items are stored without links ---- */

typedef enum { ND_PUT_CREATE, ND_PUT_REPLACE, ND_PUT_UPSERT } nd_put_mode;

int nd_cat_put_collection(nd_cat *c, json_t *coll, nd_put_mode mode, const char *origin, nd_error *e);
json_t *nd_cat_get_collection(nd_cat *c, const char *id);   /* new reference or NULL */
/* Collections in id order; q (free text, may be NULL) and bbox/time (NULL: any) filter them. */
json_t *nd_cat_list_collections(nd_cat *c, const char *q, const double *bbox, const double *interval);
int nd_cat_delete_collection(nd_cat *c, const char *id, nd_error *e);

/* Validates the item (type, id, geometry, bbox, properties.datetime or start/end) and stores it
 * under collection. n items in one transaction. */
int nd_cat_put_items(nd_cat *c, const char *collection, json_t *const *items, size_t n, nd_put_mode mode,
                     nd_error *e);
json_t *nd_cat_get_item(nd_cat *c, const char *collection, const char *id);
int nd_cat_delete_item(nd_cat *c, const char *collection, const char *id, nd_error *e);

/* Property names (with their JSON type) seen in the items of a collection (NULL: all collections). */
json_t *nd_cat_queryables(nd_cat *c, const char *collection);
/* True when name may be used in a filter or a sort of those collections. */
bool nd_cat_is_queryable(nd_cat *c, const char *const *collections, size_t ncollections, const char *name);

/* ---- files known to the catalogue, for re-ingest ---- */

/* True when path was ingested into collection with this size and mtime (unchanged). */
bool nd_cat_file_unchanged(nd_cat *c, const char *path, const char *collection, int64_t size, int64_t mtime);
int nd_cat_file_record(nd_cat *c, const char *path, const char *collection, const char *item, int64_t size,
                       int64_t mtime, const char *sha256);
/* The file an item of collection was ingested from (malloc'd), or NULL: the data asset's GET .../file. */
char *nd_cat_file_path(nd_cat *c, const char *collection, const char *item);

/* ---- time ---- */

#define ND_T_MIN (-1e300)
#define ND_T_MAX (1e300)
/* RFC 3339 date-time (or full-date with date_ok) to seconds since 1970 (UTC). */
int nd_cat_time_parse(const char *s, bool date_ok, double *out);
/* "A", "A/B", "../B", "A/..", "/B", "A/": open ends get ND_T_MIN/ND_T_MAX. */
int nd_cat_interval_parse(const char *s, double out[2]);
void nd_cat_time_format(double t, char out[40]);

/* ---- geometry (GDAL/OGR with GEOS) ---- */

/* Spatial predicates, also the CQL2 s_* operators. */
typedef enum {
    ND_SP_INTERSECTS = 1, ND_SP_DISJOINT, ND_SP_CONTAINS, ND_SP_WITHIN, ND_SP_EQUALS, ND_SP_TOUCHES,
    ND_SP_CROSSES, ND_SP_OVERLAPS
} nd_spatial_op;

/* A geometry as WKB in lon/lat, split at the antimeridian when it crossed it, with up to two boxes. */
typedef struct nd_geom {
    unsigned char *wkb;      /* arena memory */
    size_t wkb_len;
    double box[2][4];        /* minx, miny, maxx, maxy */
    int nbox;
    bool wrapped;            /* it was drawn past ±180° and has been cut there */
} nd_geom;

/* From GeoJSON (a geometry object); longitudes past ±180 are wrapped, an invalid geometry refused. */
int nd_geom_from_geojson(nd_arena *a, json_t *g, nd_geom *out, char *why, size_t whylen);
int nd_geom_from_wkt(nd_arena *a, const char *wkt, nd_geom *out, char *why, size_t whylen);
/* A lon/lat box; west > east crosses the antimeridian. */
int nd_geom_from_bbox(nd_arena *a, const double bbox[4], nd_geom *out, char *why, size_t whylen);
/* GeoJSON of the (wrapped) geometry, a new reference. */
json_t *nd_geom_to_geojson(const nd_geom *g);
/* Registers nd_spatial(op, wkb, wkb) on a connection. */
void nd_geom_register_sql(sqlite3 *db);

/* ---- CQL2 ---- */

typedef enum {
    ND_Q_AND, ND_Q_OR, ND_Q_NOT, ND_Q_CMP, ND_Q_LIKE, ND_Q_BETWEEN, ND_Q_IN, ND_Q_ISNULL, ND_Q_SPATIAL,
    ND_Q_TEMPORAL, ND_Q_BOOL,                                   /* predicates */
    ND_Q_PROP, ND_Q_NUM, ND_Q_STR, ND_Q_TIME, ND_Q_INTERVAL, ND_Q_GEOM, ND_Q_LIST /* values */
} nd_qkind;
typedef enum { ND_CMP_EQ, ND_CMP_NE, ND_CMP_LT, ND_CMP_LE, ND_CMP_GT, ND_CMP_GE } nd_cmp_op;
/* The CQL2 temporal operators, in the order of nd_cql2_temporal_names. */
typedef enum {
    ND_TOP_AFTER, ND_TOP_BEFORE, ND_TOP_CONTAINS, ND_TOP_DISJOINT, ND_TOP_DURING, ND_TOP_EQUALS, ND_TOP_FINISHEDBY,
    ND_TOP_FINISHES, ND_TOP_INTERSECTS, ND_TOP_MEETS, ND_TOP_METBY, ND_TOP_OVERLAPPEDBY, ND_TOP_OVERLAPS,
    ND_TOP_STARTEDBY, ND_TOP_STARTS, ND_TOP_COUNT
} nd_temporal_op;
extern const char *const nd_cql2_temporal_names[ND_TOP_COUNT]; /* "t_after", ... */
extern const char *const nd_cql2_spatial_names[9];              /* [op] = "s_intersects", ...; [0] NULL */

/* A CQL2 expression tree; all memory in the arena it was parsed into. */
typedef struct nd_cql2 {
    nd_qkind kind;
    int op;                  /* nd_cmp_op, nd_spatial_op or nd_temporal_op; negation for LIKE/BETWEEN/IN/ISNULL */
    struct nd_cql2 **args;
    size_t nargs;
    const char *s;           /* property name or string */
    double num;              /* number; 0/1 for booleans */
    bool is_int;
    double t[2];             /* instant (t[0] == t[1]) or interval */
    nd_geom geom;
} nd_cql2;

#define ND_CQL2_MAX_DEPTH 64
#define ND_CQL2_MAX_NODES 10000
#define ND_CQL2_MAX_TEXT (256 * 1024)

nd_cql2 *nd_cql2_node(nd_arena *a, nd_qkind kind, size_t nargs);

/* Parses CQL2-text or CQL2-JSON (the text of a JSON value) into a tree in arena a; errors name "filter". */
int nd_cql2_parse_text(nd_arena *a, const char *text, nd_cql2 **out, nd_error *e);
int nd_cql2_parse_json(nd_arena *a, json_t *j, nd_cql2 **out, nd_error *e);

/* SQL with '?' placeholders and the values bound to them, built from a tree; never from user text. */
typedef enum { ND_B_NULL, ND_B_INT, ND_B_REAL, ND_B_TEXT, ND_B_BLOB } nd_bind_kind;
typedef struct nd_bind {
    nd_bind_kind kind;
    int64_t i;
    double d;
    const void *p;
    size_t len;
} nd_bind;

typedef struct nd_sql {
    nd_arena *arena;
    nd_buf text;
    nd_bind *binds;
    size_t nbinds, cap;
} nd_sql;

void nd_sql_add_text(nd_sql *q, const char *bind_text);
void nd_sql_add_real(nd_sql *q, double d);
void nd_sql_add_int(nd_sql *q, int64_t i);
void nd_sql_add_blob(nd_sql *q, const void *p, size_t len);
void nd_sql_add_null(nd_sql *q);
int nd_sql_bind(const nd_sql *q, sqlite3_stmt *st);
void nd_sql_free(nd_sql *q);
/* The SQL expression (column or json_extract) of a queryable property; NULL when unknown. */
void nd_cat_property_sql(nd_sql *q, const char *name);

/* Appends the WHERE fragment for f; properties are checked against the queryables of collections. */
int nd_cql2_to_sql(nd_cat *c, const nd_cql2 *f, const char *const *collections, size_t ncollections, nd_sql *q,
                   nd_error *e);

/* ---- search ---- */

typedef struct nd_sortkey {
    const char *property;
    bool desc;
} nd_sortkey;

typedef struct nd_search {
    bool has_bbox;
    double bbox[4];
    const nd_geom *intersects;
    bool has_datetime;
    double datetime[2];
    const char *const *ids;
    size_t nids;
    const char *const *collections;
    size_t ncollections;
    int limit;
    const nd_cql2 *filter;
    nd_sortkey sort[ND_CAT_MAX_SORT];
    size_t nsort;
    const char *token;       /* from the previous page, or NULL */
    const char *fingerprint; /* the query without token and limit: a token is valid for this query only */
    bool count;              /* compute numberMatched */
    bool raw;                /* return the stored JSON texts (nd_page.raw) instead of parsed items */
} nd_search;

typedef struct nd_page {
    json_t *items;           /* array of item objects (without links); NULL with nd_search.raw */
    const char **raw;        /* with nd_search.raw: the items' stored JSON texts (arena) */
    const char **raw_id, **raw_collection;
    size_t nraw;
    long long matched;       /* -1 when not counted */
    char *next;              /* token of the next page (arena), NULL at the end */
} nd_page;

int nd_cat_search(nd_cat *c, nd_arena *a, const nd_search *s, nd_page *out, nd_error *e);

/* Signed paging tokens (HMAC-SHA-256 with a secret kept in the catalogue). */
char *nd_cat_token_make(nd_cat *c, nd_arena *a, const char *fingerprint, json_t *state);
json_t *nd_cat_token_check(nd_cat *c, const char *fingerprint, const char *token); /* NULL: refused */

/* ---- ingest ---- */

/* The context an ingest adds to the item: the collection, and for configured datasets the dataset. */
typedef struct nd_ingest_ctx {
    const char *collection;
    const nd_dataset *dataset;   /* NULL for files ingested from the command line */
    size_t file_index;           /* index of the file in dataset->files */
    bool checksum;               /* compute SHA-256 (reads the whole file) */
} nd_ingest_ctx;

/* Builds the STAC item of one file (a new reference) or fails with a reason in e. */
json_t *nd_cat_item_from_file(const char *path, const nd_ingest_ctx *ctx, nd_error *e);
/* SHA-256 of a file as hex; 0 or negative. */
int nd_cat_sha256_file(const char *path, char hex[65]);
/* Ingests paths (files, or directories walked) into collection; progress to stderr when progress.
 * Returns the number of failures; counts in *added / *skipped. */
int nd_cat_ingest_paths(nd_cat *c, const char *collection, char **paths, size_t n, bool progress,
                        size_t *added, size_t *skipped);
/* Valid-data outline of band 1 of a GDAL dataset name, and the outline of a swath file from its 2-D lat/lon
 * arrays: GeoJSON geometries in lon/lat, or NULL. */
json_t *nd_cat_footprint_raster(const char *src, const char *fallback_wkt);
json_t *nd_cat_footprint_swath(const char *path);
/* The collection object of a configured dataset. */
json_t *nd_cat_collection_from_dataset(const nd_dataset *ds);
/* Makes every configured dataset a collection and its files items (unchanged files skipped). Returns -1 when
 * a collection cannot be stored, else the number of files left out (the first reason in err). */
int nd_cat_sync_datasets(nd_cat *c, const nd_registry *reg, char *err, size_t errlen);

/* ---- shared inside server/catalog ---- */
sqlite3 *nd_cat_acquire(nd_cat *c);
void nd_cat_release(nd_cat *c, sqlite3 *db);
const unsigned char *nd_cat_secret(nd_cat *c);

#endif
