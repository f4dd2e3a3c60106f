"""Fills nadir's tile cache for case_maps.sh's cached-tiles run and writes the same tile files for nginx: every XYZ
tile of a lon/lat box at zoom ZMIN..ZMAX (the ranges tests/bench/maps_tiles.lua draws from), each checked to be a
cache hit on its second request.
usage: maps_seed.py NADIR_URL LAYER W,S,E,N ZMIN ZMAX OUT_DIR"""
import math
import os
import sys

import requests

url, layer, box, zmin, zmax, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
w, s, e, n = map(float, box.split(","))
R = 20037508.342789244


def merc(lon, lat):
    return lon * R / 180, math.log(math.tan(math.pi / 4 + lat * math.pi / 360)) * R / math.pi


count = 0
with requests.Session() as http:
    for z in range(zmin, zmax + 1):
        size = 2 * R / 2 ** z
        (x0, y0), (x1, y1) = merc(w, s), merc(e, n)
        for x in range(math.floor((x0 + R) / size), math.floor((x1 + R) / size) + 1):
            for y in range(math.floor((R - y1) / size), math.floor((R - y0) / size) + 1):
                tile = f"{url}/tiles/{layer}/{z}/{x}/{y}.png"
                r = http.get(tile, timeout=60)
                r.raise_for_status()
                again = http.get(tile, timeout=60)
                if again.headers.get("X-Tile-Cache") != "hit" or again.content != r.content:
                    sys.exit(f"{tile}: not served from the tile cache on its second request")
                os.makedirs(f"{out}/{z}/{x}", exist_ok=True)
                with open(f"{out}/{z}/{x}/{y}.png", "wb") as f:
                    f.write(r.content)
                count += 1
print(f"bench: {count} tiles of {layer} cached and written for nginx", file=sys.stderr)
