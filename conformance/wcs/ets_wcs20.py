#!/usr/bin/python3
"""Local reproduction of the OGC CITE ets-wcs20 checks that run without the TEAM Engine: core, KVP,
GeoTIFF, scaling, CRS, range subsetting and interpolation conformance classes (see README.md for the list
and what is not covered).

    /usr/bin/python3 conformance/wcs/ets_wcs20.py --nadir build/nadir      # demo data, own server
    /usr/bin/python3 conformance/wcs/ets_wcs20.py --url http://host:8080/wcs

Exit status 0 when every check passes. Each line: PASS|FAIL class.check [detail].
"""
import os
import sys
import xml.etree.ElementTree as ET

import requests
from osgeo import gdal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402  (conformance/harness.py)
from harness import check  # noqa: E402

gdal.UseExceptions()
NS = {"wcs": "http://www.opengis.net/wcs/2.0", "ows": "http://www.opengis.net/ows/2.0",
      "gml": "http://www.opengis.net/gml/3.2", "gmlcov": "http://www.opengis.net/gmlcov/1.0",
      "swe": "http://www.opengis.net/swe/2.0",
    "rgrid": "http://www.opengis.net/gml/3.3/rgrid", "crs": "http://www.opengis.net/wcs/crs/1.0",
      "int": "http://www.opengis.net/wcs/interpolation/1.0"}
CONF = "http://www.opengis.net/spec/"


class Ctx:
    def __init__(self, url):
        self.url = url
        self.caps = None
        self.ids = []

    def get(self, **p):
        return requests.get(self.url, params=p, timeout=120)

    def getq(self, pairs):
        return requests.get(self.url, params=pairs, timeout=120)

    def describe(self, cid):
        r = self.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage", COVERAGEID=cid)
        assert r.status_code == 200, f"DescribeCoverage {cid}: HTTP {r.status_code}"
        return ET.fromstring(r.content).find("wcs:CoverageDescription", NS)


def exc(r, code, status=None):
    assert r.headers.get("Content-Type", "").startswith(("application/xml", "text/xml")), "exception is not XML"
    root = ET.fromstring(r.content)
    assert root.tag == "{%s}ExceptionReport" % NS["ows"], f"root {root.tag}"
    got = root.find("ows:Exception", NS).get("exceptionCode")
    assert got == code, f"exceptionCode {got}, expected {code}"
    if status:
        assert r.status_code == status, f"HTTP {r.status_code}, expected {status}"


def tiff(r):
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
    path = f"/vsimem/ets_{id(r)}.tif"
    gdal.FileFromMemBuffer(path, r.content)
    ds = gdal.Open(path)
    assert ds.GetDriver().ShortName == "GTiff", "not a TIFF"
    return ds


def grid_high(desc):
    """The grid's upper limits, x first: a RectifiedGrid, or a ReferenceableGridByVectors (N-D, time/vertical)."""
    return desc.find(".//gml:domainSet//gml:limits/gml:GridEnvelope/gml:high", NS).text.split()


def corners(env):
    """Lower and upper corner as numbers on the horizontal axes (the first two; N-D envelopes add time and
    vertical positions after them)."""
    return ([float(v) for v in env.find("gml:lowerCorner", NS).text.split()[:2]],
            [float(v) for v in env.find("gml:upperCorner", NS).text.split()[:2]])


def horizontal_crs_code(env):
    """The EPSG code of the horizontal CRS: the srsName, or the first part of a compound CRS."""
    name = env.get("srsName")
    if "crs-compound?" in name:
        name = name.split("?", 1)[1].split("&")[0].split("=", 1)[1]
    return name.rsplit("/", 1)[-1]


def envelope(desc):
    env = desc.find("gml:boundedBy/gml:Envelope", NS)
    if env is None:
        env = desc.find("gml:boundedBy/gml:EnvelopeWithTimePeriod", NS)
    return env


# ---- core (OGC 09-110r4) and KVP protocol binding (OGC 09-147r3) ----

@check("core.getCapabilities-response-structure")
def _(c):
    r = c.get(SERVICE="WCS", REQUEST="GetCapabilities")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.tag == "{%s}Capabilities" % NS["wcs"] and root.get("version") == "2.0.1"
    c.caps = root
    assert "2.0.1" in [e.text for e in root.findall(".//ows:ServiceTypeVersion", NS)]
    ops = {o.get("name") for o in root.findall(".//ows:OperationsMetadata/ows:Operation", NS)}
    assert {"GetCapabilities", "DescribeCoverage", "GetCoverage"} <= ops, ops
    c.ids = [e.text for e in root.findall(".//wcs:CoverageSummary/wcs:CoverageId", NS)]
    assert c.ids, "no CoverageSummary"
    for s in root.findall(".//wcs:CoverageSummary", NS):
        assert s.find("wcs:CoverageSubtype", NS) is not None


