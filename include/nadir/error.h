/* The one internal error type: a code from errors.def, a locator and a detail. */
#ifndef NADIR_ERROR_H
#define NADIR_ERROR_H

#include <stdarg.h>

typedef enum {
    ND_OK = 0,
#define ND_ERR(name, http, ows, slug) ND_E_##name,
#include "nadir/errors.def"
#undef ND_ERR
    ND_E_COUNT
} nd_errcode;

typedef struct nd_error {
    nd_errcode code;
    char locator[64];  /* the parameter or path element at fault, may be "" */
    char detail[512];  /* a sentence for the user, never a file path */
} nd_error;

/* Fills e and returns -code, so a function can `return nd_fail(...)`. */
int nd_fail(nd_error *e, nd_errcode code, const char *locator, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int nd_vfail(nd_error *e, nd_errcode code, const char *locator, const char *fmt, va_list ap);

int nd_error_http_status(nd_errcode code);
const char *nd_error_ows_code(nd_errcode code);
const char *nd_error_slug(nd_errcode code);
/* The symbolic name, e.g. "INVALID_PARAM". */
const char *nd_error_name(nd_errcode code);

#endif
