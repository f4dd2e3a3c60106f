"""OPeNDAP with the clients people use: ncdump (netCDF-C DAP2 and DAP4), netCDF4-python, xarray, GDAL, and raw
DAP2/DAP4 decoding; values equal the local reads bit for bit, errors come in the DAP forms, streaming stays small."""
import os
import re
import shutil
import struct
import subprocess
import time
import zlib

import netCDF4
import numpy as np
import pytest
import requests
import xarray as xr
from osgeo import gdal

from conftest import Server, server_config

gdal.UseExceptions()

NUMERIC = {"b": "i1", "ub": "u1", "s": "i2", "us": "u2", "i": "i4", "ui": "u4", "i64": "i8", "ui64": "u8",
           "f": "f4", "d": "f8"}


def make_types(path):
    """Every netCDF atomic type on a small lat/lon grid, with each integer type's extremes."""
    ds = netCDF4.Dataset(path, "w")
    ds.createDimension("lat", 4)
    ds.createDimension("lon", 5)
    ds.createDimension("nchar", 6)
    la = ds.createVariable("lat", "f8", ("lat",))
    la.units = "degrees_north"
    la[:] = [10.5, 11.5, 12.5, 13.5]
    lo = ds.createVariable("lon", "f8", ("lon",))
    lo.units = "degrees_east"
    lo[:] = np.arange(5) + 20.5
    rng = np.random.default_rng(7)
    for name, t in NUMERIC.items():
        v = ds.createVariable(name, t, ("lat", "lon"), fill_value=False)
        v.long_name = f"a {t} variable"
        if t[0] in "iu":
            info = np.iinfo(t)
            # DAP2 serves 64-bit integers as Float64: stay inside 2^53 so both protocols are exact
            lo_, hi_ = max(int(info.min), -2**53), min(int(info.max), 2**53)
            vals = rng.integers(lo_, hi_, size=(4, 5), dtype=t, endpoint=True)
            vals[0, 0], vals[0, 1] = lo_, hi_
        else:
            vals = (rng.standard_normal((4, 5)) * 1e3).astype(t)
            vals[3, 4] = np.nan
        v[:] = vals
    ds.createVariable("big", "i8", ("lon",))[:] = [2**63 - 1, -2**63, 2**53 + 1, 0, -1]
    c = ds.createVariable("name", "S1", ("lat", "nchar"))
    c[:] = netCDF4.stringtochar(np.array(["alpha", "b", "gamma!", ""], dtype="S6"))
    st = ds.createVariable("label", str, ("lat",))
    st[:] = np.array(["x", "longer label", "ünïcode", ""], dtype=object)
    ds.title = "every type"
    ds.close()


def make_agg(d):
    """Three daily files of 3, 2 and 4 steps (days 0-2, 3-4, 5-8), float32 sst(time, lat, lon)."""
    paths = []
    for n, (t0, nt) in enumerate([(0, 3), (3, 2), (5, 4)]):
        p = os.path.join(d, f"agg_{n}.nc")
        ds = netCDF4.Dataset(p, "w")
        ds.createDimension("time", None)
        ds.createDimension("lat", 6)
        ds.createDimension("lon", 8)
        t = ds.createVariable("time", "i4", ("time",))
        t.units = "days since 2025-01-01"
        t.standard_name = "time"
        t[:] = np.arange(t0, t0 + nt)
        ds.createVariable("lat", "f8", ("lat",)).units = "degrees_north"
        ds["lat"][:] = np.arange(6) + 40.5
        ds.createVariable("lon", "f8", ("lon",)).units = "degrees_east"
        ds["lon"][:] = np.arange(8) - 3.5
        v = ds.createVariable("sst", "f4", ("time", "lat", "lon"), fill_value=np.float32(-999))
        v.units = "K"
        v[:] = (np.arange(nt * 48, dtype="f4").reshape(nt, 6, 8) + 1000 * t0) / 7
        ds.close()
        paths.append(p)
    return paths


def make_big(path, steps):
    """A float32 (steps, 512, 512) variable of which only two steps are written: netCDF-4 returns the fill value
    for unwritten chunks, so a 1 GiB response needs no 1 GiB file."""
    ds = netCDF4.Dataset(path, "w")
    ds.createDimension("time", steps)
    ds.createDimension("lat", 512)
    ds.createDimension("lon", 512)
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "hours since 2025-01-01"
    t[:] = np.arange(steps)
    ds.createVariable("lat", "f8", ("lat",)).units = "degrees_north"
    ds["lat"][:] = np.linspace(-60, 60, 512)
    ds.createVariable("lon", "f8", ("lon",)).units = "degrees_east"
    ds["lon"][:] = np.linspace(-120, 120, 512)
    v = ds.createVariable("field", "f4", ("time", "lat", "lon"), chunksizes=(1, 512, 512), fill_value=np.float32(1.5))
    v[0] = np.arange(512 * 512, dtype="f4").reshape(512, 512)
    v[steps - 1] = -np.arange(512 * 512, dtype="f4").reshape(512, 512)
    ds.close()


