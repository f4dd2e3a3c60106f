/* The catalogue's SQLite file: versioned migrations, a connection pool, collections and items in and out. */
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/catalog.h"
#include "nadir/http.h"

#define MAX_CONN 64

struct nd_cat {
    sqlite3 *conn[MAX_CONN];
    bool busy[MAX_CONN];
    int n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned char secret[32];
};

/* Each entry moves the schema one version up; applied in one transaction with user_version. Never edit
 * a released entry: append a new one. */
static const char *const migrations[] = {
    /* 1: collections, items with their time columns, an R*Tree of item boxes (two rows per item when it
     * crosses the antimeridian: id 2*rid and 2*rid+1), the queryables seen. */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB);"
    "CREATE TABLE collections(id TEXT PRIMARY KEY, json TEXT NOT NULL, origin TEXT NOT NULL,"
    "  west REAL, south REAL, east REAL, north REAL, t0 REAL, t1 REAL);"
    "CREATE TABLE items(rid INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  collection TEXT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    "  id TEXT NOT NULL, datetime REAL, start_dt REAL NOT NULL, end_dt REAL NOT NULL, geom BLOB,"
    "  json TEXT NOT NULL, UNIQUE(collection, id));"
    "CREATE INDEX items_datetime ON items(datetime);"
    "CREATE INDEX items_start ON items(start_dt);"
    "CREATE INDEX items_end ON items(end_dt);"
    "CREATE INDEX items_id ON items(id);"
    "CREATE VIRTUAL TABLE items_box USING rtree(id, minx, maxx, miny, maxy, +item INTEGER);"
    "CREATE TABLE queryables(collection TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,"
    "  PRIMARY KEY(collection, name)) WITHOUT ROWID;"
    "CREATE TRIGGER items_gone AFTER DELETE ON items BEGIN"
    "  DELETE FROM items_box WHERE id IN (2 * old.rid, 2 * old.rid + 1); END;",
    /* 2: files ingested, so that re-ingest skips unchanged ones. */
    "CREATE TABLE files(path TEXT PRIMARY KEY, collection TEXT NOT NULL, item TEXT NOT NULL,"
    "  size INTEGER NOT NULL, mtime INTEGER NOT NULL, sha256 TEXT);",
    /* 3: the longest item duration in O(log n), so a datetime interval becomes a range of start_dt:
     * start in [a - longest, b] and end >= a. */
    "CREATE INDEX items_duration ON items((end_dt - start_dt));",
    /* 4: time joins the boxes (a 3-D R*Tree: lon, lat, time), so bbox + datetime is one range query. */
    "CREATE VIRTUAL TABLE items_st USING rtree(id, minx, maxx, miny, maxy, mint, maxt, +item INTEGER);"
    "INSERT INTO items_st(id, minx, maxx, miny, maxy, mint, maxt, item)"
    "  SELECT b.id, b.minx, b.maxx, b.miny, b.maxy, i.start_dt, i.end_dt, b.item"
    "  FROM items_box b JOIN items i ON i.rid = b.item;"
    "DROP TRIGGER items_gone;"
    "DROP TABLE items_box;"
    "CREATE TRIGGER items_gone AFTER DELETE ON items BEGIN"
    "  DELETE FROM items_st WHERE id IN (2 * old.rid, 2 * old.rid + 1); END;",
    /* 5: the items of a collection in rowid order, so paging one collection is a range, not a sort of the
     * whole collection per page (the UNIQUE(collection, id) index is in id order). Files keyed by path and
     * collection, so a file of a configured dataset can also be ingested elsewhere, with served_by: the
     * configured dataset that serves it, whose access points its other items carry. Data assets point to the
     * file through this server, never to a path on it (nd_urlenc is registered on every connection). */
    "CREATE INDEX items_collection ON items(collection);"
    "CREATE TABLE files_v5(path TEXT NOT NULL, collection TEXT NOT NULL, item TEXT NOT NULL,"
    "  size INTEGER NOT NULL, mtime INTEGER NOT NULL, sha256 TEXT, served_by TEXT, PRIMARY KEY(path, collection));"
    "INSERT INTO files_v5(path, collection, item, size, mtime, sha256)"
    "  SELECT path, collection, item, size, mtime, sha256 FROM files;"
    "DROP TABLE files;"
    "ALTER TABLE files_v5 RENAME TO files;"
    "CREATE INDEX files_item ON files(collection, item);"
    "UPDATE items SET json = json_set(json, '$.assets.data.href',"
    "  '/stac/collections/' || nd_urlenc(collection) || '/items/' || nd_urlenc(id) || '/file')"
    "  WHERE rid IN (SELECT i.rid FROM files f JOIN items i ON i.collection = f.collection AND i.id = f.item)"
    "  AND json_extract(json, '$.assets.data.href') LIKE 'file:%';"
    /* the items of configured datasets are made again at the next start (their WMS preview named the dataset,
     * not a layer of it) */
    "DELETE FROM files WHERE collection IN (SELECT id FROM collections WHERE origin = 'config');",
    /* 6: the items of a collection in datetime order, so paging one collection sorted by datetime seeks from
     * the token's position instead of sorting the collection per page. */
    "CREATE INDEX items_collection_start ON items(collection, start_dt);",
};
_Static_assert(sizeof migrations / sizeof migrations[0] == ND_CAT_SCHEMA_VERSION, "one migration per version");

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
    if (err) snprintf(err, errlen, "catalogue: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -1;
}

