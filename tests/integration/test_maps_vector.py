"""Vector layers (OGR sources drawn with Cairo) and configured RGB composites, through WMS, WMTS and XYZ, with
OWSLib and GDAL's WMS driver as the clients; and the start-up refusal of an unknown palette."""
import json
import math
import subprocess

import numpy as np
import pytest
import requests
from osgeo import gdal, ogr, osr
from owslib.wms import WebMapService
from owslib.wmts import WebMapTileService

from conftest import NADIR, Server, server_config
from test_wms import decode, get, getmap, s2_bbox, tiff

gdal.UseExceptions()
ogr.UseExceptions()

FILL = (255, 0, 0)
POINT = (0, 0, 255)


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory):
    """Two 10x10 degree squares (west, east) and two points, in a GeoPackage in EPSG:4326."""
    path = str(tmp_path_factory.mktemp("vec") / "features.gpkg")
    drv = ogr.GetDriverByName("GPKG")
    ds = drv.CreateDataSource(path)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    zones = ds.CreateLayer("zones", srs, ogr.wkbPolygon)
    zones.CreateField(ogr.FieldDefn("name", ogr.OFTString))
    zones.CreateField(ogr.FieldDefn("code", ogr.OFTInteger))
    for name, code, x0 in [("west", 1, 0), ("east", 2, 20)]:
        f = ogr.Feature(zones.GetLayerDefn())
        f.SetField("name", name)
        f.SetField("code", code)
        f.SetGeometry(ogr.CreateGeometryFromWkt(
            f"POLYGON(({x0} 40,{x0 + 10} 40,{x0 + 10} 50,{x0} 50,{x0} 40))"))
        zones.CreateFeature(f)
    sites = ds.CreateLayer("sites", srs, ogr.wkbPoint)
    sites.CreateField(ogr.FieldDefn("station", ogr.OFTString))
    for name, x, y in [("alpha", 15, 45), ("beta", 15, 42)]:
        f = ogr.Feature(sites.GetLayerDefn())
        f.SetField("station", name)
        f.SetGeometry(ogr.CreateGeometryFromWkt(f"POINT({x} {y})"))
        sites.CreateFeature(f)
    rivers = ds.CreateLayer("rivers", srs, ogr.wkbLineString)
    rivers.CreateField(ogr.FieldDefn("river", ogr.OFTString))
    f = ogr.Feature(rivers.GetLayerDefn())
    f.SetField("river", "straight")
    f.SetGeometry(ogr.CreateGeometryFromWkt("LINESTRING(0 48,30 48)"))
    rivers.CreateFeature(f)
    ds = None
    return path


STYLES = """styles:
  - name: red-zones
    layers: [vec/zones]
    default: true
    fill: "#ff0000"
    stroke: transparent
  - name: outlines
    layers: [vec/zones]
    fill: transparent
    stroke: "#000000"
    stroke_width: 3
    label: name
  - name: blue-sites
    layers: [vec/sites]
    default: true
    fill: "#0000ff"
    stroke: transparent
    point_size: 10
  - name: false-colour
    layers: [s2_demo/rgb]
    rgb: [B08, B04, B03]
    ranges: ["0,6000", "0,3000", "0,3000"]
  - name: stretched
    layers: [s2_demo/rgb]
    stretch: percentile
    percentiles: "2,98"
"""


@pytest.fixture(scope="module")
def srv(demo_dir, gpkg, tmp_path_factory):
    text = server_config(demo_dir) + f"""  - id: vec
    title: Vector features
    source: {gpkg}
""" + STYLES
    s = Server(str(tmp_path_factory.mktemp("vecsrv")), text)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def lonlat_pixel(lon, lat, bbox, w, h):
    return int((bbox[3] - lat) / (bbox[3] - bbox[1]) * h), int((lon - bbox[0]) / (bbox[2] - bbox[0]) * w)


def test_capabilities_list_vector_layers(srv):
    w = WebMapService(srv.url + "/wms", version="1.3.0")
    assert {"vec/zones", "vec/sites"} <= set(w.contents)
    z = w["vec/zones"]
    assert z.queryable
    assert z.boundingBoxWGS84 == pytest.approx((0, 40, 30, 50))
    assert {"default", "red-zones", "outlines"} <= set(z.styles)
    assert "2 polygons" in z.abstract


