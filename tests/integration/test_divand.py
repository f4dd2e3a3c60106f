"""DIVAnd through OGC API - Processes (async, progress, results) and OWSLib's WPS 1.0.0 client: the
analysis of the synthetic cruises against the known truth, ODV input with malformed lines reported by
number, and bad input refused with a clear message."""
import json
import math
import time

import netCDF4
import numpy as np
import pytest
import requests
from owslib.wps import WebProcessingService

from conftest import Server, server_config
from published import assert_published


# The synthetic ocean of processes/divand/divand_truth.c, written again here as the test's truth.
def land(lon, lat):
    def ell(lon0, lat0, a, b):
        return ((lon - lon0) / a) ** 2 + ((lat - lat0) / b) ** 2 < 1
    return ((lon > -1.5 and lat < 48) or (lon > -4.8 and 47.5 < lat < 48.8) or (lon > 2 and lat < 51)
            or (lon > 4.5 and lat < 53.3) or (8.5 < lon < 10.5 and lat < 57.5) or (lon > 10.5 and lat < 54.2)
            or (lon > 21 and lat < 57.3) or (lon > 23.5 and lat < 59.4) or (5 < lon < 12.3 and lat > 58)
            or (12.8 < lon < 16.3 and 55.4 < lat < 63) or (12.3 < lon < 17.8 and lat > 58.5)
            or (11 < lon < 21 and lat > 63.3) or (lon > 21.6 and lat > 60.2) or ell(-2.3, 54.5, 3.0, 4.6)
            or ell(-7.9, 53.4, 2.1, 1.9) or ell(-18.8, 65.0, 4.6, 1.5))


def truth(lon, lat, depth, days):
    doy = math.fmod(days, 365.25)
    base = 15.5 - 0.4 * (lat - 45) + 1.5 * math.sin(lon * math.pi / 12) * math.cos(lat * math.pi / 9)
    baltic = -1.5 / (1 + math.exp(-(lon - 12) / 1.2))
    season = 4 * math.cos(2 * math.pi * (doy - 220) / 365.25) * math.exp(-depth / 40)
    return base + baltic + season - 3 * (1 - math.exp(-depth / 150))


def write_bathy(path):
    """Elevation over -20..5 E, 45..60 N at 0.1°: sea 1000 m deep west of 5°W, land (+100 m) east of it."""
    from osgeo import gdal, osr
    w, h = 250, 150
    ds = gdal.GetDriverByName("GTiff").Create(str(path), w, h, 1, gdal.GDT_Float32)
    ds.SetGeoTransform((-20, 0.1, 0, 60, 0, -0.1))
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    ds.SetProjection(srs.ExportToWkt())
    lon = -20 + 0.1 * (np.arange(w) + 0.5)
    ds.GetRasterBand(1).WriteArray(np.where(lon[None, :] < -5, -1000.0, 100.0).repeat(h, 0).astype(np.float32))
    ds = None


def write_currents(path):
    """A uniform eastward current of 1 m/s over -40..10 E, 35..65 N (CF u and v)."""
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("lat", 31)
        nc.createDimension("lon", 51)
        lat, lon = nc.createVariable("lat", "f8", ("lat",)), nc.createVariable("lon", "f8", ("lon",))
        lat.units, lon.units = "degrees_north", "degrees_east"
        lat[:], lon[:] = np.arange(35, 66), np.arange(-40, 11)
        for name, std, value in (("u", "eastward_sea_water_velocity", 1.0), ("v", "northward_sea_water_velocity", 0.0)):
            var = nc.createVariable(name, "f4", ("lat", "lon"))
            var.standard_name, var.units = std, "m s-1"
            var[:] = np.full((31, 51), value, np.float32)


