/* WCS front-end internals shared by its files (wcs*.c) and unit tests: parameter parsing into a subset,
 * axis labels, CRS identifiers, coverage lookup. */
#ifndef NADIR_WCS_H
#define NADIR_WCS_H

#include <stdbool.h>

#include "nadir/app.h"
#include "nadir/http.h"
#include "nadir/subset.h"

/* One SUBSET=axis[,crs](low,high) or axis[,crs](point) parameter, strings in the request arena. */
typedef struct nd_wcs_dim {
    const char *axis;
    const char *crs;      /* NULL when not given */
    bool slice;
    const char *lo, *hi;  /* quotes removed; "*" = unbounded; for a slice lo is the point */
} nd_wcs_dim;

int nd_wcs_parse_dim(nd_arena *a, const char *text, nd_wcs_dim *out, nd_error *err);

/* "EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "http://www.opengis.net/def/crs/EPSG/0/4326", OGC CRS84:
 * the EPSG code (CRS84 gives 4326 with *lonlat set), or 0 when not a CRS identifier we know. */
int nd_wcs_crs_code(const char *crs, bool *lonlat);
/* The URI of an EPSG code: http://www.opengis.net/def/crs/EPSG/0/N. */
const char *nd_wcs_crs_uri(nd_arena *a, int epsg);

/* Axis labels of a dataset's native CRS: "Lat"/"Long" for geographic, "E"/"N" else. */
bool nd_wcs_geographic(const nd_dataset *ds);
const char *nd_wcs_x_label(const nd_dataset *ds);
const char *nd_wcs_y_label(const nd_dataset *ds);

/* Applies the 2.0 parameters of rq (SUBSET*, SUBSETTINGCRS, OUTPUTCRS, SCALE*, RANGESUBSET, INTERPOLATION)
 * to s; s->ds is set. */
int nd_wcs20_apply(nd_req *rq, nd_subset *s, nd_error *err);
/* Parses a FORMAT value; false when not offered. */
bool nd_wcs_format(const char *fmt, nd_out_format *out);
/* The interpolation named (OGC URI or short name); false when not supported. */
bool nd_wcs_interpolation(const char *name, nd_resampling *out);

/* A coverage: a dataset (range: its variables sharing the first one's grid) and, for datasets with several
 * variables, also each variable alone as "<dataset>.<variable>". */
typedef struct nd_wcs_cov {
    const nd_dataset *ds;
    const nd_variable *var; /* NULL: the dataset's range */
    const char *id;         /* in the request arena */
} nd_wcs_cov;

/* The k-th coverage offered (false past the last), and the coverage of an id (false when none). */
bool nd_wcs_coverage_at(nd_req *rq, size_t k, nd_wcs_cov *out);
bool nd_wcs_coverage(nd_req *rq, const char *id, nd_wcs_cov *out);
/* Sets s->ds and the range components of c into s. */
void nd_wcs_range(const nd_wcs_cov *c, nd_subset *s);

/* Runs the subset and answers with the file streamed from server.data_dir (deleted at once). */
int nd_wcs_send_subset(nd_req *rq, nd_resp *rs, nd_subset *s, const char *name);

/* Operation handlers by version. */
int nd_wcs20_capabilities(nd_req *rq, nd_resp *rs);
int nd_wcs20_describe(nd_req *rq, nd_resp *rs);
int nd_wcs20_getcoverage(nd_req *rq, nd_resp *rs);
int nd_wcs10_capabilities(nd_req *rq, nd_resp *rs);
int nd_wcs10_describe(nd_req *rq, nd_resp *rs);
int nd_wcs10_getcoverage(nd_req *rq, nd_resp *rs);

/* XML POST body (GetCapabilities, DescribeCoverage, GetCoverage of WCS 2.0) into KVP parameters of rq. */
int nd_wcs_xml_to_kvp(nd_req *rq, nd_error *err);

#endif
