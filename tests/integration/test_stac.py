"""STAC API 1.0 over the SQLite catalogue, driven with requests the way pystac-client drives an API: open the
landing page, check conformance, list collections, search with every parameter and follow next links (GET hrefs
and POST bodies) to the end. Results are compared with a brute-force filter of the same synthetic items
(shapely for geometry)."""
import datetime as dt
import hashlib
import json
import os
import random
import subprocess
import urllib.parse

import pytest
import requests
from shapely.geometry import box, shape, Polygon, MultiPolygon

from conftest import NADIR, Server, server_config

KEY = "test-api-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
COLL = "synth"
N_ITEMS = 240
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def make_items():
    """Deterministic items: small polygons over the globe, some across the antimeridian (split RFC 7946 style),
    instants and intervals, properties with gaps for IS NULL."""
    rnd = random.Random(42)
    items = []
    for i in range(N_ITEMS):
        if i % 20 == 0:  # crosses 180°: two parts
            lat = rnd.uniform(-60, 60)
            w = rnd.uniform(175, 179)
            e = rnd.uniform(-179, -175)
            geom = {"type": "MultiPolygon", "coordinates": [
                [[[w, lat], [180, lat], [180, lat + 3], [w, lat + 3], [w, lat]]],
                [[[-180, lat], [e, lat], [e, lat + 3], [-180, lat + 3], [-180, lat]]]]}
        else:
            x, y = rnd.uniform(-178, 170), rnd.uniform(-80, 75)
            sx, sy = rnd.uniform(0.5, 6), rnd.uniform(0.5, 4)
            geom = {"type": "Polygon", "coordinates": [[[x, y], [x + sx, y], [x + sx, y + sy], [x, y + sy], [x, y]]]}
        start = T0 + dt.timedelta(hours=rnd.randrange(0, 24 * 365))
        props = {"platform": rnd.choice(["alpha-1", "alpha-2", "beta", "gamma_x"]), "gsd": rnd.choice([10, 20, 30, 60])}
        if i % 3 == 0:
            props["datetime"] = None
            props["start_datetime"] = iso(start)
            props["end_datetime"] = iso(start + dt.timedelta(days=rnd.randrange(1, 40)))
        else:
            props["datetime"] = iso(start)
        if i % 7:
            props["eo:cloud_cover"] = round(rnd.uniform(0, 100), 2)
        items.append({"type": "Feature", "stac_version": "1.0.0", "id": f"item-{i:04d}", "geometry": geom,
                      "properties": props, "assets": {"data": {"href": f"https://example.com/{i}.tif",
                                                                "roles": ["data"]}}})
    return items


ITEMS = make_items()


def span(it):
    p = it["properties"]
    if p.get("datetime"):
        t = parse_iso(p["datetime"])
        return t, t
    return parse_iso(p["start_datetime"]), parse_iso(p["end_datetime"])


@pytest.fixture(scope="module")
def stac(demo_dir, tmp_path_factory):
    cfg = server_config(demo_dir) + f"""catalog:
  transactions: true
  api_key: {KEY}
"""
    s = Server(str(tmp_path_factory.mktemp("stac")), cfg)
    coll = {"type": "Collection", "stac_version": "1.0.0", "id": COLL, "description": "Synthetic items",
            "license": "CC0-1.0", "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]},
                                              "temporal": {"interval": [["2024-01-01T00:00:00Z", None]]}},
            "keywords": ["synthetic", "test"]}
    r = requests.post(s.url + "/stac/collections", json=coll, headers=AUTH)
    assert r.status_code == 201, r.text
    r = requests.post(s.url + f"/stac/collections/{COLL}/items", headers=AUTH,
                      json={"type": "FeatureCollection", "features": ITEMS})
    assert r.status_code == 201, r.text
    yield s
    rc = s.stop()
    assert rc == 0, s.read_log()[-4000:]


def pages(url, params=None, body=None, max_pages=200):
    """Follows next links the way pystac-client does: GET href, or POST with the link's body."""
    out, n = [], 0
    if body is not None:
        r = requests.post(url, json=body)
    else:
        r = requests.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/geo+json")
        page = r.json()
        assert page["type"] == "FeatureCollection"
        assert page["numberReturned"] == len(page["features"])
        out.extend(page["features"])
        nxt = [l for l in page["links"] if l["rel"] == "next"]
        n += 1
        assert n < max_pages
        if not nxt:
            return out
        link = nxt[0]
        if link.get("method") == "POST":
            b = {**body, **link["body"]} if link.get("merge") else link["body"]
            r = requests.post(link["href"], json=b)
        else:
            r = requests.get(link["href"])


def ids_of(features):
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)), "an item came twice while paging"
    return set(ids)


def synth(features):
    return {i for i in ids_of(features) if i.startswith("item-")}


def brute(pred):
    return {it["id"] for it in ITEMS if pred(it)}


def wrapped_shape(geom):
    """The query geometry as the server understands it: parts past ±180° moved by 360°."""
    g = shape(geom)
    world = box(-180, -90, 180, 90)
    parts = [g.intersection(world)]
    for k in (-1, 1):
        from shapely.affinity import translate
        far = g.intersection(box(-180 + 360 * k, -90, 180 + 360 * k, 90))
        if not far.is_empty:
            parts.append(translate(far, -360 * k))
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p)
    return out


# ---------------------------------------------------------------- core, collections, structure

def test_landing_and_conformance(stac):
    r = requests.get(stac.url + "/stac")
    assert r.status_code == 200
    land = r.json()
    assert land["type"] == "Catalog" and land["stac_version"] == "1.0.0" and land["id"] and land["description"]
    rels = {l["rel"] for l in land["links"]}
    assert {"self", "root", "conformance", "data", "search", "service-desc", "service-doc", "child"} <= rels
    methods = {l.get("method") for l in land["links"] if l["rel"] == "search"}
    assert methods == {"GET", "POST"}
    conf = requests.get(stac.url + "/stac/conformance").json()["conformsTo"]
    for c in ("core", "item-search", "item-search#filter", "item-search#sort", "item-search#fields", "collections",
              "ogcapi-features"):
        assert f"https://api.stacspec.org/v1.0.0/{c}" in conf
    assert set(land["conformsTo"]) == set(conf)
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conf


def check_links(obj, rels):
    got = {l["rel"] for l in obj["links"]}
    assert rels <= got, (rels - got, obj.get("id"))
    for l in obj["links"]:
        assert l["href"].startswith("http://"), l


def check_collection(c):
    for k in ("type", "stac_version", "id", "description", "license", "extent", "links"):
        assert k in c, k
    assert c["type"] == "Collection"
    assert len(c["extent"]["spatial"]["bbox"][0]) == 4
    assert len(c["extent"]["temporal"]["interval"][0]) == 2
    check_links(c, {"self", "root", "parent", "items"})


