/* WCS 2.0.1: GetCapabilities, DescribeCoverage (GMLCOV RectifiedGridCoverage, or ReferenceableGridCoverage with
 * time and vertical grid axes)
 * and GetCoverage (parameters to an nd_subset, answered as a file). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gdal.h>

#include "nadir/wcs.h"

#define NS_WCS "http://www.opengis.net/wcs/2.0"
#define XMLNS                                                                                                    \
    "xmlns:wcs=\"" NS_WCS "\" xmlns:ows=\"http://www.opengis.net/ows/2.0\" "                                     \
    "xmlns:gml=\"http://www.opengis.net/gml/3.2\" xmlns:gmlcov=\"http://www.opengis.net/gmlcov/1.0\" "            \
    "xmlns:swe=\"http://www.opengis.net/swe/2.0\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" "                  \
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "                                                    \
    "xmlns:crs=\"http://www.opengis.net/wcs/crs/1.0\" xmlns:int=\"http://www.opengis.net/wcs/interpolation/1.0\" " \
    "xmlns:wcsgs=\"http://www.geoserver.org/wcsgs/2.0\""

static const char *const output_crs[] = {"4326", "3857", "4258", "3035", "32631", "32632", "32633", "2154", NULL};

static void xml_text(nd_buf *b, const char *tag, const char *text) {
    nd_buf_printf(b, "<%s>", tag);
    nd_buf_put_xml(b, text ? text : "");
    nd_buf_printf(b, "</%s>", tag);
}

static int send_xml(nd_resp *rs, nd_buf *b) {
    nd_buf_free(&rs->body);
    rs->body = *b;
    rs->status = 200;
    rs->content_type = "application/xml";
    rs->compressible = true;
    rs->cache_seconds = 60;
    return 0;
}

static bool lat_first(const nd_dataset *ds) { return nd_wcs_geographic(ds); }

/* Coverages with time or vertical axes are N-D ReferenceableGridCoverages (rasdaman's form, which OWSLib and GDAL
 * read): the horizontal axes regular, time ("ansi", ISO positions) and vertical (its own name) irregular, each
 * listed by its coefficients; CRS the compound of the horizontal CRS, OGC AnsiDate and an EPSG vertical CRS. */
static bool referenceable(const nd_dataset *ds) { return ds->time || ds->vertical; }

/* A point in the CRS's own axis order (latitude first for EPSG:4326). */
static void put_pos(nd_buf *b, const nd_dataset *ds, double x, double y) {
    if (lat_first(ds)) nd_buf_printf(b, "%.17g %.17g", y, x);
    else nd_buf_printf(b, "%.17g %.17g", x, y);
}

static const char *srs_name(nd_req *rq, const nd_dataset *ds) {
    if (ds->epsg) return nd_wcs_crs_uri(rq->arena, ds->epsg);
    return "http://www.opengis.net/def/crs/OGC/0/Index2D";
}

