/* Identity and permissions: API keys, JWTs minted here with OpenSSL + libjwt against a JWKS written here,
 * the rules, job ownership, the document cache per role set, and the token bucket. */
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <time.h>

#include "nadir/app.h"
#include "nadir/auth.h"
#include "nadir/config.h"
#include "nadir/limits.h"
#include "test.h"

static void b64url(const unsigned char *in, size_t n, char *out) {
    int m = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    for (int i = 0; i < m; i++) out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    while (m > 0 && out[m - 1] == '=') m--;
    out[m] = '\0';
}

static char *bn_b64(EVP_PKEY *k, const char *name) {
    BIGNUM *bn = NULL;
    CHECK(EVP_PKEY_get_bn_param(k, name, &bn));
    unsigned char buf[1024];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    char *out = malloc(2048);
    b64url(buf, (size_t)n, out);
    return out;
}

static char *priv_pem(EVP_PKEY *k) {
    BIO *b = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
    char *d;
    long n = BIO_get_mem_data(b, &d);
    char *s = strndup(d, (size_t)n);
    BIO_free(b);
    return s;
}

static char *pub_pem(EVP_PKEY *k) {
    BIO *b = BIO_new(BIO_s_mem());
    CHECK(PEM_write_bio_PUBKEY(b, k));
    char *d;
    long n = BIO_get_mem_data(b, &d);
    char *s = strndup(d, (size_t)n);
    BIO_free(b);
    return s;
}

typedef struct fixture {
    EVP_PKEY *rsa, *ec, *other;
    nd_config *cfg;
    nd_app *app;
} fixture;

#define KEY_ANALYST "analyst-key-0123456789"
#define KEY_ADMIN "admin-key-0123456789"

