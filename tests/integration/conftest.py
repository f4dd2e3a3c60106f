"""Fixtures: demo data written by `nadir demo-data`, and real `nadir serve` processes on free ports."""
import gc
import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

NADIR = os.environ.get("NADIR_BIN", os.path.join(os.path.dirname(__file__), "../../build/nadir"))
SAMPLES = os.environ.get("ND_SAMPLES_DIR", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `nadir serve` with its own config file and captured stderr (the access log)."""

    def __init__(self, workdir, config_text, name="nadir"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(workdir, f"{name}.yaml")
        with open(self.config, "w") as f:
            f.write(config_text)
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([NADIR, "serve", "-c", self.config, "--port", str(self.port)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nadir exited with {self.proc.returncode}: {self.read_log()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nadir did not answer /health within 30 s")

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self, timeout=40):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(autouse=True)
def close_clients_between_tests():
    """netCDF-C is not re-entrant, and a test process holds it twice (netCDF4-python and GDAL's driver):
    datasets a test left open are closed here, between tests, not by a finaliser in mid-call."""
    yield
    gc.collect()


@pytest.fixture(scope="session")
def demo_dir():
    d = tempfile.mkdtemp(prefix="nadir-demo-")
    cmd = [NADIR, "demo-data", d]
    if SAMPLES:
        cmd[2:2] = ["--samples", SAMPLES]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return d


def server_config(demo_dir, **server_keys):
    """The demo datasets with server settings suited to the tests."""
    keys = {"bind": "127.0.0.1", "threads": 4, "max_connections": 64, "max_body": "1MiB",
            "debug_routes": "true", "timeout_s": 10}
    keys.update(server_keys)
    server = "\n".join(f"  {k}: {v}" for k, v in keys.items())
    return f"""server:
{server}
datasets:
  - id: sst
    title: Demo sea surface temperature
    abstract: Daily synthetic SST, January 2025
    keywords: [ocean, temperature]
    license: CC-BY-4.0
    source: {demo_dir}/sst/sst_*.nc
  - id: s2_demo
    title: Sentinel-2-like image
    source: {demo_dir}/s2/s2_demo_10m.tif
  - id: dem_demo
    title: Demo elevation
    source: {demo_dir}/dem/dem_demo.tif
"""


@pytest.fixture(scope="session")
def server(demo_dir, tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("server")), server_config(demo_dir))
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc} (sanitizer report?)\n{s.read_log()[-4000:]}"


@pytest.fixture
def make_server(demo_dir, tmp_path):
    """Starts extra servers for tests that stop or overload them; all stopped at the end."""
    started = []

    def start(**server_keys):
        s = Server(str(tmp_path), server_config(demo_dir, **server_keys), name=f"nadir{len(started)}")
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()
