"""The integration suite's fixtures (a real `nadir serve` on a free port over the demo data), reused as they are,
plus the checks every security test makes of an answer: a clean 4xx in the protocol's own format, nothing leaked."""
import importlib.util
import os
import re

import pytest
from lxml import etree

_spec = importlib.util.spec_from_file_location(
    "nadir_integration_conftest", os.path.join(os.path.dirname(__file__), "..", "integration", "conftest.py"))
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)

# pytest finds fixtures by name in this module
demo_dir = integration.demo_dir
server = integration.server
make_server = integration.make_server
close_clients_between_tests = integration.close_clients_between_tests
Server = integration.Server
server_config = integration.server_config

# What a server-side path or an internal error looks like in a body: never shown to a client. The tests' own
# inputs (/etc/passwd, x.tif...) may be echoed in escaped form; the server's files all live under /tmp here.
LEAKS = re.compile(r"(/tmp/|pytest-of-|/usr/(lib|share)/|SQLITE_|sqlite3|syntax error|no such (column|table)|"
                   r"CPLE_|ERROR \d+:|Traceback|AddressSanitizer|runtime error)")


def no_leak(r, demo):
    body = r.content.decode("utf-8", "replace")
    assert demo not in body, body[:500]
    m = LEAKS.search(body)
    assert not m, f"{m.group(0)!r} in {body[:600]}"


def ows_exception(r, demo, status=400):
    """An OWS ExceptionReport (or WMS ServiceExceptionReport) with the given status; its exception codes."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert "xml" in r.headers["Content-Type"], r.headers["Content-Type"]
    root = etree.fromstring(r.content, etree.XMLParser(resolve_entities=False, no_network=True))
    assert etree.QName(root).localname in ("ExceptionReport", "ServiceExceptionReport"), r.text[:300]
    no_leak(r, demo)
    return [e.get("exceptionCode") or e.get("code") for e in root.iter() if etree.QName(e).localname in
            ("Exception", "ServiceException")]


def problem(r, demo, status=400):
    """An application/problem+json body with the given status."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers["Content-Type"]
    body = r.json()
    assert body["status"] == status and body["type"], body
    no_leak(r, demo)
    return body


def client_error(r, demo):
    """Any clean 4xx: refused, never a crash (5xx) and nothing leaked."""
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    no_leak(r, demo)
