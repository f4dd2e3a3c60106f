"""WCS 2.0.1 and 1.0.0 against a real server: documents, GetCoverage values and georeferencing equal to
gdal_translate -projwin / gdalwarp of the same window, NetCDF output, every exception, real clients."""
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from osgeo import gdal

from conftest import Server, server_config

gdal.UseExceptions()

NS = {
    "wcs": "http://www.opengis.net/wcs/2.0",
    "ows": "http://www.opengis.net/ows/2.0",
    "gml": "http://www.opengis.net/gml/3.2",
    "gmlcov": "http://www.opengis.net/gmlcov/1.0",
    "swe": "http://www.opengis.net/swe/2.0",
    "wcsgs": "http://www.geoserver.org/wcsgs/2.0",
    "rgrid": "http://www.opengis.net/gml/3.3/rgrid",
}


@pytest.fixture(scope="module")
def wcs(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("wcs")
    data_dir = work / "data"
    cfg = server_config(demo_dir, data_dir=str(data_dir), max_coverage_bytes="64MiB")
    s = Server(str(work), cfg, name="wcs")
    s.data_dir = str(data_dir)
    s.demo = demo_dir
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def get(s, **params):
    return requests.get(s.url + "/wcs", params=params, timeout=60)


def cov(s, *subsets, **params):
    """GetCoverage 2.0.1 with repeated SUBSET parameters."""
    q = [("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage")]
    q += [(k.upper(), v) for k, v in params.items()]
    q += [("SUBSET", x) for x in subsets]
    return requests.get(s.url + "/wcs", params=q, timeout=60)


def save(tmp_path, r, name="out.tif"):
    assert r.status_code == 200, r.text[:1000]
    p = tmp_path / name
    p.write_bytes(r.content)
    return str(p)


def same_raster(got, ref):
    a, b = gdal.Open(got), gdal.Open(ref)
    assert (a.RasterXSize, a.RasterYSize, a.RasterCount) == (b.RasterXSize, b.RasterYSize, b.RasterCount)
    assert a.GetGeoTransform() == b.GetGeoTransform()
    assert a.GetSpatialRef().IsSame(b.GetSpatialRef())
    for i in range(1, a.RasterCount + 1):
        ba, bb = a.GetRasterBand(i), b.GetRasterBand(i)
        assert ba.DataType == bb.DataType
        assert ba.GetNoDataValue() == bb.GetNoDataValue()
        np.testing.assert_array_equal(ba.ReadAsArray(), bb.ReadAsArray())


def exception(r):
    root = ET.fromstring(r.content)
    e = root.find("ows:Exception", NS)
    return e.get("exceptionCode"), e.get("locator")


def no_files_left(s):
    """No coverage file of ours (wcs-*) in server.data_dir, which other services share."""
    return not os.path.isdir(s.data_dir) or not [f for f in os.listdir(s.data_dir) if f.startswith("wcs-")]


# ---- documents ----

def test_capabilities(wcs):
    r = get(wcs, SERVICE="WCS", REQUEST="GetCapabilities")
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.tag == "{%s}Capabilities" % NS["wcs"] and root.get("version") == "2.0.1"
    ids = [e.text for e in root.findall(".//wcs:CoverageSummary/wcs:CoverageId", NS)]
    # a coverage per dataset (its bands/variables as the range), and per variable where there are several
    assert ids == ["sst", "s2_demo", "s2_demo.B02", "s2_demo.B03", "s2_demo.B04", "s2_demo.B08", "dem_demo"]
    formats = [e.text for e in root.findall(".//wcs:ServiceMetadata/wcs:formatSupported", NS)]
    assert "image/tiff" in formats and "application/netcdf" in formats
    sst = root.find(".//wcs:CoverageSummary[wcs:CoverageId='sst']", NS)
    lower = [float(v) for v in sst.find("ows:WGS84BoundingBox/ows:LowerCorner", NS).text.split()]
    upper = [float(v) for v in sst.find("ows:WGS84BoundingBox/ows:UpperCorner", NS).text.split()]
    assert lower == [-20, 40] and upper == [30, 66]
    profiles = [e.text for e in root.findall(".//ows:Profile", NS)]
    assert "http://www.opengis.net/spec/WCS_service-extension_scaling/1.0/conf/scaling" in profiles


def test_describe_geographic_with_time(wcs):
    """Time is a grid axis of its own: a 3-D ReferenceableGridCoverage in the compound CRS EPSG:4326 + AnsiDate,
    the time positions as the coefficients of an irregular axis (rasdaman's form, read by OWSLib and GDAL)."""
    r = get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage", COVERAGEID="sst")
    assert r.status_code == 200
    d = ET.fromstring(r.content).find("wcs:CoverageDescription", NS)
    env = d.find("gml:boundedBy/gml:Envelope", NS)
    assert env.get("srsName") == ("http://www.opengis.net/def/crs-compound?1=http://www.opengis.net/def/crs/EPSG/0/4326"
                                  "&2=http://www.opengis.net/def/crs/OGC/0/AnsiDate")
    assert env.get("axisLabels") == "Lat Long ansi" and env.get("srsDimension") == "3"
    assert env.find("gml:lowerCorner", NS).text == '40 -20 "2025-01-01T00:00:00Z"'
    assert env.find("gml:upperCorner", NS).text == '66 30 "2025-01-31T00:00:00Z"'
    times = [e.text for e in d.findall(".//wcsgs:TimeDomain/gml:TimeInstant/gml:timePosition", NS)]
    assert len(times) == 31 and times[4] == "2025-01-05T00:00:00Z"
    grid = d.find("gml:domainSet/rgrid:ReferenceableGridByVectors", NS)
    assert grid.get("dimension") == "3"
    assert grid.find("gml:limits/gml:GridEnvelope/gml:high", NS).text == "199 103 30"
    assert grid.find("gml:axisLabels", NS).text == "Long Lat ansi"
    assert grid.find("rgrid:origin/gml:Point/gml:pos", NS).text == '65.875 -19.875 "2025-01-01T00:00:00Z"'
    axes = {a.find("rgrid:gridAxesSpanned", NS).text: a for a in grid.findall("rgrid:generalGridAxis/rgrid:GeneralGridAxis", NS)}
    assert list(axes) == ["Long", "Lat", "ansi"]
    assert axes["Long"].find("rgrid:offsetVector", NS).text == "0 0.25 0"
    assert axes["Lat"].find("rgrid:offsetVector", NS).text == "-0.25 0 0"
    assert not axes["Lat"].find("rgrid:coefficients", NS).text
    coeffs = axes["ansi"].find("rgrid:coefficients", NS).text.split()
    assert len(coeffs) == 31 and coeffs[4] == '"2025-01-05T00:00:00Z"'
    assert axes["ansi"].find("rgrid:sequenceRule", NS).get("axisOrder") == "+1"
    field = d.find("gmlcov:rangeType/swe:DataRecord/swe:field", NS)
    assert field.get("name") == "sst"
    assert field.find("swe:Quantity/swe:uom", NS).get("code") == "degree_Celsius"
    assert field.find(".//swe:nilValue", NS).text == "-32768"
    sp = d.find("wcs:ServiceParameters", NS)
    assert sp.find("wcs:CoverageSubtype", NS).text == "ReferenceableGridCoverage"
    assert sp.find("wcs:nativeFormat", NS).text == "image/tiff"
    # a 2-D coverage stays a RectifiedGridCoverage
    d = ET.fromstring(get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage", COVERAGEID="dem_demo").content)
    assert d.find(".//gml:domainSet/gml:RectifiedGrid", NS) is not None
    caps = ET.fromstring(get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCapabilities").content)
    sub = {c.find("wcs:CoverageId", NS).text: c.find("wcs:CoverageSubtype", NS).text
           for c in caps.findall(".//wcs:CoverageSummary", NS)}
    assert sub["sst"] == "ReferenceableGridCoverage" and sub["dem_demo"] == "RectifiedGridCoverage"


def test_time_axis_whole_when_not_subset(wcs, tmp_path):
    """An axis not subset is whole (WCS 2.0 core), time included: 31 days, one band each; the 'ansi' label and the
    dataset's own 'time' both name it."""
    got = gdal.Open(save(tmp_path, cov(wcs, "Lat(45,50)", "Long(-10,0)", COVERAGEID="sst")))
    assert got.RasterCount == 31
    ref = gdal.Open(f'NETCDF:"{wcs.demo}/sst/sst_20250105.nc":sst')
    win = gdal.Translate("/vsimem/w.tif", ref, projWin=[-10, 50, 0, 45])
    np.testing.assert_array_equal(got.GetRasterBand(5).ReadAsArray(), win.ReadAsArray())
    one = gdal.Open(save(tmp_path, cov(wcs, "Lat(45,50)", "Long(-10,0)", 'ansi("2025-01-05")', COVERAGEID="sst"),
                         "one.tif"))
    np.testing.assert_array_equal(one.ReadAsArray(), win.ReadAsArray())


def test_describe_projected_bands(wcs):
    r = get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage", COVERAGEID="s2_demo")
    d = ET.fromstring(r.content).find("wcs:CoverageDescription", NS)
    env = d.find("gml:boundedBy/gml:Envelope", NS)
    assert env.get("srsName").endswith("/EPSG/0/32631") and env.get("axisLabels") == "E N"
    ds = gdal.Open(os.path.join(wcs.demo, "s2/s2_demo_10m.tif"))
    gt = ds.GetGeoTransform()
    lo = [float(v) for v in env.find("gml:lowerCorner", NS).text.split()]
    assert lo == [gt[0], gt[3] + ds.RasterYSize * gt[5]]
    names = [f.get("name") for f in d.findall(".//swe:field", NS)]
    assert len(names) == ds.RasterCount == 4


# ---- GetCoverage GeoTIFF: values and georeferencing as gdal_translate / gdalwarp ----

def test_trim_projected_equals_gdal_translate(wcs, tmp_path):
    src = os.path.join(wcs.demo, "s2/s2_demo_10m.tif")
    got = save(tmp_path, cov(wcs, "E(381005,384003)", "N(4826000,4829000)", COVERAGEID="s2_demo"))
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[381005, 4829000, 384003, 4826000])
    same_raster(got, ref)
    info = gdal.Info(got, format="json")
    assert info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"] == "DEFLATE"
    ds = gdal.Open(got)
    assert ds.GetRasterBand(1).GetBlockSize() == [256, 256]
    assert no_files_left(wcs)


def test_trim_geographic_float_equals_gdal_translate(wcs, tmp_path):
    src = os.path.join(wcs.demo, "dem/dem_demo.tif")
    ds = gdal.Open(src)
    gt = ds.GetGeoTransform()
    x0, y1 = gt[0] + 37.3 * gt[1], gt[3] + 12.2 * gt[5]
    x1, y0 = gt[0] + 301.6 * gt[1], gt[3] + 250.1 * gt[5]
    got = save(tmp_path, cov(wcs, f"Long({x0!r},{x1!r})", f"Lat({y0!r},{y1!r})", COVERAGEID="dem_demo"))
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[x0, y1, x1, y0])
    same_raster(got, ref)


def test_time_slice_picks_the_right_file(wcs, tmp_path):
    got = save(tmp_path, cov(wcs, "Lat(45,50)", "Long(-10,0)", 'time("2025-01-05T00:00:00Z")', COVERAGEID="sst"))
    src = f'NETCDF:"{wcs.demo}/sst/sst_20250105.nc":sst'
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[-10, 50, 0, 45], outputSRS="EPSG:4326")  # CF without grid_mapping
    same_raster(got, ref)
    ds = gdal.Open(got)
    b = ds.GetRasterBand(1)
    assert b.GetScale() == pytest.approx(0.01) and b.GetNoDataValue() == -32768
    # another day differs: the slice really selected day 5
    other = str(tmp_path / "other.tif")
    gdal.Translate(other, f'NETCDF:"{wcs.demo}/sst/sst_20250106.nc":sst', projWin=[-10, 50, 0, 45])
    assert not np.array_equal(gdal.Open(other).ReadAsArray(), b.ReadAsArray())


