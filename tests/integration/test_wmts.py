"""WMTS 1.0.0, XYZ and OGC API Tiles with real clients (OWSLib WebMapTileService, GDAL's WMTS driver); tiles
against GetMap of the same window; the disk tile cache (hit, invalidation, ETag/304); TileOutOfRange."""
import glob
import json
import math
import os
import shutil
import time
import uuid
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from osgeo import gdal
from owslib.wmts import WebMapTileService

from conftest import Server, server_config

gdal.UseExceptions()

OWS = "{http://www.opengis.net/ows/1.1}"
WMTS = "{http://www.opengis.net/wmts/1.0}"
MERC_E = math.pi * 6378137.0


DEPTHS = [0.0, 10.0, 50.0]


def ocean3d(d):
    """A CF NetCDF with a depth axis (0, 10, 50 m), no time: temperature falls with depth, by 5 degC per level."""
    import netCDF4
    path = str(d / "ocean3d.nc")
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("depth", 3)
        nc.createDimension("lat", 20)
        nc.createDimension("lon", 40)
        z = nc.createVariable("depth", "f8", ("depth",))
        z.units = "m"
        z.positive = "down"
        z.axis = "Z"
        z[:] = DEPTHS
        la = nc.createVariable("lat", "f8", ("lat",))
        la.units = "degrees_north"
        la[:] = np.arange(20) + 30.5
        lo = nc.createVariable("lon", "f8", ("lon",))
        lo.units = "degrees_east"
        lo[:] = np.arange(40) - 19.5
        t = nc.createVariable("temp", "f4", ("depth", "lat", "lon"))
        t.units = "degC"
        t[:] = 20 - 5 * np.arange(3)[:, None, None] + 0.1 * np.arange(40)[None, None, :] * np.ones((3, 20, 1))
    return path


@pytest.fixture(scope="module")
def wmts(demo_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("wmts")
    # a private copy of the DEM whose modification time the invalidation test may change
    shutil.copy(os.path.join(demo_dir, "dem", "dem_demo.tif"), d / "dem_copy.tif")
    cfg = server_config(demo_dir) + f"""  - id: demcopy
    title: Copy of the DEM
    source: {d}/dem_copy.tif
  - id: ocean3d
    title: Temperature at three depths
    source: {ocean3d(d)}
"""
    s = Server(str(d), cfg)
    s.workdir = str(d)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def decode(data):
    """PNG/JPEG bytes into a (bands, rows, cols) array of colours through GDAL (palettes expanded to RGBA)."""
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, data)
    try:
        ds = gdal.Open(name)
        if ds.GetRasterBand(1).GetColorTable() is not None:
            ds = gdal.Translate("", ds, format="MEM", rgbExpand="rgba")
        a = ds.ReadAsArray()
        return a if a.ndim == 3 else a[None]
    finally:
        gdal.Unlink(name)


def merc_tile_bbox(z, row, col):
    span = 2 * MERC_E / 2 ** z
    return (-MERC_E + col * span, MERC_E - (row + 1) * span, -MERC_E + (col + 1) * span, MERC_E - row * span)


def lonlat_tile(z, lon, lat):
    """The WebMercatorQuad (row, col) holding a point."""
    n = 2 ** z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    return row, col


def kvp(s, **params):
    q = {"SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetTile", "STYLE": "default", "FORMAT": "image/png",
         "TILEMATRIXSET": "WebMercatorQuad"}
    q.update(params)
    return requests.get(s.url + "/wmts", params=q, timeout=60)


def exception_code(r):
    root = ET.fromstring(r.content)
    assert root.tag == OWS + "ExceptionReport"
    e = root.find(OWS + "Exception")
    return e.get("exceptionCode"), e.get("locator")


@pytest.fixture(scope="module")
def dem_box(demo_dir):
    ds = gdal.Open(os.path.join(demo_dir, "dem", "dem_demo.tif"))
    gt = ds.GetGeoTransform()
    w, n = gt[0], gt[3]
    e, s = w + gt[1] * ds.RasterXSize, n + gt[5] * ds.RasterYSize
    return w, s, e, n


