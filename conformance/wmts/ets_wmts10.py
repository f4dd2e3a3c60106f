#!/usr/bin/python3
"""Local reproduction of the OGC CITE ets-wmts10 checks that run without the TEAM Engine: basic service
elements, GetCapabilities (KVP and RESTful), GetTile (KVP and ResourceURL templates) with its exceptions and
GetFeatureInfo (see README.md for the list and what is not covered).

    /usr/bin/python3 conformance/wmts/ets_wmts10.py --nadir build/nadir     # demo data, own server
    /usr/bin/python3 conformance/wmts/ets_wmts10.py --url http://host:8080  # the server root

Exit status 0 when every check passes. Each line: PASS|FAIL group.check [detail].
"""
import math
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
W = "{http://www.opengis.net/wmts/1.0}"
OWS = "{http://www.opengis.net/ows/1.1}"
XLINK = "{http://www.w3.org/1999/xlink}"


class Ctx:
    def __init__(self, root):
        self.root = root.rstrip("/")
        self.kvp = self.root + "/wmts"
        self.caps = None
        self.layer = None      # the first layer with a tile matrix set link
        self.tms = {}          # id -> [matrices as dicts]

    def get(self, **p):
        return requests.get(self.kvp, params=p, timeout=120)

    def tile_params(self, **over):
        m = self.matrix
        p = dict(SERVICE="WMTS", VERSION="1.0.0", REQUEST="GetTile", LAYER=self.layer["id"], STYLE=self.layer["style"],
                 FORMAT=self.layer["format"], TILEMATRIXSET=self.layer["tms"], TILEMATRIX=m["id"],
                 TILEROW=str(self.row), TILECOL=str(self.col))
        p.update(over)
        return {k: v for k, v in p.items() if v is not None}


def exception(r, code, locator=None, status=None):
    assert r.status_code == (status or r.status_code), f"HTTP {r.status_code}, expected {status}"
    root = ET.fromstring(r.content)
    assert root.tag == OWS + "ExceptionReport", f"root is {root.tag}"
    assert root.get("version"), "ExceptionReport has no version"
    e = root.find(OWS + "Exception")
    assert e is not None, "no ows:Exception"
    assert e.get("exceptionCode") == code, f"exceptionCode {e.get('exceptionCode')}, expected {code}"
    if locator:
        assert (e.get("locator") or "").lower() == locator.lower(), f"locator {e.get('locator')}, expected {locator}"


def image_size(data):
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, data)
    try:
        ds = gdal.Open(name)
        return ds.RasterXSize, ds.RasterYSize
    finally:
        gdal.Unlink(name)


# ---- basic service elements (ets-wmts10 "basic" group)

@check("basic.getcapabilities_kvp_ok")
def _(c):
    r = c.get(SERVICE="WMTS", REQUEST="GetCapabilities")
    assert r.status_code == 200, r.status_code
    assert "xml" in r.headers["Content-Type"], r.headers["Content-Type"]
    c.caps = ET.fromstring(r.content)
    assert c.caps.tag == W + "Capabilities", c.caps.tag
    assert c.caps.get("version") == "1.0.0"


@check("basic.service_missing_is_MissingParameterValue")
def _(c):
    exception(c.get(REQUEST="GetCapabilities"), "MissingParameterValue", "service", 400)


@check("basic.service_invalid_is_InvalidParameterValue")
def _(c):
    exception(c.get(SERVICE="WMS", REQUEST="GetCapabilities"), "InvalidParameterValue", "service", 400)


@check("basic.request_missing_is_MissingParameterValue")
def _(c):
    exception(c.get(SERVICE="WMTS"), "MissingParameterValue", "request", 400)


@check("basic.request_unknown_is_OperationNotSupported")
def _(c):
    exception(c.get(SERVICE="WMTS", REQUEST="GetMap", VERSION="1.0.0"), "OperationNotSupported", "request")


