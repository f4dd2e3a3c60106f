#!/usr/bin/env bash
# Case coverage: BENCH_COV_WINDOWS (default 10) windows of BENCH_COV_WIN^2 (default 2048^2) float32 cut by WCS 2.0.1
# GetCoverage (GeoTIFF, tiled DEFLATE) from a large GeoTIFF and from a NetCDF variable, fetched over loopback from
# nadir and from MapServer 8 (FastCGI behind a private nginx) in one run; the same windows cut locally with
# gdal_translate -projwin (same creation options) are the ceiling. Goals: >= 1.5x MapServer, >= 0.8x local.
# Usage: case_coverage.sh NADIR_BIN   (normally through run.sh; smoke run: BENCH_COV_SIZE=4096 BENCH_COV_WIN=1024
# BENCH_COV_WINDOWS=3 BENCH_ROUNDS=1)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NADIR_BIN=${1:?usage: case_coverage.sh NADIR_BIN}
SIZE=${BENCH_COV_SIZE:-10240}
WIN=${BENCH_COV_WIN:-2048}
NWIN=${BENCH_COV_WINDOWS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
command -v mapserv >/dev/null || bench_die "mapserv not found (apt-get install cgi-mapserver mapserver-bin)"
command -v spawn-fcgi >/dev/null || bench_die "spawn-fcgi not found (apt-get install spawn-fcgi)"

# A smooth field with noise (compresses like real data), 0.001 degree cells from (0, 0).
/usr/bin/python3 - "$BENCH_TMP" "$SIZE" <<'EOF' || bench_die "writing the test data failed"
import sys
import netCDF4
import numpy as np
from osgeo import gdal, osr
d, n = sys.argv[1], int(sys.argv[2])
res = 0.001
srs = osr.SpatialReference()
srs.ImportFromEPSG(4326)
tif = gdal.GetDriverByName("GTiff").Create(f"{d}/cov.tif", n, n, 1, gdal.GDT_Float32,
                                           ["TILED=YES", "BLOCKXSIZE=512", "BLOCKYSIZE=512", "BIGTIFF=YES"])
tif.SetGeoTransform([0, res, 0, n * res, 0, -res])
tif.SetProjection(srs.ExportToWkt())
nc = netCDF4.Dataset(f"{d}/cov.nc", "w")
nc.createDimension("lat", n)
nc.createDimension("lon", n)
nc.createVariable("lat", "f8", ("lat",)).units = "degrees_north"
nc.createVariable("lon", "f8", ("lon",)).units = "degrees_east"
nc["lat"][:] = (n - 0.5 - np.arange(n)) * res
nc["lon"][:] = (np.arange(n) + 0.5) * res
v = nc.createVariable("field", "f4", ("lat", "lon"), chunksizes=(512, 512))
v.units = "1"
rng = np.random.default_rng(7)
x = np.arange(n, dtype="f4")
for r in range(0, n, 512):
    y = np.arange(r, min(n, r + 512), dtype="f4")[:, None]
    block = (np.sin(x / 300.0) * np.cos(y / 200.0) * 100 + rng.standard_normal((len(y), n), dtype="f4")).astype("f4")
    tif.GetRasterBand(1).WriteArray(block, 0, r)
    v[r:r + len(y), :] = block
tif = None
nc.close()
EOF

# Windows: deterministic positions on the cell grid, as lon/lat corners (x0 y0 x1 y1 per line).
python3 - "$SIZE" "$WIN" "$NWIN" >"$BENCH_TMP/windows" <<'EOF'
import random, sys
n, w, k = map(int, sys.argv[1:])
r = random.Random(11)
for _ in range(k):
    i, j = r.randrange(0, n - w), r.randrange(0, n - w)
    print(f"{i * 0.001:.3f} {(n - j - w) * 0.001:.3f} {(i + w) * 0.001:.3f} {(n - j) * 0.001:.3f}")
EOF

nadir_start "$NADIR_BIN" "  max_coverage_bytes: 4GiB
  data_dir: $BENCH_TMP/nadir-data
datasets:
  - id: cov_tif
    source: $BENCH_TMP/cov.tif
  - id: cov_nc
    source: $BENCH_TMP/cov.nc"

# MapServer 8 as FastCGI processes behind a private nginx, one process per CPU.
EXT="0 0 $(python3 -c "print($SIZE * 0.001)") $(python3 -c "print($SIZE * 0.001)")"
layer() {
    cat <<EOF
  LAYER
    NAME "$1"
    TYPE RASTER
    STATUS ON
    DATA '$2'
    PROJECTION "init=epsg:4326" END
    METADATA
      "wcs_label" "$1"
      "wcs_rangeset_name" "field"
      "wcs_bandcount" "1"
      "wcs_formats" "GEOTIFF_FLOAT32"
      "wcs_nativeformat" "GEOTIFF_FLOAT32"
      "wcs_extent" "$EXT"
      "wcs_size" "$SIZE $SIZE"
      "wcs_resolution" "0.001 0.001"
      "wcs_imagemode" "FLOAT32"
    END
  END
EOF
}
cat >"$BENCH_TMP/ms.conf" <<EOF
CONFIG
  ENV
    MS_MAP_PATTERN "."
    MS_MAPFILE "$BENCH_TMP/bench.map"
  END
END
EOF
cat >"$BENCH_TMP/bench.map" <<EOF
MAP
  NAME "bench"
  EXTENT $EXT
  SIZE 2048 2048
  MAXSIZE 65536
  PROJECTION "init=epsg:4326" END
  WEB
    METADATA
      "ows_enable_request" "*"
      "ows_srs" "EPSG:4326"
      "ows_title" "bench"
    END
  END
  OUTPUTFORMAT
    NAME "GEOTIFF_FLOAT32"
    DRIVER "GDAL/GTiff"
    MIMETYPE "image/tiff"
    IMAGEMODE FLOAT32
    EXTENSION "tif"
    FORMATOPTION "TILED=YES"
    FORMATOPTION "COMPRESS=DEFLATE"
    FORMATOPTION "ZLEVEL=1"
  END
$(layer cov_tif "$BENCH_TMP/cov.tif")
$(layer cov_nc "NETCDF:\"$BENCH_TMP/cov.nc\":field")
END
EOF
FCGI_PORT=$(bench_free_port)
MAPSERVER_CONFIG_FILE=$BENCH_TMP/ms.conf MS_MAPFILE=$BENCH_TMP/bench.map \
    spawn-fcgi -n -a 127.0.0.1 -p "$FCGI_PORT" -F "$BENCH_NPROC" -- "$(command -v mapserv)" \
    >"$BENCH_TMP/fcgi.log" 2>&1 &
BENCH_PIDS+=("$!")
nginx_start "$BENCH_TMP" "location / { include /etc/nginx/fastcgi_params; fastcgi_param MS_MAPFILE $BENCH_TMP/bench.map; fastcgi_pass 127.0.0.1:$FCGI_PORT; }"
MS_URL=$NGINX_URL/

# fetch BASE COVERAGE OUT: every window once, sequentially; prints MB/s of float32 values delivered.
fetch() {
    local base=$1 cov=$2 out=$3 t0 t1
    t0=$(date +%s.%N)
    while read -r x0 y0 x1 y1; do
        curl -sf -o "$out" "${base}?SERVICE=WCS&VERSION=2.0.1&REQUEST=GetCoverage&COVERAGEID=$cov&FORMAT=image/tiff&SUBSET=Long($x0,$x1)&SUBSET=Lat($y0,$y1)" \
            || return 1
    done <"$BENCH_TMP/windows"
    t1=$(date +%s.%N)
    python3 -c "print(f'{$NWIN * $WIN * $WIN * 4 / 1e6 / ($t1 - $t0):.1f}')"
}
local_cut() {
    local src=$1 out=$2 t0 t1
    t0=$(date +%s.%N)
    while read -r x0 y0 x1 y1; do
        gdal_translate -q -projwin "$x0" "$y1" "$x1" "$y0" -co TILED=YES -co COMPRESS=DEFLATE -co ZLEVEL=1 \
            "$src" "$out" || return 1
    done <"$BENCH_TMP/windows"
    t1=$(date +%s.%N)
    python3 -c "print(f'{$NWIN * $WIN * $WIN * 4 / 1e6 / ($t1 - $t0):.1f}')"
}

# Same answer from both servers before timing anything.
read -r x0 y0 x1 y1 <"$BENCH_TMP/windows"
curl -sf -o "$BENCH_TMP/n.tif" "$NADIR_URL/wcs?SERVICE=WCS&VERSION=2.0.1&REQUEST=GetCoverage&COVERAGEID=cov_tif&SUBSET=Long($x0,$x1)&SUBSET=Lat($y0,$y1)" \
    || bench_die "nadir GetCoverage failed"
curl -sf -o "$BENCH_TMP/m.tif" "$MS_URL?SERVICE=WCS&VERSION=2.0.1&REQUEST=GetCoverage&COVERAGEID=cov_tif&FORMAT=image/tiff&SUBSET=Long($x0,$x1)&SUBSET=Lat($y0,$y1)" \
    || bench_die "MapServer GetCoverage failed"
/usr/bin/python3 - "$BENCH_TMP/n.tif" "$BENCH_TMP/m.tif" "$WIN" <<'EOF' || bench_die "nadir and MapServer disagree"
import sys
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
try:
    a, b = gdal.Open(sys.argv[1]).ReadAsArray(), gdal.Open(sys.argv[2]).ReadAsArray()
except RuntimeError:
    sys.exit("an answer is not a GeoTIFF; MapServer's ends with: " + repr(open(sys.argv[2], "rb").read()[-300:]))
w = int(sys.argv[3])
assert a.shape == (w, w), a.shape
assert a.shape == b.shape and np.array_equal(a, b), "values differ"
EOF

local_cut "$BENCH_TMP/cov.tif" "$BENCH_TMP/l.tif" >/dev/null   # page cache warm for every side
for kind in tif nc; do
    src=$BENCH_TMP/cov.tif
    [[ $kind == nc ]] && src=NETCDF:\"$BENCH_TMP/cov.nc\":field
    N=() M=() L=()
    for ((r = 0; r < ROUNDS; r++)); do
        N+=("$(fetch "$NADIR_URL/wcs" "cov_$kind" "$BENCH_TMP/n.tif")") || bench_die "nadir fetch failed"
        M+=("$(fetch "$MS_URL" "cov_$kind" "$BENCH_TMP/m.tif")") || bench_die "MapServer fetch failed"
        L+=("$(local_cut "$src" "$BENCH_TMP/l.tif")") || bench_die "gdal_translate failed"
        bench_log "$kind round $r: nadir ${N[r]} MB/s, MapServer ${M[r]} MB/s, local gdal_translate ${L[r]} MB/s"
    done
    bench_metric "${kind}_vs_mapserver_MBps" "$(bench_median "${N[@]}")" "$(bench_median "${M[@]}")" higher 1.5
    bench_metric "${kind}_vs_local_gdal_translate_MBps" "$(bench_median "${N[@]}")" "$(bench_median "${L[@]}")" higher 0.8
done
bench_peer "MapServer $(mapserv -v | sed -n 's/MapServer version \([0-9.]*\).*/\1/p') (FastCGI x$BENCH_NPROC behind nginx $(nginx_version)); local gdal_translate $(gdal-config --version)"
bench_note "coverage: $NWIN windows of ${WIN}x${WIN} float32 from a ${SIZE}x${SIZE} tiled GeoTIFF and a NetCDF-4 variable (512x512 chunks); WCS 2.0.1 GetCoverage, GeoTIFF tiled DEFLATE level 1 on every side; MB/s of float32 values delivered, sequential requests with curl"
