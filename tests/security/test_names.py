"""Names from requests never reach GDAL or the file system as paths: dataset, coverage, layer and DAP names with
'..' or GDAL's special prefixes (VRT, /vsicurl/, MEM:::, /vsizip/) are unknown names (4xx in the protocol's
format); reflected text is escaped in HTML and exception XML; no error shows a server path."""
import http.client
import os
import urllib.parse

import pytest
import requests
from lxml import etree, html

from conftest import client_error, no_leak, ows_exception, problem

EVIL = ["../../../../etc/passwd", "..%2f..%2fetc%2fpasswd", "/etc/passwd", "sst/../../etc/passwd",
        "/vsicurl/http://127.0.0.1:1/x.tif", "/vsizip//etc/x.zip/a.tif", "/vsimem/x", "MEM:::DATAPOINTER=0x1000,PIXELS=1,LINES=1",
        "<VRTDataset><VRTRasterBand dataType='Byte' band='1'><SimpleSource><SourceFilename>/etc/passwd"
        "</SourceFilename></SimpleSource></VRTRasterBand></VRTDataset>", "NETCDF:\"/etc/passwd\":x",
        "HDF5:/etc/passwd://x", "GTIFF_RAW:/etc/passwd", "/dev/zero", "sst\x00.nc", "sst/sst/../../dem_demo"]

XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(1)>"