static int user_version(sqlite3 *db) {
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(sqlite3 *db, char *err, size_t errlen) {
    if (exec(db, "BEGIN IMMEDIATE", err, errlen)) return -1;
    int v = user_version(db);
    if (v > ND_CAT_SCHEMA_VERSION) {
        exec(db, "ROLLBACK", NULL, 0);
        snprintf(err, errlen, "catalogue: schema version %d is newer than this program's %d", v,
                 ND_CAT_SCHEMA_VERSION);
        return -1;
    }
    for (; v < ND_CAT_SCHEMA_VERSION; v++) {
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (exec(db, migrations[v], err, errlen) || exec(db, pragma, err, errlen)) {
            exec(db, "ROLLBACK", NULL, 0);
            return -1;
        }
    }
    return exec(db, "COMMIT", err, errlen);
}

/* The token secret lives in the file so tokens survive a restart and agree between replicas. */
static int load_secret(nd_cat *c, sqlite3 *db, char *err, size_t errlen) {
    unsigned char fresh[32];
    if (RAND_bytes(fresh, sizeof fresh) != 1) {
        snprintf(err, errlen, "catalogue: no random bytes for the token secret");
        return -1;
    }
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO meta(key, value) VALUES('token_secret', ?)", -1, &st, NULL);
    sqlite3_bind_blob(st, 1, fresh, sizeof fresh, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return snprintf(err, errlen, "catalogue: %s", sqlite3_errmsg(db)), -1;
    sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'token_secret'", -1, &st, NULL);
    rc = -1;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        memcpy(c->secret, sqlite3_column_blob(st, 0), 32);
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc) snprintf(err, errlen, "catalogue: bad token secret");
    return rc;
}

static void sql_urlenc(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    nd_buf b = {0};
    nd_buf_put_urlenc(&b, (const char *)sqlite3_value_text(argv[0]));
    sqlite3_result_text(ctx, b.data ? b.data : "", -1, SQLITE_TRANSIENT);
    nd_buf_free(&b);
}

static sqlite3 *open_one(const char *path, char *err, size_t errlen) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "catalogue %s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                 "PRAGMA case_sensitive_like=ON; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456",
             err, errlen)) {
        sqlite3_close(db);
        return NULL;
    }
    nd_geom_register_sql(db);
    sqlite3_create_function(db, "nd_urlenc", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_urlenc, NULL, NULL);
    return db;
}

int nd_cat_open(const char *path, int nconn, nd_cat **out, char *err, size_t errlen) {
    *out = NULL;
    if (nconn < 1) nconn = 1;
    if (nconn > MAX_CONN) nconn = MAX_CONN;
    nd_cat *c = nd_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->conn[0] = open_one(path, err, errlen);
    if (!c->conn[0] || migrate(c->conn[0], err, errlen) || load_secret(c, c->conn[0], err, errlen)) {
        nd_cat_close(c);
        return -1;
    }
    /* planner statistics from a sample, so large catalogues keep the R*Tree and rowid-order plans */
    exec(c->conn[0], "PRAGMA analysis_limit=1000; PRAGMA optimize", NULL, 0);
    c->n = 1;
    for (; c->n < nconn; c->n++)
        if (!(c->conn[c->n] = open_one(path, err, errlen))) {
            nd_cat_close(c);
            return -1;
        }
    *out = c;
    return 0;
}

