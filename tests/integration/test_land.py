"""The land processes through OGC API - Processes (async, progress, results) and OWSLib's WPS client:
soil moisture on a synthetic territory written here with numpy through the published forward model
(Dubois 1995 + water cloud model), land use on the synthetic scene; bad input gives a clear message."""
import csv
import io
import json
import math
import os
import time

import numpy as np
import pytest
import requests
from osgeo import gdal, ogr, osr

from conftest import Server, server_config
from published import assert_published

gdal.UseExceptions()

# ---------------------------------------------------------------- the synthetic territory (truth)

W, H, CELL, RES = 300, 200, 25, 10.0
X0, Y0 = 500000.0, 4800000.0
LAMBDA, HRMS, A, B = 5.5465, 1.0, 0.0012, 0.091


def topp(mv):
    return 3.03 + 9.3 * mv + 146.0 * mv ** 2 - 76.7 * mv ** 3


def forward_db(mv_pct, theta_deg, ndvi):
    """sigma0 VV (dB): water cloud model with NDVI over Dubois et al. 1995, written independently of the C."""
    th = np.radians(theta_deg)
    k = 2 * np.pi / LAMBDA
    soil = (10 ** -2.35 * np.cos(th) ** 3 / np.sin(th) ** 3 * 10 ** (0.046 * topp(mv_pct / 100.0) * np.tan(th))
            * (k * HRMS * np.sin(th)) ** 1.1 * LAMBDA ** 0.7)
    tau2 = np.exp(-2 * B * ndvi / np.cos(th))
    return 10 * np.log10(A * ndvi * np.cos(th) * (1 - tau2) + tau2 * soil)


def utm_to_lonlat():
    src, dst = osr.SpatialReference(), osr.SpatialReference()
    src.ImportFromEPSG(32631)
    dst.ImportFromEPSG(4326)
    for s in (src, dst):
        s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return osr.CoordinateTransformation(src, dst)