def test_capabilities_owslib(wmts):
    svc = WebMapTileService(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml")
    assert svc.identification.type == "OGC WMTS"
    assert svc.version == "1.0.0"
    assert {"sst:sst", "dem_demo:elevation", "demcopy:elevation"} <= set(svc.contents)
    merc = svc.tilematrixsets["WebMercatorQuad"]
    assert merc.crs == "urn:ogc:def:crs:EPSG::3857"
    assert len(merc.tilematrix) == 19
    m0 = merc.tilematrix["0"]
    assert m0.scaledenominator == pytest.approx(559082264.0287178, rel=1e-12)
    assert m0.topleftcorner == pytest.approx((-MERC_E, MERC_E))
    assert (m0.matrixwidth, m0.matrixheight, m0.tilewidth) == (1, 1, 256)
    assert merc.tilematrix["5"].matrixwidth == 32
    geo = svc.tilematrixsets["WorldCRS84Quad"]
    g0 = geo.tilematrix["0"]
    assert (g0.matrixwidth, g0.matrixheight) == (2, 1)
    assert g0.scaledenominator == pytest.approx(279541132.0143589, rel=1e-12)
    assert g0.topleftcorner == pytest.approx((-180, 90))
    layer = svc.contents["dem_demo:elevation"]
    assert set(layer.tilematrixsetlinks) == {"WebMercatorQuad", "WorldCRS84Quad"}
    assert "image/png" in layer.formats
    assert "default" in layer.styles
    templates = [u["template"] for u in layer.resourceURLs if u["resourceType"] == "tile"]
    assert any(t.endswith("/wmts/1.0.0/dem_demo:elevation/{Style}/{TileMatrixSet}/{TileMatrix}/{TileRow}/{TileCol}.png")
               for t in templates)


def test_capabilities_time_dimension_and_template(wmts):
    r = requests.get(wmts.url + "/wmts", params={"SERVICE": "WMTS", "REQUEST": "GetCapabilities"}, timeout=30)
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    layers = {l.find(OWS + "Identifier").text: l for l in root.iter(WMTS + "Layer")}
    sst = layers["sst:sst"]
    dim = sst.find(WMTS + "Dimension")
    assert dim.find(OWS + "Identifier").text == "Time"
    values = [v.text for v in dim.findall(WMTS + "Value")]
    assert len(values) >= 2 and values == sorted(values)
    assert dim.find(WMTS + "Default").text == values[-1]
    t = sst.find(WMTS + "ResourceURL").get("template")
    assert "/{Style}/{Time}/{TileMatrixSet}/" in t
    assert layers["dem_demo:elevation"].find(WMTS + "Dimension") is None


def test_owslib_gettile_equals_getmap(wmts, dem_box):
    svc = WebMapTileService(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml")
    w, s, e, n = dem_box
    z = 6
    row, col = lonlat_tile(z, (w + e) / 2, (s + n) / 2)
    tile = svc.gettile(layer="dem_demo:elevation", tilematrixset="WebMercatorQuad", tilematrix=str(z), row=row,
                       column=col, format="image/png", style="default").read()
    assert tile[:8] == b"\x89PNG\r\n\x1a\n"
    bbox = merc_tile_bbox(z, row, col)
    gm = requests.get(wmts.url + "/wms", params={
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "dem_demo/elevation", "STYLES": "",
        "CRS": "EPSG:3857", "BBOX": ",".join(repr(v) for v in bbox), "WIDTH": 256, "HEIGHT": 256,
        "FORMAT": "image/png", "TRANSPARENT": "TRUE"}, timeout=60)
    assert gm.status_code == 200, gm.text
    a, b = decode(tile), decode(gm.content)
    assert a.shape == b.shape
    assert np.array_equal(a, b)
    # the tile shows data (the window is over the DEM) and transparent no-data around it
    assert a.shape[0] == 4 and a[3].max() == 255 and a[3].min() == 0


@pytest.fixture
def gdal_wms_cache(tmp_path):
    """GDAL's WMS/WMTS driver caches tiles in ./gdalwmscache unless told otherwise."""
    gdal.SetConfigOption("GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "wmscache"))
    yield
    gdal.SetConfigOption("GDAL_DEFAULT_WMS_CACHE_PATH", None)


def test_gdal_wmts_driver_georeferencing(wmts, dem_box, tmp_path, gdal_wms_cache):
    w, s, e, n = dem_box
    src = f"WMTS:{wmts.url}/wmts/1.0.0/WMTSCapabilities.xml,layer=dem_demo:elevation,tilematrixset=WorldCRS84Quad,tilematrix=7"
    ds = gdal.Open(src)
    gt = ds.GetGeoTransform()
    res = 180.0 / 256 / 2 ** 7
    assert gt[1] == pytest.approx(res, rel=1e-12) and gt[5] == pytest.approx(-res, rel=1e-12)
    # the extent is the layer's bounding box on the tile matrix's pixel grid
    px, py = (gt[0] + 180) / res, (90 - gt[3]) / res
    assert px == pytest.approx(round(px), abs=1e-6) and py == pytest.approx(round(py), abs=1e-6)
    assert gt[0] <= w + 1e-9 and gt[3] >= n - 1e-9
    assert gt[0] + gt[1] * ds.RasterXSize >= e - res and gt[3] + gt[5] * ds.RasterYSize <= s + res
    assert gt[0] > w - res and gt[3] < n + res
    out = str(tmp_path / "dem.tif")
    gdal.Translate(out, ds, format="GTiff")
    got = gdal.Open(out)
    assert got.GetGeoTransform() == pytest.approx(gt)
    srs = got.GetSpatialRef()
    assert srs.GetAuthorityCode(None) == "4326" or "WGS 84" in srs.ExportToWkt()
    # pixel truth: the GeoTIFF's top-left pixels are those of our tile holding them
    px, py = round(px), round(py)
    row, col, oy, ox = py // 256, px // 256, py % 256, px % 256
    r = requests.get(f"{wmts.url}/wmts/1.0.0/dem_demo:elevation/default/WorldCRS84Quad/7/{row}/{col}.png", timeout=60)
    assert r.status_code == 200
    t = decode(r.content)
    hh, ww = min(256 - oy, got.RasterYSize), min(256 - ox, got.RasterXSize)
    arr = got.ReadAsArray(0, 0, ww, hh)
    assert t.shape[0] == arr.shape[0]
    assert np.array_equal(arr, t[:, oy:oy + hh, ox:ox + ww])
    assert arr[-1].max() == 255  # data, not only transparent no-data


def test_rest_kvp_xyz_and_api_tiles_agree(wmts, dem_box):
    w, s, e, n = dem_box
    z = 5
    row, col = lonlat_tile(z, (w + e) / 2, (s + n) / 2)
    k = kvp(wmts, LAYER="dem_demo:elevation", TILEMATRIX=z, TILEROW=row, TILECOL=col)
    assert k.status_code == 200 and k.headers["Content-Type"] == "image/png"
    rest = requests.get(f"{wmts.url}/wmts/1.0.0/dem_demo:elevation/default/WebMercatorQuad/{z}/{row}/{col}.png", timeout=60)
    xyz = requests.get(f"{wmts.url}/tiles/dem_demo:elevation/{z}/{col}/{row}.png", timeout=60)
    api = requests.get(f"{wmts.url}/collections/dem_demo/map/tiles/WebMercatorQuad/{z}/{row}/{col}", timeout=60)
    ows = requests.get(f"{wmts.url}/ows", timeout=60, params={
        "SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0", "LAYER": "dem_demo:elevation", "STYLE": "default",
        "TILEMATRIXSET": "WebMercatorQuad", "TILEMATRIX": z, "TILEROW": row, "TILECOL": col, "FORMAT": "image/png"})
    for r in (rest, xyz, api, ows):
        assert r.status_code == 200, r.text
        assert np.array_equal(decode(r.content), decode(k.content))
    bad = requests.get(f"{wmts.url}/ows", params={"SERVICE": "WMTS", "REQUEST": "GetTile", "VERSION": "1.0.0"})
    assert bad.status_code == 400 and b"http://www.opengis.net/ows/1.1" in bad.content
    # the WMS name form is accepted in KVP too
    assert kvp(wmts, LAYER="dem_demo/elevation", TILEMATRIX=z, TILEROW=row, TILECOL=col).status_code == 200


def test_time_in_rest_template(wmts):
    root = ET.fromstring(requests.get(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml", timeout=30).content)
    sst = [l for l in root.iter(WMTS + "Layer") if l.find(OWS + "Identifier").text == "sst:sst"][0]
    values = [v.text for v in sst.find(WMTS + "Dimension").findall(WMTS + "Value")]
    tpl = sst.find(WMTS + "ResourceURL").get("template")
    tiles = []
    for t in (values[0], values[-1]):
        url = (tpl.replace("{Style}", "default").replace("{Time}", t).replace("{TileMatrixSet}", "WorldCRS84Quad")
               .replace("{TileMatrix}", "0").replace("{TileRow}", "0").replace("{TileCol}", "0"))
        url = url.replace(url.split("/wmts/")[0], wmts.url)
        r = requests.get(url, timeout=60)
        assert r.status_code == 200, r.text
        gm = requests.get(wmts.url + "/wms", params={
            "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": "sst/sst", "STYLES": "",
            "CRS": "CRS:84", "BBOX": "-180,-90,0,90", "WIDTH": 256, "HEIGHT": 256, "FORMAT": "image/png",
            "TRANSPARENT": "TRUE", "TIME": t}, timeout=60)
        assert np.array_equal(decode(r.content), decode(gm.content))
        tiles.append(decode(r.content))
    assert not np.array_equal(tiles[0], tiles[1])
    bad = requests.get(f"{wmts.url}/wmts/1.0.0/sst:sst/default/1850-01-01/WorldCRS84Quad/0/0/0.png", timeout=30)
    assert bad.status_code == 400
    assert exception_code(bad)[0] == "InvalidDimensionValue"


def tile_files(s):
    return set(glob.glob(os.path.join(s.workdir, "var", "tiles", "*", "*.tile")))


def test_cache_hit_after_miss_and_etag(wmts):
    url = f"{wmts.url}/tiles/s2_demo:B04/9/{256 + 1}/{170}.png"
    before = tile_files(wmts)
    r1 = requests.get(url, timeout=60)
    assert r1.status_code == 200
    assert r1.headers["X-Tile-Cache"] == "miss"
    new = tile_files(wmts) - before
    assert len(new) == 1
    with open(new.pop(), "rb") as f:
        assert f.read() == r1.content
    r2 = requests.get(url, timeout=60)
    assert r2.headers["X-Tile-Cache"] == "hit"
    assert r2.content == r1.content
    etag = r2.headers["ETag"]
    assert r1.headers["ETag"] == etag
    r3 = requests.get(url, headers={"If-None-Match": etag}, timeout=60)
    assert r3.status_code == 304 and r3.content == b""
    # no temporary file left behind by the atomic write
    assert not glob.glob(os.path.join(wmts.workdir, "var", "tiles", "*", ".tmp.*"))


def test_cache_invalidated_when_the_source_changes(wmts, dem_box):
    w, s, e, n = dem_box
    row, col = lonlat_tile(4, (w + e) / 2, (s + n) / 2)
    url = f"{wmts.url}/tiles/demcopy:elevation/4/{col}/{row}.png"
    assert requests.get(url, timeout=60).headers["X-Tile-Cache"] in ("miss", "hit")
    assert requests.get(url, timeout=60).headers["X-Tile-Cache"] == "hit"
    path = os.path.join(wmts.workdir, "dem_copy.tif")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    time.sleep(1.1)  # the server looks at the sources at most once a second
    before = tile_files(wmts)
    r = requests.get(url, timeout=60)
    assert r.headers["X-Tile-Cache"] == "miss"
    assert len(tile_files(wmts) - before) == 1
    assert requests.get(url, timeout=60).headers["X-Tile-Cache"] == "hit"


def test_style_parameters_bypass_the_cache(wmts):
    r = requests.get(f"{wmts.url}/tiles/dem_demo:elevation/0/0/0.png?COLORSCALERANGE=0,10", timeout=60)
    assert r.status_code == 200 and r.headers["X-Tile-Cache"] == "bypass"


@pytest.mark.parametrize("params,code,locator", [
    ({"TILEMATRIX": 1, "TILEROW": 2, "TILECOL": 0}, "TileOutOfRange", "tilerow"),
    ({"TILEMATRIX": 1, "TILEROW": 0, "TILECOL": -1}, "TileOutOfRange", "tilecol"),
    ({"TILEMATRIX": 99, "TILEROW": 0, "TILECOL": 0}, "InvalidParameterValue", "tilematrix"),
    ({"TILEMATRIX": 0, "TILEROW": 0}, "MissingParameterValue", "TILECOL"),
    ({"TILEMATRIX": 0, "TILEROW": 0, "TILECOL": 0, "TILEMATRIXSET": "Nope"}, "InvalidParameterValue", "tilematrixset"),
    ({"TILEMATRIX": 0, "TILEROW": 0, "TILECOL": 0, "FORMAT": "image/gif"}, "InvalidParameterValue", "format"),
    ({"TILEMATRIX": 0, "TILEROW": 0, "TILECOL": 0, "STYLE": "nostyle"}, "InvalidParameterValue", "style"),
    ({"TILEMATRIX": 0, "TILEROW": 0, "TILECOL": 0, "LAYER": "nolayer"}, "InvalidParameterValue", "layer"),
])
def test_gettile_exceptions(wmts, params, code, locator):
    p = {"LAYER": "dem_demo:elevation"}
    p.update(params)
    r = kvp(wmts, **p)
    assert r.status_code == 400
    assert exception_code(r) == (code, locator)


def test_out_of_range_on_every_path(wmts):
    for path in ("/tiles/dem_demo:elevation/2/4/0.png", "/tiles/dem_demo:elevation/19/0/0.png",
                 "/wmts/1.0.0/dem_demo:elevation/default/WorldCRS84Quad/0/0/2.png"):
        r = requests.get(wmts.url + path, timeout=30)
        assert r.status_code == 400, path
        assert exception_code(r)[0] == "TileOutOfRange", path
    r = requests.get(wmts.url + "/collections/dem_demo/map/tiles/WebMercatorQuad/1/0/2", timeout=30)
    assert r.status_code == 404
    r = requests.get(wmts.url + "/wmts", params={"SERVICE": "WMTS", "REQUEST": "GetMap", "VERSION": "1.0.0"}, timeout=30)
    assert r.status_code in (400, 501) and exception_code(r)[0] == "OperationNotSupported"


def test_getfeatureinfo_matches_wms(wmts, dem_box):
    w, s, e, n = dem_box
    z = 6
    row, col = lonlat_tile(z, (w + e) / 2, (s + n) / 2)
    r = requests.get(wmts.url + "/wmts", params={
        "SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetFeatureInfo", "LAYER": "dem_demo:elevation",
        "STYLE": "default", "FORMAT": "image/png", "TILEMATRIXSET": "WebMercatorQuad", "TILEMATRIX": z,
        "TILEROW": row, "TILECOL": col, "I": 128, "J": 128, "INFOFORMAT": "application/json"}, timeout=60)
    assert r.status_code == 200, r.text
    bbox = merc_tile_bbox(z, row, col)
    g = requests.get(wmts.url + "/wms", params={
        "SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetFeatureInfo", "LAYERS": "dem_demo/elevation",
        "QUERY_LAYERS": "dem_demo/elevation", "STYLES": "", "CRS": "EPSG:3857",
        "BBOX": ",".join(repr(v) for v in bbox), "WIDTH": 256, "HEIGHT": 256, "I": 128, "J": 128,
        "INFO_FORMAT": "application/json", "FORMAT": "image/png"}, timeout=60)
    assert r.json() == g.json()


def test_ogcapi_tile_matrix_set_documents(wmts):
    lst = requests.get(wmts.url + "/tileMatrixSets", timeout=30).json()
    assert {t["id"] for t in lst["tileMatrixSets"]} == {"WebMercatorQuad", "WorldCRS84Quad"}
    doc = requests.get(wmts.url + "/tileMatrixSets/WebMercatorQuad", timeout=30).json()
    assert doc["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    m3 = doc["tileMatrices"][3]
    assert m3["id"] == "3" and m3["matrixWidth"] == 8 and m3["matrixHeight"] == 8
    assert m3["cellSize"] == pytest.approx(2 * MERC_E / 256 / 8, rel=1e-12)
    assert m3["pointOfOrigin"] == pytest.approx([-MERC_E, MERC_E])
    geo = requests.get(wmts.url + "/tileMatrixSets/WorldCRS84Quad", timeout=30).json()
    assert geo["tileMatrices"][0]["matrixWidth"] == 2 and geo["tileMatrices"][0]["cellSize"] == 0.703125
    assert requests.get(wmts.url + "/tileMatrixSets/Nope", timeout=30).status_code == 404
    sets = requests.get(wmts.url + "/collections/sst/map/tiles", timeout=30).json()["tilesets"]
    assert len(sets) == 2
    item = [l for l in sets[0]["links"] if l["rel"] == "item"][0]
    assert item["templated"] and item["href"].endswith("/collections/sst/map/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    one = requests.get(wmts.url + "/collections/sst/map/tiles/WorldCRS84Quad", timeout=30).json()
    lim = one["tileMatrixSetLimits"][0]
    assert lim["tileMatrix"] == "0" and lim["minTileRow"] == 0 and lim["maxTileRow"] == 0


def test_cache_configuration(make_server, tmp_path):
    off = make_server(tile_cache_max=0)
    r = requests.get(off.url + "/tiles/dem_demo:elevation/0/0/0.png", timeout=60)
    assert r.status_code == 200 and r.headers["X-Tile-Cache"] == "bypass"
    assert not glob.glob(os.path.join(str(tmp_path), "var", "tiles", "*", "*.tile"))
    d = tmp_path / "mytiles"
    on = make_server(tile_cache_dir=str(d), tile_cache_max="1MiB")
    r = requests.get(on.url + "/tiles/dem_demo:elevation/0/0/0.png", timeout=60)
    assert r.headers["X-Tile-Cache"] == "miss"
    files = glob.glob(str(d / "*" / "*.tile"))
    assert len(files) == 1 and open(files[0], "rb").read() == r.content


def test_seed_fills_the_cache(wmts, dem_box):
    import subprocess
    from conftest import NADIR
    w, s, e, n = dem_box
    before = tile_files(wmts)
    p = subprocess.run([NADIR, "seed", "-c", wmts.config, "dem_demo/elevation", "--zoom", "8-10", "--style", "default",
                        "--bbox", f"{w},{s},{e},{n}"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    expected = 0
    for z in (8, 9, 10):
        r0, c0 = lonlat_tile(z, w, n)
        r1, c1 = lonlat_tile(z, e - 1e-9, s)
        expected += (r1 - r0 + 1) * (c1 - c0 + 1)
    assert f"{expected}/{expected} tiles 100%" in p.stderr
    assert len(tile_files(wmts) - before) == expected
    r0, c0 = lonlat_tile(10, w, n)
    r = requests.get(f"{wmts.url}/tiles/dem_demo:elevation/10/{c0}/{r0}.png", timeout=60)
    assert r.status_code == 200 and r.headers["X-Tile-Cache"] == "hit"
    bad = subprocess.run([NADIR, "seed", "-c", wmts.config, "dem_demo/elevation", "--zoom", "3-1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--zoom" in bad.stderr
    bad = subprocess.run([NADIR, "seed", "-c", wmts.config, "nope/nope", "--zoom", "1"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "no layer" in bad.stderr


def test_conformance_script(wmts):
    """conformance/wmts/ets_wmts10.py (the local ets-wmts10 reproduction) passes against this server."""
    import subprocess
    script = os.path.join(os.path.dirname(__file__), "../../conformance/wmts/ets_wmts10.py")
    r = subprocess.run(["/usr/bin/python3", script, "--url", wmts.url], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " 0 failed" in r.stdout and "36 passed" in r.stdout


def test_collections_link_to_their_map_tiles(wmts):
    doc = requests.get(wmts.url + "/collections/sst", params={"f": "json"}, timeout=30).json()
    links = [l for l in doc["links"] if l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-map"]
    assert len(links) == 1 and links[0]["type"] == "application/json"
    assert links[0]["href"].endswith("/collections/sst/map/tiles")
    conf = requests.get(wmts.url + "/conformance", params={"f": "json"}, timeout=30).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core" in conf
    assert "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset" in conf


def test_rest_featureinfo_template(wmts, dem_box):
    w, s, e, n = dem_box
    z = 6
    row, col = lonlat_tile(z, (w + e) / 2, (s + n) / 2)
    svc = WebMapTileService(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml")
    infos = [u for u in svc.contents["dem_demo:elevation"].resourceURLs if u["resourceType"] == "FeatureInfo"]
    tpl = [u["template"] for u in infos if u["format"] == "application/json"][0]
    url = (tpl.replace("{Style}", "default").replace("{TileMatrixSet}", "WebMercatorQuad").replace("{TileMatrix}", str(z))
           .replace("{TileRow}", str(row)).replace("{TileCol}", str(col)).replace("{J}", "100").replace("{I}", "120"))
    url = wmts.url + url[url.index("/wmts/1.0.0/"):]
    r = requests.get(url, timeout=60)
    assert r.status_code == 200, r.text
    k = requests.get(wmts.url + "/wmts", params={
        "SERVICE": "WMTS", "VERSION": "1.0.0", "REQUEST": "GetFeatureInfo", "LAYER": "dem_demo:elevation",
        "STYLE": "default", "FORMAT": "image/png", "TILEMATRIXSET": "WebMercatorQuad", "TILEMATRIX": z,
        "TILEROW": row, "TILECOL": col, "I": 120, "J": 100, "INFOFORMAT": "application/json"}, timeout=60)
    assert r.json() == k.json()
    txt = requests.get(url.replace(".json", ".txt"), timeout=60)
    assert txt.status_code == 200 and txt.headers["Content-Type"].startswith("text/plain")


def test_featureinfo_value_is_the_data(wmts, demo_dir):
    lon, lat = 10.25, 46.35
    res = 180.0 / 256 / 2 ** 7
    px, py = int((lon + 180) / res), int((90 - lat) / res)
    url = f"{wmts.url}/wmts/1.0.0/dem_demo:elevation/default/WorldCRS84Quad/7/{py // 256}/{px // 256}/{py % 256}/{px % 256}.json"
    r = requests.get(url, timeout=60)
    assert r.status_code == 200, r.text
    f = r.json()["features"][0]
    x, y = f["geometry"]["coordinates"]
    assert abs(x - lon) < res and abs(y - lat) < res
    ds = gdal.Open(os.path.join(demo_dir, "dem", "dem_demo.tif"))
    gt = ds.GetGeoTransform()
    col, row = int((x - gt[0]) / gt[1]), int((y - gt[3]) / gt[5])
    want = float(ds.GetRasterBand(1).ReadAsArray(col, row, 1, 1)[0, 0])
    assert f["properties"]["value"] == pytest.approx(want, rel=1e-6)
    assert f["properties"]["units"] == "m"


# ---- Elevation as a dimension ----

def getmap_3857(s, layer, bbox, **extra):
    q = {"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer, "STYLES": "", "CRS": "EPSG:3857",
         "BBOX": ",".join(repr(v) for v in bbox), "WIDTH": 256, "HEIGHT": 256, "FORMAT": "image/png",
         "TRANSPARENT": "TRUE"}
    q.update(extra)
    r = requests.get(s.url + "/wms", params=q, timeout=60)
    assert r.status_code == 200, r.text
    return decode(r.content)


def test_elevation_dimension_in_capabilities(wmts):
    root = ET.fromstring(requests.get(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml", timeout=30).content)
    layers = {l.find(OWS + "Identifier").text: l for l in root.iter(WMTS + "Layer")}
    dims = {d.find(OWS + "Identifier").text: d for d in layers["ocean3d:temp"].findall(WMTS + "Dimension")}
    assert set(dims) == {"Elevation"}  # no time axis in this file
    z = dims["Elevation"]
    assert [float(v.text) for v in z.findall(WMTS + "Value")] == DEPTHS
    assert float(z.find(WMTS + "Default").text) == 0 and z.find(OWS + "UOM").text == "m"
    tpl = layers["ocean3d:temp"].find(WMTS + "ResourceURL").get("template")
    assert "/{Style}/{Elevation}/{TileMatrixSet}/" in tpl
    svc = WebMapTileService(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml")
    assert "ocean3d:temp" in svc.contents


def test_elevation_tiles_rest_kvp_xyz_equal_getmap(wmts):
    z, row, col = 2, 1, 1  # lon -90..0, lat 0..66.5: over the grid's western half
    bbox = merc_tile_bbox(z, row, col)
    tiles = {}
    for depth in DEPTHS:
        want = getmap_3857(wmts, "ocean3d/temp", bbox, ELEVATION=repr(depth))
        rest = requests.get(f"{wmts.url}/wmts/1.0.0/ocean3d:temp/default/{depth:g}/WebMercatorQuad/{z}/{row}/{col}.png",
                            timeout=60)
        assert rest.status_code == 200, rest.text
        k = kvp(wmts, LAYER="ocean3d:temp", TILEMATRIX=z, TILEROW=row, TILECOL=col, ELEVATION=f"{depth:g}")
        xyz = requests.get(f"{wmts.url}/tiles/ocean3d:temp/{z}/{col}/{row}.png?elevation={depth:g}", timeout=60)
        for r in (rest, k, xyz):
            assert np.array_equal(decode(r.content), want)
        tiles[depth] = want
    assert not np.array_equal(tiles[0.0], tiles[50.0])  # the levels differ, each cached under its own key
    # the default is the first level, as in WMS
    d = requests.get(f"{wmts.url}/wmts/1.0.0/ocean3d:temp/default/default/WebMercatorQuad/{z}/{row}/{col}.png",
                     timeout=60)
    assert np.array_equal(decode(d.content), tiles[0.0])
    bad = kvp(wmts, LAYER="ocean3d:temp", TILEMATRIX=z, TILEROW=row, TILECOL=col, ELEVATION="5000")
    assert bad.status_code == 400 and exception_code(bad)[0] == "InvalidDimensionValue"


def test_clients_fill_the_elevation(wmts, tmp_path, gdal_wms_cache):
    """GDAL's WMTS driver fills {Elevation} of the REST template with the dimension's Default (it has no option for
    another value); OWSLib asks for any level through KVP."""
    z, row, col = 2, 1, 1
    bbox = merc_tile_bbox(z, row, col)
    first = getmap_3857(wmts, "ocean3d/temp", bbox)
    src = gdal.Open(f"WMTS:{wmts.url}/wmts/1.0.0/WMTSCapabilities.xml,layer=ocean3d:temp,tilematrixset=WebMercatorQuad,"
                    f"tilematrix={z}")
    gt = src.GetGeoTransform()
    # the raster covers the layer's extent on the tile matrix's grid: where it overlaps our tile, the same pixels
    ox, oy = round((gt[0] - bbox[0]) / gt[1]), round((gt[3] - bbox[3]) / gt[5])
    w, h = min(256 - ox, src.RasterXSize), min(256 - oy, src.RasterYSize)
    got = src.ReadAsArray(0, 0, w, h)
    src = None
    assert w > 10 and h > 10 and np.array_equal(got, first[:, oy:oy + h, ox:ox + w])
    svc = WebMapTileService(wmts.url + "/wmts/1.0.0/WMTSCapabilities.xml")
    tile = svc.gettile(layer="ocean3d:temp", tilematrixset="WebMercatorQuad", tilematrix=str(z), row=row, column=col,
                       format="image/png", style="default", ELEVATION="50").read()
    deep = getmap_3857(wmts, "ocean3d/temp", bbox, ELEVATION="50")
    assert np.array_equal(decode(tile), deep) and not np.array_equal(deep, first)


def test_seed_one_elevation(wmts):
    import subprocess
    from conftest import NADIR
    p = subprocess.run([NADIR, "seed", "-c", wmts.config, "ocean3d/temp", "--zoom", "0-1", "--elevation", "10"],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    hit = requests.get(f"{wmts.url}/wmts/1.0.0/ocean3d:temp/default/10/WebMercatorQuad/1/0/0.png", timeout=60)
    assert hit.headers["X-Tile-Cache"] == "hit"
    assert np.array_equal(decode(hit.content), getmap_3857(wmts, "ocean3d/temp", merc_tile_bbox(1, 0, 0), ELEVATION="10"))
    # another level was not seeded
    other = requests.get(f"{wmts.url}/wmts/1.0.0/ocean3d:temp/default/50/WebMercatorQuad/1/0/0.png", timeout=60)
    assert other.headers["X-Tile-Cache"] == "miss"
