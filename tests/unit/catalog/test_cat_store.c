/* The catalogue file: migrations from an older schema, items in and out, search with keyset paging tokens. */
#include <sqlite3.h>

#include "nadir/catalog.h"
#include "test.h"

static const char *db_path(const char *name) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", nd_test_tmp_dir(), name);
    return path;
}

ND_TEST(migrates_from_version_1) {
    /* a file left by a release at schema version 1: no files table yet */
    const char *path = db_path("v1.db");
    sqlite3 *db;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB);"
                               "CREATE TABLE collections(id TEXT PRIMARY KEY, json TEXT NOT NULL, origin TEXT NOT NULL,"
                               " west REAL, south REAL, east REAL, north REAL, t0 REAL, t1 REAL);"
                               "INSERT INTO collections VALUES('old', '{\"id\":\"old\"}', 'api', 0,0,1,1,0,1);"
                               "CREATE TABLE items(rid INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL,"
                               " id TEXT NOT NULL, datetime REAL, start_dt REAL NOT NULL, end_dt REAL NOT NULL, geom BLOB,"
                               " json TEXT NOT NULL, UNIQUE(collection, id));"
                               "CREATE VIRTUAL TABLE items_box USING rtree(id, minx, maxx, miny, maxy, +item INTEGER);"
                               "CREATE TABLE queryables(collection TEXT, name TEXT, type TEXT, PRIMARY KEY(collection, name));"
                               "CREATE TRIGGER items_gone AFTER DELETE ON items BEGIN"
                               "  DELETE FROM items_box WHERE id IN (2 * old.rid, 2 * old.rid + 1); END;"
                               /* one item at lon 10..11, lat 20..21, 2024-01-01T00:00:00Z, geometry as WKB */
                               "INSERT INTO items VALUES(1, 'old', 'kept', 1704067200, 1704067200, 1704067200,"
                               " X'01030000000100000005000000000000000000264000000000000034400000000000002640000000"
                               "00000035400000000000002440000000000000354000000000000024400000000000003440000000"
                               "00000026400000000000003440', '{\"type\":\"Feature\",\"id\":\"kept\"}');"
                               "INSERT INTO items_box VALUES(2, 10, 11, 20, 21, 1);"
                               "PRAGMA user_version = 1;",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    nd_cat *c;
    char err[256];
    CHECK_INT(nd_cat_open(path, 2, &c, err, sizeof err), 0);
    CHECK_INT(nd_cat_schema_version(c), ND_CAT_SCHEMA_VERSION);
    json_t *old = nd_cat_get_collection(c, "old");
    CHECK(old != NULL);
    json_decref(old);
    CHECK_INT(nd_cat_file_record(c, "/x.tif", "old", "x", 10, 20, NULL), 0); /* the table of version 2 */
    /* the item's box moved into the space-time R*Tree of version 4: bbox + datetime still finds it */
    nd_arena *a = nd_arena_new(0);
    nd_search s = {.has_bbox = true, .bbox = {10.5, 20.5, 12, 22}, .has_datetime = true,
                   .datetime = {1704067000, 1704067300}, .fingerprint = "m", .count = true};
    nd_page p;
    nd_error e = {0};
    CHECK_INT(nd_cat_search(c, a, &s, &p, &e), 0);
    CHECK_INT(json_array_size(p.items), 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(p.items, 0), "id")), "kept");
    json_decref(p.items);
    s.datetime[0] = 1704067300; /* after it */
    s.datetime[1] = 1704068000;
    CHECK_INT(nd_cat_search(c, a, &s, &p, &e), 0);
    CHECK_INT(json_array_size(p.items), 0);
    json_decref(p.items);
    CHECK_INT(nd_cat_delete_item(c, "old", "kept", &e), 0); /* the trigger of version 4 takes its box along */
    sqlite3 *db4 = nd_cat_acquire(c);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db4, "SELECT count(*) FROM items_st", -1, &st, NULL);
    CHECK_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_INT(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    nd_cat_release(c, db4);
    nd_arena_free(a);
    nd_cat_close(c);
    /* reopening is a no-op; a newer file is refused */
    CHECK_INT(nd_cat_open(path, 1, &c, err, sizeof err), 0);
    nd_cat_close(c);
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    CHECK(nd_cat_open(path, 1, &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "newer");
}

ND_TEST(migrates_file_hrefs_from_version_2) {
    /* a release at version 2 served the data file as a file:// URL of the server's disk: version 5 points it at
     * GET .../file and keys files by path and collection (one file may be in two collections) */
    const char *path = db_path("v2.db");
    sqlite3 *db;
    CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_INT(sqlite3_exec(db, "CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB);"
                               "CREATE TABLE collections(id TEXT PRIMARY KEY, json TEXT NOT NULL, origin TEXT NOT NULL,"
                               " west REAL, south REAL, east REAL, north REAL, t0 REAL, t1 REAL);"
                               "INSERT INTO collections VALUES('g', '{\"id\":\"g\"}', 'ingest', 0,0,1,1,0,1);"
                               "CREATE TABLE items(rid INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL,"
                               " id TEXT NOT NULL, datetime REAL, start_dt REAL NOT NULL, end_dt REAL NOT NULL, geom BLOB,"
                               " json TEXT NOT NULL, UNIQUE(collection, id));"
                               "CREATE INDEX items_start ON items(start_dt);"
                               "CREATE INDEX items_end ON items(end_dt);"
                               "CREATE VIRTUAL TABLE items_box USING rtree(id, minx, maxx, miny, maxy, +item INTEGER);"
                               "CREATE TABLE queryables(collection TEXT, name TEXT, type TEXT, PRIMARY KEY(collection, name));"
                               "CREATE TRIGGER items_gone AFTER DELETE ON items BEGIN"
                               "  DELETE FROM items_box WHERE id IN (2 * old.rid, 2 * old.rid + 1); END;"
                               "CREATE TABLE files(path TEXT PRIMARY KEY, collection TEXT NOT NULL, item TEXT NOT NULL,"
                               "  size INTEGER NOT NULL, mtime INTEGER NOT NULL, sha256 TEXT);"
                               "INSERT INTO items VALUES(1, 'g', 'a b', 0, 0, 0, NULL, '{\"type\":\"Feature\",\"id\":\"a b\","
                               " \"assets\":{\"data\":{\"href\":\"file:///srv/data/a b.tif\"}}}');"
                               "INSERT INTO items VALUES(2, 'g', 'posted', 0, 0, 0, NULL, '{\"type\":\"Feature\",\"id\":\"posted\","
                               " \"assets\":{\"data\":{\"href\":\"https://example.com/x.tif\"}}}');"
                               "INSERT INTO files VALUES('/srv/data/a b.tif', 'g', 'a b', 1, 2, NULL);"
                               "PRAGMA user_version = 2;",
                           NULL, NULL, NULL),
              SQLITE_OK);
    sqlite3_close(db);
    nd_cat *c;
    char err[256];
    CHECK_INT(nd_cat_open(path, 1, &c, err, sizeof err), 0);
    CHECK_INT(nd_cat_schema_version(c), ND_CAT_SCHEMA_VERSION);
    json_t *it = nd_cat_get_item(c, "g", "a b");
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(it, "assets"), "data"), "href")),
              "/stac/collections/g/items/a%20b/file");
    json_decref(it);
    it = nd_cat_get_item(c, "g", "posted"); /* not an ingested file: as it was given */
    CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(it, "assets"), "data"), "href")),
              "https://example.com/x.tif");
    json_decref(it);
    char *file = nd_cat_file_path(c, "g", "a b");
    CHECK_STR(file, "/srv/data/a b.tif");
    free(file);
    CHECK(nd_cat_file_path(c, "g", "posted") == NULL);
    /* the same file in a second collection is a second record, the first one kept */
    CHECK_INT(nd_cat_file_record(c, "/srv/data/a b.tif", "h", "a b", 1, 2, NULL), 0);
    CHECK(nd_cat_file_unchanged(c, "/srv/data/a b.tif", "g", 1, 2));
    CHECK(!nd_cat_file_unchanged(c, "/srv/data/a b.tif", "g", 1, 3));
    CHECK(!nd_cat_file_unchanged(c, "/srv/data/a b.tif", "h", 1, 2)); /* no item "a b" in h */
    /* paging one collection walks its index in rowid order: no sort of the whole collection per page */
    sqlite3 *conn = nd_cat_acquire(c);
    sqlite3_stmt *st;
    CHECK_INT(sqlite3_prepare_v2(conn, "EXPLAIN QUERY PLAN SELECT rid FROM items i WHERE i.collection IN ('g') "
                                       "AND i.rid > 0 ORDER BY i.rid LIMIT 10",
                                 -1, &st, NULL),
              SQLITE_OK);
    nd_buf plan = {0};
    while (sqlite3_step(st) == SQLITE_ROW) nd_buf_printf(&plan, "%s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    nd_cat_release(c, conn);
    CHECK_CONTAINS(plan.data, "items_collection");
    CHECK(strstr(plan.data, "TEMP B-TREE") == NULL);
    nd_buf_free(&plan);
    nd_cat_close(c);
}

