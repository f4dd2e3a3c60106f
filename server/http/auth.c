/* Identity and permissions: API keys (SHA-256 in the configuration), OpenID Connect bearer tokens (RS256 or
 * ES256, verified with libjwt against the JWKS file, issuer, audience and expiry checked, Keycloak roles), and
 * the one decision function every service asks (nd_auth_may). */
#include <fnmatch.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "nadir/app.h"
#include "nadir/auth.h"

#define MAX_TOKEN 16384   /* larger than any real access token; bounds the work a bad one costs */
#define MAX_ROLES 64
#define MAX_JWKS_KEYS 32

typedef struct jwk {
    char *kid;               /* NULL when the JWKS gives none */
    jwt_alg_t alg;           /* JWT_ALG_RS256 or JWT_ALG_ES256 */
    char *pem;               /* SubjectPublicKeyInfo PEM, what libjwt takes */
} jwk;

struct nd_auth {
    const nd_auth_conf *conf;
    jwk keys[MAX_JWKS_KEYS];
    size_t nkeys;
};

static const nd_identity anonymous = {
    .roles = (const char *[]){ND_ROLE_ANONYMOUS}, .nroles = 1, .roleset = ND_ROLE_ANONYMOUS};

/* ---------------------------------------------------------------- hashing */

void nd_auth_sha256_hex(const char *s, size_t len, char out[65]) {
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(s, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

/* ---------------------------------------------------------------- JWKS -> PEM */

/* base64url without padding (RFC 7515) into a malloc'd buffer; NULL when malformed. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *out_len) {
    if (len == 0 || len > MAX_TOKEN) return NULL;
    char *std = nd_xmalloc(len + 4);
    size_t n = 0;
    for (size_t i = 0; i < len && s[i] != '='; i++) {
        char c = s[i];
        if (c == '-') c = '+';
        else if (c == '_') c = '/';
        else if (!(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9')) {
            free(std);
            return NULL;
        }
        std[n++] = c;
    }
    size_t raw = n;
    if (raw == 0 || raw % 4 == 1) {
        free(std);
        return NULL;
    }
    while (n % 4) std[n++] = '=';
    unsigned char *out = nd_xmalloc(n / 4 * 3 + 1);
    int m = EVP_DecodeBlock(out, (const unsigned char *)std, (int)n);
    free(std);
    if (m < 0) {
        free(out);
        return NULL;
    }
    *out_len = (size_t)m - (n - raw); /* EVP_DecodeBlock counts the padding as zero bytes */
    return out;
}

static BIGNUM *b64_bn(const char *s) {
    size_t n;
    unsigned char *b = s ? b64url_decode(s, strlen(s), &n) : NULL;
    BIGNUM *bn = b && n ? BN_bin2bn(b, (int)n, NULL) : NULL;
    free(b);
    return bn;
}

static char *pkey_pem(EVP_PKEY *k) {
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    if (bio && PEM_write_bio_PUBKEY(bio, k)) {
        char *data;
        long n = BIO_get_mem_data(bio, &data);
        pem = nd_xmalloc((size_t)n + 1);
        memcpy(pem, data, (size_t)n);
        pem[n] = '\0';
    }
    BIO_free(bio);
    return pem;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld) {
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *k = NULL;
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) > 0) EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return k;
}

static EVP_PKEY *rsa_key(json_t *j) {
    BIGNUM *n = b64_bn(json_string_value(json_object_get(j, "n")));
    BIGNUM *e = b64_bn(json_string_value(json_object_get(j, "e")));
    EVP_PKEY *k = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (n && e && BN_num_bits(n) >= 2048 && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        k = from_params("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return k;
}

/* P-256 only: the curve of ES256. */
static EVP_PKEY *ec_key(json_t *j) {
    const char *crv = json_string_value(json_object_get(j, "crv"));
    const char *xs = json_string_value(json_object_get(j, "x")), *ys = json_string_value(json_object_get(j, "y"));
    if (!crv || strcmp(crv, "P-256") != 0 || !xs || !ys) return NULL;
    size_t nx = 0, ny = 0;
    unsigned char *x = b64url_decode(xs, strlen(xs), &nx), *y = b64url_decode(ys, strlen(ys), &ny);
    EVP_PKEY *k = NULL;
    if (x && y && nx == 32 && ny == 32) {
        unsigned char pt[65] = {0x04};
        memcpy(pt + 1, x, 32);
        memcpy(pt + 33, y, 32);
        OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
        if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
            OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt))
            k = from_params("EC", bld);
        OSSL_PARAM_BLD_free(bld);
    }
    free(x);
    free(y);
    return k;
}

