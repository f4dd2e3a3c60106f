"""What every kernel's map output must show once its job succeeded: it is a dataset of the server, drawn by
WMS, cut by WCS and read over OPeNDAP with the values of the file the job wrote, and found in STAC."""
import uuid

import numpy as np
import requests
from netCDF4 import Dataset
from osgeo import gdal

gdal.UseExceptions()


def _raster(content):
    name = f"/vsimem/{uuid.uuid4().hex}"
    gdal.FileFromMemBuffer(name, content)
    ds = gdal.Open(name)
    bands = []
    for b in range(ds.RasterCount):  # no-data as NaN, as netCDF4 masks it
        band = ds.GetRasterBand(b + 1)
        a, nodata = band.ReadAsArray().astype(float), band.GetNoDataValue()
        bands.append(np.where(a == nodata, np.nan, a) if nodata is not None else a)
    gt = ds.GetGeoTransform()
    ds = None
    gdal.Unlink(name)
    return bands, gt


def assert_published(url, job, output, variable=None):
    """Checks output `output` of `job`; for a NetCDF output, `variable` names the 2-D (or time, y, x) grid."""
    ds_id = f"{job}-{output}"
    file = requests.get(f"{url}/jobs/{job}/results/{output}")
    assert file.status_code == 200, file.text[:300]

    # WMS: a layer per variable, listed and drawn
    caps = requests.get(f"{url}/wms", params={"SERVICE": "WMS", "REQUEST": "GetCapabilities", "VERSION": "1.3.0"}).text
    layer = f"{ds_id}/{variable}" if variable else None
    if not layer:
        start = caps.index(f"<Name>{ds_id}/") + len("<Name>")
        layer = caps[start:caps.index("</Name>", start)]
    assert f"<Name>{layer}</Name>" in caps, layer
    coll = requests.get(f"{url}/collections/{ds_id}").json()
    w, s, e, n = coll["extent"]["spatial"]["bbox"][0]
    r = requests.get(f"{url}/wms", params={"SERVICE": "WMS", "VERSION": "1.3.0", "REQUEST": "GetMap", "LAYERS": layer,
                                          "STYLES": "", "CRS": "CRS:84", "BBOX": f"{w},{s},{e},{n}", "WIDTH": 64,
                                          "HEIGHT": 64, "FORMAT": "image/png", "TRANSPARENT": "TRUE"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "image/png", r.text[:300]
    png, _ = _raster(r.content)
    assert np.nanmax(png[-1]) > 0, "the map of the output is blank"

    # WCS: the coverage holds the values the job wrote
    for cov_id in ([f"{ds_id}.{variable}"] if variable else []) + [ds_id]:  # one-variable datasets: the id alone
        r = requests.get(f"{url}/wcs", params={"SERVICE": "WCS", "VERSION": "2.0.1", "REQUEST": "GetCoverage",
                                              "COVERAGEID": cov_id, "FORMAT": "image/tiff"})
        if r.status_code != 404:
            break
    assert r.status_code == 200, r.text[:500]
    got, _ = _raster(r.content)

    # OPeNDAP: netCDF-C's client reads the same grid (rows south to north when the y axis ascends)
    with Dataset(f"{url}/opendap/{ds_id}") as nc:
        name = variable or next(k for k, v in nc.variables.items() if v.ndim >= 2)
        var = nc[name]
        lead = (0,) * (var.ndim - 2)  # WCS without a subset: band 1 is the first time step at the first level
        dap = np.ma.filled(var[lead].astype(float), np.nan)
        y = nc[var.dimensions[-2]][:] if var.dimensions[-2] in nc.variables else None
    if y is not None and len(y) > 1 and y[1] > y[0]:
        dap = dap[::-1]
    np.testing.assert_allclose(got[0], dap, rtol=1e-6, equal_nan=True)
    if file.content[:4] in (b"II*\x00", b"MM\x00*"):  # a GeoTIFF output: WCS gives back the file's values
        want, _ = _raster(file.content)
        np.testing.assert_allclose(got[0], want[0], equal_nan=True)

    # STAC: the item with its access points
    items = requests.get(f"{url}/stac/search", params={"ids": ds_id}).json()["features"]
    assert len(items) == 1 and {"wms", "wcs", "opendap"} <= set(items[0]["assets"]), items
    return layer