int nd_wcs20_capabilities(nd_req *rq, nd_resp *rs) {
    const char *sections = nd_req_query(rq, "SECTIONS");
    bool all = !sections || strcasestr(sections, "All");
    bool sid = all || strcasestr(sections, "ServiceIdentification"), sp = all || strcasestr(sections, "ServiceProvider");
    bool om = all || strcasestr(sections, "OperationsMetadata"), sm = all || strcasestr(sections, "ServiceMetadata");
    bool ct = all || strcasestr(sections, "Contents");
    const char *url = nd_req_url(rq, "/wcs");
    nd_buf b = {0};
    nd_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wcs:Capabilities " XMLNS
                    " version=\"2.0.1\" xsi:schemaLocation=\"" NS_WCS
                    " http://schemas.opengis.net/wcs/2.0/wcsAll.xsd\">\n");
    if (sid) {
        nd_buf_puts(&b, "<ows:ServiceIdentification><ows:Title>nadir Web Coverage Service</ows:Title>"
                        "<ows:Abstract>Coverages of every configured dataset: subsetting, scaling, reprojection, "
                        "GeoTIFF and NetCDF.</ows:Abstract>"
                        "<ows:ServiceType codeSpace=\"OGC\">OGC WCS</ows:ServiceType>"
                        "<ows:ServiceTypeVersion>2.0.1</ows:ServiceTypeVersion>"
                        "<ows:ServiceTypeVersion>1.0.0</ows:ServiceTypeVersion>");
        for (const nd_service *const *s = rq->app->services; s < rq->app->services + rq->app->nservices; s++)
            if (strcmp((*s)->id, "wcs") == 0)
                for (const char *const *c = (*s)->conformance; c && *c; c++) xml_text(&b, "ows:Profile", *c);
        nd_buf_puts(&b, "<ows:Fees>NONE</ows:Fees><ows:AccessConstraints>NONE</ows:AccessConstraints>"
                        "</ows:ServiceIdentification>\n");
    }
    if (sp) {
        nd_buf_puts(&b, "<ows:ServiceProvider><ows:ProviderName>nadir</ows:ProviderName><ows:ProviderSite xlink:href=\"");
        nd_buf_put_xml(&b, nd_req_url(rq, "/"));
        nd_buf_puts(&b, "\"/><ows:ServiceContact/></ows:ServiceProvider>\n");
    }
    if (om) {
        nd_buf_puts(&b, "<ows:OperationsMetadata>");
        static const char *const opnames[] = {"GetCapabilities", "DescribeCoverage", "GetCoverage"};
        for (int i = 0; i < 3; i++) {
            nd_buf_printf(&b, "<ows:Operation name=\"%s\"><ows:DCP><ows:HTTP><ows:Get xlink:href=\"", opnames[i]);
            nd_buf_put_xml(&b, url);
            nd_buf_puts(&b, "?\"/><ows:Post xlink:href=\"");
            nd_buf_put_xml(&b, url);
            nd_buf_puts(&b, "\"><ows:Constraint name=\"PostEncoding\"><ows:AllowedValues><ows:Value>XML</ows:Value>"
                            "</ows:AllowedValues></ows:Constraint></ows:Post></ows:HTTP></ows:DCP></ows:Operation>");
        }
        nd_buf_puts(&b, "</ows:OperationsMetadata>\n");
    }
    if (sm) {
        nd_buf_puts(&b, "<wcs:ServiceMetadata><wcs:formatSupported>image/tiff</wcs:formatSupported>"
                        "<wcs:formatSupported>application/netcdf</wcs:formatSupported>"
                        "<wcs:formatSupported>image/png</wcs:formatSupported><wcs:Extension>"
                        "<int:InterpolationMetadata>");
        static const char *const interp[] = {"nearest-neighbour", "linear", "cubic", "average"};
        for (int i = 0; i < 4; i++)
            nd_buf_printf(&b, "<int:InterpolationSupported>http://www.opengis.net/def/interpolation/OGC/1/%s"
                              "</int:InterpolationSupported>", interp[i]);
        nd_buf_puts(&b, "</int:InterpolationMetadata><crs:CrsMetadata>");
        for (int k = 0; k < 2; k++)
            for (const char *const *c = output_crs; *c; c++)
                nd_buf_printf(&b, "<crs:%s>http://www.opengis.net/def/crs/EPSG/0/%s</crs:%s>",
                              k ? "outputCrs" : "crsSupported", *c, k ? "outputCrs" : "crsSupported");
        nd_buf_puts(&b, "</crs:CrsMetadata></wcs:Extension></wcs:ServiceMetadata>\n");
    }
    if (ct) {
        nd_buf_puts(&b, "<wcs:Contents>\n");
        nd_wcs_cov cv;
        for (size_t k = 0; nd_wcs_coverage_at(rq, k, &cv); k++) {
            const nd_dataset *ds = cv.ds;
            nd_buf_puts(&b, "<wcs:CoverageSummary>");
            const char *title = ds->conf->title ? ds->conf->title : ds->id;
            if (cv.var)
                title = nd_arena_printf(rq->arena, "%s: %s", title, cv.var->long_name ? cv.var->long_name : cv.var->name);
            xml_text(&b, "ows:Title", title);
            if (ds->conf->abstract) xml_text(&b, "ows:Abstract", ds->conf->abstract);
            if (ds->conf->nkeywords) {
                nd_buf_puts(&b, "<ows:Keywords>");
                for (size_t k = 0; k < ds->conf->nkeywords; k++) xml_text(&b, "ows:Keyword", ds->conf->keywords[k]);
                nd_buf_puts(&b, "</ows:Keywords>");
            }
            nd_buf_printf(&b, "<ows:WGS84BoundingBox><ows:LowerCorner>%.15g %.15g</ows:LowerCorner>"
                              "<ows:UpperCorner>%.15g %.15g</ows:UpperCorner></ows:WGS84BoundingBox>",
                          ds->wgs84[0], ds->wgs84[1], ds->wgs84[2], ds->wgs84[3]);
            xml_text(&b, "wcs:CoverageId", cv.id);
            nd_buf_printf(&b, "<wcs:CoverageSubtype>%s</wcs:CoverageSubtype></wcs:CoverageSummary>\n",
                          referenceable(ds) ? "ReferenceableGridCoverage" : "RectifiedGridCoverage");
        }
        nd_buf_puts(&b, "</wcs:Contents>\n");
    }
    nd_buf_puts(&b, "</wcs:Capabilities>\n");
    return send_xml(rs, &b);
}