@check("core.profile-core-listed")
def _(c):
    profiles = [e.text for e in c.caps.findall(".//ows:Profile", NS)]
    assert CONF + "WCS/2.0/conf/core" in profiles


@check("kvp.getCapabilities-acceptversions")
def _(c):
    r = c.get(SERVICE="WCS", REQUEST="GetCapabilities", ACCEPTVERSIONS="2.0.1,1.0.0")
    assert ET.fromstring(r.content).get("version") == "2.0.1"
    exc(c.get(SERVICE="WCS", REQUEST="GetCapabilities", ACCEPTVERSIONS="9.9.9"), "VersionNegotiationFailed")


@check("kvp.parameter-names-case-insensitive")
def _(c):
    r = c.get(service="WCS", request="DescribeCoverage", version="2.0.1", coverageid=c.ids[0])
    assert r.status_code == 200


@check("kvp.missing-request")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1"), "MissingParameterValue", 400)


@check("kvp.invalid-service")
def _(c):
    exc(c.get(SERVICE="XYZ", REQUEST="GetCapabilities"), "InvalidParameterValue", 400)


@check("kvp.missing-version-describe")
def _(c):
    exc(c.get(SERVICE="WCS", REQUEST="DescribeCoverage", COVERAGEID=c.ids[0]), "MissingParameterValue", 400)


@check("core.describeCoverage-every-summary")
def _(c):
    for cid in c.ids:
        d = c.describe(cid)
        assert d.get("{%s}id" % NS["gml"]) == cid
        assert d.find("wcs:CoverageId", NS).text == cid
        env = envelope(d)
        assert env is not None, "no boundedBy envelope"
        labels = env.get("axisLabels").split()
        assert int(env.get("srsDimension")) == len(labels) == len(env.find("gml:lowerCorner", NS).text.split())
        assert d.find("gml:domainSet", NS) is not None and d.find("gmlcov:rangeType/swe:DataRecord", NS) is not None
        sp = d.find("wcs:ServiceParameters", NS)
        assert sp.find("wcs:CoverageSubtype", NS).text and sp.find("wcs:nativeFormat", NS).text


@check("core.describeCoverage-no-such-coverage")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage", COVERAGEID="no_such_thing"),
        "NoSuchCoverage", 404)


@check("core.describeCoverage-missing-id")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage"), "MissingParameterValue", 400)


@check("core.getCoverage-whole-coverage-in-native-format")
def _(c):
    for cid in c.ids:
        d = c.describe(cid)
        grid = grid_high(d)
        r = c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid)
        assert r.headers["Content-Type"].startswith(d.find("wcs:ServiceParameters/wcs:nativeFormat", NS).text)
        ds = tiff(r)
        assert (ds.RasterXSize, ds.RasterYSize) == (int(grid[0]) + 1, int(grid[1]) + 1)
        fields = d.findall(".//swe:field", NS)
        steps = 1
        for k in grid[2:]:  # time and vertical axes: a band per position and field
            steps *= int(k) + 1
        assert ds.RasterCount == len(fields) * steps, (ds.RasterCount, len(fields), steps)


@check("core.getCoverage-no-such-coverage")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID="no_such_thing"),
        "NoSuchCoverage", 404)


def middle_trim(c, cid):
    d = c.describe(cid)
    env = envelope(d)
    labels = env.get("axisLabels").split()
    lo, hi = corners(env)
    subs = [f"{labels[i]}({lo[i] + (hi[i] - lo[i]) / 4!r},{lo[i] + 3 * (hi[i] - lo[i]) / 4!r})" for i in range(2)]
    return d, labels, lo, hi, subs


@check("core.getCoverage-trim")
def _(c):
    for cid in c.ids:
        d, labels, lo, hi, subs = middle_trim(c, cid)
        ds = tiff(c.getq([("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"),
                          ("COVERAGEID", cid)] + [("SUBSET", s) for s in subs]))
        full = grid_high(d)
        assert abs(ds.RasterXSize - (int(full[0]) + 1) / 2) <= 1 and abs(ds.RasterYSize - (int(full[1]) + 1) / 2) <= 1