void nd_cat_close(nd_cat *c) {
    if (!c) return;
    for (int i = 0; i < MAX_CONN; i++) sqlite3_close(c->conn[i]);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

sqlite3 *nd_cat_acquire(nd_cat *c) {
    pthread_mutex_lock(&c->mu);
    for (;;) {
        for (int i = 0; i < c->n; i++)
            if (!c->busy[i]) {
                c->busy[i] = true;
                pthread_mutex_unlock(&c->mu);
                return c->conn[i];
            }
        pthread_cond_wait(&c->cv, &c->mu);
    }
}

void nd_cat_release(nd_cat *c, sqlite3 *db) {
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->n; i++)
        if (c->conn[i] == db) c->busy[i] = false;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

const unsigned char *nd_cat_secret(nd_cat *c) { return c->secret; }

int nd_cat_schema_version(nd_cat *c) {
    sqlite3 *db = nd_cat_acquire(c);
    int v = user_version(db);
    nd_cat_release(c, db);
    return v;
}

static int db_fail(nd_error *e, sqlite3 *db) {
    return nd_fail(e, ND_E_INTERNAL, "", "catalogue: %s", sqlite3_errmsg(db));
}

/* ---------------------------------------------------------------- collections */

static void extent_of(json_t *coll, double box[4], double t[2]) {
    box[0] = -180, box[1] = -90, box[2] = 180, box[3] = 90;
    t[0] = ND_T_MIN, t[1] = ND_T_MAX;
    json_t *b = json_array_get(json_object_get(json_object_get(json_object_get(coll, "extent"), "spatial"), "bbox"), 0);
    if (json_array_size(b) == 4)
        for (int i = 0; i < 4; i++) box[i] = json_number_value(json_array_get(b, (size_t)i));
    json_t *iv = json_array_get(
        json_object_get(json_object_get(json_object_get(coll, "extent"), "temporal"), "interval"), 0);
    for (int i = 0; i < 2; i++) {
        const char *s = json_string_value(json_array_get(iv, (size_t)i));
        if (s) nd_cat_time_parse(s, true, &t[i]);
    }
}

int nd_cat_put_collection(nd_cat *c, json_t *coll, nd_put_mode mode, const char *origin, nd_error *e) {
    const char *id = json_string_value(json_object_get(coll, "id"));
    if (!id || !*id || strlen(id) > 256) return nd_fail(e, ND_E_INVALID_PARAM, "id", "A collection needs a string id");
    if (!json_is_string(json_object_get(coll, "description")))
        return nd_fail(e, ND_E_INVALID_PARAM, "description", "A collection needs a description");
    if (!json_is_object(json_object_get(coll, "extent")))
        return nd_fail(e, ND_E_INVALID_PARAM, "extent", "A collection needs an extent");
    json_t *copy = json_deep_copy(coll);
    json_object_del(copy, "links");
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    double box[4], t[2];
    extent_of(coll, box, t);
    const char *sql =
        mode == ND_PUT_CREATE
            ? "INSERT INTO collections(id, json, origin, west, south, east, north, t0, t1) VALUES(?,?,?,?,?,?,?,?,?)"
        : mode == ND_PUT_REPLACE
            ? "UPDATE collections SET json=?2, origin=?3, west=?4, south=?5, east=?6, north=?7, t0=?8, t1=?9 "
              "WHERE id=?1"
            : "INSERT INTO collections(id, json, origin, west, south, east, north, t0, t1) VALUES(?,?,?,?,?,?,?,?,?) "
              "ON CONFLICT(id) DO UPDATE SET json=excluded.json, origin=excluded.origin, west=excluded.west, "
              "south=excluded.south, east=excluded.east, north=excluded.north, t0=excluded.t0, t1=excluded.t1";
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(e, db);
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, origin, -1, SQLITE_STATIC);
        for (int i = 0; i < 4; i++) sqlite3_bind_double(st, 4 + i, box[i]);
        sqlite3_bind_double(st, 8, t[0]);
        sqlite3_bind_double(st, 9, t[1]);
        int s = sqlite3_step(st);
        if (s == SQLITE_CONSTRAINT)
            rc = nd_fail(e, ND_E_BAD_REQUEST, "id", "A collection with this id exists already");
        else if (s != SQLITE_DONE) rc = db_fail(e, db);
        else if (mode == ND_PUT_REPLACE && sqlite3_changes(db) == 0)
            rc = nd_fail(e, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    free(text);
    return rc;
}

static json_t *load_json(const unsigned char *text) {
    return text ? json_loads((const char *)text, 0, NULL) : NULL;
}

json_t *nd_cat_get_collection(nd_cat *c, const char *id) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT json FROM collections WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) out = load_json(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return out;
}