static void put_time(nd_buf *b, const nd_datetime *d) {
    char iso[48];
    nd_datetime_format(d, iso, sizeof iso);
    nd_buf_puts(b, iso);
}

static const char *quantity_definition(const nd_variable *v) {
    return v->standard_name ? v->standard_name : v->name;
}


static const char *vertical_crs(const nd_dataset *ds) {
    /* EPSG 5715 "MSL depth" (down), 5714 "MSL height" (up): the datum is not in CF files, the direction is */
    return ds->vertical->positive_down ? "http://www.opengis.net/def/crs/EPSG/0/5715"
                                       : "http://www.opengis.net/def/crs/EPSG/0/5714";
}

static const char *coverage_crs(nd_req *rq, const nd_dataset *ds) {
    const char *h = srs_name(rq, ds);
    if (!referenceable(ds)) return h;
    int n = 1;
    char *c = nd_arena_printf(rq->arena, "http://www.opengis.net/def/crs-compound?%d=%s", n++, h);
    if (ds->time) c = nd_arena_printf(rq->arena, "%s&%d=http://www.opengis.net/def/crs/OGC/0/AnsiDate", c, n++);
    if (ds->vertical) c = nd_arena_printf(rq->arena, "%s&%d=%s", c, n++, vertical_crs(ds));
    return c;
}

/* Axis labels and units: the horizontal pair in the CRS's order, then ansi, then the vertical axis. */
static void put_labels(nd_buf *b, const nd_dataset *ds, bool uom) {
    bool latf = lat_first(ds);
    nd_buf_puts(b, uom ? (latf ? "deg deg" : "m m") : (latf ? "Lat Long" : "E N"));
    if (ds->time) nd_buf_puts(b, uom ? " d" : " ansi");
    if (ds->vertical) {
        nd_buf_puts(b, " ");
        nd_buf_put_xml(b, uom ? (ds->vertical->units && *ds->vertical->units ? ds->vertical->units : "1")
                              : ds->vertical->name);
    }
}

/* A position: horizontal (CRS order), then the time (quoted ISO) and vertical value given. */
static void put_npos(nd_buf *b, const nd_dataset *ds, double x, double y, const nd_datetime *t, double z) {
    put_pos(b, ds, x, y);
    if (t) {
        nd_buf_puts(b, " \"");
        put_time(b, t);
        nd_buf_puts(b, "\"");
    }
    if (ds->vertical) nd_buf_printf(b, " %.15g", z);
}

/* offsetVector of grid axis k among n (only component k set). */
static void put_offset(nd_buf *b, const char *srs, int k, int n, double v) {
    nd_buf_printf(b, "<gmlrgrid:offsetVector srsName=\"%s\">", srs);
    for (int i = 0; i < n; i++) nd_buf_printf(b, "%s%.17g", i ? " " : "", i == k ? v : 0.0);
    nd_buf_puts(b, "</gmlrgrid:offsetVector>");
}

