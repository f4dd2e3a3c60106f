"""WMS 1.1.1 / 1.3.0 with real clients: OWSLib WebMapService, GDAL's WMS driver, gdalwarp as the pixel truth."""
import json
import os
import subprocess
import uuid
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from osgeo import gdal
from owslib.wms import WebMapService

from conftest import Server, server_config
from test_wmts import DEPTHS, ocean3d

gdal.UseExceptions()

OGC = "{http://www.opengis.net/ogc}"


@pytest.fixture(scope="module")
def long_series(tmp_path_factory):
    """One NetCDF file with 1500 daily steps on a tiny grid: a TIME range over all of it must be refused."""
    import netCDF4
    d = tmp_path_factory.mktemp("long")
    path = str(d / "long.nc")
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", 1500)
        nc.createDimension("lat", 4)
        nc.createDimension("lon", 4)
        t = nc.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t[:] = np.arange(1500)
        la = nc.createVariable("lat", "f8", ("lat",))
        la.units = "degrees_north"
        la[:] = [0.5, 1.5, 2.5, 3.5]
        lo = nc.createVariable("lon", "f8", ("lon",))
        lo.units = "degrees_east"
        lo[:] = [0.5, 1.5, 2.5, 3.5]
        v = nc.createVariable("v", "f4", ("time", "lat", "lon"))
        v.units = "K"
        v[:] = np.arange(1500, dtype="f4")[:, None, None] * np.ones((1, 4, 4), "f4")
    return path


STYLES = """styles:
  - name: dem-classes
    title: DEM in two classes
    layers: [dem_demo/elevation]
    palette: greyscale
    range: "1000,2000"
    bands: 2
    above: "#ff0000"
    below: "#0000ff"
  - name: sst-warm
    layers: [sst/sst]
    default: true
    palette: rainbow
    range: "0,20"
"""


@pytest.fixture(scope="module")
def wms(demo_dir, long_series, tmp_path_factory):
    text = server_config(demo_dir) + f"""  - id: long
    title: Long series
    source: {long_series}
  - id: ocean3d
    title: Temperature at three depths
    source: {ocean3d(tmp_path_factory.mktemp("ocean3d"))}
""" + STYLES
    s = Server(str(tmp_path_factory.mktemp("wms")), text)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def get(s, **params):
    q = {"SERVICE": "WMS", "VERSION": "1.3.0"}
    q.update(params)
    return requests.get(s.url + "/wms", params=q, timeout=60)


def getmap(s, **params):
    q = {"REQUEST": "GetMap", "STYLES": "", "FORMAT": "image/png"}
    q.update(params)
    return get(s, **q)


def decode(content):
    """Any image GDAL reads -> (h, w, bands) array; paletted PNGs expanded to RGBA through their palette."""
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, content)
    try:
        ds = gdal.Open(name)
        if ds.RasterCount == 1 and ds.GetRasterBand(1).GetColorTable() is not None:
            ct = ds.GetRasterBand(1).GetColorTable()
            lut = np.array([ct.GetColorEntry(i) for i in range(ct.GetCount())], dtype=np.uint8)
            out = lut[ds.GetRasterBand(1).ReadAsArray()]
        else:
            out = np.dstack([ds.GetRasterBand(b + 1).ReadAsArray() for b in range(ds.RasterCount)])
        ds = None
        return out
    finally:
        gdal.Unlink(name)


def tiff(content):
    """A GeoTIFF response -> (values, geotransform, EPSG code)."""
    name = f"/vsimem/{uuid.uuid4().hex}.tif"
    gdal.FileFromMemBuffer(name, content)
    try:
        ds = gdal.Open(name)
        srs = ds.GetSpatialRef()
        out = ds.GetRasterBand(1).ReadAsArray(), ds.GetGeoTransform(), srs.GetAuthorityCode(None)
        ds = None
        return out
    finally:
        gdal.Unlink(name)


def gdalwarp(src, crs, bbox, w, h, r="near", band=1, s_srs=None):
    opts = gdal.WarpOptions(dstSRS=crs, srcSRS=s_srs, outputBounds=bbox, width=w, height=h, resampleAlg=r,
                            outputType=gdal.GDT_Float32, dstNodata=float("nan"), format="MEM")
    ds = gdal.Warp("", src, options=opts)  # kept alive while its band is read (GDAL's Python bindings)
    return ds.GetRasterBand(band).ReadAsArray()