def write_tif(path, arr, epsg=32631, gt=(X0, RES, 0, Y0, 0, -RES)):
    ds = gdal.GetDriverByName("GTiff").Create(path, arr.shape[1], arr.shape[0], 1, gdal.GDT_Float32)
    ds.SetGeoTransform(gt)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(epsg)
    ds.SetProjection(srs.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(arr.astype(np.float32))
    ds.GetRasterBand(1).SetNoDataValue(-9999)
    ds = None


def make_territory(d, W=W, H=H, CELL=CELL, extras=True):
    """Writes sigma0/incidence/NDVI rasters of parcels of known moisture into directory d (a Path);
    also used by tests/bench/case_land.sh at a larger size."""
    rng = np.random.default_rng(2026)
    nx, ny = W // CELL, H // CELL
    ids = np.zeros((H, W), np.int32)
    parcels = []
    ct = utm_to_lonlat()
    crops = ["wheat", "maize", "grassland"]
    for py in range(ny):
        for px in range(nx):
            k = len(parcels)
            size = 3 if k == 5 and extras else CELL - 2  # parcel P006 is a 3x3 plot: too small
            c0, r0 = px * CELL + 1, py * CELL + 1
            crop = "vineyard" if k in (7, 30) and extras else crops[k % 3]
            p = {"id": f"P{k + 1:03d}", "crop": crop, "mv": float(rng.uniform(6, 38)),
                 "ndvi": float(rng.uniform(0.2, 0.8)), "rows": (r0, r0 + size), "cols": (c0, c0 + size)}
            ids[r0:r0 + size, c0:c0 + size] = k + 1
            xa, xb = X0 + c0 * RES, X0 + (c0 + size) * RES
            ya, yb = Y0 - r0 * RES, Y0 - (r0 + size) * RES
            ring = [ct.TransformPoint(x, y)[:2] for x, y in ((xa, ya), (xb, ya), (xb, yb), (xa, yb), (xa, ya))]
            if k == 12 and extras:  # a bow-tie: invalid, repaired by MakeValid into two triangles
                ring = [ring[0], ring[2], ring[1], ring[3], ring[0]]
            p["geometry"] = {"type": "Polygon", "coordinates": [[list(c) for c in ring]]}
            parcels.append(p)
    far = [ct.TransformPoint(x, y)[:2] for x, y in ((X0 - 5000, Y0), (X0 - 4000, Y0), (X0 - 4000, Y0 - 1000),
                                                     (X0 - 5000, Y0 - 1000), (X0 - 5000, Y0))]
    features = [{"type": "Feature", "properties": {"id": p["id"], "crop": p["crop"]}, "geometry": p["geometry"]}
                for p in parcels]
    if extras:
        features.append({"type": "Feature", "properties": {"id": "OUTSIDE", "crop": "wheat"},
                         "geometry": {"type": "Polygon", "coordinates": [[list(c) for c in far]]}})
        features.append({"type": "Feature", "properties": {"id": "NOGEOM", "crop": "wheat"}, "geometry": None})
    mv = np.full((H, W), 15.0)
    veg = np.full((H, W), 0.15)
    for k, p in enumerate(parcels):
        mv[ids == k + 1] = p["mv"]
        veg[ids == k + 1] = p["ndvi"]
    theta = np.tile(30 + 15 * np.arange(W) / W, (H, 1))
    sigma = forward_db(mv, theta, veg) + rng.normal(0, 1.0, (H, W))
    write_tif(str(d / "sigma0.tif"), sigma)
    write_tif(str(d / "incidence.tif"), theta)
    write_tif(str(d / "ndvi_utm.tif"), veg)
    # NDVI in another CRS (longitude/latitude): the process reprojects it onto the sigma0 grid.
    gdal.Warp(str(d / "ndvi.tif"), str(d / "ndvi_utm.tif"), dstSRS="EPSG:4326", xRes=0.00004, yRes=0.00004,
              resampleAlg="near")
    if extras:
        write_tif(str(d / "nir.tif"), np.full((H, W), 0.3))  # red and NIR whose NDVI is veg
        write_tif(str(d / "red.tif"), 0.3 * (1 - veg) / (1 + veg))
        write_tif(str(d / "ndvi_scaled.tif"), veg * 10000)
        write_tif(str(d / "ndvi_far.tif"), veg, gt=(X0 + 50000, RES, 0, Y0, 0, -RES))
    return {"dir": str(d), "parcels": parcels, "ids": ids, "sigma": sigma, "theta": theta,
            "geojson": {"type": "FeatureCollection", "features": features}}


@pytest.fixture(scope="module")
def territory(tmp_path_factory):
    return make_territory(tmp_path_factory.mktemp("territory"))


@pytest.fixture(scope="module")
def srv(demo_dir, territory, tmp_path_factory):
    work = tmp_path_factory.mktemp("land")
    d = territory["dir"]
    extra = "".join(f"  - id: {name}\n    title: {name}\n    source: {d}/{f}\n" for name, f in (
        ("sm_sigma0", "sigma0.tif"), ("sm_incidence", "incidence.tif"), ("sm_ndvi", "ndvi.tif"),
        ("sm_ndvi_scaled", "ndvi_scaled.tif"), ("sm_ndvi_far", "ndvi_far.tif"), ("sm_red", "red.tif"),
        ("sm_nir", "nir.tif")))
    text = server_config(demo_dir, data_dir=str(work / "var"), max_body="16MiB")
    text = text.replace("datasets:\n", "datasets:\n" + extra, 1)
    text += "jobs:\n  workers: 2\n  timeout_s: 300\n  sync_timeout_s: 120\n"
    s = Server(str(work), text)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def run_async(s, process, inputs, timeout=240):
    r = requests.post(f"{s.url}/processes/{process}/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    job = r.json()["jobID"]
    deadline, seen = time.time() + timeout, set()
    while time.time() < deadline:
        st = requests.get(f"{s.url}/jobs/{job}").json()
        seen.add(st.get("progress"))
        if st["status"] in ("successful", "failed", "dismissed"):
            return job, st, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job} did not finish: {st}")


def sm_inputs(territory, **kw):
    inputs = {"sigma0_vv": "sm_sigma0", "incidence": "sm_incidence", "ndvi": "sm_ndvi",
              "parcels": {"value": territory["geojson"], "mediaType": "application/geo+json"}, "min_pixels": 20}
    inputs.update(kw)
    return inputs


@pytest.fixture(scope="module")
def sm_job(srv, territory):
    job, st, seen = run_async(srv, "soil-moisture", sm_inputs(territory))
    assert st["status"] == "successful", st
    return job, seen


def test_soil_moisture_described(srv):
    d = requests.get(f"{srv.url}/processes/soil-moisture").json()
    assert d["id"] == "soil-moisture"
    assert {"sigma0_vv", "incidence", "ndvi", "parcels", "min_pixels", "excluded_classes", "condition",
            "device"} <= set(d["inputs"])
    assert set(d["outputs"]) == {"moisture", "parcels", "table", "summary"}


def test_soil_moisture_parcels_against_truth(srv, territory, sm_job):
    job, seen = sm_job
    assert any(p is not None and 0 < p < 100 for p in seen) or 100 in seen
    res = requests.get(f"{srv.url}/jobs/{job}/results").json()
    summary = res["summary"]
    summary = summary.get("value", summary)
    rows = list(csv.DictReader(io.StringIO(requests.get(f"{srv.url}/jobs/{job}/results/table").text)))
    by_id = {r["id"]: r for r in rows}
    parcels = territory["parcels"]
    assert len(rows) == len(parcels) + 2
    errs = []
    sig = territory["sigma"]
    for k, p in enumerate(parcels):
        r = by_id[p["id"]]
        if p["crop"] == "vineyard":
            assert r["status"] == "excluded class" and r["moisture_vol_pct"] == ""
            continue
        if k == 5:
            assert r["status"] == "too small" and int(r["pixels"]) == 9
            continue
        if k == 12:
            continue  # the repaired bow-tie: two triangles, checked below
        assert r["status"] == "ok", r
        (r0, r1), (c0, c1) = p["rows"], p["cols"]
        assert int(r["pixels"]) == (r1 - r0) * (c1 - c0)
        # sigma0 averaged in linear units, exactly over the parcel's pixels
        lin = 10 * np.log10(np.mean(10 ** (sig[r0:r1, c0:c1].astype(np.float32).astype(np.float64) / 10)))
        assert float(r["sigma0_vv_db"]) == pytest.approx(lin, abs=1e-4)
        assert float(r["incidence_deg"]) == pytest.approx(territory["theta"][r0:r1, c0:c1].mean(), abs=1e-3)
        assert float(r["ndvi"]) == pytest.approx(p["ndvi"], abs=0.02)
        errs.append(float(r["moisture_vol_pct"]) - p["mv"])
    rmse = math.sqrt(sum(e * e for e in errs) / len(errs))
    print(f"soil moisture over {len(errs)} parcels: RMSE {rmse:.3f} vol.%, max |error| {max(map(abs, errs)):.3f}")
    assert rmse <= 1.5 and max(map(abs, errs)) <= 4.0
    assert by_id["P013"]["status"] == "ok" and summary["repaired_geometries"] == 1
    assert by_id["OUTSIDE"]["status"] == "no valid pixel" and by_id["NOGEOM"]["status"] == "invalid geometry"
    skipped = {s["id"]: s["reason"] for s in summary["skipped"]}
    assert skipped == {"P006": "too small", "P008": "excluded class", "P031": "excluded class",
                       "OUTSIDE": "no valid pixel", "NOGEOM": "invalid geometry"}
    assert summary["inverted"] == len(parcels) + 2 - len(skipped)


def test_soil_moisture_map_and_vector(srv, territory, sm_job, tmp_path):
    job, _ = sm_job
    tif = tmp_path / "m.tif"
    tif.write_bytes(requests.get(f"{srv.url}/jobs/{job}/results/moisture").content)
    ds = gdal.Open(str(tif))
    assert ds.RasterXSize == W and ds.RasterYSize == H
    assert ds.GetGeoTransform() == pytest.approx((X0, RES, 0, Y0, 0, -RES))
    assert "32631" in ds.GetSpatialRef().GetAuthorityCode(None)
    band = ds.GetRasterBand(1)
    assert band.GetNoDataValue() == -9999
    m = band.ReadAsArray()
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(requests.get(f"{srv.url}/jobs/{job}/results/table").text))}
    ids = territory["ids"]
    assert (m[ids == 0] == -9999).all()  # lanes outside parcels
    for k, p in enumerate(territory["parcels"]):
        vals = m[ids == k + 1]
        want = rows[p["id"]]["moisture_vol_pct"]
        if want == "":
            assert (vals == -9999).all()
        elif k != 12:
            assert np.allclose(vals, float(want), atol=1e-4)
    gj = requests.get(f"{srv.url}/jobs/{job}/results/parcels")
    assert gj.status_code == 200
    doc = gj.json()
    feats = {f["properties"]["id"]: f for f in doc["features"]}
    p1 = territory["parcels"][0]
    assert feats["P001"]["properties"]["moisture"] == pytest.approx(float(rows["P001"]["moisture_vol_pct"]), abs=1e-6)
    lon, lat = feats["P001"]["geometry"]["coordinates"][0][0]
    want = territory["geojson"]["features"][0]["geometry"]["coordinates"][0]
    assert min(abs(lon - c[0]) + abs(lat - c[1]) for c in want) < 1e-6
    assert feats["P008"]["properties"]["moisture"] is None and feats["P008"]["properties"]["status"] == "excluded class"
    assert p1["id"] == "P001"


