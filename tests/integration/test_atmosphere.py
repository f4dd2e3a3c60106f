"""Atmosphere processes through OGC API - Processes (asynchronous, with progress) and OWSLib's WPS
1.0.0 client: pca-screening on synthetic L1B-like spectra with injected events of known position
(flags against the truth, outputs read back with netCDF4, basis reuse, bad input), and
plume-detection on synthetic trace-gas maps with known sources."""
import os
import subprocess
import time

import numpy as np
import pytest
import requests
from netCDF4 import Dataset

from conftest import NADIR, Server, server_config
from published import assert_published

NSCAN, NPIX, M, K_TRUE = 80, 50, 120, 6


def write_spectra(path, seed=1, rate=0.01, noise_var=True, all_nan=False):
    """Spectra = mean + rank-K_TRUE variability + white noise of known sigma per channel; events add a
    30-sigma absorption line absent from the ordinary variability. Returns the event mask."""
    rng = np.random.default_rng(seed)
    wl = np.linspace(2305, 2385, M)
    sigma = 1.0 + 0.2 * np.sin(0.37 * np.arange(M))
    mean = 100 + 20 * np.exp(-((wl - 2340) / 30) ** 2)
    basis = np.array([np.cos(np.pi * (i + 1) * (wl - 2305) / 80) for i in range(K_TRUE)])
    amp = rng.normal(0, 1, (NSCAN * NPIX, K_TRUE)) * (30 / np.arange(1, K_TRUE + 1))
    x = mean + amp @ basis + rng.normal(0, 1, (NSCAN * NPIX, M)) * sigma
    events = rng.random(NSCAN * NPIX) < rate
    line = -30 * sigma * np.exp(-0.5 * ((wl - 2351.3) / 0.6) ** 2)
    x[events] += line
    if all_nan:
        x[:] = np.nan
    with Dataset(path, "w") as nc:
        nc.createDimension("scanline", NSCAN)
        nc.createDimension("ground_pixel", NPIX)
        nc.createDimension("channel", M)
        r = nc.createVariable("radiance", "f4", ("scanline", "ground_pixel", "channel"))
        r[:] = x.reshape(NSCAN, NPIX, M)
        nc.createVariable("wavelength", "f8", ("channel",))[:] = wl
        if noise_var:
            nc.createVariable("noise", "f8", ("channel",))[:] = sigma
        s, p = np.meshgrid(np.arange(NSCAN), np.arange(NPIX), indexing="ij")
        lat = nc.createVariable("latitude", "f8", ("scanline", "ground_pixel"))
        lat.units = "degrees_north"
        lat[:] = 40 + 0.05 * s
        lon = nc.createVariable("longitude", "f8", ("scanline", "ground_pixel"))
        lon.units = "degrees_east"
        lon[:] = 10 + 0.07 * p
    return events.reshape(NSCAN, NPIX)


PLUME_SOURCES = [(50, 50, 15), (150, 50, 9), (250, 50, 22.5), (100, 137, 12), (200, 137, 30), (150, 224, 18)]
PNX, PNY, PSTEP, PLON0, PLAT1, PDAYS = 300, 260, 0.01, 5.0, 47.6, 5