def test_polygons_filled_in_two_crs(srv):
    box = (0, 40, 30, 50)
    img = decode(getmap(srv, LAYERS="vec/zones", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300, HEIGHT=100,
                        TRANSPARENT="TRUE").content)
    for lon, lat in [(5, 45), (25, 45), (1, 41)]:
        assert tuple(img[lonlat_pixel(lon, lat, box, 300, 100)]) == FILL + (255,)
    assert img[lonlat_pixel(15, 45, box, 300, 100)][3] == 0  # between the squares: transparent
    # WMS 1.3.0 EPSG:4326 is lat/lon; BGCOLOR shows where there is no feature when not transparent
    img = decode(getmap(srv, LAYERS="vec/zones", CRS="EPSG:4326", BBOX="40,0,50,30", WIDTH=300, HEIGHT=100,
                        BGCOLOR="0x00FF00").content)
    assert tuple(img[lonlat_pixel(5, 45, box, 300, 100)][:3]) == FILL
    assert tuple(img[lonlat_pixel(15, 45, box, 300, 100)][:3]) == (0, 255, 0)
    # Web Mercator: the square's centre, projected, is filled
    x = 6378137 * math.radians(5)
    y = 6378137 * math.log(math.tan(math.pi / 4 + math.radians(45) / 2))
    img = decode(getmap(srv, LAYERS="vec/zones", CRS="EPSG:3857", BBOX=f"{x - 1e5},{y - 1e5},{x + 1e5},{y + 1e5}",
                        WIDTH=64, HEIGHT=64, TRANSPARENT="TRUE").content)
    assert (img[..., :3] == FILL).all()  # all inside the square (opaque: written as RGB)


def test_outline_style_and_points(srv):
    box = (0, 40, 30, 50)
    img = decode(getmap(srv, LAYERS="vec/zones", STYLES="outlines", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300,
                        HEIGHT=100, TRANSPARENT="TRUE").content)
    # the edge at lon 10 is stroked black, the inside left empty
    j, i = lonlat_pixel(10, 47.5, box, 300, 100)
    assert img[j, i - 1:i + 2, 3].max() == 255 and tuple(img[j, i][:3]) == (0, 0, 0)
    assert img[lonlat_pixel(3, 48, box, 300, 100)][3] == 0
    # the label (the `name` attribute) at the square's centre: dark text on a white halo, inside an unfilled square
    j, i = lonlat_pixel(5, 45, box, 300, 100)
    around = img[j - 8:j + 8, i - 20:i + 20]
    assert (around[..., 3] > 0).sum() > 30
    assert (around[..., :3].sum(axis=-1)[around[..., 3] > 128] < 200).any()  # dark glyph pixels
    plain = decode(getmap(srv, LAYERS="vec/zones", STYLES="outlines", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300,
                          HEIGHT=100, TRANSPARENT="TRUE").content)
    assert np.array_equal(plain, img)  # drawn the same way twice
    pts = decode(getmap(srv, LAYERS="vec/sites", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300, HEIGHT=100,
                        TRANSPARENT="TRUE").content)
    assert tuple(pts[lonlat_pixel(15, 45, box, 300, 100)]) == POINT + (255,)
    assert (pts[..., 3] > 0).sum() == pytest.approx(2 * math.pi * 25, rel=0.3)  # two discs of 10 px
    # both layers in one map: the points over the zones
    both = decode(getmap(srv, LAYERS="vec/zones,vec/sites", STYLES=",", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300,
                         HEIGHT=100, TRANSPARENT="TRUE").content)
    assert tuple(both[lonlat_pixel(15, 45, box, 300, 100)][:3]) == POINT
    assert tuple(both[lonlat_pixel(5, 45, box, 300, 100)][:3]) == FILL