/* Keys for other uses (enc) or algorithms are skipped; a key we should use but cannot is an error. */
static int load_jwks(struct nd_auth *a, const char *path, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    json_t *keys = root ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(keys)) {
        snprintf(err, errlen, "auth.jwks %s: %s", path, root ? "no \"keys\" array" : je.text);
        json_decref(root);
        return -1;
    }
    size_t i;
    json_t *j;
    json_array_foreach(keys, i, j) {
        const char *kty = json_string_value(json_object_get(j, "kty"));
        const char *use = json_string_value(json_object_get(j, "use"));
        const char *alg = json_string_value(json_object_get(j, "alg"));
        bool rsa = kty && !strcmp(kty, "RSA"), ec = kty && !strcmp(kty, "EC");
        if ((use && strcmp(use, "sig") != 0) || !(rsa || ec)) continue;
        if (alg && strcmp(alg, rsa ? "RS256" : "ES256") != 0) continue;
        EVP_PKEY *k = rsa ? rsa_key(j) : ec_key(j);
        char *pem = k ? pkey_pem(k) : NULL;
        EVP_PKEY_free(k);
        if (!pem || a->nkeys == MAX_JWKS_KEYS) {
            snprintf(err, errlen, "auth.jwks %s: key %zu is not a usable %s key%s", path, i, kty,
                     pem ? " (too many keys)" : "");
            free(pem);
            json_decref(root);
            return -1;
        }
        const char *kid = json_string_value(json_object_get(j, "kid"));
        a->keys[a->nkeys++] = (jwk){kid ? nd_xstrdup(kid) : NULL, rsa ? JWT_ALG_RS256 : JWT_ALG_ES256, pem};
    }
    json_decref(root);
    if (a->nkeys == 0) {
        snprintf(err, errlen, "auth.jwks %s: no RS256 or ES256 signing key", path);
        return -1;
    }
    return 0;
}

int nd_auth_open(nd_app *app, char *err, size_t errlen) {
    const nd_auth_conf *c = &app->config->auth;
    if (!c->enabled) return 0;
    struct nd_auth *a = nd_xcalloc(1, sizeof *a);
    a->conf = c;
    if (c->jwks && load_jwks(a, c->jwks, err, errlen) < 0) {
        nd_auth_free(a);
        return -1;
    }
    for (size_t i = 0; i < c->nkeys; i++)
        for (size_t k = 0; k < i; k++)
            if (!strcmp(c->keys[i].id, c->keys[k].id) || !strcmp(c->keys[i].sha256, c->keys[k].sha256)) {
                snprintf(err, errlen, "auth.keys: '%s' and '%s' share an id or a hash", c->keys[k].id, c->keys[i].id);
                nd_auth_free(a);
                return -1;
            }
    app->auth = a;
    return 0;
}

void nd_auth_free(struct nd_auth *a) {
    if (!a) return;
    for (size_t i = 0; i < a->nkeys; i++) {
        free(a->keys[i].kid);
        free(a->keys[i].pem);
    }
    free(a);
}

/* ---------------------------------------------------------------- building an identity */

static int cmp_str(const void *x, const void *y) { return strcmp(*(const char *const *)x, *(const char *const *)y); }

