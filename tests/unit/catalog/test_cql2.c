/* CQL2-text and CQL2-JSON parsing, and the SQL they compile to: fixed text, every literal a bound value. */
#include "nadir/catalog.h"
#include "test.h"

static nd_cat *open_cat(void) {
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/cql2.db", nd_test_tmp_dir());
    nd_cat *c;
    if (nd_cat_open(path, 1, &c, err, sizeof err)) ND_FAIL_AT("open: %s", err);
    nd_error e = {0};
    json_t *coll = json_loads("{\"id\":\"c\",\"description\":\"d\",\"extent\":{}}", 0, NULL);
    CHECK_INT(nd_cat_put_collection(c, coll, ND_PUT_CREATE, "api", &e), 0);
    json_decref(coll);
    json_t *it = json_loads("{\"type\":\"Feature\",\"id\":\"i1\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
                            "\"properties\":{\"datetime\":\"2024-01-01T00:00:00Z\",\"eo:cloud_cover\":5,\"platform\":\"x\"}}",
                            0, NULL);
    CHECK_INT(nd_cat_put_items(c, "c", &it, 1, ND_PUT_CREATE, &e), 0);
    json_decref(it);
    return c;
}

/* Compiles text to SQL; returns the SQL text (arena) and the number of binds. */
static const char *compile(nd_cat *c, nd_arena *a, const char *text, size_t *nbinds, nd_sql *q) {
    nd_cql2 *f;
    nd_error e = {0};
    if (nd_cql2_parse_text(a, text, &f, &e)) ND_FAIL_AT("parse '%s': %s", text, e.detail);
    memset(q, 0, sizeof *q);
    q->arena = a;
    if (nd_cql2_to_sql(c, f, NULL, 0, q, &e)) ND_FAIL_AT("sql '%s': %s", text, e.detail);
    *nbinds = q->nbinds;
    return nd_arena_strdup(a, q->text.data);
}

ND_TEST(text_comparisons_bind_every_literal) {
    nd_cat *c = open_cat();
    nd_arena *a = nd_arena_new(0);
    nd_sql q;
    size_t n;
    const char *sql = compile(c, a, "\"eo:cloud_cover\" < 20 AND platform = 'it''s; DROP TABLE items'", &n, &q);
    CHECK_STR(sql, "((json_extract(i.json, ?) < ?) AND (json_extract(i.json, ?) = ?))");
    CHECK_INT(n, 4);
    CHECK_STR(q.binds[0].p, "$.properties.\"eo:cloud_cover\"");
    CHECK_INT(q.binds[1].kind, ND_B_INT);
    CHECK_INT(q.binds[1].i, 20);
    CHECK_STR(q.binds[3].p, "it's; DROP TABLE items");
    nd_sql_free(&q);
    sql = compile(c, a, "id IN ('a', 'b') OR NOT platform LIKE 'x%' AND \"eo:cloud_cover\" BETWEEN 1.5 AND 2", &n, &q);
    CHECK_STR(sql, "((i.id IN (?, ?)) OR (NOT ((json_extract(i.json, ?) LIKE ? ESCAPE '\\')) AND "
                   "(json_extract(i.json, ?) BETWEEN ? AND ?)))");
    CHECK_INT(q.binds[5].kind, ND_B_REAL);
    CHECK_NEAR(q.binds[5].d, 1.5, 0);
    nd_sql_free(&q);
    sql = compile(c, a, "platform IS NOT NULL AND platform NOT IN ('y')", &n, &q);
    CHECK_STR(sql, "((json_extract(i.json, ?) IS NOT NULL) AND (json_extract(i.json, ?) NOT IN (?)))");
    nd_sql_free(&q);
    nd_arena_free(a);
    nd_cat_close(c);
}