def check_item(it):
    for k in ("type", "stac_version", "id", "geometry", "bbox", "properties", "links", "assets", "collection"):
        assert k in it, k
    assert it["type"] == "Feature"
    assert len(it["bbox"]) in (4, 6)
    p = it["properties"]
    assert "datetime" in p
    if p["datetime"] is None:
        assert parse_iso(p["start_datetime"]) <= parse_iso(p["end_datetime"])
    check_links(it, {"self", "root", "parent", "collection"})
    for name, a in it["assets"].items():
        assert isinstance(a["href"], str) and a["href"]
        assert isinstance(a.get("roles", []), list)


def test_configured_datasets_are_collections(stac, demo_dir):
    r = requests.get(stac.url + "/stac/collections")
    assert r.status_code == 200
    colls = {c["id"]: c for c in r.json()["collections"]}
    assert {"sst", "s2_demo", "dem_demo", COLL} <= set(colls)
    for c in colls.values():
        check_collection(c)
    sst = colls["sst"]
    assert sst["extent"]["temporal"]["interval"][0] == ["2025-01-01T00:00:00Z", "2025-01-31T00:00:00Z"]
    items = pages(stac.url + "/stac/collections/sst/items", params={"limit": 7})
    assert len(items) == 31
    days = sorted(i["properties"]["datetime"] for i in items)
    assert days[0] == "2025-01-01T00:00:00Z" and days[-1] == "2025-01-31T00:00:00Z"
    it = items[0]
    check_item(it)
    a = it["assets"]
    assert {"data", "thumbnail", "wcs", "opendap", "wms"} <= set(a)
    assert "thumbnail" in a["thumbnail"]["roles"] and "data" in a["data"]["roles"]
    assert a["opendap"]["href"] == stac.url.replace("127.0.0.1", "localhost") + "/opendap/sst" or \
        a["opendap"]["href"].endswith("/opendap/sst")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(a["wcs"]["href"]).query)
    assert q["REQUEST"] == ["GetCoverage"] and q["COVERAGEID"] == ["sst"]
    q = urllib.parse.parse_qs(urllib.parse.urlparse(a["thumbnail"]["href"]).query)
    assert q["REQUEST"] == ["GetMap"] and q["LAYERS"] == ["sst/sst"] and q["TIME"] == [it["properties"]["datetime"]]
    r = requests.get(a["thumbnail"]["href"])  # the preview is a map of this day
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.text
    assert requests.get(a["wcs"]["href"]).status_code == 200
    assert requests.get(a["opendap"]["href"] + ".das").status_code == 200
    # the data file comes through this server, its checksum its SHA-256 (multihash 0x12 0x20), the size its size
    assert a["data"]["href"].startswith("http") and a["data"]["href"].endswith(f"/stac/collections/sst/items/{it['id']}/file")
    r = requests.get(a["data"]["href"])
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-netcdf"
    with open(os.path.join(demo_dir, "sst", it["id"] + ".nc"), "rb") as f:
        assert r.content == f.read()
    assert a["data"]["file:checksum"] == "1220" + hashlib.sha256(r.content).hexdigest()
    assert a["data"]["file:size"] == len(r.content)
    p = it["properties"]
    assert p["proj:code"] == "EPSG:4326" and p["proj:shape"] == [104, 200]
    assert p["proj:transform"][:6] == [0.25, 0.0, -20.0, 0.0, -0.25, 66.0]
    assert p["cube:variables"]["sst"]["dimensions"] == ["time", "lat", "lon"]
    assert a["data"]["raster:bands"][0]["data_type"] == "int16"
    # the footprint is the valid (sea) data, not the box: land-masked SST covers less than its box
    g = shape(it["geometry"])
    assert g.is_valid and 0.3 * 50 * 26 < g.area < 0.95 * 50 * 26
    assert not g.contains(shape({"type": "Point", "coordinates": [10.0, 51.0]}))  # Germany is land
    assert g.contains(shape({"type": "Point", "coordinates": [-15.0, 50.0]}))  # the Atlantic is sea
    # the S2 scene: UTM 31N, its footprint reprojected to lon/lat near Toulouse
    s2 = pages(stac.url + "/stac/collections/s2_demo/items")
    assert len(s2) == 1
    p = s2[0]["properties"]
    assert p["proj:code"] == "EPSG:32631" and p["proj:shape"] == [1024, 1024]
    c = shape(s2[0]["geometry"]).centroid
    assert 0.5 < c.x < 2.5 and 43 < c.y < 44.5
    assert [b["name"] for b in s2[0]["assets"]["data"]["eo:bands"]] and len(s2[0]["assets"]["data"]["raster:bands"]) == 4


def test_items_and_item(stac):
    r = requests.get(stac.url + f"/stac/collections/{COLL}/items/item-0007")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/geo+json")
    it = r.json()
    check_item(it)
    assert it["collection"] == COLL and it["properties"] == ITEMS[7]["properties"]
    assert it["bbox"] == pytest.approx(list(shape(ITEMS[7]["geometry"]).bounds))
    crossing = requests.get(stac.url + f"/stac/collections/{COLL}/items/item-0020").json()
    assert crossing["bbox"][0] > crossing["bbox"][2]  # west > east across the antimeridian
    assert requests.get(stac.url + f"/stac/collections/{COLL}/items/nope").status_code == 404
    assert requests.get(stac.url + "/stac/collections/nope/items").status_code == 404
    got = pages(stac.url + f"/stac/collections/{COLL}/items", params={"limit": 50})
    assert synth(got) == {i["id"] for i in ITEMS}
    for f in got[:20]:
        check_item(f)


def test_queryables(stac):
    q = requests.get(stac.url + "/stac/queryables").json()
    assert q["type"] == "object" and {"id", "datetime", "geometry", "eo:cloud_cover", "platform", "gsd"} <= set(q["properties"])
    q = requests.get(stac.url + f"/stac/collections/{COLL}/queryables").json()
    assert q["properties"]["gsd"]["type"] == "integer" and q["properties"]["platform"]["type"] == "string"
    assert requests.get(stac.url + "/stac/collections/nope/queryables").status_code == 404


def test_collection_search(stac):
    ids = lambda r: {c["id"] for c in r.json()["collections"]}
    assert ids(requests.get(stac.url + "/stac/collections", params={"q": "SYNTHETIC items"})) == {COLL}
    assert "sst" in ids(requests.get(stac.url + "/stac/collections", params={"q": "temperature"}))
    got = ids(requests.get(stac.url + "/stac/collections", params={"bbox": "0,42,3,45"}))
    assert {"s2_demo", "sst", COLL} <= got and "dem_demo" not in got  # the DEM lies in the Alps
    got = ids(requests.get(stac.url + "/stac/collections", params={"datetime": "2025-01-10T00:00:00Z/.."}))
    assert "sst" in got