json_t *nd_cat_list_collections(nd_cat *c, const char *q, const double *bbox, const double *interval) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    json_t *out = json_array();
    /* A box crossing the antimeridian (west > east) matches on either side. */
    const char *sql = "SELECT json FROM collections WHERE (?1 IS NULL OR (south <= ?4 AND north >= ?2 AND "
                      "(CASE WHEN ?1 <= ?3 THEN west <= ?3 AND east >= ?1 ELSE east >= ?1 OR west <= ?3 END))) "
                      "AND (?5 IS NULL OR (t0 <= ?6 AND t1 >= ?5)) "
                      "AND (?7 IS NULL OR instr(lower(json_extract(json, '$.id') || ' ' || "
                      "ifnull(json_extract(json, '$.title'), '') || ' ' || ifnull(json_extract(json, '$.description'), '')"
                      " || ' ' || ifnull(json_extract(json, '$.keywords'), '')), lower(?7)) > 0) ORDER BY id";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (bbox)
            for (int i = 0; i < 4; i++) sqlite3_bind_double(st, 1 + i, bbox[i]);
        if (interval) {
            sqlite3_bind_double(st, 5, interval[0]);
            sqlite3_bind_double(st, 6, interval[1]);
        }
        if (q) sqlite3_bind_text(st, 7, q, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
            json_t *j = load_json(sqlite3_column_text(st, 0));
            if (j) json_array_append_new(out, j);
        }
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return out;
}

static int run_delete(nd_cat *c, const char *sql, const char *a, const char *b, const char *what, nd_error *e) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(e, db);
    } else {
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
        if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) rc = db_fail(e, db);
        else if (sqlite3_changes(db) == 0) rc = nd_fail(e, ND_E_NOT_FOUND, what, "No such %s", what);
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return rc;
}

int nd_cat_delete_collection(nd_cat *c, const char *id, nd_error *e) {
    int rc = run_delete(c, "DELETE FROM collections WHERE id = ?", id, NULL, "collectionId", e);
    if (rc == 0) {
        sqlite3 *db = nd_cat_acquire(c);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "DELETE FROM queryables WHERE collection = ?", -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        nd_cat_release(c, db);
    }
    return rc;
}

int nd_cat_delete_item(nd_cat *c, const char *collection, const char *id, nd_error *e) {
    return run_delete(c, "DELETE FROM items WHERE collection = ? AND id = ?", collection, id, "itemId", e);
}

