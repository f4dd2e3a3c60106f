"""Processing through the clients people use: OWSLib's WPS 1.0.0 client, WPS 2.0 by XML POST, and the
OGC API - Processes flows with requests; reliability (concurrency, killed children, a killed server)
and bad input refused before any job exists."""
import concurrent.futures
import os
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import requests
from netCDF4 import MFDataset  # noqa: F401  (imported for the skip check below)
from osgeo import gdal
from owslib.wps import WebProcessingService

from conftest import NADIR, Server, server_config

WPS2 = "http://www.opengis.net/wps/2.0"
OWS2 = "http://www.opengis.net/ows/2.0"


def jobs_config(demo_dir, data_dir, workers=4, **jobs):
    keys = {"workers": workers, "timeout_s": 120, "allowed_hosts": "[data.example.org, 127.0.0.1]", "sync_timeout_s": 60}
    keys.update(jobs)
    section = "\n".join(f"  {k}: {v}" for k, v in keys.items())
    return server_config(demo_dir, data_dir=data_dir) + f"jobs:\n{section}\n"


@pytest.fixture(scope="module")
def srv(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("processes")
    s = Server(str(work), jobs_config(demo_dir, str(work / "var")))
    s.jobs_dir = str(work / "var" / "jobs")
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def job_dirs(s):
    return sorted(d for d in os.listdir(s.jobs_dir) if len(d) == 36)


def wait_job(s, job_id, timeout=60, until=("successful", "failed", "dismissed")):
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = requests.get(f"{s.url}/jobs/{job_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in until:
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {r.json()}")


def submit_async(s, process, inputs, **body):
    r = requests.post(f"{s.url}/processes/{process}/execution", json={"inputs": inputs, **body},
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    return r


def child_pid(job_id, timeout=10):
    """The `nadir run-job DIR` process of a job, found in /proc (once the fork has exec'd)."""
    deadline = time.time() + timeout
    while True:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if b"run-job" in args and any(a.endswith(job_id.encode()) for a in args):
                return int(pid)
        if time.time() >= deadline:
            return None
        time.sleep(0.05)


# ---------------------------------------------------------------- OGC API - Processes

def test_process_list_and_description(srv):
    r = requests.get(f"{srv.url}/processes")
    assert r.status_code == 200
    ids = [p["id"] for p in r.json()["processes"]]
    assert {"echo", "sleep", "statistics", "subset"} <= set(ids)
    d = requests.get(f"{srv.url}/processes/echo").json()
    assert d["inputs"]["message"]["minOccurs"] == 0 and d["inputs"]["box"]["schema"]["format"] == "ogc-bbox"
    assert d["inputs"]["repeat"]["schema"] == {"type": "integer", "default": 1, "minimum": 1.0, "maximum": 10.0}
    assert requests.get(f"{srv.url}/processes/subset").json()["inputs"]["format"]["schema"]["enum"] == \
        ["geotiff", "netcdf"]
    assert set(d["jobControlOptions"]) >= {"sync-execute", "async-execute"}
    assert "cpu" in d["devices"]
    r = requests.get(f"{srv.url}/processes/nope")
    assert r.status_code == 404 and r.headers["Content-Type"] == "application/problem+json"
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core" in \
        requests.get(f"{srv.url}/conformance?f=json").json()["conformsTo"]


def test_sync_document_and_raw(srv):
    r = requests.post(f"{srv.url}/processes/echo/execution",
                      json={"inputs": {"message": "ab", "repeat": 3,
                                       "data": {"value": {"k": [1, 2]}, "mediaType": "application/json"}}})
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "ababab", "data": {"value": {"k": [1, 2]}, "mediaType": "application/json"}}
    job = r.headers["Location"].rsplit("/", 1)[1]
    assert requests.get(f"{srv.url}/jobs/{job}").json()["status"] == "successful"
    r = requests.post(f"{srv.url}/processes/echo/execution",
                      json={"inputs": {"message": "x"}, "outputs": {"message": {}}, "response": "raw"})
    assert r.status_code == 200 and r.text == "x" and r.headers["Content-Type"].startswith("text/plain")


def job_gauges(s):
    lines = [l for l in requests.get(f"{s.url}/metrics").text.splitlines() if l.startswith("nadir_jobs{")]
    return {l.split('"')[1]: int(l.rsplit(" ", 1)[1]) for l in lines}


def test_metrics_count_jobs_by_state(srv):
    before = job_gauges(srv)
    assert set(before) == {"accepted", "running", "successful", "failed"}
    r = requests.post(f"{srv.url}/processes/echo/execution", json={"inputs": {"message": "m"}})
    assert r.status_code == 200
    assert job_gauges(srv)["successful"] == before["successful"] + 1


def test_async_job_registered_before_answer_with_progress(srv):
    r = submit_async(srv, "sleep", {"seconds": 2})
    assert r.headers["Preference-Applied"] == "respond-async"
    loc = r.headers["Location"]
    info = r.json()
    assert info["status"] in ("accepted", "running") and info["processID"] == "sleep"
    job = info["jobID"]
    assert loc.endswith(f"/jobs/{job}")
    # The job exists the moment the 201 is read (pygeoapi #1279).
    assert requests.get(f"{srv.url}/jobs/{job}").status_code == 200
    assert requests.get(f"{srv.url}/jobs/{job}/results").status_code == 404
    seen = set()
    deadline = time.time() + 30
    while time.time() < deadline:
        st = requests.get(f"{srv.url}/jobs/{job}").json()
        if st["status"] == "running":
            seen.add(st["progress"])
        if st["status"] == "successful":
            break
        time.sleep(0.1)
    assert st["status"] == "successful", st
    assert any(0 < p < 100 for p in seen), seen
    assert st["progress"] == 100 and st["started"] and st["finished"] >= st["started"] >= st["created"]
    assert any(l["rel"].endswith("/results") for l in st["links"])
    assert requests.get(f"{srv.url}/jobs/{job}/results").json() == {"slept": 2.0}


def test_dismiss_while_running(srv):
    job = submit_async(srv, "sleep", {"seconds": 60}).json()["jobID"]
    wait_job(srv, job, until=("running",))
    pid = child_pid(job)
    assert pid
    r = requests.delete(f"{srv.url}/jobs/{job}")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert requests.get(f"{srv.url}/jobs/{job}").status_code == 404
    assert requests.delete(f"{srv.url}/jobs/{job}").status_code == 404
    deadline = time.time() + 10
    while time.time() < deadline and (os.path.exists(os.path.join(srv.jobs_dir, job)) or os.path.exists(f"/proc/{pid}")):
        time.sleep(0.1)
    assert not os.path.exists(os.path.join(srv.jobs_dir, job))
    assert not os.path.exists(f"/proc/{pid}")


def test_job_list_filters_and_paging(srv):
    ids = [submit_async(srv, "echo", {"message": f"p{i}"}).json()["jobID"] for i in range(7)]
    for j in ids:
        wait_job(srv, j)
    r = requests.get(f"{srv.url}/jobs", params={"processID": "echo", "status": "successful", "limit": 3})
    page = r.json()
    assert r.status_code == 200 and len(page["jobs"]) == 3
    assert page["numberMatched"] >= 7
    assert all(j["processID"] == "echo" and j["status"] == "successful" for j in page["jobs"])
    assert [j["jobID"] for j in page["jobs"]] == ids[::-1][:3]  # newest first
    got = []
    url = r.url
    while url:
        page = requests.get(url).json()
        got += [j["jobID"] for j in page["jobs"]]
        url = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
    assert len(got) == page["numberMatched"] and len(set(got)) == len(got)
    assert set(ids) <= set(got)
    assert requests.get(f"{srv.url}/jobs", params={"status": "nonsense"}).status_code == 400
    assert requests.get(f"{srv.url}/jobs", params={"limit": 0}).status_code == 400
    assert requests.get(f"{srv.url}/jobs", params={"processID": "sleep", "status": "failed"}).json()["jobs"] == []


def test_unknown_job_is_404(srv):
    for path in ("/jobs/00000000-0000-4000-8000-000000000000", "/jobs/nope", "/jobs/../../etc/passwd",
                 "/jobs/00000000-0000-4000-8000-000000000000/results"):
        r = requests.get(srv.url + path)
        assert r.status_code == 404, path
    assert requests.delete(f"{srv.url}/jobs/00000000-0000-4000-8000-000000000000").status_code == 404
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "2.0.0", "request": "GetStatus",
                                              "jobId": "00000000-0000-4000-8000-000000000000"})
    assert r.status_code == 404 and "NoSuchJob" in r.text