static nd_cat *filled(int n) {
    nd_cat *c;
    char err[256];
    if (nd_cat_open(db_path("fill.db"), 2, &c, err, sizeof err)) ND_FAIL_AT("%s", err);
    nd_error e = {0};
    json_t *coll = json_loads("{\"id\":\"c\",\"description\":\"d\",\"extent\":{}}", 0, NULL);
    CHECK_INT(nd_cat_put_collection(c, coll, ND_PUT_CREATE, "api", &e), 0);
    json_decref(coll);
    json_t **items = calloc((size_t)n, sizeof *items);
    for (int i = 0; i < n; i++)
        items[i] = json_pack("{s:s, s:s, s:{s:s, s:[f,f]}, s:{s:s, s:i}}", "type", "Feature", "id", "x", "geometry", "type", "Point", "coordinates",
                             (double)(i % 360) - 179.5, 0.0, "properties", "datetime", "2024-01-01T00:00:00Z", "n", i % 5);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "i%04d", i);
        json_object_set_new(items[i], "id", json_string(id));
    }
    CHECK_INT(nd_cat_put_items(c, "c", items, (size_t)n, ND_PUT_CREATE, &e), 0);
    for (int i = 0; i < n; i++) json_decref(items[i]);
    free(items);
    return c;
}

