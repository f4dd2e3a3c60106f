/* HTTP for jobs, with libcurl: fetching the remote inputs a job was given and posting subscriber callbacks.
 * Only http(s), only to the hosts the configuration allows (a redirect is followed only when its target is
 * such a host too: no SSRF through a friendly host's redirect), bounded in size and time. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nadir/jobs.h"

#define MAX_REDIRECTS 5
#define FETCH_TIMEOUT_S 120
#define POST_TIMEOUT_S 10

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

/* The URL's host when it is an http(s) URL of an allowed host; else false with the reason. */
static bool allowed(const char *url, char *const *hosts, size_t nhosts, char *err, size_t errlen) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK;
    if (!ok || (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)) {
        snprintf(err, errlen, "not an http(s) URL");
        ok = false;
    } else {
        ok = false;
        for (size_t i = 0; i < nhosts && !ok; i++) ok = strcasecmp(hosts[i], host) == 0;
        if (!ok) snprintf(err, errlen, "host %.200s is not allowed", host);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

typedef struct sink {
    nd_buf *out;
    size_t max;
    bool too_large;
} sink;

static size_t write_cb(char *data, size_t size, size_t n, void *arg) {
    sink *s = arg;
    size_t len = size * n;
    if (s->out->len + len > s->max) {
        s->too_large = true;
        return 0; /* aborts the transfer */
    }
    nd_buf_append(s->out, data, len);
    return len;
}

static CURL *handle(long timeout_s) {
    pthread_once(&curl_once, curl_init);
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* redirects are checked one by one */
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "nadir/" ND_VERSION);
    return c;
}

int nd_fetch(const char *url, char *const *hosts, size_t nhosts, size_t max_bytes, nd_buf *out, char *err,
             size_t errlen) {
    char current[4096];
    snprintf(current, sizeof current, "%s", url);
    for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
        if (!allowed(current, hosts, nhosts, err, errlen)) return -1;
        CURL *c = handle(FETCH_TIMEOUT_S);
        if (!c) return snprintf(err, errlen, "out of memory"), -1;
        nd_buf_reset(out);
        sink s = {out, max_bytes, false};
        curl_easy_setopt(c, CURLOPT_URL, current);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_bytes);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        char *next = NULL;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &next);
        if (next) snprintf(current, sizeof current, "%s", next);
        curl_easy_cleanup(c);
        if (s.too_large || rc == CURLE_FILESIZE_EXCEEDED)
            return snprintf(err, errlen, "larger than %zu bytes", max_bytes), -1;
        if (rc != CURLE_OK) return snprintf(err, errlen, "%s", curl_easy_strerror(rc)), -1;
        if (status >= 300 && status < 400 && next) continue;
        if (status != 200) return snprintf(err, errlen, "the server answered HTTP %ld", status), -1;
        return 0;
    }
    snprintf(err, errlen, "more than %d redirects", MAX_REDIRECTS);
    return -1;
}

int nd_post_json(const char *url, const char *body, char *err, size_t errlen) {
    CURL *c = handle(POST_TIMEOUT_S);
    if (!c) return snprintf(err, errlen, "out of memory"), -1;
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    nd_buf ignored = {0};
    sink s = {&ignored, 1 << 16, false};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    nd_buf_free(&ignored);
    if (rc != CURLE_OK) return snprintf(err, errlen, "%s", curl_easy_strerror(rc)), -1;
    if (status < 200 || status >= 300) return snprintf(err, errlen, "the subscriber answered HTTP %ld", status), -1;
    return 0;
}
