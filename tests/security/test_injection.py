"""User text never becomes code: CQL2 (text and JSON), sortby, fields, ids and collections carrying SQL
metacharacters or expressions (GeoServer CVE-2024-36401 evaluated property paths as XPath/Java) are refused
with problem+json or matched literally, never run; and nesting past the CQL2 limits is refused (MapServer #7542)."""
import json

import pytest
import requests

from conftest import client_error, no_leak, problem

SQLI = ["' OR '1'='1", "x'); DROP TABLE items; --", "1; SELECT sqlite_version()", "\" OR 1=1 --",
        "properties) FROM items; --", "json_extract(content,'$')", "a\x00b", "%' --", "*", "`id`"]


def search_get(server, **params):
    return requests.get(server.url + "/stac/search", params=params, timeout=30)


def search_post(server, body):
    return requests.post(server.url + "/stac/search", json=body, timeout=30)


def all_count(server):
    return len(search_get(server, limit=1000).json()["features"])


@pytest.mark.parametrize("text", [
    "id = 'x'' OR 1=1 --'",                           # a quote inside a string stays in the string
    "id = 'x'' OR ''1''=''1'",
    "\"id') OR 1=1 --\" = 'a'",                       # a quoted property name is a name, and unknown
    "exec(java.lang.Runtime.getRuntime())",           # functions are not evaluated
    "getRuntime().exec('id') = 1",
    "id = sqlite_version()",
    "properties.id = 'a'') OR (''1''=''1'",
    "eo:cloud_cover < 10; DELETE FROM items",
    "id IN ('a', (SELECT id FROM items))",
    "S_INTERSECTS(geometry, POINT(0 0)) OR load_extension('x')",
])
def test_cql2_text_injection(server, demo_dir, text):
    total = all_count(server)
    for lang in ("cql2-text",):
        r = search_get(server, filter=text, **{"filter-lang": lang})
        if r.status_code == 200:  # parsed: then it matched literally, never everything
            assert len(r.json()["features"]) < max(total, 1) or total == 0, text
        else:
            problem(r, demo_dir)
    assert all_count(server) == total  # nothing was deleted


@pytest.mark.parametrize("js", [
    {"op": "=", "args": [{"property": "id') OR 1=1 --"}, "a"]},
    {"op": "=", "args": [{"property": "id"}, {"function": {"name": "exec", "args": ["id"]}}]},
    {"op": "=", "args": [{"property": "exec(java.lang.Runtime.getRuntime())"}, 1]},
    {"op": "sql", "args": ["1=1"]},
    {"op": "=", "args": [{"property": "id"}, {"property": "' OR 1=1"}]},
    {"op": "like", "args": [{"property": "id"}, "%' OR '1'='1"]},
])
def test_cql2_json_injection(server, demo_dir, js):
    total = all_count(server)
    r = search_post(server, {"filter": js, "filter-lang": "cql2-json", "limit": 1000})
    if r.status_code == 200:
        assert len(r.json()["features"]) < max(total, 1) or total == 0, js
    else:
        problem(r, demo_dir)


def nested_json(depth, op="not"):
    """The text of a filter nested depth deep (built as text: Python's encoder would recurse)."""
    return '{"op":"%s","args":[' % op * depth + '{"op":"=","args":[{"property":"id"},"a"]}' + "]}" * depth


@pytest.mark.parametrize("depth", [100, 1000, 5000, 100000])
@pytest.mark.parametrize("op", ["not", "and"])
def test_cql2_json_nesting(server, demo_dir, depth, op):
    body = '{"filter-lang":"cql2-json","filter":' + nested_json(depth, op) + "}"
    r = requests.post(server.url + "/stac/search", data=body, headers={"Content-Type": "application/json"}, timeout=30)
    problem(r, demo_dir, status=413 if len(body) > 1 << 20 else 400)  # the test server's max_body is 1 MiB
    # and as a GET parameter, as pystac-client sends it (a long URL may be refused by the HTTP layer: 414)
    r = search_get(server, filter=nested_json(min(depth, 1000), op), **{"filter-lang": "cql2-json"})
    client_error(r, demo_dir)


@pytest.mark.parametrize("depth", [100, 10000, 100000])
def test_cql2_text_nesting(server, demo_dir, depth):
    for text in ("(" * depth + "id = 'a'" + ")" * depth, "NOT " * depth + "id = 'a'",
                 "id IN (" + "(" * depth + "'a'" + ")" * depth + ")"):
        r = search_post(server, {"filter": text, "filter-lang": "cql2-text"})
        problem(r, demo_dir)
        r = search_get(server, filter=text[:20000])
        client_error(r, demo_dir)


@pytest.mark.parametrize("s", SQLI)
def test_sortby_fields_ids_collections(server, demo_dir, s):
    total = all_count(server)
    for params in ({"sortby": s}, {"sortby": "-" + s}, {"fields": s}, {"fields": "-" + s + ",id"}):
        r = search_get(server, **params)
        if r.status_code != 200:
            problem(r, demo_dir)
        else:
            no_leak(r, demo_dir)
    for body in ({"sortby": [{"field": s, "direction": "desc"}]}, {"sortby": [{"field": "id", "direction": s}]},
                 {"fields": {"include": [s], "exclude": [s]}}):
        r = search_post(server, body)
        if r.status_code != 200:
            problem(r, demo_dir)
        else:
            no_leak(r, demo_dir)
    # ids and collections are values: matched literally, so nothing matches
    for params in ({"ids": s}, {"collections": s}):
        r = search_get(server, **params)
        if r.status_code == 200:
            assert r.json()["features"] == [], params
        else:
            client_error(r, demo_dir)
    r = search_post(server, {"ids": [s], "collections": [s]})
    if r.status_code == 200:
        assert r.json()["features"] == []
    else:
        client_error(r, demo_dir)
    r = requests.get(server.url + "/stac/collections/" + requests.utils.quote(s, safe="") + "/items", timeout=30)
    client_error(r, demo_dir)
    assert all_count(server) == total