@check("core.getCoverage-slice")
def _(c):
    cid = c.ids[0]
    d, labels, lo, hi, subs = middle_trim(c, cid)
    mid = (lo[0] + hi[0]) / 2
    ds = tiff(c.getq([("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"), ("COVERAGEID", cid),
                      ("SUBSET", f"{labels[0]}({mid!r})")]))
    assert 1 in (ds.RasterXSize, ds.RasterYSize), "a slice keeps one cell on the sliced axis"


@check("core.getCoverage-slice-irregular-axes")
def _(c):
    """On N-D coverages every axis can be sliced: time and vertical at a position their coefficients list give
    one band per field; the horizontal grid is unchanged."""
    ndim = 0
    for cid in c.ids:
        d = c.describe(cid)
        grid = d.find(".//gml:domainSet/rgrid:ReferenceableGridByVectors", NS)
        if grid is None:
            continue
        ndim += 1
        subs = []
        for ax in grid.findall("rgrid:generalGridAxis/rgrid:GeneralGridAxis", NS):
            coeffs = (ax.find("rgrid:coefficients", NS).text or "").split()
            if coeffs:  # an irregular axis (after x and y): slice at the origin's position on it, quoted if a date
                origin = grid.find("rgrid:origin/gml:Point/gml:pos", NS).text.split()
                label = ax.find("rgrid:gridAxesSpanned", NS).text
                axes = [a.find("rgrid:gridAxesSpanned", NS).text for a in grid.findall(".//rgrid:GeneralGridAxis", NS)]
                subs.append(f"{label}({origin[axes.index(label)]})")
        ds = tiff(c.getq([("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"), ("COVERAGEID", cid)]
                         + [("SUBSET", x) for x in subs]))
        high = grid_high(d)
        assert (ds.RasterXSize, ds.RasterYSize) == (int(high[0]) + 1, int(high[1]) + 1)
        assert ds.RasterCount == len(d.findall(".//swe:field", NS)), (cid, subs, ds.RasterCount)
    assert ndim, "no coverage with time or vertical axes to check"


@check("core.getCoverage-invalid-axis-label")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0], SUBSET="nosuchaxis(0,1)"),
        "InvalidAxisLabel", 404)


@check("core.getCoverage-subset-outside-extent")
def _(c):
    d, labels, lo, hi, subs = middle_trim(c, c.ids[0])
    far = hi[0] + 10 * (hi[0] - lo[0])
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0],
              SUBSET=f"{labels[0]}({far!r},{far + 1!r})"), "InvalidSubsetting", 404)


@check("core.getCoverage-subset-inverted")
def _(c):
    d, labels, lo, hi, subs = middle_trim(c, c.ids[0])
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0],
              SUBSET=f"{labels[0]}({hi[0]!r},{lo[0]!r})"), "InvalidSubsetting", 404)


@check("core.getCoverage-missing-coverageid")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage"), "MissingParameterValue", 400)


# ---- GeoTIFF coverage encoding (OGC 12-100r1) ----

@check("geotiff.format-listed")
def _(c):
    assert "image/tiff" in [e.text for e in c.caps.findall(".//wcs:ServiceMetadata/wcs:formatSupported", NS)]


@check("geotiff.georeferencing-matches-description")
def _(c):
    for cid in c.ids:
        d = c.describe(cid)
        env = envelope(d)
        ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid, FORMAT="image/tiff"))
        gt = ds.GetGeoTransform()
        srs = ds.GetSpatialRef()
        assert srs is not None, "no CRS in the GeoTIFF"
        code = horizontal_crs_code(env)
        assert srs.GetAuthorityCode(None) == code, f"EPSG {srs.GetAuthorityCode(None)} vs {code}"
        lo, hi = corners(env)
        if env.get("axisLabels").split()[0] in ("Lat", "lat"):
            lo, hi = lo[::-1], hi[::-1]
        got = [gt[0], gt[3] + ds.RasterYSize * gt[5], gt[0] + ds.RasterXSize * gt[1], gt[3]]
        assert all(abs(a - b) < 1e-6 * max(1, abs(b)) for a, b in zip(got, lo + hi)), (got, lo + hi)


# ---- Scaling (OGC 12-039) ----

@check("scaling.profile-listed")
def _(c):
    assert CONF + "WCS_service-extension_scaling/1.0/conf/scaling" in [e.text for e in c.caps.findall(".//ows:Profile", NS)]


@check("scaling.scalesize-and-scaleextent")
def _(c):
    cid = c.ids[-1]
    ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid, SCALESIZE="i(37),j(23)"))
    assert (ds.RasterXSize, ds.RasterYSize) == (37, 23)
    ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid, SCALEEXTENT="i(0:9),j(0:4)"))
    assert (ds.RasterXSize, ds.RasterYSize) == (10, 5)