def test_time_trim_gives_a_band_per_day(wcs, tmp_path):
    got = save(tmp_path, cov(wcs, "Lat(45,50)", "Long(-10,0)", "time(2025-01-03,2025-01-05T12:00:00Z)",
                             COVERAGEID="sst"))
    ds = gdal.Open(got)
    assert ds.RasterCount == 3
    for i, day in enumerate((3, 4, 5)):
        ref = gdal.Translate("/vsimem/r.tif", f'NETCDF:"{wcs.demo}/sst/sst_202501{day:02d}.nc":sst',
                             projWin=[-10, 50, 0, 45])
        np.testing.assert_array_equal(ds.GetRasterBand(i + 1).ReadAsArray(), ref.ReadAsArray())
        assert ds.GetRasterBand(i + 1).GetDescription() == f"sst 2025-01-{day:02d}T00:00:00Z"


def test_slice_on_a_horizontal_axis(wcs, tmp_path):
    got = save(tmp_path, cov(wcs, "Long(5.1)", "Lat(45,50)", 'time("2025-01-10")', COVERAGEID="sst"))
    ds = gdal.Open(got)
    assert (ds.RasterXSize, ds.RasterYSize) == (1, 20)
    assert ds.GetGeoTransform()[0] == 5.0
    ref = gdal.Translate("/vsimem/s.tif", f'NETCDF:"{wcs.demo}/sst/sst_20250110.nc":sst', projWin=[5, 50, 5.25, 45])
    np.testing.assert_array_equal(ds.ReadAsArray(), ref.ReadAsArray())


def test_range_subset(wcs, tmp_path):
    src = os.path.join(wcs.demo, "s2/s2_demo_10m.tif")
    names = [f"band{i}" for i in range(1, 5)]
    d = ET.fromstring(get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage",
                          COVERAGEID="s2_demo").content)
    names = [f.get("name") for f in d.findall(".//swe:field", NS)]
    got = save(tmp_path, cov(wcs, "E(381000,382000)", "N(4828000,4829000)", COVERAGEID="s2_demo",
                             RANGESUBSET=f"{names[3]},{names[0]}:{names[1]}"))
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[381000, 4829000, 382000, 4828000], bandList=[4, 1, 2])
    same_raster(got, ref)