@pytest.mark.parametrize("process,body,status,fragment", [
    ("nope", {"inputs": {}}, 404, "no-such-process"),
    ("subset", {"inputs": {}}, 400, "missing-parameter"),
    ("statistics", {"inputs": {"dataset": "sst"}}, 400, "missing-parameter"),
    ("echo", {"inputs": {"message": 5}}, 400, "invalid-parameter"),
    ("echo", {"inputs": {"message": "a", "repeat": 11}}, 400, "invalid-parameter"),
    ("subset", {"inputs": {"dataset": "sst", "format": "png"}}, 400, "invalid-parameter"),
    ("echo", {"inputs": {"message": "a", "other": 1}}, 400, "invalid-parameter"),
    ("echo", {"inputs": {"message": "a", "data": {"value": "x" * 100000}}}, 413, "payload-too-large"),
    ("echo", {"inputs": {"message": "a", "data": {"href": "http://169.254.169.254/latest/meta-data"}}}, 403, "forbidden"),
    ("echo", {"inputs": {"message": "a", "data": {"href": "file:///etc/passwd"}}}, 400, "invalid-parameter"),
    ("echo", {"inputs": {"message": "a"}, "subscriber": {"successUri": "http://10.1.2.3:1/x"}}, 403, "forbidden"),
    ("echo", {"inputs": {"message": "a"}, "subscriber": {"failedUri": "ftp://127.0.0.1/x"}}, 400, "invalid-parameter"),
    ("sleep", {"inputs": {"seconds": 1e9}}, 400, "invalid-parameter"),
    ("statistics", {"inputs": {"dataset": "nope", "variable": "sst"}}, 400, "invalid-parameter"),
    ("statistics", {"inputs": {"dataset": "sst", "variable": "nope"}}, 400, "invalid-parameter"),
    ("statistics", {"inputs": {"dataset": "sst", "variable": "sst", "bbox": [100, 0, 110, 5]}}, 400, "invalid-parameter"),
])
def test_bad_input_refused_before_any_work(srv, process, body, status, fragment):
    before = job_dirs(srv)
    r = requests.post(f"{srv.url}/processes/{process}/execution", json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert fragment in r.json()["type"]
    assert set(job_dirs(srv)) <= set(before)  # no new directory (dismissed ones may vanish meanwhile)


def test_malformed_bodies(srv):
    before = job_dirs(srv)
    for data in (b"{", b"[1]", b"\xff"):
        r = requests.post(f"{srv.url}/processes/echo/execution", data=data)
        assert r.status_code == 400
    assert set(job_dirs(srv)) <= set(before)  # no new directory (dismissed ones may vanish meanwhile)


def test_subscriber_callbacks(srv):
    import http.server
    import json
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            got.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        sub = {"successUri": f"{base}/ok", "failedUri": f"{base}/failed", "inProgressUri": f"{base}/running"}
        ok = submit_async(srv, "echo", {"message": "cb"}, subscriber=sub).json()["jobID"]
        bad = submit_async(srv, "statistics", {"dataset": "sst", "variable": "sst", "bbox": [0, 50, 0.01, 50.01]},
                           subscriber=sub).json()["jobID"]
        wait_job(srv, ok)
        wait_job(srv, bad)
        deadline = time.time() + 20
        while time.time() < deadline and len(got) < 4:
            time.sleep(0.1)
    finally:
        httpd.shutdown()
    by = {(p, b["jobID"]): b for p, b in got}
    assert by[("/ok", ok)]["status"] == "successful"
    assert by[("/failed", bad)]["status"] == "failed" and "no cell" in by[("/failed", bad)]["message"]
    assert ("/running", ok) in by and ("/running", bad) in by
    assert ("/failed", ok) not in by and ("/ok", bad) not in by


# ---------------------------------------------------------------- statistics against direct reads

def test_statistics_equal_gdal(srv, demo_dir):
    ds = gdal.Open(os.path.join(demo_dir, "dem/dem_demo.tif"))
    a = ds.GetRasterBand(1).ReadAsArray().astype(np.float64)
    nodata = ds.GetRasterBand(1).GetNoDataValue()
    gt = ds.GetGeoTransform()
    # cells whose centres lie in the box
    x0, x1, y0, y1 = 10.1, 10.2, 46.3, 46.4
    xs = gt[0] + (np.arange(a.shape[1]) + 0.5) * gt[1]
    ys = gt[3] + (np.arange(a.shape[0]) + 0.5) * gt[5]
    sub = a[np.ix_((ys >= y0) & (ys <= y1), (xs >= x0) & (xs <= x1))]
    if nodata is not None:
        sub = sub[sub != nodata]
    r = requests.post(f"{srv.url}/processes/statistics/execution",
                      json={"inputs": {"dataset": "dem_demo", "variable": "elevation", "bbox": [x0, y0, x1, y1]}})
    assert r.status_code == 200, r.text
    st = r.json()["statistics"]["value"]
    assert st["count"] == sub.size
    assert st["mean"] == pytest.approx(sub.mean(), rel=1e-9)
    assert st["min"] == pytest.approx(sub.min()) and st["max"] == pytest.approx(sub.max())
    assert st["std"] == pytest.approx(sub.std(), rel=1e-6)


def test_statistics_time_series_equal_netcdf(srv, demo_dir):
    import glob
    from netCDF4 import Dataset
    files = sorted(glob.glob(os.path.join(demo_dir, "sst/sst_*.nc")))
    steps = []
    for f in files:
        with Dataset(f) as nc:
            lon, lat = nc["lon"][:], nc["lat"][:]
            v = nc["sst"][:]
            for t in range(v.shape[0]):
                sel = v[t][np.ix_((lat >= 50) & (lat <= 55), (lon >= 0) & (lon <= 5))]
                steps.append(sel.compressed().astype(np.float64))
    r = requests.post(f"{srv.url}/processes/statistics/execution",
                      json={"inputs": {"dataset": "sst", "variable": "sst", "bbox": [0, 50, 5, 55], "timeseries": True}})
    assert r.status_code == 200, r.text
    ts = r.json()["statistics"]["value"]["timeseries"]
    assert len(ts) == len(steps) == 31
    assert ts[0]["time"] == "2025-01-01T00:00:00Z"
    for got, want in zip(ts, steps):
        assert got["count"] == want.size
        assert got["mean"] == pytest.approx(want.mean(), rel=1e-5)
        assert got["max"] == pytest.approx(want.max(), rel=1e-6)


# ---------------------------------------------------------------- WPS 1.0.0 with OWSLib

def test_owslib_wps10_async_statistics(srv, demo_dir):
    wps = WebProcessingService(f"{srv.url}/wps", version="1.0.0")
    assert {"echo", "sleep", "statistics"} <= {p.identifier for p in wps.processes}
    d = wps.describeprocess("statistics")
    assert [i.identifier for i in d.dataInputs] == ["dataset", "variable", "bbox", "timeseries"]
    ex = wps.execute("statistics", [("dataset", "dem_demo"), ("variable", "elevation")],
                     output=[("statistics", False)])
    assert ex.status in ("ProcessAccepted", "ProcessStarted", "ProcessSucceeded")
    assert ex.statusLocation and "/wps/jobs/" in ex.statusLocation
    deadline = time.time() + 60
    while not ex.isComplete() and time.time() < deadline:
        ex.checkStatus(sleepSecs=0.2)
    assert ex.isSucceeded(), ex.errors
    import json
    st = json.loads(ex.processOutputs[0].data[0])
    a = gdal.Open(os.path.join(demo_dir, "dem/dem_demo.tif")).ReadAsArray().astype(np.float64)
    assert st["count"] == a.size and st["mean"] == pytest.approx(a.mean(), rel=1e-9)


def test_owslib_wps10_async_subset_equals_source(srv, demo_dir, tmp_path):
    wps = WebProcessingService(f"{srv.url}/wps", version="1.0.0")
    assert "subset" in [p.identifier for p in wps.processes]
    ex = wps.execute("subset", [("dataset", "dem_demo"), ("bbox", "10.1,46.3,10.2,46.4"), ("format", "geotiff")],
                     output=[("result", True)])
    assert ex.statusLocation
    deadline = time.time() + 60
    while not ex.isComplete() and time.time() < deadline:
        ex.checkStatus(sleepSecs=0.2)
    assert ex.isSucceeded(), ex.errors
    out = tmp_path / "subset.tif"
    ex.getOutput(str(out))
    got = gdal.Open(str(out))
    src = gdal.Open(os.path.join(demo_dir, "dem/dem_demo.tif"))
    gt = src.GetGeoTransform()
    assert got.RasterXSize == 100 and got.RasterYSize == 100
    assert got.GetGeoTransform() == pytest.approx((10.1, gt[1], 0, 46.4, 0, gt[5]))
    xoff, yoff = round((10.1 - gt[0]) / gt[1]), round((46.4 - gt[3]) / gt[5])
    np.testing.assert_array_equal(got.ReadAsArray(), src.ReadAsArray(xoff, yoff, 100, 100))


def test_subset_output_published_in_stac(srv, demo_dir):
    r = requests.post(f"{srv.url}/processes/subset/execution",
                      json={"inputs": {"dataset": "dem_demo", "bbox": [10.3, 46.2, 10.4, 46.3]}})
    assert r.status_code == 200, r.text
    job = r.headers["Location"].rsplit("/", 1)[1]
    r = requests.get(f"{srv.url}/stac/search", params={"collections": "results", "bbox": "10.3,46.2,10.4,46.3"})
    assert r.status_code == 200, r.text
    items = [f for f in r.json()["features"] if f["properties"].get("nadir:job") == job]
    assert len(items) == 1, r.json()
    item = items[0]
    p = item["properties"]
    assert p["nadir:process"] == "subset" and p["nadir:process_version"] == "1.0.0"
    assert p["nadir:inputs"]["dataset"] == "dem_demo" and p["nadir:inputs"]["bbox"]["bbox"] == [10.3, 46.2, 10.4, 46.3]
    assert item["bbox"] == pytest.approx([10.3, 46.2, 10.4, 46.3], abs=1e-9)
    href = item["assets"]["data"]["href"].replace("localhost", "127.0.0.1")
    got = requests.get(href)
    assert got.status_code == 200 and got.content[:4] in (b"II*\x00", b"MM\x00*")
    # dismissal removes the results and their catalogue entry
    assert requests.delete(f"{srv.url}/jobs/{job}").status_code == 200
    r = requests.get(f"{srv.url}/stac/search", params={"collections": "results"})
    assert not [f for f in r.json()["features"] if f["properties"].get("nadir:job") == job]


def test_subset_netcdf_time_range_equals_source(srv, demo_dir, tmp_path):
    from netCDF4 import Dataset
    r = requests.post(f"{srv.url}/processes/subset/execution",
                      json={"inputs": {"dataset": "sst", "bbox": [0, 50, 5, 55], "datetime": "2025-01-03/2025-01-05",
                                       "format": "netcdf"}})
    assert r.status_code == 200, r.text
    href = r.json()["result"]["href"]
    assert r.json()["result"]["type"] == "application/netcdf"
    path = tmp_path / "s.nc"
    path.write_bytes(requests.get(href.replace("http://localhost", "http://127.0.0.1")).content)
    with Dataset(path) as got:
        var = next(v for v in got.variables.values() if v.ndim == 3)
        assert var.shape[0] == 3
        lat, lon = got["lat"][:], got["lon"][:]
        vals = var[:]
    with Dataset(os.path.join(demo_dir, "sst/sst_20250103.nc")) as src:
        slat, slon = src["lat"][:], src["lon"][:]
        iy = [int(np.argmin(abs(slat - y))) for y in lat]
        ix = [int(np.argmin(abs(slon - x))) for x in lon]
        want = src["sst"][0][np.ix_(iy, ix)]
    assert lat.min() >= 50 - 0.5 and lat.max() <= 55 + 0.5
    np.testing.assert_allclose(np.ma.filled(vals[0], np.nan), np.ma.filled(want, np.nan), rtol=1e-6)
    # outside the extent or the time axis: refused before a job exists
    before = job_dirs(srv)
    for inputs in ({"dataset": "sst", "bbox": [100, -10, 110, -5]}, {"dataset": "sst", "datetime": "1990-01-01"},
                   {"dataset": "sst", "variables": ["nope"]}, {"dataset": "sst", "format": "png"}):
        r = requests.post(f"{srv.url}/processes/subset/execution", json={"inputs": inputs})
        assert r.status_code == 400, (inputs, r.text)
    assert set(job_dirs(srv)) <= set(before)  # no new directory (dismissed ones may vanish meanwhile)


def test_owslib_wps10_progress_reference_and_lineage(srv, tmp_path):
    wps = WebProcessingService(f"{srv.url}/wps", version="1.0.0", skip_caps=True)
    ex = wps.execute("sleep", [("seconds", "1.5")], output=[("slept", False)], lineage=True)
    pcts = set()
    while not ex.isComplete():
        ex.checkStatus(sleepSecs=0.1)
        pcts.add(ex.percentCompleted)
    assert ex.isSucceeded() and any(0 < p < 100 for p in pcts), pcts
    assert ex.processOutputs[0].data == ["1.5"]
    assert [i.identifier for i in ex.dataInputs] == ["seconds"]
    ex = wps.execute("echo", [("message", "ref")], output=[("message", True)], mode="sync")
    assert ex.isSucceeded() and ex.processOutputs[0].reference
    out = tmp_path / "m.txt"
    ex.getOutput(str(out))
    assert out.read_text() == "ref"
    # A failing process: ProcessFailed with the kernel's message.
    ex = wps.execute("statistics", [("dataset", "sst"), ("variable", "sst"), ("bbox", "0,50,0.01,50.01")],
                     output=[("statistics", False)])
    while not ex.isComplete():
        ex.checkStatus(sleepSecs=0.1)
    # OWSLib reports a ProcessFailed that carries an ExceptionReport as status "Exception".
    assert ex.status in ("ProcessFailed", "Exception") and not ex.isSucceeded()
    assert "no cell" in ex.errors[0].text


def test_wps10_kvp_and_raw(srv):
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "1.0.0", "request": "Execute",
                                              "Identifier": "echo", "DataInputs": "message=kv;repeat=2",
                                              "RawDataOutput": "message"})
    assert r.status_code == 200 and r.text == "kvkv"
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "1.0.0", "request": "DescribeProcess",
                                              "Identifier": "nope"})
    assert r.status_code == 404 and 'exceptionCode="NoSuchProcess"' in r.text
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "1.0.0", "request": "Execute",
                                              "Identifier": "statistics", "DataInputs": "dataset=sst"})
    assert r.status_code == 400 and 'exceptionCode="MissingParameterValue"' in r.text and 'locator="variable"' in r.text