/* Pages through a search; returns the number of items seen, checking ids are unique and in order. */
static int page_all(nd_cat *c, nd_search *s) {
    int seen = 0;
    char last[16] = "";
    const char *token = NULL;
    nd_arena *keep = nd_arena_new(0);
    for (int pages = 0; pages < 1000; pages++) {
        nd_arena *a = nd_arena_new(0);
        nd_page p;
        nd_error e = {0};
        s->token = token;
        if (nd_cat_search(c, a, s, &p, &e)) ND_FAIL_AT("search: %s", e.detail);
        size_t i;
        json_t *it;
        json_array_foreach(p.items, i, it) {
            const char *id = json_string_value(json_object_get(it, "id"));
            if (!s->nsort) CHECK(strcmp(id, last) > 0); /* insertion order here is id order */
            snprintf(last, sizeof last, "%s", id);
            seen++;
        }
        json_decref(p.items);
        token = p.next ? nd_arena_strdup(keep, p.next) : NULL;
        nd_arena_free(a);
        if (!token) break;
    }
    nd_arena_free(keep);
    return seen;
}

ND_TEST(search_pages_through_everything) {
    nd_cat *c = filled(500);
    nd_search s = {.limit = 7, .fingerprint = "q1"};
    CHECK_INT(page_all(c, &s), 500);
    s.has_bbox = true;
    double bb[4] = {170, -1, -170, 1}; /* across the antimeridian: x = 170.5 .. 179.5 and -179.5 .. -170.5 */
    memcpy(s.bbox, bb, sizeof bb);
    s.limit = 3;
    int want = 0;
    for (int i = 0; i < 500; i++) {
        double x = (double)(i % 360) - 179.5;
        want += x >= 170 || x <= -170;
    }
    CHECK_INT(page_all(c, &s), want);
    nd_search sorted = {.limit = 11, .fingerprint = "q2", .nsort = 2};
    sorted.sort[0] = (nd_sortkey){"n", true};
    sorted.sort[1] = (nd_sortkey){"id", false};
    CHECK_INT(page_all(c, &sorted), 500);
    /* by datetime both ways: every item has the same one, so each page starts inside a run of equal keys
     * (the bound on the first key alone must keep them) */
    for (int desc = 0; desc < 2; desc++) {
        nd_search by_time = {.limit = 13, .fingerprint = "q3", .nsort = 1, .ncollections = 1,
                             .collections = (const char *const[]){"c"}};
        by_time.sort[0] = (nd_sortkey){"datetime", desc};
        CHECK_INT(page_all(c, &by_time), 500);
    }
    nd_cat_close(c);
}

