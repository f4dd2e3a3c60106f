/* Paging tokens: the keyset position of the last item, bound to one query and signed (HMAC-SHA-256), so a
 * forged or altered token is refused before anything of it reaches the database. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "nadir/catalog.h"

#define MAC_LEN 16
#define MAX_TOKEN 4096

static void b64url(nd_buf *out, const unsigned char *p, size_t n) {
    char *tmp = nd_xmalloc(4 * ((n + 2) / 3) + 1);
    int len = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
    for (int i = 0; i < len; i++) {
        if (tmp[i] == '+') tmp[i] = '-';
        else if (tmp[i] == '/') tmp[i] = '_';
        else if (tmp[i] == '=') { len = i; break; }
    }
    nd_buf_append(out, tmp, (size_t)len);
    free(tmp);
}

/* Decodes base64url without padding; -1 on any other character. */
static int unb64url(const char *s, size_t n, unsigned char *out, size_t *outlen) {
    if (n % 4 == 1) return -1;
    char *tmp = nd_xmalloc(n + 4);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-') c = '+';
        else if (c == '_') c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            free(tmp);
            return -1;
        }
        tmp[k++] = c;
    }
    size_t pad = (4 - k % 4) % 4;
    for (size_t i = 0; i < pad; i++) tmp[k++] = '=';
    int len = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)k);
    free(tmp);
    if (len < 0) return -1;
    *outlen = (size_t)len - pad;
    /* only the canonical spelling: unused low bits of the last character must be zero, so no two tokens
     * decode to the same bytes */
    nd_buf again = {0};
    b64url(&again, out, *outlen);
    int same = again.len == n && memcmp(again.data, s, n) == 0;
    nd_buf_free(&again);
    return same ? 0 : -1;
}

static void mac(nd_cat *c, const char *fingerprint, const void *payload, size_t n, unsigned char out[32]) {
    /* The fingerprint is hashed in so a token only continues the query that made it. */
    unsigned char fp[32];
    unsigned int fl = 0;
    EVP_Digest(fingerprint ? fingerprint : "", fingerprint ? strlen(fingerprint) : 0, fp, &fl, EVP_sha256(), NULL);
    unsigned char *msg = nd_xmalloc(sizeof fp + n);
    memcpy(msg, fp, sizeof fp);
    memcpy(msg + sizeof fp, payload, n);
    unsigned int ml = 0;
    HMAC(EVP_sha256(), nd_cat_secret(c), 32, msg, sizeof fp + n, out, &ml);
    free(msg);
}

char *nd_cat_token_make(nd_cat *c, nd_arena *a, const char *fingerprint, json_t *state) {
    char *payload = json_dumps(state, JSON_COMPACT);
    size_t n = strlen(payload);
    unsigned char m[32];
    mac(c, fingerprint, payload, n, m);
    nd_buf b = {0};
    b64url(&b, (unsigned char *)payload, n);
    nd_buf_puts(&b, ".");
    b64url(&b, m, MAC_LEN);
    free(payload);
    char *out = nd_arena_strdup(a, b.data);
    nd_buf_free(&b);
    return out;
}

json_t *nd_cat_token_check(nd_cat *c, const char *fingerprint, const char *token) {
    size_t n = strlen(token);
    const char *dot = strchr(token, '.');
    if (n > MAX_TOKEN || !dot) return NULL;
    unsigned char *payload = nd_xmalloc(n), got[64], want[32];
    size_t plen, mlen;
    json_t *out = NULL;
    if (unb64url(token, (size_t)(dot - token), payload, &plen) == 0 &&
        unb64url(dot + 1, strlen(dot + 1), got, &mlen) == 0 && mlen == MAC_LEN) {
        mac(c, fingerprint, payload, plen, want);
        if (CRYPTO_memcmp(got, want, MAC_LEN) == 0) out = json_loadb((const char *)payload, plen, 0, NULL);
    }
    free(payload);
    return out;
}
