/* WCS 2.0 XML POST requests (GetCapabilities, DescribeCoverage, GetCoverage with the Scaling, CRS, Range
 * Subsetting and Interpolation extensions) turned into the KVP parameters the handlers already read.
 * libxml2 with no DTD, no entities, no network; DOCTYPE refused; size and depth limited. */
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "nadir/ows.h"
#include "nadir/wcs.h"

#define MAX_XML_BYTES (1 << 20)
#define MAX_DEPTH 16
#define MAX_TEXT 1024

typedef struct {
    nd_req *rq;
    nd_error *err;
    int nsubset;
    nd_buf scale, range;
    const char *scale_key;
} conv;

static bool is(const xmlNode *n, const char *name) {
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static const xmlNode *child(const xmlNode *n, const char *name) {
    for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (is(c, name)) return c;
    return NULL;
}

/* Trimmed text content in the arena; "" when none or too long (then err is set). */
static const char *text(conv *c, const xmlNode *n) {
    if (!n) return NULL;
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = (const char *)t, *e;
    while (s && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++;
    e = s ? s + strlen(s) : NULL;
    while (e && e > s && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\t' || e[-1] == '\r')) e--;
    const char *out = NULL;
    if (s && (size_t)(e - s) <= MAX_TEXT) out = nd_arena_strndup(c->rq->arena, s, (size_t)(e - s));
    xmlFree(t);
    return out ? out : "";
}

static void add(conv *c, const char *k, const char *v) {
    if (v) nd_kvlist_add(c->rq->arena, &c->rq->query_params, k, v);
}

static int depth_ok(const xmlNode *n, int d) {
    if (d > MAX_DEPTH) return 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !depth_ok(c, d + 1)) return 0;
    return 1;
}

static void scale_item(conv *c, const char *key, const xmlNode *item, const char *v1, const char *v2) {
    const char *axis = text(c, child(item, "axis"));
    if (c->scale.len) nd_buf_puts(&c->scale, ",");
    nd_buf_printf(&c->scale, "%s(%s", axis ? axis : "", text(c, child(item, v1)) ?: "");
    if (v2) nd_buf_printf(&c->scale, ":%s", text(c, child(item, v2)) ?: "");
    nd_buf_puts(&c->scale, ")");
    c->scale_key = key;
}

static void extension(conv *c, const xmlNode *ext) {
    for (const xmlNode *e = ext->children; e; e = e->next) {
        if (e->type != XML_ELEMENT_NODE) continue;
        const char *name = (const char *)e->name;
        if (strcmp(name, "ScaleByFactor") == 0) add(c, "SCALEFACTOR", text(c, child(e, "scaleFactor")));
        else if (strcmp(name, "ScaleAxesByFactor") == 0) {
            for (const xmlNode *a = e->children; a; a = a->next)
                if (is(a, "ScaleAxis")) scale_item(c, "SCALEAXES", a, "scaleFactor", NULL);
        } else if (strcmp(name, "ScaleToSize") == 0) {
            for (const xmlNode *a = e->children; a; a = a->next)
                if (is(a, "TargetAxisSize")) scale_item(c, "SCALESIZE", a, "targetSize", NULL);
        } else if (strcmp(name, "ScaleToExtent") == 0) {
            for (const xmlNode *a = e->children; a; a = a->next)
                if (is(a, "TargetAxisExtent")) scale_item(c, "SCALEEXTENT", a, "low", "high");
        } else if (strcmp(name, "RangeSubset") == 0) {
            for (const xmlNode *it = e->children; it; it = it->next) {
                if (!is(it, "RangeItem")) continue;
                const xmlNode *comp = child(it, "RangeComponent"), *iv = child(it, "RangeInterval");
                if (c->range.len) nd_buf_puts(&c->range, ",");
                if (comp) nd_buf_puts(&c->range, text(c, comp));
                else if (iv)
                    nd_buf_printf(&c->range, "%s:%s", text(c, child(iv, "startComponent")) ?: "",
                                  text(c, child(iv, "endComponent")) ?: "");
            }
        } else if (strcmp(name, "subsettingCrs") == 0) add(c, "SUBSETTINGCRS", text(c, e));
        else if (strcmp(name, "outputCrs") == 0) add(c, "OUTPUTCRS", text(c, e));
        else if (strcmp(name, "Interpolation") == 0) add(c, "INTERPOLATION", text(c, child(e, "globalInterpolation")));
        else if (strcmp(name, "CRS") == 0) { /* the CRS extension's own wrapper */
            add(c, "SUBSETTINGCRS", text(c, child(e, "subsettingCrs")));
            add(c, "OUTPUTCRS", text(c, child(e, "outputCrs")));
        }
    }
}

static void getcoverage(conv *c, const xmlNode *root) {
    for (const xmlNode *n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) continue;
        const char *name = (const char *)n->name;
        if (strcmp(name, "CoverageId") == 0) add(c, "COVERAGEID", text(c, n));
        else if (strcmp(name, "format") == 0) add(c, "FORMAT", text(c, n));
        else if (strcmp(name, "mediaType") == 0) add(c, "MEDIATYPE", text(c, n));
        else if (strcmp(name, "DimensionTrim") == 0 || strcmp(name, "DimensionSlice") == 0) {
            bool trim = name[9] == 'T';
            const char *dim = text(c, child(n, "Dimension"));
            const char *v = trim ? nd_arena_printf(c->rq->arena, "%s(%s,%s)", dim ? dim : "",
                                                   child(n, "TrimLow") ? text(c, child(n, "TrimLow")) : "*",
                                                   child(n, "TrimHigh") ? text(c, child(n, "TrimHigh")) : "*")
                                 : nd_arena_printf(c->rq->arena, "%s(%s)", dim ? dim : "",
                                                   text(c, child(n, "SlicePoint")) ?: "");
            add(c, nd_arena_printf(c->rq->arena, "SUBSET%d", c->nsubset++), v);
        } else if (strcmp(name, "Extension") == 0) extension(c, n);
    }
    if (c->scale.len) add(c, c->scale_key, nd_arena_strdup(c->rq->arena, c->scale.data));
    if (c->range.len) add(c, "RANGESUBSET", nd_arena_strdup(c->rq->arena, c->range.data));
}

int nd_wcs_xml_to_kvp(nd_req *rq, nd_error *err) {
    if (!rq->body || !rq->body_len) return nd_fail(err, ND_E_MISSING_PARAM, "request", "The POST body is empty");
    if (rq->body_len > MAX_XML_BYTES) return nd_fail(err, ND_E_TOO_LARGE, "body", "The XML request is too large");
    /* No DTD at all: entity tricks (billion laughs, external entities) need one. */
    xmlDocPtr doc = nd_ows_xml_read(rq->body, rq->body_len, err);
    if (!doc) return -(int)err->code;
    int rc = 0;
    xmlNode *root = xmlDocGetRootElement(doc);
    if (!root || doc->intSubset || !depth_ok(root, 0)) {
        rc = nd_fail(err, ND_E_BAD_REQUEST, "body", "The XML request is empty, declares a DTD or is nested too deep");
        goto out;
    }
    conv c = {.rq = rq, .err = err};
    const char *op = (const char *)root->name;
    if (strcmp(op, "GetCapabilities") != 0 && strcmp(op, "DescribeCoverage") != 0 && strcmp(op, "GetCoverage") != 0) {
        rc = nd_fail(err, ND_E_NOT_IMPLEMENTED, "request", "WCS has no operation '%.64s'", op);
        goto out;
    }
    add(&c, "REQUEST", nd_arena_strdup(rq->arena, op));
    xmlChar *service = xmlGetProp(root, (const xmlChar *)"service"), *version = xmlGetProp(root, (const xmlChar *)"version");
    /* nd_arena_strndup copies n bytes: bound by the real length */
    if (service) add(&c, "SERVICE", nd_arena_strndup(rq->arena, (const char *)service, strnlen((const char *)service, 64)));
    if (version) add(&c, "VERSION", nd_arena_strndup(rq->arena, (const char *)version, strnlen((const char *)version, 32)));
    xmlFree(service);
    xmlFree(version);
    if (strcmp(op, "GetCapabilities") == 0) {
        const xmlNode *av = child(root, "AcceptVersions");
        nd_buf v = {0};
        for (const xmlNode *n = av ? av->children : NULL; n; n = n->next)
            if (is(n, "Version")) {
                if (v.len) nd_buf_puts(&v, ",");
                nd_buf_puts(&v, text(&c, n));
            }
        if (v.len) add(&c, "AcceptVersions", nd_arena_strdup(rq->arena, v.data));
        nd_buf_free(&v);
        const xmlNode *sec = child(root, "Sections");
        nd_buf s = {0};
        for (const xmlNode *n = sec ? sec->children : NULL; n; n = n->next)
            if (is(n, "Section")) {
                if (s.len) nd_buf_puts(&s, ",");
                nd_buf_puts(&s, text(&c, n));
            }
        if (s.len) add(&c, "SECTIONS", nd_arena_strdup(rq->arena, s.data));
        nd_buf_free(&s);
    } else if (strcmp(op, "DescribeCoverage") == 0) {
        nd_buf ids = {0};
        for (const xmlNode *n = root->children; n; n = n->next)
            if (is(n, "CoverageId")) {
                if (ids.len) nd_buf_puts(&ids, ",");
                nd_buf_puts(&ids, text(&c, n));
            }
        if (ids.len) add(&c, "COVERAGEID", nd_arena_strdup(rq->arena, ids.data));
        nd_buf_free(&ids);
    } else {
        getcoverage(&c, root);
    }
    nd_buf_free(&c.scale);
    nd_buf_free(&c.range);
out:
    xmlFreeDoc(doc);
    return rc;
}
