/* WCS front-end: the /wcs routes (KVP GET, XML POST), the operation table behind nd_ows_dispatch, the
 * exception forms of 2.0 and 1.0.0, and answering a subset with a temporary file streamed back. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nadir/ows.h"
#include "nadir/wcs.h"

static int op_capabilities(nd_req *rq, nd_resp *rs) {
    return strcmp(rq->version, "1.0.0") == 0 ? nd_wcs10_capabilities(rq, rs) : nd_wcs20_capabilities(rq, rs);
}
static int op_describe(nd_req *rq, nd_resp *rs) {
    return strcmp(rq->version, "1.0.0") == 0 ? nd_wcs10_describe(rq, rs) : nd_wcs20_describe(rq, rs);
}
static int op_getcoverage(nd_req *rq, nd_resp *rs) {
    return strcmp(rq->version, "1.0.0") == 0 ? nd_wcs10_getcoverage(rq, rs) : nd_wcs20_getcoverage(rq, rs);
}

static const char *const versions[] = {"2.0.1", "2.0.0", "1.0.0", NULL};
static const nd_ows_op ops[] = {
    {"GetCapabilities", op_capabilities, ND_OWS_POST},
    {"DescribeCoverage", op_describe, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
    {"GetCoverage", op_getcoverage, ND_OWS_NEEDS_VERSION | ND_OWS_POST},
};
static const nd_ows_service wcs_service = {"WCS", versions, ops, sizeof ops / sizeof ops[0], true};

/* WCS 1.0.0 speaks the OGC ServiceExceptionReport 1.2.0; 2.0 the OWS Common 2.0 report. */
static void render_error(nd_req *rq, nd_resp *rs) {
    if (!rq->version || strcmp(rq->version, "1.0.0") != 0) {
        nd_ows_render_exception(rq, rs, ND_OWS_EXC_OWS20);
        return;
    }
    nd_errcode code = rq->err.code ? rq->err.code : ND_E_INTERNAL;
    nd_buf *b = &rs->body;
    nd_buf_reset(b);
    nd_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServiceExceptionReport version=\"1.2.0\" "
                   "xmlns=\"http://www.opengis.net/ogc\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
                   "xsi:schemaLocation=\"http://www.opengis.net/ogc "
                   "http://schemas.opengis.net/wcs/1.0.0/OGC-exception.xsd\">\n  <ServiceException code=\"");
    nd_buf_put_xml(b, nd_error_ows_code(code));
    nd_buf_puts(b, "\"");
    if (rq->err.locator[0]) {
        nd_buf_puts(b, " locator=\"");
        nd_buf_put_xml(b, rq->err.locator);
        nd_buf_puts(b, "\"");
    }
    nd_buf_puts(b, ">");
    nd_buf_put_xml(b, rq->err.detail);
    nd_buf_puts(b, "</ServiceException>\n</ServiceExceptionReport>\n");
    rs->content_type = "application/vnd.ogc.se_xml";
    rs->status = nd_error_http_status(code);
    rs->cache_seconds = 0;
}

static int wcs_get(nd_req *rq, nd_resp *rs) { return nd_ows_dispatch(&wcs_service, rq, rs); }

static int wcs_post(nd_req *rq, nd_resp *rs) {
    const char *ct = nd_req_header(rq, "Content-Type");
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        char *body = nd_arena_strndup(rq->arena, rq->body ? rq->body : "", rq->body_len);
        if (nd_query_parse(rq->arena, body, &rq->query_params) < 0)
            return nd_fail(&rq->err, ND_E_BAD_REQUEST, "body", "Malformed form encoding");
        return wcs_get(rq, rs);
    }
    int rc = nd_wcs_xml_to_kvp(rq, &rq->err);
    if (rc < 0) return rc;
    return wcs_get(rq, rs);
}

