/* WCS 1.0.0 for the clients that still speak it (QGIS, GDAL's WCS driver, OWSLib): capabilities,
 * DescribeCoverage and GetCoverage with BBOX, CRS, RESPONSE_CRS, WIDTH/HEIGHT or RESX/RESY, TIME, BAND. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nadir/wcs.h"

#define XMLNS10                                                                                        \
    "xmlns=\"http://www.opengis.net/wcs\" xmlns:gml=\"http://www.opengis.net/gml\" "                   \
    "xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\""

static void text(nd_buf *b, const char *tag, const char *t) {
    nd_buf_printf(b, "<%s>", tag);
    nd_buf_put_xml(b, t ? t : "");
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

static void lonlat_envelope(nd_buf *b, const nd_dataset *ds) {
    nd_buf_printf(b, "<lonLatEnvelope srsName=\"urn:ogc:def:crs:OGC:1.3:CRS84\"><gml:pos>%.15g %.15g</gml:pos>"
                     "<gml:pos>%.15g %.15g</gml:pos>",
                  ds->wgs84[0], ds->wgs84[1], ds->wgs84[2], ds->wgs84[3]);
    if (ds->time) {
        char a[48], z[48];
        nd_datetime_format(&ds->time->dates[0], a, sizeof a);
        nd_datetime_format(&ds->time->dates[ds->time->n - 1], z, sizeof z);
        nd_buf_printf(b, "<gml:timePosition>%s</gml:timePosition><gml:timePosition>%s</gml:timePosition>", a, z);
    }
    nd_buf_puts(b, "</lonLatEnvelope>");
}

int nd_wcs10_capabilities(nd_req *rq, nd_resp *rs) {
    const char *url = nd_req_url(rq, "/wcs");
    nd_buf b = {0};
    nd_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<WCS_Capabilities version=\"1.0.0\" " XMLNS10
                    " xsi:schemaLocation=\"http://www.opengis.net/wcs "
                    "http://schemas.opengis.net/wcs/1.0.0/wcsCapabilities.xsd\">\n"
                    "<Service><name>WCS</name><label>nadir Web Coverage Service</label>"
                    "<fees>NONE</fees><accessConstraints>NONE</accessConstraints></Service>\n<Capability><Request>");
    static const char *const ops[] = {"GetCapabilities", "DescribeCoverage", "GetCoverage"};
    for (int i = 0; i < 3; i++) {
        nd_buf_printf(&b, "<%s><DCPType><HTTP><Get><OnlineResource xlink:type=\"simple\" xlink:href=\"", ops[i]);
        nd_buf_put_xml(&b, url);
        nd_buf_printf(&b, "?\"/></Get></HTTP></DCPType></%s>", ops[i]);
    }
    nd_buf_puts(&b, "</Request><Exception><Format>application/vnd.ogc.se_xml</Format></Exception></Capability>\n"
                    "<ContentMetadata>\n");
    nd_wcs_cov cv;
    for (size_t k = 0; nd_wcs_coverage_at(rq, k, &cv); k++) {
        const nd_dataset *ds = cv.ds;
        nd_buf_puts(&b, "<CoverageOfferingBrief>");
        if (ds->conf->abstract) text(&b, "description", ds->conf->abstract);
        text(&b, "name", cv.id);
        text(&b, "label", ds->conf->title ? ds->conf->title : ds->id);
        lonlat_envelope(&b, ds);
        nd_buf_puts(&b, "</CoverageOfferingBrief>\n");
    }
    nd_buf_puts(&b, "</ContentMetadata>\n</WCS_Capabilities>\n");
    return send_xml(rs, &b);
}

static const char *native_crs(nd_req *rq, const nd_dataset *ds) {
    return ds->epsg ? nd_arena_printf(rq->arena, "EPSG:%d", ds->epsg) : "EPSG:4326";
}

static void describe_one(nd_req *rq, nd_buf *b, const nd_wcs_cov *cv) {
    const nd_dataset *ds = cv->ds;
    const char *crs = native_crs(rq, ds);
    const double *gt = ds->geotransform;
    nd_buf_puts(b, "<CoverageOffering>");
    if (ds->conf->abstract) text(b, "description", ds->conf->abstract);
    text(b, "name", cv->id);
    text(b, "label", ds->conf->title ? ds->conf->title : ds->id);
    lonlat_envelope(b, ds);
    /* WCS 1.0 is GML 3.0 before axis-order rules: every position is x y, for EPSG:4326 too. */
    nd_buf_printf(b, "<domainSet><spatialDomain><gml:Envelope srsName=\"%s\"><gml:pos>%.17g %.17g</gml:pos>"
                     "<gml:pos>%.17g %.17g</gml:pos></gml:Envelope>",
                  crs, ds->bbox[0], ds->bbox[1], ds->bbox[2], ds->bbox[3]);
    nd_buf_printf(b, "<gml:RectifiedGrid dimension=\"2\" srsName=\"%s\"><gml:limits><gml:GridEnvelope>"
                     "<gml:low>0 0</gml:low><gml:high>%zu %zu</gml:high></gml:GridEnvelope></gml:limits>"
                     "<gml:axisName>x</gml:axisName><gml:axisName>y</gml:axisName><gml:origin><gml:pos>%.17g %.17g"
                     "</gml:pos></gml:origin><gml:offsetVector>%.17g %.17g</gml:offsetVector><gml:offsetVector>%.17g "
                     "%.17g</gml:offsetVector></gml:RectifiedGrid></spatialDomain>",
                  crs, ds->width - 1, ds->height - 1, gt[0] + 0.5 * gt[1] + 0.5 * gt[2],
                  gt[3] + 0.5 * gt[4] + 0.5 * gt[5], gt[1], gt[4], gt[2], gt[5]);
    if (ds->time) {
        nd_buf_puts(b, "<temporalDomain>");
        for (size_t i = 0; i < ds->time->n; i++) {
            char iso[48];
            nd_datetime_format(&ds->time->dates[i], iso, sizeof iso);
            nd_buf_printf(b, "<gml:timePosition>%s</gml:timePosition>", iso);
        }
        nd_buf_puts(b, "</temporalDomain>");
    }
    nd_buf_puts(b, "</domainSet><rangeSet><RangeSet><name>fields</name><label>");
    nd_subset all;
    nd_wcs_range(cv, &all);
    for (size_t i = 0; i < all.nvars; i++) {
        if (i) nd_buf_puts(b, ", ");
        nd_buf_put_xml(b, all.vars[i]->name);
    }
    nd_buf_puts(b, "</label>");
    if (all.nvars > 1) {
        nd_buf_puts(b, "<axisDescription><AxisDescription><name>band</name><label>Bands</label><values>");
        for (size_t i = 0; i < all.nvars; i++) nd_buf_printf(b, "<singleValue>%zu</singleValue>", i + 1);
        nd_buf_puts(b, "</values></AxisDescription></axisDescription>");
    }
    if (all.nvars && all.vars[0]->has_fill)
        nd_buf_printf(b, "<nullValues><singleValue>%.17g</singleValue></nullValues>", all.vars[0]->fill);
    nd_buf_printf(b, "</RangeSet></rangeSet><supportedCRSs><requestResponseCRSs>%s</requestResponseCRSs>", crs);
    if (strcmp(crs, "EPSG:4326") != 0)
        nd_buf_puts(b, "<requestResponseCRSs>EPSG:4326</requestResponseCRSs>");
    nd_buf_printf(b, "<requestResponseCRSs>EPSG:3857</requestResponseCRSs><nativeCRSs>%s</nativeCRSs></supportedCRSs>",
                  crs);
    nd_buf_puts(b, "<supportedFormats nativeFormat=\"GeoTIFF\"><formats>GeoTIFF</formats><formats>NetCDF</formats>"
                   "</supportedFormats><supportedInterpolations default=\"nearest neighbor\">"
                   "<interpolationMethod>nearest neighbor</interpolationMethod><interpolationMethod>bilinear"
                   "</interpolationMethod><interpolationMethod>bicubic</interpolationMethod>"
                   "</supportedInterpolations></CoverageOffering>\n");
}

