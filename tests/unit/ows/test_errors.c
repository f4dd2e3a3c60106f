/* Error rendering for each kind: problem+json, WMS and OWS exception reports, DAP2 and DAP4. */
#include <jansson.h>

#include "nadir/ows.h"
#include "test.h"

static nd_req *failed(nd_errcode code, const char *locator, const char *detail) {
    nd_req *rq = nd_req_new_test(NULL, "GET", "/x", NULL);
    CHECK_INT(nd_fail(&rq->err, code, locator, "%s", detail), -(int)code);
    return rq;
}

ND_TEST(codes_map_to_http_status) {
    CHECK_INT(nd_error_http_status(ND_E_MISSING_PARAM), 400);
    CHECK_INT(nd_error_http_status(ND_E_UNAUTHORIZED), 401);
    CHECK_INT(nd_error_http_status(ND_E_FORBIDDEN), 403);
    CHECK_INT(nd_error_http_status(ND_E_NOT_FOUND), 404);
    CHECK_INT(nd_error_http_status(ND_E_TOO_LARGE), 413);
    CHECK_INT(nd_error_http_status(ND_E_INTERNAL), 500);
    CHECK_INT(nd_error_http_status(ND_E_NOT_IMPLEMENTED), 501);
    CHECK_INT(nd_error_http_status(ND_E_UNAVAILABLE), 503);
    CHECK_STR(nd_error_ows_code(ND_E_INVALID_PARAM), "InvalidParameterValue");
    CHECK_STR(nd_error_slug(ND_E_INVALID_PARAM), "invalid-parameter");
    CHECK_STR(nd_error_name(ND_E_INVALID_PARAM), "INVALID_PARAM");
    CHECK_INT(nd_error_http_status((nd_errcode)9999), 500); /* out of range falls back to internal */
}

ND_TEST(problem_json) {
    nd_req *rq = failed(ND_E_INVALID_PARAM, "bbox", "bbox needs 4 numbers, got <3>");
    nd_resp rs = {0};
    nd_problem_render(rq, &rs);
    CHECK_INT(rs.status, 400);
    CHECK_STR(rs.content_type, "application/problem+json");
    json_error_t je;
    json_t *o = json_loads(rs.body.data, 0, &je);
    CHECK(o != NULL);
    CHECK_INT(json_integer_value(json_object_get(o, "status")), 400);
    CHECK_STR(json_string_value(json_object_get(o, "parameter")), "bbox");
    CHECK_STR(json_string_value(json_object_get(o, "detail")), "bbox needs 4 numbers, got <3>");
    CHECK_CONTAINS(json_string_value(json_object_get(o, "type")), "invalid-parameter");
    json_decref(o);
    nd_resp_free(&rs);
    nd_req_free_test(rq);
}

ND_TEST(wms_exception_report_escapes) {
    nd_req *rq = failed(ND_E_INVALID_FORMAT, "format", "Unknown format <image/bmp> & co");
    nd_resp rs = {0};
    rq->version = "1.3.0";
    nd_ows_render_exception(rq, &rs, ND_OWS_EXC_WMS);
    CHECK_INT(rs.status, 400);
    CHECK_STR(rs.content_type, "text/xml");
    CHECK_CONTAINS(rs.body.data, "<ServiceExceptionReport version=\"1.3.0\" xmlns=\"http://www.opengis.net/ogc\"");
    CHECK_CONTAINS(rs.body.data, "<ServiceException code=\"InvalidFormat\" locator=\"format\">"
                                 "Unknown format &lt;image/bmp&gt; &amp; co</ServiceException>");
    nd_resp_free(&rs);
    rs = (nd_resp){0};
    rq->version = "1.1.1";
    nd_ows_render_exception(rq, &rs, ND_OWS_EXC_WMS);
    CHECK_STR(rs.content_type, "application/vnd.ogc.se_xml");
    CHECK_CONTAINS(rs.body.data, "<ServiceExceptionReport version=\"1.1.1\">");
    nd_resp_free(&rs);
    rs = (nd_resp){0};
    rq->err.code = ND_E_INVALID_CRS; /* 1.1.1 names it InvalidSRS */
    nd_ows_render_exception(rq, &rs, ND_OWS_EXC_WMS);
    CHECK_CONTAINS(rs.body.data, "<ServiceException code=\"InvalidSRS\" locator=\"format\">");
    nd_resp_free(&rs);
    nd_req_free_test(rq);
}

