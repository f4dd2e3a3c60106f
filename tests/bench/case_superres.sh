#!/usr/bin/env bash
# Case superres: the super-resolution kernel (processes/superres) on the CPU against PyTorch's CPU
# inference of the same network and weights (sr_model.py, python3-torch) on the same BENCH_SR_SIDE^2
# 4-band image, both on 2 cores (taskset, 2 OpenBLAS / torch threads), best of BENCH_SR_REPEAT runs;
# output Mpixel/s at scales 2 and 4 (nadir tiled by 256 with an 8-pixel halo, torch on the whole
# image at once), and the largest difference between the two outputs.
# Usage: case_superres.sh NADIR_BIN   (normally through run.sh; the binary itself is not used)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$BENCH_DIR/../.." && pwd)
SRC=$ROOT/processes/superres
SIDE=${BENCH_SR_SIDE:-512}
REPEAT=${BENCH_SR_REPEAT:-3}
PY=/usr/bin/python3
$PY -c 'import torch' 2>/dev/null || bench_die "PyTorch is missing (apt-get install python3-torch)"
cc -O2 -std=gnu11 -I"$SRC" -I/usr/include/x86_64-linux-gnu/openblas-pthread -o "$BENCH_TMP/sr_bench" \
    "$BENCH_DIR/superres_bench.c" "$SRC/superres.c" "$SRC/sr_model.c" "$SRC/sr_device.c" -lopenblas -lm ||
    bench_die "building the superres driver failed"

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0,1)
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
val() { sed -n "s/^$1 //p" "$2"; }

bench_peer "PyTorch $($PY -c 'import torch; print(torch.__version__)') CPU inference of the same network (2 threads)"
for s in 2 4; do
    bench_log "x$s: ${SIDE}x${SIDE} input, nadir"
    bench_run "${PIN[@]}" "$BENCH_TMP/sr_bench" "$SRC/superres_x$s.bin" "$SIDE" 256 cpu "$REPEAT" \
        "$BENCH_TMP/in.f32" "$BENCH_TMP/nadir_x$s.f32" >"$BENCH_TMP/x$s.txt" || bench_die "nadir x$s failed"
    cat "$BENCH_TMP/x$s.txt" >&2
    bench_log "x$s: PyTorch"
    t=$(bench_run "${PIN[@]}" $PY "$SRC/sr_model.py" "$SRC/superres_x$s.bin" "$BENCH_TMP/in.f32" \
        "$BENCH_TMP/torch_x$s.f32" "$SIDE" "$SIDE" --threads 2 --repeat "$REPEAT") || bench_die "PyTorch x$s failed"
    peer=$(awk -v t="$t" -v n="$SIDE" -v s="$s" 'BEGIN { printf "%.4f", n * n * s * s / t / 1e6 }')
    diff=$($PY -c 'import numpy as np, sys; a, b = (np.fromfile(p, "<f4") for p in sys.argv[1:]); print(f"{np.abs(a - b).max():.3g}")' \
        "$BENCH_TMP/nadir_x$s.f32" "$BENCH_TMP/torch_x$s.f32")
    bench_metric "x${s}_mpix_per_s" "$(val MPIX_PER_S "$BENCH_TMP/x$s.txt")" "$peer" higher 1.0
    bench_note "superres x$s: ${SIDE}x${SIDE} -> $((SIDE * s))x$((SIDE * s)), nadir $(val SECONDS "$BENCH_TMP/x$s.txt") s ($(val GFLOPS "$BENCH_TMP/x$s.txt") GFLOP/s), PyTorch $t s; outputs differ by at most $diff (values ~1000)"
done
