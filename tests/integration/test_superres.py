"""Super-resolution through OGC API - Processes and OWSLib's WPS client on the demo Sentinel-2-like scene:
the GeoTIFF read back with GDAL has the input's extent and CRS at the new pixel size, its block means
give back the input, tiles do not change it; it is mapped, cut and found like every output; bad input
(fewer than 4 bands, scale 3, a region too large, cuda without a GPU) is refused before a job exists."""
import json
import time
import uuid

import numpy as np
import pytest
import requests
from osgeo import gdal

from conftest import Server, server_config
from published import assert_published

gdal.UseExceptions()

# A 64 x 48 pixel window of s2_demo (EPSG:32631, origin 380000 / 4830000, 10 m), on pixel edges.
X0, X1, Y0, Y1 = 381000.0, 381640.0, 4828520.0, 4829000.0
UTM = "http://www.opengis.net/def/crs/EPSG/0/32631"
BOX = {"bbox": [X0, Y0, X1, Y1], "crs": UTM}


@pytest.fixture(scope="module")
def srv(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("superres")
    text = server_config(demo_dir, data_dir=str(work / "var"))
    text += "jobs:\n  workers: 2\n  timeout_s: 300\n  sync_timeout_s: 120\n"
    s = Server(str(work), text)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def run_async(s, inputs, timeout=240):
    r = requests.post(f"{s.url}/processes/super-resolution/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"}, timeout=30)
    assert r.status_code == 201, r.text
    job = r.json()["jobID"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = requests.get(f"{s.url}/jobs/{job}", timeout=10).json()
        if st["status"] in ("successful", "failed", "dismissed"):
            return job, st
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish: {st}")


def read_result(s, job):
    name = f"/vsimem/{uuid.uuid4().hex}.tif"
    r = requests.get(f"{s.url}/jobs/{job}/results/image", timeout=30)
    assert r.status_code == 200 and r.content[:4] in (b"II*\x00", b"MM\x00*"), r.text[:300]
    gdal.FileFromMemBuffer(name, r.content)
    ds = gdal.Open(name)
    out = {"gt": ds.GetGeoTransform(), "epsg": ds.GetSpatialRef().GetAuthorityCode(None),
           "size": (ds.RasterXSize, ds.RasterYSize), "names": [ds.GetRasterBand(b + 1).GetDescription() for b in range(4)],
           "data": ds.ReadAsArray().astype(np.float64), "count": ds.RasterCount,
           "nodata": ds.GetRasterBand(1).GetNoDataValue()}
    ds = None
    gdal.Unlink(name)
    return out


def degrade(img, s):
    """train.py's degradation in numpy: a Gaussian PSF centred on each s x s block, border reflected."""
    sigma = np.sqrt(-2 * np.log(0.3)) / np.pi * s
    pad = int(np.ceil(3 * sigma))
    t = np.arange(2 * pad + s) - pad - (s - 1) / 2.0
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    x = np.pad(img, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    rows = np.stack([np.tensordot(x[:, i * s:i * s + len(g), :], g, axes=([1], [0]))
                     for i in range(img.shape[1] // s)], axis=1)
    return np.stack([np.tensordot(rows[:, :, j * s:j * s + len(g)], g, axes=([2], [0]))
                     for j in range(img.shape[2] // s)], axis=2)


def source_window(demo_dir):
    ds = gdal.Open(f"{demo_dir}/s2/s2_demo_10m.tif")
    gt = ds.GetGeoTransform()
    c0, r0 = int(round((X0 - gt[0]) / gt[1])), int(round((Y1 - gt[3]) / gt[5]))
    return ds.ReadAsArray(c0, r0, 64, 48).astype(np.float64)


@pytest.fixture(scope="module")
def x2_job(srv):
    job, st = run_async(srv, {"image": "s2_demo", "scale": 2, "bbox": BOX, "tile": 32})
    assert st["status"] == "successful", st
    return job


def test_described_with_its_choices(srv):
    d = requests.get(f"{srv.url}/processes/super-resolution", timeout=10).json()
    assert {"image", "scale", "resolution", "bbox", "device", "tile"} <= set(d["inputs"])
    assert d["inputs"]["scale"]["schema"].get("enum") in ([2, 4], ["2", "4"]), d["inputs"]["scale"]
    assert {"image", "summary"} <= set(d["outputs"])


def test_x2_georeferenced_and_consistent_with_input(srv, demo_dir, x2_job):
    out = read_result(srv, x2_job)
    assert out["count"] == 4 and out["size"] == (128, 96)
    assert out["epsg"] == "32631"
    assert out["gt"] == pytest.approx((X0, 5.0, 0.0, Y1, 0.0, -5.0), abs=1e-9)
    assert out["names"] == ["blue", "green", "red", "nir"]  # the image's band order (B02, B03, B04, B08)
    src, sr = source_window(demo_dir), out["data"]
    assert np.isfinite(sr).all()
    # Seen again through the sensor (the Wald protocol's Gaussian PSF, MTF 0.3 at Nyquist, on 2 x 2
    # blocks), the 5 m image gives back the 10 m input: the details it adds are consistent with it.
    again = degrade(sr, 2)
    for b in range(4):
        r = np.corrcoef(again[b, 2:-2, 2:-2].ravel(), src[b, 2:-2, 2:-2].ravel())[0, 1]
        assert r > 0.98, (b, r)
        assert abs(again[b].mean() - src[b].mean()) < 0.01 * src[b].mean() + 1, b
    summary = requests.get(f"{srv.url}/jobs/{x2_job}/results", timeout=10).json()["summary"]
    summary = summary.get("value", summary)
    assert summary["device"] in ("cpu", "cuda")  # auto: the GPU where there is one
    assert summary["output_size"] == [128, 96] and summary["tiles"] == 4
    assert summary["mpixels_per_s"] > 0


def test_tiles_leave_no_seams(srv, x2_job):
    job, st = run_async(srv, {"image": "s2_demo", "scale": 2, "bbox": BOX, "tile": 1024})
    assert st["status"] == "successful", st
    a, b = read_result(srv, x2_job)["data"], read_result(srv, job)["data"]
    sd = a.reshape(4, -1).std(axis=1)[:, None, None]
    assert np.max(np.abs(a - b) / sd) <= 1e-5


def test_x4_resampled_to_a_target_resolution(srv):
    job, st = run_async(srv, {"image": "s2_demo", "scale": 4, "bbox": BOX, "resolution": 3.0})
    assert st["status"] == "successful", st
    out = read_result(srv, job)
    w, h = round(640 / 3.0), round(480 / 3.0)
    assert out["size"] == (w, h)
    # The extent is the input's exactly; the pixel size is the nearest to 3 m that tiles it.
    assert out["gt"][0] == pytest.approx(X0, abs=1e-9) and out["gt"][3] == pytest.approx(Y1, abs=1e-9)
    assert out["gt"][0] + w * out["gt"][1] == pytest.approx(X1, abs=1e-6)
    assert out["gt"][3] + h * out["gt"][5] == pytest.approx(Y0, abs=1e-6)


def test_output_mapped_cut_and_found(srv, x2_job):
    assert_published(srv.url, x2_job, "image")


@pytest.mark.parametrize("inputs, status, fragment", [
    ({"image": "dem_demo"}, 400, "needs 4"),
    ({"image": "s2_demo", "scale": 3}, 400, "allowed values"),
    ({"image": "s2_demo", "scale": 4, "resolution": 0.5}, 413, "choose a smaller region"),
    ({"image": "s2_demo", "bbox": {"bbox": [20, 40, 21, 41]}}, 400, "does not meet the image"),
    ({"image": "s2_demo", "device": "cuda", "bbox": BOX}, 400, "device 'cuda'"),
    ({"image": "s2_demo", "nir_band": 5}, 400, "has 4 bands"),
])
def test_bad_input_refused_before_a_job(srv, inputs, status, fragment):
    before = len(requests.get(f"{srv.url}/jobs", params={"limit": 1000}, timeout=10).json()["jobs"])
    r = requests.post(f"{srv.url}/processes/super-resolution/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"}, timeout=30)
    if status == 400 and fragment == "device 'cuda'" and r.status_code == 201:
        pytest.skip("this server has a GPU: cuda is accepted")
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert fragment in r.json()["detail"], r.json()
    after = len(requests.get(f"{srv.url}/jobs", params={"limit": 1000}, timeout=10).json()["jobs"])
    assert after == before


def test_owslib_wps10_same_result(srv, x2_job):
    from owslib.wps import BoundingBoxDataInput, WebProcessingService
    wps = WebProcessingService(f"{srv.url}/wps", version="1.0.0")
    assert "super-resolution" in {p.identifier for p in wps.processes}
    d = wps.describeprocess("super-resolution")
    assert {"image", "scale", "device"} <= {i.identifier for i in d.dataInputs}
    ex = wps.execute("super-resolution", [("image", "s2_demo"), ("scale", "2"), ("tile", "32"),
                                          ("bbox", BoundingBoxDataInput([X0, Y0, X1, Y1], crs="EPSG:32631"))],
                     output=[("summary", False)])
    deadline = time.time() + 240
    while not ex.isComplete() and time.time() < deadline:
        ex.checkStatus(sleepSecs=0.2)
    assert ex.isSucceeded(), ex.errors
    got = json.loads(ex.processOutputs[0].data[0])
    want = requests.get(f"{srv.url}/jobs/{x2_job}/results", timeout=10).json()["summary"]
    want = want.get("value", want)
    for k in ("scale", "device", "input_size", "output_size", "pixel_size", "tiles"):
        assert got[k] == want[k], k


def test_wps_refuses_cuda_without_gpu(srv):
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "1.0.0", "request": "Execute",
                                               "identifier": "super-resolution",
                                               "DataInputs": "image=s2_demo;device=cuda"}, timeout=30)
    if "ExceptionReport" not in r.text:
        pytest.skip("this server has a GPU: cuda is accepted")
    assert "InvalidParameterValue" in r.text and "device" in r.text, r.text