def exception_code(r):
    root = ET.fromstring(r.content)
    el = root.find(f"{OGC}ServiceException")
    if el is None:
        el = root.find("ServiceException")
    return el.get("code")


# ---- GetCapabilities ----

def test_capabilities_130_owslib(wms):
    w = WebMapService(wms.url + "/wms", version="1.3.0")
    assert w.identification.type == "WMS"
    assert "sst/sst" in w.contents and "s2_demo/rgb" in w.contents and "dem_demo/elevation" in w.contents
    sst = w["sst/sst"]
    assert sst.queryable == 1
    assert sst.boundingBoxWGS84 == pytest.approx((-20, 40, 30, 66))
    assert sst.timepositions == ["2025-01-01T00:00:00Z/2025-01-31T00:00:00Z/P1D"]
    assert sst.defaulttimeposition == "2025-01-31T00:00:00Z"
    assert "EPSG:3857" in sst.crsOptions and "CRS:84" in sst.crsOptions
    assert "default" in sst.styles and "viridis" in sst.styles
    assert "GetLegendGraphic" in sst.styles["default"]["legend"]
    s2 = w["s2_demo/B04"]
    assert "EPSG:32631" in s2.crsOptions
    # 1.3.0 EPSG:4326 bounding boxes are lat/lon
    root = ET.fromstring(requests.get(wms.url + "/wms?SERVICE=WMS&REQUEST=GetCapabilities").content)
    ns = "{http://www.opengis.net/wms}"
    assert root.find(f"{ns}Service/{ns}MaxWidth").text == "4096"
    for lay in root.iter(f"{ns}Layer"):
        name = lay.find(f"{ns}Name")
        if name is not None and name.text == "sst/sst":
            bb = [b for b in lay.findall(f"{ns}BoundingBox") if b.get("CRS") == "EPSG:4326"][0]
            assert (float(bb.get("minx")), float(bb.get("miny"))) == (40, -20)
    assert [op.name for op in w.operations][:3] == ["GetCapabilities", "GetMap", "GetFeatureInfo"]
    assert "image/tiff" in w.getOperationByName("GetMap").formatOptions


def test_capabilities_111_owslib(wms):
    w = WebMapService(wms.url + "/wms", version="1.1.1")
    assert w.version == "1.1.1"
    sst = w["sst/sst"]
    assert sst.boundingBoxWGS84 == pytest.approx((-20, 40, 30, 66))
    assert "EPSG:4326" in sst.crsOptions
    assert sst.timepositions == ["2025-01-01T00:00:00Z/2025-01-31T00:00:00Z/P1D"]
    r = requests.get(wms.url + "/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetCapabilities")
    assert r.headers["Content-Type"].startswith("application/vnd.ogc.wms_xml")
    assert ET.fromstring(r.content).tag == "WMT_MS_Capabilities"


def test_ows_endpoint_serves_wms(wms):
    r = requests.get(wms.url + "/ows?SERVICE=WMS&REQUEST=GetCapabilities")
    assert r.status_code == 200 and b"<WMS_Capabilities" in r.content
    assert b'xlink:href="http://localhost' in r.content and b"/ows?" in r.content
    r = requests.get(wms.url + "/ows?SERVICE=FOO&REQUEST=GetCapabilities")
    assert r.status_code == 400 and exception_code(r) == "InvalidParameterValue"


# ---- GetMap: pixel truth ----

def s2_bbox(demo_dir):
    ds = gdal.Open(f"{demo_dir}/s2/s2_demo_10m.tif")
    gt = ds.GetGeoTransform()
    return gt[0], gt[3] + 1024 * gt[5], gt[0] + 1024 * gt[1], gt[3]