def test_soil_moisture_bbox_and_condition(srv, territory):
    ct = utm_to_lonlat()
    (lon0, lat0), (lon1, lat1) = ct.TransformPoint(X0, Y0 - 100 * RES)[:2], ct.TransformPoint(X0 + 100 * RES, Y0)[:2]
    job, st, _ = run_async(srv, "soil-moisture", sm_inputs(territory, bbox=[lon0, lat0, lon1, lat1], condition="dry"))
    assert st["status"] == "successful", st
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(requests.get(f"{srv.url}/jobs/{job}/results/table").text))}
    ok = [r for r in rows.values() if r["status"] == "ok"]
    assert 0 < len(ok) <= 16  # only the parcels of the first 100x100 pixels
    assert all(5 <= float(r["moisture_vol_pct"]) <= 25 for r in ok)


@pytest.mark.parametrize("kw, fragment", [
    ({"ndvi": "sm_ndvi_scaled"}, "outside [-1, 1]"),
    ({"ndvi": "sm_ndvi_far"}, "does not overlap"),
    ({"device": "cuda"}, "no CUDA path"),
    ({"parcels": {"value": "this is not GeoJSON", "mediaType": "application/geo+json"}}, "not a readable GeoJSON"),
])
def test_soil_moisture_bad_input_clear_message(srv, territory, kw, fragment):
    job, st, _ = run_async(srv, "soil-moisture", sm_inputs(territory, **kw))
    assert st["status"] == "failed"
    assert fragment in st.get("message", ""), st