json_t *nd_cat_get_item(nd_cat *c, const char *collection, const char *id) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    json_t *out = NULL;
    if (sqlite3_prepare_v2(db, "SELECT json FROM items WHERE collection = ? AND id = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, collection, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) out = load_json(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return out;
}

/* ---------------------------------------------------------------- items */

typedef struct item_row {
    const char *id;
    double datetime, start, end;
    bool has_datetime;
    nd_geom geom;
} item_row;

static int check_item(nd_arena *a, json_t *it, const char *collection, item_row *r, nd_error *e) {
    if (!json_is_object(it)) return nd_fail(e, ND_E_INVALID_PARAM, "item", "An item must be a JSON object");
    const char *type = json_string_value(json_object_get(it, "type"));
    if (!type || strcmp(type, "Feature"))
        return nd_fail(e, ND_E_INVALID_PARAM, "type", "An item must have \"type\": \"Feature\"");
    r->id = json_string_value(json_object_get(it, "id"));
    if (!r->id || !*r->id || strlen(r->id) > 256)
        return nd_fail(e, ND_E_INVALID_PARAM, "id", "An item needs a string id of 1 to 256 characters");
    json_t *props = json_object_get(it, "properties");
    if (!json_is_object(props)) return nd_fail(e, ND_E_INVALID_PARAM, "properties", "An item needs properties");
    json_t *dt = json_object_get(props, "datetime");
    const char *s0 = json_string_value(json_object_get(props, "start_datetime"));
    const char *s1 = json_string_value(json_object_get(props, "end_datetime"));
    r->has_datetime = json_is_string(dt);
    if (r->has_datetime) {
        if (nd_cat_time_parse(json_string_value(dt), false, &r->datetime))
            return nd_fail(e, ND_E_INVALID_PARAM, "properties.datetime", "Not an RFC 3339 date-time");
        r->start = r->end = r->datetime;
    } else if (!json_is_null(dt) || !s0 || !s1) {
        return nd_fail(e, ND_E_INVALID_PARAM, "properties.datetime",
                       "An item needs a datetime, or datetime null with start_datetime and end_datetime");
    }
    if (s0 && s1) {
        if (nd_cat_time_parse(s0, false, &r->start) || nd_cat_time_parse(s1, false, &r->end) || r->start > r->end)
            return nd_fail(e, ND_E_INVALID_PARAM, "properties.start_datetime",
                           "start_datetime and end_datetime must be RFC 3339 date-times, start before end");
    }
    json_t *g = json_object_get(it, "geometry");
    char why[200];
    if (!json_is_object(g) || nd_geom_from_geojson(a, g, &r->geom, why, sizeof why))
        return nd_fail(e, ND_E_INVALID_PARAM, "geometry", "Invalid geometry: %s",
                       json_is_object(g) ? why : "missing");
    if (r->geom.wrapped) { /* stored and served the RFC 7946 way, cut at the antimeridian */
        json_t *cut = nd_geom_to_geojson(&r->geom);
        if (cut) json_object_set_new(it, "geometry", cut);
        json_object_del(it, "bbox");
    }
    const char *coll = json_string_value(json_object_get(it, "collection"));
    if (coll && strcmp(coll, collection))
        return nd_fail(e, ND_E_INVALID_PARAM, "collection", "The item's collection differs from the path's");
    /* bbox follows the geometry when the item has none */
    if (!json_is_array(json_object_get(it, "bbox"))) {
        double w = r->geom.box[0][0], s = r->geom.box[0][1], E = r->geom.box[0][2], n = r->geom.box[0][3];
        if (r->geom.nbox == 2) {
            w = r->geom.box[1][0]; /* the eastern part starts the box: west > east */
            E = r->geom.box[0][2];
            s = s < r->geom.box[1][1] ? s : r->geom.box[1][1];
            n = n > r->geom.box[1][3] ? n : r->geom.box[1][3];
        }
        json_object_set_new(it, "bbox", json_pack("[f,f,f,f]", w, s, E, n));
    }
    return 0;
}

static const char *json_type_name(json_t *v) {
    return json_is_string(v) ? "string" : json_is_integer(v) ? "integer" : json_is_number(v) ? "number"
           : json_is_boolean(v) ? "boolean" : json_is_array(v) ? "array" : "object";
}

int nd_cat_put_items(nd_cat *c, const char *collection, json_t *const *items, size_t n, nd_put_mode mode,
                     nd_error *e) {
    sqlite3 *db = nd_cat_acquire(c);
    nd_arena *a = nd_arena_new(64 * 1024);
    json_t *seen = json_object();
    sqlite3_stmt *ins = NULL, *box = NULL, *qry = NULL, *coll = NULL, *del = NULL;
    int rc = 0;
    const char *sql = mode == ND_PUT_CREATE
                          ? "INSERT INTO items(collection, id, datetime, start_dt, end_dt, geom, json) "
                            "VALUES(?,?,?,?,?,?,?) RETURNING rid"
                      : mode == ND_PUT_REPLACE
                          ? "UPDATE items SET datetime=?3, start_dt=?4, end_dt=?5, geom=?6, json=?7 "
                            "WHERE collection=?1 AND id=?2 RETURNING rid"
                          : "INSERT INTO items(collection, id, datetime, start_dt, end_dt, geom, json) "
                            "VALUES(?,?,?,?,?,?,?) ON CONFLICT(collection, id) DO UPDATE SET "
                            "datetime=excluded.datetime, start_dt=excluded.start_dt, end_dt=excluded.end_dt, "
                            "geom=excluded.geom, json=excluded.json RETURNING rid";
    if (exec(db, "BEGIN IMMEDIATE", NULL, 0) ||
        sqlite3_prepare_v2(db, sql, -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO items_st(id, minx, maxx, miny, maxy, mint, maxt, item) "
                               "VALUES(?,?,?,?,?,?,?,?)",
                           -1, &box, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO queryables(collection, name, type) VALUES(?,?,?)", -1, &qry,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT 1 FROM collections WHERE id = ?", -1, &coll, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "DELETE FROM items_st WHERE id = ?", -1, &del, NULL) != SQLITE_OK) {
        rc = db_fail(e, db);
        goto done;
    }
    sqlite3_bind_text(coll, 1, collection, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(coll) != SQLITE_ROW) {
        rc = nd_fail(e, ND_E_NOT_FOUND, "collectionId", "No collection with this id");
        goto done;
    }
    for (size_t k = 0; k < n && rc == 0; k++) {
        item_row r = {0};
        json_t *it = items[k];
        if ((rc = check_item(a, it, collection, &r, e))) break;
        json_object_set_new(it, "collection", json_string(collection));
        if (!json_is_string(json_object_get(it, "stac_version")))
            json_object_set_new(it, "stac_version", json_string("1.0.0"));
        if (!json_is_object(json_object_get(it, "assets"))) json_object_set_new(it, "assets", json_object());
        json_object_del(it, "links");
        char *text = json_dumps(it, JSON_COMPACT);
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, collection, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, r.id, -1, SQLITE_TRANSIENT);
        if (r.has_datetime) sqlite3_bind_double(ins, 3, r.datetime);
        else sqlite3_bind_null(ins, 3);
        sqlite3_bind_double(ins, 4, r.start);
        sqlite3_bind_double(ins, 5, r.end);
        sqlite3_bind_blob(ins, 6, r.geom.wkb, (int)r.geom.wkb_len, SQLITE_STATIC);
        sqlite3_bind_text(ins, 7, text, -1, free);
        int s = sqlite3_step(ins);
        if (s == SQLITE_CONSTRAINT) {
            rc = nd_fail(e, ND_E_BAD_REQUEST, "id", "An item with this id exists already in the collection");
            break;
        }
        if (s == SQLITE_DONE && mode == ND_PUT_REPLACE) {
            rc = nd_fail(e, ND_E_NOT_FOUND, "itemId", "No item with this id");
            break;
        }
        if (s != SQLITE_ROW) {
            rc = db_fail(e, db);
            break;
        }
        sqlite3_int64 rid = sqlite3_column_int64(ins, 0);
        sqlite3_step(ins);
        for (int b = 0; b < 2; b++) {
            sqlite3_reset(box);
            const double *bx = r.geom.box[b < r.geom.nbox ? b : 0];
            sqlite3_bind_int64(box, 1, 2 * rid + b);
            sqlite3_bind_double(box, 2, bx[0]);
            sqlite3_bind_double(box, 3, bx[2]);
            sqlite3_bind_double(box, 4, bx[1]);
            sqlite3_bind_double(box, 5, bx[3]);
            sqlite3_bind_double(box, 6, r.start);
            sqlite3_bind_double(box, 7, r.end);
            sqlite3_bind_int64(box, 8, rid);
            if (b >= r.geom.nbox) { /* a former second box of this rid goes (none when just created) */
                if (mode != ND_PUT_CREATE) {
                    sqlite3_reset(del);
                    sqlite3_bind_int64(del, 1, 2 * rid + 1);
                    sqlite3_step(del);
                }
                continue;
            }
            if (sqlite3_step(box) != SQLITE_DONE) {
                rc = db_fail(e, db);
                break;
            }
        }
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(it, "properties"), key, v) {
            if (json_is_null(v) || json_object_get(seen, key)) continue; /* once per batch is enough */
            json_object_set_new(seen, key, json_true());
            sqlite3_reset(qry);
            sqlite3_bind_text(qry, 1, collection, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(qry, 2, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(qry, 3, json_type_name(v), -1, SQLITE_STATIC);
            sqlite3_step(qry);
        }
    }
done:
    sqlite3_finalize(ins);
    sqlite3_finalize(box);
    sqlite3_finalize(qry);
    sqlite3_finalize(coll);
    sqlite3_finalize(del);
    /* a COMMIT can fail (full disk, I/O error): then nothing was stored, and the caller must not say 201 */
    if (exec(db, rc ? "ROLLBACK" : "COMMIT", NULL, 0) && rc == 0) {
        rc = db_fail(e, db);
        exec(db, "ROLLBACK", NULL, 0); /* no transaction may stay open on a pooled connection */
    }
    /* a large load changes what the planner should do: refresh its statistics from a sample */
    if (rc == 0 && n >= 1000) exec(db, "PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002", NULL, 0);
    nd_cat_release(c, db);
    nd_arena_free(a);
    json_decref(seen);
    return rc;
}

/* ---------------------------------------------------------------- queryables */

/* Item fields that are always queryable, beside the properties seen. */
static const char *const core_queryables[][2] = {
    {"id", "string"}, {"collection", "string"}, {"datetime", "string"}, {"start_datetime", "string"},
    {"end_datetime", "string"}, {"geometry", "geometry"},
};

json_t *nd_cat_queryables(nd_cat *c, const char *collection) {
    json_t *props = json_object();
    for (size_t i = 0; i < sizeof core_queryables / sizeof core_queryables[0]; i++) {
        const char *name = core_queryables[i][0], *type = core_queryables[i][1];
        json_t *p = !strcmp(type, "geometry")
                        ? json_pack("{s:s}", "$ref", "https://geojson.org/schema/Geometry.json")
                        : json_pack("{s:s}", "type", type);
        if (strstr(name, "datetime")) json_object_set_new(p, "format", json_string("date-time"));
        json_object_set_new(props, name, p);
    }
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT name, min(type) FROM queryables WHERE ?1 IS NULL OR collection = ?1 GROUP BY name",
                           -1, &st, NULL) == SQLITE_OK) {
        if (collection) sqlite3_bind_text(st, 1, collection, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            if (json_object_get(props, name)) continue;
            json_object_set_new(props, name, json_pack("{s:s}", "type", (const char *)sqlite3_column_text(st, 1)));
        }
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return props;
}

