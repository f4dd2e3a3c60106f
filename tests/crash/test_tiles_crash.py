"""SIGKILL while tiles are rendered into the disk cache (and evicted from it, the cap being small), then a
restart over the same cache: every tile file is a whole PNG, every tile served equals a fresh render by a
server without a cache, and no temporary file of an interrupted write outlives the restart."""
import glob
import math
import os
import threading
import time
import uuid

import numpy as np
import requests
from osgeo import gdal

from conftest import ITERATIONS, kill9, server_config, start

PNG_HEAD = b"\x89PNG\r\n\x1a\n"
PNG_TAIL = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def decode(data):
    """PNG bytes into an array through GDAL; raises when the PNG is not whole."""
    name = f"/vsimem/{uuid.uuid4().hex}.png"
    gdal.FileFromMemBuffer(name, data)
    try:
        ds = gdal.Open(name)
        assert ds is not None, "not an image"
        a = ds.ReadAsArray()
        assert a is not None, "the image does not decode to the end"
        return a
    finally:
        gdal.Unlink(name)


def tile_urls(demo_dir):
    """WebMercatorQuad XYZ tiles over the demo DEM and the Sentinel-2-like image, zooms 6..13."""
    urls = []
    for layer, path in (("dem_demo:elevation", "dem/dem_demo.tif"), ("s2_demo:B04", "s2/s2_demo_10m.tif")):
        ds = gdal.Open(os.path.join(demo_dir, path))
        info = gdal.Info(ds, format="json")
        lons = [c[0] for c in info["wgs84Extent"]["coordinates"][0]]
        lats = [c[1] for c in info["wgs84Extent"]["coordinates"][0]]
        for z in range(6, 14):
            n = 2 ** z

            def tile(lon, lat):
                col = int((lon + 180) / 360 * n)
                row = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
                return row, col
            r0, c0 = tile(min(lons), max(lats))
            r1, c1 = tile(max(lons), min(lats))
            for row in range(r0, r1 + 1):
                for col in range(c0, c1 + 1):
                    urls.append(f"/tiles/{layer}/{z}/{col}/{row}.png")
    return urls


def fetch_loop(s, urls, rng_seed, stop, errors):
    import random
    rnd = random.Random(rng_seed)
    session = requests.Session()
    while not stop.is_set():
        u = rnd.choice(urls)
        try:
            r = session.get(s.url + u, timeout=30)
        except requests.RequestException:
            return
        if r.status_code != 200:
            errors.append(f"{u}: {r.status_code} {r.text[:200]}")


def check_cache_files(cache):
    tiles = glob.glob(os.path.join(cache, "*", "*.tile"))
    for p in tiles:
        with open(p, "rb") as f:
            data = f.read()
        assert data.startswith(PNG_HEAD) and data.endswith(PNG_TAIL), f"{p}: a partial tile ({len(data)} bytes)"
        decode(data)
    return len(tiles)


def test_kill_during_tile_cache_writes(demo_dir, tmp_path, rng):
    work = str(tmp_path)
    cache = os.path.join(work, "tiles")
    cfg = server_config(demo_dir, data_dir=os.path.join(work, "var"), tile_cache_dir=cache, tile_cache_max="1MiB")
    urls = tile_urls(demo_dir)
    assert len(urls) > 100
    ref = start(work, server_config(demo_dir, data_dir=os.path.join(work, "ref"), tile_cache_max=0), "reference")
    fresh = {}

    def fresh_render(u):
        if u not in fresh:
            r = requests.get(ref.url + u, timeout=60)
            assert r.status_code == 200 and r.headers["X-Tile-Cache"] == "bypass", r.text[:300]
            fresh[u] = decode(r.content)
        return fresh[u]

    s = None
    hits = served = 0
    try:
        s = start(work, cfg, "first")
        for it in range(ITERATIONS):
            stop, errors = threading.Event(), []
            threads = [threading.Thread(target=fetch_loop, args=(s, urls, rng.random(), stop, errors))
                       for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.1, 1.5))
            kill9(s)
            stop.set()
            for t in threads:
                t.join(60)
            assert not errors, f"round {it}: {errors[:3]}"
            check_cache_files(cache)
            if it == 0:  # what a kill inside a write leaves (rarely hit by chance: the write is short)
                os.makedirs(os.path.join(cache, "00"), exist_ok=True)
                with open(os.path.join(cache, "00", ".tmp.Xk3v9q"), "wb") as f:
                    f.write(PNG_HEAD + b"\0" * 100)
            s = start(work, cfg, f"run{it}")
            # the restart cleared what interrupted writes left; nothing else but tiles is in the cache
            left = [os.path.join(d, f) for d, _, fs in os.walk(cache) for f in fs if not f.endswith(".tile")]
            assert not left, f"round {it}: left behind: {left[:5]}"
            for u in rng.sample(urls, 12):
                r = requests.get(s.url + u, timeout=60)
                assert r.status_code == 200, r.text[:300]
                hits += r.headers["X-Tile-Cache"] == "hit"
                served += 1
                np.testing.assert_array_equal(decode(r.content), fresh_render(u), err_msg=f"round {it}: {u}")
        n = check_cache_files(cache)
        print(f"{ITERATIONS} kills; {served} tiles checked after restarts ({hits} from the cache); {n} tiles cached")
        assert hits > 0, "no tile came from the cache: the loop tested nothing"
        assert s.stop() == 0 and ref.stop() == 0
    finally:  # on a failure too: no server outlives the test (a second stop only reads the exit status)
        ref.stop()
        if s is not None:
            s.stop()