# ---------------------------------------------------------------- search against brute force

BBOXES = [(-10, 30, 20, 60), (170, -10, -170, 10), (-180, -90, 180, 90), (100, -50, 140, -20), (0, 0, 0.0001, 0.0001)]


@pytest.mark.parametrize("bb", BBOXES)
def test_search_bbox(stac, bb):
    w, s, e, n = bb
    q = box(w, s, e, n) if w <= e else box(w, s, 180, n).union(box(-180, s, e, n))
    want = brute(lambda it: shape(it["geometry"]).intersects(q))
    got = synth(pages(stac.url + "/stac/search", params={"bbox": ",".join(map(str, bb)), "collections": COLL,
                                                         "limit": 37}))
    assert got == want
    got = synth(pages(stac.url + "/stac/search", body={"bbox": list(bb), "collections": [COLL], "limit": 41}))
    assert got == want


HOLE = {"type": "Polygon", "coordinates": [[[-60, -40], [60, -40], [60, 40], [-60, 40], [-60, -40]],
                                           [[-40, -25], [40, -25], [40, 25], [-40, 25], [-40, -25]]]}
GEOMS = [
    HOLE,
    {"type": "Polygon", "coordinates": [[[170, -30], [190, -30], [190, 30], [170, 30], [170, -30]]]},  # past 180°
    {"type": "MultiPolygon", "coordinates": [[[[175, 0], [180, 0], [180, 50], [175, 50], [175, 0]]],
                                             [[[-180, 0], [-172, 0], [-172, 50], [-180, 50], [-180, 0]]]]},
    {"type": "Polygon", "coordinates": [[[-120, 10], [-60, 50], [-100, 60], [-120, 10]]]},  # a triangle, not its box
    {"type": "LineString", "coordinates": [[-170, -70], [160, 70]]},
    {"type": "Point", "coordinates": [ITEMS[5]["geometry"]["coordinates"][0][0][0] + 0.1,
                                      ITEMS[5]["geometry"]["coordinates"][0][0][1] + 0.1]},
]


@pytest.mark.parametrize("gi", range(len(GEOMS)))
def test_search_intersects(stac, gi):
    g = GEOMS[gi]
    q = wrapped_shape(g)
    want = brute(lambda it: shape(it["geometry"]).intersects(q))
    got = synth(pages(stac.url + "/stac/search", body={"intersects": g, "collections": [COLL], "limit": 50}))
    assert got == want
    got = synth(pages(stac.url + "/stac/search", params={"intersects": json.dumps(g), "collections": COLL}))
    assert got == want
    if gi == 0:  # the hole matters: items inside it are not found, and some exist
        inside = brute(lambda it: shape(it["geometry"]).within(box(-40, -25, 40, 25)))
        assert inside and not (inside & got)


DATETIMES = ["2024-03-01T00:00:00Z/2024-04-01T00:00:00Z", "../2024-02-01T00:00:00Z", "2024-12-01T00:00:00Z/..",
             "2024-12-01T00:00:00Z/", "/2024-01-15T00:00:00Z", "2024-06-01/2024-06-10", None]


@pytest.mark.parametrize("d", DATETIMES)
def test_search_datetime(stac, d):
    if d is None:  # an instant: the datetime of one item
        d = ITEMS[1]["properties"]["datetime"]
        lo = hi = parse_iso(d)
    else:
        a, b = d.split("/")
        lo = dt.datetime.min.replace(tzinfo=dt.timezone.utc) if a in ("", "..") else (
            parse_iso(a) if "T" in a else dt.datetime.fromisoformat(a).replace(tzinfo=dt.timezone.utc))
        hi = dt.datetime.max.replace(tzinfo=dt.timezone.utc) if b in ("", "..") else (
            parse_iso(b) if "T" in b else dt.datetime.fromisoformat(b).replace(tzinfo=dt.timezone.utc)
            + dt.timedelta(days=1) - dt.timedelta(milliseconds=1))
    want = brute(lambda it: span(it)[0] <= hi and span(it)[1] >= lo)
    assert want
    got = synth(pages(stac.url + "/stac/search", params={"datetime": d, "collections": COLL, "limit": 100}))
    assert got == want
    got = synth(pages(stac.url + "/stac/search", body={"datetime": d, "collections": [COLL], "limit": 100}))
    assert got == want


def test_search_ids_collections_limit(stac):
    want = {"item-0003", "item-0100", "item-0199"}
    r = requests.get(stac.url + "/stac/search", params={"ids": ",".join(sorted(want))}).json()
    assert {f["id"] for f in r["features"]} == want and r["numberMatched"] == 3
    r = requests.get(stac.url + "/stac/search", params={"collections": "sst", "limit": 5}).json()
    assert len(r["features"]) == 5 and r["numberMatched"] == 31 and r["context"]["limit"] == 5
    assert all(f["collection"] == "sst" for f in r["features"])
    r = requests.get(stac.url + "/stac/search", params={"collections": "sst,dem_demo", "limit": 100}).json()
    assert r["numberMatched"] == 32 and {f["collection"] for f in r["features"]} == {"sst", "dem_demo"}


# ---------------------------------------------------------------- CQL2 against brute force

def cc(it):
    return it["properties"].get("eo:cloud_cover")