int nd_wcs10_describe(nd_req *rq, nd_resp *rs) {
    const char *ids = nd_req_query(rq, "COVERAGE");
    nd_buf b = {0};
    nd_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CoverageDescription version=\"1.0.0\" " XMLNS10
                    " xsi:schemaLocation=\"http://www.opengis.net/wcs "
                    "http://schemas.opengis.net/wcs/1.0.0/describeCoverage.xsd\">\n");
    if (ids && strlen(ids) > 4096) {
        nd_buf_free(&b);
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "coverage", "COVERAGE is too long");
    }
    if (!ids || !*ids) { /* 1.0.0: no COVERAGE describes them all */
        nd_wcs_cov cv;
        for (size_t k = 0; nd_wcs_coverage_at(rq, k, &cv); k++) describe_one(rq, &b, &cv);
    } else {
        char *list = nd_arena_strdup(rq->arena, ids), *save = NULL;
        for (char *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
            nd_wcs_cov cv;
            if (!nd_wcs_coverage(rq, id, &cv)) {
                nd_buf_free(&b);
                return nd_fail(&rq->err, ND_E_INVALID_PARAM, "coverage", "No coverage '%.100s'", id);
            }
            describe_one(rq, &b, &cv);
        }
    }
    nd_buf_puts(&b, "</CoverageDescription>\n");
    return send_xml(rs, &b);
}

