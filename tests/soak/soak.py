#!/usr/bin/python3
"""`make soak`: a real `nadir serve` under mixed load at a fixed rate on loopback (maps, tiles, coverages,
OPeNDAP, STAC search, job submissions and status) for SOAK_SECONDS; asserts no 5xx, a resident set that
stays within 5 % after warm-up and no growth of open file descriptors, and prints the figures as a table.

    tests/soak/soak.py build/nadir [--seconds 600] [--rate 30]
"""
import argparse
import concurrent.futures
import importlib.util
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
DEM_W, DEM_N, RES = 10.0, 46.6, 0.001  # the demo DEM: 512 x 512 pixels of 0.001 degree


def load_integration_conftest():
    """The integration suite's Server (a real `nadir serve` on a free port), imported, not copied."""
    spec = importlib.util.spec_from_file_location("nadir_integration_conftest",
                                                  os.path.join(HERE, "..", "integration", "conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def dem_box(rnd, min_px=32, max_px=256):
    w, h = rnd.randrange(min_px, max_px), rnd.randrange(min_px, max_px)
    c0, r0 = rnd.randrange(0, 512 - w), rnd.randrange(0, 512 - h)
    return (DEM_W + c0 * RES, DEM_N - (r0 + h) * RES, DEM_W + (c0 + w) * RES, DEM_N - r0 * RES)


# Each kind: (weight, function(rnd) -> (method, path, keyword arguments of requests)).
def wms(rnd):
    if rnd.random() < 0.5:
        w, s, e, n = dem_box(rnd)
        q = {"LAYERS": "dem_demo/elevation", "BBOX": f"{s},{w},{n},{e}"}
    else:
        x, y = rnd.uniform(-30, 20), rnd.uniform(35, 60)
        q = {"LAYERS": "sst/sst", "BBOX": f"{y},{x},{y + 10},{x + 15}", "TIME": f"2025-01-{rnd.randrange(1, 29):02d}"}
    q.update(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", CRS="EPSG:4326", STYLES="", FORMAT="image/png",
             WIDTH=str(rnd.choice([256, 512])), HEIGHT="256")
    return "GET", "/wms", {"params": q}


def tile(rnd):
    z = rnd.randrange(8, 14)
    n = 2 ** z
    lon, lat = rnd.uniform(10.0, 10.5), rnd.uniform(46.1, 46.6)
    import math
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi) / 2 * n)
    layer = rnd.choice(["dem_demo:elevation", "s2_demo:B04"])
    return "GET", f"/tiles/{layer}/{z}/{col}/{row}.png", {}


def wcs(rnd):
    w, s, e, n = dem_box(rnd)
    q = [("SERVICE", "WCS"), ("VERSION", "2.0.1"), ("REQUEST", "GetCoverage"), ("COVERAGEID", "dem_demo"),
         ("SUBSET", f"Long({w},{e})"), ("SUBSET", f"Lat({s},{n})"), ("FORMAT", "image/tiff")]
    return "GET", "/wcs", {"params": q}


def dap(rnd):
    t, y, x = rnd.randrange(0, 28), rnd.randrange(0, 60), rnd.randrange(0, 60)
    if rnd.random() < 0.5:
        return "GET", f"/opendap/sst.dods?sst[{t}:{t}][{y}:{y + 20}][{x}:{x + 20}]", {}
    return "GET", f"/opendap/sst.dap?dap4.ce=/sst[{t}][{y}:{y + 20}][{x}:{x + 20}]", {}


def stac(rnd):
    w, s = rnd.uniform(-180, 150), rnd.uniform(-80, 50)
    q = {"bbox": f"{w},{s},{w + 30},{s + 30}", "limit": rnd.choice([10, 50]),
         "datetime": "2025-01-01T00:00:00Z/2025-12-31T00:00:00Z"}
    return "GET", "/stac/search", {"params": q}


JOBS = []  # (time, id) of submitted jobs, polled by the `job status` kind while younger than retention
RETENTION_S = 120
JOBS_LOCK = threading.Lock()


