"""OGC API Common: landing page in both forms, conformance, OpenAPI, collections with extents from the data."""
import glob
import os

import netCDF4
import numpy as np
import requests
from osgeo import gdal, osr

gdal.UseExceptions()


def test_landing_json(server):
    for r in (requests.get(server.url + "/?f=json"),
              requests.get(server.url + "/", headers={"Accept": "application/json"})):
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        doc = r.json()
        rels = {l["rel"]: l["href"] for l in doc["links"]}
        for rel in ("self", "service-desc", "conformance", "data"):
            assert rel in rels
        assert rels["data"] == server.url.replace("127.0.0.1", "127.0.0.1") + "/collections" or rels["data"].endswith("/collections")
        items = [l["href"] for l in doc["links"] if l["rel"] == "item"]
        assert sorted(h.rsplit("/", 1)[1] for h in items) == ["dem_demo", "s2_demo", "sst"]


def test_landing_html_for_browsers(server):
    r = requests.get(server.url + "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<h1>nadir</h1>" in r.text
    assert 'href="/collections/sst?f=html"' in r.text


def test_conformance(server):
    classes = requests.get(server.url + "/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections" in classes


def test_openapi_lists_routes(server):
    r = requests.get(server.url + "/openapi")
    assert r.headers["Content-Type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    assert doc["paths"]["/collections/{id}"]["get"]["parameters"][0]["name"] == "id"
    for path in ("/", "/conformance", "/collections", "/health", "/metrics"):
        assert path in doc["paths"]
    assert "/debug/sleep" not in doc["paths"]
    # every operation has an operationId, unique across the document (client generators need both)
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)) and all(ids)
    assert doc["paths"]["/processes/{id}/execution"]["post"]["operationId"] == "execute"  # as OGC's own OpenAPI
    assert doc["paths"]["/jobs/{jobId}"]["delete"]["operationId"] == "dismiss"
    assert doc["paths"]["/collections/{id}/map/tiles"]["get"]["operationId"] == "getCollectionsIdMapTiles"


def test_health(server):
    h = requests.get(server.url + "/health").json()
    assert h["status"] == "ok" and h["datasets"] == 3


def test_collections_list(server):
    doc = requests.get(server.url + "/collections").json()
    assert [c["id"] for c in doc["collections"]] == ["sst", "s2_demo", "dem_demo"]


def test_unknown_collection_404(server):
    r = requests.get(server.url + "/collections/nope")
    assert r.status_code == 404 and r.json()["parameter"] == "collectionId"


def wgs84_of(path):
    info = gdal.Info(path, format="json")
    return info["wgs84Extent"]["coordinates"][0], info


def test_geotiff_extent_equals_gdalinfo(server, demo_dir):
    c = requests.get(server.url + "/collections/s2_demo").json()
    path = os.path.join(demo_dir, "s2/s2_demo_10m.tif")
    ring, info = wgs84_of(path)
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    west, south, east, north = c["extent"]["spatial"]["bbox"][0]
    # gdalinfo's wgs84Extent transforms the 4 corners; ours densifies the edges, so it can only be wider.
    # (gdalinfo prints 7 decimals)
    assert west <= min(lons) + 1e-7 and east >= max(lons) - 1e-7
    assert south <= min(lats) + 1e-7 and north >= max(lats) - 1e-7
    assert abs(west - min(lons)) < 1e-3 and abs(north - max(lats)) < 1e-3
    assert c["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/32631"
    assert c["gridSize"] == {"width": info["size"][0], "height": info["size"][1]}
    assert [v["id"] for v in c["variables"]] == ["B02", "B03", "B04", "B08"]


def test_netcdf_aggregation_extent_and_time(server, demo_dir):
    c = requests.get(server.url + "/collections/sst").json()
    files = sorted(glob.glob(os.path.join(demo_dir, "sst/sst_*.nc")))
    with netCDF4.Dataset(files[0]) as nc:
        lat, lon = nc["lat"][:], nc["lon"][:]
        units = nc["sst"].units
    dlon, dlat = abs(lon[1] - lon[0]), abs(lat[1] - lat[0])
    west, south, east, north = c["extent"]["spatial"]["bbox"][0]
    assert np.isclose(west, lon.min() - dlon / 2) and np.isclose(east, lon.max() + dlon / 2)
    assert np.isclose(south, lat.min() - dlat / 2) and np.isclose(north, lat.max() + dlat / 2)
    dates = []
    for f in files:
        with netCDF4.Dataset(f) as nc:
            t = nc["time"]
            dates += [d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in netCDF4.num2date(t[:], t.units, getattr(t, "calendar", "standard"))]
    temporal = c["extent"]["temporal"]
    assert temporal["interval"] == [[dates[0], dates[-1]]]
    assert temporal["steps"] == len(dates) == len(files)
    sst = next(v for v in c["variables"] if v["id"] == "sst")
    assert sst["units"] == units
    assert [d["name"] for d in sst["dimensions"]] == ["time", "lat", "lon"]
    assert sst["dimensions"][0]["size"] == len(files)


def test_collection_html(server):
    r = requests.get(server.url + "/collections/sst?f=html")
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<code>sst</code>" in r.text