/* Roles from credentials stop at MAX_ROLES; the two every caller holds always fit (arrays hold MAX_ROLES + 2). */
static void add_role_upto(nd_arena *a, const char **roles, size_t *n, const char *r, size_t cap) {
    if (!r || !*r || *n >= cap || strchr(r, ',')) return;
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(roles[i], r)) return;
    roles[(*n)++] = nd_arena_strdup(a, r);
}

static void add_role(nd_arena *a, const char **roles, size_t *n, const char *r) {
    add_role_upto(a, roles, n, r, MAX_ROLES);
}

static nd_identity *identity_new(nd_req *rq, const nd_auth_conf *c, const char *user, const char *key_id,
                                 const char **roles, size_t n) {
    nd_identity *id = nd_arena_alloc(rq->arena, sizeof *id);
    add_role_upto(rq->arena, roles, &n, ND_ROLE_ANONYMOUS, MAX_ROLES + 2);
    add_role_upto(rq->arena, roles, &n, ND_ROLE_AUTHENTICATED, MAX_ROLES + 2);
    qsort(roles, n, sizeof *roles, cmp_str);
    nd_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        nd_buf_printf(&b, "%s%s", i ? "," : "", roles[i]);
        for (size_t k = 0; k < c->nadmin_roles; k++) id->admin |= !strcmp(roles[i], c->admin_roles[k]);
    }
    id->user = nd_arena_strdup(rq->arena, user);
    id->key_id = key_id;
    id->roles = roles;
    id->nroles = n;
    id->roleset = nd_arena_strdup(rq->arena, b.data);
    nd_buf_free(&b);
    return id;
}

static int bad_credentials(nd_req *rq, const char *why) {
    return nd_fail(&rq->err, ND_E_UNAUTHORIZED, "Authorization", "%s", why);
}

static int identify_key(nd_req *rq, const nd_auth_conf *c, const char *key) {
    char hex[65];
    nd_auth_sha256_hex(key, strlen(key), hex);
    const nd_auth_key_conf *found = NULL;
    for (size_t i = 0; i < c->nkeys; i++) /* every key compared, in constant time: no timing oracle */
        if (CRYPTO_memcmp(hex, c->keys[i].sha256, 64) == 0) found = &c->keys[i];
    if (!found) return bad_credentials(rq, "The API key is not valid");
    const char **roles = nd_arena_alloc(rq->arena, (MAX_ROLES + 2) * sizeof *roles);
    size_t n = 0;
    for (size_t i = 0; i < found->nroles; i++) add_role(rq->arena, roles, &n, found->roles[i]);
    rq->who = identity_new(rq, c, found->user, found->id, roles, n);
    return 0;
}

static void roles_from(nd_arena *a, json_t *arr, const char **roles, size_t *n) {
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *r = json_string_value(v);
        if (r && r[0] == '/') r++; /* Keycloak group paths: "/analysts" */
        add_role(a, roles, n, r);
    }
}

/* The header's alg and kid, read before any verification so that only RS256/ES256 with a JWKS key is ever
 * tried: libjwt would otherwise accept HS256 keyed with the public key (algorithm confusion). */
static const jwk *pick_key(const struct nd_auth *a, const char *token) {
    const char *dot = strchr(token, '.');
    size_t n;
    unsigned char *hdr = dot ? b64url_decode(token, (size_t)(dot - token), &n) : NULL;
    json_t *h = hdr ? json_loadb((const char *)hdr, n, 0, NULL) : NULL;
    free(hdr);
    const char *alg = json_string_value(json_object_get(h, "alg"));
    const char *kid = json_string_value(json_object_get(h, "kid"));
    jwt_alg_t want = alg && !strcmp(alg, "RS256") ? JWT_ALG_RS256 : alg && !strcmp(alg, "ES256") ? JWT_ALG_ES256
                                                                                             : JWT_ALG_INVAL;
    const jwk *k = NULL;
    for (size_t i = 0; want != JWT_ALG_INVAL && i < a->nkeys && !k; i++)
        if (a->keys[i].alg == want && (!kid || (a->keys[i].kid && !strcmp(a->keys[i].kid, kid)))) k = &a->keys[i];
    json_decref(h);
    return k;
}