bool nd_cat_is_queryable(nd_cat *c, const char *const *collections, size_t ncollections, const char *name) {
    for (size_t i = 0; i < sizeof core_queryables / sizeof core_queryables[0]; i++)
        if (!strcmp(name, core_queryables[i][0])) return true;
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(db, "SELECT collection FROM queryables WHERE name = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        while (!found && sqlite3_step(st) == SQLITE_ROW) {
            if (!ncollections) found = true;
            for (size_t i = 0; i < ncollections && !found; i++)
                found = !strcmp((const char *)sqlite3_column_text(st, 0), collections[i]);
        }
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return found;
}

/* ---------------------------------------------------------------- files */

bool nd_cat_file_unchanged(nd_cat *c, const char *path, const char *collection, int64_t size, int64_t mtime) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    bool same = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM files f JOIN items i ON i.collection = f.collection AND i.id = f.item "
                               "WHERE f.path = ? AND f.collection = ? AND f.size = ? AND f.mtime = ?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, collection, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, size);
        sqlite3_bind_int64(st, 4, mtime);
        same = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return same;
}

int nd_cat_file_record(nd_cat *c, const char *path, const char *collection, const char *item, int64_t size,
                       int64_t mtime, const char *sha256) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    int rc = -1;
    if (sqlite3_prepare_v2(db, "INSERT INTO files(path, collection, item, size, mtime, sha256) VALUES(?,?,?,?,?,?) "
                               "ON CONFLICT(path, collection) DO UPDATE SET item = excluded.item, size = excluded.size, "
                               "mtime = excluded.mtime, sha256 = excluded.sha256",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, collection, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, item, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, size);
        sqlite3_bind_int64(st, 5, mtime);
        if (sha256) sqlite3_bind_text(st, 6, sha256, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return rc;
}

char *nd_cat_file_path(nd_cat *c, const char *collection, const char *item) {
    sqlite3 *db = nd_cat_acquire(c);
    sqlite3_stmt *st;
    char *path = NULL;
    if (sqlite3_prepare_v2(db, "SELECT path FROM files WHERE collection = ? AND item = ? ORDER BY mtime DESC LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, collection, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, item, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW) path = nd_xstrdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    nd_cat_release(c, db);
    return path;
}