def test_soil_moisture_unknown_dataset_refused_before_job(srv, territory):
    r = requests.post(f"{srv.url}/processes/soil-moisture/execution",
                      json={"inputs": sm_inputs(territory, ndvi="nope")}, headers={"Prefer": "respond-async"})
    assert r.status_code == 400 and "ndvi" in r.text


# ---------------------------------------------------------------- land use: a scene written here

LW = LH = 480
LCELL, LRES, LX0, LY0 = 40, 1.5, 600000.0, 4800000.0
CLASSES = ["wheat", "maize", "grassland", "forest", "urban", "water"]
SPECTRA = {"wheat": (400, 700, 500, 3500), "maize": (600, 800, 900, 2500), "grassland": (450, 750, 600, 3000),
           "forest": (300, 500, 350, 3200), "urban": (1200, 1300, 1400, 1800), "water": (600, 500, 300, 150)}
PHENO = {"wheat": (0.35, 0.6, 0.8, 0.75, 0.4, 0.2, 0.2, 0.25), "maize": (0.15, 0.15, 0.2, 0.4, 0.75, 0.85, 0.6, 0.3),
         "grassland": (0.55, 0.65, 0.7, 0.65, 0.55, 0.5, 0.55, 0.6), "forest": (0.6, 0.75, 0.85, 0.85, 0.85, 0.8, 0.7, 0.6),
         "urban": (0.1,) * 8, "water": (-0.3,) * 8}


def write_multi(path, bands, res, dtype=gdal.GDT_Float32, x0=LX0):
    ds = gdal.GetDriverByName("GTiff").Create(path, bands.shape[2], bands.shape[1], bands.shape[0], dtype)
    ds.SetGeoTransform((x0, res, 0, LY0, 0, -res))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    ds.SetProjection(srs.ExportToWkt())
    for i in range(bands.shape[0]):
        ds.GetRasterBand(i + 1).WriteArray(bands[i])
    ds = None