@pytest.mark.parametrize("crs", ["EPSG:32631", "EPSG:4326", "EPSG:3857"])
@pytest.mark.parametrize("interp", ["nearest", "bilinear"])
def test_getmap_tiff_equals_gdalwarp_raster(wms, demo_dir, crs, interp):
    src = f"{demo_dir}/s2/s2_demo_10m.tif"
    x0, y0, x1, y1 = s2_bbox(demo_dir)
    if crs != "EPSG:32631":
        ct = gdal.Warp("", src, options=gdal.WarpOptions(dstSRS=crs, format="VRT"))
        gt = ct.GetGeoTransform()
        x0, y1 = gt[0], gt[3]
        x1, y0 = gt[0] + ct.RasterXSize * gt[1], gt[3] + ct.RasterYSize * gt[5]
    w, h = 300, 200
    # WMS 1.3.0: EPSG:4326 BBOX is lat,lon
    bbox = f"{y0},{x0},{y1},{x1}" if crs == "EPSG:4326" else f"{x0},{y0},{x1},{y1}"
    r = getmap(wms, LAYERS="s2_demo/B04", CRS=crs, BBOX=bbox, WIDTH=w, HEIGHT=h, FORMAT="image/tiff",
               INTERPOLATION=interp)
    assert r.status_code == 200, r.text
    ours, gt, epsg = tiff(r.content)
    assert epsg == crs.split(":")[1]
    assert gt == pytest.approx((x0, (x1 - x0) / w, 0, y1, 0, -(y1 - y0) / h))
    ref = gdalwarp(src, crs, (x0, y0, x1, y1), w, h, "near" if interp == "nearest" else "bilinear", band=3)
    assert np.isnan(ours).sum() == np.isnan(ref).sum()
    assert np.isfinite(ref).sum() > w * h / 4
    if interp == "nearest":
        np.testing.assert_array_equal(ours, ref)
    else:
        np.testing.assert_allclose(ours, ref, rtol=1e-4)


@pytest.mark.parametrize("crs,bbox", [("EPSG:4326", (40, -20, 66, 30)), ("EPSG:3857", (-2e6, 5e6, 3e6, 9e6)),
                                      ("EPSG:32631", (200000, 4500000, 800000, 6500000))])
def test_getmap_tiff_equals_gdalwarp_netcdf_scaled(wms, demo_dir, crs, bbox):
    day = "2025-01-05"
    r = getmap(wms, LAYERS="sst/sst", CRS=crs, BBOX=",".join(map(str, bbox)), WIDTH=256, HEIGHT=200,
               FORMAT="image/tiff", TIME=day)
    assert r.status_code == 200, r.text
    ours, _, _ = tiff(r.content)
    xy = (bbox[1], bbox[0], bbox[3], bbox[2]) if crs == "EPSG:4326" else bbox
    raw = gdalwarp(f'NETCDF:"{demo_dir}/sst/sst_20250105.nc":sst', crs, xy, 256, 200, s_srs="EPSG:4326")
    want = (raw.astype(np.float64) * np.float64(np.float32(0.01))).astype(np.float32)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(want))
    np.testing.assert_allclose(ours[~np.isnan(ours)], want[~np.isnan(want)], rtol=1e-6)
    assert np.isfinite(ours).sum() > 1000


def test_time_nearest_and_default(wms):
    q = dict(LAYERS="sst/sst", CRS="CRS:84", BBOX="-20,40,30,66", WIDTH=100, HEIGHT=52, FORMAT="image/tiff")
    d5 = tiff(getmap(wms, TIME="2025-01-05T00:00:00Z", **q).content)[0]
    near5 = tiff(getmap(wms, TIME="2025-01-05T10:00:00Z", **q).content)[0]
    d31 = tiff(getmap(wms, **q).content)[0]
    last = tiff(getmap(wms, TIME="2025-01-31", **q).content)[0]
    np.testing.assert_array_equal(d5, near5)
    np.testing.assert_array_equal(d31, last)
    assert not np.array_equal(d5, d31, equal_nan=True)
    # an interval: the latest step inside it, whatever its length (one file opened)
    rng = tiff(getmap(wms, TIME="2025-01-01/2025-01-05", **q).content)[0]
    np.testing.assert_array_equal(rng, d5)
    huge = getmap(wms, TIME="1900-01-01/2100-01-01", **q)
    assert huge.status_code == 200
    np.testing.assert_array_equal(tiff(huge.content)[0], d31)


# ---- GetMap: styles ----

def dem_map(wms, fmt="image/png", **kw):
    q = dict(LAYERS="dem_demo/elevation", CRS="EPSG:4326", BBOX="46.1,10.0,46.6,10.5", WIDTH=128, HEIGHT=128,
             FORMAT=fmt)
    q.update(kw)
    return getmap(wms, **q)


