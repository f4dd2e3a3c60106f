/* The processing front-ends driven in memory (no socket, no job run): WPS 1.0.0/2.0 documents are
 * well-formed and list the registry, XML POST refuses DOCTYPEs and bad documents, OGC API - Processes
 * answers descriptions and refuses bad requests without creating a job. */
#include <libxml/parser.h>
#include <string.h>

#include "nadir/app.h"
#include "nadir/process.h"
#include "test.h"

static nd_app *app;
static nd_config *cfg;
static nd_registry empty;

static void setup(void) {
    char text[1024], err[512];
    snprintf(text, sizeof text, "server:\n  data_dir: %s/var\n  base_url: http://example.test\n", nd_test_tmp_dir());
    if (nd_config_parse(text, strlen(text), "test.yaml", nd_test_tmp_dir(), &cfg, err, sizeof err) < 0)
        ND_FAIL_AT("config: %s", err);
    app = nd_app_new(cfg, &empty);
    nd_wps_register(app);
    nd_processes_register(app);
}

/* Runs one request; returns the status with the body in *body (malloc'd). */
static int call(const char *method, const char *url, const char *payload, char **body, const char **type) {
    nd_req *rq = nd_req_new_test(app, method, url, payload);
    nd_resp rs = {0};
    nd_http_dispatch(app, rq, &rs);
    *body = strdup(rs.body.data ? rs.body.data : "");
    if (type) *type = rs.content_type && strstr(rs.content_type, "xml") ? "xml" : rs.content_type && strstr(rs.content_type, "json") ? "json" : "other";
    int status = rs.status;
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    return status;
}

static xmlDocPtr parse(const char *s) {
    xmlDocPtr d = xmlReadMemory(s, (int)strlen(s), "r.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (!d) ND_FAIL_AT("not well-formed XML: %.300s", s);
    return d;
}

static size_t count(xmlNodePtr n, const char *name, const char *ns) {
    size_t k = 0;
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        if (!strcmp((const char *)n->name, name) && (!ns || (n->ns && !strcmp((const char *)n->ns->href, ns)))) k++;
        k += count(n->children, name, ns);
    }
    return k;
}

#define WPS2 "http://www.opengis.net/wps/2.0"
#define WPS1 "http://www.opengis.net/wps/1.0.0"

ND_TEST(capabilities_both_versions) {
    setup();
    char *b;
    CHECK_INT(call("GET", "/wps?service=WPS&request=GetCapabilities&version=1.0.0", NULL, &b, NULL), 200);
    xmlDocPtr d = parse(b);
    xmlNodePtr root = xmlDocGetRootElement(d);
    CHECK_STR((const char *)root->name, "Capabilities");
    CHECK_STR((const char *)root->ns->href, WPS1);
    CHECK_INT(count(root, "Process", WPS1), nd_process_count());
    CHECK_CONTAINS(b, "http://example.test/wps");
    xmlFreeDoc(d);
    free(b);
    CHECK_INT(call("GET", "/wps?service=WPS&request=GetCapabilities", NULL, &b, NULL), 200); /* newest by default */
    d = parse(b);
    root = xmlDocGetRootElement(d);
    CHECK_STR((const char *)root->ns->href, WPS2);
    CHECK_INT(count(root, "ProcessSummary", WPS2), nd_process_count());
    xmlFreeDoc(d);
    free(b);
    CHECK_INT(call("GET", "/wps?service=WPS&request=GetCapabilities&AcceptVersions=9.9.9", NULL, &b, NULL), 400);
    CHECK_CONTAINS(b, "VersionNegotiationFailed");
    free(b);
}

ND_TEST(describe_every_process) {
    setup();
    char *b;
    CHECK_INT(call("GET", "/wps?service=WPS&version=2.0.0&request=DescribeProcess&identifier=ALL", NULL, &b, NULL), 200);
    xmlDocPtr d = parse(b);
    xmlNodePtr root = xmlDocGetRootElement(d);
    CHECK_INT(count(root, "ProcessOffering", WPS2), nd_process_count());
    size_t inputs = 0;
    for (size_t i = 0; i < nd_process_count(); i++) inputs += nd_process_at(i)->ninputs;
    CHECK_INT(count(root, "Input", WPS2), inputs);
    xmlFreeDoc(d);
    free(b);
    CHECK_INT(call("GET", "/wps?service=WPS&version=1.0.0&request=DescribeProcess&identifier=echo,sleep", NULL, &b, NULL), 200);
    d = parse(b);
    root = xmlDocGetRootElement(d);
    CHECK_INT(count(root, "ProcessDescription", NULL), 2);
    CHECK_INT(count(root, "Input", NULL), nd_process_find("echo")->ninputs + nd_process_find("sleep")->ninputs);
    CHECK_CONTAINS(b, "<ows:MinimumValue>1</ows:MinimumValue><ows:MaximumValue>10</ows:MaximumValue>");
    xmlFreeDoc(d);
    free(b);
    CHECK_INT(call("GET", "/wps?service=WPS&version=2.0.0&request=DescribeProcess&identifier=echo,nope", NULL, &b, NULL), 404);
    CHECK_CONTAINS(b, "NoSuchProcess");
    CHECK_CONTAINS(b, "http://www.opengis.net/ows/2.0");
    free(b);
    CHECK_INT(call("GET", "/wps?service=WPS&version=1.0.0&request=DescribeProcess", NULL, &b, NULL), 400);
    CHECK_CONTAINS(b, "MissingParameterValue");
    CHECK_CONTAINS(b, "http://www.opengis.net/ows/1.1");
    free(b);
}