def test_featureinfo_attributes(srv):
    q = dict(REQUEST="GetFeatureInfo", LAYERS="vec/zones,vec/sites", QUERY_LAYERS="vec/zones,vec/sites", STYLES="",
             CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300, HEIGHT=100, FEATURE_COUNT=5)
    r = get(srv, I=50, J=50, INFO_FORMAT="application/json", **q)  # lon 5, lat 45: inside "west"
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    assert [(f["layer"], f["properties"]["name"], f["properties"]["code"]) for f in feats] == [("vec/zones", "west", "1")]
    # 2 pixels from the point "alpha" at lon 15, lat 45: picked; nothing else there
    r = get(srv, I=152, J=50, INFO_FORMAT="application/json", **q)
    assert [f["properties"].get("station") for f in r.json()["features"]] == ["alpha"]
    r = get(srv, I=150, J=90, INFO_FORMAT="text/plain", **q)  # lon 15, lat 41: no feature
    assert r.status_code == 200 and "no feature here" in r.text
    r = get(srv, I=250, J=50, INFO_FORMAT="text/html", **q)
    assert "<td>east</td>" in r.text
    r = get(srv, I=250, J=50, INFO_FORMAT="text/xml", **q)
    assert '<Attribute name="name">east</Attribute>' in r.text


def test_vector_tiles_and_clients(srv, tmp_path):
    """A WebMercatorQuad tile of the zones (OWSLib WMTS) and GDAL's WMS driver reading the layer."""
    wmts = WebMapTileService(srv.url + "/wmts?SERVICE=WMTS&REQUEST=GetCapabilities")
    assert "vec:zones" in wmts.contents
    # zoom 3: the tile holding lon 5, lat 45 is column 4, row 2
    t = wmts.gettile(layer="vec:zones", tilematrixset="WebMercatorQuad", tilematrix="3", row=2, column=4,
                     format="image/png")
    img = decode(t.read())
    assert img.shape[:2] == (256, 256) and (img[..., 3] == 255).any() and (img[..., 3] == 0).any()
    xyz = requests.get(srv.url + "/tiles/vec:zones/3/4/2.png", timeout=30)
    assert xyz.status_code == 200 and np.array_equal(decode(xyz.content), img)
    # GDAL's WMS driver: a GeoTIFF with the right georeferencing and the fill where the square is
    url = (f"WMS:{srv.url}/wms?SERVICE=WMS&VERSION=1.1.1&REQUEST=GetMap&LAYERS=vec/zones&SRS=EPSG:4326"
           f"&BBOX=0,40,30,50&FORMAT=image/png&TRANSPARENT=TRUE")
    out = str(tmp_path / "zones.tif")
    gdal.Translate(out, url, width=300, height=100, bandList=[1, 2, 3, 4])
    ds = gdal.Open(out)
    gt = ds.GetGeoTransform()
    assert gt[0] == pytest.approx(0) and gt[3] == pytest.approx(50) and gt[1] == pytest.approx(0.1)
    assert tuple(ds.ReadAsArray()[:, 50, 50]) == FILL + (255,)
    ds = None


def test_vector_legend_and_tiff_refused(srv):
    r = get(srv, REQUEST="GetLegendGraphic", LAYER="vec/zones", FORMAT="image/png")
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png"
    img = decode(r.content)
    assert (np.all(img[..., :3] == FILL, axis=-1)).sum() > 50  # the swatch in the style's fill
    r = getmap(srv, LAYERS="vec/zones", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=30, HEIGHT=10, FORMAT="image/tiff")
    assert r.status_code == 400 and b"InvalidFormat" in r.content
    r = getmap(srv, LAYERS="vec/zones", STYLES="nope", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=30, HEIGHT=10)
    assert r.status_code == 400 and b"StyleNotDefined" in r.content


# ---- RGB composites from the styles ----

def s2_maps(srv, demo_dir, style):
    x0, y0, x1, y1 = s2_bbox(demo_dir)
    q = dict(CRS="EPSG:32631", BBOX=f"{x0},{y0},{x1},{y1}", WIDTH=128, HEIGHT=128)
    img = decode(getmap(srv, LAYERS="s2_demo/rgb", STYLES=style, **q).content)
    bands = {b: tiff(getmap(srv, LAYERS=f"s2_demo/{b}", FORMAT="image/tiff", **q).content)[0]
             for b in ("B03", "B04", "B08")}
    return img, bands


def test_rgb_style_fixed_ranges(srv, demo_dir):
    img, bands = s2_maps(srv, demo_dir, "false-colour")
    # red is B08 over 0..6000, green B04 over 0..3000, blue B03 over 0..3000
    for k, (b, hi) in enumerate([("B08", 6000), ("B04", 3000), ("B03", 3000)]):
        want = np.clip(bands[b] / hi * 255, 0, 255)
        assert np.abs(img[..., k].astype(float) - want).max() <= 1.0, b