static bool num(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return false;
    *out = v;
    return true;
}

static int time10(nd_req *rq, nd_subset *s, const char *t) {
    const nd_dataset *ds = s->ds;
    if (!ds->time) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "time", "The coverage has no time axis");
    if (strlen(t) > 256) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "time", "TIME is too long");
    char *copy = nd_arena_strdup(rq->arena, t), *slash = strchr(copy, '/');
    nd_datetime a, b;
    if (slash) {
        *slash = '\0';
        char *res = strchr(slash + 1, '/');
        if (res) *res = '\0';
        if (nd_datetime_parse(copy, &a) < 0 || nd_datetime_parse(slash + 1, &b) < 0)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "time", "TIME must be ISO 8601 (instant or start/end)");
        size_t first, n = nd_subset_time_range(ds, &a, &b, &first);
        if (!n) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "time", "No time step lies within TIME");
        s->t0 = first, s->nt = n;
        return 0;
    }
    if (nd_datetime_parse(copy, &a) < 0)
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "time", "TIME must be ISO 8601 (instant or start/end)");
    long i = nd_subset_time_index(ds, &a);
    if (i < 0) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "time", "TIME is outside the time axis");
    s->t0 = (size_t)i, s->nt = 1;
    return 0;
}

static const char *crs10(nd_arena *a, const char *crs) {
    bool lonlat;
    int code = nd_wcs_crs_code(crs, &lonlat);
    if (!code) return NULL;
    /* 1.0.0 coordinates are x/y whatever the EPSG axis order. */
    return code == 4326 ? "OGC:CRS84" : nd_arena_printf(a, "EPSG:%d", code);
}

