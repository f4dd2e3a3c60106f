"""The HTTP core against a real server: HEAD, 404, ETag/304, gzip, CORS, 413, limits, shutdown."""
import gzip
import http.client
import signal
import socket
import threading
import time

import requests


def test_head_matches_get(server):
    g = requests.get(server.url + "/?f=json")
    h = requests.head(server.url + "/?f=json")
    assert h.status_code == 200
    assert h.content == b""
    assert h.headers["Content-Type"] == g.headers["Content-Type"] == "application/json"
    assert h.headers["ETag"] == g.headers["ETag"]


def test_unknown_path_is_problem_json(server):
    r = requests.get(server.url + "/no/such/thing")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 404 and body["type"].endswith("/not-found") and body["instance"] == "/no/such/thing"


def test_wrong_method_is_405(server):
    r = requests.delete(server.url + "/collections")
    assert r.status_code == 405
    assert r.json()["status"] == 405


def test_malformed_escape_is_400(server):
    r = requests.get(server.url + "/collections?f=%zz")
    assert r.status_code == 400
    assert r.json()["parameter"] == "url"


def test_etag_gives_304(server):
    r = requests.get(server.url + "/conformance")
    etag = r.headers["ETag"]
    assert "max-age" in r.headers["Cache-Control"]
    r2 = requests.get(server.url + "/conformance", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers["ETag"] == etag
    r3 = requests.get(server.url + "/conformance", headers={"If-None-Match": '"something-else"'})
    assert r3.status_code == 200


def test_gzip_only_when_asked(server):
    plain = requests.get(server.url + "/openapi", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/openapi", headers={"Accept-Encoding": "gzip"})
    r = conn.getresponse()
    raw = r.read()
    assert r.status == 200
    assert r.getheader("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in r.getheader("Vary")
    assert len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content
    conn.request("GET", "/openapi", headers={"Accept-Encoding": "gzip;q=0"})
    r = conn.getresponse()
    r.read()
    assert r.getheader("Content-Encoding") is None
    conn.close()


def test_cors(server):
    r = requests.get(server.url + "/collections", headers={"Origin": "https://portal.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    p = requests.options(server.url + "/collections", headers={
        "Origin": "https://portal.example", "Access-Control-Request-Method": "GET"})
    assert p.status_code == 204
    assert "GET" in p.headers["Access-Control-Allow-Methods"]


def test_oversized_body_is_413(server):
    r = requests.post(server.url + "/", data=b"x" * (2 << 20))
    assert r.status_code == 413
    assert r.json()["status"] == 413
    # A chunked body has no Content-Length: the limit is counted as it arrives.
    def chunks():
        for _ in range(40):
            yield b"y" * 65536
    r = requests.post(server.url + "/", data=chunks())
    assert r.status_code == 413
    assert requests.get(server.url + "/health").status_code == 200


def test_access_log_line_per_request(server):
    requests.get(server.url + "/collections/does-not-exist?x=secret")
    time.sleep(0.2)
    lines = [l for l in server.read_log().splitlines() if "/collections/does-not-exist" in l]
    assert lines, "no access log line"
    method, path, status, size, ms = lines[-1].split()[:5]
    assert (method, path, status) == ("GET", "/collections/does-not-exist", "404")
    assert int(size) > 0 and ms.endswith("ms")
    assert "secret" not in lines[-1]  # query strings may hold keys: not logged


def test_metrics_count_requests(server):
    for _ in range(3):
        requests.get(server.url + "/conformance")
    text = requests.get(server.url + "/metrics").text
    counts = {}
    for line in text.splitlines():
        if line.startswith("nadir_http_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels] = int(value)
    assert counts['nadir_http_requests_total{service="core",status="200"}'] >= 3
    assert 'nadir_http_request_duration_seconds_bucket{service="core",le="+Inf"}' in text
    assert "nadir_http_open_connections " in text


def test_connection_flood_is_refused_without_crash(make_server):
    s = make_server(max_connections=16, threads=2)
    socks = []
    try:
        for _ in range(80):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=2)
            socks.append(c)
        time.sleep(0.5)
        refused = 0
        for c in socks:
            try:
                c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                c.settimeout(2)
                if c.recv(64) == b"":
                    refused += 1
            except (ConnectionResetError, BrokenPipeError, socket.timeout):
                refused += 1
        assert refused >= 80 - 16
    finally:
        for c in socks:
            c.close()
    time.sleep(0.3)
    assert requests.get(s.url + "/health", timeout=5).status_code == 200
    assert s.proc.poll() is None


def test_sigterm_finishes_request_in_flight(make_server):
    s = make_server()
    result = {}

    def slow():
        r = requests.get(s.url + "/debug/sleep?ms=1500", timeout=20)
        result["status"], result["text"] = r.status_code, r.text

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)
    s.proc.send_signal(signal.SIGTERM)
    t.join(20)
    assert result == {"status": 200, "text": "slept 1500 ms\n"}
    assert s.proc.wait(20) == 0
    assert "SIGTERM received" in s.read_log()