FILTERS = [
    ("eo:cloud_cover < 20", {"op": "<", "args": [{"property": "eo:cloud_cover"}, 20]},
     lambda it: cc(it) is not None and cc(it) < 20),
    ("gsd = 10 AND platform <> 'beta'",
     {"op": "and", "args": [{"op": "=", "args": [{"property": "gsd"}, 10]},
                            {"op": "<>", "args": [{"property": "platform"}, "beta"]}]},
     lambda it: it["properties"]["gsd"] == 10 and it["properties"]["platform"] != "beta"),
    ("platform LIKE 'alpha%' OR gsd >= 60",
     {"op": "or", "args": [{"op": "like", "args": [{"property": "platform"}, "alpha%"]},
                           {"op": ">=", "args": [{"property": "gsd"}, 60]}]},
     lambda it: it["properties"]["platform"].startswith("alpha") or it["properties"]["gsd"] >= 60),
    ("platform LIKE 'gamma\\_x'", {"op": "like", "args": [{"property": "platform"}, "gamma\\_x"]},
     lambda it: it["properties"]["platform"] == "gamma_x"),
    ("eo:cloud_cover BETWEEN 10 AND 30", {"op": "between", "args": [{"property": "eo:cloud_cover"}, 10, 30]},
     lambda it: cc(it) is not None and 10 <= cc(it) <= 30),
    ("gsd IN (20, 30)", {"op": "in", "args": [{"property": "gsd"}, [20, 30]]},
     lambda it: it["properties"]["gsd"] in (20, 30)),
    ("NOT (gsd IN (20, 30)) AND eo:cloud_cover IS NOT NULL",
     {"op": "and", "args": [{"op": "not", "args": [{"op": "in", "args": [{"property": "gsd"}, [20, 30]]}]},
                            {"op": "not", "args": [{"op": "isNull", "args": [{"property": "eo:cloud_cover"}]}]}]},
     lambda it: it["properties"]["gsd"] not in (20, 30) and cc(it) is not None),
    ("eo:cloud_cover IS NULL", {"op": "isNull", "args": [{"property": "eo:cloud_cover"}]}, lambda it: cc(it) is None),
    ("S_INTERSECTS(geometry, POLYGON((-60 -40, 60 -40, 60 40, -60 40, -60 -40), (-40 -25, 40 -25, 40 25, -40 25, -40 -25)))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, HOLE]},
     lambda it: shape(it["geometry"]).intersects(shape(HOLE))),
    ("S_WITHIN(geometry, BBOX(-180, -90, 0, 0))",
     {"op": "s_within", "args": [{"property": "geometry"}, {"bbox": [-180, -90, 0, 0]}]},
     lambda it: shape(it["geometry"]).within(box(-180, -90, 0, 0))),
    ("S_DISJOINT(geometry, BBOX(-180, -90, 0, 90))",
     {"op": "s_disjoint", "args": [{"property": "geometry"}, {"bbox": [-180, -90, 0, 90]}]},
     lambda it: shape(it["geometry"]).disjoint(box(-180, -90, 0, 90))),
    ("T_INTERSECTS(datetime, INTERVAL('2024-05-01T00:00:00Z', '2024-06-01T00:00:00Z'))",
     {"op": "t_intersects", "args": [{"property": "datetime"},
                                     {"interval": ["2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z"]}]},
     lambda it: span(it)[0] <= parse_iso("2024-06-01T00:00:00Z") and span(it)[1] >= parse_iso("2024-05-01T00:00:00Z")),
    ("T_BEFORE(datetime, TIMESTAMP('2024-02-01T00:00:00Z'))",
     {"op": "t_before", "args": [{"property": "datetime"}, {"timestamp": "2024-02-01T00:00:00Z"}]},
     lambda it: span(it)[1] < parse_iso("2024-02-01T00:00:00Z")),
    ("T_AFTER(datetime, INTERVAL('2024-01-01T00:00:00Z', '2024-11-01T00:00:00Z'))",
     {"op": "t_after", "args": [{"property": "datetime"}, {"interval": ["2024-01-01T00:00:00Z", "2024-11-01T00:00:00Z"]}]},
     lambda it: span(it)[0] > parse_iso("2024-11-01T00:00:00Z")),
    ("T_DURING(datetime, INTERVAL('2024-03-01T00:00:00Z', '2024-05-01T00:00:00Z'))",
     {"op": "t_during", "args": [{"property": "datetime"}, {"interval": ["2024-03-01T00:00:00Z", "2024-05-01T00:00:00Z"]}]},
     lambda it: span(it)[0] > parse_iso("2024-03-01T00:00:00Z") and span(it)[1] < parse_iso("2024-05-01T00:00:00Z")),
    ("datetime >= TIMESTAMP('2024-10-01T00:00:00Z') AND collection = 'synth'",
     {"op": "and", "args": [{"op": ">=", "args": [{"property": "datetime"}, {"timestamp": "2024-10-01T00:00:00Z"}]},
                            {"op": "=", "args": [{"property": "collection"}, "synth"]}]},
     lambda it: it["properties"]["datetime"] is not None and parse_iso(it["properties"]["datetime"]) >= parse_iso("2024-10-01T00:00:00Z")),
    ("id IN ('item-0001', 'item-0002') OR (gsd = 60 AND eo:cloud_cover > 90)",
     {"op": "or", "args": [{"op": "in", "args": [{"property": "id"}, ["item-0001", "item-0002"]]},
                           {"op": "and", "args": [{"op": "=", "args": [{"property": "gsd"}, 60]},
                                                  {"op": ">", "args": [{"property": "eo:cloud_cover"}, 90]}]}]},
     lambda it: it["id"] in ("item-0001", "item-0002") or (it["properties"]["gsd"] == 60 and (cc(it) or 0) > 90)),
]


def _wkt_ring(ring):
    return "(" + ", ".join(f"{x!r} {y!r}" for x, y in ring) + ")"


def _more_operators():
    """The other CQL2 spatial and temporal operators, with literals made from one item so that each has matches:
    the equalities of the temporal ones (meets, starts, finishes, equals) are exact instants of an item."""
    out = []
    it = ITEMS[1]
    ring = it["geometry"]["coordinates"][0]
    (x0, y0), (x1, _), (_, y1) = ring[0], ring[1], ring[2]
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    east = [[x1, y0], [x1 + 5, y0], [x1 + 5, y1], [x1, y1], [x1, y0]]  # shares item-0001's east edge
    half = [[cx, cy], [x1 + 1, cy], [x1 + 1, y1 + 1], [cx, y1 + 1], [cx, cy]]
    spatial = [
        ("s_contains", f"POINT({cx!r} {cy!r})", {"type": "Point", "coordinates": [cx, cy]}),
        ("s_equals", f"POLYGON({_wkt_ring(ring)})", it["geometry"]),
        ("s_touches", f"POLYGON({_wkt_ring(east)})", {"type": "Polygon", "coordinates": [east]}),
        ("s_crosses", f"LINESTRING({x0 - 1!r} {cy!r}, {x1 + 1!r} {cy!r})",
         {"type": "LineString", "coordinates": [[x0 - 1, cy], [x1 + 1, cy]]}),
        ("s_overlaps", f"POLYGON({_wkt_ring(half)})", {"type": "Polygon", "coordinates": [half]}),
    ]
    for op, wkt, g in spatial:
        method = op[2:]
        out.append((f"{op.upper()}(geometry, {wkt})", {"op": op, "args": [{"property": "geometry"}, g]},
                    lambda item, m=method, q=shape(g): getattr(shape(item["geometry"]), m)(q)))
    iv = next(i for i in ITEMS if i["properties"].get("start_datetime"))
    A, B = span(iv)
    h, d = dt.timedelta(hours=1), dt.timedelta(days=1)
    temporal = [  # operator, literal interval, the rule on the item's [s, e] and the literal's [a, b]
        ("t_contains", (A + h, A + 2 * h), lambda s, e, a, b: s < a and e > b),
        ("t_disjoint", (A, B), lambda s, e, a, b: e < a or s > b),
        ("t_equals", (A, B), lambda s, e, a, b: s == a and e == b),
        ("t_finishedby", (A + h, B), lambda s, e, a, b: s < a and e == b),
        ("t_finishes", (A - d, B), lambda s, e, a, b: s > a and e == b),
        ("t_meets", (B, B + d), lambda s, e, a, b: e == a),
        ("t_metby", (A - d, A), lambda s, e, a, b: s == b),
        ("t_overlappedby", (A - d, A + h), lambda s, e, a, b: a < s < b < e),
        ("t_overlaps", (A + h, B + d), lambda s, e, a, b: s < a < e < b),
        ("t_startedby", (A, B - h), lambda s, e, a, b: s == a and e > b),
        ("t_starts", (A, B + d), lambda s, e, a, b: s == a and e < b),
    ]
    for op, (a, b), rule in temporal:
        out.append((f"{op.upper()}(datetime, INTERVAL('{iso(a)}', '{iso(b)}'))",
                    {"op": op, "args": [{"property": "datetime"}, {"interval": [iso(a), iso(b)]}]},
                    lambda item, r=rule, a=a, b=b: r(*span(item), a, b)))
    return out