/* A JWKS with an RSA and an EC key, and a configuration with keys, OIDC and rules. */
static void setup(fixture *f, const char *extra) {
    f->rsa = EVP_RSA_gen(2048);
    f->other = EVP_RSA_gen(2048);
    f->ec = EVP_EC_gen("P-256");
    char *n = bn_b64(f->rsa, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(f->rsa, OSSL_PKEY_PARAM_RSA_E);
    char *x = bn_b64(f->ec, OSSL_PKEY_PARAM_EC_PUB_X), *y = bn_b64(f->ec, OSSL_PKEY_PARAM_EC_PUB_Y);
    char path[512];
    snprintf(path, sizeof path, "%s/jwks.json", nd_test_tmp_dir());
    FILE *fp = fopen(path, "w");
    fprintf(fp,
            "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\",\"e\":\"%s\"},"
            "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
            n, e, x, y);
    fclose(fp);
    free(n), free(e), free(x), free(y);
    char h1[65], h2[65];
    nd_auth_sha256_hex(KEY_ANALYST, strlen(KEY_ANALYST), h1);
    nd_auth_sha256_hex(KEY_ADMIN, strlen(KEY_ADMIN), h2);
    nd_buf y_ = {0};
    nd_buf_printf(&y_,
                  "auth:\n  issuer: https://idp.example/realms/eo\n  audience: nadir\n  jwks: %s\n"
                  "  keys:\n    - {id: k-analyst, sha256: %s, user: ana, roles: [analyst]}\n"
                  "    - {id: k-admin, sha256: %s, roles: [admin]}\n"
                  "  rules:\n    - {datasets: [secret*], read: [analyst]}\n"
                  "    - {datasets: [secret-raw], transactions: [editor]}\n"
                  "    - {processes: [pca], execute: [authenticated]}\n"
                  "    - {datasets: [closed], read: [nobody]}\n%s",
                  path, h1, h2, extra ? extra : "");
    char err[512];
    if (nd_config_parse(y_.data, y_.len, "t.yaml", nd_test_tmp_dir(), &f->cfg, err, sizeof err) < 0)
        ND_FAIL_AT("config: %s", err);
    nd_buf_free(&y_);
    free(f->cfg->server.base_url);
    f->cfg->server.base_url = strdup("http://example.org");
    f->app = nd_app_new(f->cfg, NULL);
    if (nd_auth_open(f->app, err, sizeof err) < 0) ND_FAIL_AT("auth: %s", err);
}

static void teardown(fixture *f) {
    nd_app_free(f->app);
    nd_config_free(f->cfg);
    EVP_PKEY_free(f->rsa);
    EVP_PKEY_free(f->ec);
    EVP_PKEY_free(f->other);
}

/* A signed token; claims as JSON, alg/key/kid as a client (or an attacker) would choose them. */
static char *mint(EVP_PKEY *k, jwt_alg_t alg, const char *kid, const char *claims_fmt, ...) {
    char claims[2048];
    va_list ap;
    va_start(ap, claims_fmt);
    vsnprintf(claims, sizeof claims, claims_fmt, ap);
    va_end(ap);
    jwt_t *j;
    CHECK(jwt_new(&j) == 0);
    CHECK(jwt_add_grants_json(j, claims) == 0);
    if (kid) jwt_add_header(j, "kid", kid);
    char *pem = alg == JWT_ALG_HS256 ? pub_pem(k) : priv_pem(k);
    CHECK(jwt_set_alg(j, alg, (const unsigned char *)pem, (int)strlen(pem)) == 0);
    char *t = jwt_encode_str(j);
    CHECK(t != NULL);
    jwt_free(j);
    free(pem);
    return t;
}

#define CLAIMS(iss, aud, exp) \
    "{\"iss\":\"%s\",\"aud\":%s,\"exp\":%lld,\"preferred_username\":\"bob\",\"realm_access\":{\"roles\":[\"analyst\"]},\"groups\":[\"/team-a\"]}", \
        iss, aud, (long long)(exp)
#define ISS "https://idp.example/realms/eo"

/* Runs identification for one request with an Authorization header; returns the code (0 or negative). */
static int who(fixture *f, const char *authz, nd_req **out) {
    nd_req *rq = nd_req_new_test(f->app, "GET", "/collections", NULL);
    if (authz) nd_kvlist_add(rq->arena, &rq->headers, "Authorization", authz);
    int rc = nd_auth_identify(rq);
    *out = rq;
    return rc;
}

static int bearer(fixture *f, char *token, nd_req **out) {
    char h[4096];
    snprintf(h, sizeof h, "Bearer %s", token);
    free(token);
    return who(f, h, out);
}

ND_TEST(valid_rs256_and_es256_tokens_give_user_and_keycloak_roles) {
    fixture f;
    setup(&f, NULL);
    nd_req *rq;
    CHECK_INT(bearer(&f, mint(f.rsa, JWT_ALG_RS256, "r1", CLAIMS(ISS, "\"nadir\"", time(NULL) + 300)), &rq), 0);
    CHECK_STR(rq->who->user, "bob");
    CHECK_STR(rq->who->roleset, "analyst,anonymous,authenticated,team-a");
    CHECK(!rq->who->admin);
    CHECK(nd_auth_may(rq, ND_AUTH_DATASET, "secret-sst", ND_OP_READ));
    nd_req_free_test(rq);
    /* ES256, no kid, audience in a list */
    CHECK_INT(bearer(&f, mint(f.ec, JWT_ALG_ES256, NULL, CLAIMS(ISS, "[\"x\",\"nadir\"]", time(NULL) + 300)), &rq), 0);
    CHECK_STR(rq->who->user, "bob");
    nd_req_free_test(rq);
    teardown(&f);
}

ND_TEST(bad_tokens_are_refused_with_401) {
    fixture f;
    setup(&f, NULL);
    nd_req *rq;
    struct { char *token; const char *why; } cases[] = {
        {mint(f.rsa, JWT_ALG_RS256, "r1", CLAIMS(ISS, "\"nadir\"", time(NULL) - 3600)), "expired"},
        {mint(f.rsa, JWT_ALG_RS256, "r1", CLAIMS(ISS, "\"other\"", time(NULL) + 300)), "audience"},
        {mint(f.rsa, JWT_ALG_RS256, "r1", CLAIMS("https://evil", "\"nadir\"", time(NULL) + 300)), "issuer"},
        {mint(f.other, JWT_ALG_RS256, "r1", CLAIMS(ISS, "\"nadir\"", time(NULL) + 300)), "signature"},
        {mint(f.rsa, JWT_ALG_RS256, "nope", CLAIMS(ISS, "\"nadir\"", time(NULL) + 300)), "key"},
        /* algorithm confusion: HMAC keyed with the public key, which libjwt alone would accept */
        {mint(f.rsa, JWT_ALG_HS256, "r1", CLAIMS(ISS, "\"nadir\"", time(NULL) + 300)), "algorithm"},
        {mint(f.rsa, JWT_ALG_RS256, "r1", "{\"iss\":\"%s\",\"aud\":\"nadir\",\"sub\":\"x\"}", ISS), "expired"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(bearer(&f, cases[i].token, &rq), -ND_E_UNAUTHORIZED);
        CHECK_INT(rq->err.code, ND_E_UNAUTHORIZED);
        CHECK_CONTAINS(rq->err.detail, cases[i].why);
        CHECK(rq->who && !rq->who->user);
        nd_req_free_test(rq);
    }
    /* a tampered payload under a valid signature */
    char *t = mint(f.rsa, JWT_ALG_RS256, "r1", CLAIMS(ISS, "\"nadir\"", time(NULL) + 300));
    char *dot = strchr(t, '.') + 1;
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    CHECK_INT(bearer(&f, t, &rq), -ND_E_UNAUTHORIZED);
    nd_req_free_test(rq);
    teardown(&f);
}

ND_TEST(api_keys_hashed_in_the_config) {
    fixture f;
    setup(&f, NULL);
    nd_req *rq;
    CHECK_INT(who(&f, "Bearer " KEY_ANALYST, &rq), 0);
    CHECK_STR(rq->who->user, "ana");
    CHECK_STR(rq->who->key_id, "k-analyst");
    nd_req_free_test(rq);
    rq = nd_req_new_test(f.app, "GET", "/x", NULL);
    nd_kvlist_add(rq->arena, &rq->headers, "X-API-Key", KEY_ADMIN);
    CHECK_INT(nd_auth_identify(rq), 0);
    CHECK_STR(rq->who->user, "k-admin");
    CHECK(rq->who->admin);
    nd_req_free_test(rq);
    CHECK_INT(who(&f, "Bearer wrong-key-0123456789", &rq), -ND_E_UNAUTHORIZED);
    nd_req_free_test(rq);
    CHECK_INT(who(&f, "Basic YWxhZGRpbjpvcGVuc2VzYW1l", &rq), -ND_E_UNAUTHORIZED);
    nd_req_free_test(rq);
    CHECK_INT(who(&f, NULL, &rq), 0); /* anonymous is fine unless auth.required */
    CHECK(!rq->who->user);
    CHECK_STR(rq->who->roleset, "anonymous");
    nd_req_free_test(rq);
    teardown(&f);
}

ND_TEST(rules_decide_per_dataset_process_and_operation) {
    fixture f;
    setup(&f, NULL);
    nd_req *anon, *ana, *adm;
    who(&f, NULL, &anon);
    who(&f, "Bearer " KEY_ANALYST, &ana);
    who(&f, "Bearer " KEY_ADMIN, &adm);
    CHECK(nd_auth_may(anon, ND_AUTH_DATASET, "sst", ND_OP_READ)); /* no rule: open */
    CHECK(!nd_auth_may(anon, ND_AUTH_DATASET, "secret-raw", ND_OP_READ));
    CHECK(nd_auth_may(ana, ND_AUTH_DATASET, "secret-raw", ND_OP_READ));
    CHECK(!nd_auth_may(ana, ND_AUTH_DATASET, "closed", ND_OP_READ));
    CHECK(nd_auth_may(adm, ND_AUTH_DATASET, "closed", ND_OP_READ));
    CHECK(!nd_auth_may(ana, ND_AUTH_DATASET, "secret-raw", ND_OP_TRANSACTIONS)); /* editor only */
    CHECK(!nd_auth_may(ana, ND_AUTH_DATASET, "sst", ND_OP_TRANSACTIONS));         /* default: admins */
    CHECK(nd_auth_may(adm, ND_AUTH_DATASET, "sst", ND_OP_TRANSACTIONS));
    CHECK(!nd_auth_may(anon, ND_AUTH_PROCESS, "pca", ND_OP_EXECUTE));
    CHECK(nd_auth_may(ana, ND_AUTH_PROCESS, "pca", ND_OP_EXECUTE));
    CHECK(nd_auth_may(anon, ND_AUTH_PROCESS, "plume", ND_OP_EXECUTE));
    CHECK(!nd_auth_may(ana, ND_AUTH_PROCESS, "pca", ND_OP_ADMIN));
    /* 401 for the anonymous caller, 403 for the signed-in one */
    CHECK_INT(nd_auth_check(anon, ND_AUTH_DATASET, "closed", ND_OP_READ), -ND_E_UNAUTHORIZED);
    CHECK_INT(nd_auth_check(ana, ND_AUTH_DATASET, "closed", ND_OP_READ), -ND_E_FORBIDDEN);
    /* jobs: owner and admins */
    CHECK_STR(nd_auth_owner(ana), "ana");
    CHECK(nd_auth_owns(ana, "ana"));
    CHECK(!nd_auth_owns(ana, "bob"));
    CHECK(!nd_auth_owns(anon, "ana"));
    CHECK(nd_auth_owns(adm, "ana"));
    nd_req_free_test(anon);
    nd_req_free_test(ana);
    nd_req_free_test(adm);
    teardown(&f);
}

ND_TEST(no_auth_section_allows_everything) {
    nd_config cfg = {0};
    cfg.server.base_url = "http://example.org";
    nd_app *app = nd_app_new(&cfg, NULL);
    char err[128];
    CHECK_INT(nd_auth_open(app, err, sizeof err), 0);
    CHECK(app->auth == NULL && app->limits == NULL);
    nd_req *rq = nd_req_new_test(app, "GET", "/", NULL);
    nd_kvlist_add(rq->arena, &rq->headers, "Authorization", "Bearer whatever");
    CHECK_INT(nd_auth_identify(rq), 0);
    CHECK(nd_auth_may(rq, ND_AUTH_DATASET, "closed", ND_OP_READ));
    CHECK(nd_auth_may(rq, ND_AUTH_DATASET, "x", ND_OP_TRANSACTIONS));
    CHECK(nd_auth_owns(rq, "someone"));
    nd_req_free_test(rq);
    nd_app_free(app);
}

static int h_roles(nd_req *rq, nd_resp *rs) {
    nd_buf_puts(&rs->body, rq->who->roleset);
    rs->content_type = "text/plain";
    return 0;
}
static int h_cached(nd_req *rq, nd_resp *rs) { return nd_app_cached_doc(rq->app, "doc", rq, rs, h_roles); }

/* One dispatched request; its response headers live in the request's arena until done(). */
typedef struct exchange {
    nd_req *rq;
    nd_resp rs;
} exchange;

static exchange run(nd_app *app, const char *authz, const char *path) {
    exchange x = {nd_req_new_test(app, "GET", path, NULL), {0}};
    if (authz) nd_kvlist_add(x.rq->arena, &x.rq->headers, "Authorization", authz);
    nd_http_dispatch(app, x.rq, &x.rs);
    return x;
}

static void done(exchange *x) {
    nd_resp_free(&x->rs);
    nd_req_free_test(x->rq);
}

ND_TEST(dispatch_identifies_challenges_and_caches_per_role_set) {
    fixture f;
    setup(&f, "  required: true\n");
    nd_router_add(f.app->router, &(nd_route){"GET", "/doc", h_cached, "core", NULL, NULL});
    nd_router_add(f.app->router, &(nd_route){"GET", "/health", h_roles, "ops", NULL, NULL});
    exchange x = run(f.app, NULL, "/doc");
    CHECK_INT(x.rs.status, 401);
    const char *wa = nd_kvlist_get(&x.rs.headers, "WWW-Authenticate");
    CHECK_STR(wa, "Bearer realm=\"nadir\"");
    done(&x);
    x = run(f.app, "Bearer nope-nope-nope", "/doc");
    CHECK_INT(x.rs.status, 401);
    CHECK_CONTAINS(nd_kvlist_get(&x.rs.headers, "WWW-Authenticate"), "invalid_token");
    done(&x);
    x = run(f.app, NULL, "/health"); /* probes need no credentials */
    CHECK_INT(x.rs.status, 200);
    done(&x);
    x = run(f.app, "Bearer " KEY_ANALYST, "/doc");
    CHECK_INT(x.rs.status, 200);
    CHECK_STR(x.rs.body.data, "analyst,anonymous,authenticated");
    CHECK_INT(x.rs.cache_seconds, 0);
    done(&x);
    x = run(f.app, "Bearer " KEY_ADMIN, "/doc"); /* not the analyst's cached copy */
    CHECK_STR(x.rs.body.data, "admin,anonymous,authenticated");
    done(&x);
    teardown(&f);
}

ND_TEST(token_bucket_and_concurrency_caps) {
    fixture f;
    setup(&f, "limits:\n  requests_per_minute: 60\n  burst: 3\n  services: [{service: core, concurrent: 1}]\n"
              "  jobs_per_user: 2\n");
    struct nd_limits *l = f.app->limits;
    CHECK(l != NULL);
    int ra = 0;
    for (int i = 0; i < 3; i++) CHECK_INT(nd_limits_take(l, "ip:1", 100.0, &ra), 0);
    CHECK_INT(nd_limits_take(l, "ip:1", 100.0, &ra), -1);
    CHECK_INT(ra, 1);
    CHECK_INT(nd_limits_take(l, "ip:2", 100.0, &ra), 0); /* another caller has its own bucket */
    CHECK_INT(nd_limits_take(l, "ip:1", 101.1, &ra), 0); /* one token back after a second */
    CHECK_INT(nd_limits_take(l, "ip:1", 101.1, &ra), -1);
    nd_req *rq = nd_req_new_test(f.app, "GET", "/", NULL);
    CHECK_INT(nd_limits_job_quota(rq, 1), 0);
    CHECK_INT(nd_limits_job_quota(rq, 2), -ND_E_TOO_MANY);
    nd_req_free_test(rq);
    /* a second request while the first holds the only slot of its service */
    nd_route rt = {"GET", "/x", NULL, "core", NULL, NULL};
    nd_req *a = nd_req_new_test(f.app, "GET", "/x", NULL), *b = nd_req_new_test(f.app, "GET", "/x", NULL);
    a->route = b->route = &rt;
    a->client_ip = "10.0.0.1";
    b->client_ip = "10.0.0.2";
    CHECK_INT(nd_limits_enter(a, &ra), 0);
    CHECK_INT(nd_limits_enter(b, &ra), -ND_E_UNAVAILABLE);
    nd_limits_leave(a);
    CHECK_INT(nd_limits_enter(b, &ra), 0);
    nd_limits_leave(b);
    nd_req_free_test(a);
    nd_req_free_test(b);
    teardown(&f);
}

ND_TEST(config_refuses_bad_auth) {
    nd_config *c = NULL;
    char err[256];
    const char *bad_hash = "auth:\n  keys: [{id: a, sha256: abc}]\n";
    CHECK(nd_config_parse(bad_hash, strlen(bad_hash), "t", ".", &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "sha256");
    const char *no_iss = "auth:\n  jwks: /tmp/x.json\n";
    CHECK(nd_config_parse(no_iss, strlen(no_iss), "t", ".", &c, err, sizeof err) < 0);
    CHECK_CONTAINS(err, "issuer");
    const char *none = "server: {port: 1234}\n";
    CHECK_INT(nd_config_parse(none, strlen(none), "t", ".", &c, err, sizeof err), 0);
    CHECK(!c->auth.enabled);
    nd_config_free(c);
}

ND_TEST(refused_credentials_spend_tokens) {
    fixture f;
    setup(&f, "limits:\n  requests_per_minute: 6\n  burst: 2\n");
    nd_router_add(f.app->router, &(nd_route){"GET", "/doc", h_cached, "core", NULL, NULL});
    int want[] = {401, 401, 429};
    for (int i = 0; i < 3; i++) {
        exchange x = run(f.app, "Bearer guessed-key-0123456789", "/doc");
        CHECK_INT(x.rs.status, want[i]);
        if (want[i] == 429) CHECK_STR(nd_kvlist_get(&x.rs.headers, "Retry-After"), "10");
        done(&x);
    }
    teardown(&f);
}

static long endless_read(void *ctx, uint64_t pos, char *buf, size_t max) {
    (*(int *)ctx)++;
    memset(buf, 'x', max);
    return (long)max;
}
static void endless_free(void *ctx) { *(int *)ctx = -1; }
static int h_stream(nd_req *rq, nd_resp *rs) {
    static int calls;
    calls = 0;
    rs->stream = (nd_stream){endless_read, endless_free, &calls, UINT64_MAX};
    return 0;
}

ND_TEST(streams_are_cut_after_the_stream_timeout) {
    fixture f;
    setup(&f, "limits:\n  stream_timeout_s: 1\n");
    nd_router_add(f.app->router, &(nd_route){"GET", "/s", h_stream, "core", NULL, NULL});
    exchange x = run(f.app, NULL, "/s");
    CHECK_INT(x.rs.status, 200);
    char buf[64];
    CHECK_INT(x.rs.stream.read(x.rs.stream.ctx, 0, buf, sizeof buf), 64); /* sends while in time */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n;
    do {
        n = x.rs.stream.read(x.rs.stream.ctx, 0, buf, sizeof buf);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (n > 0 && t.tv_sec - t0.tv_sec < 5);
    CHECK_INT(n, -1);                 /* cut, not left to run */
    CHECK(t.tv_sec - t0.tv_sec <= 2);
    x.rs.stream.free(x.rs.stream.ctx); /* frees the handler's stream too */
    x.rs.stream = (nd_stream){0};
    done(&x);
    teardown(&f);
}