static void general_axis(nd_buf *b, const char *srs, const char *label, int k, int n, double step, nd_buf *coeffs) {
    nd_buf_puts(b, "<gmlrgrid:generalGridAxis><gmlrgrid:GeneralGridAxis>");
    put_offset(b, srs, k, n, step);
    nd_buf_puts(b, "<gmlrgrid:coefficients>");
    if (coeffs) nd_buf_append(b, coeffs->data, coeffs->len);
    nd_buf_puts(b, "</gmlrgrid:coefficients><gmlrgrid:gridAxesSpanned>");
    nd_buf_put_xml(b, label);
    nd_buf_puts(b, "</gmlrgrid:gridAxesSpanned><gmlrgrid:sequenceRule axisOrder=\"+1\">Linear</gmlrgrid:sequenceRule>"
                   "</gmlrgrid:GeneralGridAxis></gmlrgrid:generalGridAxis>");
}

/* The grid axes run x, y, then time and vertical (GridEnvelope and generalGridAxis in that order, as GDAL's driver
 * takes its raster size and geotransform from the first two), each spanning the CRS axis of the same label. */
static void referenceable_grid(nd_req *rq, nd_buf *b, const nd_wcs_cov *cv, const char *srs) {
    const nd_dataset *ds = cv->ds;
    const double *gt = ds->geotransform;
    bool latf = lat_first(ds);
    int n = 2 + (ds->time != NULL) + (ds->vertical != NULL);
    nd_buf_printf(b, "<gml:domainSet><gmlrgrid:ReferenceableGridByVectors xmlns:gmlrgrid=\"http://www.opengis.net/gml/"
                     "3.3/rgrid\" gml:id=\"%s_grid\" dimension=\"%d\"><gml:limits><gml:GridEnvelope><gml:low>0 0",
                  cv->id, n);
    for (int k = 2; k < n; k++) nd_buf_puts(b, " 0");
    nd_buf_printf(b, "</gml:low><gml:high>%zu %zu", ds->width - 1, ds->height - 1);
    if (ds->time) nd_buf_printf(b, " %zu", ds->time->n - 1);
    if (ds->vertical) nd_buf_printf(b, " %zu", ds->vertical->n - 1);
    const char *lx = nd_wcs_x_label(ds), *ly = nd_wcs_y_label(ds);
    nd_buf_printf(b, "</gml:high></gml:GridEnvelope></gml:limits><gml:axisLabels>%s %s%s", lx, ly,
                  ds->time ? " ansi" : "");
    if (ds->vertical) {
        nd_buf_puts(b, " ");
        nd_buf_put_xml(b, ds->vertical->name);
    }
    nd_buf_printf(b, "</gml:axisLabels><gmlrgrid:origin><gml:Point gml:id=\"%s_origin\" srsName=\"", cv->id);
    nd_buf_put_xml(b, srs);
    nd_buf_puts(b, "\"><gml:pos>");
    put_npos(b, ds, gt[0] + 0.5 * gt[1] + 0.5 * gt[2], gt[3] + 0.5 * gt[4] + 0.5 * gt[5],
             ds->time ? &ds->time->dates[0] : NULL, ds->vertical ? ds->vertical->values[0] : 0);
    nd_buf_puts(b, "</gml:pos></gml:Point></gmlrgrid:origin>");
    nd_buf t = {0};
    nd_buf_put_xml(&t, srs);
    const char *esrs = nd_arena_strdup(rq->arena, t.data);
    nd_buf_free(&t);
    /* offset vectors have their component on the CRS axis (Lat before Long when latitude comes first) */
    general_axis(b, esrs, lx, latf ? 1 : 0, n, gt[1], NULL);
    general_axis(b, esrs, ly, latf ? 0 : 1, n, gt[5], NULL);
    int k = 2;
    if (ds->time) {
        /* coefficients: the positions themselves (rasdaman's form for time; OWSLib reads them as ISO dates) */
        nd_buf c = {0};
        for (size_t i = 0; i < ds->time->n; i++) {
            nd_buf_puts(&c, i ? " \"" : "\"");
            put_time(&c, &ds->time->dates[i]);
            nd_buf_puts(&c, "\"");
        }
        general_axis(b, esrs, "ansi", k++, n, 1, &c);
        nd_buf_free(&c);
    }
    if (ds->vertical) {
        /* offset 1 from the origin's level, times the coefficient: the levels as stored */
        nd_buf c = {0};
        for (size_t i = 0; i < ds->vertical->n; i++)
            nd_buf_printf(&c, "%s%.15g", i ? " " : "", ds->vertical->values[i] - ds->vertical->values[0]);
        general_axis(b, esrs, ds->vertical->name, k++, n, 1, &c);
        nd_buf_free(&c);
    }
    nd_buf_puts(b, "</gmlrgrid:ReferenceableGridByVectors></gml:domainSet>");
}

