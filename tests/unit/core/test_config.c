/* Unit tests for the YAML configuration loader: defaults, types, ${VAR}, errors with line:column. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "nadir/config.h"
#include "test.h"

/* The directory given to parse: absolute and absent, so it is used as it is. */
#define DIR "/srv/nadir"

static char err[512];

static nd_config *parse_ok(const char *text) {
    nd_config *c = NULL;
    err[0] = '\0';
    int rc = nd_config_parse(text, strlen(text), "demo.yaml", DIR, &c, err, sizeof err);
    if (rc != 0) ND_FAIL_AT("parse failed: %s", err);
    CHECK(c != NULL);
    return c;
}

/* Returns the message of a parse that must fail. */
static const char *parse_err(const char *text) {
    nd_config *c = (nd_config *)1;
    err[0] = '\0';
    int rc = nd_config_parse(text, strlen(text), "demo.yaml", DIR, &c, err, sizeof err);
    if (rc >= 0) ND_FAIL_AT("parse of <<%s>> succeeded, expected an error", text);
    CHECK(c == NULL);
    return err;
}

ND_TEST(defaults) {
    nd_config *c = parse_ok("server:\n");
    const nd_server_conf *s = &c->server;
    CHECK_STR(s->bind, "0.0.0.0");
    CHECK_INT(s->port, 8080);
    CHECK_STR(s->base_url, "http://localhost:8080");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    CHECK_INT(s->threads, cpus < 1 ? 1 : cpus > 256 ? 256 : cpus);
    CHECK_INT(s->max_connections, 1024);
    CHECK_INT(s->per_ip_connections, 0);
    CHECK_INT(s->timeout_s, 30);
    CHECK_INT(s->max_body, 10 * 1024 * 1024);
    CHECK_INT(s->ncors_origins, 1);
    CHECK_STR(s->cors_origins[0], "*");
    CHECK_STR(s->access_log, "-");
    CHECK_STR(s->data_dir, DIR "/var");
    CHECK(!s->debug_routes);
    CHECK_INT(c->ndatasets, 0);
    CHECK_STR(c->path, "demo.yaml");
    CHECK_STR(c->dir, DIR);
    nd_config_free(c);
}

ND_TEST(null_values_mean_defaults) {
    nd_config *c = parse_ok("server:\n  port: ~\n  bind:\ndatasets:\n");
    CHECK_INT(c->server.port, 8080);
    CHECK_STR(c->server.bind, "0.0.0.0");
    CHECK_INT(c->ndatasets, 0);
    nd_config_free(c);
}

