"""SIGKILL while jobs are submitted and run (OGC API - Processes, async `sleep` and `subset`), sometimes
with the job processes killed too, then a restart over the same job directory: the SQLite files pass
integrity_check, no acknowledged job is lost, every job ends successful or failed with a reason, none
stays accepted or running, and the result of every successful subset is whole and equals the source."""
import os
import threading
import time
import uuid

import numpy as np
import requests
from osgeo import gdal

from conftest import ITERATIONS, integrity_ok, kill9, kill_tree_of, server_config, sqlite_files, start

# the demo DEM: 512 x 512 pixels of 0.001 degree from (10.0, 46.6)
DEM_W, DEM_N, RES = 10.0, 46.6, 0.001


def jobs_config(demo_dir, data_dir):
    return server_config(demo_dir, data_dir=data_dir) + "jobs:\n  workers: 2\n  timeout_s: 60\n"


def submit(s, rnd):
    """One async job; its id once the server answered 201 (the job is then promised), else None."""
    if rnd.random() < 0.5:
        process, inputs = "sleep", {"seconds": round(rnd.uniform(0.1, 1.2), 2)}
    else:
        c0, r0 = rnd.randrange(0, 400), rnd.randrange(0, 400)
        w, h = rnd.randrange(20, 110), rnd.randrange(20, 110)
        bbox = [round(DEM_W + c0 * RES, 3), round(DEM_N - (r0 + h) * RES, 3),
                round(DEM_W + (c0 + w) * RES, 3), round(DEM_N - r0 * RES, 3)]
        process, inputs = "subset", {"dataset": "dem_demo", "bbox": bbox, "format": "geotiff"}
    r = requests.post(f"{s.url}/processes/{process}/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"}, timeout=30)
    if r.status_code != 201:
        raise AssertionError(f"submission refused: {r.status_code} {r.text[:300]}")
    return r.json()["jobID"], process, inputs


def submit_loop(s, rnd, acked, errors, stop):
    while not stop.is_set():
        try:
            acked.append(submit(s, rnd))
        except requests.RequestException:
            return
        except AssertionError as e:
            errors.append(str(e))
            return
        time.sleep(rnd.uniform(0, 0.15))


def wait_final(s, job_id, timeout):
    deadline = time.time() + timeout
    while True:
        r = requests.get(f"{s.url}/jobs/{job_id}", timeout=30)
        assert r.status_code == 200, f"job {job_id} lost: {r.status_code} {r.text[:300]}"
        st = r.json()
        if st["status"] in ("successful", "failed") or time.time() > deadline:
            return st
        time.sleep(0.2)


def check_subset(s, demo_dir, job_id, inputs, tmp_path):
    r = requests.get(f"{s.url}/jobs/{job_id}/results", timeout=30)
    assert r.status_code == 200, r.text[:300]
    r = requests.get(f"{s.url}/jobs/{job_id}/results/result", timeout=60)
    assert r.status_code == 200
    out = tmp_path / f"{job_id}.tif"
    out.write_bytes(r.content)
    got = gdal.Open(str(out))
    assert got is not None, f"job {job_id}: the result is not a whole GeoTIFF ({len(r.content)} bytes)"
    w, s_, e, n = inputs["bbox"]
    c0, r0 = round((w - DEM_W) / RES), round((DEM_N - n) / RES)
    cols, rows = round((e - w) / RES), round((n - s_) / RES)
    assert (got.RasterXSize, got.RasterYSize) == (cols, rows)
    src = gdal.Open(os.path.join(demo_dir, "dem", "dem_demo.tif"))
    np.testing.assert_array_equal(got.ReadAsArray(), src.ReadAsArray(c0, r0, cols, rows),
                                  err_msg=f"job {job_id}: the result differs from the source")


def test_kill_during_job_runs(demo_dir, tmp_path, rng):
    work = str(tmp_path)
    data = os.path.join(work, "var")
    cfg = jobs_config(demo_dir, data)
    jobs_dir = os.path.join(data, "jobs")
    s = start(work, cfg, "first")
    acked, errors = [], []
    killed_children = 0
    try:
        for it in range(ITERATIONS):
            stop = threading.Event()
            t = threading.Thread(target=submit_loop, args=(s, rng, acked, errors, stop))
            t.start()
            time.sleep(rng.uniform(0.2, 2.0))
            kill9(s)
            stop.set()
            t.join(60)
            assert not errors, f"round {it}: {errors[:3]}"
            if rng.random() < 0.3:  # the machine's crash: the job processes die with the server
                killed_children += kill_tree_of(jobs_dir)
            for db in sqlite_files(data):
                integrity_ok(db)
            if it == 0:  # what a kill between a submission's mkdir and its insert leaves (hit by chance too)
                os.makedirs(os.path.join(jobs_dir, str(uuid.uuid4())))
            s = start(work, cfg, f"run{it}")
            for job_id, _, _ in acked:  # accepted once, known for ever (or until retention)
                r = requests.get(f"{s.url}/jobs/{job_id}", timeout=30)
                assert r.status_code == 200, f"round {it}: job {job_id} lost: {r.text[:300]}"
            # and no directory outlives a submission cut short before its row: each one is a job
            for d in os.listdir(jobs_dir):
                if len(d) == 36:
                    r = requests.get(f"{s.url}/jobs/{d}", timeout=30)
                    assert r.status_code == 200, f"round {it}: directory {d} belongs to no job: {os.listdir(os.path.join(jobs_dir, d))}"
        # after the last restart every job ends, with a reason when it failed
        states = {}
        for job_id, process, inputs in acked:
            st = wait_final(s, job_id, timeout=120)
            assert st["status"] in ("successful", "failed"), f"job {job_id} stuck: {st}"
            states[st["status"]] = states.get(st["status"], 0) + 1
            if st["status"] == "failed":
                assert st["message"] and st["message"] != "running", st
            elif process == "subset":
                check_subset(s, demo_dir, job_id, inputs, tmp_path)
        listed = requests.get(f"{s.url}/jobs", params={"limit": 1000}, timeout=30).json()["jobs"]
        stuck = [j for j in listed if j["status"] in ("accepted", "running")]
        assert not stuck, f"jobs left unfinished: {stuck[:3]}"
        # the results of successful subsets are datasets: catalogued once each
        found = requests.get(f"{s.url}/stac/search", params={"collections": "results", "limit": 10000},
                             timeout=60).json()["features"]
        published = {f["properties"].get("nadir:job") for f in found}
        done = [j for j, p, _ in acked if p == "subset" and wait_final(s, j, 1)["status"] == "successful"]
        unpublished = [j for j in done if j not in published]
        assert not unpublished, f"{len(unpublished)} of {len(done)} successful subsets not in the catalogue"
        print(f"{ITERATIONS} kills, {killed_children} job processes killed; {len(acked)} jobs: {states}")
        assert len(acked) >= ITERATIONS, "too few jobs were accepted: the loop tested little"
        assert s.stop() == 0
    finally:  # on a failure too: no server outlives the test (a second stop only reads the exit status)
        s.stop()
    for db in sqlite_files(data):
        integrity_ok(db)