@check("basic.acceptversions_1.0.0")
def _(c):
    r = c.get(SERVICE="WMTS", REQUEST="GetCapabilities", AcceptVersions="1.0.0")
    assert r.status_code == 200 and ET.fromstring(r.content).get("version") == "1.0.0"


@check("basic.acceptversions_unsupported_is_VersionNegotiationFailed")
def _(c):
    exception(c.get(SERVICE="WMTS", REQUEST="GetCapabilities", AcceptVersions="0.0.1"), "VersionNegotiationFailed",
              None, 400)


@check("basic.gettile_version_missing_is_MissingParameterValue")
def _(c):
    exception(c.get(SERVICE="WMTS", REQUEST="GetTile"), "MissingParameterValue", "version", 400)


@check("basic.parameter_names_case_insensitive")
def _(c):
    r = requests.get(c.kvp, params={"service": "WMTS", "request": "GetCapabilities"}, timeout=60)
    assert r.status_code == 200


# ---- GetCapabilities contents

@check("getcapabilities.service_identification")
def _(c):
    si = c.caps.find(OWS + "ServiceIdentification")
    assert si is not None
    assert si.findtext(OWS + "ServiceType") == "OGC WMTS"
    assert si.findtext(OWS + "ServiceTypeVersion") == "1.0.0"


@check("getcapabilities.operations_metadata_gettile_and_getcapabilities")
def _(c):
    ops = {o.get("name"): o for o in c.caps.find(OWS + "OperationsMetadata").findall(OWS + "Operation")}
    assert {"GetCapabilities", "GetTile"} <= set(ops), set(ops)
    for name in ("GetCapabilities", "GetTile"):
        gets = ops[name].findall(f"{OWS}DCP/{OWS}HTTP/{OWS}Get")
        assert gets and all(g.get(XLINK + "href") for g in gets)
        encodings = {v.text for g in gets for v in g.iter(OWS + "Value")}
        assert "KVP" in encodings, encodings


@check("getcapabilities.tile_matrix_sets_well_formed")
def _(c):
    contents = c.caps.find(W + "Contents")
    sets = contents.findall(W + "TileMatrixSet")
    assert sets
    for s in sets:
        ident = s.findtext(OWS + "Identifier")
        assert s.findtext(OWS + "SupportedCRS"), ident
        ms = []
        prev = math.inf
        for m in s.findall(W + "TileMatrix"):
            d = {"id": m.findtext(OWS + "Identifier"), "scale": float(m.findtext(W + "ScaleDenominator")),
                 "tl": [float(v) for v in m.findtext(W + "TopLeftCorner").split()],
                 "tw": int(m.findtext(W + "TileWidth")), "th": int(m.findtext(W + "TileHeight")),
                 "mw": int(m.findtext(W + "MatrixWidth")), "mh": int(m.findtext(W + "MatrixHeight"))}
            assert d["scale"] < prev, f"{ident}/{d['id']}: scale denominators must decrease"
            assert len(d["tl"]) == 2 and d["tw"] > 0 and d["th"] > 0 and d["mw"] > 0 and d["mh"] > 0
            prev = d["scale"]
            ms.append(d)
        assert ms, ident
        c.tms[ident] = ms


@check("getcapabilities.wellknownscaleset_googlemapscompatible_values")
def _(c):
    for s in c.caps.find(W + "Contents").findall(W + "TileMatrixSet"):
        if s.findtext(W + "WellKnownScaleSet") == "urn:ogc:def:wkss:OGC:1.0:GoogleMapsCompatible":
            for z, m in enumerate(c.tms[s.findtext(OWS + "Identifier")]):
                assert abs(m["scale"] - 559082264.0287178 / 2 ** z) < 1e-6 * m["scale"], m
                assert m["mw"] == m["mh"] == 2 ** z and m["tw"] == 256


