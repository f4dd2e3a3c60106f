/* Who the caller is (API key, OpenID Connect bearer token, or anonymous) and what the caller may do:
 * one identity per request, one decision function per concern. */
#ifndef NADIR_AUTH_H
#define NADIR_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "nadir/http.h"

struct nd_app;
struct nd_auth;

/* Every caller holds ND_ROLE_ANONYMOUS; authenticated callers also hold ND_ROLE_AUTHENTICATED, so a
 * rule may name either to mean "everyone" or "anyone signed in". */
#define ND_ROLE_ANONYMOUS "anonymous"
#define ND_ROLE_AUTHENTICATED "authenticated"

typedef struct nd_identity {
    const char *user;         /* NULL for anonymous callers */
    const char *key_id;       /* the API key's id, or NULL */
    const char **roles;       /* sorted, unique */
    size_t nroles;
    bool admin;               /* holds one of auth.admin_roles */
    const char *roleset;      /* roles joined with ',': what a listing may depend on (cache keys) */
} nd_identity;

typedef enum { ND_AUTH_DATASET, ND_AUTH_PROCESS } nd_auth_kind;
typedef enum { ND_OP_READ, ND_OP_EXECUTE, ND_OP_TRANSACTIONS, ND_OP_ADMIN } nd_auth_op;

/* Builds the app's verifier from config->auth (API key hashes, the JWKS file); a no-op returning 0
 * without an auth section. Negative with err filled when a key or the JWKS cannot be used. */
int nd_auth_open(struct nd_app *app, char *err, size_t errlen);
void nd_auth_free(struct nd_auth *a);

/* Sets rq->who from the request's credentials (Authorization: Bearer, X-API-Key); fills rq->err with
 * UNAUTHORIZED for credentials that are present but invalid, or absent where auth.required. */
int nd_auth_identify(nd_req *rq);

/* May the caller do op on the dataset/collection or process id? Always true without an auth section. */
bool nd_auth_may(const nd_req *rq, nd_auth_kind kind, const char *id, nd_auth_op op);
/* Fails rq->err the way the protocol expects for a refusal: UNAUTHORIZED for an anonymous caller
 * (so a client knows to sign in), FORBIDDEN for an authenticated one. Returns the negative code. */
int nd_auth_refuse(nd_req *rq, const char *what);
/* nd_auth_may, else nd_auth_refuse: 0 when allowed. */
int nd_auth_check(nd_req *rq, nd_auth_kind kind, const char *id, nd_auth_op op);

/* Map layers are named "dataset/variable": the dataset's read rule decides. */
bool nd_auth_may_layer(const nd_req *rq, const char *layer);
int nd_auth_check_layer(nd_req *rq, const char *layer);

/* The owner recorded with a job the caller submits: the user, or "" for anonymous callers. */
const char *nd_auth_owner(const nd_req *rq);
/* May the caller see a job of this owner? Its owner and admins may; without auth everyone may. */
bool nd_auth_owns(const nd_req *rq, const char *owner);

/* True when auth is configured and this caller's view of listings may differ from another's. */
bool nd_auth_active(const nd_req *rq);

/* SHA-256 of s as 64 lower-case hex digits into out[65] (how API keys are stored). */
void nd_auth_sha256_hex(const char *s, size_t len, char out[65]);

#endif