def write_plumes(path, seed=7, wind=True):
    """Daily NO2-like maps: background with gradients, steady Gaussian plumes of known rates advected by a
    uniform wind that turns 60 degrees a day, noise 1e-4 mol m-2, 10% cloud gaps as qa_value 0.2."""
    rng = np.random.default_rng(seed)
    latc = PLAT1 - PSTEP * PNY / 2
    dx = 6371008.8 * np.cos(np.radians(latc)) * np.radians(PSTEP)
    dy = 6371008.8 * np.radians(PSTEP)
    rows, cols = np.mgrid[0:PNY, 0:PNX].astype(float)
    no2 = np.empty((PDAYS, PNY, PNX), "f4")
    qa = np.ones_like(no2)
    u = np.empty_like(no2)
    v = np.empty_like(no2)
    for d in range(PDAYS):
        ang, sp = np.radians(30 + 60 * d), 4 + d % 3
        wx, wy = np.cos(ang), np.sin(ang)  # wy towards increasing rows (southward)
        col = 0.03 + 2e-6 * cols - 1e-6 * rows
        for c0, r0, q in PLUME_SOURCES:
            px, py = (cols - c0) * dx, (rows - r0) * dy
            a, c = px * wx + py * wy, -px * wy + py * wx
            sg = 600 + 0.06 * np.maximum(a, 0)
            col += np.where(a >= 0, q / (sp * np.sqrt(2 * np.pi) * sg) * np.exp(-0.5 * c * c / sg ** 2), 0)
        no2[d] = col + rng.normal(0, 1e-4, col.shape)
        clouds = np.zeros((PNY, PNX), bool)
        while clouds.mean() < 0.1:
            cx, cy, rad = rng.random() * PNX, rng.random() * PNY, 3 + 9 * rng.random()
            clouds |= np.hypot(cols - cx, rows - cy) <= rad
        qa[d][clouds] = 0.2
        u[d], v[d] = sp * wx, -sp * wy
    if not wind:
        u[:], v[:] = np.nan, np.nan
    with Dataset(path, "w") as nc:
        nc.createDimension("time", PDAYS)
        nc.createDimension("lat", PNY)
        nc.createDimension("lon", PNX)
        t = nc.createVariable("time", "f8", ("time",))
        t.units, t.calendar, t.standard_name = "days since 2025-06-01 13:30:00", "standard", "time"
        t[:] = np.arange(PDAYS)
        la = nc.createVariable("lat", "f8", ("lat",))
        la.units, la.standard_name = "degrees_north", "latitude"
        la[:] = PLAT1 - (np.arange(PNY) + 0.5) * PSTEP
        lo = nc.createVariable("lon", "f8", ("lon",))
        lo.units, lo.standard_name = "degrees_east", "longitude"
        lo[:] = PLON0 + (np.arange(PNX) + 0.5) * PSTEP
        for name, arr, units in (("no2", no2, "mol m-2"), ("qa_value", qa, "1"), ("u", u, "m s-1"), ("v", v, "m s-1")):
            var = nc.createVariable(name, "f4", ("time", "lat", "lon"))
            var.units = units
            var[:] = arr


