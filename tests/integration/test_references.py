"""Inputs by reference and subscriber callbacks reach only the hosts the configuration allows: an allowed
URL is fetched before the kernel runs, a redirect to any other host fails the job with the reason, and a
callback is never handed on by a redirect. Job outputs chain: a published output is a dataset input."""
import http.server
import threading

import pytest
import requests

from conftest import Server
from test_processes import jobs_config, submit_async, wait_job

CSV = "station,value\nA,1.5\nB,2.5\n"


class Origin:
    """A small HTTP server on 127.0.0.1 (the allowed host) that serves CSV, redirects, and records POSTs."""

    def __init__(self):
        self.posts = []
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/redirect"):
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{origin.port}/data.csv")  # not an allowed host
                    self.end_headers()
                    return
                if self.path.startswith("/hop"):
                    self.send_response(301)
                    self.send_header("Location", "/data.csv")  # same host: followed
                    self.end_headers()
                    return
                body = CSV.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                origin.posts.append((self.headers["Host"], self.path, self.rfile.read(n)))
                if self.path.startswith("/moved"):
                    self.send_response(307)
                    self.send_header("Location", f"http://localhost:{origin.port}/stolen")
                else:
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def origin():
    o = Origin()
    yield o
    o.close()


@pytest.fixture(scope="module")
def srv(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("references")
    s = Server(str(work), jobs_config(demo_dir, str(work / "var")))
    yield s
    assert s.stop() == 0, s.read_log()[-4000:]


def echo_ref(s, url):
    job = submit_async(s, "echo", {"data": {"href": url, "mediaType": "text/plain"}}).json()["jobID"]
    return job, wait_job(s, job)


@pytest.mark.parametrize("path", ["/data.csv", "/hop"])
def test_allowed_reference_is_fetched_before_the_kernel_runs(srv, origin, path):
    job, st = echo_ref(srv, f"http://127.0.0.1:{origin.port}{path}")
    assert st["status"] == "successful", st
    r = requests.get(f"{srv.url}/jobs/{job}/results/data")
    assert r.status_code == 200 and r.text == CSV


def test_redirect_to_another_host_fails_the_job(srv, origin):
    job, st = echo_ref(srv, f"http://127.0.0.1:{origin.port}/redirect")
    assert st["status"] == "failed"
    assert "could not be fetched" in st["message"] and "localhost is not allowed" in st["message"], st


def test_reference_to_a_host_not_allowed_is_refused_at_submission(srv):
    for url in ("http://169.254.169.254/latest/meta-data/", "file:///etc/passwd", "http://localhost:1/x"):
        r = requests.post(f"{srv.url}/processes/echo/execution",
                          json={"inputs": {"data": {"href": url, "mediaType": "text/plain"}}})
        assert r.status_code in (400, 403), (url, r.text)


def test_callback_is_not_handed_on_by_a_redirect(srv, origin):
    base = f"http://127.0.0.1:{origin.port}"
    before = len(origin.posts)
    r = requests.post(f"{srv.url}/processes/echo/execution", headers={"Prefer": "respond-async"},
                      json={"inputs": {"data": {"value": "x", "mediaType": "text/plain"}},
                            "subscriber": {"successUri": f"{base}/moved"}})
    assert r.status_code == 201, r.text
    assert wait_job(srv, r.json()["jobID"])["status"] == "successful"
    import time
    deadline = time.time() + 10
    while time.time() < deadline and len(origin.posts) == before:
        time.sleep(0.1)
    time.sleep(0.5)  # a followed redirect would arrive now
    paths = [p for _, p, _ in origin.posts[before:]]
    assert "/moved" in paths and "/stolen" not in paths, paths


def test_published_output_is_a_dataset_input(srv):
    first = submit_async(srv, "subset", {"dataset": "dem_demo", "bbox": [10.1, 46.3, 10.2, 46.4]}).json()["jobID"]
    assert wait_job(srv, first)["status"] == "successful"
    r = requests.post(f"{srv.url}/processes/statistics/execution",
                      json={"inputs": {"dataset": f"{first}-result", "variable": "elevation",
                                       "bbox": [10.1, 46.3, 10.2, 46.4]}})
    assert r.status_code == 200, r.text
    chained = r.json()
    r = requests.post(f"{srv.url}/processes/statistics/execution",
                      json={"inputs": {"dataset": "dem_demo", "variable": "elevation", "bbox": [10.1, 46.3, 10.2, 46.4]}})
    direct = r.json()["statistics"]["value"]
    got = chained["statistics"]["value"]
    assert got["dataset"] == f"{first}-result" and direct["count"] == 100 * 100
    assert {k: got[k] for k in ("count", "mean", "min", "max", "std")} == \
        {k: direct[k] for k in ("count", "mean", "min", "max", "std")}


def test_dataset_inputs_by_reference_to_this_server(srv):
    first = submit_async(srv, "subset", {"dataset": "dem_demo", "bbox": [10.1, 46.3, 10.2, 46.4]}).json()["jobID"]
    assert wait_job(srv, first)["status"] == "successful"
    base = f"http://localhost:{srv.port}"  # what the server's own links say (server.base_url)
    box = [10.12, 46.32, 10.18, 46.38]

    def stats(dataset):
        return requests.post(f"{srv.url}/processes/statistics/execution",
                             json={"inputs": {"dataset": dataset, "variable": "elevation", "bbox": box}})

    want = stats("dem_demo").json()["statistics"]["value"]
    for ref in (f"{base}/collections/dem_demo", "/stac/collections/dem_demo",
                f"{base}/stac/collections/results/items/{first}-result"):
        r = stats({"href": ref})
        assert r.status_code == 200, (ref, r.text)
        got = r.json()["statistics"]["value"]
        assert got["count"] == want["count"] > 0 and got["mean"] == want["mean"], ref
    for ref in (f"{base}/stac/collections/dem_demo/items/x", "http://data.example.org/collections/dem_demo",
                f"{base}/collections/nope"):
        r = stats({"href": ref})
        assert r.status_code == 400, (ref, r.text)