ND_TEST(every_key) {
    nd_config *c = parse_ok("server:\n"
                            "  bind: 127.0.0.1\n"
                            "  port: 9000\n"
                            "  base_url: https://eo.example.org/nadir/\n"
                            "  threads: 4\n"
                            "  max_connections: 200\n"
                            "  per_ip_connections: 16\n"
                            "  timeout_s: 60\n"
                            "  max_body: 2MB\n"
                            "  cors_origins: [https://a.example, 'https://b.example']\n"
                            "  access_log: logs/access.log\n"
                            "  data_dir: /var/lib/nadir\n"
                            "  debug_routes: true\n"
                            "datasets:\n"
                            "  - id: sst\n"
                            "    title: Sea surface temperature\n"
                            "    abstract: Daily SST.\n"
                            "    license: CC-BY-4.0\n"
                            "    access: restricted\n"
                            "    keywords: [ocean, temperature]\n"
                            "    source: data/sst/*.nc\n"
                            "    variables: [analysed_sst, sea_ice_fraction]\n"
                            "  - id: dem.v2\n"
                            "    source: /data/dem.tif\n");
    const nd_server_conf *s = &c->server;
    CHECK_STR(s->bind, "127.0.0.1");
    CHECK_INT(s->port, 9000);
    CHECK_STR(s->base_url, "https://eo.example.org/nadir");
    CHECK_INT(s->threads, 4);
    CHECK_INT(s->max_connections, 200);
    CHECK_INT(s->per_ip_connections, 16);
    CHECK_INT(s->timeout_s, 60);
    CHECK_INT(s->max_body, 2000000);
    CHECK_INT(s->ncors_origins, 2);
    CHECK_STR(s->cors_origins[0], "https://a.example");
    CHECK_STR(s->cors_origins[1], "https://b.example");
    CHECK_STR(s->access_log, DIR "/logs/access.log");
    CHECK_STR(s->data_dir, "/var/lib/nadir");
    CHECK(s->debug_routes);

    CHECK_INT(c->ndatasets, 2);
    const nd_dataset_conf *d = &c->datasets[0];
    CHECK_STR(d->id, "sst");
    CHECK_STR(d->title, "Sea surface temperature");
    CHECK_STR(d->abstract, "Daily SST.");
    CHECK_STR(d->license, "CC-BY-4.0");
    CHECK_STR(d->access, "restricted");
    CHECK_INT(d->nkeywords, 2);
    CHECK_STR(d->keywords[1], "temperature");
    CHECK_STR(d->source, DIR "/data/sst/*.nc");
    CHECK_INT(d->nvariables, 2);
    CHECK_STR(d->variables[0], "analysed_sst");
    CHECK_STR(d->file, "demo.yaml");
    CHECK_INT(d->line, 15);

    d = &c->datasets[1];
    CHECK_STR(d->id, "dem.v2");
    CHECK_STR(d->title, "dem.v2");
    CHECK_STR(d->abstract, "");
    CHECK_STR(d->license, "");
    CHECK_STR(d->access, "public");
    CHECK_INT(d->nkeywords, 0);
    CHECK(d->keywords == NULL);
    CHECK_INT(d->nvariables, 0);
    CHECK_STR(d->source, "/data/dem.tif");
    CHECK_INT(d->line, 23);
    nd_config_free(c);
}

ND_TEST(base_url_follows_port_and_is_checked) {
    nd_config *c = parse_ok("server:\n  port: 9999\n");
    CHECK_STR(c->server.base_url, "http://localhost:9999");
    nd_config_free(c);
    c = parse_ok("server: {base_url: 'http://x.org///'}\n");
    CHECK_STR(c->server.base_url, "http://x.org");
    nd_config_free(c);
    CHECK_STR(parse_err("server:\n  base_url: ftp://x.org\n"),
              "demo.yaml:2:13: 'base_url' must be an http:// or https:// URL, got 'ftp://x.org'");
    CHECK_CONTAINS(parse_err("server:\n  base_url: https://\n"), "demo.yaml:2:13: 'base_url' must be an http");
}

ND_TEST(bools) {
    static const struct { const char *text; bool want; } cases[] = {
        {"true", true}, {"false", false}, {"yes", true}, {"No", false}, {"on", true}, {"OFF", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "server:\n  debug_routes: %s\n", cases[i].text);
        nd_config *c = parse_ok(text);
        CHECK_INT(c->server.debug_routes, cases[i].want);
        nd_config_free(c);
    }
    CHECK_STR(parse_err("server:\n  debug_routes: maybe\n"),
              "demo.yaml:2:17: 'debug_routes' must be true or false, got 'maybe'");
}