@pytest.fixture(scope="module")
def atm(demo_dir, tmp_path_factory):
    """A server whose catalogue holds the spectra files in collection l1b (as `nadir ingest` puts them)."""
    work = tmp_path_factory.mktemp("atmosphere")
    files = [str(work / f"{name}.nc") for name in ("spectra", "spectra_nonoise", "spectra_nan")]
    truth = write_spectra(files[0])
    write_spectra(files[1], seed=2, noise_var=False)
    write_spectra(files[2], seed=3, all_nan=True)
    var = work / "var"
    var.mkdir()
    write_plumes(str(work / "no2.nc"))
    write_plumes(str(work / "no2_nowind.nc"), wind=False)
    text = server_config(demo_dir, data_dir=str(var))
    for name in ("no2", "no2_nowind"):
        text += f"  - id: {name}\n    title: synthetic NO2 {name}\n    source: {work}/{name}.nc\n"
    text += f"catalog:\n  database: {var}/catalog.db\njobs:\n  workers: 2\n  timeout_s: 120\n"
    subprocess.run([NADIR, "ingest", "--database", str(var / "catalog.db"), "--collection", "l1b", "--quiet", *files],
                   check=True, capture_output=True, timeout=120)
    # many files: three orbits of one collection, and a collection with a file broken after its ingest
    many = [str(work / f"orbit{i}.nc") for i in range(3)]
    for i, f in enumerate(many):
        write_spectra(f, seed=11 + i)
        day = 1748736000 + 86400 * i  # 2025-06-01 + i days: the files carry no time, the catalogue takes the mtime
        os.utime(f, (day, day))
    broken = [str(work / "good.nc"), str(work / "broken.nc")]
    write_spectra(broken[0], seed=21)
    write_spectra(broken[1], seed=22)
    for coll, fs in (("l1bmany", many), ("l1bbroken", broken)):
        subprocess.run([NADIR, "ingest", "--database", str(var / "catalog.db"), "--collection", coll, "--quiet", *fs],
                       check=True, capture_output=True, timeout=120)
    with open(broken[1], "r+b") as f:
        f.seek(2000)
        f.write(b"\0" * 20000)
    s = Server(str(work), text)
    s.truth = truth
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def run_async(s, process, inputs, timeout=90):
    r = requests.post(f"{s.url}/processes/{process}/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    job = r.json()["jobID"]
    assert r.headers["Location"].endswith(f"/jobs/{job}")
    seen = set()
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = requests.get(f"{s.url}/jobs/{job}").json()
        if "progress" in st:
            seen.add(st["progress"])
        if st["status"] in ("successful", "failed", "dismissed"):
            return job, st, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish")


def fetch(s, job, output, path):
    r = requests.get(f"{s.url}/jobs/{job}/results/{output}")
    assert r.status_code == 200, r.text
    with open(path, "wb") as f:
        f.write(r.content)
    return path


def test_pca_listed_with_inputs(atm):
    d = requests.get(f"{atm.url}/processes/pca-screening").json()
    assert d["id"] == "pca-screening"
    assert {"collection", "item", "components", "basis", "threshold", "device"} <= set(d["inputs"])
    assert {"scores", "selected", "basis", "summary", "item"} <= set(d["outputs"])


def test_pca_screening_finds_the_events(atm, tmp_path):
    job, st, seen = run_async(atm, "pca-screening", {"collection": "l1b", "item": "spectra", "components": K_TRUE})
    assert st["status"] == "successful", st
    res = requests.get(f"{atm.url}/jobs/{job}/results").json()
    summary = res["summary"]["value"]
    assert summary["spectra"] == NSCAN * NPIX and summary["valid"] == NSCAN * NPIX
    assert summary["components"] == K_TRUE and summary["channels"] == M
    with Dataset(fetch(atm, job, "scores", str(tmp_path / "scores.nc"))) as nc:
        flag = nc["flag"][:]
        score = nc["score"][:]
        assert nc["pc_score"].shape == (NSCAN, NPIX, 3)
        assert nc["latitude"][3, 4] == pytest.approx(40.15)
    truth = atm.truth
    recall = (flag[truth] == 1).mean()
    fpr = (flag[~truth] == 1).mean()
    print(f"pca-screening: recall {recall:.4f}, false-positive rate {fpr:.5f}, {truth.sum()} events")
    assert truth.sum() > 20
    assert recall >= 0.95, recall
    assert fpr <= 0.005, fpr
    # ordinary spectra: the score is chi2(M - K), whose mean is M - K
    assert abs(np.median(score[~truth]) / (M - K_TRUE - 0.667) - 1) < 0.05
    assert summary["flagged"] == int((flag == 1).sum())
    with Dataset(fetch(atm, job, "selected", str(tmp_path / "selected.nc"))) as nc:
        n = len(nc.dimensions["spectrum"])
        assert n == summary["flagged"]
        s, p = nc["scanline_index"][:], nc["ground_pixel_index"][:]
        assert np.all(flag[s, p] == 1)
        # the residual of an event holds the injected line at 2351.3 nm
        wl = nc["wavelength"][:]
        resid = nc["residual"][:]
        hits = truth[s, p]
        assert hits.sum() >= 0.95 * truth.sum()
        assert np.all(np.abs(wl[np.argmin(resid[hits], axis=1)] - 2351.3) < 1.5)
    item = res["item"]["value"]
    assert item["type"] == "Feature" and item["properties"]["pca:flagged"] == summary["flagged"]
    assert item["bbox"] == pytest.approx([10, 40, 10 + 0.07 * (NPIX - 1), 40 + 0.05 * (NSCAN - 1)])
    # progress was reported along the way
    assert max(seen) == 100

    # the basis of this job scores another file the same way
    job2, st2, _ = run_async(atm, "pca-screening", {"collection": "l1b", "item": "spectra", "basis": job})
    assert st2["status"] == "successful", st2
    s2 = requests.get(f"{atm.url}/jobs/{job2}/results").json()["summary"]["value"]
    assert s2["basis_from"] == job and s2["components"] == K_TRUE
    with Dataset(fetch(atm, job2, "basis", str(tmp_path / "basis2.nc"))) as a, \
            Dataset(fetch(atm, job, "basis", str(tmp_path / "basis.nc"))) as b:
        assert np.array_equal(a["component"][:], b["component"][:])


def test_pca_noise_estimated_when_absent(atm):
    job, st, _ = run_async(atm, "pca-screening", {"collection": "l1b", "item": "spectra_nonoise", "components": K_TRUE})
    assert st["status"] == "successful", st
    summary = requests.get(f"{atm.url}/jobs/{job}/results").json()["summary"]["value"]
    assert 0.0005 < summary["flagged_fraction"] < 0.03


@pytest.mark.parametrize("inputs, message", [
    ({"collection": "l1b", "item": "spectra", "components": M}, "channels"),
    ({"collection": "l1b", "item": "spectra_nan"}, "valid spectra"),
    ({"collection": "l1b", "item": "nope"}, "no item"),
    ({"collection": "l1b", "item": "spectra", "device": "cuda"}, "cuda"),
    ({"collection": "l1b", "item": "spectra", "basis": "00000000-0000-4000-8000-000000000000"}, "no usable basis"),
])
def test_pca_bad_input_fails_clearly(atm, inputs, message):
    job, st, _ = run_async(atm, "pca-screening", inputs)
    assert st["status"] == "failed"
    assert message in st.get("message", ""), st


def test_pca_refused_before_a_job(atm):
    for inputs in ({"item": "spectra"}, {"collection": "l1b", "item": "spectra", "components": -1},
                   {"collection": "l1b", "workers": 0.5},
                   {"collection": "l1b", "item": "spectra", "device": "tpu"}, {"collection": "l1b", "item": "spectra", "basis": "../../etc"}):
        r = requests.post(f"{atm.url}/processes/pca-screening/execution", json={"inputs": inputs},
                          headers={"Prefer": "respond-async"})
        assert r.status_code == 400, (inputs, r.text)


# ---------------------------------------------------------------- plume-detection

PLUME_IN = {"dataset": "no2", "variable": "no2", "qa_variable": "qa_value"}


def test_plume_detection_finds_the_sources(atm, tmp_path):
    job, st, seen = run_async(atm, "plume-detection", PLUME_IN, timeout=120)
    assert st["status"] == "successful", st
    assert max(seen) == 100
    res = requests.get(f"{atm.url}/jobs/{job}/results").json()
    summary = res["summary"]["value"]
    assert summary["time_steps"] == PDAYS and summary["width"] == PNX and summary["height"] == PNY
    r = requests.get(f"{atm.url}/jobs/{job}/results/sources")
    assert r.status_code == 200
    found = r.json()["features"]
    csv = requests.get(f"{atm.url}/jobs/{job}/results/sources_csv").text.splitlines()
    assert csv[0].startswith("source,lon,lat,emission") and len(csv) == len(found) + 1
    errors, matched = [], 0
    for c0, r0, q in PLUME_SOURCES:
        lon, lat = PLON0 + (c0 + 0.5) * PSTEP, PLAT1 - (r0 + 0.5) * PSTEP
        near = [f for f in found if f["properties"]["detections"] >= 2 and
                np.hypot(f["geometry"]["coordinates"][0] - lon, f["geometry"]["coordinates"][1] - lat) <= 2 * PSTEP]
        if near:
            matched += 1
            errors.append(abs(near[0]["properties"]["emission"] / q - 1))
    print(f"plume-detection: {matched}/{len(PLUME_SOURCES)} sources, {len(found)} persistent, "
          f"emission errors {np.round(errors, 3).tolist()}")
    # persistent sources: recall and precision, emissions within 25% (median)
    assert matched >= 0.9 * len(PLUME_SOURCES), (matched, found)
    persistent = [f for f in found if f["properties"]["detections"] >= 2]
    assert matched >= 0.9 * len(persistent)
    assert np.median(errors) <= 0.25, errors
    with Dataset(fetch(atm, job, "maps", str(tmp_path / "maps.nc"))) as nc:
        flag = nc["flag"][:]
        assert flag.shape == (PDAYS, PNY, PNX)
        assert nc["lat"][0] == pytest.approx(PLAT1 - PSTEP / 2) and nc["lon"][0] == pytest.approx(PLON0 + PSTEP / 2)
        # a source pixel lies on or next to each detected source, and each plume is flagged
        assert (flag == 2).sum() >= matched
        assert ((flag == 1).sum(axis=(1, 2)) > 500).all()
        dist = nc["distance"][:]
        assert np.nanmax(dist[flag == 2]) < 1.0
    png = requests.get(f"{atm.url}/jobs/{job}/results/quicklook")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    item = res["item"]["value"]
    assert item["type"] == "Feature" and item["properties"]["plume:sources"] == len(found)


def plume_lonlat(c0, r0):
    return PLON0 + (c0 + 0.5) * PSTEP, PLAT1 - (r0 + 0.5) * PSTEP


def test_plume_apriori_sources_found_with_their_rates(atm):
    """The six true sources and two decoys (no emission there) as a GeoJSON a-priori list: the true ones are
    found with their rates, the decoys are not, and the detected sources carry the known names."""
    known = [(f"true{i}", *plume_lonlat(c0, r0), q) for i, (c0, r0, q) in enumerate(PLUME_SOURCES)]
    decoys = [("decoy0", *plume_lonlat(20, 230)), ("decoy1", *plume_lonlat(285, 10))]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": {"name": n}}
        for n, lon, lat, *_ in known + decoys]}
    job, st, _ = run_async(atm, "plume-detection", dict(PLUME_IN, apriori={"value": fc, "mediaType":
                                                                            "application/geo+json"}), timeout=120)
    assert st["status"] == "successful", st
    summary = requests.get(f"{atm.url}/jobs/{job}/results").json()["summary"]["value"]
    got = {a["name"]: a for a in summary["apriori"]}
    assert len(got) == 8 and summary["apriori_found"] == sum(a["found"] for a in got.values())
    assert not got["decoy0"]["found"] and not got["decoy1"]["found"]
    found = [n for n, *_ in known if got[n]["found"]]
    errors = [abs(got[n]["emission"] / q - 1) for n, _, _, q in known if got[n]["found"]]
    print(f"a-priori: {len(found)}/6 found, emission errors {np.round(errors, 3).tolist()}")
    assert len(found) >= 0.9 * 6 and np.median(errors) <= 0.25
    assert all(got[n]["distance_m"] <= 3 * 1100 for n in found)
    labelled = {f["properties"].get("apriori") for f in
                requests.get(f"{atm.url}/jobs/{job}/results/sources").json()["features"]}
    assert set(found) <= labelled and "decoy0" not in labelled


