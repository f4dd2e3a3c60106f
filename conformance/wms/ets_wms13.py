#!/usr/bin/python3
"""Local reproduction of the OGC CITE ets-wms13 checks that run without the TEAM Engine: basic service
elements, GetCapabilities, GetMap (with the dimension and exception checks) and GetFeatureInfo (see
README.md for the list and what is not covered).

    /usr/bin/python3 conformance/wms/ets_wms13.py --nadir build/nadir      # demo data, own server
    /usr/bin/python3 conformance/wms/ets_wms13.py --url http://host:8080/wms

Exit status 0 when every check passes. Each line: PASS|FAIL group.check [detail].
"""
import os
import sys
import uuid
import xml.etree.ElementTree as ET

import requests
from osgeo import gdal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402  (conformance/harness.py)
from harness import check  # noqa: E402

gdal.UseExceptions()
W = "{http://www.opengis.net/wms}"
OGC = "{http://www.opengis.net/ogc}"
XLINK = "{http://www.w3.org/1999/xlink}"


class Ctx:
    def __init__(self, url):
        self.url = url
        self.caps = None
        self.layers = []   # (name, element) of named layers
        self.layer = None  # the layer the map checks use

    def get(self, **p):
        return requests.get(self.url, params=p, timeout=120)

    def getmap(self, **p):
        q = dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS=self.layer["name"], STYLES="",
                 CRS="CRS:84", BBOX=self.layer["bbox84"], WIDTH="64", HEIGHT="32", FORMAT="image/png")
        q.update(p)
        return self.get(**{k: v for k, v in q.items() if v is not None})


def exception_code(r):
    root = ET.fromstring(r.content)
    assert root.tag.endswith("ServiceExceptionReport"), f"not a ServiceExceptionReport: {root.tag}"
    el = root.find(f"{OGC}ServiceException")
    assert el is not None, "no ogc:ServiceException"
    return el.get("code")


def expect_exception(r, code):
    assert r.headers.get("Content-Type", "").startswith(("text/xml", "application/vnd.ogc.se_xml")), \
        f"content type {r.headers.get('Content-Type')}"
    got = exception_code(r)
    assert got == code, f"exception code {got}, expected {code}"


def image(r, fmt="image/png"):
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:200]}"
    assert r.headers.get("Content-Type", "").split(";")[0] == fmt, r.headers.get("Content-Type")
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, r.content)
    try:
        ds = gdal.Open(name)
        out = (ds.RasterXSize, ds.RasterYSize, ds.RasterCount,
               ds.GetRasterBand(1).GetColorTable() is not None)
        arrays = [ds.GetRasterBand(b + 1).ReadAsArray() for b in range(ds.RasterCount)]
        ct = ds.GetRasterBand(1).GetColorTable()
        entries = [ct.GetColorEntry(i) for i in range(ct.GetCount())] if ct else None
        ds = None
        return out, arrays, entries
    finally:
        gdal.Unlink(name)


# ---- basic service elements (WMS 1.3.0 section 6) ----

@check("basic.version_negotiation_default")
def _(c):
    r = c.get(SERVICE="WMS", REQUEST="GetCapabilities")
    assert ET.fromstring(r.content).get("version") == "1.3.0"


@check("basic.version_negotiation_higher")
def _(c):
    r = c.get(SERVICE="WMS", REQUEST="GetCapabilities", VERSION="9.9.9")
    assert ET.fromstring(r.content).get("version") == "1.3.0"


@check("basic.version_negotiation_lower")
def _(c):
    r = c.get(SERVICE="WMS", REQUEST="GetCapabilities", VERSION="1.0.0")
    v = ET.fromstring(r.content).get("version")
    assert v in ("1.1.1", "1.3.0"), v


@check("basic.parameter_names_case_insensitive")
def _(c):
    r = c.get(service="WMS", request="GetCapabilities", version="1.3.0")
    assert r.status_code == 200 and ET.fromstring(r.content).tag == f"{W}WMS_Capabilities"