def test_scaling_equals_gdal_translate_outsize(wcs, tmp_path):
    src = os.path.join(wcs.demo, "dem/dem_demo.tif")
    gt = gdal.Open(src).GetGeoTransform()
    x0, x1 = gt[0] + 100 * gt[1], gt[0] + 300 * gt[1]
    y1, y0 = gt[3] + 50 * gt[5], gt[3] + 250 * gt[5]
    win = [f"Long({x0!r},{x1!r})", f"Lat({y0!r},{y1!r})"]
    for params, size in (({"SCALEFACTOR": "2"}, (100, 100)), ({"SCALESIZE": "i(50),j(40)"}, (50, 40)),
                         ({"SCALEAXES": "Long(4),Lat(2)"}, (50, 100)), ({"SCALEEXTENT": "i(0:79),j(0:59)"}, (80, 60))):
        got = save(tmp_path, cov(wcs, *win, COVERAGEID="dem_demo", **params))
        ref = str(tmp_path / "ref.tif")
        gdal.Translate(ref, src, projWin=[x0, y1, x1, y0], width=size[0], height=size[1], resampleAlg="near")
        same_raster(got, ref)
    got = save(tmp_path, cov(wcs, *win, COVERAGEID="dem_demo", SCALEFACTOR="2",
                             INTERPOLATION="http://www.opengis.net/def/interpolation/OGC/1/linear"))
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[x0, y1, x1, y0], width=100, height=100, resampleAlg="bilinear")
    same_raster(got, ref)


def test_outputcrs_equals_gdalwarp(wcs, tmp_path):
    src = os.path.join(wcs.demo, "s2/s2_demo_10m.tif")
    r = cov(wcs, "Long(1.55,1.6)", "Lat(43.55,43.6)", COVERAGEID="s2_demo",
            SUBSETTINGCRS="http://www.opengis.net/def/crs/EPSG/0/4326",
            OUTPUTCRS="http://www.opengis.net/def/crs/EPSG/0/4326", SCALESIZE="i(120),j(96)",
            INTERPOLATION="http://www.opengis.net/def/interpolation/OGC/1/cubic")
    got = save(tmp_path, r)
    ref = str(tmp_path / "ref.tif")
    gdal.Warp(ref, src, dstSRS="EPSG:4326", outputBounds=[1.55, 43.55, 1.6, 43.6], width=120, height=96,
              resampleAlg="cubic")
    same_raster(got, ref)


def test_outputcrs_3857_default_size(wcs, tmp_path):
    src = os.path.join(wcs.demo, "dem/dem_demo.tif")
    got = save(tmp_path, cov(wcs, COVERAGEID="dem_demo", OUTPUTCRS="EPSG:3857"))
    ds = gdal.Open(got)
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "3857"
    gt = ds.GetGeoTransform()
    bounds = [gt[0], gt[3] + ds.RasterYSize * gt[5], gt[0] + ds.RasterXSize * gt[1], gt[3]]
    ref = str(tmp_path / "ref.tif")
    gdal.Warp(ref, src, dstSRS="EPSG:3857", outputBounds=bounds, width=ds.RasterXSize, height=ds.RasterYSize)
    same_raster(got, ref)


def test_lat_long_subset_on_projected_coverage(wcs, tmp_path):
    got = save(tmp_path, cov(wcs, "Long(1.55,1.57)", "Lat(43.55,43.56)", COVERAGEID="s2_demo"))
    ds = gdal.Open(got)
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "32631"
    assert 100 < ds.RasterXSize < 220 and 80 < ds.RasterYSize < 160


def test_cog_and_png(wcs, tmp_path):
    got = save(tmp_path, cov(wcs, "E(381000,384000)", "N(4826000,4829000)", COVERAGEID="s2_demo",
                             FORMAT="image/tiff;application=cog"))
    info = gdal.Info(got, format="json")
    assert info["metadata"]["IMAGE_STRUCTURE"].get("LAYOUT") == "COG"
    r = cov(wcs, COVERAGEID="s2_demo", FORMAT="image/png")
    assert r.status_code == 400 and exception(r)[0] == "InvalidParameterValue" or exception(r)[0] == "InvalidFormat"


# ---- exceptions: every code, nothing on disk ----

@pytest.mark.parametrize("params,subsets,code,status", [
    ({"COVERAGEID": None}, [], "MissingParameterValue", 400),
    ({"COVERAGEID": "nope"}, [], "NoSuchCoverage", 404),
    ({}, ["foo(1,2)"], "InvalidAxisLabel", 404),
    ({}, ["Long(1,2)", "Long(3,4)"], "InvalidAxisLabel", 404),
    ({}, ["Long(10,5)"], "InvalidSubsetting", 404),
    ({}, ["Long(100,120)"], "InvalidSubsetting", 404),
    ({}, ["Long(a,b)"], "InvalidSubsetting", 404),
    ({}, ["Long[1,2]"], "InvalidSubsetting", 404),
    ({"COVERAGEID": "sst"}, ['time("1990-01-01")'], "InvalidSubsetting", 404),
    ({"COVERAGEID": "sst"}, ['time("2025-02-03","2025-02-05")'], "InvalidSubsetting", 404),
    ({"COVERAGEID": "sst"}, ['time("2025-01-09","2025-01-05")'], "InvalidSubsetting", 404),
    ({"COVERAGEID": "sst"}, ['time("yesterday")'], "InvalidSubsetting", 404),
    ({"SUBSETTINGCRS": "EPSG:999999"}, ["Long(1,2)"], "SubsettingCrs-NotSupported", 400),
    ({"SUBSETTINGCRS": "nonsense"}, ["Long(1,2)"], "SubsettingCrs-NotSupported", 400),
    ({"OUTPUTCRS": "http://www.opengis.net/def/crs/EPSG/0/1"}, [], "OutputCrs-NotSupported", 400),
    ({"OUTPUTCRS": "EPSG:5703"}, [], "OutputCrs-NotSupported", 400),  # a vertical CRS
    ({"OUTPUTCRS": "EPSG:4978"}, [], "OutputCrs-NotSupported", 400),  # geocentric
    ({"SUBSETTINGCRS": "EPSG:5703"}, ["Long(1,2)"], "SubsettingCrs-NotSupported", 400),
    ({"SCALEFACTOR": "0"}, [], "InvalidScaleFactor", 400),
    ({"SCALEFACTOR": "-2"}, [], "InvalidScaleFactor", 400),
    ({"SCALEFACTOR": "abc"}, [], "InvalidScaleFactor", 400),
    ({"SCALEAXES": "Long(0)"}, [], "InvalidScaleFactor", 400),
    ({"SCALEAXES": "foo(2)"}, [], "InvalidAxisLabel", 404),
    ({"SCALESIZE": "i(0),j(10)"}, [], "InvalidExtent", 400),
    ({"SCALESIZE": "i(99999999),j(10)"}, [], "InvalidExtent", 400),
    ({"SCALEEXTENT": "i(10:5)"}, [], "InvalidExtent", 400),
    ({"SCALESIZE": "i(1000000),j(1000000)"}, [], "ResponseTooLarge", 413),
    ({"RANGESUBSET": "nosuchband"}, [], "NoSuchField", 400),
    ({"INTERPOLATION": "http://www.opengis.net/def/interpolation/OGC/1/lost-area"}, [],
     "InterpolationMethodNotSupported", 400),
    ({"FORMAT": "image/jpeg2000"}, [], "InvalidParameterValue", 400),
])
def test_getcoverage_exceptions(wcs, params, subsets, code, status):
    p = {"COVERAGEID": "dem_demo"}
    p.update(params)
    p = {k: v for k, v in p.items() if v is not None}
    r = cov(wcs, *subsets, **p)
    assert r.status_code == status, r.text
    assert exception(r)[0] == code
    assert no_files_left(wcs)