def make_groups(path):
    """A netCDF-4 file with nested groups: /g1 has its own dimension and coordinate, /g1/g2 a variable over a root
    and a /g1 dimension, with attributes at each level."""
    ds = netCDF4.Dataset(path, "w")
    ds.createDimension("lat", 3)
    ds.createDimension("lon", 4)
    ds.createVariable("lat", "f8", ("lat",)).units = "degrees_north"
    ds["lat"][:] = [1.5, 2.5, 3.5]
    ds.createVariable("lon", "f8", ("lon",)).units = "degrees_east"
    ds["lon"][:] = [10.5, 11.5, 12.5, 13.5]
    ds.createVariable("surface", "f4", ("lat", "lon"))[:] = np.arange(12, dtype="f4").reshape(3, 4) / 4
    g1 = ds.createGroup("g1")
    g1.source = "instrument one"
    g1.createDimension("band", 5)
    g1.createVariable("band", "i4", ("band",))[:] = [400, 500, 600, 700, 800]
    r = g1.createVariable("radiance", "f4", ("band", "lat", "lon"))
    r.units = "W m-2 sr-1 nm-1"
    r[:] = np.arange(60, dtype="f4").reshape(5, 3, 4) * 1.25
    g2 = g1.createGroup("g2")
    g2.createVariable("flag", "u1", ("lat", "band"))[:] = np.arange(15, dtype="u1").reshape(3, 5)
    ds.close()


def make_noise(path):
    """16 MB of random float32 over lat/lon: what DEFLATE cannot shrink."""
    ds = netCDF4.Dataset(path, "w")
    ds.createDimension("time", 16)
    ds.createDimension("lat", 512)
    ds.createDimension("lon", 512)
    ds.createVariable("lat", "f8", ("lat",)).units = "degrees_north"
    ds["lat"][:] = np.linspace(-60, 60, 512)
    ds.createVariable("lon", "f8", ("lon",)).units = "degrees_east"
    ds["lon"][:] = np.linspace(-120, 120, 512)
    ds.createVariable("noise", "f4", ("time", "lat", "lon"))[:] = \
        np.random.default_rng(3).standard_normal((16, 512, 512)).astype("f4")
    ds.close()


def make_raster_series(d):
    """Three dated GeoTIFFs (a raster time series joined by the date in their names)."""
    os.makedirs(os.path.join(d, "rs"))
    paths = []
    for i, day in enumerate(["20250101", "20250102", "20250104"]):
        p = os.path.join(d, "rs", f"r_{day}.tif")
        ds = gdal.GetDriverByName("GTiff").Create(p, 6, 4, 1, gdal.GDT_Int16)
        ds.SetGeoTransform([10, 0.5, 0, 50, 0, -0.5])
        ds.SetProjection("EPSG:4326")
        ds.GetRasterBand(1).WriteArray((np.arange(24).reshape(4, 6) * 3 - 7 + 100 * i).astype("i2"))
        ds = None
        paths.append(p)
    return paths


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("dapdata"))
    make_raster_series(d)
    make_types(os.path.join(d, "types.nc"))
    agg = make_agg(d)
    make_big(os.path.join(d, "big.nc"), 1024)
    make_groups(os.path.join(d, "groups.nc"))
    make_noise(os.path.join(d, "noise.nc"))
    return {"dir": d, "types": os.path.join(d, "types.nc"), "agg": agg, "big": os.path.join(d, "big.nc"),
            "groups": os.path.join(d, "groups.nc"), "noise": os.path.join(d, "noise.nc")}


def config(demo_dir, data, **keys):
    return server_config(demo_dir, **keys) + f"""  - id: types
    title: Every netCDF type
    source: {data['types']}
  - id: agg
    title: Three files joined along time
    source: {data['dir']}/agg_*.nc
  - id: big
    title: One GiB of float32
    source: {data['big']}
  - id: rs
    title: Dated GeoTIFFs joined along time
    source: {data['dir']}/rs/r_*.tif
  - id: groups
    title: netCDF-4 groups
    source: {data['groups']}
  - id: noise
    title: Random float32, incompressible
    source: {data['noise']}
"""


@pytest.fixture(scope="module")
def srv(demo_dir, data, tmp_path_factory):
    s = Server(str(tmp_path_factory.mktemp("dap")), config(demo_dir, data))
    yield s
    rc = s.stop()
    with open(s.log_path) as f:
        log = f.read()
    assert rc == 0, f"nadir exited with {rc}\n{log[-6000:]}"


def url(srv, ds):
    return f"{srv.url}/opendap/{ds}"


def dap4(srv, ds):
    return f"dap4://127.0.0.1:{srv.port}/opendap/{ds}"


def dap_requests(srv, since, want=1):
    """OPeNDAP lines of the access log after offset since; the server logs a request once it has been sent, so
    wait a little for it."""
    deadline = time.time() + 5
    while True:
        lines = [l for l in srv.read_log()[since:].splitlines() if l.startswith("GET /opendap/")]
        if len(lines) >= want or time.time() > deadline:
            time.sleep(0.2)
            return [l for l in srv.read_log()[since:].splitlines() if l.startswith("GET /opendap/")]
        time.sleep(0.05)


# ---- catalogue and plain responses ----

