/* Helpers shared by the libFuzzer targets: the input as a C string, and one in-memory app for the targets
 * that drive whole handlers (no socket, no datasets, no job system: an Execute that parses ends in 503). */
#ifndef NADIR_FUZZ_H
#define NADIR_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nadir/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A NUL-terminated copy (malloc'd): embedded NULs simply end the string early, as in a real request. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* The app, built on first use and kept for the process (the job directory cannot be created, so the
 * job system stays off and nothing is ever run). */
static inline nd_app *fuzz_app(void (*const *register_fns)(nd_app *), size_t n) {
    static nd_app *app;
    if (app) return app;
    static const char text[] = "server:\n  data_dir: /proc/nadir-fuzz\n  base_url: http://fuzz.test\n"
                               "  access_log: 'off'\njobs:\n  directory: /proc/nadir-fuzz/jobs\n";
    static nd_registry empty;
    nd_config *cfg;
    char err[512];
    if (nd_config_parse(text, strlen(text), "fuzz.yaml", "/", &cfg, err, sizeof err) < 0) abort();
    app = nd_app_new(cfg, &empty);
    for (size_t i = 0; i < n; i++) register_fns[i](app);
    return app;
}

/* One request through routing, the handler and error rendering. A 5xx other than 501 (an operation or
 * feature we do not offer) and `allowed` means a bug the client can trigger: it is printed and made a finding. */
static inline void fuzz_dispatch(nd_app *app, const char *method, const char *url, const char *body, int allowed) {
    nd_req *rq = nd_req_new_test(app, method, url, body);
    nd_resp rs = {0};
    nd_http_dispatch(app, rq, &rs);
    if (rs.stream.read) { /* drain it, as the server would */
        char buf[65536];
        for (uint64_t pos = 0;;) {
            long k = rs.stream.read(rs.stream.ctx, pos, buf, sizeof buf);
            if (k <= 0) break;
            pos += (uint64_t)k;
        }
    }
    if (rs.status >= 500 && rs.status != 501 && rs.status != allowed) {
        fprintf(stderr, "%s %s -> %d\n%.2000s\n", method, url, rs.status, rs.body.data ? rs.body.data : "");
        abort();
    }
    nd_resp_free(&rs);
    nd_req_free_test(rq);
}

#endif