def test_size_limit_checked_before_work(wcs):
    # every day of the sst aggregation at 20x would be far over 64 MiB
    r = cov(wcs, "time(*,*)", COVERAGEID="sst", SCALEFACTOR="0.05")
    assert r.status_code == 413 and exception(r)[0] == "ResponseTooLarge"
    assert no_files_left(wcs)


@pytest.mark.parametrize("params,code,locator", [
    ({"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "DescribeCoverage"}, "MissingParameterValue", "coverageId"),
    ({"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "DescribeCoverage", "COVERAGEID": "sst,nope"},
     "NoSuchCoverage", "nope"),
    ({"SERVICE": "WCS", "REQUEST": "DescribeCoverage", "COVERAGEID": "sst"}, "MissingParameterValue", "version"),
    ({"SERVICE": "WCS", "VERSION": "9.9.9", "REQUEST": "GetCoverage", "COVERAGEID": "sst"}, "InvalidParameterValue",
     "version"),
    ({"SERVICE": "WCS", "VERSION": "2.0.1"}, "MissingParameterValue", "request"),
    ({"SERVICE": "WMS", "REQUEST": "GetCapabilities"}, "InvalidParameterValue", "service"),
    ({"SERVICE": "WCS", "REQUEST": "GetCapabilities", "ACCEPTVERSIONS": "3.0.0"}, "VersionNegotiationFailed",
     "acceptversions"),
    ({"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "Transaction"}, "OperationNotSupported", "request"),
])
def test_request_exceptions(wcs, params, code, locator):
    r = get(wcs, **params)
    assert r.status_code in (400, 404, 501)
    assert exception(r) == (code, locator)


# ---- NetCDF output ----

def test_netcdf_time_trim_equals_source_slice(wcs, tmp_path):
    import xarray as xr
    p = save(tmp_path, cov(wcs, "Lat(45,50)", "Long(-10,0)", "time(2025-01-03,2025-01-05)", COVERAGEID="sst",
                           FORMAT="application/netcdf"), "out.nc")
    days = [xr.open_dataset(f"{wcs.demo}/sst/sst_202501{d:02d}.nc") for d in (3, 4, 5)]
    with xr.open_dataset(p) as got, xr.concat(days, "time") as src:
        ref = src.sst.sel(lat=slice(45, 50), lon=slice(-10, 0))
        assert got.sst.dims == ("time", "lat", "lon") and got.sst.shape == ref.shape == (3, 20, 40)
        np.testing.assert_array_equal(got.time.values, ref.time.values)
        np.testing.assert_array_equal(got.lat.values, ref.lat.values)
        np.testing.assert_array_equal(got.lon.values, ref.lon.values)
        np.testing.assert_array_equal(got.sst.values, ref.values)  # NaN where land, decoded the same way
        assert got.sst.attrs["units"] == "degree_Celsius"
        assert got.sst.attrs["standard_name"] == "sea_surface_temperature"
        assert got.sst.encoding["scale_factor"] == pytest.approx(0.01)
        assert got.time.encoding["units"] == "days since 2025-01-01 00:00:00"
        assert got.time.encoding["calendar"] == "standard"
        assert got.attrs["Conventions"] == "CF-1.8" and got.attrs["institution"] == "nadir project"
        assert got.crs.attrs["grid_mapping_name"] == "latitude_longitude"
    assert no_files_left(wcs)


def test_netcdf_raw_values_and_time_slice(wcs, tmp_path):
    from netCDF4 import Dataset
    p = save(tmp_path, cov(wcs, "Lat(60,62)", "Long(2,5)", 'time("2025-01-20")', COVERAGEID="sst",
                           FORMAT="application/netcdf"), "out.nc")
    with Dataset(p) as got, Dataset(f"{wcs.demo}/sst/sst_20250120.nc") as src:
        got.set_auto_maskandscale(False)
        src.set_auto_maskandscale(False)
        lat, lon = src["lat"][:], src["lon"][:]
        j = np.where((lat > 60) & (lat < 62))[0]
        i = np.where((lon > 2) & (lon < 5))[0]
        np.testing.assert_array_equal(got["sst"][:], src["sst"][:, j[0]:j[-1] + 1, i[0]:i[-1] + 1])
        assert got["time"][:].tolist() == [19.0]


def test_netcdf_projected_raster(wcs, tmp_path):
    from netCDF4 import Dataset
    p = save(tmp_path, cov(wcs, "E(381000,382000)", "N(4828000,4829000)", COVERAGEID="s2_demo",
                           FORMAT="application/netcdf", RANGESUBSET="2"), "out.nc")
    src = gdal.Open(os.path.join(wcs.demo, "s2/s2_demo_10m.tif"))
    ref = src.GetRasterBand(2).ReadAsArray(100, 100, 100, 100)
    with Dataset(p) as got:
        got.set_auto_maskandscale(False)
        names = [v for v in got.variables if v not in ("crs", "x", "y")]
        assert len(names) == 1
        np.testing.assert_array_equal(got[names[0]][:], ref)
        assert got["x"][0] == 381005 and got["y"][0] == 4828995
        assert got["crs"].grid_mapping_name == "transverse_mercator"
        assert got["crs"].longitude_of_central_meridian == 3


def test_netcdf_scaled_and_reprojected(wcs, tmp_path):
    """Resampled NetCDF holds the values of the GeoTIFF answer to the same request, on its grid."""
    from netCDF4 import Dataset
    for extra in ({"SCALEFACTOR": "2"}, {"OUTPUTCRS": "EPSG:3857", "SCALESIZE": "i(60),j(50)"}):
        q = dict(COVERAGEID="sst", **extra)
        subs = ("Lat(45,50)", "Long(-10,0)", "time(2025-01-03,2025-01-04)")
        tif = gdal.Open(save(tmp_path, cov(wcs, *subs, **q)))
        p = save(tmp_path, cov(wcs, *subs, FORMAT="application/netcdf", **q), "o.nc")
        with Dataset(p) as nc:
            nc.set_auto_maskandscale(False)
            v = nc["sst"]
            assert v.dimensions[0] == "time" and v.shape == (2, tif.RasterYSize, tif.RasterXSize)
            assert v.scale_factor == pytest.approx(0.01) and v._FillValue == -32768
            np.testing.assert_array_equal(v[:], tif.ReadAsArray())
            gt = tif.GetGeoTransform()
            x, y = nc.variables[v.dimensions[2]][:], nc.variables[v.dimensions[1]][:]
            assert x[0] == pytest.approx(gt[0] + gt[1] / 2) and y[0] == pytest.approx(gt[3] + gt[5] / 2)
            assert nc["time"][:].tolist() == [2.0, 3.0]
            if "OUTPUTCRS" in extra:
                assert v.dimensions[1:] == ("y", "x") and "Pseudo-Mercator" in nc["crs"].crs_wkt
        tif = None
    assert no_files_left(wcs)


# ---- WCS 1.0.0 ----

NS10 = {"wcs": "http://www.opengis.net/wcs", "gml": "http://www.opengis.net/gml"}


def test_wcs10_documents(wcs):
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCapabilities")
    root = ET.fromstring(r.content)
    assert root.tag == "{http://www.opengis.net/wcs}WCS_Capabilities" and root.get("version") == "1.0.0"
    assert [e.text for e in root.findall(".//wcs:CoverageOfferingBrief/wcs:name", NS10)] == ["sst", "s2_demo", "s2_demo.B02", "s2_demo.B03", "s2_demo.B04", "s2_demo.B08", "dem_demo"]
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="DescribeCoverage", COVERAGE="sst")
    co = ET.fromstring(r.content).find("wcs:CoverageOffering", NS10)
    grid = co.find(".//gml:RectifiedGrid", NS10)
    assert grid.find("gml:origin/gml:pos", NS10).text == "-19.875 65.875"
    assert [e.text for e in grid.findall("gml:offsetVector", NS10)] == ["0.25 0", "0 -0.25"]
    assert len(co.findall(".//wcs:temporalDomain/gml:timePosition", NS10)) == 31
    assert co.find(".//wcs:nativeCRSs", NS10).text == "EPSG:4326"


def test_wcs10_getcoverage_bbox_width_height(wcs, tmp_path):
    src = os.path.join(wcs.demo, "dem/dem_demo.tif")
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCoverage", COVERAGE="dem_demo", CRS="EPSG:4326",
            BBOX="10.1,46.2,10.3,46.4", WIDTH="200", HEIGHT="200", FORMAT="GeoTIFF")
    got = save(tmp_path, r)
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[10.1, 46.4, 10.3, 46.2])
    same_raster(got, ref)
    # RESX/RESY at twice the cell size: half the grid, as gdal_translate -outsize
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCoverage", COVERAGE="dem_demo", CRS="EPSG:4326",
            BBOX="10.1,46.2,10.3,46.4", RESX="0.002", RESY="0.002", FORMAT="image/tiff")
    got = save(tmp_path, r)
    gdal.Translate(ref, src, projWin=[10.1, 46.4, 10.3, 46.2], width=100, height=100)
    same_raster(got, ref)


def test_wcs10_time_and_response_crs(wcs, tmp_path):
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCoverage", COVERAGE="sst", CRS="EPSG:4326",
            BBOX="-10,45,0,50", WIDTH="40", HEIGHT="20", TIME="2025-01-07", FORMAT="GeoTIFF")
    got = save(tmp_path, r)
    ref = gdal.Translate("/vsimem/t.tif", f'NETCDF:"{wcs.demo}/sst/sst_20250107.nc":sst', projWin=[-10, 50, 0, 45])
    ds = gdal.Open(got)
    np.testing.assert_array_equal(ds.ReadAsArray(), ref.ReadAsArray())
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCoverage", COVERAGE="dem_demo", CRS="EPSG:4326",
            RESPONSE_CRS="EPSG:3857", BBOX="10.1,46.2,10.3,46.4", WIDTH="100", HEIGHT="120", FORMAT="GeoTIFF")
    got = save(tmp_path, r, "w.tif")
    ds = gdal.Open(got)
    assert ds.GetSpatialRef().GetAuthorityCode(None) == "3857" and (ds.RasterXSize, ds.RasterYSize) == (100, 120)
    gt = ds.GetGeoTransform()
    ref = gdal.Warp("/vsimem/w.tif", os.path.join(wcs.demo, "dem/dem_demo.tif"), dstSRS="EPSG:3857", width=100,
                    height=120, outputBounds=[gt[0], gt[3] + 120 * gt[5], gt[0] + 100 * gt[1], gt[3]])
    np.testing.assert_array_equal(ds.ReadAsArray(), ref.ReadAsArray())


