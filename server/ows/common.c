/* OWS common: the one dispatcher in front of every OWS operation table, and exception reports. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/ows.h"

/* Compares dotted versions numerically: "1.3.0" > "1.1.1". */
static int version_cmp(const char *a, const char *b) {
    while (*a || *b) {
        long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
        if (x != y) return x < y ? -1 : 1;
        if (*a == '.') a++;
        if (*b == '.') b++;
        if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9'))) break;
    }
    return 0;
}

static const char *supported(const nd_ows_service *svc, const char *v) {
    for (const char *const *s = svc->versions; *s; s++)
        if (strcmp(*s, v) == 0) return *s;
    return NULL;
}

const char *nd_ows_negotiate(const nd_ows_service *svc, const char *requested, const char *accept_versions) {
    if (accept_versions && *accept_versions) {
        /* OWS Common: the first listed version the server supports. */
        for (const char *p = accept_versions; *p;) {
            size_t n = strcspn(p, ",");
            char v[32];
            snprintf(v, sizeof v, "%.*s", (int)(n < sizeof v ? n : sizeof v - 1), p);
            const char *s = supported(svc, v);
            if (s) return s;
            p += n + (p[n] == ',');
        }
        return NULL;
    }
    if (!requested || !*requested) return svc->versions[0];
    const char *s = supported(svc, requested);
    if (s) return s;
    /* WMS rules: the highest version below the request, else the lowest supported. */
    for (const char *const *v = svc->versions; *v; v++)
        if (version_cmp(*v, requested) < 0) return *v;
    const char *lowest = svc->versions[0];
    for (const char *const *v = svc->versions; *v; v++) lowest = *v;
    return lowest;
}

int nd_ows_dispatch(const nd_ows_service *svc, nd_req *rq, nd_resp *rs) {
    const char *service = nd_req_query(rq, "SERVICE");
    if (!service && !svc->service_optional)
        return nd_fail(&rq->err, ND_E_MISSING_PARAM, "service", "SERVICE=%s is required", svc->name);
    if (service && strcasecmp(service, svc->name) != 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "service", "SERVICE must be %s", svc->name);
    const char *request = nd_req_query(rq, "REQUEST");
    if (!request || !*request) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "request", "REQUEST is required");
    const nd_ows_op *op = NULL;
    for (size_t i = 0; i < svc->nops && !op; i++)
        if (strcasecmp(svc->ops[i].name, request) == 0) op = &svc->ops[i];
    if (!op)
        return nd_fail(&rq->err, ND_E_NOT_IMPLEMENTED, "request", "%s does not support the operation requested",
                       svc->name);
    const char *version = nd_req_query(rq, "VERSION");
    if (op->flags & ND_OWS_NEEDS_VERSION) {
        if (!version || !*version) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "version", "VERSION is required");
        rq->version = supported(svc, version);
        if (!rq->version)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "version", "This version of %s is not supported", svc->name);
    } else {
        rq->version = nd_ows_negotiate(svc, version, nd_req_query(rq, "AcceptVersions"));
        if (!rq->version)
            return nd_fail(&rq->err, ND_E_VERSION_NEGOTIATION, "acceptversions",
                           "None of the versions asked for is supported");
    }
    return op->fn(rq, rs);
}

/* <elem codeattr="code" locator="...">, then the detail, inside text_elem when one is given. */
static void put_exception(nd_buf *b, const char *elem, const char *code_attr, const char *code, const char *locator,
                          const char *text_elem, const char *detail) {
    nd_buf_printf(b, "  <%s %s=\"", elem, code_attr);
    nd_buf_put_xml(b, code);
    nd_buf_puts(b, "\"");
    if (*locator) {
        nd_buf_puts(b, " locator=\"");
        nd_buf_put_xml(b, locator);
        nd_buf_puts(b, "\"");
    }
    nd_buf_puts(b, ">");
    if (text_elem) nd_buf_printf(b, "\n    <%s>", text_elem);
    nd_buf_put_xml(b, detail);
    if (text_elem) nd_buf_printf(b, "</%s>\n  ", text_elem);
    nd_buf_printf(b, "</%s>\n", elem);
}

void nd_ows_render_exception(nd_req *rq, nd_resp *rs, nd_ows_exc_style style) {
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    nd_buf *b = &rs->body;
    nd_buf_reset(b);
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    const char *ows_code = nd_error_ows_code(code);
    if (style == ND_OWS_EXC_WMS) {
        bool v111 = rq->version && strcmp(rq->version, "1.1.1") == 0;
        if (v111) {
            nd_buf_puts(b, "<ServiceExceptionReport version=\"1.1.1\">\n");
            if (code == ND_E_INVALID_CRS) ows_code = "InvalidSRS"; /* 1.1.1 still says SRS */
        } else {
            nd_buf_puts(b, "<ServiceExceptionReport version=\"1.3.0\" xmlns=\"http://www.opengis.net/ogc\" "
                           "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\""
                           "http://www.opengis.net/ogc http://schemas.opengis.net/wms/1.3.0/exceptions_1_3_0.xsd\">\n");
        }
        put_exception(b, "ServiceException", "code", ows_code, rq->err.locator, NULL, rq->err.detail);
        nd_buf_puts(b, "</ServiceExceptionReport>\n");
        rs->content_type = v111 ? "application/vnd.ogc.se_xml" : "text/xml";
    } else {
        bool ows20 = style == ND_OWS_EXC_OWS20;
        nd_buf_printf(b,
                      "<ows:ExceptionReport xmlns:ows=\"http://www.opengis.net/ows/%s\" "
                      "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" version=\"%s\" xml:lang=\"en\" "
                      "xsi:schemaLocation=\"http://www.opengis.net/ows/%s "
                      "http://schemas.opengis.net/ows/%s/owsExceptionReport.xsd\">\n",
                      ows20 ? "2.0" : "1.1", ows20 ? "2.0.0" : "1.1.0", ows20 ? "2.0" : "1.1",
                      ows20 ? "2.0" : "1.1.0");
        put_exception(b, "ows:Exception", "exceptionCode", ows_code, rq->err.locator, "ows:ExceptionText",
                      rq->err.detail);
        nd_buf_puts(b, "</ows:ExceptionReport>\n");
        rs->content_type = "application/xml";
    }
    rs->status = nd_error_http_status(code);
    rs->compressible = true;
    rs->cache_seconds = 0;
}