# ---------------------------------------------------------------- WPS 2.0 by XML POST

def execute20(message, mode, response="document", seconds=None):
    proc, inp = ("sleep", f'<wps:Input id="seconds"><wps:Data>{seconds}</wps:Data></wps:Input>') if seconds is not None \
        else ("echo", f'<wps:Input id="message"><wps:Data>{message}</wps:Data></wps:Input>'
                      '<wps:Input id="repeat"><wps:Data><wps:LiteralValue>2</wps:LiteralValue></wps:Data></wps:Input>')
    out = "slept" if seconds is not None else "message"
    return (f'<?xml version="1.0"?><wps:Execute xmlns:wps="{WPS2}" xmlns:ows="{OWS2}" service="WPS" version="2.0.0" '
            f'mode="{mode}" response="{response}"><ows:Identifier>{proc}</ows:Identifier>{inp}'
            f'<wps:Output id="{out}" transmission="value"/></wps:Execute>')


def test_wps20_xml_post_sync_async_dismiss(srv):
    caps = ET.fromstring(requests.get(f"{srv.url}/wps", params={"service": "WPS", "request": "GetCapabilities",
                                                               "AcceptVersions": "2.0.0"}).content)
    assert caps.get("version") == "2.0.0"
    assert "echo" in [e.text for e in caps.iter(f"{{{OWS2}}}Identifier")]
    r = requests.post(f"{srv.url}/wps", data=execute20("hello", "sync"), headers={"Content-Type": "application/xml"})
    assert r.status_code == 200, r.text
    res = ET.fromstring(r.content)
    assert res.tag == f"{{{WPS2}}}Result"
    assert res.find(f"{{{WPS2}}}Output/{{{WPS2}}}Data").text == "hellohello"
    r = requests.post(f"{srv.url}/wps", data=execute20("raw", "sync", "raw"))
    assert r.status_code == 200 and r.text == "rawraw"
    # async: StatusInfo, GetStatus until Succeeded, GetResult
    r = requests.post(f"{srv.url}/wps", data=execute20(None, "async", seconds=1))
    st = ET.fromstring(r.content)
    assert st.tag == f"{{{WPS2}}}StatusInfo" and st.find(f"{{{WPS2}}}Status").text == "Accepted"
    job = st.find(f"{{{WPS2}}}JobID").text
    get_status = (f'<wps:GetStatus xmlns:wps="{WPS2}" service="WPS" version="2.0.0">'
                  f'<wps:JobID>{job}</wps:JobID></wps:GetStatus>')
    for _ in range(300):
        s = ET.fromstring(requests.post(f"{srv.url}/wps", data=get_status).content)
        if s.find(f"{{{WPS2}}}Status").text == "Succeeded":
            break
        time.sleep(0.05)
    assert s.find(f"{{{WPS2}}}Status").text == "Succeeded"
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "2.0.0", "request": "GetResult",
                                              "jobId": job})
    assert ET.fromstring(r.content).find(f"{{{WPS2}}}Output/{{{WPS2}}}Data").text == "1"
    # dismiss a running job
    r = requests.post(f"{srv.url}/wps", data=execute20(None, "async", seconds=60))
    job = ET.fromstring(r.content).find(f"{{{WPS2}}}JobID").text
    wait_job(srv, job, until=("running",))
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "2.0.0", "request": "Dismiss",
                                              "jobId": job})
    assert ET.fromstring(r.content).find(f"{{{WPS2}}}Status").text == "Dismissed"
    r = requests.get(f"{srv.url}/wps", params={"service": "WPS", "version": "2.0.0", "request": "GetResult",
                                              "jobId": job})
    assert r.status_code == 404 and "NoSuchJob" in r.text