def test_png_colours_follow_the_style(wms):
    vals = tiff(dem_map(wms, "image/tiff").content)[0]
    assert np.isfinite(vals).all()
    # two bands of greyscale over 1000..2000, blue below and red above
    r = dem_map(wms, STYLES="greyscale", COLORSCALERANGE="1000,2000", NUMCOLORBANDS=2,
                BELOWMINCOLOR="0x0000FF", ABOVEMAXCOLOR="0xFF0000")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    assert r.content[25] == 3, "8-bit palette PNG expected"
    img = decode(r.content)
    want = np.zeros(vals.shape + (3,), np.uint8)
    want[vals < 1000] = (0, 0, 255)
    want[(vals >= 1000) & (vals < 1500)] = (0, 0, 0)
    want[(vals >= 1500) & (vals <= 2000)] = (255, 255, 255)
    want[vals > 2000] = (255, 0, 0)
    np.testing.assert_array_equal(img[..., :3], want)
    assert (vals < 1000).any() and (vals > 2000).any() and ((vals >= 1500) & (vals <= 2000)).any()


def test_logscale_and_palette_ends(wms):
    vals = tiff(dem_map(wms, "image/tiff").content)[0]
    img = decode(dem_map(wms, PALETTE="greyscale", COLORSCALERANGE="100,2500", NUMCOLORBANDS=2,
                         LOGSCALE="true").content)
    split = np.sqrt(100 * 2500)  # the middle of a log scale
    np.testing.assert_array_equal(img[..., 0] == 255, vals >= split)
    # viridis from its first colour (at the minimum) to its last (at the maximum)
    img = decode(dem_map(wms, STYLES="default-scalar/viridis", COLORSCALERANGE=f"{vals.min()},{vals.max()}").content)
    lo, hi = np.unravel_index(vals.argmin(), vals.shape), np.unravel_index(vals.argmax(), vals.shape)
    assert tuple(img[lo][:3]) == (0x44, 0x01, 0x54)
    assert tuple(img[hi][:3]) == (0xfd, 0xe7, 0x25)
    bad = dem_map(wms, LOGSCALE="true", COLORSCALERANGE="-5,10")
    assert bad.status_code == 400 and exception_code(bad) == "InvalidParameterValue"


def test_nodata_transparent_or_bgcolor(wms):
    q = dict(LAYERS="sst/sst", CRS="CRS:84", BBOX="-20,40,30,66", WIDTH=100, HEIGHT=52)
    vals = tiff(getmap(wms, FORMAT="image/tiff", **q).content)[0]
    land = np.isnan(vals)
    assert land.any() and (~land).any()
    img = decode(getmap(wms, TRANSPARENT="TRUE", **q).content)
    assert (img[land][:, 3] == 0).all() and (img[~land][:, 3] == 255).all()
    img = decode(getmap(wms, TRANSPARENT="FALSE", BGCOLOR="0x00FF00", **q).content)
    assert (img[land][:, :3] == (0, 255, 0)).all()


def test_rgb_composite_and_formats(wms, demo_dir):
    x0, y0, x1, y1 = s2_bbox(demo_dir)
    q = dict(LAYERS="s2_demo/rgb", CRS="EPSG:32631", BBOX=f"{x0},{y0},{x1},{y1}", WIDTH=128, HEIGHT=128)
    r = getmap(wms, **q)
    assert r.status_code == 200
    img = decode(r.content)
    assert img.shape[2] in (3, 4) and img[..., :3].std() > 10
    # the red channel follows B04, the blue channel B02
    b04 = tiff(getmap(wms, LAYERS="s2_demo/B04", CRS="EPSG:32631", BBOX=q["BBOX"], WIDTH=128, HEIGHT=128,
                      FORMAT="image/tiff").content)[0]
    assert np.corrcoef(b04.ravel(), img[..., 0].ravel().astype(float))[0, 1] > 0.95
    for fmt, magic in [("image/jpeg", b"\xff\xd8\xff"), ("image/webp", b"RIFF")]:
        r = getmap(wms, FORMAT=fmt, **q)
        assert r.status_code == 200 and r.headers["Content-Type"] == fmt and r.content.startswith(magic)
        assert decode(r.content).shape[:2] == (128, 128)
    assert getmap(wms, FORMAT="image/tiff", **q).status_code == 400