def make_scene(d, LW=LW, LH=LH):
    """Square fields of known class rendered with texture and noise, an 8-date NDVI series at 6 m,
    and sample polygons (in CRS84) for half of the fields; the other half is never seen by the process.
    Written into directory d (a Path); also used by tests/bench/case_land.sh at a larger size."""
    rng = np.random.default_rng(7)
    n = LW // LCELL
    cls = np.array([CLASSES[(i * 5 + i // n) % 6] for i in range(n * n)])
    field = np.zeros((LH, LW), np.int32)
    yy, xx = np.mgrid[0:LH, 0:LW]
    field = (yy // LCELL) * n + xx // LCELL
    img = np.zeros((4, LH, LW))
    gain = rng.normal(1, 0.06, (n * n, 4))
    urban = 400 * (2 * rng.random(((LH + 7) // 8, (LW + 7) // 8)) - 1)
    for k in range(n * n):
        r, q = divmod(k, n)
        sl = (slice(r * LCELL, (r + 1) * LCELL), slice(q * LCELL, (q + 1) * LCELL))
        X, Y = xx[sl], yy[sl]
        c = cls[k]
        for b in range(4):
            v = SPECTRA[c][b] * gain[k, b] + np.zeros(X.shape)
            if c == "wheat" and b == 3:
                v = v + 250 * np.sin(2 * np.pi * X / 6)
            elif c == "maize":
                v = v + 150 * np.sin(2 * np.pi * (X + Y) / 4)
            elif c == "grassland":
                v = v + rng.normal(0, 150, X.shape)
            elif c == "forest":
                v = v + rng.normal(0, 450 if b == 3 else 120, X.shape)
            elif c == "urban":
                v = v + urban[Y // 8, X // 8]
            img[b][sl] = v + rng.normal(0, 60, X.shape)
    img = np.clip(img, 0, 65535).astype(np.uint16)
    write_multi(str(d / "vhr.tif"), img, LRES, gdal.GDT_UInt16)
    coarse = field[::4, ::4]
    shift = rng.normal(0, 0.05, n * n)
    series = np.stack([np.array([PHENO[cls[k]][t] for k in range(n * n)])[coarse] + shift[coarse]
                       + rng.normal(0, 0.03, coarse.shape) for t in range(8)]).astype(np.float32)
    write_multi(str(d / "series.tif"), series, LRES * 4)
    write_multi(str(d / "series_scaled.tif"), series * 10000, LRES * 4)
    write_multi(str(d / "series_far.tif"), series, LRES * 4, x0=LX0 + 20000)
    ct = utm_to_lonlat()
    feats = []
    seen = {}
    for k in range(n * n):
        c = cls[k]
        seen[c] = seen.get(c, 0) + 1
        if seen[c] % 2:  # every other field of each class is a sample polygon
            r, q = divmod(k, n)
            xa, xb = LX0 + (q * LCELL + 2) * LRES, LX0 + ((q + 1) * LCELL - 2) * LRES
            ya, yb = LY0 - (r * LCELL + 2) * LRES, LY0 - ((r + 1) * LCELL - 2) * LRES
            ring = [list(ct.TransformPoint(x, y)[:2]) for x, y in ((xa, ya), (xb, ya), (xb, yb), (xa, yb), (xa, ya))]
            feats.append({"type": "Feature", "properties": {"class": str(c), "field": int(k)},
                          "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"dir": str(d), "cls": cls, "field": field,
            "samples": {"type": "FeatureCollection", "features": feats}}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    return make_scene(tmp_path_factory.mktemp("scene"))


@pytest.fixture(scope="module")
def lsrv(demo_dir, scene, tmp_path_factory):
    work = tmp_path_factory.mktemp("landuse")
    d = scene["dir"]
    extra = "".join(f"  - id: {name}\n    title: {name}\n    source: {d}/{f}\n" for name, f in (
        ("lu_vhr", "vhr.tif"), ("lu_series", "series.tif"), ("lu_series_scaled", "series_scaled.tif"),
        ("lu_series_far", "series_far.tif")))
    text = server_config(demo_dir, data_dir=str(work / "var"), max_body="16MiB")
    text = text.replace("datasets:\n", "datasets:\n" + extra, 1)
    text += "jobs:\n  workers: 2\n  timeout_s: 300\n  sync_timeout_s: 120\n"
    s = Server(str(work), text)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def lu_inputs(scene, **kw):
    inputs = {"image": "lu_vhr", "series": "lu_series",
              "samples": {"value": scene["samples"], "mediaType": "application/geo+json"}, "trees": 60}
    inputs.update(kw)
    return inputs


@pytest.fixture(scope="module")
def lu_job(lsrv, scene):
    job, st, seen = run_async(lsrv, "land-use", lu_inputs(scene))
    assert st["status"] == "successful", st
    return job


def test_land_use_accuracy_and_metrics(lsrv, lu_job):
    res = requests.get(f"{lsrv.url}/jobs/{lu_job}/results").json()
    m = res["metrics"]
    m = m.get("value", m)
    print(f"land use: OA {m['overall_accuracy']:.4f} kappa {m['kappa']:.4f} over {m['validation_objects']} "
          f"held-out objects, {m['objects']} objects, F1 {m['f1']}")
    assert m["classes"] == sorted(CLASSES)
    assert m["overall_accuracy"] >= 0.9 and m["kappa"] >= 0.88
    conf = np.array(m["confusion_matrix"])
    assert conf.shape == (6, 6) and conf.sum() == m["validation_objects"] > 30
    assert m["overall_accuracy"] == pytest.approx(np.trace(conf) / conf.sum())
    for i, c in enumerate(m["classes"]):
        f1 = 2 * conf[i, i] / (conf[i].sum() + conf[:, i].sum())
        assert m["f1"][c] == pytest.approx(f1)
    rows = list(csv.reader(io.StringIO(requests.get(f"{lsrv.url}/jobs/{lu_job}/results/metrics_csv").text)))
    assert rows[0][1:7] == m["classes"] and rows[0][7] == "f1"
    assert [[int(v) for v in r[1:7]] for r in rows[1:7]] == conf.tolist()
    assert rows[7][0] == "overall_accuracy" and float(rows[7][1]) == pytest.approx(m["overall_accuracy"], abs=1e-6)


def test_land_use_class_map_on_unseen_fields(lsrv, scene, lu_job, tmp_path):
    tif = tmp_path / "c.tif"
    tif.write_bytes(requests.get(f"{lsrv.url}/jobs/{lu_job}/results/classes").content)
    ds = gdal.Open(str(tif))
    b = ds.GetRasterBand(1)
    md = b.GetMetadata()
    names = ["no data"] + [md[f"CLASS_{i}"] for i in range(1, 7)]
    assert names[1:] == sorted(CLASSES)
    assert b.GetColorTable() is not None and b.GetNoDataValue() == 0
    assert ds.GetGeoTransform() == pytest.approx((LX0, LRES, 0, LY0, 0, -LRES))
    a = b.ReadAsArray()
    sampled = {f["properties"]["field"] for f in scene["samples"]["features"]}
    truth = np.vectorize(lambda k: names.index(scene["cls"][k]))(scene["field"])
    unseen = ~np.isin(scene["field"], list(sampled))
    acc = (a[unseen] == truth[unseen]).mean()
    print(f"land use: pixel accuracy on never-sampled fields {acc:.4f}")
    assert acc >= 0.9
    objs = requests.get(f"{lsrv.url}/jobs/{lu_job}/results/objects").json()
    assert len(objs["features"]) > 100
    props = [f["properties"] for f in objs["features"]]
    assert all(p["class"] in CLASSES and 0 < p["confidence"] <= 1 for p in props)


@pytest.mark.parametrize("kw, fragment", [
    ({"series": "lu_series_scaled"}, "outside [-1, 1]"),
    ({"series": "lu_series_far"}, "does not overlap the image"),
    ({"class_field": "nope"}, "no attribute 'nope'"),
    ({"device": "cuda"}, "no CUDA path"),
])
def test_land_use_bad_input(lsrv, scene, kw, fragment):
    job, st, _ = run_async(lsrv, "land-use", lu_inputs(scene, **kw))
    assert st["status"] == "failed" and fragment in st.get("message", ""), st


def test_land_use_one_class_or_empty_class(lsrv, scene):
    one = {"type": "FeatureCollection", "features": [f for f in scene["samples"]["features"]
                                                     if f["properties"]["class"] == "water"]}
    job, st, _ = run_async(lsrv, "land-use", lu_inputs(scene, samples={"value": one}))
    assert st["status"] == "failed" and "one class only" in st["message"], st
    far = json.loads(json.dumps(scene["samples"]))
    far["features"].append({"type": "Feature", "properties": {"class": "glacier"},
                            "geometry": {"type": "Polygon", "coordinates": [[[10, 60], [10.1, 60], [10.1, 60.1], [10, 60]]]}})
    job, st, _ = run_async(lsrv, "land-use", lu_inputs(scene, samples={"value": far}))
    assert st["status"] == "failed" and "'glacier' has no sample object" in st["message"], st


def test_land_use_features_match_metrics(lsrv, lu_job):
    """features.csv holds what the forest saw: its validation rows rebuild the confusion matrix."""
    m = requests.get(f"{lsrv.url}/jobs/{lu_job}/results").json()["metrics"]
    m = m.get("value", m)
    rows = list(csv.DictReader(io.StringIO(requests.get(f"{lsrv.url}/jobs/{lu_job}/results/features").text)))
    assert len(rows) == m["objects"]
    assert {"ndvi_mean", "nir_gradient", "compactness", "ndvi_t1", "ndvi_t8", "ndvi_amplitude",
            "ndvi_date_of_max"} <= set(rows[0])
    idx = {c: i for i, c in enumerate(m["classes"])}
    conf = np.zeros((6, 6), int)
    for r in rows:
        if r["split"] == "validation":
            conf[idx[r["label"]], idx[r["predicted"]]] += 1
    assert conf.tolist() == m["confusion_matrix"]
    assert sum(r["split"] == "train" for r in rows) == m["training_objects"]


def test_soil_moisture_through_owslib_wps10(srv, territory, sm_job):
    """OWSLib's WPS 1.0.0 client: GeoJSON as ComplexData, async with status polling; the summary equals
    the one of the same run through OGC API - Processes."""
    from owslib.wps import ComplexDataInput, WebProcessingService
    wps = WebProcessingService(f"{srv.url}/wps", version="1.0.0")
    assert {"soil-moisture", "land-use"} <= {p.identifier for p in wps.processes}
    d = wps.describeprocess("soil-moisture")
    assert {"sigma0_vv", "parcels", "min_pixels"} <= {i.identifier for i in d.dataInputs}
    ex = wps.execute("soil-moisture", [("sigma0_vv", "sm_sigma0"), ("incidence", "sm_incidence"), ("ndvi", "sm_ndvi"),
                                       ("parcels", ComplexDataInput(json.dumps(territory["geojson"]),
                                                                    mimeType="application/geo+json")),
                                       ("min_pixels", "20")], output=[("summary", False)])
    deadline = time.time() + 240
    while not ex.isComplete() and time.time() < deadline:
        ex.checkStatus(sleepSecs=0.2)
    assert ex.isSucceeded(), ex.errors
    got = json.loads(ex.processOutputs[0].data[0])
    want = requests.get(f"{srv.url}/jobs/{sm_job[0]}/results").json()["summary"]
    want = want.get("value", want)
    assert got == want


def test_outputs_found_in_stac(srv, territory, sm_job):
    """The moisture GeoTIFF is catalogued at once as a STAC item of `results`, with the territory's box."""
    job = sm_job[0]
    r = requests.get(f"{srv.url}/stac/search", params={"collections": "results", "limit": 100})
    assert r.status_code == 200, r.text
    items = {f["properties"]["nadir:output"]: f for f in r.json()["features"] if f["properties"].get("nadir:job") == job}
    assert "moisture" in items, r.json()
    item = items["moisture"]
    assert item["properties"]["nadir:process"] == "soil-moisture"
    ct = utm_to_lonlat()
    lon0, lat0 = ct.TransformPoint(X0, Y0 - H * RES)[:2]
    lon1, lat1 = ct.TransformPoint(X0 + W * RES, Y0)[:2]
    assert item["bbox"] == pytest.approx([lon0, lat0, lon1, lat1], abs=2e-4)
    href = item["assets"]["data"]["href"].replace("localhost", "127.0.0.1")
    got = requests.get(href)
    assert got.status_code == 200 and got.content[:4] in (b"II*\x00", b"MM\x00*")


def test_land_use_point_samples(lsrv, scene):
    """Points label the object they fall in: one labelled object per point, split by point."""
    pts = []
    for f in scene["samples"]["features"]:
        ring = f["geometry"]["coordinates"][0]
        lon = sum(c[0] for c in ring[:4]) / 4
        lat = sum(c[1] for c in ring[:4]) / 4
        pts.append({"type": "Feature", "properties": f["properties"], "geometry": {"type": "Point", "coordinates": [lon, lat]}})
    job, st, _ = run_async(lsrv, "land-use", lu_inputs(scene, samples={"value": {"type": "FeatureCollection",
                                                                                   "features": pts}}))
    assert st["status"] == "successful", st
    m = requests.get(f"{lsrv.url}/jobs/{job}/results").json()["metrics"]
    m = m.get("value", m)
    assert m["training_objects"] + m["validation_objects"] == len(pts)
    assert m["validation_objects"] >= 12 and m["overall_accuracy"] >= 0.9


def test_soil_moisture_from_red_and_nir(srv, territory, sm_job):
    """Without an NDVI dataset, NDVI comes from red and NIR per pixel; the parcels agree with the NDVI run."""
    inputs = sm_inputs(territory, red="sm_red", nir="sm_nir")
    del inputs["ndvi"]
    job, st, _ = run_async(srv, "soil-moisture", inputs)
    assert st["status"] == "successful", st
    got = {r["id"]: r for r in csv.DictReader(io.StringIO(requests.get(f"{srv.url}/jobs/{job}/results/table").text))}
    ref = {r["id"]: r for r in csv.DictReader(io.StringIO(requests.get(f"{srv.url}/jobs/{sm_job[0]}/results/table").text))}
    for p in territory["parcels"]:
        g, r = got[p["id"]], ref[p["id"]]
        assert g["status"] == r["status"]
        if g["status"] == "ok" and p["id"] != "P013":
            assert float(g["ndvi"]) == pytest.approx(p["ndvi"], abs=1e-5)
            assert float(g["moisture_vol_pct"]) == pytest.approx(float(r["moisture_vol_pct"]), abs=0.5)
    inputs = sm_inputs(territory, red="sm_red")
    del inputs["ndvi"]
    r = requests.post(f"{srv.url}/processes/soil-moisture/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 400 and "give ndvi, or both red and nir" in r.text  # refused before any job


def test_soil_moisture_territory_polygon(srv, territory, tmp_path):
    """A territory polygon (here 100x100 pixels, in UTM coordinates with its CRS named): the map is cut to it
    and the parcels outside are listed as such."""
    ring = [[X0, Y0], [X0 + 100 * RES, Y0], [X0 + 100 * RES, Y0 - 100 * RES], [X0, Y0 - 100 * RES], [X0, Y0]]
    terr = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32631"}},
            "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    inputs = sm_inputs(territory)
    inputs["territory"] = {"value": terr}
    job, st, _ = run_async(srv, "soil-moisture", inputs)
    assert st["status"] == "successful", st
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(requests.get(f"{srv.url}/jobs/{job}/results/table").text))}
    for p in territory["parcels"]:
        inside = p["rows"][0] < 100 and p["cols"][0] < 100
        assert (rows[p["id"]]["status"] == "outside the territory") != inside, p["id"]
    assert rows["OUTSIDE"]["status"] == "outside the territory"
    tif = tmp_path / "t.tif"
    tif.write_bytes(requests.get(f"{srv.url}/jobs/{job}/results/moisture").content)
    ds = gdal.Open(str(tif))
    assert (ds.RasterXSize, ds.RasterYSize) == (100, 100)


def test_trainer_command_reproduces_committed_weights(tmp_path):
    """`nadir train soil-moisture` from its default seed writes exactly the committed weights.c."""
    import subprocess
    from conftest import NADIR
    out = tmp_path / "weights.c"
    r = subprocess.run([NADIR, "train", "soil-moisture", "--seed", "42", "--out", str(out)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    committed = os.path.join(os.path.dirname(__file__), "../../processes/soilmoisture/weights.c")
    assert out.read_bytes() == open(committed, "rb").read()
    r = subprocess.run([NADIR, "train", "nope"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "soil-moisture" in r.stderr


def test_soil_moisture_map_is_published(srv, sm_job):
    assert_published(srv.url, sm_job[0], "moisture")


def test_land_use_map_is_published(lsrv, lu_job):
    assert_published(lsrv.url, lu_job, "classes")


def test_soil_moisture_parcels_are_a_vector_layer(srv, sm_job):
    """The GeoJSON output is published as a WMS vector layer with its attributes, and catalogued without the grid
    access points (WCS, OPeNDAP) a vector has not."""
    ds_id = f"{sm_job[0]}-parcels"
    caps = requests.get(f"{srv.url}/wms", params={"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"}).text
    start = caps.index(f"<Name>{ds_id}/") + len("<Name>")
    layer = caps[start:caps.index("</Name>", start)]
    w, s, e, n = requests.get(f"{srv.url}/collections/{ds_id}").json()["extent"]["spatial"]["bbox"][0]
    common = {"SERVICE": "WMS", "VERSION": "1.3.0", "LAYERS": layer, "STYLES": "", "CRS": "CRS:84",
              "BBOX": f"{w},{s},{e},{n}", "WIDTH": 128, "HEIGHT": 128}
    r = requests.get(f"{srv.url}/wms", params={**common, "REQUEST": "GetMap", "FORMAT": "image/png",
                                               "TRANSPARENT": "TRUE"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.text[:300]
    parcels = requests.get(f"{srv.url}/jobs/{sm_job[0]}/results/parcels").json()["features"]
    inverted = next(f for f in parcels if f["properties"].get("moisture") is not None)
    ring = inverted["geometry"]["coordinates"][0] if inverted["geometry"]["type"] == "Polygon" else \
        inverted["geometry"]["coordinates"][0][0]
    lon, lat = sum(p[0] for p in ring[:-1]) / (len(ring) - 1), sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    i, j = int((lon - w) / (e - w) * 128), int((n - lat) / (n - s) * 128)
    r = requests.get(f"{srv.url}/wms", params={**common, "REQUEST": "GetFeatureInfo", "QUERY_LAYERS": layer,
                                               "INFO_FORMAT": "application/json", "I": i, "J": j})
    assert r.status_code == 200, r.text[:300]
    props = [f["properties"] for f in r.json()["features"]]
    assert any(p.get("id") == inverted["properties"]["id"] for p in props), (props, inverted["properties"])
    [item] = requests.get(f"{srv.url}/stac/search", params={"ids": ds_id}).json()["features"]
    assert "data" in item["assets"] and not {"wcs", "opendap"} & set(item["assets"]), item["assets"]