int nd_wcs10_getcoverage(nd_req *rq, nd_resp *rs) {
    const char *id = nd_req_query(rq, "COVERAGE");
    if (!id || !*id) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "coverage", "COVERAGE is required");
    nd_wcs_cov cv;
    if (!nd_wcs_coverage(rq, id, &cv))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "coverage", "No coverage '%.100s'", id);
    const nd_dataset *ds = cv.ds;
    nd_subset *s = nd_arena_alloc(rq->arena, sizeof *s);
    nd_wcs_range(&cv, s);
    const char *crs = nd_req_query(rq, "CRS"), *rcrs = nd_req_query(rq, "RESPONSE_CRS");
    const char *bbox = nd_req_query(rq, "BBOX"), *t = nd_req_query(rq, "TIME");
    if (!crs) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "crs", "CRS is required");
    if (!bbox && !t) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "bbox", "BBOX or TIME is required");
    const char *c = crs10(rq->arena, crs);
    if (!c) return nd_fail(&rq->err, ND_E_INVALID_CRS, "crs", "CRS '%.80s' is not supported", crs);
    const char *rc_ = rcrs ? crs10(rq->arena, rcrs) : c;
    if (!rc_) return nd_fail(&rq->err, ND_E_INVALID_CRS, "response_crs", "RESPONSE_CRS '%.80s' is not supported", rcrs);
    s->window_crs = c;
    s->out_crs = rc_;
    if (bbox) {
        double v[4];
        char *copy = nd_arena_strdup(rq->arena, bbox), *save = NULL;
        int n = 0;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
            if (n == 4 || !num(p, &v[n++])) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "BBOX must be minx,miny,maxx,maxy");
        if (n != 4 && n != 6) return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "BBOX must be minx,miny,maxx,maxy");
        if (v[0] >= v[2] || v[1] >= v[3])
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "bbox", "BBOX minimum must be below its maximum");
        s->has_x = s->has_y = true;
        s->xlo = v[0], s->ylo = v[1], s->xhi = v[2], s->yhi = v[3];
    }
    const char *w = nd_req_query(rq, "WIDTH"), *h = nd_req_query(rq, "HEIGHT");
    const char *rx = nd_req_query(rq, "RESX"), *ry = nd_req_query(rq, "RESY");
    double dw, dh;
    if (w || h) {
        if (!w || !h || !num(w, &dw) || !num(h, &dh) || dw < 1 || dh < 1 || dw > (1 << 20) || dh > (1 << 20) ||
            dw != floor(dw) || dh != floor(dh))
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, w ? "height" : "width", "WIDTH and HEIGHT must be positive integers");
        s->width = (int)dw, s->height = (int)dh;
    } else if (rx || ry) {
        double x, y;
        if (!rx || !ry || !num(rx, &x) || !num(ry, &y) || x <= 0 || y <= 0 || !bbox)
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "resx", "RESX and RESY must be positive, with a BBOX");
        double cw = (s->xhi - s->xlo) / x, ch = (s->yhi - s->ylo) / y;
        if (cw > (1 << 20) || ch > (1 << 20))
            return nd_fail(&rq->err, ND_E_INVALID_PARAM, "resx", "RESX/RESY give too large a grid");
        s->width = (int)fmax(1, floor(cw + 0.5)), s->height = (int)fmax(1, floor(ch + 0.5));
    } else {
        return nd_fail(&rq->err, ND_E_MISSING_PARAM, "width", "WIDTH/HEIGHT or RESX/RESY is required");
    }
    if (t) {
        int r = time10(rq, s, t);
        if (r < 0) return r;
    } else if (ds->time) {
        /* 1.0.0 has no multi-time answer: the default is the latest step, as in the capabilities. */
        s->t0 = ds->time->n - 1, s->nt = 1;
    }
    const char *fmt = nd_req_query(rq, "FORMAT");
    if (!fmt) return nd_fail(&rq->err, ND_E_MISSING_PARAM, "format", "FORMAT is required");
    if (!nd_wcs_format(fmt, &s->format))
        return nd_fail(&rq->err, ND_E_INVALID_FORMAT, "format", "Format '%.80s' is not offered", fmt);
    const char *interp = nd_req_query(rq, "INTERPOLATION");
    if (interp && strcasecmp(interp, "nearest neighbor") != 0 && !nd_wcs_interpolation(interp, &s->resampling))
        return nd_fail(&rq->err, ND_E_INVALID_PARAM, "interpolation", "Interpolation '%.80s' is not supported", interp);
    const char *band = nd_req_query(rq, "BAND");
    if (band) {
        /* 1-based indexes into the coverage's range (as DescribeCoverage lists them), or names */
        nd_subset range = *s;
        s->nvars = 0;
        char *copy = nd_arena_strdup(rq->arena, band), *save = NULL;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            char *end;
            long i = strtol(p, &end, 10);
            const nd_variable *v =
                (*end || i < 1 || (size_t)i > range.nvars) ? nd_dataset_var(ds, p) : range.vars[i - 1];
            if (!v || s->nvars == ND_SUBSET_MAX_VARS)
                return nd_fail(&rq->err, ND_E_INVALID_PARAM, "band", "No band '%.64s'", p);
            s->vars[s->nvars++] = v;
        }
    }
    /* When the grid asked for is exactly the native one, there is nothing to resample. */
    return nd_wcs_send_subset(rq, rs, s, cv.id);
}
