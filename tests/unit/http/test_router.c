/* The route table: templates, captures, rest-of-path, methods, 404/405. */
#include "nadir/app.h"
#include "nadir/http.h"
#include "test.h"

static int h_a(nd_req *rq, nd_resp *rs) { return 0; }
static int h_b(nd_req *rq, nd_resp *rs) { return 0; }
static int h_c(nd_req *rq, nd_resp *rs) { return 0; }
static int h_d(nd_req *rq, nd_resp *rs) { return 0; }

static nd_router *make(void) {
    nd_router *r = nd_router_new();
    nd_router_add(r, &(nd_route){"GET", "/collections", h_a, "core", "list", NULL});
    nd_router_add(r, &(nd_route){"GET", "/collections/{id}", h_b, "core", "one", NULL});
    nd_router_add(r, &(nd_route){"GET", "/collections/{id}/items/{item}", h_c, "stac", "item", NULL});
    nd_router_add(r, &(nd_route){"POST", "/processes/{id}/execution", h_d, "proc", "exec", NULL});
    nd_router_add(r, &(nd_route){"GET", "/opendap/{path*}", h_d, "dap", NULL, NULL});
    return r;
}

ND_TEST(exact_and_captures) {
    nd_router *r = make();
    nd_req *rq = nd_req_new_test(NULL, "GET", "/", NULL);
    CHECK(nd_router_match(r, "GET", "/collections", rq, NULL)->handler == h_a);
    CHECK(nd_router_match(r, "GET", "/collections/sst", rq, NULL)->handler == h_b);
    CHECK_STR(nd_req_param(rq, "id"), "sst");
    const nd_route *rt = nd_router_match(r, "GET", "/collections/sst/items/2025-01-01", rq, NULL);
    CHECK(rt && rt->handler == h_c);
    CHECK_STR(nd_req_param(rq, "id"), "sst");
    CHECK_STR(nd_req_param(rq, "item"), "2025-01-01");
    nd_req_free_test(rq);
    nd_router_free(r);
}

ND_TEST(rest_of_path) {
    nd_router *r = make();
    nd_req *rq = nd_req_new_test(NULL, "GET", "/", NULL);
    CHECK(nd_router_match(r, "GET", "/opendap/sst.dods", rq, NULL) != NULL);
    CHECK_STR(nd_req_param(rq, "path"), "sst.dods");
    CHECK(nd_router_match(r, "GET", "/opendap/a/b/c.dmr", rq, NULL) != NULL);
    CHECK_STR(nd_req_param(rq, "path"), "a/b/c.dmr");
    CHECK(nd_router_match(r, "GET", "/opendap/", rq, NULL) != NULL);
    CHECK_STR(nd_req_param(rq, "path"), "");
    nd_req_free_test(rq);
    nd_router_free(r);
}

ND_TEST(no_match_and_method) {
    nd_router *r = make();
    bool known;
    CHECK(nd_router_match(r, "GET", "/collections/", NULL, &known) == NULL);
    CHECK(!known);
    CHECK(nd_router_match(r, "GET", "/collections/a/b", NULL, &known) == NULL);
    CHECK(nd_router_match(r, "GET", "/collectionsX", NULL, &known) == NULL);
    CHECK(nd_router_match(r, "GET", "/processes/x/execution", NULL, &known) == NULL);
    CHECK(known); /* exists for POST: a 405, not a 404 */
    CHECK(nd_router_match(r, "HEAD", "/collections", NULL, &known) != NULL); /* HEAD follows GET */
    CHECK(nd_router_match(r, "DELETE", "/collections", NULL, &known) == NULL);
    CHECK(known);
    nd_router_free(r);
}

ND_TEST(dispatch_404_405_problem_json) {
    nd_config cfg = {0};
    cfg.server.base_url = "http://example.org";
    nd_app *app = nd_app_new(&cfg, NULL);
    nd_router_add(app->router, &(nd_route){"POST", "/only-post", h_a, "core", NULL, NULL});
    nd_req *rq = nd_req_new_test(app, "GET", "/nothing/here", NULL);
    nd_resp rs = {0};
    nd_http_dispatch(app, rq, &rs);
    CHECK_INT(rs.status, 404);
    CHECK_STR(rs.content_type, "application/problem+json");
    CHECK_CONTAINS(rs.body.data, "\"status\":404");
    CHECK_CONTAINS(rs.body.data, "not-found");
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    rq = nd_req_new_test(app, "GET", "/only-post", NULL);
    rs = (nd_resp){0};
    nd_http_dispatch(app, rq, &rs);
    CHECK_INT(rs.status, 405);
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    nd_app_free(app);
}
