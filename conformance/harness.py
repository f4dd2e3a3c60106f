"""What every local conformance script shares: checks register themselves with @check(name), and a
crash inside one check fails that check only; the scripts share how they start a server and report."""
import argparse
import os
import signal
import socket
import subprocess
import tempfile
import time

import requests

RESULTS = []  # (name, passed, why)
CHECKS = []


def check(name):
    def wrap(fn):
        def run(ctx):
            try:
                fn(ctx)
                RESULTS.append((name, True, ""))
            except AssertionError as e:
                RESULTS.append((name, False, str(e)[:300]))
            except Exception as e:  # noqa: BLE001 - a crash in a check is a failure of that check
                RESULTS.append((name, False, f"{type(e).__name__}: {e}"[:300]))
        run.check_name = name
        CHECKS.append(run)
        return run
    return wrap


def parser(description, url_help):
    """--url for a running server, or --nadir for a binary that serves its own demo data."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--url", help=url_help)
    g.add_argument("--nadir", help="a nadir binary: serve its demo data on a free port and check that")
    return ap


def serve_demo(binary, config_extra=""):
    """`nadir demo-data` into a temp dir, `nadir serve` of it on a free port; (process, root URL).
    "{work}" in config_extra, appended to the demo configuration, is that temp dir."""
    work = tempfile.mkdtemp(prefix="nadir-conformance-")
    subprocess.run([binary, "demo-data", work], check=True, capture_output=True, timeout=300)
    conf = os.path.join(work, "nadir.yaml")
    if config_extra:
        with open(conf, "a") as f:
            f.write(config_extra.replace("{work}", work))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "serve", "-c", conf, "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("nadir did not start")


def run_checks(ctx, proc=None, stop_after=None):
    """Runs every check (until stop_after(check, ctx) says so), stops proc, prints the verdicts; exit status."""
    try:
        for run in CHECKS:
            run(ctx)
            if stop_after and stop_after(run, ctx):
                break
    finally:
        if proc:
            proc.send_signal(signal.SIGTERM)
            proc.wait(40)
    for name, ok, why in RESULTS:
        print(f"{'PASS' if ok else 'FAIL'} {name}{' ' + why if why else ''}")
    failed = sum(1 for _, ok, _ in RESULTS if not ok)
    print(f"{len(RESULTS) - failed} passed, {failed} failed")
    return 1 if failed else 0