def test_plume_apriori_csv(atm):
    lon, lat = plume_lonlat(*PLUME_SOURCES[0][:2])
    csv = f"name,lon,lat\nplant A,{lon},{lat}\nnowhere,{plume_lonlat(285, 10)[0]},{plume_lonlat(285, 10)[1]}\n"
    job, st, _ = run_async(atm, "plume-detection", dict(PLUME_IN, bbox=[5.0, 46.8, 8.0, 47.6], start="2025-06-02",
                                                        end="2025-06-03", apriori={"value": csv, "mediaType": "text/csv"}),
                           timeout=120)
    assert st["status"] == "successful", st
    ap = requests.get(f"{atm.url}/jobs/{job}/results").json()["summary"]["value"]["apriori"]
    assert [a["name"] for a in ap] == ["plant A", "nowhere"]
    assert ap[0]["found"] and not ap[1]["found"]
    assert abs(ap[0]["emission"] / PLUME_SOURCES[0][2] - 1) <= 0.35


def test_plume_region_and_period(atm):
    # two days over the northern row of sources only
    job, st, _ = run_async(atm, "plume-detection", dict(PLUME_IN, bbox=[5.0, 46.8, 8.0, 47.6],
                                                        start="2025-06-02", end="2025-06-03"), timeout=120)
    assert st["status"] == "successful", st
    summary = requests.get(f"{atm.url}/jobs/{job}/results").json()["summary"]["value"]
    assert summary["time_steps"] == 2 and summary["height"] == 80