@pytest.fixture(scope="module")
def srv(demo_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("divand")
    write_bathy(work / "bathy.tif")
    write_currents(work / "currents.nc")
    text = server_config(demo_dir, data_dir=str(work / "var"), max_body="16MiB")
    text = text.replace("datasets:\n", f"datasets:\n  - id: bathy\n    title: Bathymetry\n    source: {work}/bathy.tif\n"
                        f"  - id: currents\n    title: Currents\n    source: {work}/currents.nc\n", 1)
    text += "jobs:\n  workers: 2\n  timeout_s: 300\n  sync_timeout_s: 120\n"
    s = Server(str(work), text)
    yield s
    rc = s.stop()
    assert rc == 0, f"nadir exited with {rc}\n{s.read_log()[-4000:]}"


def run_async(s, inputs, timeout=240):
    r = requests.post(f"{s.url}/processes/divand/execution", json={"inputs": inputs},
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


BOX = {"bbox": [-20, 45, 30, 66], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}


def test_divand_described(srv):
    d = requests.get(f"{srv.url}/processes/divand").json()
    for k in ("observations", "bbox", "resolution", "depths", "length_horizontal", "epsilon2", "mask", "background",
              "error", "solver", "device"):
        assert k in d["inputs"], k
    assert set(d["outputs"]) == {"analysis", "report", "quicklook"}


@pytest.fixture(scope="module")
def demo_job(srv):
    inputs = {"source": "demo", "bbox": BOX, "resolution": 0.5, "depths": "0,50", "climatology": "monthly",
              "length_horizontal": 600, "length_vertical": 50, "epsilon2": 0.05, "background": "trend",
              "error": "cpme"}
    job, st, seen = run_async(srv, inputs)
    assert st["status"] == "successful", st
    return job, seen


def test_divand_demo_against_truth(srv, demo_job, tmp_path):
    job, seen = demo_job
    assert len({p for p in seen if p is not None}) >= 2  # progress was reported along the way
    res = requests.get(f"{srv.url}/jobs/{job}/results").json()
    rep = res["report"]["value"] if "value" in res["report"] else res["report"]
    if isinstance(rep, str):
        rep = json.loads(rep)
    assert rep["used"] > 5000 and rep["used"] + rep["dropped"] == rep["observations"]
    assert rep["malformed"] == 0
    out = tmp_path / "divand.nc"
    r = requests.get(f"{srv.url}/jobs/{job}/results/analysis")
    assert r.status_code == 200 and r.content[:4] == b"\x89HDF"
    out.write_bytes(r.content)
    with netCDF4.Dataset(out) as nc:
        v = nc["temperature"]
        assert v.dimensions == ("time", "depth", "lat", "lon")
        assert v.shape == (12, 2, 43, 101)
        assert nc["lat"].units == "degrees_north" and nc["depth"].positive == "down"
        assert nc.Conventions == "CF-1.8" and nc.epsilon2 == pytest.approx(0.05)
        lon, lat, tm = nc["lon"][:], nc["lat"][:], nc["time"][:]
        f = v[:].filled(np.nan)
        e = nc["temperature_relerr"][:].filled(np.nan)
        m = nc["temperature_masked"][:].filled(np.nan)
    # Land is empty; the masked field is the field where the error is small, empty elsewhere.
    j, i = int(round((47 - 45) / 0.5)), int(round((2.5 + 20) / 0.5))
    assert np.isnan(f[6, 0, j, i])
    ok = np.isfinite(f)
    assert np.all(np.isnan(m[ok & (e > 0.5)])) and np.allclose(m[ok & (e <= 0.5)], f[ok & (e <= 0.5)])
    # July, surface, where the error field says the analysis is informed: against the truth.
    errs = []
    for jj in range(len(lat)):
        for ii in range(len(lon)):
            if np.isfinite(f[6, 0, jj, ii]) and e[6, 0, jj, ii] < 0.3:
                errs.append(f[6, 0, jj, ii] - truth(float(lon[ii]), float(lat[jj]), 0, float(tm[6])))
    errs = np.array(errs)
    # The quick-look: July at the surface, north up, land transparent.
    from osgeo import gdal
    q = requests.get(f"{srv.url}/jobs/{job}/results/quicklook")
    assert q.status_code == 200 and q.content[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "q.png").write_bytes(q.content)
    img = gdal.Open(str(tmp_path / "q.png"))
    assert (img.RasterXSize, img.RasterYSize) == (101, 43)
    rgba = img.GetRasterBand(1).GetColorTable()
    px = img.GetRasterBand(1).ReadAsArray()
    land_px, sea_px = px[42 - j, i], px[42 - int(round((50 - 45) / 0.5)), int(round((-15 + 20) / 0.5))]
    assert rgba.GetColorEntry(int(land_px))[3] == 0 and rgba.GetColorEntry(int(sea_px))[3] == 255
    rmse = float(np.sqrt(np.mean(errs ** 2)))
    print(f"July surface: {len(errs)} informed points, RMSE {rmse:.3f} degC")
    assert len(errs) > 300 and rmse < 1.0


ODV = ("//SDN_parameter_mapping\n"
       "//<subject>SDN:LOCAL:TEMP</subject><object>SDN:P01::TEMPPR01</object><units>SDN:P06::UPAA</units>\n"
       "Cruise\tStation\tType\tyyyy-mm-ddThh:mm:ss.sss\tLongitude [degrees_east]\tLatitude [degrees_north]\t"
       "LOCAL_CDI_ID\tEDMO_code\tBot. Depth [m]\tDepth [m]\tQV:SEADATANET\tTEMP [degC]\tQV:SEADATANET\n")


def odv_rows():
    rows, n = [], 0
    for k in range(40):
        lon, lat = -15 + 0.5 * k, 50 + 0.2 * k
        if land(lon, lat):
            continue
        n += 1
        rows.append(f"c\t{k}\tB\t2020-07-15T00:00:00.000\t{lon}\t{lat}\tx\t1\t3000\t0\t1\t"
                    f"{truth(lon, lat, 0, 18458):.4f}\t1")
    return rows, n


def test_divand_odv_inline_with_malformed_lines(srv):
    rows, n = odv_rows()
    rows.insert(3, "c\t99\tB\t2020-07-15T00:00:00.000\tnowhere\t50\tx\t1\t3000\t0\t1\t12\t1")  # line 7
    rows.insert(6, "c\t98\tB\t2020-07-15T00:00:00.000\t-14\t50\tx\t1\t3000\t0\t1\tNaN?\t1")     # line 10
    text = ODV + "\n".join(rows) + "\n"
    inputs = {"observations": {"value": text, "mediaType": "text/plain"}, "bbox": {"bbox": [-20, 45, 5, 60]},
              "resolution": 0.5, "length_horizontal": 300, "epsilon2": 0.1, "error": "exact"}
    job, st, _ = run_async(srv, inputs)
    assert st["status"] == "successful", st
    res = requests.get(f"{srv.url}/jobs/{job}/results").json()
    rep = res["report"]["value"] if "value" in res["report"] else res["report"]
    if isinstance(rep, str):
        rep = json.loads(rep)
    assert rep["observations"] == n and rep["malformed"] == 2
    assert rep["malformed_lines"][0].startswith("line 7: longitude")
    assert rep["malformed_lines"][1].startswith("line 10: value")
    assert rep["error"] == "exact" and rep["parameter"] == "TEMP [degC]"


@pytest.mark.parametrize("kw,fragment", [
    ({"epsilon2": 0}, "epsilon2"),
    ({"length_horizontal": 0}, "correlation length"),
    ({"resolution": 0.002}, "more than"),
    ({"depths": "10,5"}, "increasing"),
    ({"device": "cuda"}, "CUDA"),
])
def test_divand_refused_before_job(srv, kw, fragment):
    inputs = {"source": "demo", "bbox": BOX, **kw}
    r = requests.post(f"{srv.url}/processes/divand/execution", json={"inputs": inputs},
                      headers={"Prefer": "respond-async"})
    assert r.status_code == 400 and fragment in r.text, r.text


def test_divand_mask_from_bathymetry_dataset(srv, tmp_path):
    rows, n = odv_rows()
    inputs = {"observations": {"value": ODV + "\n".join(rows) + "\n", "mediaType": "text/plain"},
              "bbox": {"bbox": [-20, 45, 5, 60]}, "resolution": 0.5, "depths": "0,500,2000", "mask": "bathy",
              "length_horizontal": 300, "error": "none"}
    job, st, _ = run_async(srv, inputs)
    assert st["status"] == "successful", st
    rep = requests.get(f"{srv.url}/jobs/{job}/results").json()["report"]
    rep = rep.get("value", rep) if isinstance(rep, dict) else json.loads(rep)
    # Stations east of 5°W fall on the dataset's land: dropped, and counted.
    east = sum(1 for k in range(40) if -15 + 0.5 * k >= -5 and not land(-15 + 0.5 * k, 50 + 0.2 * k))
    assert rep["dropped"] >= east > 0 and rep["used"] == n - rep["dropped"]
    out = tmp_path / "m.nc"
    out.write_bytes(requests.get(f"{srv.url}/jobs/{job}/results/analysis").content)
    with netCDF4.Dataset(out) as nc:
        f = nc["TEMP"][:].filled(np.nan)
        lon = nc["lon"][:]
    west, eastc = int(np.searchsorted(lon, -10)), int(np.searchsorted(lon, 0))
    # (the rows on the raster's very edge, 45 and 60 N, are outside its coverage: no data, land)
    assert np.all(np.isfinite(f[0, 0, 1:-1, west])) and np.all(np.isnan(f[0, 0, :, eastc]))  # land from the dataset
    assert np.all(np.isnan(f[0, 2, :, :]))  # 2000 m is below the 1000 m sea floor everywhere


def test_divand_no_observation_in_domain(srv):
    rows, _ = odv_rows()
    inputs = {"observations": {"value": ODV + "\n".join(rows) + "\n", "mediaType": "text/plain"},
              "bbox": {"bbox": [20, 60, 25, 65]}, "resolution": 0.5}
    job, st, _ = run_async(srv, inputs, timeout=60)
    assert st["status"] == "failed" and "no observation in the domain" in st.get("message", ""), st


def test_divand_owslib_wps10(srv, tmp_path):
    wps = WebProcessingService(f"{srv.url}/wps", version="1.0.0")
    assert "divand" in [p.identifier for p in wps.processes]
    rows, n = odv_rows()
    csv = "longitude,latitude,depth,time,temperature\n" + "\n".join(
        ",".join(r.split("\t")[i] for i in (4, 5, 9, 3, 11)) for r in rows) + "\n"
    from owslib.wps import ComplexDataInput
    ex = wps.execute("divand", [("observations", ComplexDataInput(csv, mimeType="text/csv")),
                                ("bbox", "-20,45,5,60"), ("resolution", "0.5"), ("length_horizontal", "300")],
                     output=[("analysis", True)])
    deadline = time.time() + 120
    while not ex.isComplete() and time.time() < deadline:
        ex.checkStatus(sleepSecs=0.3)
    assert ex.isSucceeded(), ex.errors
    out = tmp_path / "wps.nc"
    ex.getOutput(str(out))
    with netCDF4.Dataset(out) as nc:
        f = nc["temperature"][0, 0].filled(np.nan)
        lon, lat = nc["lon"][:], nc["lat"][:]
    # At an observed station the analysis is near the observation.
    k = 10
    lo, la = -15 + 0.5 * k, 50 + 0.2 * k
    ii, jj = int(round((lo + 20) / 0.5)), int(round((la - 45) / 0.5))
    assert abs(f[jj, ii] - truth(float(lon[ii]), float(lat[jj]), 0, 18458)) < 0.5


def test_divand_analysis_is_published(srv, demo_job):
    assert_published(srv.url, demo_job[0], "analysis", variable="temperature")


def test_divand_cross_validation_chooses_epsilon2(srv, tmp_path):
    inputs = {"source": "demo", "bbox": BOX, "resolution": 1.0, "depths": "0", "length_horizontal": 600,
              "epsilon2": 0.05, "error": "none", "cross_validation": True}
    job, st, _ = run_async(srv, inputs)
    assert st["status"] == "successful", st
    rep = requests.get(f"{srv.url}/jobs/{job}/results").json()["report"]["value"]
    cv = rep["cross_validation"]
    scores = {(c["length_factor"], c["epsilon2"]): c["gcv"] for c in cv["candidates"]}
    assert sorted({e for _, e in scores}) == pytest.approx([0.005, 0.015, 0.05, 0.15, 0.5])
    assert sorted({f for f, _ in scores}) == [0.5, 1, 2] and len(scores) == 15
    assert (cv["length_factor"], cv["epsilon2"]) == min(scores, key=scores.get)
    assert cv["epsilon2"] == rep["epsilon2"]
    path = tmp_path / "a.nc"
    path.write_bytes(requests.get(f"{srv.url}/jobs/{job}/results/analysis").content)
    with netCDF4.Dataset(path) as nc:
        assert nc.getncattr("epsilon2") == pytest.approx(cv["epsilon2"])
        assert nc.getncattr("correlation_length").startswith(f"{600 * cv['length_factor']:g} km")
    # a grid too large to cross-validate: a clear message, not an hour of factorisations
    job, st, _ = run_async(srv, dict(inputs, resolution=0.1, climatology="monthly"))
    assert st["status"] == "failed" and "cross-validation is limited" in st["message"], st


def half_widths_km(nc_bytes, tmp_path):
    """The distances east and north of the peak where the analysed field falls below half the peak."""
    path = tmp_path / f"h{len(list(tmp_path.iterdir()))}.nc"
    path.write_bytes(nc_bytes)
    with netCDF4.Dataset(path) as nc:
        lat, lon = nc["lat"][:], nc["lon"][:]
        name = next(k for k, v in nc.variables.items() if v.ndim == 4)
        f = np.ma.filled(nc[name][0, 0], np.nan)
    j, i = np.unravel_index(np.nanargmax(f), f.shape)
    east = next(d for d in range(1, f.shape[1] - i) if not f[j, i + d] > f[j, i] / 2)
    north = next(d for d in range(1, f.shape[0] - j) if not f[j + d, i] > f[j, i] / 2)
    step = float(lon[1] - lon[0])
    return east * step * 111.2 * math.cos(math.radians(float(lat[j]))), north * step * 111.2


def test_divand_advection_along_the_current(srv, tmp_path):
    csv = "longitude,latitude,depth,time,temperature\n-25,48,0,2020-06-01,1\n"
    inputs = {"observations": {"value": csv, "mediaType": "text/csv"}, "bbox": {"bbox": [-35, 42, -15, 54]},
              "resolution": 0.25, "length_horizontal": 150, "epsilon2": 0.1, "background": "none", "error": "none"}
    widths = {}
    for label, extra in (("still", {}), ("current", {"velocity": "currents", "velocity_scale": 5})):
        job, st, _ = run_async(srv, dict(inputs, **extra))
        assert st["status"] == "successful", st
        widths[label] = half_widths_km(requests.get(f"{srv.url}/jobs/{job}/results/analysis").content, tmp_path)
    (se, sn), (ce, cn) = widths["still"], widths["current"]
    print("half widths (east, north) km:", widths)
    assert abs(se - sn) < 0.25 * sn, widths  # isotropic in km without a current
    assert ce > 1.5 * cn and ce > 1.3 * se, widths  # carried along the eastward current
    r = requests.post(f"{srv.url}/processes/divand/execution", json={"inputs": dict(inputs, velocity="nope")})
    assert r.status_code == 400