static void rectified_grid(nd_buf *b, const nd_wcs_cov *cv, const char *srs) {
    const nd_dataset *ds = cv->ds;
    const double *gt = ds->geotransform;
    nd_buf_printf(b, "<gml:domainSet><gml:RectifiedGrid gml:id=\"%s_grid\" dimension=\"2\"><gml:limits>"
                     "<gml:GridEnvelope><gml:low>0 0</gml:low><gml:high>%zu %zu</gml:high></gml:GridEnvelope>"
                     "</gml:limits><gml:axisLabels>i j</gml:axisLabels><gml:origin><gml:Point gml:id=\"%s_origin\" "
                     "srsName=\"%s\"><gml:pos>",
                  cv->id, ds->width - 1, ds->height - 1, cv->id, srs);
    put_pos(b, ds, gt[0] + 0.5 * gt[1] + 0.5 * gt[2], gt[3] + 0.5 * gt[4] + 0.5 * gt[5]);
    nd_buf_printf(b, "</gml:pos></gml:Point></gml:origin><gml:offsetVector srsName=\"%s\">", srs);
    put_pos(b, ds, gt[1], gt[4]);
    nd_buf_printf(b, "</gml:offsetVector><gml:offsetVector srsName=\"%s\">", srs);
    put_pos(b, ds, gt[2], gt[5]);
    nd_buf_puts(b, "</gml:offsetVector></gml:RectifiedGrid></gml:domainSet>");
}

