/* OPeNDAP DAP4 front-end (the protocol itself arrives with the OPeNDAP service): its error document. */
#include <string.h>

#include "nadir/ows.h"

void nd_dap4_render_error(nd_req *rq, nd_resp *rs) {
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    int status = nd_error_http_status(code);
    nd_buf *b = &rs->body;
    nd_buf_reset(b);
    nd_buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error httpcode=\"%d\">\n  <Message>", status);
    nd_buf_put_xml(b, rq->err.detail);
    nd_buf_puts(b, "</Message>\n  <Context>");
    nd_buf_put_xml(b, rq->err.locator);
    nd_buf_puts(b, "</Context>\n</Error>\n");
    rs->status = status;
    rs->content_type = "application/vnd.opendap.dap4.error+xml";
    rs->cache_seconds = 0;
}
