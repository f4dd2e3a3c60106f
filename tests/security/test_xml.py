"""XML bodies (WPS and WCS POST): DOCTYPEs refused outright, whatever they carry (XXE, external DTDs, billion
laughs, in UTF-8 or UTF-16), and nesting past the limits, each answered with an OWS exception, quickly."""
import http.server
import threading
import time

import pytest
import requests

from conftest import ows_exception

WPS2 = "http://www.opengis.net/wps/2.0"
OWS2 = "http://www.opengis.net/ows/2.0"
WCS2 = "http://www.opengis.net/wcs/2.0"

WPS_CAPS = f'<wps:GetCapabilities xmlns:wps="{WPS2}" service="WPS">{{}}</wps:GetCapabilities>'
WCS_CAPS = f'<wcs:GetCapabilities xmlns:wcs="{WCS2}" service="WCS">{{}}</wcs:GetCapabilities>'
WPS_EXEC = (f'<wps:Execute xmlns:wps="{WPS2}" xmlns:ows="{OWS2}" service="WPS" version="2.0.0" mode="sync">'
            '<ows:Identifier>echo</ows:Identifier><wps:Input id="message"><wps:Data>{}</wps:Data></wps:Input>'
            '</wps:Execute>')

LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">' +
          "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)) +
          ']>')


class Hits(http.server.BaseHTTPRequestHandler):
    """Counts every request: an external DTD or entity fetched from here is a failure."""
    hits = []

    def do_GET(self):
        Hits.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/xml-dtd")
        self.end_headers()
        self.wfile.write(b'<!ENTITY ext "fetched">')

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def listener():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hits)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def bodies(listener):
    """(name, prologue, content): each is put before a valid request and into it."""
    return [
        ("xxe_file", '<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;"),
        ("xxe_http", f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{listener}/entity">]>', "&xxe;"),
        ("external_dtd", f'<!DOCTYPE r SYSTEM "{listener}/ext.dtd">', "&ext;"),
        ("parameter_entity", f'<!DOCTYPE r [<!ENTITY % p SYSTEM "{listener}/p.dtd"> %p;]>', "x"),
        ("billion_laughs", LAUGHS, "&lol9;"),
        ("quadratic_blowup", '<!DOCTYPE r [<!ENTITY a "' + "a" * 50000 + '">]>', "&a;" * 2000),
    ]


@pytest.mark.parametrize("service", ["wps_caps", "wps_exec", "wcs_caps"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_doctype_refused(server, demo_dir, listener, service, encoding):
    template = {"wps_caps": WPS_CAPS, "wps_exec": WPS_EXEC, "wcs_caps": WCS_CAPS}[service]
    url = server.url + ("/wcs" if service.startswith("wcs") else "/wps")
    Hits.hits.clear()
    for name, prologue, content in bodies(listener):
        doc = f'<?xml version="1.0" encoding="{encoding}"?>{prologue}{template.format(content)}'
        t = time.time()
        r = requests.post(url, data=doc.encode(encoding), headers={"Content-Type": "application/xml"}, timeout=30)
        assert time.time() - t < 5, f"{name}: {time.time() - t:.1f} s"
        ows_exception(r, demo_dir)
        assert "fetched" not in r.text and "root:" not in r.text and "lollol" not in r.text, name
        assert "DOCTYPE" in r.text, (name, r.text[:400])
    assert Hits.hits == []
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize("path,template", [("/wps", WPS_CAPS), ("/wcs", WCS_CAPS), ("/wps", WPS_EXEC)])
def test_deep_nesting(server, demo_dir, path, template):
    for depth in (300, 100000):
        doc = template.format("<a>" * depth + "</a>" * depth)
        r = requests.post(server.url + path, data=doc, headers={"Content-Type": "application/xml"}, timeout=30)
        ows_exception(r, demo_dir)


@pytest.mark.parametrize("path", ["/wps", "/wcs"])
def test_not_xml(server, demo_dir, path):
    for doc in (b"", b"<", b"\xff\xfe\x00", b"<a>" * 10, b"<?xml version='1.0'?><a xmlns:x='urn:a' x:b='1' x:b='2'/>"):
        r = requests.post(server.url + path, data=doc, headers={"Content-Type": "application/xml"}, timeout=30)
        ows_exception(r, demo_dir)
