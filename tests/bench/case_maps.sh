#!/usr/bin/env bash
# Case maps: uncached 256x256 EPSG:3857 WMS GetMap tiles (PNG) at random tile positions, from nadir and from
# MapServer 8 (FastCGI behind a private nginx) on the same files in one run: (a) the demo 4-band Sentinel-2-like
# COG as an RGB composite (bands 3,2,1, linear stretch), (b) the demo NetCDF SST (short, scaled) with a colour
# ramp. wrk -t2 -c8 with the same tile sequence for both (tests/bench/maps_tiles.lua). Goal: >= 2x MapServer's
# requests/s with a lower p99. Then (c) cached tiles: the SST as XYZ tiles from nadir's disk tile cache against
# nginx serving the very same tile files statically (sendfile), same tile sequence. Goal: >= 50% of nginx.
# Usage: case_maps.sh NADIR_BIN   (normally through run.sh; smoke run: BENCH_DURATION=3s BENCH_ROUNDS=1)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NADIR_BIN=${1:?usage: case_maps.sh NADIR_BIN}
command -v mapserv >/dev/null || bench_die "mapserv not found (apt-get install cgi-mapserver mapserver-bin)"
command -v spawn-fcgi >/dev/null || bench_die "spawn-fcgi not found (apt-get install spawn-fcgi)"
WRK_OPTS=(-t2 -c8)
LUA=$BENCH_DIR/maps_tiles.lua

demo=$BENCH_TMP/demo
"$NADIR_BIN" demo-data "$demo" >/dev/null 2>&1 || bench_die "nadir demo-data failed"
s2=$demo/s2/s2_demo_10m.tif
sst=$(ls "$demo"/sst/sst_*.nc | tail -1) # the latest day: nadir's default time step
chmod -R a+rX "$demo"

# The same stretch and range for both servers: nadir's RGB stretch is mean +- 2 sigma per band.
read -r lo1 hi1 lo2 hi2 lo3 hi3 < <(/usr/bin/python3 - "$s2" <<'EOF'
import sys
import numpy as np
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
out = []
for b in (3, 2, 1):
    a = ds.GetRasterBand(b).ReadAsArray().astype(float)
    a = a[a != 0]
    out += [max(a.min(), a.mean() - 2 * a.std()), min(a.max(), a.mean() + 2 * a.std())]
print(" ".join(f"{v:.1f}" for v in out))
EOF
) || bench_die "statistics of $s2 failed"

nadir_start "$NADIR_BIN" "datasets:
  - id: s2
    source: $s2
  - id: sst
    source: $sst
styles:
  - name: ramp
    layers: [sst/sst]
    default: true
    palette: viridis
    range: \"-2,16\"
    bands: 250"

cat >"$BENCH_TMP/ms.conf" <<EOF
CONFIG
  ENV
    MS_MAP_PATTERN "."
    MS_MAPFILE "$BENCH_TMP/maps.map"
  END
END
EOF
# MapServer classifies raw pixel values: the SST is stored as hundredths of a degree.
cat >"$BENCH_TMP/maps.map" <<EOF
MAP
  NAME "maps"
  EXTENT -20037508 -20037508 20037508 20037508
  SIZE 256 256
  MAXSIZE 4096
  PROJECTION "init=epsg:3857" END
  WEB
    METADATA
      "ows_enable_request" "*"
      "ows_srs" "EPSG:3857 EPSG:4326"
      "ows_title" "maps"
    END
  END
  OUTPUTFORMAT
    NAME "png"
    DRIVER "AGG/PNG"
    MIMETYPE "image/png"
    IMAGEMODE RGBA
    EXTENSION "png"
    TRANSPARENT ON
  END
  LAYER
    NAME "s2_rgb"
    TYPE RASTER
    STATUS ON
    DATA "$s2"
    PROJECTION AUTO END
    METADATA "wms_title" "s2" END
    PROCESSING "BANDS=3,2,1"
    PROCESSING "SCALE_1=$lo1,$hi1"
    PROCESSING "SCALE_2=$lo2,$hi2"
    PROCESSING "SCALE_3=$lo3,$hi3"
    PROCESSING "RESAMPLE=NEAREST"
  END
  LAYER
    NAME "sst"
    TYPE RASTER
    STATUS ON
    DATA 'NETCDF:"$sst":sst'
    PROJECTION "init=epsg:4326" END
    METADATA "wms_title" "sst" END
    PROCESSING "RESAMPLE=NEAREST"
    CLASS
      STYLE
        COLORRANGE 68 1 84 253 231 37
        DATARANGE -200 1600
        RANGEITEM "pixel"
      END
    END
  END