MORE_OPERATORS = _more_operators()
FILTERS += MORE_OPERATORS


def test_more_operators_have_matches():
    """Each added operator case selects some items and leaves others, so its test can fail."""
    for text, _, pred in MORE_OPERATORS:
        assert 0 < len(brute(pred)) < N_ITEMS, text


@pytest.mark.parametrize("fi", range(len(FILTERS)))
def test_filter(stac, fi):
    text, js, pred = FILTERS[fi]
    want = brute(pred)
    got = synth(pages(stac.url + "/stac/search", params={"filter": text, "filter-lang": "cql2-text",
                                                         "collections": COLL, "limit": 100}))
    assert got == want, text
    got = synth(pages(stac.url + "/stac/search", body={"filter": js, "filter-lang": "cql2-json",
                                                       "collections": [COLL], "limit": 100}))
    assert got == want, text
    # pystac-client in GET mode sends a cql2-json filter as a JSON string
    got = synth(pages(stac.url + "/stac/search", params={"filter": json.dumps(js), "filter-lang": "cql2-json",
                                                         "collections": COLL, "limit": 100}))
    assert got == want, text
    # and the collection's items endpoint filters the same way
    got = synth(pages(stac.url + f"/stac/collections/{COLL}/items", params={"filter": text, "limit": 100}))
    assert got == want, text


# ---------------------------------------------------------------- sort, fields, paging

def test_sort(stac):
    feats = pages(stac.url + "/stac/search", body={"collections": [COLL], "limit": 23, "sortby": [
        {"field": "properties.gsd", "direction": "desc"}, {"field": "id", "direction": "asc"}]})
    got = [f["id"] for f in feats]
    want = [it["id"] for it in sorted(ITEMS, key=lambda it: (-it["properties"]["gsd"], it["id"]))]
    assert got == want
    feats = pages(stac.url + "/stac/search", params={"collections": COLL, "limit": 29, "sortby": "-eo:cloud_cover"})
    got = [f["id"] for f in feats]
    have = sorted([it for it in ITEMS if cc(it) is not None], key=lambda it: -cc(it))
    assert got[:len(have)] == [it["id"] for it in have]  # missing values last in descending order
    assert set(got[len(have):]) == brute(lambda it: cc(it) is None)
    feats = pages(stac.url + "/stac/search", params={"collections": COLL, "limit": 31, "sortby": "+datetime"})
    starts = [span(next(i for i in ITEMS if i["id"] == f["id"]))[0] for f in feats]
    assert starts == sorted(starts) and len(feats) == N_ITEMS


def test_fields(stac):
    r = requests.post(stac.url + "/stac/search", json={"collections": [COLL], "limit": 3, "fields": {
        "include": ["properties.gsd", "bbox"], "exclude": ["assets"]}}).json()
    for f in r["features"]:
        assert set(f) <= {"type", "id", "stac_version", "collection", "links", "properties", "bbox"}
        assert set(f["properties"]) == {"gsd"} and "assets" not in f and "geometry" not in f
    r = requests.get(stac.url + "/stac/search", params={"collections": COLL, "limit": 3,
                                                         "fields": "-geometry,-properties.platform"}).json()
    for f in r["features"]:
        assert "geometry" not in f and "platform" not in f["properties"] and "gsd" in f["properties"]


def test_paging_stable_while_adding(stac):
    url = stac.url + "/stac/search"
    body = {"collections": [COLL], "limit": 40, "sortby": [{"field": "id", "direction": "asc"}]}
    r = requests.post(url, json=body).json()
    seen = [f["id"] for f in r["features"]]
    # items added between pages: before and after the position reached
    extra = []
    for name in ("item-0000a", "zz-late"):
        it = json.loads(json.dumps(ITEMS[1]))
        it["id"] = name
        extra.append(name)
        assert requests.post(stac.url + f"/stac/collections/{COLL}/items", json=it, headers=AUTH).status_code == 201
    try:
        nxt = [l for l in r["links"] if l["rel"] == "next"][0]
        rest = pages(nxt["href"], body=nxt["body"])
        allids = seen + [f["id"] for f in rest]
        assert len(allids) == len(set(allids))
        assert set(i["id"] for i in ITEMS) <= set(allids)
        assert "zz-late" in allids and "item-0000a" not in allids  # after the position: seen; before: not
    finally:
        for name in extra:
            requests.delete(stac.url + f"/stac/collections/{COLL}/items/{name}", headers=AUTH)


def test_token_refused_when_forged(stac):
    r = requests.get(stac.url + "/stac/search", params={"collections": COLL, "limit": 5}).json()
    href = [l for l in r["links"] if l["rel"] == "next"][0]["href"]
    token = urllib.parse.parse_qs(urllib.parse.urlparse(href).query)["token"][0]
    payload, mac = token.split(".")
    import base64
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["r"] = 1
    forged = base64.urlsafe_b64encode(json.dumps(raw, separators=(",", ":")).encode()).decode().rstrip("=") + "." + mac
    for bad in (forged, token + "x", "abc", token.replace(".", "")):
        r = requests.get(stac.url + "/stac/search", params={"collections": COLL, "limit": 5, "token": bad})
        assert r.status_code == 400 and r.json()["parameter"] == "token", bad
    # a genuine token used for another query is refused too
    r = requests.get(stac.url + "/stac/search", params={"collections": "sst", "limit": 5, "token": token})
    assert r.status_code == 400 and r.json()["parameter"] == "token"
    assert requests.get(href).status_code == 200


# ---------------------------------------------------------------- transactions