@pytest.mark.parametrize("params,code", [
    ({"COVERAGE": None}, "MissingParameterValue"),
    ({"COVERAGE": "nope"}, "InvalidParameterValue"),
    ({"CRS": None}, "MissingParameterValue"),
    ({"CRS": "EPSG:0"}, "InvalidCRS"),
    ({"BBOX": "1,2,3"}, "InvalidParameterValue"),
    ({"BBOX": "10.3,46.2,10.1,46.4"}, "InvalidParameterValue"),
    ({"WIDTH": None, "HEIGHT": None}, "MissingParameterValue"),
    ({"WIDTH": "-5"}, "InvalidParameterValue"),
    ({"FORMAT": "image/bmp"}, "InvalidFormat"),
    ({"TIME": "2025-01-01"}, "InvalidParameterValue"),
])
def test_wcs10_exceptions(wcs, params, code):
    p = {"SERVICE": "WCS", "VERSION": "1.0.0", "REQUEST": "GetCoverage", "COVERAGE": "dem_demo", "CRS": "EPSG:4326",
         "BBOX": "10.1,46.2,10.3,46.4", "WIDTH": "10", "HEIGHT": "10", "FORMAT": "GeoTIFF"}
    p.update(params)
    r = get(wcs, **{k: v for k, v in p.items() if v is not None})
    assert r.status_code >= 400
    root = ET.fromstring(r.content)
    assert root.tag == "{http://www.opengis.net/ogc}ServiceExceptionReport"
    assert root.find("{http://www.opengis.net/ogc}ServiceException").get("code") == code
    assert no_files_left(wcs)


# ---- XML POST ----