def job_submit(rnd):
    if rnd.random() < 0.5:
        body = {"inputs": {"seconds": 0.2}}
        return "POST", "/processes/sleep/execution", {"json": body, "headers": {"Prefer": "respond-async"}}
    w, s, e, n = dem_box(rnd, 16, 64)
    body = {"inputs": {"dataset": "dem_demo", "bbox": [w, s, e, n], "format": "geotiff"}}
    return "POST", "/processes/subset/execution", {"json": body, "headers": {"Prefer": "respond-async"}}


def job_status(rnd):
    with JOBS_LOCK:
        young = [j for t, j in JOBS if time.monotonic() - t < RETENTION_S / 2]
        job = rnd.choice(young) if young else None
    return "GET", f"/jobs/{job}" if job else "/jobs?limit=10", {}


KINDS = {"wms": (25, wms), "tile": (25, tile), "wcs": (12, wcs), "dap": (12, dap), "stac": (12, stac),
         "job submit": (3, job_submit), "job status": (11, job_status)}


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nadir")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", "600")))
    ap.add_argument("--rate", type=float, default=float(os.environ.get("SOAK_RATE", "30")), help="requests/s")
    ap.add_argument("--warmup", type=float, default=None, help="seconds (default: a quarter of the run, >= 20)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS), help="a comma-separated subset of: " + ", ".join(KINDS))
    a = ap.parse_args()
    os.environ["NADIR_BIN"] = os.path.abspath(a.nadir)
    it = load_integration_conftest()
    warmup = a.warmup if a.warmup is not None else max(20.0, a.seconds / 4)
    work = tempfile.mkdtemp(prefix="nadir-soak-")
    demo = os.path.join(work, "demo")
    subprocess.run([it.NADIR, "demo-data", demo], check=True, capture_output=True, timeout=600)
    # timeout_s above the longest idle time of a pooled client connection: a keep-alive connection closed by
    # the server as the client reuses it would count as a request without an answer
    cfg = it.server_config(demo, data_dir=os.path.join(work, "var"), threads=8, max_connections=256, timeout_s=120,
                           tile_cache_max="64MiB", access_log="off") + f"jobs:\n  workers: 2\n  retention_s: {RETENTION_S}\n"
    srv = it.Server(work, cfg, name="soak")
    pid = srv.proc.pid
    print(f"nadir pid {pid} on {srv.url}: {a.rate:g} requests/s for {a.seconds:g} s (warm-up {warmup:g} s)",
          flush=True)

    rnd = random.Random(a.seed)
    names = [k for k in KINDS if k in a.kinds.split(",")]
    weights = [KINDS[k][0] for k in names]
    results = []  # (t, kind, status, latency)
    samples = []  # (t, rss kB, fds)
    lock = threading.Lock()
    local = threading.local()
    stop = threading.Event()

    def send(kind, method, path, kw):
        s = getattr(local, "s", None) or setattr(local, "s", requests.Session()) or local.s
        t0 = time.monotonic()
        try:
            r = s.request(method, srv.url + path, timeout=60, **kw)
            status = r.status_code
            if kind == "job submit" and status == 201:
                with JOBS_LOCK:
                    JOBS.append((time.monotonic(), r.json()["jobID"]))
                    del JOBS[:-200]
        except requests.RequestException as e:
            status = f"error: {type(e).__name__}"
        with lock:
            results.append((t0 - start, kind, status, time.monotonic() - t0, path))

    def sampler():
        while not stop.wait(2.0):
            try:
                rss, fds = proc_sample(pid)
            except (OSError, StopIteration):
                return
            samples.append((time.monotonic() - start, rss, fds))

    start = time.monotonic()
    threading.Thread(target=sampler, daemon=True).start()
    late = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        k = 0
        while True:
            due = start + k / a.rate  # a fixed schedule: a slow answer does not slow the offered load
            now = time.monotonic()
            if due - start >= a.seconds:
                break
            if due > now:
                time.sleep(due - now)
            elif now - due > 1.0:
                late += 1
            kind = rnd.choices(names, weights)[0]
            method, path, kw = KINDS[kind][1](rnd)
            pool.submit(send, kind, method, path, kw)
            k += 1
    stop.set()
    elapsed = time.monotonic() - start
    rc = srv.stop()

    # ---- the table
    print(f"\n{'kind':<12} {'requests':>8} {'2xx/3xx':>8} {'4xx':>5} {'5xx':>5} {'errors':>6} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    bad = []
    for kind in names + ["all"]:
        rs = [r for r in results if kind in ("all", r[1])]
        ok = sum(isinstance(r[2], int) and r[2] < 400 for r in rs)
        c4 = sum(isinstance(r[2], int) and 400 <= r[2] < 500 for r in rs)
        c5 = sum(isinstance(r[2], int) and r[2] >= 500 for r in rs)
        err = sum(not isinstance(r[2], int) for r in rs)
        lat = [r[3] * 1000 for r in rs]
        print(f"{kind:<12} {len(rs):>8} {ok:>8} {c4:>5} {c5:>5} {err:>6} {pct(lat, 50):>8.1f} {pct(lat, 95):>8.1f} "
              f"{pct(lat, 99):>8.1f}")
        if kind != "all":
            bad += [r for r in rs if not isinstance(r[2], int) or r[2] >= 400]
    # a window just after warm-up against the last one; open files by their floor (in-flight connections,
    # job logs and GDAL handles come and go: a leak raises the floor), memory by its median
    window = max(10.0, min(60.0, a.seconds / 10))
    after = [s for s in samples if s[0] >= warmup]
    head = [s for s in after if s[0] < warmup + window] or after[:1]
    tail = [s for s in after if s[0] >= elapsed - window] or after[-1:]
    rss0, rss1 = statistics.median(s[1] for s in head), statistics.median(s[1] for s in tail)
    fd0, fd1 = min(s[2] for s in head), min(s[2] for s in tail)
    fdmax = max(s[2] for s in after)
    growth = (rss1 - rss0) / rss0 * 100
    peak = max(s[1] for s in samples)
    print("\nminute  RSS MiB  open files (least..most)")
    for m in range(int(elapsed // 60) + 1):
        w = [x for x in samples if m * 60 <= x[0] < (m + 1) * 60]
        if w:
            print(f"{m:>6} {statistics.median(x[1] for x in w) / 1024:>8.1f}  {min(x[2] for x in w)}..{max(x[2] for x in w)}")
    print(f"\nachieved {len(results) / elapsed:.1f} requests/s over {elapsed:.0f} s ({late} sent over 1 s late)")
    print(f"RSS after warm-up {rss0 / 1024:.1f} MiB, at the end {rss1 / 1024:.1f} MiB: {growth:+.2f} % "
          f"(peak {peak / 1024:.1f} MiB)")
    print(f"open file descriptors (floor of a {window:.0f} s window) after warm-up {fd0}, at the end {fd1} "
          f"(most at once {fdmax})")
    print(f"server exit status {rc}")

    failures = []
    fivexx = [r for r in results if isinstance(r[2], int) and r[2] >= 500]
    if fivexx:
        failures.append(f"{len(fivexx)} responses 5xx, e.g. {fivexx[0]}")
    errors = [r for r in results if not isinstance(r[2], int)]
    if errors:
        failures.append(f"{len(errors)} requests without an answer, e.g. {errors[0]}")
    four = [r for r in bad if isinstance(r[2], int) and r[2] < 500]
    if four:
        failures.append(f"{len(four)} responses 4xx to valid requests, e.g. {four[0]}")
    if growth >= 5:
        failures.append(f"RSS grew {growth:.2f} % after warm-up (limit 5 %)")
    if fd1 > fd0:
        failures.append(f"open file descriptors grew from {fd0} to {fd1}")
    if rc != 0:
        failures.append(f"the server exited with {rc}")
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("soak passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