@check("basic.operation_not_supported")
def _(c):
    expect_exception(c.get(SERVICE="WMS", VERSION="1.3.0", REQUEST="NoSuchOperation"), "OperationNotSupported")


@check("basic.missing_request")
def _(c):
    expect_exception(c.get(SERVICE="WMS", VERSION="1.3.0"), "MissingParameterValue")


# ---- GetCapabilities (section 7.2) ----

@check("getcapabilities.root_and_service")
def _(c):
    r = c.get(SERVICE="WMS", REQUEST="GetCapabilities", VERSION="1.3.0")
    assert r.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    c.caps = root
    assert root.tag == f"{W}WMS_Capabilities" and root.get("version") == "1.3.0"
    assert root.find(f"{W}Service/{W}Name").text == "WMS"
    assert root.find(f"{W}Service/{W}Title").text
    assert root.find(f"{W}Service/{W}OnlineResource").get(f"{XLINK}href")


@check("getcapabilities.max_width_height")
def _(c):
    mw = int(c.caps.find(f"{W}Service/{W}MaxWidth").text)
    mh = int(c.caps.find(f"{W}Service/{W}MaxHeight").text)
    assert mw > 0 and mh > 0
    c.max = (mw, mh)


@check("getcapabilities.operations_and_formats")
def _(c):
    req = c.caps.find(f"{W}Capability/{W}Request")
    for op in ("GetCapabilities", "GetMap"):
        el = req.find(f"{W}{op}")
        assert el is not None, op
        assert el.find(f"{W}DCPType/{W}HTTP/{W}Get/{W}OnlineResource") is not None, op
    assert "text/xml" in [f.text for f in req.findall(f"{W}GetCapabilities/{W}Format")]
    c.map_formats = [f.text for f in req.findall(f"{W}GetMap/{W}Format")]
    assert "image/png" in c.map_formats
    c.info_formats = [f.text for f in req.findall(f"{W}GetFeatureInfo/{W}Format")]


@check("getcapabilities.exception_formats")
def _(c):
    fmts = [f.text for f in c.caps.findall(f"{W}Capability/{W}Exception/{W}Format")]
    assert "XML" in fmts, fmts


def walk(el, inherited_crs, out):
    crs = inherited_crs | {e.text for e in el.findall(f"{W}CRS")}
    name = el.find(f"{W}Name")
    if name is not None:
        out.append((name.text, el, crs))
    for child in el.findall(f"{W}Layer"):
        walk(child, crs, out)


@check("getcapabilities.layers_titles_crs")
def _(c):
    found = []
    walk(c.caps.find(f"{W}Capability/{W}Layer"), set(), found)
    assert found, "no named layer"
    names = [n for n, _, _ in found]
    assert len(names) == len(set(names)), "layer names are not unique"
    for name, el, crs in found:
        assert el.find(f"{W}Title") is not None and el.find(f"{W}Title").text, f"{name}: no Title"
        assert crs, f"{name}: no CRS (own or inherited)"
    c.layers = found


@check("getcapabilities.geographic_bounding_boxes")
def _(c):
    for name, el, _ in c.layers:
        gb = el.find(f"{W}EX_GeographicBoundingBox")
        assert gb is not None, f"{name}: no EX_GeographicBoundingBox"
        w, e = float(gb.find(f"{W}westBoundLongitude").text), float(gb.find(f"{W}eastBoundLongitude").text)
        s, n = float(gb.find(f"{W}southBoundLatitude").text), float(gb.find(f"{W}northBoundLatitude").text)
        assert -180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= n <= 90, f"{name}: {w} {s} {e} {n}"
        for bb in el.findall(f"{W}BoundingBox"):
            assert float(bb.get("minx")) <= float(bb.get("maxx")) and float(bb.get("miny")) <= float(bb.get("maxy"))
            assert bb.get("CRS"), f"{name}: BoundingBox without CRS"
    name, el, _ = next(((n, e, cr) for n, e, cr in c.layers if e.get("queryable") == "1"), c.layers[0])
    gb = el.find(f"{W}EX_GeographicBoundingBox")
    vals = [float(gb.find(f"{W}{k}").text) for k in ("westBoundLongitude", "southBoundLatitude",
                                                      "eastBoundLongitude", "northBoundLatitude")]
    c.layer = {"name": name, "el": el, "bbox84": ",".join(map(str, vals)), "box": vals}