def test_transactions(stac):
    url = stac.url + f"/stac/collections/{COLL}/items"
    it = json.loads(json.dumps(ITEMS[2]))
    it["id"] = "tx-1"
    assert requests.post(url, json=it).status_code == 401
    r = requests.post(url, json=it, headers={"Authorization": "Bearer wrong-key-0000000"})
    assert r.status_code == 403 and r.headers["Content-Type"] == "application/problem+json"
    r = requests.post(url, json=it, headers={"X-API-Key": KEY})
    assert r.status_code == 201 and r.json()["id"] == "tx-1"
    assert requests.post(url, json=it, headers=AUTH).status_code == 400  # exists
    it["properties"]["gsd"] = 999
    assert requests.put(url + "/tx-1", json=it, headers=AUTH).status_code == 200
    assert requests.get(url + "/tx-1").json()["properties"]["gsd"] == 999
    r = requests.patch(url + "/tx-1", json={"properties": {"platform": "patched", "gsd": None}}, headers=AUTH)
    assert r.status_code == 200
    got = requests.get(url + "/tx-1").json()["properties"]
    assert got["platform"] == "patched" and "gsd" not in got
    r = requests.get(stac.url + "/stac/search", params={"filter": "platform = 'patched'"}).json()
    assert [f["id"] for f in r["features"]] == ["tx-1"]
    assert requests.put(url + "/other", json=it, headers=AUTH).status_code == 400  # id differs from the path
    assert requests.delete(url + "/tx-1").status_code == 401
    assert requests.delete(url + "/tx-1", headers=AUTH).status_code == 204
    assert requests.get(url + "/tx-1").status_code == 404
    assert requests.delete(url + "/tx-1", headers=AUTH).status_code == 404
    # a collection's whole life
    c = {"type": "Collection", "stac_version": "1.0.0", "id": "tmpc", "description": "d", "license": "other",
         "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}, "temporal": {"interval": [[None, None]]}}}
    assert requests.post(stac.url + "/stac/collections", json=c, headers=AUTH).status_code == 201
    it["id"] = "in-tmpc"
    assert requests.post(stac.url + "/stac/collections/tmpc/items", json=it, headers=AUTH).status_code == 201
    r = requests.patch(stac.url + "/stac/collections/tmpc", json={"title": "Temporary"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["title"] == "Temporary"
    assert requests.delete(stac.url + "/stac/collections/tmpc", headers=AUTH).status_code == 204
    assert requests.get(stac.url + "/stac/collections/tmpc").status_code == 404
    assert requests.get(stac.url + "/stac/search", params={"ids": "in-tmpc"}).json()["features"] == []


def test_transactions_off_by_default(server):
    # the shared demo server has no catalog section: no writes at all
    r = requests.post(server.url + "/stac/collections/sst/items", json={"type": "Feature"})
    assert r.status_code == 405
    assert requests.get(server.url + "/stac/collections/sst").status_code == 200


# ---------------------------------------------------------------- bad input

BAD = [
    ("GET", "/stac/search?bbox=1,2,3", None, "bbox"),
    ("GET", "/stac/search?bbox=a,b,c,d", None, "bbox"),
    ("GET", "/stac/search?bbox=0,10,5,5", None, "bbox"),
    ("GET", "/stac/search?datetime=yesterday", None, "datetime"),
    ("GET", "/stac/search?datetime=2024-02-30T00:00:00Z", None, "datetime"),
    ("GET", "/stac/search?datetime=2024-05-01T00:00:00Z/2024-01-01T00:00:00Z", None, "datetime"),
    ("GET", "/stac/search?datetime=../..", None, "datetime"),
    ("GET", "/stac/search?limit=0", None, "limit"),
    ("GET", "/stac/search?limit=1000000000", None, "limit"),
    ("GET", "/stac/search?limit=ten", None, "limit"),
    ("GET", "/stac/search?intersects={bad", None, "intersects"),
    ("GET", "/stac/search?intersects=" + urllib.parse.quote(json.dumps(
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]})), None, "intersects"),
    ("GET", "/stac/search?filter=gsd%20%3D", None, "filter"),
    ("GET", "/stac/search?filter=nosuchprop%20%3D%201", None, "filter"),
    ("GET", "/stac/search?filter=gsd%20%3D%201%3B%20DROP%20TABLE%20items", None, "filter"),
    ("GET", "/stac/search?filter=" + urllib.parse.quote("\"x\\\" = 1"), None, "filter"),
    ("GET", "/stac/search?filter-lang=sql", None, "filter-lang"),
    ("GET", "/stac/search?sortby=nosuch", None, "sortby"),
    ("GET", "/stac/search?token=AAAA.BBBB", None, "token"),
    ("POST", "/stac/search", "{not json", "body"),
    ("POST", "/stac/search", "[1,2]", "body"),
    ("POST", "/stac/search", {"bbox": [1, 2, 3]}, "bbox"),
    ("POST", "/stac/search", {"limit": 0}, "limit"),
    ("POST", "/stac/search", {"limit": "5"}, "limit"),
    ("POST", "/stac/search", {"filter": {"op": "=", "args": [{"property": "gsd"}]}, "filter-lang": "cql2-json"}, "filter"),
    ("POST", "/stac/search", {"filter": {"op": "drop", "args": []}}, "filter"),
    ("POST", "/stac/search", {"filter": {"op": "=", "args": [{"property": "x'; --"}, 1]}}, "filter"),
    ("POST", "/stac/search", {"intersects": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}}, "intersects"),
    ("POST", "/stac/search", {"intersects": {"type": "Point", "coordinates": [0, 100]}}, "intersects"),
    ("POST", "/stac/search", {"sortby": [{"field": "gsd", "direction": "up"}]}, "sortby"),
    ("POST", "/stac/search", {"ids": "item-1"}, "ids"),
    ("POST", "/stac/search", {"datetime": 5}, "datetime"),
    ("POST", "/stac/search", {"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}}, "intersects"),
    ("GET", "/stac/collections?bbox=1,2", None, "bbox"),
    ("GET", "/stac/collections?datetime=x", None, "datetime"),
]


@pytest.mark.parametrize("bi", range(len(BAD)))
def test_bad_input(stac, bi):
    method, path, body, param = BAD[bi]
    if method == "GET":
        r = requests.get(stac.url + path)
    elif isinstance(body, str):
        r = requests.post(stac.url + path, data=body, headers={"Content-Type": "application/json"})
    else:
        r = requests.post(stac.url + path, json=body)
    assert r.status_code == 400, (path, body, r.text)
    assert r.headers["Content-Type"] == "application/problem+json"
    p = r.json()
    assert p["status"] == 400 and p["parameter"] == param and p["detail"], p
    # the store is intact afterwards
    assert requests.get(stac.url + f"/stac/collections/{COLL}/items/item-0001").status_code == 200


def test_bad_items_refused(stac):
    url = stac.url + f"/stac/collections/{COLL}/items"
    base = json.loads(json.dumps(ITEMS[4]))
    cases = [
        ({**base, "id": "b1", "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}}, "geometry"),
        ({**base, "id": "b2", "properties": {"datetime": "soon"}}, "properties.datetime"),
        ({**base, "id": "b3", "properties": {}}, "properties.datetime"),
        ({**base, "id": "b4", "type": "Nope"}, "type"),
        ({**base, "id": "b5", "collection": "other"}, "collection"),
    ]
    for it, param in cases:
        r = requests.post(url, json=it, headers=AUTH)
        assert r.status_code == 400 and r.json()["parameter"] == param, (param, r.text)
    # a batch with one bad item stores nothing
    good = {**base, "id": "batch-good"}
    r = requests.post(url, json={"type": "FeatureCollection", "features": [good, cases[0][0]]}, headers=AUTH)
    assert r.status_code == 400
    assert requests.get(url + "/batch-good").status_code == 404


# ---------------------------------------------------------------- nadir ingest

def write_swath(path):
    """A 2-D lat/lon swath crossing the antimeridian, tilted, with CF time coverage attributes."""
    import netCDF4
    import numpy as np
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("y", 40)
        nc.createDimension("x", 30)
        lat = nc.createVariable("lat", "f4", ("y", "x"))
        lon = nc.createVariable("lon", "f4", ("y", "x"))
        lat.units, lat.standard_name = "degrees_north", "latitude"
        lon.units, lon.standard_name = "degrees_east", "longitude"
        j, i = np.mgrid[0:40, 0:30]
        lat[:] = -10 + j * 0.5 + i * 0.1
        lo = 170 + i * 0.6 + j * 0.05
        lon[:] = np.where(lo > 180, lo - 360, lo)
        v = nc.createVariable("radiance", "f4", ("y", "x"))
        v[:] = np.ones((40, 30))
        nc.time_coverage_start = "2023-05-01T10:00:00Z"
        nc.time_coverage_end = "2023-05-01T10:05:00Z"


def test_ingest_cli(demo_dir, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    swath = data / "swath.nc"
    write_swath(str(swath))
    (data / "garbage.tif").write_bytes(b"this is not a raster")
    tif = os.path.join(demo_dir, "dem", "dem_demo.tif")
    os.symlink(tif, data / "dem.tif")
    db = str(tmp_path / "cat.db")
    run = lambda: subprocess.run([NADIR, "ingest", "--database", db, "--collection", "granules", str(data)],
                                 capture_output=True, text=True, timeout=120)
    r = run()
    assert r.returncode == 1, r.stderr  # one file failed
    assert "garbage.tif" in r.stderr and "skipped" in r.stderr
    assert "2 item(s) added" in r.stdout and "1 failed" in r.stdout
    assert "[########################################] 3/3 files" in r.stderr  # the progress bar ends full
    r = run()
    assert "0 item(s) added" in r.stdout and "2 unchanged" in r.stdout
    s = Server(str(tmp_path), f"""server:
  bind: 127.0.0.1
  threads: 2
catalog:
  database: {db}
datasets: []
""", name="ingested")
    try:
        it = requests.get(s.url + "/stac/collections/granules/items/swath").json()
        check_item(it)
        assert it["properties"]["start_datetime"] == "2023-05-01T10:00:00Z"
        g = shape(it["geometry"])
        assert it["geometry"]["type"] == "MultiPolygon" and g.is_valid  # cut at the antimeridian
        assert it["bbox"][0] > 160 and it["bbox"][2] < -160 and it["bbox"][0] > it["bbox"][2]
        # the outline is the tilted swath, not its box: a corner of the box lies outside
        assert not g.contains(shape({"type": "Point", "coordinates": [170.2, 11.5]}))
        assert g.contains(shape({"type": "Point", "coordinates": [179.0, 0.0]}))
        assert g.contains(shape({"type": "Point", "coordinates": [-178.0, 2.0]}))
        found = requests.get(s.url + "/stac/search", params={"bbox": "-179,1,-177,3"}).json()
        assert [f["id"] for f in found["features"]] == ["swath"]
        dem = requests.get(s.url + "/stac/collections/granules/items/dem_demo").json()  # the file a link names
        with open(tif, "rb") as f:
            assert dem["assets"]["data"]["file:checksum"] == "1220" + hashlib.sha256(f.read()).hexdigest()
        c = requests.get(s.url + "/stac/collections/granules").json()
        check_collection(c)
        assert c["extent"]["temporal"]["interval"][0][0] == "2023-05-01T10:00:00Z"
        # not served by any dataset: the data file only, through this server
        assert set(dem["assets"]) == {"data"}
        assert requests.get(dem["assets"]["data"]["href"]).content == open(tif, "rb").read()
        assert requests.get(it["assets"]["data"]["href"]).content == swath.read_bytes()
        assert_no_server_paths(s.url, ("granules",), [str(tmp_path), demo_dir])
    finally:
        assert s.stop() == 0
    # the same catalogue under a configuration that serves the DEM: its ingested item gains the dataset's
    # access points (WMS preview and layer, WCS, OPeNDAP) for its own box, and loses them when no longer served
    served = f"""server:
  bind: 127.0.0.1
  threads: 2
catalog:
  database: {db}
datasets:
  - id: dem
    source: {tif}
"""
    s = Server(str(tmp_path), served, name="served")
    try:
        dem = requests.get(s.url + "/stac/collections/granules/items/dem_demo").json()
        check_item(dem)
        a = dem["assets"]
        assert {"data", "thumbnail", "wms", "wcs", "opendap"} == set(a)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(a["thumbnail"]["href"]).query)
        assert q["REQUEST"] == ["GetMap"] and q["LAYERS"] == ["dem/elevation"]
        assert [float(v) for v in q["BBOX"][0].split(",")] == pytest.approx(dem["bbox"], abs=1e-6)
        r = requests.get(a["thumbnail"]["href"])
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/png" and r.content[:4] == b"\x89PNG"
        assert a["wms"]["wms:layers"] == ["dem/elevation"]
        r = requests.get(a["wcs"]["href"])
        assert r.status_code == 200 and r.content[:4] in (b"II*\x00", b"MM\x00*")
        r = requests.get(a["opendap"]["href"] + ".das")
        assert r.status_code == 200 and "Attributes" in r.text
        assert requests.get(a["data"]["href"]).content == open(tif, "rb").read()
        # the configured collection has its own item of the same file: both are catalogued
        assert requests.get(s.url + "/stac/collections/dem/items/dem_demo").status_code == 200
        swath_item = requests.get(s.url + "/stac/collections/granules/items/swath").json()
        assert set(swath_item["assets"]) == {"data"}
        assert_no_server_paths(s.url, ("granules", "dem"), [str(tmp_path), demo_dir])
    finally:
        assert s.stop() == 0
    s = Server(str(tmp_path), f"server:\n  bind: 127.0.0.1\n  threads: 2\ncatalog:\n  database: {db}\ndatasets: []\n",
               name="unserved")
    try:
        dem = requests.get(s.url + "/stac/collections/granules/items/dem_demo").json()
        assert set(dem["assets"]) == {"data"}
    finally:
        assert s.stop() == 0


def assert_no_server_paths(url, collections, paths):
    """No answer of the catalogue names a file:// URL or a directory of the server."""
    bodies = [requests.get(url + p).text for p in ("/stac", "/stac/collections", "/stac/search?limit=1000")]
    for c in collections:
        bodies.append(requests.get(url + f"/stac/collections/{c}").text)
        for f in pages(url + f"/stac/collections/{c}/items", params={"limit": 100}):
            bodies.append(json.dumps(f))
            bodies.append(requests.get(url + f"/stac/collections/{c}/items/{f['id']}").text)
    bodies.append(requests.post(url + "/stac/search", json={"fields": {"include": ["assets"]}}).text)
    for b in bodies:
        assert "file:/" not in b
        for p in paths:
            assert p not in b


def test_configuration_changes_follow(demo_dir, tmp_path):
    """A restart with another configuration: a dataset gone takes its collection along, a file gone its item,
    a new file adds one; the catalogue file is kept between the two runs."""
    import glob
    import shutil
    d = tmp_path / "sst"
    d.mkdir()
    files = sorted(glob.glob(os.path.join(demo_dir, "sst", "sst_*.nc")))[:4]
    for f in files[:3]:
        shutil.copy(f, d)
    base = f"""server:
  bind: 127.0.0.1
  threads: 2
datasets:
  - id: few
    source: {d}/sst_*.nc
"""
    s = Server(str(tmp_path), base + f"""  - id: dem
    source: {demo_dir}/dem/dem_demo.tif
""", name="first")
    try:
        ids = {c["id"] for c in requests.get(s.url + "/stac/collections").json()["collections"]}
        assert {"few", "dem"} <= ids  # (beside collections of other origins, e.g. job results)
        assert requests.get(s.url + "/stac/search", params={"collections": "few"}).json()["numberMatched"] == 3
    finally:
        assert s.stop() == 0
    os.remove(d / os.path.basename(files[0]))
    shutil.copy(files[3], d)
    s = Server(str(tmp_path), base, name="second")
    try:
        ids = {c["id"] for c in requests.get(s.url + "/stac/collections").json()["collections"]}
        assert "few" in ids and "dem" not in ids
        got = {f["id"] for f in requests.get(s.url + "/stac/search", params={"collections": "few"}).json()["features"]}
        assert got == {os.path.basename(f)[:-3] for f in files[1:4]}
    finally:
        assert s.stop() == 0


def test_pystac_client_requests(stac):
    """The parameters exactly as pystac-client's ItemSearch encodes them (GET: '+' sort and field prefixes,
    microsecond datetimes, limit=100; POST: dict sortby/fields and cql2-json), paged by its rules."""
    bb = (-10.0, 30.0, 20.0, 60.0)
    q = box(*bb)
    lo = parse_iso("2024-02-01T00:00:00Z")
    want = brute(lambda it: shape(it["geometry"]).intersects(q) and span(it)[1] >= lo)
    params = {"limit": 100, "bbox": ",".join(map(str, bb)), "datetime": "2024-02-01T00:00:00.000000Z/..",
              "collections": COLL, "sortby": "+id", "fields": "+id,+properties.gsd,-assets"}
    feats = pages(stac.url + "/stac/search", params=params)
    assert [f["id"] for f in feats] == sorted(want)
    assert all("assets" not in f and set(f["properties"]) == {"gsd"} for f in feats)
    body = {"limit": 2, "bbox": list(bb), "datetime": "2024-02-01T00:00:00Z/..", "collections": [COLL],
            "sortby": [{"field": "id", "direction": "desc"}], "fields": {"include": [], "exclude": []},
            "filter": {"op": ">=", "args": [{"property": "gsd"}, 20]}, "filter-lang": "cql2-json"}
    feats = pages(stac.url + "/stac/search", body=body)
    want2 = {i for i in want if next(it for it in ITEMS if it["id"] == i)["properties"]["gsd"] >= 20}
    assert [f["id"] for f in feats] == sorted(want2, reverse=True)
    # matched(): numberMatched of the first page
    r = requests.post(stac.url + "/stac/search", json={**body, "limit": 1}).json()
    assert r["numberMatched"] == len(want2) and r["context"]["matched"] == len(want2)


@pytest.mark.skipif(not os.environ.get("ND_SAMPLES_DIR"), reason="needs the r-cran-stars samples (make samples)")
def test_ingest_real_samples(tmp_path):
    """Real files: a Landsat 7 GeoTIFF in UTM 25S and a global OISST NetCDF (longitudes 0..360)."""
    stars = os.path.join(os.environ["ND_SAMPLES_DIR"], "stars/usr/lib/R/site-library/stars")
    tif, nc = os.path.join(stars, "tif/L7_ETMs.tif"), os.path.join(stars, "nc/reduced.nc")
    if not (os.path.exists(tif) and os.path.exists(nc)):
        pytest.skip("samples not unpacked")
    db = str(tmp_path / "s.db")
    r = subprocess.run([NADIR, "ingest", "--database", db, "--collection", "samples", "--quiet", tif, nc],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "2 item(s) added" in r.stdout, r.stderr
    s = Server(str(tmp_path), f"server:\n  bind: 127.0.0.1\n  threads: 2\ncatalog:\n  database: {db}\ndatasets: []\n",
               name="samples")
    try:
        l7 = requests.get(s.url + "/stac/collections/samples/items/L7_ETMs").json()
        check_item(l7)
        assert l7["properties"]["proj:code"] == "EPSG:31985" and l7["properties"]["proj:shape"] == [352, 349]
        assert [b["name"] for b in l7["assets"]["data"]["eo:bands"]] == [f"band{i}" for i in range(1, 7)]
        c = shape(l7["geometry"]).centroid  # Olinda, Brazil
        assert -35.0 < c.x < -34.8 and -8.1 < c.y < -7.9
        red = requests.get(s.url + "/stac/collections/samples/items/reduced").json()
        check_item(red)
        p = red["properties"]
        assert set(p["cube:variables"]) == {"sst", "anom", "err", "ice"}
        assert {"time", "zlev"} <= set(p["cube:dimensions"]) and p["cube:variables"]["sst"]["unit"] == "degree_C"
        assert p["datetime"] == "1981-12-31T00:00:00Z"
        assert red["bbox"][0] == -180 and red["bbox"][2] == 180  # global: one box, not an antimeridian pair
        found = requests.get(s.url + "/stac/search", params={"bbox": "170,-10,-170,10"}).json()["features"]
        assert [f["id"] for f in found] == ["reduced"]  # the Pacific has SST data
        found = requests.get(s.url + "/stac/search", params={"bbox": "-35,-8.1,-34.8,-7.9"}).json()["features"]
        assert "L7_ETMs" in {f["id"] for f in found}
    finally:
        assert s.stop() == 0