int nd_wcs_kvp(nd_req *rq, nd_resp *rs) {
    int rc = wcs_get(rq, rs);
    if (rc == 0) return 0;
    if (!rq->err.code) nd_fail(&rq->err, (nd_errcode)-rc, "", "Request failed");
    nd_buf_reset(&rs->body);
    if (rs->stream.free) rs->stream.free(rs->stream.ctx);
    rs->stream = (nd_stream){0};
    render_error(rq, rs);
    return 0;
}

bool nd_wcs_coverage_at(nd_req *rq, size_t k, nd_wcs_cov *out) {
    for (size_t i = 0; rq->app->datasets && i < rq->app->datasets->n; i++) {
        const nd_dataset *ds = rq->app->datasets->items[i];
        if (!nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) continue; /* no name of a forbidden dataset leaks */
        if (!nd_dataset_live(ds) || ds->kind == ND_DS_VECTOR) continue; /* vector data are maps, not coverages */
        size_t n = 1 + (ds->nvars > 1 ? ds->nvars : 0);
        if (k >= n) {
            k -= n;
            continue;
        }
        out->ds = ds;
        out->var = k ? &ds->vars[k - 1] : NULL;
        out->id = k ? nd_arena_printf(rq->arena, "%s.%s", ds->id, out->var->name) : ds->id;
        return true;
    }
    return false;
}

bool nd_wcs_coverage(nd_req *rq, const char *id, nd_wcs_cov *out) {
    if (!id || !rq->app->datasets) return false;
    const nd_dataset *ds = nd_registry_get(rq->app->datasets, id);
    if (ds && ds->kind == ND_DS_VECTOR) return false; /* maps only: not a coverage */
    if (ds && !nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) return false; /* as if it did not exist */
    if (ds) {
        *out = (nd_wcs_cov){ds, NULL, ds->id};
        return true;
    }
    /* "<dataset>.<variable>": dataset ids may hold dots too, so try every split. */
    for (const char *dot = strchr(id, '.'); dot; dot = strchr(dot + 1, '.')) {
        char *dsid = nd_arena_strndup(rq->arena, id, (size_t)(dot - id));
        ds = nd_registry_get(rq->app->datasets, dsid);
        if (ds && !nd_auth_may(rq, ND_AUTH_DATASET, ds->id, ND_OP_READ)) return false;
        const nd_variable *v = ds && ds->nvars > 1 ? nd_dataset_var(ds, dot + 1) : NULL;
        if (v) {
            *out = (nd_wcs_cov){ds, v, nd_arena_strdup(rq->arena, id)};
            return true;
        }
    }
    return false;
}

void nd_wcs_range(const nd_wcs_cov *c, nd_subset *s) {
    s->ds = c->ds;
    s->nvars = 0;
    if (c->var) s->vars[s->nvars++] = c->var;
    else {
        nd_subset_plan p;
        nd_error e = {0};
        nd_subset all = {.ds = c->ds};
        (void)nd_subset_plan_make(&all, &p, &e); /* only to learn the range */
        memcpy(s->vars, all.vars, sizeof all.vars);
        s->nvars = all.nvars;
    }
}

/* ---- The file answer ---- */

typedef struct {
    int fd;
} file_stream;

static long fs_read(void *ctx, uint64_t pos, char *buf, size_t max) {
    file_stream *f = ctx;
    ssize_t n;
    do n = pread(f->fd, buf, max, (off_t)pos);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : (long)n;
}

static void fs_free(void *ctx) {
    file_stream *f = ctx;
    close(f->fd);
    free(f);
}

static const char *extension(nd_out_format f) {
    switch (f) {
    case ND_OUT_NETCDF: return ".nc";
    case ND_OUT_PNG: return ".png";
    default: return ".tif";
    }
}

static const char *media_type(nd_out_format f) {
    switch (f) {
    case ND_OUT_NETCDF: return "application/netcdf";
    case ND_OUT_PNG: return "image/png";
    default: return "image/tiff";
    }
}