@check("getcapabilities.styles_unique_with_legends")
def _(c):
    for name, el, _ in c.layers:
        names = [s.find(f"{W}Name").text for s in el.findall(f"{W}Style")]
        assert len(names) == len(set(names)), f"{name}: duplicate style names"
        for s in el.findall(f"{W}Style"):
            lg = s.find(f"{W}LegendURL")
            if lg is not None:
                assert lg.find(f"{W}Format").text and lg.find(f"{W}OnlineResource").get(f"{XLINK}href")


@check("getcapabilities.dimensions")
def _(c):
    for name, el, _ in c.layers:
        for d in el.findall(f"{W}Dimension"):
            assert d.get("name") and d.get("units") is not None, f"{name}: Dimension without name/units"
            assert (d.text or "").strip(), f"{name}: Dimension {d.get('name')} without extent"


@check("getcapabilities.updatesequence")
def _(c):
    seq = c.caps.get("updateSequence")
    assert seq, "no updateSequence"
    expect_exception(c.get(SERVICE="WMS", REQUEST="GetCapabilities", UPDATESEQUENCE=seq), "CurrentUpdateSequence")
    expect_exception(c.get(SERVICE="WMS", REQUEST="GetCapabilities", UPDATESEQUENCE=str(int(seq) + 10 ** 6)),
                     "InvalidUpdateSequence")
    assert c.get(SERVICE="WMS", REQUEST="GetCapabilities", UPDATESEQUENCE=str(int(seq) - 1)).status_code == 200


# ---- GetMap (section 7.3) ----

@check("getmap.each_format")
def _(c):
    for fmt in c.map_formats:
        r = c.getmap(FORMAT=fmt)
        (w, h, _, _), _, _ = image(r, fmt)
        assert (w, h) == (64, 32), f"{fmt}: {w}x{h}"


@check("getmap.transparent_png")
def _(c):
    # a window half outside the layer: the outside is transparent with TRANSPARENT=TRUE
    w, s, e, n = c.layer["box"]
    bbox = f"{w - (e - w)},{s},{e},{n}"
    (_, _, nb, paletted), arrays, entries = image(c.getmap(BBOX=bbox, TRANSPARENT="TRUE"))
    if paletted:
        alpha = {entries[v][3] for v in set(arrays[0][:, :16].ravel())}
    else:
        assert nb == 4, "no alpha band"
        alpha = set(arrays[3][:, :16].ravel())
    assert alpha == {0}, alpha


@check("getmap.bgcolor")
def _(c):
    w, s, e, n = c.layer["box"]
    bbox = f"{w - (e - w)},{s},{e},{n}"
    (_, _, nb, paletted), arrays, entries = image(c.getmap(BBOX=bbox, TRANSPARENT="FALSE", BGCOLOR="0xFF0000"))
    if paletted:
        rgb = {tuple(entries[v][:3]) for v in set(arrays[0][:, :16].ravel())}
    else:
        rgb = {tuple(int(a[j, i]) for a in arrays[:3]) for j in range(32) for i in range(16)}
    assert rgb == {(255, 0, 0)}, rgb


@check("getmap.crs84_equals_epsg4326_flipped")
def _(c):
    w, s, e, n = c.layer["box"]
    a = c.getmap(CRS="CRS:84", BBOX=f"{w},{s},{e},{n}", FORMAT="image/png")
    b = c.getmap(CRS="EPSG:4326", BBOX=f"{s},{w},{n},{e}", FORMAT="image/png")
    assert a.status_code == b.status_code == 200 and a.content == b.content