@check("getcapabilities.layers_mandatory_elements")
def _(c):
    layers = c.caps.find(W + "Contents").findall(W + "Layer")
    assert layers
    for l in layers:
        ident = l.findtext(OWS + "Identifier")
        assert ident
        assert l.findall(W + "Style"), ident
        assert len([s for s in l.findall(W + "Style") if s.get("isDefault") == "true"]) == 1, ident
        assert l.findall(W + "Format"), ident
        links = [k.findtext(W + "TileMatrixSet") for k in l.findall(W + "TileMatrixSetLink")]
        assert links and all(k in c.tms for k in links), (ident, links)
        bb = l.find(OWS + "WGS84BoundingBox")
        if bb is not None:
            lo = [float(v) for v in bb.findtext(OWS + "LowerCorner").split()]
            hi = [float(v) for v in bb.findtext(OWS + "UpperCorner").split()]
            assert lo[0] <= hi[0] and lo[1] <= hi[1] and -180 <= lo[0] and hi[0] <= 180, (ident, lo, hi)
        if c.layer is None and l.find(W + "Dimension") is None:
            c.layer = {"id": ident, "style": [s for s in l.findall(W + "Style") if s.get("isDefault") == "true"][0]
                       .findtext(OWS + "Identifier"), "format": l.findtext(W + "Format"), "tms": links[0],
                       "el": l}
    assert c.layer, "no layer without dimensions to test GetTile with"
    # a tile inside the layer's limits at a middle matrix
    c.matrix = c.tms[c.layer["tms"]][min(3, len(c.tms[c.layer["tms"]]) - 1)]
    c.row, c.col = 0, 0
    for link in c.layer["el"].findall(W + "TileMatrixSetLink"):
        if link.findtext(W + "TileMatrixSet") != c.layer["tms"]:
            continue
        for lim in link.iter(W + "TileMatrixLimits"):
            if lim.findtext(W + "TileMatrix") == c.matrix["id"]:
                c.row, c.col = int(lim.findtext(W + "MinTileRow")), int(lim.findtext(W + "MinTileCol"))


@check("getcapabilities.tile_matrix_limits_inside_matrices")
def _(c):
    for l in c.caps.find(W + "Contents").findall(W + "Layer"):
        for link in l.findall(W + "TileMatrixSetLink"):
            ms = {m["id"]: m for m in c.tms[link.findtext(W + "TileMatrixSet")]}
            for lim in link.iter(W + "TileMatrixLimits"):
                m = ms[lim.findtext(W + "TileMatrix")]
                r0, r1 = int(lim.findtext(W + "MinTileRow")), int(lim.findtext(W + "MaxTileRow"))
                c0, c1 = int(lim.findtext(W + "MinTileCol")), int(lim.findtext(W + "MaxTileCol"))
                assert 0 <= r0 <= r1 < m["mh"] and 0 <= c0 <= c1 < m["mw"], (l.findtext(OWS + "Identifier"), m["id"])


@check("getcapabilities.dimension_default_among_values")
def _(c):
    for l in c.caps.find(W + "Contents").findall(W + "Layer"):
        for d in l.findall(W + "Dimension"):
            values = [v.text for v in d.findall(W + "Value")]
            assert d.findtext(OWS + "Identifier") and values
            assert d.findtext(W + "Default") in values


@check("getcapabilities.resourceurl_templates")
def _(c):
    for l in c.caps.find(W + "Contents").findall(W + "Layer"):
        dims = [d.findtext(OWS + "Identifier") for d in l.findall(W + "Dimension")]
        for u in l.findall(W + "ResourceURL"):
            t = u.get("template")
            assert u.get("resourceType") in ("tile", "FeatureInfo") and u.get("format") and t
            for var in ("{TileMatrixSet}", "{TileMatrix}", "{TileRow}", "{TileCol}"):
                assert var in t, (t, var)
            for d in dims:
                assert "{" + d + "}" in t, (t, d)