def test_rgb_style_percentile_stretch(srv, demo_dir):
    img, _ = s2_maps(srv, demo_dir, "stretched")
    x0, y0, x1, y1 = s2_bbox(demo_dir)
    src = gdal.Open(f"{demo_dir}/s2/s2_demo_10m.tif")
    q = dict(CRS="EPSG:32631", BBOX=f"{x0},{y0},{x1},{y1}", WIDTH=128, HEIGHT=128, FORMAT="image/tiff")
    for k, b in enumerate(["B04", "B03", "B02"]):  # the layer's own bands: true colour
        full = src.GetRasterBand(3 - k).ReadAsArray().astype(float)
        lo, hi = np.percentile(full, [2, 98])
        vals = tiff(getmap(srv, LAYERS=f"s2_demo/{b}", **q).content)[0]
        want = np.clip((vals - lo) / (hi - lo) * 255, 0, 255)
        # the server's percentiles come from a 512 x 512 sample of the band: within a few levels of the full band's
        assert np.percentile(np.abs(img[..., k] - want), 95) <= 6, b
    w = WebMapService(srv.url + "/wms", version="1.3.0")
    assert {"rgb", "false-colour", "stretched"} <= set(w["s2_demo/rgb"].styles)


@pytest.mark.parametrize("style, message", [
    ("palette: viridiss", "unknown palette 'viridiss'"),
    ("rgb: [B04, B03]", "a composite has 3"),
    ('ranges: ["0,1", "0,1", "5,1"]', "min < max"),
])
def test_bad_styles_fail_at_startup(tmp_path, demo_dir, style, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(server_config(demo_dir) + f"""styles:
  - name: broken
    layers: [sst/sst]
    {style}
""")
    r = subprocess.run([NADIR, "check-config", str(cfg)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    r = subprocess.run([NADIR, "serve", "-c", str(cfg), "--port", "1"], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and message in r.stderr


def test_changed_vector_style_is_not_served_from_the_cache(demo_dir, gpkg, tmp_path):
    """The tile cache key holds the layer's style settings: a restart with another fill draws the tile anew."""
    tiles = tmp_path / "tiles"

    def serve(fill):
        text = server_config(demo_dir, tile_cache_dir=str(tiles)) + f"""  - id: vec
    source: {gpkg}
styles:
  - name: zones
    layers: [vec/zones]
    default: true
    fill: "{fill}"
    stroke: transparent
"""
        return Server(str(tmp_path), text, name=f"fill{fill[1:]}")

    colours = []
    for fill in ("#ff0000", "#00ff00"):
        s = serve(fill)
        try:
            url = s.url + "/tiles/vec:zones/3/4/2.png"  # holds lon 5, lat 45
            first, again = requests.get(url, timeout=30), requests.get(url, timeout=30)
            assert (first.headers["X-Tile-Cache"], again.headers["X-Tile-Cache"]) == ("miss", "hit")
            img = decode(again.content)
            colours.append({tuple(p[:3]) for p in img.reshape(-1, img.shape[2]) if p[3] == 255})
        finally:
            assert s.stop() == 0
    assert colours == [{FILL}, {(0, 255, 0)}]


def test_vector_datasets_are_maps_only(srv):
    """WCS and OPeNDAP serve gridded data: a vector dataset is neither a coverage nor a DAP dataset."""
    caps = requests.get(srv.url + "/wcs", params={"SERVICE": "WCS", "REQUEST": "GetCapabilities"}, timeout=30)
    assert caps.status_code == 200 and b"<wcs:CoverageId>vec" not in caps.content
    assert b"<wcs:CoverageId>sst" in caps.content
    r = requests.get(srv.url + "/wcs", params={"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "DescribeCoverage",
                                               "COVERAGEID": "vec"}, timeout=30)
    assert r.status_code == 404 and b"NoSuchCoverage" in r.content
    assert requests.get(srv.url + "/opendap/vec.dds", timeout=30).status_code == 404
    assert "vec" not in [d["id"] for d in requests.get(srv.url + "/opendap/?f=json", timeout=30).json()["datasets"]]


def test_lines_stroked_and_picked(srv):
    """A line layer: stroked with the default style (1 px grey), none of it filled; picked within 3 pixels."""
    box = (0, 40, 30, 50)
    img = decode(getmap(srv, LAYERS="vec/rivers", CRS="CRS:84", BBOX="0,40,30,50", WIDTH=300, HEIGHT=100,
                        TRANSPARENT="TRUE").content)
    j, _ = lonlat_pixel(5, 48, box, 300, 100)
    drawn = np.nonzero(img[..., 3] > 0)
    assert set(drawn[0].tolist()) <= {j - 1, j, j + 1} and len(set(drawn[1].tolist())) >= 295  # one row, all along
    assert np.abs(img[j, 150][:3].astype(int) - 0x6e).max() <= 2  # the default stroke, grey
    q = dict(REQUEST="GetFeatureInfo", LAYERS="vec/rivers", QUERY_LAYERS="vec/rivers", STYLES="", CRS="CRS:84",
             BBOX="0,40,30,50", WIDTH=300, HEIGHT=100, INFO_FORMAT="application/json")
    near = get(srv, I=150, J=j + 2, **q).json()["features"]
    far = get(srv, I=150, J=j + 6, **q).json()["features"]
    assert [f["properties"]["river"] for f in near] == ["straight"] and far == []


@pytest.mark.parametrize("layers, extra, message", [
    ("[sst/nope]", "", "dataset 'sst' has no layer 'nope'"),
    ("[dem_demo/rgb]", "", "dataset 'dem_demo' has no layer 'rgb'"),  # one band: no composite
    ("[s2_demo/rgb]", "rgb: [B04, B03, B99]", "rgb names 'B99'"),
    ("[s2_demo/rgb]", "rgb: [4, 3, 9]", "rgb names '9'"),
])
def test_styles_name_layers_and_bands_that_exist(tmp_path, demo_dir, layers, extra, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(server_config(demo_dir) + f"""styles:
  - name: broken
    layers: {layers}
    {extra}
""")
    r = subprocess.run([NADIR, "check-config", str(cfg)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    # a dataset that is not configured may be a job's output, published later: let through
    cfg.write_text(server_config(demo_dir) + """styles:
  - name: later
    layers: [results-123/parcels]
""")
    r = subprocess.run([NADIR, "check-config", str(cfg)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_demo_countries_base_layer(tmp_path):
    """The demo's base layer: Natural Earth countries from python3-geopandas' sample data (a Shapefile), found by
    `nadir demo-data --samples`; a world tile and the country under a point."""
    import glob
    from conftest import SAMPLES
    if not SAMPLES or not glob.glob(f"{SAMPLES}/geopandas/**/naturalearth_lowres.shp", recursive=True):
        pytest.skip("no python3-geopandas sample data (make samples)")
    demo = tmp_path / "demo"
    subprocess.run([NADIR, "demo-data", "--samples", SAMPLES, str(demo)], check=True, capture_output=True, timeout=300)
    conf = (demo / "nadir.yaml").read_text()
    assert "id: countries" in conf
    source = [l.split(": ", 1)[1].strip('"') for l in conf.splitlines() if "naturalearth_lowres.shp" in l][0]
    s = Server(str(tmp_path), f"server:\n  bind: 127.0.0.1\ndatasets:\n  - id: countries\n    source: {source}\n")
    try:
        tile = requests.get(s.url + "/tiles/countries:naturalearth_lowres/0/0/0.png", timeout=60)
        assert tile.status_code == 200
        img = decode(tile.content)
        assert 0.2 < (img[..., 3] == 255).mean() < 0.6  # land, not sea
        r = get(s, REQUEST="GetFeatureInfo", LAYERS="countries/naturalearth_lowres", STYLES="", CRS="CRS:84",
                QUERY_LAYERS="countries/naturalearth_lowres", BBOX="-180,-90,180,90", WIDTH=360, HEIGHT=180,
                I=182, J=41, INFO_FORMAT="application/json")  # lon 2.5, lat 48.5: Paris
        props = r.json()["features"][0]["properties"]
        assert (props["name"], props["iso_a3"], props["continent"]) == ("France", "FRA", "Europe")
    finally:
        assert s.stop() == 0