END
EOF
FCGI_PORT=$(bench_free_port)
MAPSERVER_CONFIG_FILE=$BENCH_TMP/ms.conf MS_MAPFILE=$BENCH_TMP/maps.map \
    spawn-fcgi -n -a 127.0.0.1 -p "$FCGI_PORT" -F "$BENCH_NPROC" -- "$(command -v mapserv)" \
    >"$BENCH_TMP/fcgi.log" 2>&1 &
BENCH_PIDS+=("$!")
FCGI_PID=$!
mkdir -p "$BENCH_TMP/static/tiles"
nginx_start "$BENCH_TMP" "location / { include /etc/nginx/fastcgi_params; fastcgi_param MS_MAPFILE $BENCH_TMP/maps.map; fastcgi_pass 127.0.0.1:$FCGI_PORT; }
        location /tiles/ { root $BENCH_TMP/static; default_type image/png; }"

# Both must answer a tile with a PNG before anything is measured.
probe="SERVICE=WMS&VERSION=1.3.0&REQUEST=GetMap&STYLES=&CRS=EPSG:3857&WIDTH=256&HEIGHT=256&FORMAT=image/png&TRANSPARENT=TRUE&BBOX=166326,5392791,176110,5402575"
for u in "$NADIR_URL/wms?LAYERS=s2/rgb&$probe" "$NGINX_URL/?LAYERS=s2_rgb&$probe" \
    "$NADIR_URL/wms?LAYERS=sst/sst&${probe%BBOX=*}BBOX=-1113195,5621521,-556597,6178119" \
    "$NGINX_URL/?LAYERS=sst&${probe%BBOX=*}BBOX=-1113195,5621521,-556597,6178119"; do
    curl -fsS --max-time 20 -o "$BENCH_TMP/probe.png" "$u" || bench_die "GET $u failed"
    [[ $(head -c 4 "$BENCH_TMP/probe.png" | tail -c 3) == PNG ]] || bench_die "no PNG from $u"
done

# run_case NAME NADIR_LAYER MS_LAYER BOX ZMIN ZMAX
run_case() {
    local name=$1 nl=$2 ml=$3 box=$4 zmin=$5 zmax=$6 r
    local -a n_rps=() n_p99=() n_cpu=() m_rps=() m_p99=() m_cpu=()
    export TILE_BOX=$box TILE_ZMIN=$zmin TILE_ZMAX=$zmax
    TILE_PATH="/wms?LAYERS=$nl" bench_warmup "$NADIR_URL/" "${WRK_OPTS[@]}" -s "$LUA"
    TILE_PATH="/?LAYERS=$ml" bench_warmup "$NGINX_URL/" "${WRK_OPTS[@]}" -s "$LUA"
    for ((r = 1; r <= BENCH_ROUNDS; r++)); do
        bench_log "$name round $r/$BENCH_ROUNDS: nadir"
        TILE_PATH="/wms?LAYERS=$nl" WRK_SERVER_PID=$NADIR_PID bench_wrk "$NADIR_URL/" "${WRK_OPTS[@]}" -s "$LUA"
        n_rps+=("$WRK_RPS") n_p99+=("$WRK_P99_MS") n_cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
        bench_log "$name round $r/$BENCH_ROUNDS: mapserver"
        TILE_PATH="/?LAYERS=$ml" WRK_SERVER_PID=$FCGI_PID bench_wrk "$NGINX_URL/" "${WRK_OPTS[@]}" -s "$LUA"
        m_rps+=("$WRK_RPS") m_p99+=("$WRK_P99_MS") m_cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
    done
    bench_metric "${name}_requests/s" "$(bench_median "${n_rps[@]}")" "$(bench_median "${m_rps[@]}")" higher 2
    bench_metric "${name}_p99_ms" "$(bench_median "${n_p99[@]}")" "$(bench_median "${m_p99[@]}")" lower -
    bench_metric "${name}_cpu_us/request" "$(bench_median "${n_cpu[@]}")" "$(bench_median "${m_cpu[@]}")" lower -
    bench_note "maps: $name requests/s per round: nadir $(printf '%.0f ' "${n_rps[@]}"); mapserver $(printf '%.0f ' "${m_rps[@]}")"
}