def test_catalogue_html_and_json(srv):
    r = requests.get(srv.url + "/opendap/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert f'{srv.url}/opendap/types.html' in r.text or "/opendap/types.html" in r.text
    j = requests.get(srv.url + "/opendap/?f=json").json()
    by = {d["id"]: d for d in j["datasets"]}
    assert set(by) >= {"sst", "s2_demo", "dem_demo", "types", "agg", "big"}
    assert by["agg"]["files"] == 3
    assert by["types"]["dap2"].endswith("/opendap/types")
    assert by["types"]["dap4"].startswith("dap4://")


def test_headers_and_forms(srv):
    for suffix, desc, ctype in [(".das", "dods-das", "text/plain"), (".dds", "dods-dds", "text/plain"),
                                (".dods", "dods-data", "application/octet-stream"),
                                (".dmr.xml", "dap4-dmr", "application/vnd.opendap.dap4.dataset-metadata+xml"),
                                (".dap", "dap4-data", "application/vnd.opendap.dap4.data")]:
        r = requests.get(url(srv, "agg") + suffix)
        assert r.status_code == 200, (suffix, r.text[:200])
        assert r.headers["Content-Description"] == desc
        assert r.headers["Content-Type"].startswith(ctype)
        assert r.headers["XDODS-Server"].startswith("nadir/")
        assert r.headers["XOPeNDAP-Server"].startswith("nadir/")
    assert "DAP/2.0" in requests.get(url(srv, "agg") + ".ver").text
    assert "<DatasetServices" in requests.get(url(srv, "agg") + ".dsr").text
    html = requests.get(url(srv, "agg") + ".html").text
    assert "<form" in html and "sst" in html and "Attributes (DAS)" in html
    assert requests.get(url(srv, "agg")).text == html
    info = requests.get(url(srv, "agg") + ".info").text
    assert "Float32 sst[time = 9][lat = 6][lon = 8];" in info


def test_ascii_values(srv, data):
    r = requests.get(url(srv, "agg") + ".ascii?sst[4:1:5][2][0:3:7]")
    assert r.status_code == 200
    lines = r.text.split("---------------------------------------------\n")[1].splitlines()
    local = np.concatenate([netCDF4.Dataset(p)["sst"][:] for p in data["agg"]])
    lon = netCDF4.Dataset(data["agg"][0])["lon"][:]
    # a Grid: the array's rows, then its maps cut by the same ranges
    assert lines == [f"sst.sst[{i}][0], " + ", ".join(f"{v:.9g}" for v in local[4 + i, 2, 0:8:3]) for i in range(2)] + \
        ["sst.time, 4, 5", "sst.lat, 42.5", "sst.lon, " + ", ".join(f"{v:.17g}" for v in lon[0:8:3])]


# ---- ncdump (netCDF-C DAP2 and DAP4 clients) ----

def ncdump(*args):
    return subprocess.run(["ncdump", *args], capture_output=True, text=True, timeout=120, check=True).stdout


def data_section(text, var):
    m = re.search(rf"\n {re.escape(var)} =(.*?);\n", text, re.S)
    assert m, text[-500:]
    return " ".join(m.group(1).split())


def test_ncdump_header_dap2_and_dap4(srv, data):
    local = ncdump("-h", data["types"])
    for u in (url(srv, "types"), dap4(srv, "types")):
        h = ncdump("-h", u)
        for var in ["lat", "lon", *NUMERIC, "name", "label"]:
            assert re.search(rf"\b{var}\(", h), (u, var)
        assert "lat = 4 ;" in h and "lon = 5 ;" in h
    h4 = ncdump("-h", dap4(srv, "types"))
    # DAP4 keeps every type as it was
    for decl in ["byte b(", "ubyte ub(", "short s(", "ushort us(", "int i(", "uint ui(", "int64 i64(",
                 "uint64 ui64(", "float f(", "double d(", "char name(lat, nchar)", "string label("]:
        assert decl in h4 and decl in local, decl


def test_ncdump_values_dap2_and_dap4(srv, data):
    for var in ["f", "d", "s", "i", "b", "lat", "lon"]:
        want = data_section(ncdump("-v", var, data["types"]), var)
        assert data_section(ncdump("-v", var, url(srv, "types")), var) == want, var
        assert data_section(ncdump("-v", var, dap4(srv, "types")), var) == want, var
    for var in ["ub", "us", "ui", "i64", "ui64", "big", "name", "label"]:
        want = data_section(ncdump("-v", var, data["types"]), var)
        assert data_section(ncdump("-v", var, dap4(srv, "types")), var) == want, var
    # the aggregation: ncdump -v sst over DAP2 equals the three files' values
    agg = data_section(ncdump("-v", "sst", url(srv, "agg")), "sst")
    parts = [data_section(ncdump("-v", "sst", p), "sst") for p in data["agg"]]
    assert agg == ", ".join(parts)


def test_ncdump_dap4_with_constraint(srv, data):
    """netCDF-C 4.9's DAP4 client sends the URL's dap4.ce (percent-encoded three times) with .dmr and .dap."""
    mark = len(srv.read_log())
    out = ncdump("-v", "sst", dap4(srv, "agg") + "?dap4.ce=/sst[2:3:8][1:1:2][0:7:7]")
    assert "float sst(time, _Anonymous" in out or "float sst(" in out
    local = np.concatenate([netCDF4.Dataset(p)["sst"][:] for p in data["agg"]])[2:9:3, 1:3, 0:8:7]
    got = [float(v) for v in data_section(out, "sst").split(", ")]
    assert np.allclose(got, local.ravel(), rtol=1e-6, atol=0)  # ncdump prints 7 digits
    assert all(l.split()[2] == "200" for l in dap_requests(srv, mark, 2))


# ---- netCDF4-python: every type, bit for bit ----

def bits(a):
    a = np.ma.getdata(a)
    return a.view(f"u{a.dtype.itemsize}") if a.dtype.kind in "iuf" else a


@pytest.mark.parametrize("proto", ["dap2", "dap4"])
def test_every_type_bit_for_bit(srv, data, proto):
    local = netCDF4.Dataset(data["types"])
    remote = netCDF4.Dataset(url(srv, "types") if proto == "dap2" else dap4(srv, "types"))
    for ds in (local, remote):
        ds.set_auto_mask(False)
    for var, t in NUMERIC.items():
        want = local[var][:]
        got = remote[var][:]
        if proto == "dap2" and t in ("i8", "u8"):
            assert got.dtype == np.float64  # DAP2 has no 64-bit integers (documented)
            assert np.array_equal(got, want.astype("f8")) and np.array_equal(got.astype(t), want), var
        else:
            assert got.dtype == np.dtype(t), (var, got.dtype)
            assert np.array_equal(bits(got), bits(want)), var
        # a strided hyperslab
        assert np.array_equal(bits(remote[var][1:4:2, ::3]), bits(local[var][1:4:2, ::3].astype(got.dtype))), var
    names = netCDF4.chartostring(local["name"][:])
    assert list(netCDF4.chartostring(remote["name"][:])) == list(names)
    labels = list(local["label"][:])
    if proto == "dap4":
        assert list(remote["label"][:]) == labels
        assert list(remote["big"][:]) == [2**63 - 1, -2**63, 2**53 + 1, 0, -1]
    else:
        # netCDF-C turns DAP2 Strings into char arrays
        assert [s.decode("utf-8") for s in netCDF4.chartostring(remote["label"][:], encoding="bytes")] == labels


# ---- xarray: lazy slicing issues only the hyperslab requests needed ----

def local_agg(data):
    return xr.concat([xr.open_dataset(p, engine="netcdf4").load() for p in data["agg"]], dim="time")


def test_xarray_isel_sel_and_request_count(srv, data):
    local = local_agg(data)
    ds = xr.open_dataset(url(srv, "agg"), engine="netcdf4")
    assert np.array_equal(ds["time"].values, local["time"].values)
    sub = ds["sst"].isel(time=slice(2, 7, 2), lat=slice(1, 5), lon=3).values
    assert np.array_equal(bits(sub), bits(local["sst"].isel(time=slice(2, 7, 2), lat=slice(1, 5), lon=3).values))
    sel = ds["sst"].sel(time="2025-01-05", lat=slice(41, 44)).values
    assert np.array_equal(bits(sel), bits(local["sst"].sel(time="2025-01-05", lat=slice(41, 44)).values))
    # the whole aggregation equals the concatenation of its files
    whole = ds["sst"].values
    files = np.concatenate([netCDF4.Dataset(p)["sst"][:].filled(np.nan) for p in data["agg"]])
    assert np.array_equal(bits(whole), bits(files.astype("f4")))


def test_xarray_requests_only_the_hyperslab(srv, data):
    """netCDF-C prefetches small variables when it opens a URL; a large one is read on demand, one request per
    slice, and the values equal the local ones."""
    ds = xr.open_dataset(url(srv, "big"), engine="netcdf4")
    local = xr.open_dataset(data["big"], engine="netcdf4")
    mark = len(srv.read_log())
    got = ds["field"].isel(time=slice(1020, 1024, 3), lat=slice(100, 140, 7), lon=[5, 6, 7]).values
    lines = dap_requests(srv, mark)
    assert len(lines) == 1 and lines[0].startswith("GET /opendap/big.dods 200"), lines
    assert int(lines[0].split()[3]) < 4096  # bytes sent: the hyperslab, not the variable
    want = local["field"].isel(time=slice(1020, 1024, 3), lat=slice(100, 140, 7), lon=[5, 6, 7]).values
    assert np.array_equal(bits(got), bits(want))
    mark = len(srv.read_log())
    got = ds["field"].sel(lat=slice(-1, 1), lon=slice(-1, 1)).isel(time=0).values
    assert len(dap_requests(srv, mark)) == 1
    assert np.array_equal(bits(got), bits(local["field"].sel(lat=slice(-1, 1), lon=slice(-1, 1)).isel(time=0).values))


def test_xarray_dap4(srv, data):
    local = local_agg(data)
    ds = xr.open_dataset(dap4(srv, "agg"), engine="netcdf4")
    assert np.array_equal(bits(ds["sst"].isel(time=[0, 4, 8]).values),
                          bits(local["sst"].isel(time=[0, 4, 8]).values))


# ---- GeoTIFF datasets as grids ----

def test_geotiff_as_grid(srv, demo_dir):
    tif = gdal.Open(os.path.join(demo_dir, "s2/s2_demo_10m.tif"))
    gt = tif.GetGeoTransform()
    ds = netCDF4.Dataset(url(srv, "s2_demo"))
    ds.set_auto_mask(False)
    x, y = ds["x"][:], ds["y"][:]
    assert np.allclose(x, gt[0] + (np.arange(tif.RasterXSize) + 0.5) * gt[1], rtol=0, atol=1e-6)
    assert np.allclose(y, gt[3] + (np.arange(tif.RasterYSize) + 0.5) * gt[5], rtol=0, atol=1e-6)
    assert "32631" in ds["crs"].crs_wkt
    band = tif.GetRasterBand(2)
    name = band.GetDescription() or "band2"
    assert ds[name].grid_mapping == "crs"
    want = band.ReadAsArray(100, 200, 50, 30)
    got = ds[name][200:230, 100:150]
    assert np.array_equal(got.astype("u2"), want)
    # strided, through DAP4
    d4 = netCDF4.Dataset(dap4(srv, "s2_demo"))
    d4.set_auto_mask(False)
    assert np.array_equal(d4[name][::97, 5::111], tif.GetRasterBand(2).ReadAsArray()[::97, 5::111])


def test_raster_time_series(srv, data):
    ds = xr.open_dataset(url(srv, "rs"), engine="netcdf4", mask_and_scale=False)
    assert [str(t)[:10] for t in ds["time"].values] == ["2025-01-01", "2025-01-02", "2025-01-04"]
    files = sorted(os.listdir(os.path.join(data["dir"], "rs")))
    want = np.stack([gdal.Open(os.path.join(data["dir"], "rs", f)).ReadAsArray() for f in files])
    assert np.array_equal(ds["band1"].values, want)
    assert np.array_equal(ds["band1"].isel(time=slice(0, 3, 2), lat=slice(1, 4, 2)).values, want[0:3:2, 1:4:2])
    assert np.allclose(ds["lon"].values, 10.25 + 0.5 * np.arange(6))


def test_gdal_netcdf_driver_on_the_url(srv, demo_dir):
    d = gdal.OpenEx(f'NETCDF:"{url(srv, "dem_demo")}":elevation', allowed_drivers=["netCDF"])
    local = gdal.Open(os.path.join(demo_dir, "dem/dem_demo.tif"))
    assert (d.RasterXSize, d.RasterYSize) == (local.RasterXSize, local.RasterYSize)
    assert np.allclose(d.GetGeoTransform(), local.GetGeoTransform(), rtol=0, atol=1e-9)
    assert d.GetSpatialRef().GetAuthorityCode(None) == "4326"
    assert np.array_equal(d.GetRasterBand(1).ReadAsArray(), local.GetRasterBand(1).ReadAsArray())


# ---- raw protocol decoding ----

def test_dods_xdr_decoded_by_hand(srv, data):
    # Grid members alone (libdap's Structure form): only the arrays' values
    r = requests.get(url(srv, "types") + ".dods?us.us[1:2:3][0:1],b.b,f.f[2][4]", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in r.headers
    head, body = r.content.split(b"\nData:\n", 1)
    assert b"UInt16 us[lat = 2][lon = 2];" in head and b"Byte b[lat = 4][lon = 5];" in head
    local = netCDF4.Dataset(data["types"])
    local.set_auto_mask(False)
    assert int(r.headers["Content-Length"]) == len(r.content)
    # dataset order: b, us, f; Byte arrays padded to 4, 16-bit values widened to 32
    n1, n2 = struct.unpack(">II", body[:8])
    assert n1 == n2 == 20
    assert np.array_equal(np.frombuffer(body[8:28], "i1").reshape(4, 5), local["b"][:])
    o = 28
    assert struct.unpack(">II", body[o:o + 8]) == (4, 4)
    us = np.frombuffer(body[o + 8:o + 24], ">u4").reshape(2, 2)
    assert np.array_equal(us, local["us"][1:4:2, 0:2])
    o += 24
    assert struct.unpack(">II", body[o:o + 8]) == (1, 1)
    assert body[o + 8:o + 12] == np.asarray([local["f"][2, 4]], ">f4").tobytes()
    assert len(body) == o + 12


# ---- DAP2 Grids: variables with a coordinate variable on each dimension, as THREDDS and Hyrax serve them ----

def xdr_array(values, dtype):
    """A DAP2 Array on the wire: the count twice, then the big-endian values."""
    a = np.asarray(values).astype(dtype)
    return struct.pack(">II", a.size, a.size) + a.astype(np.dtype(dtype).newbyteorder(">")).tobytes()


def test_grid_dds_and_payload_byte_exact(srv, data):
    dds = requests.get(url(srv, "agg") + ".dds").text
    assert ("    Grid {\n      Array:\n        Float32 sst[time = 9][lat = 6][lon = 8];\n      Maps:\n"
            "        Float64 time[time = 9];\n        Float64 lat[lat = 6];\n        Float64 lon[lon = 8];\n"
            "    } sst;\n") in dds
    assert "    Float64 lat[lat = 6];\n" in dds.split("Grid")[0]  # the coordinates stay top-level arrays too
    local = np.concatenate([netCDF4.Dataset(p)["sst"][:] for p in data["agg"]])
    f0 = netCDF4.Dataset(data["agg"][0])
    lat, lon = f0["lat"][:], f0["lon"][:]
    # a hyperslab of the Grid cuts its maps alike; the payload is the array then each map (DAP2 2.0 §7.3.2)
    r = requests.get(url(srv, "agg") + ".dods?sst[1:3:7][2:4][0:7:7]", headers={"Accept-Encoding": "identity"})
    head, body = r.content.split(b"\nData:\n", 1)
    assert (b"Grid {\n      Array:\n        Float32 sst[time = 3][lat = 3][lon = 2];\n      Maps:\n"
            b"        Float64 time[time = 3];\n        Float64 lat[lat = 3];\n        Float64 lon[lon = 2];\n") in head
    want = (xdr_array(local[1:8:3, 2:5, 0:8:7], "f4") + xdr_array([1, 4, 7], "f8") + xdr_array(lat[2:5], "f8")
            + xdr_array(lon[0:8:7], "f8"))
    assert body == want
    assert int(r.headers["Content-Length"]) == len(r.content)
    # members alone: a Structure; every member in matching windows: the Grid again
    r = requests.get(url(srv, "agg") + ".dods?sst.lon[2:3],sst.sst[0][0][2:3]", headers={"Accept-Encoding": "identity"})
    head, body = r.content.split(b"\nData:\n", 1)
    assert b"    Structure {\n        Float32 sst[time = 1][lat = 1][lon = 2];\n        Float64 lon[lon = 2];\n    } sst;" \
        in head
    assert body == xdr_array(local[0, 0, 2:4], "f4") + xdr_array(lon[2:4], "f8")
    r = requests.get(url(srv, "agg") + ".dds?sst.sst[0][1][2],sst.time[0],sst.lat[1],sst.lon[2]")
    assert "Grid {\n      Array:\n        Float32 sst[time = 1][lat = 1][lon = 1];" in r.text
    check_dap2_error(requests.get(url(srv, "agg") + ".dds?sst.nosuch"), 404, "No such variable: sst.nosuch")
    check_dap2_error(requests.get(url(srv, "agg") + ".dds?sst.lat[0:1:6]"), 400, "outside 0..5")


def test_grid_read_back_by_netcdf_c(srv, data):
    """netCDF-C (ncdump, netCDF4-python, xarray) sees the Grid as the variable it was, coordinates included, and reads
    hyperslabs of it and of its maps with the same values as the file."""
    h = ncdump("-h", url(srv, "agg"))
    assert "float sst(time, lat, lon) ;" in h and "double lat(lat) ;" in h and "double time(time) ;" in h
    assert data_section(ncdump("-v", "lat", url(srv, "agg")), "lat") == data_section(ncdump("-v", "lat",
                                                                                           data["agg"][0]), "lat")
    remote = netCDF4.Dataset(url(srv, "agg"))
    local = np.concatenate([netCDF4.Dataset(p)["sst"][:] for p in data["agg"]])
    assert np.array_equal(bits(remote["sst"][2:9:3, 1:5, ::2]), bits(local[2:9:3, 1:5, ::2]))
    assert np.array_equal(remote["lon"][1::3], netCDF4.Dataset(data["agg"][0])["lon"][1::3])
    ds = xr.open_dataset(url(srv, "agg"), engine="netcdf4")
    assert list(ds["sst"].dims) == ["time", "lat", "lon"] and set(ds["sst"].coords) == {"time", "lat", "lon"}
    sub = ds["sst"].sel(lat=slice(41, 43), lon=slice(-2, 1)).isel(time=[1, 5])
    assert np.array_equal(sub["lon"].values, local_agg(data)["lon"].sel(lon=slice(-2, 1)).values)


# ---- DAP4 groups ----

def test_dap4_groups_in_the_dmr(srv, data):
    dmr = requests.get(url(srv, "groups") + ".dmr").text
    assert '<Group name="g1">' in dmr and '<Group name="g2">' in dmr
    assert '<Dimension name="band" size="5"/>' in dmr
    assert '<Dim name="/g1/band"/>' in dmr and '<Dim name="/lat"/>' in dmr and '<Map name="/g1/band"/>' in dmr
    assert '<Attribute name="source" type="String"><Value>instrument one</Value></Attribute>' in dmr
    # DAP2 has no groups: the root group only
    dds = requests.get(url(srv, "groups") + ".dds").text
    assert "surface" in dds and "radiance" not in dds and "band" not in dds
    check_dap2_error(requests.get(url(srv, "groups") + ".dds?radiance"), 404, "No such variable")


def test_dap4_groups_with_netcdf_c(srv, data):
    """netCDF-C's dap4:// client rebuilds the groups; values, hyperslabs and a fully qualified constraint equal the
    local file."""
    h = ncdump("-h", dap4(srv, "groups"))
    assert re.search(r"group: g1 \{.*band = 5 ;.*float radiance\(band, lat, lon\).*group: g2 \{.*ubyte flag\(lat, band\)",
                     h, re.S), h
    assert ':source = "instrument one"' in h
    for var in ["g1/radiance", "g1/g2/flag"]:
        name = var.rsplit("/", 1)[1]
        want = re.search(rf"\n\s*{name} =(.*?);\n", ncdump("-v", var, data["groups"]), re.S).group(1)
        got = re.search(rf"\n\s*{name} =(.*?);\n", ncdump("-v", var, dap4(srv, "groups")), re.S)
        assert got and got.group(1).split() == want.split(), var
    local, remote = netCDF4.Dataset(data["groups"]), netCDF4.Dataset(dap4(srv, "groups"))
    assert np.array_equal(remote["/g1/radiance"][1:5:2, :, 1:3], local["/g1/radiance"][1:5:2, :, 1:3])
    assert np.array_equal(remote.groups["g1"].groups["g2"]["flag"][:], local["/g1/g2/flag"][:])
    r = requests.get(url(srv, "groups") + ".dap", params={"dap4.ce": "/g1/radiance[4][2][0:3:3];/g1/g2/flag[1][]"})
    dmr, payload = parse_dap4(r.content)
    assert b'<Group name="g1">' in dmr and b"surface" not in dmr
    rad = np.asarray(local["/g1/radiance"][4, 2, 0:4:3], "<f4").tobytes()
    flag = np.asarray(local["/g1/g2/flag"][1, :], "u1").tobytes()
    assert payload == rad + struct.pack("<I", zlib.crc32(rad)) + flag + struct.pack("<I", zlib.crc32(flag))
    check_dap4_error(requests.get(url(srv, "groups") + ".dap", params={"dap4.ce": "/g1/nosuch"}), 404,
                     "No such variable")
    check_dap4_error(requests.get(url(srv, "groups") + ".dap", params={"dap4.ce": "/radiance"}), 404,
                     "No such variable")


def test_data_mark_for_netcdf_c(srv):
    """netCDF-C's DAP2 library (User-Agent oc4.9.0) searches "Data:\\r\\n" first, over the whole response: it gets
    that form (found right after the DDS); everyone else libdap's "Data:\\n". The values are the same bytes."""
    u = url(srv, "agg") + ".dods?sst.sst[0:1:2][0][0:1:7]"
    plain = requests.get(u, headers={"Accept-Encoding": "identity"}).content
    oc = requests.get(u, headers={"Accept-Encoding": "identity", "User-Agent": "oc4.9.0"})
    head, sep, body = oc.content.partition(b"\nData:\r\n")
    assert sep and plain == head + b"\nData:\n" + body
    assert int(oc.headers["Content-Length"]) == len(oc.content)


def test_gzip_streamed_when_accepted(srv):
    u = url(srv, "agg") + ".dods?sst[0:1:8][0:1:5][0:1:7],time"
    plain = requests.get(u, headers={"Accept-Encoding": "identity"})
    gz = requests.get(u, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert gz.headers["Content-Encoding"] == "gzip" and "Content-Length" not in gz.headers
    raw = gz.raw.read(decode_content=False)
    assert zlib.decompress(raw, 31) == plain.content
    assert len(raw) < len(plain.content)
    assert "Content-Encoding" not in requests.get(u, headers={"Accept-Encoding": "gzip;q=0"}).headers
    d4 = requests.get(url(srv, "agg") + ".dap", headers={"Accept-Encoding": "gzip"})
    assert d4.headers["Content-Encoding"] == "gzip" and parse_dap4(d4.content)[1]
    # incompressible values: after a first piece that shrank by less than 10%, the rest goes out stored (cheap)
    u = url(srv, "noise") + ".dods?noise.noise"
    plain = requests.get(u, headers={"Accept-Encoding": "identity"})
    gz = requests.get(u, headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = gz.raw.read(decode_content=False)
    assert zlib.decompress(raw, 31) == plain.content
    assert len(raw) > 0.97 * len(plain.content), (len(raw), len(plain.content))


def parse_dap4(raw):
    chunks, pos, dmr = [], 0, None
    while True:
        flags, n = raw[pos], int.from_bytes(raw[pos + 1:pos + 4], "big")
        chunk = raw[pos + 4:pos + 4 + n]
        pos += 4 + n
        if dmr is None:
            dmr = chunk
        else:
            chunks.append(chunk)
        assert flags & 4  # little-endian
        if flags & 1:
            break
    assert pos == len(raw)
    return dmr, b"".join(chunks)


def test_dap4_chunks_and_crc32(srv, data):
    r = requests.get(url(srv, "agg") + ".dap", params={"dap4.ce": "/sst[1:3:7][0:1][2:2:7];/lat[0:5]"})
    dmr, payload = parse_dap4(r.content)
    assert dmr.endswith(b"</Dataset>\n\r\n")
    local = np.concatenate([netCDF4.Dataset(p)["sst"][:] for p in data["agg"]])
    lat = netCDF4.Dataset(data["agg"][0])["lat"][:]
    # dataset order: lat, then sst; each followed by its CRC32
    n = 6 * 8
    assert payload[:n] == np.asarray(lat, "<f8").tobytes()
    assert struct.unpack("<I", payload[n:n + 4])[0] == zlib.crc32(payload[:n])
    sst = np.asarray(local[1:8:3, 0:2, 2:8:2], "<f4").tobytes()
    assert payload[n + 4:n + 4 + len(sst)] == sst
    assert struct.unpack("<I", payload[n + 4 + len(sst):])[0] == zlib.crc32(sst)
    # without checksums when the client says so
    r = requests.get(url(srv, "agg") + ".dap", params={"dap4.ce": "/lat", "dap4.checksum": "false"})
    assert r.content[0] & 8
    assert parse_dap4(r.content)[1] == np.asarray(lat, "<f8").tobytes()


# ---- errors ----

def check_dap2_error(r, status, text):
    assert r.status_code == status, r.text
    assert r.headers["Content-Description"] == "dods-error"
    assert r.text.startswith(f"Error {{\n    code = {status};\n    message = \""), r.text
    assert text in r.text


def check_dap4_error(r, status, text):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/vnd.opendap.dap4.error+xml")
    assert f'<Error httpcode="{status}">' in r.text and text in r.text


def test_errors_dap2_and_dap4(srv):
    u = url(srv, "agg")
    check_dap2_error(requests.get(u + ".dods?nosuch"), 404, "No such variable: nosuch")
    check_dap2_error(requests.get(u + ".dods?sst[0:1:9][0][0]"), 400, "outside 0..8")
    check_dap2_error(requests.get(u + ".dods?sst[0:0:3][0][0]"), 400, "stride of 0")
    check_dap2_error(requests.get(u + ".dds?sst[0:1"), 400, "Malformed constraint")
    check_dap2_error(requests.get(u + ".dods?sst&sst>3"), 400, "Selections")
    check_dap2_error(requests.get(u + ".dods?sst[0][0]"), 400, "3 dimensions")
    check_dap2_error(requests.get(srv.url + "/opendap/nosuch.dds"), 404, "No OPeNDAP dataset")
    d4 = u + ".dap"
    check_dap4_error(requests.get(d4, params={"dap4.ce": "/nosuch"}), 404, "No such variable")
    check_dap4_error(requests.get(d4, params={"dap4.ce": "/sst[0:1:9][0][0]"}), 400, "outside")
    check_dap4_error(requests.get(d4, params={"dap4.ce": "/sst[0:0:3][0][0]"}), 400, "stride of 0")
    check_dap4_error(requests.get(u + ".dmr", params={"dap4.ce": "/sst["}), 400, "Malformed")
    # huge constraints are refused, quickly
    t0 = time.time()
    check_dap2_error(requests.get(u + ".dds?" + ",".join(["sst"] * 3000)), 400, "projections")
    check_dap2_error(requests.get(u + ".dds?sst" + "[0]" * 40), 400, "dimensions")
    check_dap2_error(requests.get(u + ".dds?sst[99999999999999999999]"), 400, "too large")
    assert time.time() - t0 < 5
    assert requests.get(srv.url + "/health").status_code == 200


def test_response_size_limit(demo_dir, data, tmp_path):
    s = Server(str(tmp_path), config(demo_dir, data, max_coverage_bytes="100KiB"), name="small")
    try:
        u = url(s, "big")
        check_dap2_error(requests.get(u + ".dods?field"), 413, "over the limit")
        check_dap4_error(requests.get(u + ".dap", params={"dap4.ce": "/field"}), 413, "over the limit")
        r = requests.get(u + ".dods?field[0][0:1:99][0:1:99]")  # 40 KB: under the limit
        assert r.status_code == 200
    finally:
        assert s.stop() == 0


# ---- streaming: a 1 GiB response, server memory bounded ----

def rss_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])


@pytest.fixture
def lean_srv(demo_dir, data, tmp_path):
    """A server of its own for the memory test; under AddressSanitizer with a small quarantine, since ASan keeps
    freed blocks (netCDF-C's per-read buffers) for 256 MB by default, which is not the server's footprint."""
    old = os.environ.get("ASAN_OPTIONS")
    if old is not None:
        os.environ["ASAN_OPTIONS"] = old + ":quarantine_size_mb=8:thread_local_quarantine_size_kb=64"
    try:
        s = Server(str(tmp_path), config(demo_dir, data), name="lean")
    finally:
        if old is not None:
            os.environ["ASAN_OPTIONS"] = old
    yield s
    assert s.stop() == 0


def test_one_gib_streamed_in_bounded_memory(lean_srv):
    srv = lean_srv
    pid = srv.proc.pid
    requests.get(url(srv, "big") + ".dods?field[0:1:1][0:1:511][0:1:511]").raise_for_status()  # warm up
    base = rss_kib(pid, "VmRSS")
    peak = base
    r = requests.get(url(srv, "big") + ".dods?field", stream=True, headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200
    total = int(r.headers["Content-Length"])
    assert total > 1024**3
    got, head, last = 0, b"", b""
    for i, chunk in enumerate(r.iter_content(1 << 20)):
        if got < 4096:
            head += chunk[:4096]
        got += len(chunk)
        last = (last + chunk)[-8:]
        if i % 64 == 0:
            peak = max(peak, rss_kib(pid, "VmRSS"))
    assert got == total
    assert (peak - base) < 64 * 1024, f"RSS grew by {(peak - base) // 1024} MiB"
    # first value of step 0 is 0.0; a Grid ends with its maps, the last one lon (ending at 120)
    hdr, body = head.split(b"\nData:\n", 1)
    assert b"Float32 field[time = 1024][lat = 512][lon = 512];" in hdr and b"Grid {" in hdr
    assert struct.unpack(">IIf", body[:12]) == (1024 * 512 * 512, 1024 * 512 * 512, 0.0)
    assert struct.unpack(">d", last[-8:])[0] == 120.0


@pytest.mark.skipif(not shutil.which("ncdump"), reason="ncdump missing")
def test_ncdump_on_geotiff_dap4(srv):
    h = ncdump("-h", dap4(srv, "dem_demo"))
    assert "float elevation(lat, lon)" in h and "crs_wkt" in h
