/* Credentials: the Authorization header's bearer token (JWS compact form: base64url header and claims, the
 * key picked by alg/kid from a JWKS, libjwt's verification, then the claims) and X-API-Key; the first byte
 * picks the header. A refusal is always UNAUTHORIZED; the committed seeds include a validly signed token. */
#include "fuzz.h"
#include "nadir/auth.h"

static nd_app *jwt_app(void) {
    static nd_app *app;
    if (app) return app;
    static const char text[] = "server:\n  data_dir: /proc/nadir-fuzz\n  access_log: 'off'\n"
                               "auth:\n  issuer: https://id.example/realms/eo\n  audience: nadir\n"
                               "  jwks: " ND_FUZZ_DIR "/jwks.json\n  keys:\n    - id: k1\n      sha256: "
                               "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\n"
                               "      user: bob\n      roles: [reader]\n";
    static nd_registry empty;
    nd_config *cfg;
    char err[512];
    if (nd_config_parse(text, strlen(text), "fuzz.yaml", "/", &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "config: %s\n", err);
        abort();
    }
    app = nd_app_new(cfg, &empty);
    if (nd_auth_open(app, err, sizeof err) < 0) {
        fprintf(stderr, "auth: %s\n", err);
        abort();
    }
    return app;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!size) return 0;
    nd_app *app = jwt_app();
    char *value = fuzz_cstr(data + 1, size - 1);
    nd_req *rq = nd_req_new_test(app, "GET", "/", NULL);
    if (data[0] & 1) {
        nd_kvlist_add(rq->arena, &rq->headers, "X-API-Key", value);
    } else {
        size_t n = strlen(value) + 8;
        char *h = nd_arena_alloc(rq->arena, n);
        snprintf(h, n, "Bearer %s", value);
        nd_kvlist_add(rq->arena, &rq->headers, "Authorization", h);
    }
    int rc = nd_auth_identify(rq);
    if (rc != 0 && rq->err.code != ND_E_UNAUTHORIZED) abort();
    if (rc == 0 && rq->who && rq->who->user && !*rq->who->user) abort(); /* an identity always names someone */
    nd_req_free_test(rq);
    free(value);
    return 0;
}