def test_axis_order_111_vs_130(wms):
    a = tiff(getmap(wms, LAYERS="sst/sst", CRS="EPSG:4326", BBOX="40,-20,66,30", WIDTH=60, HEIGHT=40,
                    FORMAT="image/tiff").content)
    b = tiff(get(wms, VERSION="1.1.1", REQUEST="GetMap", LAYERS="sst/sst", SRS="EPSG:4326", BBOX="-20,40,30,66",
                 WIDTH=60, HEIGHT=40, STYLES="", FORMAT="image/tiff").content)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == pytest.approx((-20, 50 / 60, 0, 66, 0, -26 / 40))


# ---- Exceptions: every code ----

BASE = dict(LAYERS="sst/sst", CRS="EPSG:3857", BBOX="-2e6,5e6,3e6,9e6", WIDTH=64, HEIGHT=64)


@pytest.mark.parametrize("change,code", [
    (dict(BBOX=None), "MissingParameterValue"),
    (dict(WIDTH=None), "MissingParameterValue"),
    (dict(BBOX="3e6,5e6,-2e6,9e6"), "InvalidParameterValue"),
    (dict(BBOX="1,2,3"), "InvalidParameterValue"),
    (dict(BBOX="0,0,0,0"), "InvalidParameterValue"),
    (dict(BBOX="1e30,1e30,1e31,1e31"), "InvalidParameterValue"),
    (dict(WIDTH="5000"), "InvalidParameterValue"),
    (dict(HEIGHT="-3"), "InvalidParameterValue"),
    (dict(FORMAT="image/gif"), "InvalidFormat"),
    (dict(CRS="EPSG:999999"), "InvalidCRS"),
    (dict(CRS="FOO:1"), "InvalidCRS"),
    (dict(LAYERS="nope/nope"), "LayerNotDefined"),
    (dict(STYLES="nope"), "StyleNotDefined"),
    (dict(PALETTE="nope"), "StyleNotDefined"),
    (dict(TIME="yesterday"), "InvalidDimensionValue"),
    (dict(TIME="1990-01-01"), "InvalidDimensionValue"),
    (dict(TIME="2025-01-01,2025-01-02"), "InvalidDimensionValue"),
    (dict(COLORSCALERANGE="5,1"), "InvalidParameterValue"),
    (dict(NUMCOLORBANDS="1000"), "InvalidParameterValue"),
    (dict(BGCOLOR="red"), "InvalidParameterValue"),
])
def test_getmap_exceptions(wms, change, code):
    q = dict(BASE)
    q.update(change)
    q = {k: v for k, v in q.items() if v is not None}
    r = getmap(wms, **q)
    assert r.status_code == 400
    assert exception_code(r) == code


def test_111_says_invalid_srs(wms):
    r = get(wms, VERSION="1.1.1", REQUEST="GetMap", LAYERS="sst/sst", SRS="EPSG:999999", BBOX="0,0,1,1", WIDTH=8,
            HEIGHT=8, STYLES="", FORMAT="image/png")
    assert r.status_code == 400 and exception_code(r) == "InvalidSRS"
    assert r.headers["Content-Type"].startswith("application/vnd.ogc.se_xml")


def test_other_exception_codes(wms):
    r = get(wms, REQUEST="GetFoo")
    assert exception_code(r) == "OperationNotSupported"
    cap = ET.fromstring(requests.get(wms.url + "/wms?SERVICE=WMS&REQUEST=GetCapabilities").content)
    seq = cap.get("updateSequence")
    r = get(wms, REQUEST="GetCapabilities", UPDATESEQUENCE=seq)
    assert r.status_code == 400 and exception_code(r) == "CurrentUpdateSequence"
    r = get(wms, REQUEST="GetCapabilities", UPDATESEQUENCE=str(int(seq) + 1000))
    assert exception_code(r) == "InvalidUpdateSequence"
    assert get(wms, REQUEST="GetCapabilities", UPDATESEQUENCE=str(int(seq) - 1)).status_code == 200
    r = get(wms, REQUEST="GetMap", VERSION=None, **BASE)
    assert exception_code(r) == "MissingParameterValue"
    r = get(wms, REQUEST="GetFeatureInfo", QUERY_LAYERS="sst/sst", I=64, J=3, INFO_FORMAT="text/plain", STYLES="",
            **BASE)
    assert r.status_code == 400 and exception_code(r) == "InvalidPoint"
    r = get(wms, REQUEST="GetFeatureInfo", QUERY_LAYERS="sst/sst", I=1, J=3, INFO_FORMAT="image/gif", STYLES="",
            **BASE)
    assert exception_code(r) == "InvalidFormat"