def raw_get(server, path):
    """GET with the path sent byte for byte (requests would normalise the dots)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    c.putrequest("GET", path, skip_accept_encoding=True)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


@pytest.mark.parametrize("name", EVIL)
def test_names_reaching_gdal(server, demo_dir, name):
    q = urllib.parse.quote(name, safe="")
    r = requests.get(server.url + "/wms", params=dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS=name,
                     STYLES="", CRS="EPSG:4326", BBOX="-90,-180,90,180", WIDTH=8, HEIGHT=8, FORMAT="image/png"), timeout=30)
    ows_exception(r, demo_dir)
    # NoSuchCoverage (404), or 400 for a name the URL itself cannot carry (a NUL byte)
    status = 400 if "\x00" in name else 404
    r = requests.get(server.url + "/wcs", params=dict(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage",
                     COVERAGEID=name, FORMAT="image/tiff"), timeout=30)
    ows_exception(r, demo_dir, status=status)
    r = requests.get(server.url + "/wcs", params=dict(SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage",
                     COVERAGEID=name), timeout=30)
    ows_exception(r, demo_dir, status=status)
    r = requests.get(server.url + "/wmts", params=dict(SERVICE="WMTS", VERSION="1.0.0", REQUEST="GetTile", LAYER=name,
                     STYLE="default", TILEMATRIXSET="WebMercatorQuad", TILEMATRIX=0, TILEROW=0, TILECOL=0,
                     FORMAT="image/png"), timeout=30)
    client_error(r, demo_dir)
    for path in (f"/collections/{q}", f"/stac/collections/{q}", f"/opendap/{q}.dds", f"/opendap/{q}.dmr.xml",
                 f"/opendap/{q}.dods", f"/opendap/sst.dods?{q}", f"/tiles/{q}/WebMercatorQuad/0/0/0.png"):
        r = requests.get(server.url + path, timeout=30)
        client_error(r, demo_dir)
    # job input naming a dataset
    r = requests.post(server.url + "/processes/statistics/execution", json={"inputs": {"dataset": name}}, timeout=30)
    problem(r, demo_dir, status=r.status_code if r.status_code in (400, 403, 404) else 400)


@pytest.mark.parametrize("path", ["/opendap/../../../../etc/passwd", "/opendap/sst/../../../../etc/passwd.dds",
                                  "/viewer/../../../../etc/passwd", "/viewer/..%2f..%2f..%2fetc%2fpasswd",
                                  "/opendap/%2e%2e/%2e%2e/etc/passwd.dds", "/viewer/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                                  "//etc/passwd", "/opendap//etc/passwd.dds"])
def test_dot_dot_paths(server, demo_dir, path):
    status, headers, body = raw_get(server, path)
    assert 400 <= status < 500, (status, body[:300])
    assert b"root:" not in body and demo_dir.encode() not in body


@pytest.mark.parametrize("param", ["LAYERS", "STYLES", "FORMAT", "CRS", "BBOX", "VERSION", "REQUEST", "TIME"])
def test_reflected_text_in_exceptions(server, demo_dir, param):
    q = dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="sst/sst", STYLES="", CRS="EPSG:4326",
             BBOX="-90,-180,90,180", WIDTH=8, HEIGHT=8, FORMAT="image/png")
    q[param] = XSS
    r = requests.get(server.url + "/wms", params=q, timeout=30)
    assert 400 <= r.status_code < 500 or (param == "REQUEST" and r.status_code == 501), (r.status_code, r.text[:300])
    root = etree.fromstring(r.content)  # well-formed: the text was escaped
    assert not [e for e in root.iter() if etree.QName(e).localname in ("script", "img")]
    assert "<script>" not in r.text
    for svc, extra in (("WCS", dict(VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID=XSS)),
                       ("WPS", dict(VERSION="2.0.0", REQUEST="DescribeProcess", IDENTIFIER=XSS)),
                       ("WMTS", dict(REQUEST="GetTile", LAYER=XSS))):
        r = requests.get(server.url + "/" + svc.lower(), params=dict(SERVICE=svc, **extra), timeout=30)
        assert 400 <= r.status_code < 500, (svc, r.status_code, r.text[:300])
        etree.fromstring(r.content)
        assert "<script>" not in r.text and "<img" not in r.text


@pytest.mark.parametrize("path", ["/collections/{x}", "/collections/{x}?f=html", "/processes/{x}?f=html",
                                  "/jobs/{x}?f=html", "/stac/collections/{x}", "/opendap/{x}.html",
                                  "/opendap/{x}.dds", "/nope/{x}", "/collections?f=html&bbox={x}"])
def test_reflected_text_in_html_and_json(server, demo_dir, path):
    url = server.url + path.format(x=urllib.parse.quote(XSS, safe=""))
    r = requests.get(url, headers={"Accept": "text/html"}, timeout=30)
    assert r.status_code < 500
    kind = r.headers.get("Content-Type", "")
    if "html" in kind:  # markup: the text must come back escaped
        assert "<script>alert" not in r.text and "<img src=x" not in r.text, r.text[:500]
        doc = html.fromstring(r.content)
        assert not [s for s in doc.iter("script") if "alert" in (s.text or "")]
    else:  # JSON, XML or a DAP2 text error: may echo the text, but is never sniffed into HTML by a browser
        assert "html" not in kind and r.headers.get("X-Content-Type-Options") == "nosniff", (kind, r.headers)
    no_leak(r, demo_dir)


def test_no_paths_in_errors(server, demo_dir):
    """Errors that come from files (a dataset's bad time, a subset outside the data) name no file."""
    cases = [
        ("/wms", dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="sst/sst", STYLES="", CRS="EPSG:4326",
                      BBOX="-90,-180,90,180", WIDTH=8, HEIGHT=8, FORMAT="image/png", TIME="1900-01-01")),
        ("/wcs", dict(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID="sst",
                      SUBSET="time(\"1800-01-01\")")),
        ("/wcs", dict(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID="dem_demo",
                      SUBSET="Lat(89,90)")),
        ("/opendap/sst.dods", None),
    ]
    for path, params in cases:
        r = requests.get(server.url + path, params=params, timeout=30)
        no_leak(r, demo_dir) if r.status_code >= 400 else None
    for path in ("/opendap/sst.dods?nosuchvar", "/opendap/sst.dap?dap4.ce=/nosuch", "/opendap/sst.dds?sst[9999999]"):
        r = requests.get(server.url + path, timeout=30)
        client_error(r, demo_dir)