@check("getmap.exceptions")
def _(c):
    expect_exception(c.getmap(LAYERS="no-such-layer"), "LayerNotDefined")
    expect_exception(c.getmap(STYLES="no-such-style"), "StyleNotDefined")
    expect_exception(c.getmap(CRS="EPSG:999999"), "InvalidCRS")
    expect_exception(c.getmap(FORMAT="image/no-such-format"), "InvalidFormat")
    w, s, e, n = c.layer["box"]
    expect_exception(c.getmap(BBOX=f"{e},{s},{w},{n}"), "InvalidParameterValue")
    for p in ("LAYERS", "CRS", "BBOX", "WIDTH", "HEIGHT", "FORMAT"):
        expect_exception(c.getmap(**{p: None}), "MissingParameterValue")


@check("getmap.max_size")
def _(c):
    mw, _ = getattr(c, "max", (4096, 4096))
    r = c.getmap(WIDTH=str(mw + 1))
    assert r.status_code != 200 or exception_code(r)


@check("getmap.exceptions_inimage_blank")
def _(c):
    (w, h, _, _), _, _ = image(c.getmap(LAYERS="no-such-layer", EXCEPTIONS="INIMAGE"))
    assert (w, h) == (64, 32)
    (w, h, _, _), _, _ = image(c.getmap(LAYERS="no-such-layer", EXCEPTIONS="BLANK"))
    assert (w, h) == (64, 32)


@check("getmap.multiple_layers")
def _(c):
    other = [n for n, _, _ in c.layers if n != c.layer["name"]][:1]
    if other:
        image(c.getmap(LAYERS=f"{c.layer['name']},{other[0]}", STYLES=","))


@check("getmap.time_dimension")
def _(c):
    timed = [(n, el) for n, el, _ in c.layers for d in el.findall(f"{W}Dimension") if d.get("name") == "time"]
    if not timed:
        return
    name, el = timed[0]
    d = [d for d in el.findall(f"{W}Dimension") if d.get("name") == "time"][0]
    gb = el.find(f"{W}EX_GeographicBoundingBox")
    box = ",".join(gb.find(f"{W}{k}").text for k in ("westBoundLongitude", "southBoundLatitude",
                                                      "eastBoundLongitude", "northBoundLatitude"))
    image(c.getmap(LAYERS=name, BBOX=box, TIME=d.get("default")))
    first = d.text.strip().split("/")[0].split(",")[0]
    image(c.getmap(LAYERS=name, BBOX=box, TIME=first))
    expect_exception(c.getmap(LAYERS=name, BBOX=box, TIME="not-a-time"), "InvalidDimensionValue")
    expect_exception(c.getmap(LAYERS=name, BBOX=box, TIME="1000-01-01"), "InvalidDimensionValue")


# ---- GetFeatureInfo (section 7.4) ----

def gfi(c, **p):
    q = dict(REQUEST="GetFeatureInfo", QUERY_LAYERS=c.layer["name"], I="10", J="10",
             INFO_FORMAT=(c.info_formats or ["text/plain"])[0])
    q.update(p)
    return c.getmap(**q)


@check("getfeatureinfo.each_format")
def _(c):
    if not c.info_formats:
        return
    for fmt in c.info_formats:
        r = gfi(c, INFO_FORMAT=fmt)
        assert r.status_code == 200 and r.headers["Content-Type"].split(";")[0] == fmt, (fmt, r.status_code)


@check("getfeatureinfo.exceptions")
def _(c):
    if not c.info_formats:
        return
    expect_exception(gfi(c, I="64"), "InvalidPoint")
    expect_exception(gfi(c, J="-1"), "InvalidPoint")
    expect_exception(gfi(c, INFO_FORMAT="application/no-such-format"), "InvalidFormat")
    expect_exception(gfi(c, QUERY_LAYERS="no-such-layer"), "LayerNotDefined")
    expect_exception(gfi(c, QUERY_LAYERS=None), "MissingParameterValue")


# ---- running ----

def main():
    a = harness.parser(__doc__, "a WMS 1.3.0 endpoint").parse_args()
    proc, url = harness.serve_demo(a.nadir) if a.nadir else (None, a.url)
    return harness.run_checks(Ctx(url + "/wms" if proc else url), proc)


if __name__ == "__main__":
    sys.exit(main())