static bool aud_has(json_t *aud, const char *want) {
    if (json_is_string(aud)) return !strcmp(json_string_value(aud), want);
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), want)) return true;
    return false;
}

/* The claims after the signature: issuer, audience, expiry (required), not-before; then user and roles. */
static int check_claims(nd_req *rq, const nd_auth_conf *c, json_t *cl) {
    long long now = (long long)time(NULL), leeway = c->leeway_s;
    json_t *exp = json_object_get(cl, "exp"), *nbf = json_object_get(cl, "nbf");
    const char *iss = json_string_value(json_object_get(cl, "iss"));
    if (!iss || strcmp(iss, c->issuer) != 0) return bad_credentials(rq, "The token's issuer is not accepted");
    if (!aud_has(json_object_get(cl, "aud"), c->audience))
        return bad_credentials(rq, "The token is not meant for this service (audience)");
    if (!json_is_number(exp) || now > (long long)json_number_value(exp) + leeway)
        return bad_credentials(rq, "The token has expired");
    if (nbf && (!json_is_number(nbf) || now + leeway < (long long)json_number_value(nbf)))
        return bad_credentials(rq, "The token is not valid yet");
    const char *user = json_string_value(json_object_get(cl, "preferred_username"));
    if (!user) user = json_string_value(json_object_get(cl, "sub"));
    if (!user || !*user) return bad_credentials(rq, "The token names no subject");
    const char **roles = nd_arena_alloc(rq->arena, (MAX_ROLES + 2) * sizeof *roles);
    size_t n = 0;
    roles_from(rq->arena, json_object_get(json_object_get(cl, "realm_access"), "roles"), roles, &n);
    roles_from(rq->arena, json_object_get(cl, "groups"), roles, &n);
    json_t *client = json_object_get(json_object_get(cl, "resource_access"), c->audience);
    roles_from(rq->arena, json_object_get(client, "roles"), roles, &n);
    rq->who = identity_new(rq, c, user, NULL, roles, n);
    return 0;
}

static int identify_token(nd_req *rq, const struct nd_auth *a, const char *token) {
    const nd_auth_conf *c = a->conf;
    if (!c->jwks) return bad_credentials(rq, "Bearer tokens are not accepted here; use an API key");
    if (strlen(token) > MAX_TOKEN) return bad_credentials(rq, "The token is too long");
    const jwk *k = pick_key(a, token);
    if (!k) return bad_credentials(rq, "The token's algorithm or key is not accepted (RS256 or ES256 with a JWKS key)");
    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, (const unsigned char *)k->pem, (int)strlen(k->pem)) != 0 || !jwt ||
        jwt_get_alg(jwt) != k->alg) {
        jwt_free(jwt);
        return bad_credentials(rq, "The token's signature is not valid");
    }
    char *claims = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    json_t *cl = claims ? json_loads(claims, 0, NULL) : NULL;
    free(claims);
    int rc = cl ? check_claims(rq, c, cl) : bad_credentials(rq, "The token's claims are not JSON");
    json_decref(cl);
    return rc;
}

int nd_auth_identify(nd_req *rq) {
    const struct nd_auth *a = rq->app ? rq->app->auth : NULL;
    rq->who = &anonymous;
    if (!a) return 0;
    const char *key = nd_req_header(rq, "X-API-Key");
    const char *authz = nd_req_header(rq, "Authorization");
    int rc = 0;
    if (key) {
        rc = identify_key(rq, a->conf, key);
    } else if (authz && !strncasecmp(authz, "Bearer ", 7)) {
        const char *t = authz + 7;
        while (*t == ' ') t++;
        /* A JWT has exactly two dots; anything else sent as a bearer is an API key. */
        const char *d1 = strchr(t, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
        rc = d2 && !strchr(d2 + 1, '.') ? identify_token(rq, a, t) : identify_key(rq, a->conf, t);
    } else if (authz) {
        rc = bad_credentials(rq, "Only Bearer credentials are accepted");
    } else if (a->conf->required && strcmp(rq->path, "/health") != 0) {
        rc = bad_credentials(rq, "This service needs credentials (an API key or a bearer token)");
    }
    if (rc < 0) rq->who = &anonymous;
    return rc;
}

/* ---------------------------------------------------------------- decisions */

static bool holds_any(const nd_identity *who, char *const *roles, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < who->nroles; k++)
            if (!strcmp(roles[i], who->roles[k])) return true;
    return false;
}

