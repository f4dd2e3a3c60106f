/* OPeNDAP DAP2 front-end (the protocol itself arrives with the OPeNDAP service): its error form. */
#include <string.h>

#include "nadir/ows.h"

/* DAP2 error codes are free integers; clients show the message, so the HTTP status is reused. */
void nd_dap2_render_error(nd_req *rq, nd_resp *rs) {
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    int status = nd_error_http_status(code);
    nd_buf *b = &rs->body;
    nd_buf_reset(b);
    nd_buf_printf(b, "Error {\n    code = %d;\n    message = \"", status);
    for (const char *p = rq->err.detail; *p; p++) {
        if (*p == '"' || *p == '\\') nd_buf_append(b, "\\", 1);
        nd_buf_append(b, p, 1);
    }
    nd_buf_puts(b, "\";\n};\n");
    rs->status = status;
    rs->content_type = "text/plain; charset=utf-8";
    nd_resp_header(rq, rs, "Content-Description", "dods-error");
    nd_resp_header(rq, rs, "XDODS-Server", "nadir/" ND_VERSION);
    rs->cache_seconds = 0;
}
