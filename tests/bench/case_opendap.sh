#!/usr/bin/env bash
# Case opendap: a float32 hyperslab of BENCH_DAP_MB megabytes (default 200) pulled with xarray (netCDF-C's DAP2
# client, then its DAP4 client) over loopback from nadir, against the same read done locally with netCDF-C: the
# ceiling. No second DAP server is packaged for Debian 12 (pydap, Hyrax, THREDDS are not), so the local read is
# the peer column and nadir/peer is the fraction of the local rate reached end to end (goal >= 0.5).
# Usage: case_opendap.sh NADIR_BIN   (normally through run.sh; BENCH_DAP_MB=20 for a smoke run)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NADIR_BIN=${1:?usage: case_opendap.sh NADIR_BIN}
MB=${BENCH_DAP_MB:-200}
ROUNDS=${BENCH_ROUNDS:-3}

# Steps of 1024x1024 float32 (4 MiB each); the hyperslab is all steps over a 1000x1000 window (strided reads
# would measure netCDF-C's strided path, not the transport).
STEPS=$(((MB + 3) / 4))
/usr/bin/python3 - "$BENCH_TMP/field.nc" "$STEPS" <<'EOF' || bench_die "writing the NetCDF file failed"
import sys
import netCDF4
import numpy as np
ds = netCDF4.Dataset(sys.argv[1], "w")
n = int(sys.argv[2])
ds.createDimension("time", n)
ds.createDimension("lat", 1024)
ds.createDimension("lon", 1024)
t = ds.createVariable("time", "f8", ("time",))
t.units = "days since 2025-01-01"
t[:] = np.arange(n)
ds.createVariable("lat", "f8", ("lat",)).units = "degrees_north"
ds["lat"][:] = np.linspace(-60, 60, 1024)
ds.createVariable("lon", "f8", ("lon",)).units = "degrees_east"
ds["lon"][:] = np.linspace(-120, 120, 1024)
v = ds.createVariable("field", "f4", ("time", "lat", "lon"), contiguous=True)
rng = np.random.default_rng(1)
for i in range(n):
    v[i] = rng.standard_normal((1024, 1024), dtype="f4")
ds.close()
EOF

nadir_start "$NADIR_BIN" "datasets:
  - id: field
    source: $BENCH_TMP/field.nc"

# One timed read per line of output: MB/s of the float32 values received.
measure() {
    /usr/bin/python3 - "$@" <<'EOF'
import sys, time
import netCDF4
import xarray as xr
mode, src, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(rounds):
    t0 = time.perf_counter()
    if mode == "local":
        ds = netCDF4.Dataset(src)
        a = ds["field"][:, 12:1012, 12:1012]
    else:
        ds = xr.open_dataset(src, engine="netcdf4", mask_and_scale=False)
        a = ds["field"][:, 12:1012, 12:1012].values
    dt = time.perf_counter() - t0
    ds.close()
    print(f"{a.nbytes / 1e6 / dt:.1f}")
EOF
}

DAP2_URL=$NADIR_URL/opendap/field
DAP4_URL=dap4://127.0.0.1:$NADIR_PORT/opendap/field
# The server's part alone: the same hyperslab as netCDF-C's DAP2 client asks for it (field.field[...]), received
# by curl and thrown away, so no client decoding is in the time.
RAW_URL="$DAP2_URL.dods?field.field%5B0:1:$((STEPS - 1))%5D%5B12:1:1011%5D%5B12:1:1011%5D"
raw() {
    curl -sf -o /dev/null -w '%{size_download} %{time_total}\n' "$RAW_URL" |
        awk -v v=$((STEPS * 1000 * 1000 * 4)) '{ printf "%.1f\n", v / 1e6 / $2 }'
}
measure local "$BENCH_TMP/field.nc" 1 >/dev/null   # page cache warm for both sides
LOCAL=() DAP2=() DAP4=() RAW=()
for ((r = 0; r < ROUNDS; r++)); do
    LOCAL+=("$(measure local "$BENCH_TMP/field.nc" 1)") || bench_die "local read failed"
    DAP2+=("$(measure dap "$DAP2_URL" 1)") || bench_die "DAP2 read failed"
    DAP4+=("$(measure dap "$DAP4_URL?dap4.ce=/field%5B0:1:$((STEPS - 1))%5D%5B12:1:1011%5D%5B12:1:1011%5D" 1)") \
        || bench_die "DAP4 read failed"
    RAW+=("$(raw)") || bench_die "raw .dods fetch failed"
    bench_log "round $r: local ${LOCAL[r]} MB/s, DAP2 ${DAP2[r]} MB/s, DAP4 ${DAP4[r]} MB/s, raw .dods ${RAW[r]} MB/s"
done
local_mbps=$(bench_median "${LOCAL[@]}")
bench_peer "local netCDF-C $(nc-config --version 2>/dev/null | sed 's/netCDF //') read of the same hyperslab (the ceiling; no other DAP server is packaged here)"
bench_metric "dap2_xarray_MBps" "$(bench_median "${DAP2[@]}")" "$local_mbps" higher 0.5
bench_metric "dap4_xarray_MBps" "$(bench_median "${DAP4[@]}")" "$local_mbps" higher 0.5
bench_metric "dap2_server_only_MBps" "$(bench_median "${RAW[@]}")" "$local_mbps" higher -
bench_note "opendap: $((STEPS * 1000 * 1000 * 4 / 1000000)) MB float32 hyperslab, xarray (netcdf4 engine) over loopback; DAP4 with the constraint in the URL, since netCDF-C 4.9's DAP4 client otherwise fetches the whole dataset; server_only: the DAP2 response received by curl and discarded (no client decoding)"
