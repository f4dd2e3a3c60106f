/* XML request bodies (WPS and WCS POST), read one way: libxml2 without network, entities or DTDs, and a document
 * type declaration in any encoding refused the moment the parser meets it, before any entity is declared. */
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <stdint.h>

#include "nadir/ows.h"

/* libxml2 2.9 (Debian 12) lacks the newer entity-amplification guards: a DOCTYPE is never needed by an OGC
 * request, so its first SAX event stops the parse. */
static void refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id) {
    xmlParserCtxtPtr c = ctx;
    c->_private = (void *)1;
    xmlStopParser(c);
}

xmlDocPtr nd_ows_xml_read(const char *body, size_t len, nd_error *err) {
    if (!body || !len) {
        nd_fail(err, ND_E_MISSING_PARAM, "body", "an XML request document is required");
        return NULL;
    }
    if (len > (size_t)INT32_MAX) {
        nd_fail(err, ND_E_TOO_LARGE, "body", "the document is too large");
        return NULL;
    }
    xmlParserCtxtPtr c = xmlNewParserCtxt();
    if (!c) {
        nd_fail(err, ND_E_INTERNAL, "body", "out of memory");
        return NULL;
    }
    c->sax->internalSubset = refuse_doctype;
    c->_private = NULL;
    xmlDocPtr doc = xmlCtxtReadMemory(c, body, (int)len, "request.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    bool doctype = c->_private != NULL || (doc && (doc->intSubset || doc->extSubset));
    xmlFreeParserCtxt(c);
    if (doctype) {
        if (doc) xmlFreeDoc(doc);
        nd_fail(err, ND_E_BAD_REQUEST, "body", "DOCTYPE declarations are not accepted");
        return NULL;
    }
    if (!doc || !xmlDocGetRootElement(doc)) {
        if (doc) xmlFreeDoc(doc);
        nd_fail(err, ND_E_BAD_REQUEST, "body", "the request is not well-formed XML");
        return NULL;
    }
    return doc;
}