@check("getcapabilities.restful_document_equals_kvp")
def _(c):
    r = requests.get(c.root + "/wmts/1.0.0/WMTSCapabilities.xml", timeout=60)
    assert r.status_code == 200
    rest = ET.fromstring(r.content)
    assert rest.tag == W + "Capabilities"
    ids = lambda root: [l.findtext(OWS + "Identifier") for l in root.find(W + "Contents").findall(W + "Layer")]
    assert ids(rest) == ids(c.caps)


# ---- GetTile

@check("gettile.kvp_valid_tile")
def _(c):
    r = c.get(**c.tile_params())
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].split(";")[0] == c.layer["format"]
    assert image_size(r.content) == (c.matrix["tw"], c.matrix["th"])


@check("gettile.rest_valid_tile_equals_kvp")
def _(c):
    u = [u for u in c.layer["el"].findall(W + "ResourceURL") if u.get("resourceType") == "tile"
         and u.get("format") == c.layer["format"]][0]
    url = (u.get("template").replace("{Style}", c.layer["style"]).replace("{TileMatrixSet}", c.layer["tms"])
           .replace("{TileMatrix}", c.matrix["id"]).replace("{TileRow}", str(c.row)).replace("{TileCol}", str(c.col)))
    url = c.root + url[url.index("/wmts/1.0.0/"):]
    r = requests.get(url, timeout=120)
    assert r.status_code == 200 and r.content == c.get(**c.tile_params()).content


for _p in ("LAYER", "STYLE", "FORMAT", "TILEMATRIXSET", "TILEMATRIX", "TILEROW", "TILECOL"):
    def _missing(c, p=_p):
        exception(c.get(**c.tile_params(**{p: None})), "MissingParameterValue", p, 400)
    check(f"gettile.missing_{_p.lower()}_is_MissingParameterValue")(_missing)

for _p, _v in (("LAYER", "no-such-layer"), ("STYLE", "no-such-style"), ("FORMAT", "image/x-none"),
               ("TILEMATRIXSET", "no-such-set"), ("TILEMATRIX", "no-such-matrix")):
    def _invalid(c, p=_p, v=_v):
        exception(c.get(**c.tile_params(**{p: v})), "InvalidParameterValue", p, 400)
    check(f"gettile.invalid_{_p.lower()}_is_InvalidParameterValue")(_invalid)


@check("gettile.tilerow_out_of_range_is_TileOutOfRange")
def _(c):
    exception(c.get(**c.tile_params(TILEROW=str(c.matrix["mh"]))), "TileOutOfRange", "TILEROW", 400)
    exception(c.get(**c.tile_params(TILEROW="-1")), "TileOutOfRange", "TILEROW", 400)


@check("gettile.tilecol_out_of_range_is_TileOutOfRange")
def _(c):
    exception(c.get(**c.tile_params(TILECOL=str(c.matrix["mw"]))), "TileOutOfRange", "TILECOL", 400)


# ---- GetFeatureInfo

@check("getfeatureinfo.valid_request")
def _(c):
    info = c.layer["el"].findtext(W + "InfoFormat")
    assert info, "the layer offers no InfoFormat"
    r = c.get(**c.tile_params(REQUEST="GetFeatureInfo", I="10", J="10", INFOFORMAT=info))
    assert r.status_code == 200, r.text[:300]
    assert r.headers["Content-Type"].split(";")[0] == info


@check("getfeatureinfo.missing_i_is_MissingParameterValue")
def _(c):
    info = c.layer["el"].findtext(W + "InfoFormat")
    exception(c.get(**c.tile_params(REQUEST="GetFeatureInfo", J="10", INFOFORMAT=info)), "MissingParameterValue", "I",
              400)


def main():
    a = harness.parser(__doc__, "the server root (the KVP endpoint is URL/wmts)").parse_args()
    proc, url = harness.serve_demo(a.nadir) if a.nadir else (None, a.url)
    return harness.run_checks(Ctx(url), proc)


if __name__ == "__main__":
    sys.exit(main())
