"""Numbers a client controls: sizes, resolutions and scales of 0, -1, NaN, inf and 1e308, a parameter repeated
a thousand times, DAP strides of 0 and hyperslabs whose size overflows: refused with a 4xx in the protocol's
format, never a crash, a hang or a huge allocation."""
import time

import pytest
import requests

from conftest import client_error, ows_exception

# Refused wherever a size, resolution or scale is expected.
BAD = ["0", "-1", "NaN", "nan", "inf", "-inf", "1e400", "", "8abc", "99999999999999999999", "1e308"]
# Numbers some parsers take (hex, fractions, spaces, past 32 bits): either refused or a bounded answer.
ODD = ["0x10", "1.5", " 8", "2147483648", "4294967296"]

GETMAP = dict(SERVICE="WMS", VERSION="1.3.0", REQUEST="GetMap", LAYERS="sst/sst", STYLES="", CRS="EPSG:4326",
              BBOX="40,-20,66,30", WIDTH="64", HEIGHT="64", FORMAT="image/png")
GETCOV = dict(SERVICE="WCS", VERSION="2.0.1", REQUEST="GetCoverage", COVERAGEID="dem_demo", FORMAT="image/tiff")
GETCOV10 = dict(SERVICE="WCS", VERSION="1.0.0", REQUEST="GetCoverage", COVERAGE="dem_demo", CRS="EPSG:4326",
                BBOX="10.0,46.1,10.5,46.6", WIDTH="64", HEIGHT="64", FORMAT="GeoTIFF")


def get(server, path, params):
    t = time.time()
    r = requests.get(server.url + path, params=params, timeout=60)
    assert time.time() - t < 20, (params, time.time() - t)
    return r


def refused_or_small(r, demo_dir, what):
    """A 4xx in the protocol's format, or an answer of bounded size (never a 5xx or a huge image)."""
    if r.status_code == 200:
        assert len(r.content) < 64 << 20, what
    else:
        assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:300])
        ows_exception(r, demo_dir, status=r.status_code)


@pytest.mark.parametrize("v", BAD + ODD)
def test_wms_sizes(server, demo_dir, v):
    for k in ("WIDTH", "HEIGHT"):
        r = get(server, "/wms", {**GETMAP, k: v})
        if v in BAD:
            assert r.status_code == 400, (k, v, r.status_code)
            ows_exception(r, demo_dir)
        else:
            refused_or_small(r, demo_dir, (k, v))
    r = get(server, "/wms", {**GETMAP, "REQUEST": "GetLegendGraphic", "LAYER": "sst/sst", "WIDTH": v})
    refused_or_small(r, demo_dir, ("legend", v))
    if v in BAD and v not in ("0", "-1", "99999999999999999999", "1e308"):  # not a number at all
        r = get(server, "/wms", {**GETMAP, "BBOX": f"{v},-20,66,30"})
        ows_exception(r, demo_dir)


@pytest.mark.parametrize("v", BAD + ODD)
def test_wcs_scales(server, demo_dir, v):
    for extra in ({"SCALEFACTOR": v}, {"SCALESIZE": f"Lat({v}),Long(10)"}, {"SCALEAXES": f"Lat({v})"}):
        r = get(server, "/wcs", {**GETCOV, **extra})
        if v in BAD:
            assert 400 <= r.status_code < 500, (extra, r.status_code, r.text[:300])
            ows_exception(r, demo_dir, status=r.status_code)
        else:
            refused_or_small(r, demo_dir, extra)
    for k in ("WIDTH", "HEIGHT", "RESX", "RESY"):
        params = {**GETCOV10, k: v}
        if k.startswith("RES"):
            params.pop("WIDTH"), params.pop("HEIGHT")
            params["RESX" if k == "RESY" else "RESY"] = "0.01"
        r = get(server, "/wcs", params)
        if v in BAD and not (k.startswith("RES") and v in ("1e308", "99999999999999999999")):
            assert 400 <= r.status_code < 500, (k, v, r.status_code, r.text[:300])
            ows_exception(r, demo_dir, status=r.status_code)
        else:  # a resolution coarser than the extent is one pixel
            refused_or_small(r, demo_dir, (k, v))


@pytest.mark.parametrize("v", ["0", "-1", "NaN", "inf", "1e308", "99999999999999999999"])
def test_ogcapi_and_stac_numbers(server, demo_dir, v):
    for path, params in (("/stac/search", {"limit": v}), ("/stac/search", {"bbox": f"0,0,{v},1"}),
                         ("/collections", {"limit": v}), ("/jobs", {"limit": v}),
                         ("/collections/sst/map/tiles/WebMercatorQuad/" + v + "/0/0", None)):
        r = get(server, path, params)
        if r.status_code != 200:
            client_error(r, demo_dir)


def test_repeated_parameter(server, demo_dir):
    for path, base, key in (("/wms", GETMAP, "LAYERS"), ("/wcs", GETCOV, "SUBSET"), ("/wms", GETMAP, "WIDTH"),
                            ("/stac/search", {}, "collections"), ("/wps", {"SERVICE": "WPS", "REQUEST": "GetCapabilities"},
                                                                  "AcceptVersions")):
        query = "&".join(f"{k}={requests.utils.quote(str(v))}" for k, v in base.items() if k != key)
        query += "".join(f"&{key}=sst/sst" if key != "SUBSET" else f"&SUBSET=Lat(46,46.5)" for _ in range(1000))
        try:
            r = get(server, path + "?" + query.lstrip("&"), None)
        except requests.ConnectionError:
            continue  # past libmicrohttpd's per-connection memory the connection is closed (see test_http_limits)
        assert r.status_code < 500, (path, key, r.status_code, r.text[:300])
        if r.status_code >= 400:
            client_error(r, demo_dir)
    assert requests.get(server.url + "/health", timeout=5).status_code == 200


@pytest.mark.parametrize("ce", ["sst[0:0:1][0][0]", "sst[0][0:0:10][0]", "sst[5:1]", "sst[0:1:18446744073709551615]",
                                "sst[0:1:281474976710656][0:1:281474976710656][0:1:281474976710656]",
                                "sst[0:281474976710655][0:281474976710655][0:281474976710655]",
                                "sst[" + "9" * 40 + "]", "sst" + "[0]" * 100, "sst[-1]", "sst[0:-1:5]",
                                ",".join(["sst"] * 2000), "time[0:1:999999999999]"])
@pytest.mark.parametrize("suffix", [".dods", ".dds", ".ascii"])
def test_dap2_constraints(server, demo_dir, ce, suffix):
    r = get(server, "/opendap/sst" + suffix + "?" + ce, None)
    assert 400 <= r.status_code < 500, (ce, r.status_code, r.text[:300])
    assert "Error" in r.text
    client_error(r, demo_dir)


@pytest.mark.parametrize("ce", ["/sst[0:0:1][0][0]", "/sst[5:1]", "/sst[0:1:281474976710655][0:1:281474976710655]"
                                "[0:1:281474976710655]", "/time[0:1:999999999999]", ";".join(["/sst"] * 2000)])
def test_dap4_constraints(server, demo_dir, ce):
    for suffix in (".dap", ".dmr.xml"):
        r = get(server, "/opendap/sst" + suffix, {"dap4.ce": ce})
        assert 400 <= r.status_code < 500, (ce, r.status_code, r.text[:300])
        client_error(r, demo_dir)