@check("scaling.scalefactor-and-scaleaxes")
def _(c):
    cid = c.ids[-1]
    full = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid))
    ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid, SCALEFACTOR="2"))
    assert abs(ds.RasterXSize - full.RasterXSize / 2) <= 1 and abs(ds.RasterYSize - full.RasterYSize / 2) <= 1
    ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid, SCALEAXES="i(4),j(1)"))
    assert abs(ds.RasterXSize - full.RasterXSize / 4) <= 1 and ds.RasterYSize == full.RasterYSize


@check("scaling.invalid-scale-factor")
def _(c):
    for v in ("0", "-1", "x"):
        exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0], SCALEFACTOR=v),
            "InvalidScaleFactor", 400)
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0], SCALESIZE="i(0)"),
        "InvalidExtent", 400)


# ---- CRS (OGC 11-053r1) ----

@check("crs.crs-metadata-listed")
def _(c):
    sup = [e.text for e in c.caps.findall(".//crs:CrsMetadata/crs:crsSupported", NS)]
    out = [e.text for e in c.caps.findall(".//crs:CrsMetadata/crs:outputCrs", NS)]
    assert "http://www.opengis.net/def/crs/EPSG/0/4326" in sup and "http://www.opengis.net/def/crs/EPSG/0/3857" in out


@check("crs.outputcrs")
def _(c):
    ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[-1],
                    OUTPUTCRS="http://www.opengis.net/def/crs/EPSG/0/3857"))
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "3857"


@check("crs.subsettingcrs")
def _(c):
    cid = c.ids[-1]
    summary = c.caps.find(f".//wcs:CoverageSummary[wcs:CoverageId='{cid}']", NS)
    w, s = [float(v) for v in summary.find("ows:WGS84BoundingBox/ows:LowerCorner", NS).text.split()]
    e, n = [float(v) for v in summary.find("ows:WGS84BoundingBox/ows:UpperCorner", NS).text.split()]
    ds = tiff(c.getq([("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"), ("COVERAGEID", cid),
                      ("SUBSETTINGCRS", "http://www.opengis.net/def/crs/EPSG/0/4326"),
                      ("SUBSET", f"Long({w + (e - w) / 4!r},{w + (e - w) / 2!r})"),
                      ("SUBSET", f"Lat({s + (n - s) / 4!r},{s + (n - s) / 2!r})")]))
    assert ds.RasterXSize > 1 and ds.RasterYSize > 1


@check("crs.unsupported")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0],
              SUBSETTINGCRS="http://www.opengis.net/def/crs/EPSG/0/99999999", SUBSET="Long(0,1)"),
        "SubsettingCrs-NotSupported", 400)
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0],
              OUTPUTCRS="http://www.opengis.net/def/crs/EPSG/0/99999999"), "OutputCrs-NotSupported", 400)


# ---- Range subsetting (OGC 12-040) ----

@check("rangesubsetting.components-and-intervals")
def _(c):
    for cid in c.ids:
        names = [f.get("name") for f in c.describe(cid).findall(".//swe:field", NS)]
        if len(names) < 3:
            continue
        ds = tiff(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=cid,
                        RANGESUBSET=f"{names[2]},{names[0]}:{names[1]}"))
        assert ds.RasterCount == 3
        return
    raise AssertionError("no coverage with 3 fields to test")


@check("rangesubsetting.no-such-field")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0], RANGESUBSET="no_such_field"),
        "NoSuchField", 400)


# ---- Interpolation (OGC 12-049) ----

@check("interpolation.supported-listed-and-accepted")
def _(c):
    sup = [e.text for e in c.caps.findall(".//int:InterpolationMetadata/int:InterpolationSupported", NS)]
    assert sup
    for m in sup:
        r = c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[-1], SCALEFACTOR="2",
                  INTERPOLATION=m)
        tiff(r)


@check("interpolation.unsupported")
def _(c):
    exc(c.get(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=c.ids[0],
              INTERPOLATION="http://www.opengis.net/def/interpolation/OGC/1/barycentric"),
        "InterpolationMethodNotSupported", 400)


def main():
    a = harness.parser(__doc__, "WCS endpoint, e.g. http://localhost:8080/wcs").parse_args()
    proc, url = harness.serve_demo(a.nadir) if a.nadir else (None, a.url)
    # without capabilities the other checks have nothing to work on
    stop = lambda run, ctx: run.check_name.startswith("core.getCapabilities") and ctx.caps is None  # noqa: E731
    return harness.run_checks(Ctx(url + "/wcs" if proc else url), proc, stop)


if __name__ == "__main__":
    sys.exit(main())