def test_inimage_and_blank(wms):
    r = getmap(wms, EXCEPTIONS="INIMAGE", **dict(BASE, LAYERS="nope/nope"))
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = decode(r.content)
    assert img.shape[:2] == (64, 64) and len(np.unique(img.reshape(-1, img.shape[2]), axis=0)) > 1
    r = getmap(wms, EXCEPTIONS="BLANK", TRANSPARENT="TRUE", **dict(BASE, TIME="1990-01-01"))
    img = decode(r.content)
    assert r.status_code == 200 and (img[..., 3] == 0).all()
    r = get(wms, VERSION="1.1.1", REQUEST="GetMap", LAYERS="nope", SRS="EPSG:4326", BBOX="0,0,1,1", WIDTH=8,
            HEIGHT=8, STYLES="", FORMAT="image/jpeg", EXCEPTIONS="application/vnd.ogc.se_blank", BGCOLOR="0xFF0000")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
    assert abs(decode(r.content)[..., 0].astype(int) - 255).max() < 8


# ---- GetFeatureInfo, GetLegendGraphic ----

def test_getfeatureinfo_value_units_and_series(wms):
    q = dict(LAYERS="sst/sst", QUERY_LAYERS="sst/sst", CRS="CRS:84", BBOX="-20,40,30,66", WIDTH=100, HEIGHT=52,
             STYLES="", I=10, J=30)
    vals = tiff(getmap(wms, FORMAT="image/tiff", **{k: v for k, v in q.items() if k not in ("QUERY_LAYERS", "I", "J")}).content)[0]
    assert np.isfinite(vals[30, 10])
    r = get(wms, REQUEST="GetFeatureInfo", INFO_FORMAT="application/json", **q)
    assert r.status_code == 200
    f = r.json()["features"][0]
    assert f["properties"]["value"] == pytest.approx(float(vals[30, 10]), rel=1e-6)
    assert f["properties"]["units"] == "degree_Celsius"
    assert f["geometry"]["coordinates"] == pytest.approx([-20 + 10.5 * 0.5, 66 - 30.5 * 0.5])
    t = get(wms, REQUEST="GetFeatureInfo", INFO_FORMAT="text/plain", **q).text
    assert "degree_Celsius" in t and "sst = " in t
    h = get(wms, REQUEST="GetFeatureInfo", INFO_FORMAT="text/html", **q).text
    assert "<table" in h and "degree_Celsius" in h
    # the time series over an interval: one value per day, the last one the map's value
    s = get(wms, REQUEST="GetFeatureInfo", INFO_FORMAT="application/json", TIME="2025-01-01/2025-01-31", **q).json()
    p = s["features"][0]["properties"]
    assert len(p["time"]) == 31 and p["time"][0] == "2025-01-01T00:00:00Z"
    assert p["values"][-1] == pytest.approx(float(vals[30, 10]), rel=1e-6)
    assert len(set(p["values"])) > 1
    # 1.1.1 uses X/Y
    r = get(wms, VERSION="1.1.1", REQUEST="GetFeatureInfo", INFO_FORMAT="application/json", LAYERS="sst/sst",
            QUERY_LAYERS="sst/sst", SRS="EPSG:4326", BBOX="-20,40,30,66", WIDTH=100, HEIGHT=52, STYLES="", X=10, Y=30)
    assert r.json()["features"][0]["properties"]["value"] == pytest.approx(float(vals[30, 10]), rel=1e-6)


def test_time_series_is_bounded(wms):
    q = dict(LAYERS="long/v", QUERY_LAYERS="long/v", CRS="CRS:84", BBOX="0,0,4,4", WIDTH=4, HEIGHT=4, STYLES="",
             I=1, J=1, INFO_FORMAT="application/json")
    r = get(wms, REQUEST="GetFeatureInfo", TIME="2000-01-01/2010-01-01", **q)
    assert r.status_code == 400 and exception_code(r) == "InvalidDimensionValue"
    assert "at most 1000" in r.text
    r = get(wms, REQUEST="GetFeatureInfo", TIME="2000-01-11/2000-01-20", **q)
    assert r.json()["features"][0]["properties"]["values"] == list(range(10, 20))