POST_GC = """<?xml version="1.0" encoding="UTF-8"?>
<wcs:GetCoverage xmlns:wcs="http://www.opengis.net/wcs/2.0" xmlns:scal="http://www.opengis.net/wcs/scaling/1.0"
  xmlns:rsub="http://www.opengis.net/wcs/range-subsetting/1.0" xmlns:int="http://www.opengis.net/wcs/interpolation/1.0"
  service="WCS" version="2.0.1">
  <wcs:Extension>
    <rsub:RangeSubset><rsub:RangeItem><rsub:RangeComponent>{band}</rsub:RangeComponent></rsub:RangeItem></rsub:RangeSubset>
    <scal:ScaleToSize>
      <scal:TargetAxisSize><scal:axis>i</scal:axis><scal:targetSize>50</scal:targetSize></scal:TargetAxisSize>
      <scal:TargetAxisSize><scal:axis>j</scal:axis><scal:targetSize>40</scal:targetSize></scal:TargetAxisSize>
    </scal:ScaleToSize>
    <int:Interpolation><int:globalInterpolation>http://www.opengis.net/def/interpolation/OGC/1/linear</int:globalInterpolation></int:Interpolation>
  </wcs:Extension>
  <wcs:CoverageId>s2_demo</wcs:CoverageId>
  <wcs:DimensionTrim><wcs:Dimension>E</wcs:Dimension><wcs:TrimLow>381000</wcs:TrimLow><wcs:TrimHigh>383000</wcs:TrimHigh></wcs:DimensionTrim>
  <wcs:DimensionTrim><wcs:Dimension>N</wcs:Dimension><wcs:TrimLow>4827000</wcs:TrimLow><wcs:TrimHigh>4829000</wcs:TrimHigh></wcs:DimensionTrim>
  <wcs:format>image/tiff</wcs:format>
</wcs:GetCoverage>"""


def test_post_getcoverage(wcs, tmp_path):
    d = ET.fromstring(get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage",
                          COVERAGEID="s2_demo").content)
    band = [f.get("name") for f in d.findall(".//swe:field", NS)][2]
    r = requests.post(wcs.url + "/wcs", data=POST_GC.format(band=band), headers={"Content-Type": "text/xml"})
    got = save(tmp_path, r)
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, os.path.join(wcs.demo, "s2/s2_demo_10m.tif"), projWin=[381000, 4829000, 383000, 4827000],
                   width=50, height=40, bandList=[3], resampleAlg="bilinear")
    same_raster(got, ref)


def test_post_describe_and_capabilities(wcs):
    body = ('<wcs:DescribeCoverage xmlns:wcs="http://www.opengis.net/wcs/2.0" service="WCS" version="2.0.1">'
            '<wcs:CoverageId>sst</wcs:CoverageId><wcs:CoverageId>dem_demo</wcs:CoverageId></wcs:DescribeCoverage>')
    r = requests.post(wcs.url + "/wcs", data=body)
    assert r.status_code == 200
    assert [e.text for e in ET.fromstring(r.content).findall(".//wcs:CoverageId", NS)] == ["sst", "dem_demo"]
    body = ('<wcs:GetCapabilities xmlns:wcs="http://www.opengis.net/wcs/2.0" xmlns:ows="http://www.opengis.net/ows/2.0"'
            ' service="WCS"><ows:AcceptVersions><ows:Version>2.0.1</ows:Version></ows:AcceptVersions>'
            '</wcs:GetCapabilities>')
    r = requests.post(wcs.url + "/wcs", data=body)
    assert r.status_code == 200 and ET.fromstring(r.content).get("version") == "2.0.1"


@pytest.mark.parametrize("body", [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><wcs:GetCapabilities xmlns:wcs="http://www.opengis.net/wcs/2.0" service="WCS">&a;</wcs:GetCapabilities>',
    '<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>',
    '<wcs:GetCoverage xmlns:wcs="http://www.opengis.net/wcs/2.0" service="WCS" version="2.0.1">' + "<a>" * 40 + "</a>" * 40 + '</wcs:GetCoverage>',
    'not xml at all',
    '',
])
def test_post_hostile_bodies(wcs, body):
    r = requests.post(wcs.url + "/wcs", data=body, headers={"Content-Type": "application/xml"})
    assert 400 <= r.status_code < 500
    assert b"root:" not in r.content
    assert exception(r)[0] in ("InvalidRequest", "MissingParameterValue")


# ---- real clients ----

@pytest.mark.parametrize("version,coverage,path", [
    ("2.0.1", "dem_demo", "dem/dem_demo.tif"),
    ("2.0.1", "s2_demo", "s2/s2_demo_10m.tif"),
    ("1.0.0", "dem_demo", "dem/dem_demo.tif"),
    ("1.0.0", "s2_demo", "s2/s2_demo_10m.tif"),
])
def test_gdal_wcs_driver(wcs, tmp_path, version, coverage, path):
    url = f"WCS:{wcs.url}/wcs?version={version}&coverage={coverage}"
    ds = gdal.OpenEx(url, open_options=[f"CACHE={tmp_path}/cache", "CLEAR_CACHE=YES"])
    src = gdal.Open(os.path.join(wcs.demo, path))
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (src.RasterXSize, src.RasterYSize, src.RasterCount)
    assert ds.GetGeoTransform() == pytest.approx(src.GetGeoTransform(), abs=1e-9)
    out = str(tmp_path / "client.tif")
    gdal.Translate(out, ds, srcWin=[37, 51, 300, 200], format="GTiff")
    ds = None
    got = gdal.Open(out)
    np.testing.assert_array_equal(got.ReadAsArray(), src.ReadAsArray(37, 51, 300, 200))
    assert got.GetSpatialRef().IsSame(src.GetSpatialRef())


def test_gdal_wcs_driver_time_series(wcs, tmp_path):
    """GDAL's WCS driver: in 2.0.1 time is a grid axis, sliced with subset=ansi(...) in the connection string (no
    slice: no bands, as GDAL does for every N-D coverage); in 1.0.0 TIME, default the latest step. GDAL 3.6 puts
    that subset= in place of its own first SUBSET (CPLURLAddKVP replaces the key), so its x window is lost: reads
    of whole rows are right, narrower windows are refused by GDAL itself (documented in docs/wcs.md)."""
    for day in ("05", "31"):
        url = f'WCS:{wcs.url}/wcs?version=2.0.1&coverage=sst&subset=ansi("2025-01-{day}T00:00:00Z")'
        ds = gdal.OpenEx(url, open_options=[f"CACHE={tmp_path}/cache", "CLEAR_CACHE=YES"])
        assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (200, 104, 1)
        assert ds.GetGeoTransform() == (-20.0, 0.25, 0.0, 66.0, 0.0, -0.25)
        a = ds.ReadAsArray(0, 20, 200, 30)
        ds = None
        ref = gdal.Open(f'NETCDF:"{wcs.demo}/sst/sst_202501{day}.nc":sst')
        np.testing.assert_array_equal(a, ref.ReadAsArray(0, 20, 200, 30))
    ds = gdal.OpenEx(f"WCS:{wcs.url}/wcs?version=2.0.1&coverage=sst",
                     open_options=[f"CACHE={tmp_path}/cache", "CLEAR_CACHE=YES"])
    assert ds.RasterCount == 0 and ds.GetMetadataItem("DIMENSION_2_AXIS") == "ansi"
    ds = gdal.OpenEx(f"WCS:{wcs.url}/wcs?version=1.0.0&coverage=sst",
                     open_options=[f"CACHE={tmp_path}/cache", "CLEAR_CACHE=YES"])
    assert ds.RasterCount == 1
    a = ds.ReadAsArray(40, 20, 60, 30)
    ds = None
    ref = gdal.Open(f'NETCDF:"{wcs.demo}/sst/sst_20250131.nc":sst')
    np.testing.assert_array_equal(a, ref.ReadAsArray(40, 20, 60, 30))


