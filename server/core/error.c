/* The error X-macro expanded into lookups, and nd_fail. */
#include <stdio.h>

#include "nadir/error.h"

static const struct {
    const char *name;
    int http;
    const char *ows;
    const char *slug;
} kinds[] = {
    [ND_OK] = {"OK", 200, "", ""},
#define ND_ERR(n, http, ows, slug) [ND_E_##n] = {#n, http, ows, slug},
#include "nadir/errors.def"
#undef ND_ERR
};

static nd_errcode valid(nd_errcode c) { return (c > ND_OK && c < ND_E_COUNT) ? c : ND_E_INTERNAL; }

int nd_vfail(nd_error *e, nd_errcode code, const char *locator, const char *fmt, va_list ap) {
    code = valid(code);
    if (e) {
        e->code = code;
        snprintf(e->locator, sizeof e->locator, "%s", locator ? locator : "");
        vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    }
    return -(int)code;
}

int nd_fail(nd_error *e, nd_errcode code, const char *locator, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = nd_vfail(e, code, locator, fmt, ap);
    va_end(ap);
    return rc;
}

int nd_error_http_status(nd_errcode code) { return kinds[valid(code)].http; }
const char *nd_error_ows_code(nd_errcode code) { return kinds[valid(code)].ows; }
const char *nd_error_slug(nd_errcode code) { return kinds[valid(code)].slug; }
const char *nd_error_name(nd_errcode code) { return kinds[valid(code)].name; }
