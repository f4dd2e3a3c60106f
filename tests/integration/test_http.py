"""The HTTP core against a real server: HEAD, 404, ETag/304, gzip, CORS, 413, limits, shutdown."""
import gzip
import http.client
import json
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
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/collections?f=%zz")  # sent as is (requests would re-quote it)
    r = conn.getresponse()
    assert r.status == 400
    assert json.loads(r.read())["parameter"] == "url"
    conn.close()


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


def read_status(sock):
    data = b""
    sock.settimeout(10)
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1") else None


def test_oversized_body_is_413_before_it_is_read(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (2 << 20))
        assert read_status(s) == 413  # answered without sending a byte of the body
    assert requests.get(server.url + "/health").status_code == 200


def test_oversized_chunked_body_is_413(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"y" * 65536
        for _ in range(20):  # 1.25 MiB against a 1 MiB limit, no length declared
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        s.sendall(b"0\r\n\r\n")
        assert read_status(s) == 413
    assert requests.get(server.url + "/health").status_code == 200


def test_body_under_the_limit_is_accepted(server):
    r = requests.post(server.url + "/", data=b"x" * 1000)
    assert r.status_code == 405  # read whole, then routed: / is GET only


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
    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=2) for _ in range(30)]
    statuses = []
    try:
        time.sleep(0.3)
        for c in socks:
            c.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in socks:
            try:
                statuses.append(read_status(c))
            except (ConnectionResetError, socket.timeout):
                statuses.append(None)
    finally:
        for c in socks:
            c.close()
    # Up to the limit served; past it a quick 503 (Retry-After), not a hang.
    assert statuses.count(200) <= 16
    assert statuses.count(503) >= 30 - 16 - 2
    assert set(statuses) <= {200, 503}
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