ND_TEST(size_suffixes) {
    static const struct { const char *text; long long want; } cases[] = {
        {"0", 0},
        {"512", 512},
        {"512B", 512},
        {"1KB", 1000},
        {"3MB", 3000000},
        {"2GB", 2000000000LL},
        {"1KiB", 1024},
        {"10MiB", 10LL << 20},
        {"2GiB", 2LL << 30},
        {"64k", 64 << 10},
        {"5M", 5LL << 20},
        {"1G", 1LL << 30},
        {"'8 MiB'", 8LL << 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "server:\n  max_body: %s\n", cases[i].text);
        nd_config *c = parse_ok(text);
        if (c->server.max_body != cases[i].want)
            ND_FAIL_AT("%s gave %lld, expected %lld", cases[i].text, c->server.max_body, cases[i].want);
        nd_config_free(c);
    }
    static const char *const bad[] = {"-1", "1.5M", "10XB", "MiB", "abc", "2TiB", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "server:\n  max_body: %s\n", bad[i]);
        CHECK_CONTAINS(parse_err(text), "demo.yaml:2:13: 'max_body' must be a size");
        CHECK_CONTAINS(err, bad[i]);
    }
}

ND_TEST(env_substitution) {
    setenv("ND_TEST_PORT", "9123", 1);
    setenv("ND_TEST_HOST", "eo.example.org", 1);
    setenv("ND_TEST_EMPTY", "", 1);
    unsetenv("ND_TEST_UNSET");
    nd_config *c = parse_ok("server:\n"
                            "  port: ${ND_TEST_PORT}\n"
                            "  base_url: https://${ND_TEST_HOST}/x\n"
                            "  bind: ${ND_TEST_UNSET:-127.0.0.1}\n"
                            "  access_log: \"${ND_TEST_EMPTY:-off}\"\n"
                            "  cors_origins: [\"https://${ND_TEST_HOST}\", \"${ND_TEST_UNSET:-}x\"]\n"
                            "datasets:\n"
                            "  - id: a\n"
                            "    title: costs $$5 and $x, not ${ND_TEST_EMPTY}${ND_TEST_UNSET:-y}\n"
                            "    source: /d/a.nc\n");
    CHECK_INT(c->server.port, 9123);
    CHECK_STR(c->server.base_url, "https://eo.example.org/x");
    CHECK_STR(c->server.bind, "127.0.0.1");
    CHECK_STR(c->server.access_log, "off");
    CHECK_STR(c->server.cors_origins[0], "https://eo.example.org");
    CHECK_STR(c->server.cors_origins[1], "x");
    CHECK_STR(c->datasets[0].title, "costs $5 and $x, not y");
    nd_config_free(c);
}

ND_TEST(env_missing_and_malformed) {
    unsetenv("ND_TEST_UNSET");
    CHECK_CONTAINS(parse_err("server:\n  bind: ${ND_TEST_UNSET}\n"),
                   "demo.yaml:2:9: environment variable 'ND_TEST_UNSET' is not set");
    CHECK_CONTAINS(parse_err("datasets:\n  - id: a\n    source: /x/${ND_TEST_UNSET}.nc\n"),
                   "demo.yaml:3:13: environment variable 'ND_TEST_UNSET' is not set");
    CHECK_CONTAINS(parse_err("server:\n  bind: ${ND_TEST_UNSET\n"), "demo.yaml:2:9: unterminated '${'");
    CHECK_CONTAINS(parse_err("server:\n  bind: ${9X}\n"), "demo.yaml:2:9: bad variable reference '${9X}'");
    /* A substituted value is checked like one written out. */
    setenv("ND_TEST_PORT", "http", 1);
    CHECK_STR(parse_err("server:\n  port: ${ND_TEST_PORT}\n"),
              "demo.yaml:2:9: 'port' must be an integer between 1 and 65535, got 'http'");
}

/* The position and the key must be exact; the list of accepted keys grows with each service, so
 * only a few of them are checked. */
static void check_unknown(const char *msg, const char *prefix, const char *some_accepted) {
    if (strncmp(msg, prefix, strlen(prefix)) != 0) ND_FAIL_AT("\"%s\" does not start with \"%s\"", msg, prefix);
    CHECK_CONTAINS(msg, "(expected one of: ");
    CHECK_CONTAINS(msg, some_accepted);
}