static void describe_one(nd_req *rq, nd_buf *b, const nd_wcs_cov *cv) {
    const nd_dataset *ds = cv->ds;
    const char *crs = coverage_crs(rq, ds);
    bool ref = referenceable(ds);
    int n = 2 + (ds->time != NULL) + (ds->vertical != NULL);
    nd_buf_puts(b, "<wcs:CoverageDescription gml:id=\"");
    nd_buf_put_xml(b, cv->id);
    nd_buf_puts(b, "\"><gml:boundedBy><gml:Envelope srsName=\"");
    nd_buf_put_xml(b, crs);
    nd_buf_puts(b, "\" axisLabels=\"");
    put_labels(b, ds, false);
    nd_buf_puts(b, "\" uomLabels=\"");
    put_labels(b, ds, true);
    nd_buf_printf(b, "\" srsDimension=\"%d\"><gml:lowerCorner>", n);
    const nd_vertical_axis *z = ds->vertical;
    put_npos(b, ds, ds->bbox[0], ds->bbox[1], ds->time ? &ds->time->dates[0] : NULL, z ? z->values[0] : 0);
    nd_buf_puts(b, "</gml:lowerCorner><gml:upperCorner>");
    put_npos(b, ds, ds->bbox[2], ds->bbox[3], ds->time ? &ds->time->dates[ds->time->n - 1] : NULL,
             z ? z->values[z->n - 1] : 0);
    nd_buf_puts(b, "</gml:upperCorner></gml:Envelope></gml:boundedBy>");
    xml_text(b, "wcs:CoverageId", cv->id);
    /* The time positions also in GeoServer's TimeDomain form, which GDAL's WCS driver shows as metadata. */
    if (ds->time) {
        nd_buf_puts(b, "<gmlcov:metadata><gmlcov:Extension><wcsgs:TimeDomain>");
        for (size_t i = 0; i < ds->time->n; i++) {
            nd_buf_printf(b, "<gml:TimeInstant gml:id=\"%s_t%zu\"><gml:timePosition>", cv->id, i);
            put_time(b, &ds->time->dates[i]);
            nd_buf_puts(b, "</gml:timePosition></gml:TimeInstant>");
        }
        nd_buf_puts(b, "</wcsgs:TimeDomain></gmlcov:Extension></gmlcov:metadata>");
    }
    if (ref) referenceable_grid(rq, b, cv, crs);
    else rectified_grid(b, cv, crs);
    nd_buf_puts(b, "<gmlcov:rangeType><swe:DataRecord>");
    nd_subset all;
    nd_wcs_range(cv, &all);
    for (size_t i = 0; i < all.nvars; i++) {
        const nd_variable *v = all.vars[i];
        nd_buf_puts(b, "<swe:field name=\"");
        nd_buf_put_xml(b, v->name);
        nd_buf_puts(b, "\"><swe:Quantity definition=\"");
        nd_buf_put_xml(b, quantity_definition(v));
        nd_buf_puts(b, "\">");
        xml_text(b, "swe:description", v->long_name ? v->long_name : v->name);
        if (v->has_fill)
            nd_buf_printf(b, "<swe:nilValues><swe:NilValues><swe:nilValue reason=\"http://www.opengis.net/def/nil/OGC/0/"
                             "unknown\">%.17g</swe:nilValue></swe:NilValues></swe:nilValues>", v->fill);
        nd_buf_puts(b, "<swe:uom code=\"");
        nd_buf_put_xml(b, v->units && *v->units ? v->units : "1");
        nd_buf_puts(b, "\"/></swe:Quantity></swe:field>");
    }
    nd_buf_printf(b, "</swe:DataRecord></gmlcov:rangeType><wcs:ServiceParameters><wcs:CoverageSubtype>%s"
                     "</wcs:CoverageSubtype><wcs:nativeFormat>%s</wcs:nativeFormat></wcs:ServiceParameters>"
                     "</wcs:CoverageDescription>\n",
                  ref ? "ReferenceableGridCoverage" : "RectifiedGridCoverage", "image/tiff");
}

int nd_wcs20_describe(nd_req *rq, nd_resp *rs) {
    const char *ids = nd_req_query(rq, "COVERAGEID");
    if (!ids || !*ids) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "coverageId", "COVERAGEID is required");
    if (strlen(ids) > 4096) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "coverageId", "COVERAGEID is too long");
    char *list = nd_arena_strdup(rq->arena, ids), *save = NULL;
    nd_buf b = {0};
    nd_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<wcs:CoverageDescriptions " XMLNS
                    " xsi:schemaLocation=\"" NS_WCS " http://schemas.opengis.net/wcs/2.0/wcsDescribeCoverage.xsd\">\n");
    for (char *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
        nd_wcs_cov cv;
        if (!nd_wcs_coverage(rq, id, &cv)) {
            nd_buf_free(&b);
            return nd_fail(&rq->err, ND_E_NO_SUCH_COVERAGE, id, "No coverage '%.100s'", id);
        }
        describe_one(rq, &b, &cv);
    }
    nd_buf_puts(&b, "</wcs:CoverageDescriptions>\n");
    return send_xml(rs, &b);
}

int nd_wcs20_getcoverage(nd_req *rq, nd_resp *rs) {
    const char *id = nd_req_query(rq, "COVERAGEID");
    if (!id || !*id) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "coverageId", "COVERAGEID is required");
    nd_wcs_cov cv;
    if (!nd_wcs_coverage(rq, id, &cv))
        return nd_fail(&rq->err, ND_E_NO_SUCH_COVERAGE, "coverageId", "No coverage '%.100s'", id);
    nd_subset *s = nd_arena_alloc(rq->arena, sizeof *s);
    nd_wcs_range(&cv, s);
    int rc = nd_wcs20_apply(rq, s, &rq->err);
    if (rc < 0) return rc;
    return nd_wcs_send_subset(rq, rs, s, cv.id);
}
