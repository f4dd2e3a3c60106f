"""SIGKILL during STAC ingest (transactions over HTTP and `nadir ingest` beside the server), then a restart
over the same catalogue: the file passes integrity_check, every acknowledged batch is there whole, every
unacknowledged batch is there whole or not at all, and an ingest run to the end catches up."""
import os
import subprocess
import threading
import time

import numpy as np
import requests
from osgeo import gdal, osr

from conftest import ITERATIONS, NADIR, integrity_ok, kill9, run_cli, server_config, start

KEY = "crash-test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
COLL = "crash"
BATCH = 25


def item(iid, i):
    x, y = -170 + (i * 7) % 340, -70 + (i * 3) % 140
    return {"type": "Feature", "stac_version": "1.0.0", "id": iid,
            "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]},
            "properties": {"datetime": f"2024-01-{1 + i % 28:02d}T00:00:00Z", "seq": i},
            "assets": {"data": {"href": f"https://example.com/{iid}.tif", "roles": ["data"]}}}


def write_rasters(d, n):
    """n small GeoTIFFs for `nadir ingest`, each in its own place, so every one is an item."""
    os.makedirs(d, exist_ok=True)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    drv = gdal.GetDriverByName("GTiff")
    for i in range(n):
        ds = drv.Create(os.path.join(d, f"granule_{i:03d}.tif"), 64, 64, 1, gdal.GDT_Int16)
        ds.SetGeoTransform((-150 + 5 * i, 0.05, 0, 60 - i, 0, -0.05))
        ds.SetProjection(srs.ExportToWkt())
        ds.GetRasterBand(1).WriteArray(np.full((64, 64), i, dtype=np.int16))
        ds = None


def served_ids(s, collection):
    r = requests.get(f"{s.url}/stac/search", params={"collections": collection, "limit": 10000}, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not [l for l in body.get("links", []) if l["rel"] == "next"], "more than one page"
    return {f["id"] for f in body["features"]}


def post_batches(s, tag, acked, tried, errors, stop):
    """Posts batches until the server dies; a batch counts as acknowledged only on its 201."""
    k = 0
    while not stop.is_set():
        ids = [f"{tag}-{k}-{n}" for n in range(BATCH)]
        tried.append(ids)
        body = {"type": "FeatureCollection", "features": [item(i, k * BATCH + n) for n, i in enumerate(ids)]}
        try:
            r = requests.post(f"{s.url}/stac/collections/{COLL}/items", json=body, headers=AUTH, timeout=30)
        except requests.RequestException:
            return
        if r.status_code == 201:
            acked.append(ids)
        else:
            errors.append(f"{r.status_code} {r.text[:300]}")
        k += 1


def test_kill_during_ingest(demo_dir, tmp_path, rng):
    work = str(tmp_path)
    data = os.path.join(work, "var")
    rasters = os.path.join(work, "rasters")
    write_rasters(rasters, 40)
    cfg = server_config(demo_dir, data_dir=data) + f"catalog:\n  transactions: true\n  api_key: {KEY}\n"
    db = os.path.join(data, "catalog.db")
    s = start(work, cfg, "first")
    coll = {"type": "Collection", "stac_version": "1.0.0", "id": COLL, "description": "crash loop", "license": "other",
            "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [[None, None]]}}}
    assert requests.post(f"{s.url}/stac/collections", json=coll, headers=AUTH, timeout=30).status_code == 201
    acked, tried, errors = [], [], []
    for it in range(ITERATIONS):
        stop = threading.Event()
        posters = [threading.Thread(target=post_batches, args=(s, f"r{it}t{t}", acked, tried, errors, stop))
                   for t in range(2)]
        for t in posters:
            t.start()
        ingest = None
        if it % 2 == 0:  # `nadir ingest` writes the same file from another process
            ingest = subprocess.Popen([NADIR, "ingest", "--database", db, "--collection", "files", "--quiet", rasters],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.0))
        kill9(s)
        if ingest is not None:
            time.sleep(rng.uniform(0, 0.3))
            ingest.kill()
            ingest.wait()
        stop.set()
        for t in posters:
            t.join(60)
        assert not errors, f"round {it}: a live server refused a batch: {errors[:3]}"
        integrity_ok(db)
        s = start(work, cfg, f"run{it}")
        have = served_ids(s, COLL)
        for ids in acked:
            missing = [i for i in ids if i not in have]
            assert not missing, f"round {it}: acknowledged items lost: {missing[:5]}"
        for ids in tried:
            n = sum(i in have for i in ids)
            assert n in (0, len(ids)), f"round {it}: a batch half stored ({n} of {len(ids)}): {ids[0]}"
    print(f"{ITERATIONS} kills; {len(acked)} batches acknowledged, {len(tried)} tried")
    assert acked, "no batch was ever acknowledged: the loop tested nothing"
    # an ingest run to the end after all the kills: every file is an item, and a second run skips them all
    r = run_cli(["ingest", "--database", db, "--collection", "files", "--quiet", rasters])
    assert r.returncode == 0, r.stderr
    assert served_ids(s, "files") == {f"granule_{i:03d}" for i in range(40)}
    r = run_cli(["ingest", "--database", db, "--collection", "files", "--quiet", rasters])
    assert "0 item(s) added" in r.stdout and "40 unchanged" in r.stdout, r.stdout
    assert s.stop() == 0
    integrity_ok(db)
