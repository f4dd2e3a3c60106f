/* KVP parsing: case-insensitive keys, percent-decoding, repeated keys; Accept negotiation. */
#include "nadir/http.h"
#include "test.h"

ND_TEST(case_insensitive_keys) {
    nd_req *rq = nd_req_new_test(NULL, "GET", "/wms?service=WMS&REQUEST=GetMap&Version=1.3.0", NULL);
    CHECK_STR(nd_req_query(rq, "SERVICE"), "WMS");
    CHECK_STR(nd_req_query(rq, "request"), "GetMap");
    CHECK_STR(nd_req_query(rq, "VERSION"), "1.3.0");
    CHECK(nd_req_query(rq, "LAYERS") == NULL);
    nd_req_free_test(rq);
}

ND_TEST(percent_decoding) {
    nd_req *rq = nd_req_new_test(NULL, "GET",
                                 "/wms?LAYERS=sst%3Asst&CRS=EPSG%3A4326&BBOX=-10%2C40,0,50&TIME=2025-01-01T00%3A00%3A00Z"
                                 "&TITLE=a+b%20c&EMPTY=&FLAG",
                                 NULL);
    CHECK_STR(nd_req_query(rq, "layers"), "sst:sst");
    CHECK_STR(nd_req_query(rq, "crs"), "EPSG:4326");
    CHECK_STR(nd_req_query(rq, "bbox"), "-10,40,0,50");
    CHECK_STR(nd_req_query(rq, "time"), "2025-01-01T00:00:00Z");
    CHECK_STR(nd_req_query(rq, "title"), "a b c");
    CHECK_STR(nd_req_query(rq, "empty"), "");
    CHECK_STR(nd_req_query(rq, "flag"), "");
    nd_req_free_test(rq);
}

ND_TEST(repeated_keys_keep_order) {
    nd_req *rq = nd_req_new_test(NULL, "GET", "/wcs?SUBSET=Lat(40,50)&subset=Long(-10,0)&SUBSET=time(\"2025-01-02\")", NULL);
    CHECK_INT(nd_kvlist_count(&rq->query_params, "SUBSET"), 3);
    CHECK_STR(rq->query_params.items[0].value, "Lat(40,50)");
    CHECK_STR(rq->query_params.items[1].value, "Long(-10,0)");
    CHECK_STR(rq->query_params.items[2].value, "time(\"2025-01-02\")");
    CHECK_STR(nd_req_query(rq, "subset"), "Lat(40,50)"); /* first wins for single-valued lookups */
    nd_req_free_test(rq);
}

ND_TEST(malformed_escapes_are_refused) {
    nd_arena *a = nd_arena_new(0);
    nd_kvlist l = {0};
    CHECK(nd_query_parse(a, "a=%4", &l) < 0);
    CHECK(nd_query_parse(a, "a=%zz", &l) < 0);
    CHECK(nd_query_parse(a, "a=%00b", &l) < 0); /* an embedded NUL would truncate values */
    l = (nd_kvlist){0};
    CHECK(nd_query_parse(a, "&&a=1&&", &l) == 0);
    CHECK_INT(l.n, 1);
    char s[] = "%41%62c+d";
    CHECK(nd_url_decode(s, false) == 0);
    CHECK_STR(s, "Abc+d"); /* '+' is a plus in paths */
    nd_arena_free(a);
}

ND_TEST(url_encoding_round_trip) {
    nd_buf b = {0};
    nd_buf_put_urlenc(&b, "a b&c=d/é");
    CHECK_STR(b.data, "a%20b%26c%3Dd%2F%C3%A9");
    char *s = strdup(b.data);
    CHECK(nd_url_decode(s, true) == 0);
    CHECK_STR(s, "a b&c=d/é");
    free(s);
    nd_buf_free(&b);
}

static bool wants_json(const char *url, const char *accept) {
    nd_req *rq = nd_req_new_test(NULL, "GET", url, NULL);
    if (accept) nd_kvlist_add(rq->arena, &rq->headers, "Accept", accept);
    bool r = nd_req_wants_json(rq);
    nd_req_free_test(rq);
    return r;
}

ND_TEST(content_negotiation) {
    CHECK(wants_json("/", NULL));
    CHECK(wants_json("/", "application/json"));
    CHECK(!wants_json("/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")); /* a browser */
    CHECK(wants_json("/", "*/*"));
    CHECK(wants_json("/?f=json", "text/html"));
    CHECK(!wants_json("/?f=html", "application/json"));
    CHECK(wants_json("/", "text/html;q=0.5, application/json"));
    CHECK(!wants_json("/", "application/json;q=0.1, text/html"));
}