int nd_wcs_send_subset(nd_req *rq, nd_resp *rs, nd_subset *s, const char *name) {
    const nd_config *cfg = rq->app->config;
    s->max_bytes = cfg ? cfg->server.max_coverage_bytes : 0;
    /* Every check, the size limit included, before a byte is written. */
    nd_subset_plan plan;
    int rc = nd_subset_plan_make(s, &plan, &rq->err);
    if (rc < 0) return rc;
    const char *dir = cfg && cfg->server.data_dir ? cfg->server.data_dir : "/tmp";
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        return nd_fail(&rq->err, ND_E_INTERNAL, "", "The server's working directory is not available");
    const char *ext = extension(s->format);
    char *path = nd_arena_printf(rq->arena, "%s/wcs-XXXXXX%s", dir, ext);
    int fd = mkstemps(path, (int)strlen(ext));
    if (fd < 0) return nd_fail(&rq->err, ND_E_INTERNAL, "", "No temporary file for the coverage");
    close(fd);
    rc = nd_subset_write(s, path, &rq->err);
    if (rc < 0) {
        unlink(path);
        return rc;
    }
    /* Unlinked at once: the open descriptor keeps the bytes until the response is done, and nothing is
     * left on disk whatever happens to the connection or the process. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    unlink(path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0) close(fd);
        return nd_fail(&rq->err, ND_E_INTERNAL, "", "The coverage file vanished");
    }
    file_stream *f = nd_xmalloc(sizeof *f);
    f->fd = fd;
    rs->stream = (nd_stream){fs_read, fs_free, f, (uint64_t)st.st_size};
    rs->status = 200;
    rs->content_type = media_type(s->format);
    rs->cache_seconds = 0;
    nd_resp_header(rq, rs, "Content-Disposition",
                   nd_arena_printf(rq->arena, "attachment; filename=\"%s%s\"", name, ext));
    return 0;
}

static const char *const conformance[] = {
    "http://www.opengis.net/spec/WCS/2.0/conf/core",
    "http://www.opengis.net/spec/WCS_protocol-binding_get-kvp/1.0/conf/get-kvp",
    "http://www.opengis.net/spec/WCS_protocol-binding_post-xml/1.0/conf/post-xml",
    "http://www.opengis.net/spec/GMLCOV/1.0/conf/gml-coverage",
    "http://www.opengis.net/spec/WCS_coverage-encoding_geotiff/1.0/conf/geotiff-coverage",
    "http://www.opengis.net/spec/WCS_coverage-encoding_netcdf/1.0/conf/netcdf",
    "http://www.opengis.net/spec/WCS_service-extension_scaling/1.0/conf/scaling",
    "http://www.opengis.net/spec/WCS_service-extension_crs/1.0/conf/crs",
    "http://www.opengis.net/spec/WCS_service-extension_range-subsetting/1.0/conf/record-subsetting",
    "http://www.opengis.net/spec/WCS_service-extension_interpolation/1.0/conf/interpolation",
    NULL,
};

static const nd_service wcs_entry = {
    "wcs", "Web Coverage Service 2.0.1 (and 1.0.0)", "/wcs?SERVICE=WCS&REQUEST=GetCapabilities", "service",
    "application/xml", conformance, "/wcs?SERVICE=WCS&VERSION=2.0.1&REQUEST=DescribeCoverage&COVERAGEID={id}",
};

void nd_wcs_register(nd_app *app) {
    nd_router_add(app->router, &(nd_route){"GET", "/wcs", wcs_get, "wcs", "WCS 2.0.1 / 1.0.0 (KVP)", render_error});
    nd_router_add(app->router,
                  &(nd_route){"POST", "/wcs", wcs_post, "wcs", "WCS 2.0.1 (XML POST or form encoding)", render_error});
    nd_app_add_service(app, &wcs_entry);
}