ND_TEST(tokens_are_signed_and_bound_to_the_query) {
    nd_cat *c = filled(20);
    nd_arena *a = nd_arena_new(0);
    nd_search s = {.limit = 5, .fingerprint = "query-A", .count = true};
    nd_page p;
    nd_error e = {0};
    CHECK_INT(nd_cat_search(c, a, &s, &p, &e), 0);
    CHECK_INT(p.matched, 20);
    CHECK(p.next != NULL);
    json_decref(p.items);
    json_t *state = nd_cat_token_check(c, "query-A", p.next);
    CHECK(state != NULL);
    CHECK_INT(json_integer_value(json_object_get(state, "r")), 5);
    json_decref(state);
    CHECK(nd_cat_token_check(c, "query-B", p.next) == NULL);
    /* one changed character anywhere is refused */
    char *t = nd_arena_strdup(a, p.next);
    for (size_t i = 0; t[i]; i++) {
        char saved = t[i];
        t[i] = saved == 'A' ? 'B' : 'A';
        CHECK(nd_cat_token_check(c, "query-A", t) == NULL);
        t[i] = saved;
    }
    /* a token re-signed with another secret (another catalogue) is refused */
    json_t *forged = json_pack("{s:[], s:I}", "k", "r", (json_int_t)0);
    nd_cat *other;
    char err[256];
    CHECK_INT(nd_cat_open(db_path("other.db"), 1, &other, err, sizeof err), 0);
    const char *ft = nd_cat_token_make(other, a, "query-A", forged);
    json_decref(forged);
    CHECK(nd_cat_token_check(c, "query-A", ft) == NULL);
    s.token = ft;
    CHECK(nd_cat_search(c, a, &s, &p, &e) < 0);
    CHECK_STR(e.locator, "token");
    CHECK(nd_cat_token_check(c, "query-A", "") == NULL);
    CHECK(nd_cat_token_check(c, "query-A", "...") == NULL);
    nd_cat_close(other);
    nd_arena_free(a);
    nd_cat_close(c);
}

ND_TEST(items_validated_and_replaced) {
    nd_cat *c = filled(3);
    nd_error e = {0};
    json_t *bad = json_loads("{\"type\":\"Feature\",\"id\":\"b\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[0,95]},"
                             "\"properties\":{\"datetime\":\"2024-01-01T00:00:00Z\"}}", 0, NULL);
    CHECK(nd_cat_put_items(c, "c", &bad, 1, ND_PUT_CREATE, &e) < 0);
    CHECK_STR(e.locator, "geometry");
    json_decref(bad);
    json_t *it = nd_cat_get_item(c, "c", "i0001");
    CHECK(it != NULL);
    json_object_set_new(json_object_get(it, "properties"), "n", json_integer(42));
    CHECK_INT(nd_cat_put_items(c, "c", &it, 1, ND_PUT_REPLACE, &e), 0);
    json_decref(it);
    it = nd_cat_get_item(c, "c", "i0001");
    CHECK_INT(json_integer_value(json_object_get(json_object_get(it, "properties"), "n")), 42);
    json_decref(it);
    CHECK_INT(nd_cat_delete_item(c, "c", "i0001", &e), 0);
    CHECK(nd_cat_delete_item(c, "c", "i0001", &e) < 0);
    CHECK_INT(e.code, ND_E_NOT_FOUND);
    CHECK_INT(nd_cat_delete_collection(c, "c", &e), 0);
    CHECK(nd_cat_get_item(c, "c", "i0000") == NULL);
    nd_cat_close(c);
}

static int refuse_commit(void *arg) {
    (void)arg;
    return 1; /* turns the COMMIT into a rollback that fails, as a full disk or an I/O error would */
}

/* A write whose COMMIT fails is an error (no 201 for items that are not stored), and the connection goes
 * back to the pool with no transaction left open. */
ND_TEST(failed_commit_is_an_error) {
    nd_cat *c = filled(1);
    nd_error e = {0};
    json_t *it = json_loads("{\"type\":\"Feature\",\"id\":\"late\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
                            "\"properties\":{\"datetime\":\"2024-01-01T00:00:00Z\"}}", 0, NULL);
    sqlite3 *dbs[2] = {nd_cat_acquire(c), nd_cat_acquire(c)};
    for (int i = 0; i < 2; i++) sqlite3_commit_hook(dbs[i], refuse_commit, NULL);
    for (int i = 0; i < 2; i++) nd_cat_release(c, dbs[i]);
    CHECK(nd_cat_put_items(c, "c", &it, 1, ND_PUT_CREATE, &e) < 0);
    CHECK_INT(e.code, ND_E_INTERNAL);
    for (int i = 0; i < 2; i++) sqlite3_commit_hook(dbs[i], NULL, NULL);
    CHECK(nd_cat_get_item(c, "c", "late") == NULL);
    CHECK_INT(nd_cat_put_items(c, "c", &it, 1, ND_PUT_CREATE, &e), 0);
    json_t *got = nd_cat_get_item(c, "c", "late");
    CHECK(got != NULL);
    json_decref(got);
    json_decref(it);
    nd_cat_close(c);
}