ND_TEST(temporal_and_spatial) {
    nd_cat *c = open_cat();
    nd_arena *a = nd_arena_new(0);
    nd_sql q;
    size_t n;
    const char *sql = compile(c, a, "T_INTERSECTS(datetime, INTERVAL('2024-01-01T00:00:00Z', '..'))", &n, &q);
    CHECK_STR(sql, "(i.start_dt <= ? AND i.end_dt >= ?)");
    CHECK_NEAR(q.binds[0].d, ND_T_MAX, 0);
    CHECK_NEAR(q.binds[1].d, 1704067200.0, 0);
    nd_sql_free(&q);
    sql = compile(c, a, "t_before(datetime, DATE('2024-01-02'))", &n, &q);
    CHECK_STR(sql, "(i.end_dt < ?)");
    CHECK_NEAR(q.binds[0].d, 1704153600.0, 0);
    nd_sql_free(&q);
    sql = compile(c, a, "datetime > TIMESTAMP('2024-01-01T12:00:00+02:00')", &n, &q);
    CHECK_STR(sql, "(i.datetime > ?)");
    CHECK_NEAR(q.binds[0].d, 1704067200.0 + 10 * 3600, 0);
    nd_sql_free(&q);
    /* a literal first is swapped so the constant is prepared once: contains becomes within */
    sql = compile(c, a, "S_CONTAINS(POLYGON((0 0, 10 0, 10 10, 0 10, 0 0)), geometry)", &n, &q);
    CHECK_STR(sql, "ifnull(nd_spatial(?, i.geom, ?), 0)");
    CHECK_INT(q.binds[0].i, ND_SP_WITHIN);
    CHECK_INT(q.binds[1].kind, ND_B_BLOB);
    nd_sql_free(&q);
    sql = compile(c, a, "s_intersects(geometry, BBOX(170, -10, -170, 10))", &n, &q);
    CHECK_INT(n, 2);
    nd_sql_free(&q);
    nd_arena_free(a);
    nd_cat_close(c);
}

ND_TEST(json_equals_text) {
    nd_cat *c = open_cat();
    nd_arena *a = nd_arena_new(0);
    const char *js = "{\"op\":\"and\",\"args\":[{\"op\":\"<\",\"args\":[{\"property\":\"eo:cloud_cover\"},20]},"
                     "{\"op\":\"t_intersects\",\"args\":[{\"property\":\"datetime\"},{\"interval\":[\"2024-01-01\",\"..\"]}]},"
                     "{\"op\":\"s_intersects\",\"args\":[{\"property\":\"geometry\"},{\"type\":\"Point\",\"coordinates\":[1,2]}]},"
                     "{\"op\":\"in\",\"args\":[{\"property\":\"id\"},[\"a\",\"b\"]]},"
                     "{\"op\":\"isNull\",\"args\":[{\"property\":\"platform\"}]}]}";
    json_t *j = json_loads(js, 0, NULL);
    nd_cql2 *f;
    nd_error e = {0};
    CHECK_INT(nd_cql2_parse_json(a, j, &f, &e), 0);
    json_decref(j);
    nd_sql q1 = {.arena = a}, q2;
    CHECK_INT(nd_cql2_to_sql(c, f, NULL, 0, &q1, &e), 0);
    size_t n;
    const char *t = compile(c, a, "\"eo:cloud_cover\" < 20 AND T_INTERSECTS(datetime, INTERVAL('2024-01-01', '..')) AND "
                                  "S_INTERSECTS(geometry, POINT(1 2)) AND id IN ('a', 'b') AND platform IS NULL", &n, &q2);
    CHECK_STR(q1.text.data, t);
    CHECK_INT(q1.nbinds, n);
    nd_sql_free(&q1);
    nd_sql_free(&q2);
    nd_arena_free(a);
    nd_cat_close(c);
}