ND_TEST(unknown_key_exact_position) {
    check_unknown(parse_err("server:\n"
                            "    bind: 0.0.0.0\n"
                            "    prot: 80\n"),
                  "demo.yaml:3:5: unknown key 'prot' in server (", "bind, port, base_url, threads");
    check_unknown(parse_err("# comment\nserver: {}\nsevrer: {}\n"),
                  "demo.yaml:3:1: unknown key 'sevrer' in the configuration (", "server, datasets");
    check_unknown(parse_err("datasets:\n  - id: a\n    source: a.nc\n    titel: A\n"),
                  "demo.yaml:4:5: unknown key 'titel' in dataset (", "id, title, abstract");
}

ND_TEST(wrong_types) {
    CHECK_STR(parse_err("server:\n  port: abc\n"),
              "demo.yaml:2:9: 'port' must be an integer between 1 and 65535, got 'abc'");
    check_unknown(parse_err("port: 1\n"), "demo.yaml:1:1: unknown key 'port' in the configuration (",
                  "server, datasets");
    CHECK_STR(parse_err("server:\n  port: 70000\n"),
              "demo.yaml:2:9: 'port' must be an integer between 1 and 65535, got '70000'");
    CHECK_STR(parse_err("server:\n  port: 0\n"),
              "demo.yaml:2:9: 'port' must be an integer between 1 and 65535, got '0'");
    CHECK_CONTAINS(parse_err("server:\n  threads: 1000\n"), "'threads' must be an integer between 1 and 256");
    CHECK_CONTAINS(parse_err("server:\n  timeout_s: 1.5\n"), "demo.yaml:2:14: 'timeout_s' must be an integer");
    CHECK_STR(parse_err("server:\n  bind:\n    a: 1\n"), "demo.yaml:3:5: 'bind' must be a single value, got a mapping");
    CHECK_STR(parse_err("server:\n  bind: [a]\n"), "demo.yaml:2:9: 'bind' must be a single value, got a list");
    CHECK_STR(parse_err("server:\n  bind: ''\n"), "demo.yaml:2:9: 'bind' must not be empty");
    CHECK_STR(parse_err("server:\n  cors_origins: {a: 1}\n"),
              "demo.yaml:2:17: 'cors_origins' must be a string or a list of strings, got a mapping");
    CHECK_STR(parse_err("server:\n  cors_origins:\n    - a\n    - [b]\n"),
              "demo.yaml:4:7: 'cors_origins' must be a list of strings, got a list in it");
    CHECK_STR(parse_err("server: 3\n"), "demo.yaml:1:9: 'server' must be a mapping, got a string");
    CHECK_STR(parse_err("datasets:\n  id: a\n"), "demo.yaml:2:3: 'datasets' must be a list of mappings, got a mapping");
    CHECK_STR(parse_err("datasets:\n  - a.nc\n"), "demo.yaml:2:5: each item of 'datasets' must be a mapping, got a string");
    CHECK_STR(parse_err("server:\n  [a]: 1\n"), "demo.yaml:2:3: keys in server must be plain names, got a list");
}

ND_TEST(single_string_list) {
    nd_config *c = parse_ok("server:\n  cors_origins: https://portal.example\n"
                            "datasets:\n  - {id: a, source: a.nc, keywords: sea}\n");
    CHECK_INT(c->server.ncors_origins, 1);
    CHECK_STR(c->server.cors_origins[0], "https://portal.example");
    CHECK_INT(c->datasets[0].nkeywords, 1);
    CHECK_STR(c->datasets[0].keywords[0], "sea");
    nd_config_free(c);
    c = parse_ok("server:\n  cors_origins: []\n");
    CHECK_INT(c->server.ncors_origins, 0);
    nd_config_free(c);
}

ND_TEST(duplicate_dataset_id) {
    CHECK_STR(parse_err("datasets:\n"
                        "  - id: sst\n"
                        "    source: a.nc\n"
                        "  - id: chl\n"
                        "    source: b.nc\n"
                        "  - source: c.nc\n"
                        "    id: sst\n"),
              "demo.yaml:7:9: duplicate dataset id 'sst' (the dataset at line 2 already uses it)");
}