def test_owslib_wcs201(wcs, tmp_path):
    from owslib.wcs import WebCoverageService
    w = WebCoverageService(wcs.url + "/wcs", version="2.0.1")
    assert sorted(w.contents) == sorted(["sst", "s2_demo", "s2_demo.B02", "s2_demo.B03", "s2_demo.B04", "s2_demo.B08", "dem_demo"])
    dem = w.contents["dem_demo"]
    # (OWSLib 0.27 looks for a 1.0-style lonLatEnvelope in 2.0.1 summaries, so boundingBoxWGS84 stays None)
    assert "image/tiff" in dem.supportedFormats
    assert dem.grid.highlimits == ["511", "511"] and dem.grid.axislabels == ["i", "j"]
    r = w.getCoverage(identifier=["dem_demo"], format="image/tiff",
                      subsets=[("Long", 10.1, 10.3), ("Lat", 46.2, 46.4)])
    p = tmp_path / "o.tif"
    p.write_bytes(r.read())
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, os.path.join(wcs.demo, "dem/dem_demo.tif"), projWin=[10.1, 46.4, 10.3, 46.2])
    same_raster(str(p), ref)
    sst = w.contents["sst"]
    assert sst.grid.axislabels == ["Long", "Lat", "ansi"] and sst.grid.highlimits == ["199", "103", "30"]
    assert len(sst.timepositions) == 31 and sst.timepositions[4].isoformat() == "2025-01-05T00:00:00"
    r = w.getCoverage(identifier=["sst"], format="application/netcdf",
                      subsets=[("Long", -10, 0), ("Lat", 45, 50), ("ansi", "2025-01-02", "2025-01-03")])
    p = tmp_path / "o.nc"
    p.write_bytes(r.read())
    from netCDF4 import Dataset
    with Dataset(str(p)) as nc:
        assert nc["sst"].shape == (2, 20, 40) and nc["time"][:].tolist() == [1.0, 2.0]


def test_owslib_wcs100(wcs, tmp_path):
    from owslib.wcs import WebCoverageService
    w = WebCoverageService(wcs.url + "/wcs", version="1.0.0")
    assert sorted(w.contents) == sorted(["sst", "s2_demo", "s2_demo.B02", "s2_demo.B03", "s2_demo.B04", "s2_demo.B08", "dem_demo"])
    sst = w.contents["sst"]
    assert sst.boundingBoxWGS84 == (-20.0, 40.0, 30.0, 66.0)
    assert len(sst.timepositions) == 31 and sst.timepositions[0] == "2025-01-01T00:00:00Z"
    assert "GeoTIFF" in sst.supportedFormats
    assert any("4326" in c.getcode() for c in sst.supportedCRS)
    r = w.getCoverage(identifier="sst", bbox=(-10, 45, 0, 50), crs="EPSG:4326", format="GeoTIFF", width=40, height=20,
                      time=["2025-01-09"])
    p = tmp_path / "o.tif"
    p.write_bytes(r.read())
    ref = gdal.Translate("/vsimem/o.tif", f'NETCDF:"{wcs.demo}/sst/sst_20250109.nc":sst', projWin=[-10, 50, 0, 45])
    ds = gdal.Open(str(p))
    np.testing.assert_array_equal(ds.ReadAsArray(), ref.ReadAsArray())


# ---- real samples (Debian's r-cran-stars): 4-D NetCDF with a vertical axis and 4 variables, Landsat 7 ----

STARS = os.path.join(os.environ.get("ND_SAMPLES_DIR", ""), "stars/usr/lib/R/site-library/stars")


@pytest.fixture(scope="module")
def samples(tmp_path_factory, demo_dir):
    if not os.path.exists(os.path.join(STARS, "nc/reduced.nc")):
        pytest.skip("make samples has not run (ND_SAMPLES_DIR)")
    work = tmp_path_factory.mktemp("wcs-samples")
    cfg = server_config(demo_dir, data_dir=str(work / "data")) + f"""  - id: oisst
    source: {STARS}/nc/reduced.nc
  - id: landsat7
    source: {STARS}/tif/L7_ETMs.tif
"""
    s = Server(str(work), cfg, name="samples")
    s.data_dir = str(work / "data")
    yield s
    assert s.stop() == 0


def test_sample_4d_netcdf_vertical_and_fields(samples, tmp_path):
    d = ET.fromstring(get(samples, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage",
                          COVERAGEID="oisst").content)
    assert [f.get("name") for f in d.findall(".//swe:field", NS)] == ["sst", "anom", "err", "ice"]
    # time and the vertical axis zlev are grid axes of their own (one position each here)
    assert d.find(".//gml:boundedBy/gml:Envelope", NS).get("axisLabels") == "Lat Long ansi zlev"
    assert d.find(".//gml:boundedBy/gml:Envelope", NS).get("srsName").endswith("&3=http://www.opengis.net/def/crs/EPSG/0/5714")
    grid = d.find(".//rgrid:ReferenceableGridByVectors", NS)
    assert grid.find("gml:axisLabels", NS).text == "Long Lat ansi zlev"
    zl = [a for a in grid.findall(".//rgrid:GeneralGridAxis", NS) if a.find("rgrid:gridAxesSpanned", NS).text == "zlev"]
    assert zl[0].find("rgrid:coefficients", NS).text == "0" and zl[0].find("rgrid:offsetVector", NS).text == "0 0 0 1"
    r = cov(samples, "Long(0,40)", "Lat(-20,20)", "zlev(0)", COVERAGEID="oisst", RANGESUBSET="anom,ice")
    got = save(tmp_path, r)
    nc = os.path.join(STARS, "nc/reduced.nc")
    ds = gdal.Open(got)
    assert ds.RasterCount == 2
    for i, var in enumerate(("anom", "ice")):
        ref = gdal.Translate("/vsimem/s.tif", f'NETCDF:"{nc}":{var}', projWin=[0, 20, 40, -20], outputSRS="EPSG:4326")
        np.testing.assert_array_equal(ds.GetRasterBand(i + 1).ReadAsArray(), ref.ReadAsArray())
    p = save(tmp_path, cov(samples, "Long(0,40)", "Lat(-20,20)", COVERAGEID="oisst", FORMAT="application/netcdf",
                           RANGESUBSET="sst"), "o.nc")
    from netCDF4 import Dataset
    with Dataset(p) as got, Dataset(nc) as src:
        assert got["sst"].dimensions == ("time", "zlev", "lat", "lon")
        lat, lon = src["lat"][:], src["lon"][:]
        j = np.where((lat > -20) & (lat < 20))[0]
        # centres 0, 2, ..., 38: the half-covered cell at 0 counts, as gdal_translate -projwin rounds
        i = np.where((lon >= 0) & (lon < 40))[0]
        np.testing.assert_array_equal(got["sst"][:], src["sst"][:, :, j[0]:j[-1] + 1, i[0]:i[-1] + 1])
        assert got["zlev"].units == "meters" and got["sst"].long_name == "Daily sea surface temperature"
    r = cov(samples, "zlev(100,200)", COVERAGEID="oisst")
    assert r.status_code == 404 and exception(r)[0] == "InvalidSubsetting"


