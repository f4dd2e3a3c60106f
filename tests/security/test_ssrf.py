"""No server-side request forgery: job inputs by reference and subscriber callbacks may name only the hosts
the configuration allows (none by default), whatever the URL hides (loopback, link-local, IPv6, decimal
addresses, user-info before the host, other schemes); a callback to an allowed host is not redirected elsewhere."""
import http.server
import os
import threading
import time

import pytest
import requests

from conftest import Server, client_error, server_config

WPS2 = "http://www.opengis.net/wps/2.0"
OWS2 = "http://www.opengis.net/ows/2.0"

FORBIDDEN = ["http://127.0.0.1:1/x", "http://localhost/x", "http://169.254.169.254/latest/meta-data/",
             "http://[::1]/x", "http://[fe80::1]/x", "http://2130706433/x", "http://0x7f000001/x", "http://0/x",
             "file:///etc/passwd", "gopher://127.0.0.1:25/", "ftp://127.0.0.1/x", "/vsicurl/http://127.0.0.1/x",
             "http://allowed.example@127.0.0.1/x", "http://allowed.example:80@127.0.0.1/x",
             "http://allowed.example%2f@127.0.0.1/x", "http://127.0.0.1\\@allowed.example/x",
             "http://127.0.0.1#@allowed.example/x", "http://127.0.0.1?@allowed.example/x", "HTTP://127.0.0.1/x",
             " http://allowed.example/", "http://allowed.example.127.0.0.1.nip.io/x"]


class Hits(http.server.BaseHTTPRequestHandler):
    hits = []
    redirect_to = None

    def _any(self):
        Hits.hits.append((self.server.server_address[1], self.path))
        if Hits.redirect_to and self.path.startswith("/cb"):
            self.send_response(307)
            self.send_header("Location", Hits.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = _any

    def log_message(self, *a):
        pass


def listen():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hits)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@pytest.fixture(scope="module")
def guarded(demo_dir, tmp_path_factory):
    """A server that allows one host, allowed.example, for references and callbacks."""
    text = server_config(demo_dir) + "jobs:\n  allowed_hosts: [allowed.example]\n"
    s = Server(str(tmp_path_factory.mktemp("ssrf")), text)
    yield s
    assert s.stop() == 0, s.read_log()[-4000:]


def execute(server, inputs, subscriber=None, prefer=None):
    body = {"inputs": inputs}
    if subscriber:
        body["subscriber"] = subscriber
    headers = {"Prefer": prefer} if prefer else {}
    return requests.post(server.url + "/processes/echo/execution", json=body, headers=headers, timeout=60)


def jobs(server):
    return requests.get(server.url + "/jobs", timeout=10).json().get("numberMatched")


@pytest.mark.parametrize("url", FORBIDDEN)
def test_reference_inputs_refused(server, guarded, demo_dir, url):
    for s in (server, guarded):
        before = jobs(s)
        r = execute(s, {"data": {"href": url, "type": "application/json"}})
        client_error(r, demo_dir)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        doc = (f'<wps:Execute xmlns:wps="{WPS2}" xmlns:ows="{OWS2}" xmlns:xlink="http://www.w3.org/1999/xlink" '
               f'service="WPS" version="2.0.0"><ows:Identifier>echo</ows:Identifier><wps:Input id="data">'
               f'<wps:Reference xlink:href="{url.replace("&", "&amp;")}" mimeType="application/json"/></wps:Input>'
               f'</wps:Execute>')
        r = requests.post(s.url + "/wps", data=doc, headers={"Content-Type": "application/xml"}, timeout=60)
        client_error(r, demo_dir)
        assert "ExceptionReport" in r.text
        assert jobs(s) == before


@pytest.mark.parametrize("url", FORBIDDEN)
@pytest.mark.parametrize("key", ["successUri", "failedUri", "inProgressUri"])
def test_subscriber_refused(server, guarded, demo_dir, url, key):
    for s in (server, guarded):
        before = jobs(s)
        r = execute(s, {"message": "hi"}, {key: url}, prefer="respond-async")
        client_error(r, demo_dir)
        assert jobs(s) == before


def test_allowed_reference_accepted(guarded):
    """The control: the allowed host is accepted, so the refusals above are about the host."""
    r = execute(guarded, {"data": {"href": "http://allowed.example/data.json", "type": "application/json"}},
                prefer="respond-async")
    assert r.status_code == 201, r.text


def test_callback_not_redirected(demo_dir, tmp_path):
    """A callback to an allowed host that answers with a redirect must not reach the redirect's target."""
    first, inner = listen(), listen()
    Hits.hits.clear()
    Hits.redirect_to = f"http://127.0.0.1:{inner.server_address[1]}/internal"
    text = server_config(demo_dir) + "jobs:\n  allowed_hosts: [localhost]\n"
    s = Server(str(tmp_path), text)
    try:
        cb = f"http://localhost:{first.server_address[1]}/cb"
        r = execute(s, {"message": "hi"}, {"successUri": cb, "failedUri": cb}, prefer="respond-async")
        assert r.status_code == 201, r.text
        deadline = time.time() + 30
        while time.time() < deadline and not any(p == first.server_address[1] for p, _ in Hits.hits):
            time.sleep(0.2)
        time.sleep(1)
        job = requests.get(r.headers["Location"], timeout=10).json() if "Location" in r.headers else r.json()
        assert any(p == first.server_address[1] for p, _ in Hits.hits), f"no callback was made: {job}"
        assert not any(p == inner.server_address[1] for p, _ in Hits.hits), Hits.hits
    finally:
        Hits.redirect_to = None
        assert s.stop() == 0
        first.shutdown()
        inner.shutdown()
