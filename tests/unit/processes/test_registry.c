/* The process registry: every built-in is well formed; input validation accepts what the
 * descriptions promise and refuses the rest with the right error kind, before any work. */
#include <jansson.h>

#include "nadir/process.h"
#include "test.h"

static json_t *J(const char *text) {
    json_error_t e;
    json_t *o = json_loads(text, 0, &e);
    if (!o) ND_FAIL_AT("bad JSON in test: %s", e.text);
    return o;
}

/* Validates text against process id; returns the error code (0 when accepted) and the result. */
static int check(const char *id, const char *text, const nd_process_limits *lim, json_t **out, nd_error *err) {
    const nd_process *p = nd_process_find(id);
    CHECK(p != NULL);
    json_t *in = J(text);
    int rc = nd_process_check_inputs(p, in, lim, out, err);
    json_decref(in);
    return rc < 0 ? (int)err->code : 0;
}

ND_TEST(builtins_well_formed) {
    CHECK(nd_process_count() >= 3);
    for (size_t i = 0; i < nd_process_count(); i++) {
        const nd_process *p = nd_process_at(i);
        CHECK(p->id && p->title && p->description && p->version && p->run);
        CHECK(p->sync || p->async);
        CHECK(p->devices && p->devices[0]);
        CHECK(nd_process_find(p->id) == p);
        for (size_t k = 0; k < p->ninputs; k++) CHECK(nd_process_input(p, p->inputs[k].id) == &p->inputs[k]);
    }
    CHECK(nd_process_find("nope") == NULL);
    CHECK(nd_process_find(NULL) == NULL);
}

ND_TEST(echo_defaults_and_types) {
    json_t *out;
    nd_error err = {0};
    CHECK_INT(check("echo", "{\"message\":\"hi\"}", NULL, &out, &err), 0);
    CHECK_STR(json_string_value(json_object_get(out, "message")), "hi");
    CHECK_INT(json_integer_value(json_object_get(out, "repeat")), 1);
    CHECK(json_object_get(out, "data") == NULL);
    json_decref(out);
    /* WPS sends every literal as text: "3" is the integer 3. */
    CHECK_INT(check("echo", "{\"message\":\"hi\",\"repeat\":\"3\"}", NULL, &out, &err), 0);
    CHECK_INT(json_integer_value(json_object_get(out, "repeat")), 3);
    json_decref(out);
    /* Qualified values. */
    CHECK_INT(check("echo", "{\"message\":{\"value\":\"q\"}}", NULL, &out, &err), 0);
    CHECK_STR(json_string_value(json_object_get(out, "message")), "q");
    json_decref(out);
}

ND_TEST(echo_refusals) {
    json_t *out = NULL;
    nd_error err = {0};
    CHECK_INT(check("subset", "{}", NULL, &out, &err), ND_E_MISSING_PARAM);
    CHECK_STR(err.locator, "dataset");
    CHECK(out == NULL);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"bogus\":1}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_STR(err.locator, "bogus");
    CHECK_INT(check("echo", "{\"message\":5}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"repeat\":11}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_CONTAINS(err.detail, "[1, 10]");
    CHECK_INT(check("echo", "{\"message\":\"a\",\"repeat\":0}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"repeat\":\"2x\"}", NULL, &out, &err), ND_E_INVALID_PARAM);
    /* Allowed values (subset's format). */
    CHECK_INT(check("subset", "{\"dataset\":\"d\",\"format\":\"png\"}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_STR(err.locator, "format");
    CHECK_INT(check("subset", "{\"dataset\":\"d\",\"format\":\"netcdf\",\"variables\":[\"a\",\"b\"]}", NULL, &out, &err), 0);
    CHECK_INT(json_array_size(json_object_get(out, "variables")), 2);
    json_decref(out);
    out = NULL;
    CHECK_INT(check("echo", "{\"message\":[\"a\",\"b\"]}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_INT(check("echo", "[1]", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK(out == NULL);
}

ND_TEST(complex_size_format_and_hosts) {
    json_t *out;
    nd_error err = {0};
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"value\":{\"k\":[1,2]},\"mediaType\":\"application/json\"}}",
                    NULL, &out, &err), 0);
    CHECK_INT(json_integer_value(json_array_get(json_object_get(json_object_get(json_object_get(out, "data"), "value"), "k"), 1)), 2);
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "data"), "mediaType")), "application/json");
    json_decref(out);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"value\":\"x\",\"mediaType\":\"image/png\"}}", NULL, &out, &err),
              ND_E_INVALID_FORMAT);
    /* The configured limit applies to inline values: 413. */
    nd_process_limits lim = {.max_inline = 16};
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"value\":\"0123456789abcdefg\"}}", &lim, &out, &err),
              ND_E_TOO_LARGE);
    CHECK_INT(check("echo", "{\"message\":\"0123456789abcdefg\"}", &lim, &out, &err), ND_E_TOO_LARGE);
    /* References: only allowed hosts, only http(s); user@host tricks do not pass. */
    char *hosts[] = {"data.example.org"};
    nd_process_limits allow = {.allowed_hosts = hosts, .nallowed_hosts = 1};
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"href\":\"http://169.254.169.254/latest\"}}", &allow, &out, &err),
              ND_E_FORBIDDEN);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"href\":\"http://data.example.org@127.0.0.1/x\"}}", &allow,
                    &out, &err), ND_E_FORBIDDEN);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"href\":\"file:///etc/passwd\"}}", &allow, &out, &err),
              ND_E_INVALID_PARAM);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"href\":\"https://DATA.example.org:8443/a.json\"}}", &allow,
                    &out, &err), 0);
    json_decref(out);
    CHECK_INT(check("echo", "{\"message\":\"a\",\"data\":{\"href\":\"https://data.example.org/a.json\"}}", NULL, &out, &err),
              ND_E_FORBIDDEN);
}