def test_getlegendgraphic(wms):
    r = get(wms, REQUEST="GetLegendGraphic", LAYER="sst/sst", FORMAT="image/png", STYLE="viridis")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = decode(r.content)
    assert img.shape[:2] == (264, 110)
    # the bar's top is the palette's last colour, its bottom the first
    col = img[:, 16, :3]
    assert (np.abs(col.astype(int) - (0xfd, 0xe7, 0x25)).sum(axis=1) < 6).any()
    assert (np.abs(col.astype(int) - (0x44, 0x01, 0x54)).sum(axis=1) < 12).any()  # under the frame line
    r = get(wms, REQUEST="GetLegendGraphic", LAYER="nope", FORMAT="image/png")
    assert exception_code(r) == "LayerNotDefined"


# ---- GDAL's WMS driver ----

def test_gdal_wms_driver_reads_a_layer(wms, tmp_path):
    desc = f"""<GDAL_WMS><Service name="WMS"><Version>1.1.1</Version>
<ServerUrl>{wms.url}/wms?</ServerUrl><SRS>EPSG:4326</SRS><ImageFormat>image/tiff</ImageFormat>
<Layers>dem_demo/elevation</Layers><Styles></Styles></Service>
<DataWindow><UpperLeftX>10.0</UpperLeftX><UpperLeftY>46.6</UpperLeftY><LowerRightX>10.512</LowerRightX>
<LowerRightY>46.088</LowerRightY><SizeX>512</SizeX><SizeY>512</SizeY></DataWindow>
<BandsCount>1</BandsCount><DataType>Float32</DataType><BlockSizeX>256</BlockSizeX><BlockSizeY>256</BlockSizeY>
</GDAL_WMS>"""
    xml = tmp_path / "wms.xml"
    xml.write_text(desc)
    out = str(tmp_path / "out.tif")
    # GDAL's WMS driver caches tiles in ./gdalwmscache unless told otherwise
    subprocess.run(["gdal_translate", "-q", str(xml), out], check=True, timeout=120,
                   env=dict(os.environ, GDAL_HTTP_TIMEOUT="60",
                            GDAL_DEFAULT_WMS_CACHE_PATH=str(tmp_path / "wmscache")))
    ds = gdal.Open(out)
    assert ds.GetGeoTransform() == pytest.approx((10.0, 0.001, 0, 46.6, 0, -0.001))
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "4326"
    got = ds.GetRasterBand(1).ReadAsArray()
    src = gdal.Open(wms_dem_path(wms))
    ref = src.GetRasterBand(1).ReadAsArray()
    np.testing.assert_array_equal(got, ref)


def wms_dem_path(wms):
    with open(wms.config) as f:
        for line in f:
            if "dem_demo.tif" in line:
                return line.split("source:")[1].strip()
    raise AssertionError("no dem in config")


def test_gdal_wms_driver_png_via_capabilities(wms, tmp_path):
    gdal.SetConfigOption("GDAL_DEFAULT_WMS_CACHE_PATH", str(tmp_path / "wmscache"))
    try:
        ds = gdal.Open(f"WMS:{wms.url}/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=sst/sst&SRS=EPSG:4326"
                       f"&BBOX=-20,40,30,66&FORMAT=image/png")
        assert ds.RasterCount in (3, 4)
        gt = ds.GetGeoTransform()
        assert gt[0] == pytest.approx(-20) and gt[3] == pytest.approx(66)
        arr = ds.GetRasterBand(1).ReadAsArray(0, 0, 64, 64, 64, 64)
        assert arr.shape == (64, 64)
        ds = None
    finally:
        gdal.SetConfigOption("GDAL_DEFAULT_WMS_CACHE_PATH", None)


# ---- Styles from the configuration ----

def test_configured_styles(wms):
    w = WebMapService(wms.url + "/wms", version="1.3.0")
    assert w["dem_demo/elevation"].styles["dem-classes"]["title"] == "DEM in two classes"
    assert "sst-warm" in w["sst/sst"].styles
    vals = tiff(dem_map(wms, "image/tiff").content)[0]
    img = decode(dem_map(wms, STYLES="dem-classes").content)
    want = np.zeros(vals.shape + (3,), np.uint8)
    want[vals < 1000] = (0, 0, 255)
    want[(vals >= 1500) & (vals <= 2000)] = (255, 255, 255)
    want[vals > 2000] = (255, 0, 0)
    np.testing.assert_array_equal(img[..., :3], want)
    # sst-warm is the layer's default: rainbow over 0..20, so a 10 degC pixel is green-ish (the middle anchor)
    q = dict(LAYERS="sst/sst", CRS="CRS:84", BBOX="-20,40,30,66", WIDTH=100, HEIGHT=52)
    sst = tiff(getmap(wms, FORMAT="image/tiff", **q).content)[0]
    a = decode(getmap(wms, **q).content)
    b = decode(getmap(wms, STYLES="sst-warm", **q).content)
    np.testing.assert_array_equal(a, b)
    j, i = np.argwhere(np.abs(sst - 10) < 0.05)[0]
    assert tuple(a[j, i][:3]) == pytest.approx((0, 255, 0), abs=8)