static bool matches(char *const *globs, size_t n, const char *id) {
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], id, 0) == 0) return true;
    return false;
}

bool nd_auth_may(const nd_req *rq, nd_auth_kind kind, const char *id, nd_auth_op op) {
    const struct nd_auth *a = rq && rq->app ? rq->app->auth : NULL;
    if (!a) return true;
    const nd_identity *who = rq->who ? rq->who : &anonymous;
    if (who->admin) return true;
    if (op == ND_OP_ADMIN) return false;
    char owner[128];
    if (kind == ND_AUTH_DATASET && id && rq->app->dataset_owner && rq->app->dataset_owner(rq->app, id, owner) == 1 &&
        strcmp(owner, who->user ? who->user : "") != 0)
        return false; /* another user's job output */
    const nd_auth_conf *c = a->conf;
    for (size_t i = 0; id && i < c->nrules; i++) {
        const nd_auth_rule_conf *r = &c->rules[i];
        bool covers = kind == ND_AUTH_DATASET ? matches(r->datasets, r->ndatasets, id)
                                              : matches(r->processes, r->nprocesses, id);
        if (!covers) continue;
        char *const *roles = op == ND_OP_READ ? r->read : op == ND_OP_EXECUTE ? r->execute : r->transactions;
        size_t n = op == ND_OP_READ ? r->nread : op == ND_OP_EXECUTE ? r->nexecute : r->ntransactions;
        if (n) return holds_any(who, roles, n); /* the first rule that speaks about this operation decides */
    }
    return op != ND_OP_TRANSACTIONS; /* reading and running are open unless a rule says otherwise */
}

int nd_auth_refuse(nd_req *rq, const char *what) {
    if (!rq->who || !rq->who->user)
        return nd_fail(&rq->err, ND_E_UNAUTHORIZED, "Authorization", "%s needs credentials", what);
    return nd_fail(&rq->err, ND_E_FORBIDDEN, "Authorization", "%s is not allowed for this user", what);
}

int nd_auth_check(nd_req *rq, nd_auth_kind kind, const char *id, nd_auth_op op) {
    if (nd_auth_may(rq, kind, id, op)) return 0;
    static const char *const ops[] = {"Reading", "Executing", "Changing", "Administering"};
    return nd_auth_refuse(rq, nd_arena_printf(rq->arena, "%s %s", ops[op], id ? id : "this"));
}

static const char *layer_dataset(const nd_req *rq, const char *layer) {
    return nd_arena_strndup(rq->arena, layer, strcspn(layer, "/"));
}

bool nd_auth_may_layer(const nd_req *rq, const char *layer) {
    return !nd_auth_active(rq) || nd_auth_may(rq, ND_AUTH_DATASET, layer_dataset(rq, layer), ND_OP_READ);
}

int nd_auth_check_layer(nd_req *rq, const char *layer) {
    return nd_auth_active(rq) ? nd_auth_check(rq, ND_AUTH_DATASET, layer_dataset(rq, layer), ND_OP_READ) : 0;
}

const char *nd_auth_owner(const nd_req *rq) {
    return rq->who && rq->who->user ? rq->who->user : "";
}

bool nd_auth_owns(const nd_req *rq, const char *owner) {
    if (!rq->app || !rq->app->auth) return true;
    if (rq->who && rq->who->admin) return true;
    return !strcmp(owner ? owner : "", nd_auth_owner(rq));
}

bool nd_auth_active(const nd_req *rq) { return rq && rq->app && rq->app->auth; }