ND_TEST(ows_exception_reports) {
    nd_req *rq = failed(ND_E_MISSING_PARAM, "request", "REQUEST is required");
    nd_resp rs = {0};
    nd_ows_render_exception(rq, &rs, ND_OWS_EXC_OWS20);
    CHECK_STR(rs.content_type, "application/xml");
    CHECK_CONTAINS(rs.body.data, "xmlns:ows=\"http://www.opengis.net/ows/2.0\"");
    CHECK_CONTAINS(rs.body.data, "<ows:Exception exceptionCode=\"MissingParameterValue\" locator=\"request\">");
    CHECK_CONTAINS(rs.body.data, "<ows:ExceptionText>REQUEST is required</ows:ExceptionText>");
    nd_resp_free(&rs);
    rs = (nd_resp){0};
    nd_ows_render_exception(rq, &rs, ND_OWS_EXC_OWS11);
    CHECK_CONTAINS(rs.body.data, "xmlns:ows=\"http://www.opengis.net/ows/1.1\" "
                                 "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"1.1.0\"");
    nd_resp_free(&rs);
    nd_req_free_test(rq);
}

ND_TEST(dap_errors) {
    nd_req *rq = failed(ND_E_NOT_FOUND, "variable", "No variable \"sst2\"");
    nd_resp rs = {0};
    nd_dap2_render_error(rq, &rs);
    CHECK_INT(rs.status, 404);
    CHECK_STR(rs.body.data, "Error {\n    code = 404;\n    message = \"No variable \\\"sst2\\\"\";\n};\n");
    CHECK_STR(nd_kvlist_get(&rs.headers, "Content-Description"), "dods-error");
    nd_resp_free(&rs);
    rs = (nd_resp){0};
    nd_dap4_render_error(rq, &rs);
    CHECK_STR(rs.content_type, "application/vnd.opendap.dap4.error+xml");
    CHECK_CONTAINS(rs.body.data, "<Error httpcode=\"404\">");
    CHECK_CONTAINS(rs.body.data, "<Message>No variable &quot;sst2&quot;</Message>");
    nd_resp_free(&rs);
    nd_req_free_test(rq);
}

static int op_ok(nd_req *rq, nd_resp *rs) {
    nd_buf_puts(&rs->body, rq->version);
    return 0;
}

ND_TEST(ows_dispatch_generic_checks) {
    static const char *const versions[] = {"1.3.0", "1.1.1", NULL};
    static const nd_ows_op ops[] = {{"GetCapabilities", op_ok, 0}, {"GetMap", op_ok, ND_OWS_NEEDS_VERSION}};
    nd_ows_service svc = {"WMS", versions, ops, 2, false};
    struct { const char *url; int rc; const char *locator; const char *version; } cases[] = {
        {"/wms?REQUEST=GetCapabilities", -ND_E_MISSING_PARAM, "service", NULL},
        {"/wms?SERVICE=WCS&REQUEST=GetCapabilities", -ND_E_INVALID_PARAM, "service", NULL},
        {"/wms?SERVICE=WMS", -ND_E_MISSING_PARAM, "request", NULL},
        {"/wms?SERVICE=WMS&REQUEST=Fly", -ND_E_NOT_IMPLEMENTED, "request", NULL},
        {"/wms?SERVICE=WMS&REQUEST=getcapabilities", 0, "", "1.3.0"},
        {"/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.1.1", 0, "", "1.1.1"},
        {"/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.2.0", 0, "", "1.1.1"}, /* highest below */
        {"/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=9.0.0", 0, "", "1.3.0"},
        {"/wms?SERVICE=WMS&REQUEST=GetCapabilities&VERSION=1.0.0", 0, "", "1.1.1"}, /* lowest */
        {"/wms?SERVICE=WMS&REQUEST=GetCapabilities&AcceptVersions=2.0.0,1.1.1", 0, "", "1.1.1"},
        {"/wms?SERVICE=WMS&REQUEST=GetCapabilities&AcceptVersions=2.0.0", -ND_E_VERSION_NEGOTIATION, "acceptversions", NULL},
        {"/wms?SERVICE=WMS&REQUEST=GetMap", -ND_E_MISSING_PARAM, "version", NULL},
        {"/wms?SERVICE=WMS&REQUEST=GetMap&VERSION=1.2.0", -ND_E_INVALID_PARAM, "version", NULL},
        {"/wms?SERVICE=WMS&REQUEST=GetMap&VERSION=1.1.1", 0, "", "1.1.1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nd_req *rq = nd_req_new_test(NULL, "GET", cases[i].url, NULL);
        nd_resp rs = {0};
        int rc = nd_ows_dispatch(&svc, rq, &rs);
        if (rc != cases[i].rc) ND_FAIL_AT("%s: rc %d, expected %d", cases[i].url, rc, cases[i].rc);
        CHECK_STR(rq->err.locator, cases[i].locator);
        if (cases[i].version) CHECK_STR(rs.body.data, cases[i].version);
        nd_resp_free(&rs);
        nd_req_free_test(rq);
    }
}