def test_bad_style_configuration_is_refused(tmp_path, demo_dir):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(server_config(demo_dir) + """styles:
  - name: broken
    layers: [sst/sst]
    range: "5,1"
""")
    from conftest import NADIR
    r = subprocess.run([NADIR, "check-config", str(cfg)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0
    assert "range" in (r.stderr + r.stdout) and "min < max" in (r.stderr + r.stdout)


def test_conformance_script(wms):
    """conformance/wms/ets_wms13.py (the local ets-wms13 reproduction) passes against this server."""
    script = os.path.join(os.path.dirname(__file__), "../../conformance/wms/ets_wms13.py")
    r = subprocess.run(["/usr/bin/python3", script, "--url", wms.url + "/wms"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert " 0 failed" in r.stdout


def test_max_size_map(wms):
    r = getmap(wms, LAYERS="sst/sst", CRS="CRS:84", BBOX="-20,40,30,66", WIDTH=4096, HEIGHT=4096)
    assert r.status_code == 200
    assert decode(r.content).shape[:2] == (4096, 4096)
    # the next small map still works (per-thread buffers were given back, not reused wrongly)
    small = getmap(wms, LAYERS="sst/sst", CRS="CRS:84", BBOX="-20,40,30,66", WIDTH=100, HEIGHT=52, FORMAT="image/tiff")
    assert np.isfinite(tiff(small.content)[0]).any()


# ---- ELEVATION ----

def test_elevation_dimension(wms):
    """A NetCDF with depths 0, 10, 50 m: capabilities list them (default the first), GetMap and GetFeatureInfo pick the
    nearest level, values outside the axis or not numbers are InvalidDimensionValue."""
    root = ET.fromstring(get(wms, REQUEST="GetCapabilities").content)
    ns = "{http://www.opengis.net/wms}"
    layer = [l for l in root.iter(ns + "Layer") if l.findtext(ns + "Name") == "ocean3d/temp"][0]
    dim = [d for d in layer.findall(ns + "Dimension") if d.get("name") == "elevation"][0]
    assert [float(v) for v in dim.text.split(",")] == DEPTHS and float(dim.get("default")) == 0 and dim.get("units") == "m"
    root = ET.fromstring(get(wms, VERSION="1.1.1", REQUEST="GetCapabilities").content)
    layer = [l for l in root.iter("Layer") if l.findtext("Name") == "ocean3d/temp"][0]
    assert [e.get("name") for e in layer.findall("Extent")] == ["elevation"]
    q = dict(LAYERS="ocean3d/temp", CRS="CRS:84", BBOX="-20,30,20,50", WIDTH=40, HEIGHT=20, FORMAT="image/tiff")
    lon = np.arange(40)
    for elev, level in [(None, 0), ("0", 0), ("10", 1), ("12", 1), ("45", 2), ("50", 2)]:
        extra = {"ELEVATION": elev} if elev else {}
        vals = tiff(getmap(wms, **q, **extra).content)[0]
        np.testing.assert_allclose(vals, np.broadcast_to(20 - 5 * level + 0.1 * lon, (20, 40)), atol=1e-5)
    for bad in ("5000", "-900", "deep"):
        r = getmap(wms, ELEVATION=bad, **q)
        assert r.status_code == 400 and exception_code(r) == "InvalidDimensionValue", bad
    r = get(wms, REQUEST="GetFeatureInfo", LAYERS="ocean3d/temp", QUERY_LAYERS="ocean3d/temp", STYLES="", CRS="CRS:84",
            BBOX="-20,30,20,50", WIDTH=40, HEIGHT=20, I=5, J=3, ELEVATION="50", INFO_FORMAT="application/json")
    assert r.json()["features"][0]["properties"]["value"] == pytest.approx(10 + 0.1 * 5, abs=1e-5)