ND_TEST(xml_post_refusals) {
    setup();
    char *b;
    const char *doctype = "<?xml version=\"1.0\"?><!DOCTYPE lol [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>"
                          "<wps:GetCapabilities xmlns:wps=\"" WPS2 "\" service=\"WPS\">&b;</wps:GetCapabilities>";
    CHECK_INT(call("POST", "/wps", doctype, &b, NULL), 400);
    CHECK_CONTAINS(b, "DOCTYPE");
    free(b);
    CHECK_INT(call("POST", "/wps", "<wps:Execute", &b, NULL), 400);
    CHECK_CONTAINS(b, "well-formed");
    free(b);
    CHECK_INT(call("POST", "/wps", "", &b, NULL), 400);
    free(b);
    const char *unknown = "<wps:Execute xmlns:wps=\"" WPS2 "\" xmlns:ows=\"http://www.opengis.net/ows/2.0\" service=\"WPS\" "
                          "version=\"2.0.0\" mode=\"sync\"><ows:Identifier>nope</ows:Identifier></wps:Execute>";
    CHECK_INT(call("POST", "/wps", unknown, &b, NULL), 404);
    CHECK_CONTAINS(b, "NoSuchProcess");
    free(b);
    const char *mode = "<wps:Execute xmlns:wps=\"" WPS2 "\" xmlns:ows=\"http://www.opengis.net/ows/2.0\" service=\"WPS\" "
                       "version=\"2.0.0\" mode=\"later\"><ows:Identifier>echo</ows:Identifier></wps:Execute>";
    CHECK_INT(call("POST", "/wps", mode, &b, NULL), 400);
    CHECK_CONTAINS(b, "locator=\"mode\"");
    free(b);
    const char *bad_input = "<wps:Execute xmlns:wps=\"" WPS2 "\" xmlns:ows=\"http://www.opengis.net/ows/2.0\" service=\"WPS\" "
                            "version=\"2.0.0\"><ows:Identifier>echo</ows:Identifier><wps:Input id=\"repeat\"><wps:Data>"
                            "eleven</wps:Data></wps:Input></wps:Execute>";
    CHECK_INT(call("POST", "/wps", bad_input, &b, NULL), 400);
    CHECK_CONTAINS(b, "locator=\"repeat\"");
    free(b);
    const char *other = "<wps:Frobnicate xmlns:wps=\"" WPS2 "\" service=\"WPS\" version=\"2.0.0\"/>";
    CHECK_INT(call("POST", "/wps", other, &b, NULL), 501);
    CHECK_CONTAINS(b, "OperationNotSupported");
    free(b);
    /* 2.0-only operations refused in 1.0.0 */
    CHECK_INT(call("GET", "/wps?service=WPS&version=1.0.0&request=GetStatus&jobid=x", NULL, &b, NULL), 501);
    free(b);
    /* nothing above created a job */
    CHECK_INT(call("GET", "/jobs", NULL, &b, NULL), 200);
    CHECK_CONTAINS(b, "\"numberMatched\":0");
    free(b);
}

ND_TEST(ogcapi_descriptions_and_refusals) {
    setup();
    char *b;
    const char *type;
    CHECK_INT(call("GET", "/processes", NULL, &b, &type), 200);
    CHECK_STR(type, "json");
    json_t *o = json_loads(b, 0, NULL);
    CHECK_INT(json_array_size(json_object_get(o, "processes")), nd_process_count());
    json_decref(o);
    free(b);
    CHECK_INT(call("GET", "/processes?limit=2&offset=1", NULL, &b, NULL), 200);
    o = json_loads(b, 0, NULL);
    CHECK_INT(json_array_size(json_object_get(o, "processes")), 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(o, "processes"), 0), "id")),
              nd_process_at(1)->id);
    json_decref(o);
    free(b);
    CHECK_INT(call("GET", "/processes/sleep", NULL, &b, NULL), 200);
    o = json_loads(b, 0, NULL);
    json_t *secs = json_object_get(json_object_get(o, "inputs"), "seconds");
    CHECK_STR(json_string_value(json_object_get(secs, "uom")), "s");
    CHECK_NEAR(json_number_value(json_object_get(json_object_get(secs, "schema"), "maximum")), 3600, 0);
    json_decref(o);
    free(b);
    CHECK_INT(call("GET", "/processes/nope", NULL, &b, &type), 404);
    CHECK_CONTAINS(b, "no-such-process");
    free(b);
    CHECK_INT(call("POST", "/processes/echo/execution", "{\"inputs\":{\"repeat\":0}}", &b, NULL), 400);
    CHECK_CONTAINS(b, "\"parameter\":\"repeat\"");
    free(b);
    CHECK_INT(call("POST", "/processes/echo/execution", "{\"inputs\":{},\"response\":\"poem\"}", &b, NULL), 400);
    free(b);
    CHECK_INT(call("POST", "/processes/echo/execution", "{\"inputs\":{},\"outputs\":{\"nope\":{}}}", &b, NULL), 400);
    free(b);
    CHECK_INT(call("POST", "/processes/echo/execution", "{\"a\":1,\"a\":2}", &b, NULL), 400); /* duplicate keys */
    free(b);
    CHECK_INT(call("GET", "/jobs/00000000-0000-4000-8000-000000000000", NULL, &b, NULL), 404);
    CHECK_CONTAINS(b, "no-such-job");
    free(b);
    CHECK_INT(call("GET", "/jobs?limit=1001", NULL, &b, NULL), 400);
    free(b);
    CHECK_INT(call("GET", "/jobs?type=other", NULL, &b, NULL), 200);
    CHECK_CONTAINS(b, "\"jobs\":[]");
    free(b);
    CHECK_INT(call("GET", "/jobs", NULL, &b, NULL), 200);
    CHECK_CONTAINS(b, "\"numberMatched\":0");
    free(b);
}