# run_cached NAME LAYER BOX ZMIN ZMAX: every tile of the range fetched once from nadir (filling its cache) and
# written where nginx serves it; then the same random tile sequence from both, all cache hits for nadir.
run_cached() {
    local name=$1 layer=$2 box=$3 zmin=$4 zmax=$5 r ngx_pid
    local -a n_rps=() n_p99=() n_cpu=() g_rps=() g_p99=() g_cpu=()
    /usr/bin/python3 "$BENCH_DIR/maps_seed.py" "$NADIR_URL" "$layer" "$box" "$zmin" "$zmax" "$BENCH_TMP/static/tiles" \
        || bench_die "seeding the tiles of $layer failed"
    chmod -R a+rX "$BENCH_TMP/static"
    ngx_pid=$(cat "$NGINX_DIR/nginx.pid")
    export TILE_BOX=$box TILE_ZMIN=$zmin TILE_ZMAX=$zmax
    TILE_XYZ="/tiles/$layer" bench_warmup "$NADIR_URL/" "${WRK_OPTS[@]}" -s "$LUA"
    TILE_XYZ="/tiles" bench_warmup "$NGINX_URL/" "${WRK_OPTS[@]}" -s "$LUA"
    for ((r = 1; r <= BENCH_ROUNDS; r++)); do
        bench_log "$name round $r/$BENCH_ROUNDS: nadir"
        TILE_XYZ="/tiles/$layer" WRK_SERVER_PID=$NADIR_PID bench_wrk "$NADIR_URL/" "${WRK_OPTS[@]}" -s "$LUA"
        n_rps+=("$WRK_RPS") n_p99+=("$WRK_P99_MS") n_cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
        bench_log "$name round $r/$BENCH_ROUNDS: nginx"
        TILE_XYZ="/tiles" WRK_SERVER_PID=$ngx_pid bench_wrk "$NGINX_URL/" "${WRK_OPTS[@]}" -s "$LUA"
        g_rps+=("$WRK_RPS") g_p99+=("$WRK_P99_MS") g_cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
    done
    bench_metric "${name}_requests/s" "$(bench_median "${n_rps[@]}")" "$(bench_median "${g_rps[@]}")" higher 0.5
    bench_metric "${name}_p99_ms" "$(bench_median "${n_p99[@]}")" "$(bench_median "${g_p99[@]}")" lower -
    bench_metric "${name}_cpu_us/request" "$(bench_median "${n_cpu[@]}")" "$(bench_median "${g_cpu[@]}")" lower -
    bench_note "maps: $name requests/s per round: nadir $(printf '%.0f ' "${n_rps[@]}"); nginx (static files) $(printf '%.0f ' "${g_rps[@]}")"
}

errors=0
# (a) the COG around Toulouse at zoom 11-16, (b) the SST over NW Europe at zoom 3-7, (c) its cached XYZ tiles
run_case rgb_cog s2/rgb s2_rgb "1.513,43.521,1.642,43.615" 11 16
run_case sst_colormap sst/sst sst "-20,40,30,66" 3 7
run_cached cached_tiles sst:sst "-20,40,30,66" 3 7
nadir_stop
nginx_stop

bench_peer "MapServer $(mapserv -v | sed -n 's/MapServer version \([0-9.]*\).*/\1/p') (FastCGI x$BENCH_NPROC behind nginx $(nginx_version), AGG/PNG RGBA)"
bench_note "maps: 256x256 EPSG:3857 GetMap PNG at random tiles (same sequence for both), wrk ${WRK_OPTS[*]} -d $BENCH_DURATION; nearest resampling; median of $BENCH_ROUNDS alternating rounds"
if ((errors > 0)); then bench_note "maps: $errors socket errors or non-2xx/3xx answers during the runs"; fi