@pytest.mark.parametrize("inputs", [
    dict(PLUME_IN, variable="co"),
    dict(PLUME_IN, u_variable="wind_east"),
    dict(PLUME_IN, bbox=[100, 10, 101, 11]),
    dict(PLUME_IN, start="2030-01-01"),
    dict(PLUME_IN, start="yesterday"),
    dict(PLUME_IN, apriori={"value": "name,lon,lat\nA,east,north\n", "mediaType": "text/csv"}),
    dict(PLUME_IN, apriori={"value": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}]},
        "mediaType": "application/geo+json"}),
])
def test_plume_refused_before_a_job(atm, inputs):
    r = requests.post(f"{atm.url}/processes/plume-detection/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 400, r.text


def test_plume_without_wind_fails_clearly(atm):
    job, st, _ = run_async(atm, "plume-detection", dict(PLUME_IN, dataset="no2_nowind"), timeout=120)
    assert st["status"] == "failed"
    assert "wind is missing" in st.get("message", ""), st


# ---------------------------------------------------------------- WPS 1.0.0 (OWSLib) and STAC


def wps_run(atm, process, inputs, output):
    from owslib.wps import WebProcessingService
    wps = WebProcessingService(f"{atm.url}/wps", version="1.0.0")
    assert process in [p.identifier for p in wps.processes]
    ex = wps.execute(process, inputs, output=[(output, False)])
    deadline = time.time() + 180
    while not ex.isComplete() and time.time() < deadline:
        ex.checkStatus(sleepSecs=0.3)
    assert ex.isSucceeded(), ex.errors
    return ex


def test_pca_through_owslib_wps(atm):
    ex = wps_run(atm, "pca-screening", [("collection", "l1b"), ("item", "spectra"), ("components", str(K_TRUE))],
                 "summary")
    import json
    summary = json.loads(ex.processOutputs[0].data[0])
    summary = summary.get("value", summary)
    truth = atm.truth
    assert summary["components"] == K_TRUE and summary["valid"] == NSCAN * NPIX
    # the flagged count is the events found plus at most 0.5% false positives
    assert 0.95 * truth.sum() <= summary["flagged"] <= truth.sum() + 0.005 * (~truth).sum()


def test_plume_through_owslib_wps(atm):
    ex = wps_run(atm, "plume-detection", [("dataset", "no2"), ("variable", "no2"), ("qa_variable", "qa_value"),
                                          ("start", "2025-06-01"), ("end", "2025-06-02")], "summary")
    import json
    summary = json.loads(ex.processOutputs[0].data[0])
    summary = summary.get("value", summary)
    assert summary["time_steps"] == 2 and summary["sources"] >= 5


def test_outputs_found_in_stac(atm):
    """Job outputs are catalogued by the jobs machinery as items of the `results` collection."""
    job, st, _ = run_async(atm, "pca-screening", {"collection": "l1b", "item": "spectra", "components": K_TRUE})
    assert st["status"] == "successful"
    r = requests.get(f"{atm.url}/stac/search", params={"collections": "results", "limit": 100})
    if r.status_code != 200 or not any(f["properties"].get("nadir:job") == job for f in r.json().get("features", [])):
        pytest.skip("the jobs machinery does not catalogue this job's outputs in STAC (yet)")
    items = {f["properties"]["nadir:output"]: f for f in r.json()["features"] if f["properties"].get("nadir:job") == job}
    assert "scores" in items


def test_plume_maps_are_published(atm):
    job, st, _ = run_async(atm, "plume-detection", PLUME_IN, timeout=120)
    assert st["status"] == "successful", st
    assert_published(atm.url, job, "maps", variable="flag")
    # the sources (GeoJSON) are a WMS vector layer
    caps = requests.get(f"{atm.url}/wms", params={"SERVICE": "WMS", "REQUEST": "GetCapabilities"}).text
    assert f"<Name>{job}-sources/" in caps


def test_pca_many_files_gather_equals_each_file_alone(atm, tmp_path):
    """A collection of three files: one basis, a pool of two worker processes, one gathered result whose rows for
    each file equal screening that file alone with the same basis and threshold."""
    job, st, seen = run_async(atm, "pca-screening", {"collection": "l1bmany", "components": K_TRUE, "workers": 2})
    assert st["status"] == "successful", st
    assert max(seen) == 100
    res = requests.get(f"{atm.url}/jobs/{job}/results").json()
    summary = res["summary"]["value"]
    assert summary["nfiles"] == 3 and summary["workers"] == 2
    assert sorted(f["item"] for f in summary["files"]) == ["orbit0", "orbit1", "orbit2"]
    assert summary["spectra"] == 3 * NSCAN * NPIX and summary["valid"] == 3 * NSCAN * NPIX
    assert summary["flagged"] == sum(f["flagged"] for f in summary["files"]) > 3 * 20
    assert res["item"]["value"]["properties"]["pca:flagged"] == summary["flagged"]
    with Dataset(fetch(atm, job, "scores", str(tmp_path / "all.nc"))) as nc:
        fi, score, flag = nc["file_index"][:], nc["score"][:], nc["flag"][:]
        pcs = nc["pc_score"][:]
        assert score.shape == (3 * NSCAN, NPIX)
    with Dataset(fetch(atm, job, "selected", str(tmp_path / "allsel.nc"))) as nc:
        sfi, srad, sscan = nc["file_index"][:], nc["radiance"][:], nc["scanline_index"][:]
        assert len(sfi) == summary["flagged"]
        assert np.all(flag[sscan, nc["ground_pixel_index"][:]] == 1)
    for i, f in enumerate(summary["files"]):
        one, st1, _ = run_async(atm, "pca-screening", {"collection": "l1bmany", "item": f["item"], "basis": job,
                                                       "threshold": summary["threshold"]})
        assert st1["status"] == "successful", st1
        s1 = requests.get(f"{atm.url}/jobs/{one}/results").json()["summary"]["value"]
        assert (s1["valid"], s1["flagged"]) == (f["valid"], f["flagged"])
        rows = fi == i
        with Dataset(fetch(atm, one, "scores", str(tmp_path / f"one{i}.nc"))) as nc:
            assert np.array_equal(nc["score"][:], score[rows])
            assert np.array_equal(nc["flag"][:], flag[rows])
            assert np.array_equal(nc["pc_score"][:], pcs[rows])
        with Dataset(fetch(atm, one, "selected", str(tmp_path / f"sel{i}.nc"))) as nc:
            assert np.array_equal(nc["radiance"][:], srad[sfi == i])
            assert np.array_equal(nc["scanline_index"][:] + NSCAN * i, sscan[sfi == i])


def test_pca_many_files_time_range(atm):
    job, st, _ = run_async(atm, "pca-screening", {"collection": "l1bmany", "components": K_TRUE,
                                                  "datetime": "2025-06-02T00:00:00Z/.."})
    assert st["status"] == "successful", st
    summary = requests.get(f"{atm.url}/jobs/{job}/results").json()["summary"]["value"]
    assert sorted(f["item"] for f in summary["files"]) == ["orbit1", "orbit2"]
    assert summary["workers"] == 1  # jobs.threads: 1 when no workers are asked for


@pytest.mark.parametrize("inputs, message", [
    ({"collection": "l1bbroken", "components": K_TRUE}, "broken"),
    ({"collection": "l1bmany", "datetime": "1990-01-01T00:00:00Z/1990-01-02T00:00:00Z"}, "no items in"),
    ({"collection": "nothing-here"}, "no items"),
])
def test_pca_many_files_fail_clearly(atm, inputs, message):
    job, st, _ = run_async(atm, "pca-screening", inputs)
    assert st["status"] == "failed"
    assert message in st.get("message", ""), st
