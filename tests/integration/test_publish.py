"""Job outputs become datasets at once: the output of `subset` is listed and drawn by WMS and WMTS, cut by
WCS, read by netCDF4 over OPeNDAP with the source's values, found in STAC; dismissing the job withdraws all
of it, and a restart publishes the outputs of earlier jobs again."""
import os
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from netCDF4 import Dataset
from osgeo import gdal
from owslib.wms import WebMapService

from conftest import Server
from test_processes import jobs_config, submit_async, wait_job

gdal.UseExceptions()
WMTS_NS = {"wmts": "http://www.opengis.net/wmts/1.0", "ows": "http://www.opengis.net/ows/1.1"}
BBOX = [10.1, 46.3, 10.2, 46.4]


@pytest.fixture(scope="module")
def srv(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("publish")
    s = Server(str(work), jobs_config(demo_dir, str(work / "var")))
    yield s
    assert s.stop() == 0, s.read_log()[-4000:]


def source_window(demo_dir):
    src = gdal.Open(os.path.join(demo_dir, "dem/dem_demo.tif"))
    gt = src.GetGeoTransform()
    xoff, yoff = round((BBOX[0] - gt[0]) / gt[1]), round((BBOX[3] - gt[3]) / gt[5])
    return src.GetRasterBand(1).ReadAsArray(xoff, yoff, 100, 100), gt


def run_subset(s, **inputs):
    job = submit_async(s, "subset", {"dataset": "dem_demo", "bbox": BBOX, **inputs}).json()["jobID"]
    assert wait_job(s, job)["status"] == "successful"
    return job


def wms_layers(s):
    return WebMapService(f"{s.url}/wms", version="1.3.0").contents


def test_subset_output_is_mapped_cut_read_and_found(srv, demo_dir):
    want, gt = source_window(demo_dir)
    job = run_subset(srv)
    ds_id = f"{job}-result"

    # WMS: listed as soon as the job is reported successful, with the output's extent; GetMap draws it
    layers = [name for name in wms_layers(srv) if name.startswith(ds_id + "/")]
    assert len(layers) == 1, list(wms_layers(srv))
    layer = wms_layers(srv)[layers[0]]
    assert layer.boundingBoxWGS84 == pytest.approx(BBOX, abs=1e-6)
    r = requests.get(f"{srv.url}/wms", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
                                              "LAYERS": layers[0], "STYLES": "", "CRS": "CRS:84",
                                              "BBOX": ",".join(map(str, BBOX)), "WIDTH": 50, "HEIGHT": 50,
                                              "FORMAT": "image/tiff"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("image/tiff"), r.text[:300]
    gdal.FileFromMemBuffer("/vsimem/map.tif", r.content)
    drawn = gdal.Open("/vsimem/map.tif")  # kept in a name: a band outlives no dataset
    drawn = drawn.GetRasterBand(1).ReadAsArray()
    gdal.Unlink("/vsimem/map.tif")
    np.testing.assert_array_equal(drawn, want[1::2, 1::2])  # 50 px over 100 cells: every other cell centre

    # WMTS lists its tile layer
    caps = ET.fromstring(requests.get(f"{srv.url}/wmts", params={"SERVICE": "WMTS", "REQUEST": "GetCapabilities"}).content)
    ids = [e.text for e in caps.findall(".//wmts:Layer/ows:Identifier", WMTS_NS)]
    assert any(i.startswith(ds_id) for i in ids), ids

    # WCS: the coverage equals the source window
    r = requests.get(f"{srv.url}/wcs", params={"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "GetCoverage",
                                              "COVERAGEID": ds_id, "FORMAT": "image/tiff"})
    assert r.status_code == 200, r.text[:500]
    gdal.FileFromMemBuffer("/vsimem/cov.tif", r.content)
    cov = gdal.Open("/vsimem/cov.tif")
    np.testing.assert_array_equal(cov.GetRasterBand(1).ReadAsArray(), want)
    assert cov.GetGeoTransform() == pytest.approx((BBOX[0], gt[1], 0, BBOX[3], 0, gt[5]))
    cov = None
    gdal.Unlink("/vsimem/cov.tif")

    # OPeNDAP: netCDF-C's DAP2 client reads the same values
    with Dataset(f"{srv.url}/opendap/{ds_id}") as nc:
        var = next(v for v in nc.variables.values() if v.ndim == 2)
        np.testing.assert_array_equal(np.ma.filled(var[:], np.nan), want)

    # STAC: the item carries the access points
    r = requests.get(f"{srv.url}/stac/search", params={"ids": ds_id})
    [item] = r.json()["features"]
    assert {"data", "wms", "wcs", "opendap"} <= set(item["assets"]), item["assets"]
    assert item["properties"]["nadir:job"] == job

    # dismissal withdraws every access point
    assert requests.delete(f"{srv.url}/jobs/{job}").status_code == 200
    assert not [name for name in wms_layers(srv) if name.startswith(ds_id)]
    r = requests.get(f"{srv.url}/wms", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap",
                                              "LAYERS": layers[0], "STYLES": "", "CRS": "CRS:84",
                                              "BBOX": ",".join(map(str, BBOX)), "WIDTH": 8, "HEIGHT": 8,
                                              "FORMAT": "image/png"})
    assert b"LayerNotDefined" in r.content
    assert requests.get(f"{srv.url}/opendap/{ds_id}.dds").status_code == 404
    r = requests.get(f"{srv.url}/wcs", params={"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "DescribeCoverage",
                                              "COVERAGEID": ds_id})
    assert r.status_code == 404 and b"NoSuchCoverage" in r.content
    assert requests.get(f"{srv.url}/collections/{ds_id}").status_code == 404
    assert requests.get(f"{srv.url}/stac/search", params={"ids": ds_id}).json()["features"] == []


def test_netcdf_output_over_opendap_equals_source(srv, demo_dir):
    job = submit_async(srv, "subset", {"dataset": "sst", "bbox": [0, 50, 5, 55], "datetime": "2025-01-03",
                                       "format": "netcdf"}).json()["jobID"]
    assert wait_job(srv, job)["status"] == "successful"
    with Dataset(f"{srv.url}/opendap/{job}-result") as got, \
            Dataset(os.path.join(demo_dir, "sst/sst_20250103.nc")) as src:
        lat, lon = got["lat"][:], got["lon"][:]
        slat, slon = src["lat"][:], src["lon"][:]
        iy = [int(np.argmin(abs(slat - y))) for y in lat]
        ix = [int(np.argmin(abs(slon - x))) for x in lon]
        np.testing.assert_allclose(np.ma.filled(got["sst"][0], np.nan),
                                   np.ma.filled(src["sst"][0][np.ix_(iy, ix)], np.nan), rtol=1e-6)
    assert f"{job}-result" in [c["id"] for c in requests.get(f"{srv.url}/collections").json()["collections"]]


def test_outputs_published_again_after_restart(demo_dir, tmp_path):
    want, _ = source_window(demo_dir)
    text = jobs_config(demo_dir, str(tmp_path / "var"))
    first = Server(str(tmp_path), text, name="first")
    try:
        job = run_subset(first)
    finally:
        assert first.stop() == 0
    second = Server(str(tmp_path), text, name="second")
    try:
        assert [n for n in wms_layers(second) if n.startswith(f"{job}-result/")]
        with Dataset(f"{second.url}/opendap/{job}-result") as nc:
            var = next(v for v in nc.variables.values() if v.ndim == 2)
            np.testing.assert_array_equal(np.ma.filled(var[:], np.nan), want)
    finally:
        assert second.stop() == 0