ND_TEST(dataset_required_and_id_rules) {
    CHECK_STR(parse_err("datasets:\n  - source: a.nc\n"), "demo.yaml:2:5: missing key 'id' in dataset");
    CHECK_STR(parse_err("datasets:\n  - id: a\n"), "demo.yaml:2:5: missing key 'source' in dataset");
    CHECK_STR(parse_err("datasets:\n  - id:\n    source: a.nc\n"), "demo.yaml:2:8: 'id' must not be empty");
    CHECK_STR(parse_err("datasets:\n  - id: a/b\n    source: a.nc\n"),
              "demo.yaml:2:9: 'id' may contain only letters, digits, '_', '.' and '-', got 'a/b'");
    char text[256];
    snprintf(text, sizeof text, "datasets:\n  - id: %0*d\n    source: a.nc\n", 65, 0);
    CHECK_CONTAINS(parse_err(text), "demo.yaml:2:9: 'id' must be at most 64 characters");
    snprintf(text, sizeof text, "datasets:\n  - id: %0*d\n    source: a.nc\n", 64, 0);
    nd_config_free(parse_ok(text));
}

ND_TEST(duplicate_key) {
    CHECK_STR(parse_err("server:\n  port: 1\n  port: 2\n"), "demo.yaml:3:3: key 'port' appears twice in server");
}

ND_TEST(syntax_errors) {
    CHECK_STR(parse_err("server:\n  port: 80\n bind: x\n"),
              "demo.yaml:3:2: did not find expected key (while parsing a block mapping at line 1, column 1)");
    CHECK_CONTAINS(parse_err("server:\n  bind: \"unterminated\n"), "demo.yaml:3:1: found unexpected end of stream");
    CHECK_CONTAINS(parse_err("server: [a, b\n"), "demo.yaml:2:1:");
    CHECK_CONTAINS(parse_err("server:\n  bind: a\n\tport: 1\n"), "demo.yaml:3:");
    /* Invalid UTF-8: libyaml reports a byte offset, turned into a line here. */
    CHECK_CONTAINS(parse_err("server:\n  bind: \xff\n"), "demo.yaml:2:9: invalid");
}

ND_TEST(empty_and_odd_documents) {
    CHECK_STR(parse_err(""), "demo.yaml:1:1: no configuration (expected a mapping with server/datasets)");
    CHECK_STR(parse_err("# only a comment\n"), "demo.yaml:1:1: no configuration (expected a mapping with server/datasets)");
    CHECK_CONTAINS(parse_err("---\n"), "no configuration (expected a mapping with server/datasets)");
    CHECK_STR(parse_err("- a\n- b\n"),
              "demo.yaml:1:1: the configuration must be a mapping with server/datasets, got a list");
    CHECK_STR(parse_err("server: {}\n---\nserver: {}\n"),
              "demo.yaml:2:1: only one YAML document is allowed in the configuration");
    nd_config_free(parse_ok("datasets: []\n"));
}

