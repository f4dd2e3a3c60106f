/* The viewer's static files: index, media types, caching, the redirect, and every path that must not
 * leave the folder (.., hidden files, symlinks out, unknown types, a viewer not built). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nadir/app.h"
#include "nadir/http.h"
#include "test.h"

static void put(const char *dir, const char *name, const char *text) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
}

typedef struct {
    nd_config cfg;
    nd_app *app;
    char root[900], outside[900];
} fixture;

/* top/{secret.html, viewer/}: viewer/{index.html, assets/app.js, .env, notes.xyz, link-in.html -> index.html, link-out.html -> ../outside}. */
static void setup(fixture *f, const char *name) {
    char top[800];
    snprintf(top, sizeof top, "%s/static-%s", nd_test_tmp_dir(), name);
    mkdir(top, 0755);
    snprintf(f->root, sizeof f->root, "%s/viewer", top);
    snprintf(f->outside, sizeof f->outside, "%s/secret.html", top);
    char assets[1000];
    snprintf(assets, sizeof assets, "%s/assets", f->root);
    mkdir(f->root, 0755);
    mkdir(assets, 0755);
    put(f->root, "index.html", "<!doctype html><title>viewer</title>");
    put(f->root, "assets/app.js", "console.log('hi');");
    put(f->root, ".env", "SECRET=1");
    put(f->root, "notes.xyz", "?");
    put(top, "secret.html", "secret");
    char link[1000];
    snprintf(link, sizeof link, "%s/link-in.html", f->root);
    CHECK(symlink("index.html", link) == 0);
    snprintf(link, sizeof link, "%s/link-out.html", f->root);
    CHECK(symlink(f->outside, link) == 0);
    f->cfg = (nd_config){0};
    f->cfg.server.base_url = "http://example.org";
    f->cfg.server.viewer_dir = f->root;
    f->app = nd_app_new(&f->cfg, NULL);
    nd_viewer_register(f->app);
}

static void teardown(fixture *f) { nd_app_free(f->app); }

static nd_resp get(fixture *f, const char *url, nd_req **rq_out) {
    nd_req *rq = nd_req_new_test(f->app, "GET", url, NULL);
    nd_resp rs = {0};
    nd_http_dispatch(f->app, rq, &rs);
    *rq_out = rq;
    return rs;
}

static int status_of(fixture *f, const char *url) {
    nd_req *rq;
    nd_resp rs = get(f, url, &rq);
    int s = rs.status;
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    return s;
}

ND_TEST(index_and_assets) {
    fixture f;
    setup(&f, "index_and_assets");
    nd_req *rq;
    nd_resp rs = get(&f, "/viewer/", &rq);
    CHECK_INT(rs.status, 200);
    CHECK_STR(rs.content_type, "text/html; charset=utf-8");
    CHECK_CONTAINS(rs.body.data, "<title>viewer</title>");
    CHECK(rs.compressible);
    CHECK_INT(rs.cache_seconds, 60); /* index.html names the hashed bundle: it must revalidate soon */
    nd_resp_free(&rs);
    nd_req_free_test(rq);

    rs = get(&f, "/viewer/assets/app.js", &rq);
    CHECK_INT(rs.status, 200);
    CHECK_STR(rs.content_type, "text/javascript; charset=utf-8");
    CHECK_INT(rs.body.len, 18);
    CHECK_INT(rs.cache_seconds, 31536000); /* hashed names never change */
    nd_resp_free(&rs);
    nd_req_free_test(rq);

    CHECK_INT(status_of(&f, "/viewer/link-in.html"), 200); /* a symlink that stays inside is fine */
    teardown(&f);
}

ND_TEST(precompressed_for_gzip_clients) {
    fixture f;
    setup(&f, "precompressed");
    put(f.root, "assets/app.js.gz", "GZ-BYTES");
    nd_req *rq = nd_req_new_test(f.app, "GET", "/viewer/assets/app.js", NULL);
    nd_kvlist_add(rq->arena, &rq->headers, "Accept-Encoding", "br, gzip");
    nd_resp rs = {0};
    nd_http_dispatch(f.app, rq, &rs);
    CHECK_INT(rs.status, 200);
    CHECK_STR(rs.content_type, "text/javascript; charset=utf-8");
    CHECK_STR(nd_kvlist_get(&rs.headers, "Content-Encoding"), "gzip");
    CHECK_INT(rs.body.len, 8);
    CHECK(!rs.compressible); /* already compressed */
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    /* Clients that do not take gzip get the plain file; the .gz itself is not served by its name. */
    rs = get(&f, "/viewer/assets/app.js", &rq);
    CHECK(nd_kvlist_get(&rs.headers, "Content-Encoding") == NULL);
    CHECK_INT(rs.body.len, 18);
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    CHECK_INT(status_of(&f, "/viewer/assets/app.js.gz"), 404);
    teardown(&f);
}

ND_TEST(redirect_keeps_the_query) {
    fixture f;
    setup(&f, "redirect_keeps_the_query");
    nd_req *rq;
    nd_resp rs = get(&f, "/viewer?x=1", &rq);
    CHECK_INT(rs.status, 301);
    CHECK_STR(nd_kvlist_get(&rs.headers, "Location"), "/viewer/?x=1");
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    teardown(&f);
}

ND_TEST(paths_that_leave_or_hide) {
    fixture f;
    setup(&f, "paths_that_leave_or_hide");
    static const char *const refused[] = {
        "/viewer/../secret.html",      "/viewer/%2e%2e/secret.html", "/viewer/assets/../../secret.html",
        "/viewer/./index.html",        "/viewer/.env",               "/viewer/link-out.html",
        "/viewer/notes.xyz",           "/viewer/assets//app.js",     "/viewer/missing.js",
        "/viewer/assets",              "/viewer/assets\\app.js",     "/viewer/index.html%00.js",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int s = status_of(&f, refused[i]);
        if (s != 404 && s != 400) ND_FAIL_AT("%s answered %d", refused[i], s);
    }
    teardown(&f);
}

ND_TEST(not_built) {
    fixture f;
    setup(&f, "not_built");
    char missing[1000];
    snprintf(missing, sizeof missing, "%s/nowhere", f.root);
    f.cfg.server.viewer_dir = missing;
    nd_req *rq;
    nd_resp rs = get(&f, "/viewer/", &rq);
    CHECK_INT(rs.status, 404);
    CHECK_CONTAINS(rs.body.data, "not built");
    nd_resp_free(&rs);
    nd_req_free_test(rq);
    teardown(&f);
}