ND_TEST(bbox_forms) {
    json_t *out;
    nd_error err = {0};
    CHECK_INT(check("statistics", "{\"dataset\":\"d\",\"variable\":\"v\",\"bbox\":{\"bbox\":[1,2,3,4]}}", NULL, &out, &err), 0);
    json_t *b = json_object_get(json_object_get(out, "bbox"), "bbox");
    CHECK_NEAR(json_number_value(json_array_get(b, 3)), 4, 0);
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(out, "bbox"), "crs")), "CRS84");
    CHECK(json_is_false(json_object_get(out, "timeseries")));
    json_decref(out);
    CHECK_INT(check("statistics", "{\"dataset\":\"d\",\"variable\":\"v\",\"bbox\":\"-10.5,20,5,30,EPSG:4326\"}", NULL, &out,
                    &err), 0);
    b = json_object_get(json_object_get(out, "bbox"), "bbox");
    CHECK_NEAR(json_number_value(json_array_get(b, 0)), -10.5, 0);
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "bbox"), "crs")), "EPSG:4326");
    json_decref(out);
    CHECK_INT(check("statistics", "{\"dataset\":\"d\",\"variable\":\"v\",\"bbox\":[3,2,1,4]}", NULL, &out, &err),
              ND_E_INVALID_PARAM);
    CHECK_INT(check("statistics", "{\"dataset\":\"d\",\"variable\":\"v\",\"bbox\":[1,2,3]}", NULL, &out, &err),
              ND_E_INVALID_PARAM);
    CHECK_INT(check("statistics", "{\"dataset\":\"d\",\"variable\":\"v\",\"timeseries\":\"maybe\"}", NULL, &out, &err),
              ND_E_INVALID_PARAM);
}

ND_TEST(dataset_references) {
    nd_dataset_conf pub = {.id = "open", .access = "public"}, priv = {.id = "secret", .access = "staff"};
    nd_variable var = {.name = "v", .ndims = 2};
    nd_dataset a = {.conf = &pub, .id = "open", .vars = &var, .nvars = 1, .wgs84 = {0, 0, 10, 10}},
               b = {.conf = &priv, .id = "secret"};
    nd_dataset *items[] = {&a, &b};
    nd_registry reg = {.items = items, .n = 2};
    nd_process_limits lim = {.datasets = &reg};
    json_t *out;
    nd_error err = {0};
    CHECK_INT(check("statistics", "{\"dataset\":\"open\",\"variable\":\"v\"}", &lim, &out, &err), 0);
    json_decref(out);
    CHECK_INT(check("statistics", "{\"dataset\":\"secret\",\"variable\":\"v\"}", &lim, &out, &err), ND_E_FORBIDDEN);
    CHECK_INT(check("statistics", "{\"dataset\":\"other\",\"variable\":\"v\"}", &lim, &out, &err), ND_E_INVALID_PARAM);
    CHECK_STR(err.locator, "dataset");
    /* The process's own check: the variable exists, the box meets the dataset. */
    CHECK_INT(check("statistics", "{\"dataset\":\"open\",\"variable\":\"w\"}", &lim, &out, &err), ND_E_INVALID_PARAM);
    CHECK_STR(err.locator, "variable");
    CHECK_INT(check("statistics", "{\"dataset\":\"open\",\"variable\":\"v\",\"bbox\":[20,20,30,30]}", &lim, &out, &err),
              ND_E_INVALID_PARAM);
    CHECK_STR(err.locator, "bbox");
    CHECK_INT(check("statistics", "{\"dataset\":\"open\",\"variable\":\"v\",\"bbox\":[5,5,30,30]}", &lim, &out, &err), 0);
    json_decref(out);
}

ND_TEST(sleep_range) {
    json_t *out;
    nd_error err = {0};
    CHECK_INT(check("sleep", "{\"seconds\":3601}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_INT(check("sleep", "{\"seconds\":-1}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_INT(check("sleep", "{\"seconds\":\"nan\"}", NULL, &out, &err), ND_E_INVALID_PARAM);
    CHECK_INT(check("sleep", "{}", NULL, &out, &err), 0);
    CHECK_NEAR(json_number_value(json_object_get(out, "seconds")), 1, 0);
    json_decref(out);
}