ND_TEST(relative_paths) {
    nd_config *c = parse_ok("server:\n"
                            "  data_dir: ./work/../cache\n"
                            "  access_log: off\n"
                            "datasets:\n"
                            "  - {id: a, source: data/*.nc}\n"
                            "  - {id: b, source: ./x.tif}\n"
                            "  - {id: c, source: /abs/y.tif}\n"
                            "  - {id: d, source: 'https://host/z.tif'}\n"
                            "  - {id: e, source: /vsicurl/https://host/z.tif}\n");
    CHECK_STR(c->server.data_dir, DIR "/work/../cache");
    CHECK_STR(c->server.access_log, "off");
    CHECK_STR(c->datasets[0].source, DIR "/data/*.nc");
    CHECK_STR(c->datasets[1].source, DIR "/x.tif");
    CHECK_STR(c->datasets[2].source, "/abs/y.tif");
    CHECK_STR(c->datasets[3].source, "https://host/z.tif");
    CHECK_STR(c->datasets[4].source, "/vsicurl/https://host/z.tif");
    nd_config_free(c);

    /* A relative dir is made absolute against the working directory. */
    c = NULL;
    const char *text = "datasets:\n  - {id: a, source: a.nc}\n";
    CHECK_INT(nd_config_parse(text, strlen(text), "x.yaml", "no-such-dir/conf", &c, err, sizeof err), 0);
    char cwd[PATH_MAX], want[PATH_MAX + 64];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(want, sizeof want, "%s/no-such-dir/conf/a.nc", cwd);
    CHECK_STR(c->datasets[0].source, want);
    nd_config_free(c);
}

ND_TEST(alias_refused) {
    CHECK_STR(parse_err("server:\n"
                        "  bind: &b 0.0.0.0\n"
                        "  access_log: *b\n"),
              "demo.yaml:3:15: YAML aliases (*b) are not supported in the configuration; repeat the value");
    /* A "billion laughs" document fails at its first alias instead of expanding. */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
    CHECK_CONTAINS(parse_err(bomb), "demo.yaml:2:8: YAML aliases (*a)");
}

ND_TEST(limits) {
    /* Nesting is bounded so the tree stays shallow. */
    char deep[400] = "server: ";
    for (int i = 0; i < 100; i++) strcat(deep, "[");
    CHECK_CONTAINS(parse_err(deep), "nested deeper than 64 levels");
    /* Size is checked before parsing. */
    nd_config *c = (nd_config *)1;
    CHECK(nd_config_parse("server:\n", (16u << 20) + 1, "big.yaml", DIR, &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "big.yaml:1:1: too large");
}

ND_TEST(load_missing_file) {
    nd_config *c = (nd_config *)1;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/absent.yaml", nd_test_tmp_dir());
    CHECK(nd_config_load(path, &c, err, sizeof err) < 0);
    CHECK(c == NULL);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory", path);
    CHECK_STR(err, want);
    CHECK(nd_config_load(nd_test_tmp_dir(), &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, ": cannot read: Is a directory");
}

ND_TEST(load_real_file) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/nadir.yaml", nd_test_tmp_dir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("# a test config\n"
          "server:\n"
          "  port: 8181\n"
          "datasets:\n"
          "  - id: dem\n"
          "    source: dem.tif\n",
          f);
    fclose(f);
    nd_config *c = NULL;
    if (nd_config_load(path, &c, err, sizeof err) != 0) ND_FAIL_AT("load failed: %s", err);
    char dir[PATH_MAX], want[PATH_MAX + 16];
    CHECK(realpath(nd_test_tmp_dir(), dir) != NULL);
    CHECK_STR(c->path, path);
    CHECK_STR(c->dir, dir);
    CHECK_INT(c->server.port, 8181);
    CHECK_STR(c->server.base_url, "http://localhost:8181");
    snprintf(want, sizeof want, "%s/var", dir);
    CHECK_STR(c->server.data_dir, want);
    CHECK_INT(c->ndatasets, 1);
    snprintf(want, sizeof want, "%s/dem.tif", dir);
    CHECK_STR(c->datasets[0].source, want);
    CHECK_STR(c->datasets[0].file, path);
    CHECK_INT(c->datasets[0].line, 5);
    nd_config_free(c);

    /* Errors in a loaded file carry its path. */
    f = fopen(path, "w");
    CHECK(f != NULL);
    fputs("server:\n  prot: 1\n", f);
    fclose(f);
    CHECK(nd_config_load(path, &c, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s:2:3: unknown key 'prot'", path);
    CHECK_CONTAINS(err, want);
}

ND_TEST(free_null) {
    nd_config_free(NULL);
}