def test_sample_owslib_time_and_vertical_axes(samples, tmp_path):
    """OWSLib reads the 4-D description (x, y, time, vertical) and slices time and the vertical axis by their labels."""
    from owslib.wcs import WebCoverageService
    w = WebCoverageService(samples.url + "/wcs", version="2.0.1")
    o = w.contents["oisst"]
    assert o.grid.axislabels == ["Long", "Lat", "ansi", "zlev"] and o.grid.dimension == 4
    assert len(o.timepositions) == 1
    t = o.timepositions[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    r = w.getCoverage(identifier=["oisst"], format="image/tiff",
                      subsets=[("Long", 0, 40), ("Lat", -20, 20), ("ansi", t), ("zlev", 0)])
    p = tmp_path / "o.tif"
    p.write_bytes(r.read())
    ds = gdal.Open(str(p))
    assert ds.RasterCount == 4  # sst, anom, err, ice at the one time and level
    nc = os.path.join(STARS, "nc/reduced.nc")
    ref = gdal.Translate("/vsimem/o.tif", f'NETCDF:"{nc}":sst', projWin=[0, 20, 40, -20], outputSRS="EPSG:4326")
    np.testing.assert_array_equal(ds.GetRasterBand(1).ReadAsArray(), ref.ReadAsArray())


def test_sample_landsat(samples, tmp_path):
    src = os.path.join(STARS, "tif/L7_ETMs.tif")
    s = gdal.Open(src)
    gt = s.GetGeoTransform()
    x0, x1 = gt[0] + 50.4 * gt[1], gt[0] + 250.2 * gt[1]
    y1, y0 = gt[3] + 30.7 * gt[5], gt[3] + 200.1 * gt[5]
    got = save(tmp_path, cov(samples, f"E({x0!r},{x1!r})", f"N({y0!r},{y1!r})", COVERAGEID="landsat7"))
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, src, projWin=[x0, y1, x1, y0])
    same_raster(got, ref)


def test_sample_png_for_8bit(samples, tmp_path):
    src = os.path.join(STARS, "tif/L7_ETMs.tif")
    s = gdal.Open(src)
    gt = s.GetGeoTransform()
    x0, x1, y1, y0 = gt[0] + 10 * gt[1], gt[0] + 110 * gt[1], gt[3] + 20 * gt[5], gt[3] + 90 * gt[5]
    r = cov(samples, f"E({x0!r},{x1!r})", f"N({y0!r},{y1!r})", COVERAGEID="landsat7", FORMAT="image/png",
            RANGESUBSET="3,2,1")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png" and r.content[:4] == b"\x89PNG"
    got = save(tmp_path, r, "o.png")
    ds = gdal.Open(got)
    assert (ds.RasterXSize, ds.RasterYSize, ds.RasterCount) == (100, 70, 3)
    np.testing.assert_array_equal(ds.ReadAsArray(), s.ReadAsArray(10, 20, 100, 70)[[2, 1, 0]])


def test_shared_ows_endpoint(wcs):
    r = requests.get(wcs.url + "/ows", params={"SERVICE": "WCS", "REQUEST": "GetCapabilities"}, timeout=30)
    if r.status_code == 404 and b"ExceptionReport" not in r.content:
        pytest.skip("no /ows route in this build")
    assert r.status_code == 200 and ET.fromstring(r.content).tag == "{%s}Capabilities" % NS["wcs"]
    r = requests.get(wcs.url + "/ows", params={"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "GetCoverage",
                                              "COVERAGEID": "nope"}, timeout=30)
    assert r.status_code == 404 and exception(r)[0] == "NoSuchCoverage"


def test_per_variable_coverage(wcs, tmp_path):
    d = ET.fromstring(get(wcs, SERVICE="WCS", VERSION="2.0.1", REQUEST="DescribeCoverage",
                          COVERAGEID="s2_demo.B03").content).find("wcs:CoverageDescription", NS)
    assert d.get("{%s}id" % NS["gml"]) == "s2_demo.B03"
    assert [f.get("name") for f in d.findall(".//swe:field", NS)] == ["B03"]
    got = save(tmp_path, cov(wcs, "E(381000,382000)", "N(4828000,4829000)", COVERAGEID="s2_demo.B03"))
    ref = str(tmp_path / "ref.tif")
    gdal.Translate(ref, os.path.join(wcs.demo, "s2/s2_demo_10m.tif"), projWin=[381000, 4829000, 382000, 4828000],
                   bandList=[2])
    same_raster(got, ref)
    r = get(wcs, SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCoverage", COVERAGE="s2_demo", CRS="EPSG:32631",
            BBOX="381000,4828000,382000,4829000", WIDTH="100", HEIGHT="100", FORMAT="GeoTIFF", BAND="4,2")
    got = save(tmp_path, r, "b.tif")
    gdal.Translate(ref, os.path.join(wcs.demo, "s2/s2_demo_10m.tif"), projWin=[381000, 4829000, 382000, 4828000],
                   bandList=[4, 2])
    same_raster(got, ref)
    assert exception(cov(wcs, COVERAGEID="s2_demo.B99"))[0] == "NoSuchCoverage"


def test_concurrent_requests(wcs):
    """GeoTIFF (GDAL's netCDF driver) and NetCDF (netCDF-C) answers in parallel threads stay right."""
    import concurrent.futures as cf
    import io
    from netCDF4 import Dataset

    def one(i):  # only the requests run in threads: netCDF-C in this client process is not thread-safe
        day = 1 + i % 7
        fmt = "application/netcdf" if i % 2 else "image/tiff"
        r = cov(wcs, "Lat(45,50)", "Long(-10,0)", f'time("2025-01-{day:02d}")', COVERAGEID="sst", FORMAT=fmt)
        assert r.status_code == 200, r.text[:300]
        return i, day, r.content

    def decode(i, day, content):
        if i % 2:
            with Dataset("mem.nc", memory=content) as nc:
                nc.set_auto_maskandscale(False)
                a = np.array(nc["sst"][0])
                return day, a[::-1] if nc["lat"][0] < nc["lat"][-1] else a  # stored south-up: north-up it
        path = f"/vsimem/c{i}.tif"
        gdal.FileFromMemBuffer(path, content)
        a = gdal.Open(path).ReadAsArray()
        gdal.Unlink(path)
        return day, a

    with cf.ThreadPoolExecutor(6) as ex:
        results = [decode(*answer) for answer in ex.map(one, range(24))]
    for day, a in results:
        ref = gdal.Open(f'NETCDF:"{wcs.demo}/sst/sst_202501{day:02d}.nc":sst')
        full = ref.ReadAsArray()
        # lat 50..45 are rows 64..83 of the north-up grid (66N - 0.25 j), lon -10..0 columns 40..79
        np.testing.assert_array_equal(a, full[64:84, 40:80])
    assert no_files_left(wcs)