def test_wps_xml_refused(srv):
    before = job_dirs(srv)
    evil = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            f'<wps:Execute xmlns:wps="{WPS2}" xmlns:ows="{OWS2}" service="WPS" version="2.0.0">'
            '<ows:Identifier>echo</ows:Identifier><wps:Input id="message"><wps:Data>&e;</wps:Data></wps:Input>'
            '</wps:Execute>')
    r = requests.post(f"{srv.url}/wps", data=evil)
    assert r.status_code == 400 and "DOCTYPE" in r.text and "root:" not in r.text
    r = requests.post(f"{srv.url}/wps", data="<not-closed>")
    assert r.status_code == 400 and "ExceptionReport" in r.text
    r = requests.post(f"{srv.url}/wps", data=execute20("x" * 2000000, "sync"))
    assert r.status_code == 413
    assert set(job_dirs(srv)) <= set(before)  # no new directory (dismissed ones may vanish meanwhile)


def test_conformance_script(srv):
    """The local reproduction of ets-ogcapi-processes10 and ets-wps20 passes against this server."""
    script = os.path.join(os.path.dirname(__file__), "../../conformance/processes/ets_processes.py")
    r = subprocess.run(["/usr/bin/python3", script, "--url", srv.url], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 failed" in r.stdout


# ---------------------------------------------------------------- reliability

def test_200_concurrent_submissions_all_complete(srv):
    def one(i):
        r = requests.post(f"{srv.url}/processes/echo/execution", json={"inputs": {"message": f"c{i}"}},
                          headers={"Prefer": "respond-async"})
        assert r.status_code == 201, r.text
        return i, r.json()["jobID"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        jobs = list(pool.map(one, range(200)))
    assert len({j for _, j in jobs}) == 200
    for i, j in jobs:
        st = wait_job(srv, j, timeout=180)
        assert st["status"] == "successful", st
    for i, j in jobs[::20]:
        assert requests.get(f"{srv.url}/jobs/{j}/results").json() == {"message": f"c{i}"}


def test_killed_child_fails_only_its_job(srv):
    victim = submit_async(srv, "sleep", {"seconds": 60}).json()["jobID"]
    others = [submit_async(srv, "sleep", {"seconds": 1}).json()["jobID"] for _ in range(2)]
    wait_job(srv, victim, until=("running",))
    pid = child_pid(victim)
    with open(f"/proc/{pid}/environ", "rb") as f:
        env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
    assert env[b"OPENBLAS_NUM_THREADS"] == b"1" and env[b"OMP_NUM_THREADS"] == b"1"
    os.kill(pid, signal.SIGKILL)
    st = wait_job(srv, victim)
    assert st["status"] == "failed" and "signal 9" in st["message"]
    for j in others:
        assert wait_job(srv, j)["status"] == "successful"
    assert requests.get(f"{srv.url}/health").status_code == 200


def test_kill_server_while_jobs_run_then_restart(demo_dir, tmp_path):
    data = tmp_path / "var"
    text = jobs_config(demo_dir, str(data), workers=5)
    s = Server(str(tmp_path), text, name="first")
    ids = [submit_async(s, "sleep", {"seconds": 2}).json()["jobID"] for _ in range(5)]
    ids.append(submit_async(s, "sleep", {"seconds": 30}).json()["jobID"])  # queued behind the five
    for j in ids[:5]:
        wait_job(s, j, until=("running",))
    s.proc.kill()
    s.proc.wait()
    s.log.close()
    # One child dies while no server watches: it must end failed, with a reason.
    os.kill(child_pid(ids[0]), signal.SIGKILL)
    s2 = Server(str(tmp_path), text, name="second")
    try:
        for j in ids[:5]:
            st = wait_job(s2, j, timeout=60)
            assert st["status"] in ("successful", "failed"), st
            assert st["message"]
        assert wait_job(s2, ids[0])["status"] == "failed"
        assert all(wait_job(s2, j)["status"] == "successful" for j in ids[1:5])
        # the queued one was re-queued, not lost
        assert wait_job(s2, ids[5], until=("running", "successful"))["status"] in ("running", "successful")
        requests.delete(f"{s2.url}/jobs/{ids[5]}")
    finally:
        assert s2.stop() == 0


# ---------------------------------------------------------------- Slurm executor on a real one-node Slurm

@pytest.fixture(scope="module")
def slurm_srv(demo_dir, tmp_path_factory):
    import shutil
    from local_slurm import LocalSlurm
    missing = [c for c in ("slurmctld", "slurmd", "sbatch", "squeue", "scancel", "munged") if not shutil.which(c)]
    if missing:
        pytest.skip(f"Slurm cannot start here: {', '.join(missing)} not installed (apt-get install slurm-wlm munge)")
    if os.geteuid() != 0:
        pytest.skip("Slurm cannot start here: the one-node Slurm of these tests needs root")
    work = tmp_path_factory.mktemp("slurm")
    cluster = LocalSlurm(str(work / "slurm"))
    try:
        cluster.start()
    except Exception as e:  # noqa: BLE001
        cluster.stop()
        pytest.skip(f"Slurm cannot start here: {e}")
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = cluster.conf
    try:
        s = Server(str(work), jobs_config(demo_dir, str(work / "var"), executor="slurm", slurm_partition="debug",
                                          memory_limit="1GiB"), name="slurm")
        s.jobs_dir = str(work / "var" / "jobs")
        s.cluster = cluster
        yield s
        assert s.stop() == 0
    finally:
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        cluster.stop()


def test_slurm_runs_jobs(slurm_srv):
    s = slurm_srv
    job = submit_async(s, "echo", {"message": "on slurm", "repeat": 2}).json()["jobID"]
    st = wait_job(s, job, timeout=90)
    assert st["status"] == "successful", st
    assert requests.get(f"{s.url}/jobs/{job}/results").json() == {"message": "on slurmon slurm"}
    d = os.path.join(s.jobs_dir, job)
    # it went through sbatch: the script, Slurm's output file and the exit status it left
    assert os.path.exists(os.path.join(d, "job.sh")) and os.path.exists(os.path.join(d, "slurm.out"))
    assert open(os.path.join(d, "exit_code")).read().strip() == "0"
    r = requests.post(f"{s.url}/processes/echo/execution", json={"inputs": {"message": "sync"}})
    assert r.status_code == 200 and r.json() == {"message": "sync"}
    job = submit_async(s, "statistics", {"dataset": "sst", "variable": "sst", "bbox": [0, 50, 0.01, 50.01]}).json()["jobID"]
    st = wait_job(s, job, timeout=90)
    assert st["status"] == "failed" and "no cell" in st["message"]
    # several at once: one squeue a second follows them all
    jobs = [submit_async(s, "echo", {"message": f"s{i}"}).json()["jobID"] for i in range(10)]
    for i, j in enumerate(jobs):
        assert wait_job(s, j, timeout=120)["status"] == "successful"
        assert requests.get(f"{s.url}/jobs/{j}/results").json() == {"message": f"s{i}"}


def test_slurm_dismiss_scancels(slurm_srv):
    s = slurm_srv
    job = submit_async(s, "sleep", {"seconds": 120}).json()["jobID"]
    deadline = time.time() + 60
    while time.time() < deadline and requests.get(f"{s.url}/jobs/{job}").json()["progress"] == 0:
        time.sleep(0.2)
    assert 0 < requests.get(f"{s.url}/jobs/{job}").json()["progress"] < 100
    assert child_pid(job)
    assert requests.delete(f"{s.url}/jobs/{job}").status_code == 200
    assert requests.get(f"{s.url}/jobs/{job}").status_code == 404
    deadline = time.time() + 30
    while time.time() < deadline and (child_pid(job, timeout=0) or os.path.exists(os.path.join(s.jobs_dir, job))):
        time.sleep(0.2)
    assert child_pid(job, timeout=0) is None
    assert not os.path.exists(os.path.join(s.jobs_dir, job))
    q = subprocess.run(["squeue", "-h", "-o", "%j %T"], env=s.cluster.env, capture_output=True, text=True)
    assert f"nadir-{job[:8]} RUNNING" not in q.stdout


def test_slurm_jobs_survive_a_server_restart(slurm_srv):
    """Runs last on the Slurm server: a job running in Slurm while nadir restarts is re-attached."""
    s = slurm_srv
    job = submit_async(s, "sleep", {"seconds": 4}).json()["jobID"]
    deadline = time.time() + 60
    while time.time() < deadline and not child_pid(job, timeout=0):
        time.sleep(0.2)
    if not child_pid(job, timeout=0):
        q = subprocess.run(["squeue", "-o", "%i %j %T %R"], env=s.cluster.env, capture_output=True, text=True).stdout
        i = subprocess.run(["sinfo", "-N", "-o", "%N %T %E"], env=s.cluster.env, capture_output=True, text=True).stdout
        raise AssertionError(f"the job never started in Slurm:\n{q}\n{i}\n{requests.get(f'{s.url}/jobs/{job}').text}")
    assert s.stop() == 0
    with open(s.config) as f:
        text = f.read()
    s2 = Server(os.path.dirname(s.config), text, name="slurm-again")
    try:
        st = wait_job(s2, job, timeout=90)
        assert st["status"] == "successful", st
        assert requests.get(f"{s2.url}/jobs/{job}/results").json() == {"slept": 4.0}
    finally:
        assert s2.stop() == 0