static void expect_error(nd_cat *c, const char *text, const char *detail_part) {
    nd_arena *a = nd_arena_new(0);
    nd_cql2 *f;
    nd_error e = {0};
    int rc = nd_cql2_parse_text(a, text, &f, &e);
    if (rc == 0) {
        nd_sql q = {.arena = a};
        rc = nd_cql2_to_sql(c, f, NULL, 0, &q, &e);
        nd_sql_free(&q);
    }
    if (rc == 0) ND_FAIL_AT("'%s' was accepted", text);
    CHECK_INT(e.code, ND_E_INVALID_PARAM);
    CHECK_STR(e.locator, "filter");
    CHECK_CONTAINS(e.detail, detail_part);
    nd_arena_free(a);
}

ND_TEST(bad_filters_are_refused) {
    nd_cat *c = open_cat();
    expect_error(c, "", "empty");
    expect_error(c, "platform =", "expected a property");
    expect_error(c, "platform = 'x", "unterminated");
    expect_error(c, "nosuch = 1", "Unknown property 'nosuch'");
    expect_error(c, "\"x'; DROP TABLE items; --\" = 1", "Unknown property");
    expect_error(c, "platform = 1; DROP TABLE items", "unexpected");
    expect_error(c, "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "invalid geometry");
    expect_error(c, "T_AFTER(datetime, TIMESTAMP('2024-13-01T00:00:00Z'))", "bad TIMESTAMP");
    expect_error(c, "FOO(geometry, 1)", "expected a comparison");
    expect_error(c, "geometry = 1", "S_* predicates");
    expect_error(c, "platform BETWEEN 1 2", "expected AND");
    /* nesting is bounded */
    char deep[600];
    memset(deep, '(', 300);
    strcpy(deep + 300, "platform = 'x'");
    memset(deep + 314, ')', 285);
    deep[599] = 0;
    expect_error(c, deep, "nested too deeply");
    nd_arena *a = nd_arena_new(0);
    nd_cql2 *f;
    nd_error e = {0};
    json_t *j = json_loads("{\"op\":\"=\",\"args\":[{\"property\":\"platform\"}]}", 0, NULL);
    CHECK(nd_cql2_parse_json(a, j, &f, &e) < 0);
    CHECK_CONTAINS(e.detail, "wrong number of arguments");
    json_decref(j);
    j = json_loads("{\"op\":\"union\",\"args\":[]}", 0, NULL);
    CHECK(nd_cql2_parse_json(a, j, &f, &e) < 0);
    CHECK_CONTAINS(e.detail, "unsupported operator");
    json_decref(j);
    nd_arena_free(a);
    nd_cat_close(c);
}

ND_TEST(time_parsing) {
    double t, iv[2];
    CHECK_INT(nd_cat_time_parse("1970-01-01T00:00:00Z", false, &t), 0);
    CHECK_NEAR(t, 0, 0);
    CHECK_INT(nd_cat_time_parse("2024-02-29T23:59:59.5Z", false, &t), 0);
    CHECK_NEAR(t, 1709251199.5, 1e-6);
    CHECK(nd_cat_time_parse("2023-02-29T00:00:00Z", false, &t) < 0);
    CHECK(nd_cat_time_parse("2024-01-01", false, &t) < 0);
    CHECK(nd_cat_time_parse("2024-01-01T00:00:00", false, &t) < 0); /* no zone */
    CHECK_INT(nd_cat_interval_parse("../2024-01-01T00:00:00Z", iv), 0);
    CHECK_NEAR(iv[0], ND_T_MIN, 0);
    CHECK_INT(nd_cat_interval_parse("2024-01-01/", iv), 0);
    CHECK_NEAR(iv[1], ND_T_MAX, 0);
    CHECK(nd_cat_interval_parse("../..", iv) < 0);
    CHECK(nd_cat_interval_parse("2024-02-01T00:00:00Z/2024-01-01T00:00:00Z", iv) < 0);
    char out[40];
    nd_cat_time_format(1709251199.5, out);
    CHECK_STR(out, "2024-02-29T23:59:59.500Z");
}
