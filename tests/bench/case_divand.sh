#!/usr/bin/env bash
# Case divand: the DIVAnd kernel (processes/divand) on (1) a 2-D analysis of the demo North-East
# Atlantic + Baltic: 770x324 = 249,480 grid points (≈119,000 at sea), 10^5 observations, sparse
# Cholesky (CHOLMOD), without and with the clever poor man's error; the peer figure is the 8.7 s that
# DIVAnd.jl's README reports for its 236k-point Black Sea case (published, not run here; goal < 4 s on
# 2 cores); (2) a 3-D 200x200x20 analysis (800,000 points, 10^5 observations) by PCG: seconds and peak
# memory. The driver (tests/bench/divand_bench.c) is compiled against the kernel sources here and runs
# on 2 cores (taskset) with 2 OpenBLAS threads.
# Usage: case_divand.sh NADIR_BIN   (normally through run.sh; the binary itself is not used)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$BENCH_DIR/../.." && pwd)
NOBS=${BENCH_DIVAND_OBS:-100000}
SRC=$ROOT/processes/divand
cc -O2 -std=gnu11 -I"$SRC" -I/usr/include/suitesparse -o "$BENCH_TMP/divand_bench" "$BENCH_DIR/divand_bench.c" \
    "$SRC/divand_kernel.c" "$SRC/divand_ops.c" "$SRC/divand_solve.c" "$SRC/divand_truth.c" "$SRC/divand_obs.c" \
    "$SRC/divand_obsnc.c" -lcholmod -lnetcdf -lm || bench_die "building the divand driver failed"

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0,1)
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2

val() { sed -n "s/^$1 //p" "$2"; }

bench_log "2-D: 249,480 points, $NOBS observations, Cholesky"
bench_run "${PIN[@]}" "$BENCH_TMP/divand_bench" 2d "$NOBS" >"$BENCH_TMP/2d.txt" || bench_die "2-D run failed"
cat "$BENCH_TMP/2d.txt" >&2
bench_peer "DIVAnd.jl (README figure: 236k-point Black Sea, 8.7 s; DIVA Fortran 43.8 s)"
bench_metric 2d_analysis_seconds "$(val SECONDS "$BENCH_TMP/2d.txt")" 8.7 lower 0.46
bench_metric 2d_analysis_cpu_seconds "$(val CPU_SECONDS "$BENCH_TMP/2d.txt")" - lower -
bench_metric 2d_with_cpme_seconds "$(val SECONDS_CPME "$BENCH_TMP/2d.txt")" - lower -
bench_metric 2d_peak_MiB "$(val PEAK_MIB "$BENCH_TMP/2d.txt")" - lower -

bench_log "3-D: 200x200x20, $NOBS observations, PCG"
bench_run "${PIN[@]}" "$BENCH_TMP/divand_bench" 3d "$NOBS" >"$BENCH_TMP/3d.txt" || bench_die "3-D run failed"
cat "$BENCH_TMP/3d.txt" >&2
bench_metric 3d_pcg_seconds "$(val SECONDS "$BENCH_TMP/3d.txt")" - lower -
bench_metric 3d_pcg_cpu_seconds "$(val CPU_SECONDS "$BENCH_TMP/3d.txt")" - lower -
bench_metric 3d_pcg_peak_MiB "$(val PEAK_MIB "$BENCH_TMP/3d.txt")" - lower -
bench_note "divand 2-D: $(val SEA "$BENCH_TMP/2d.txt") sea points, $(val OBS "$BENCH_TMP/2d.txt") observations used; 3-D PCG: $(val ITERATIONS "$BENCH_TMP/3d.txt") iterations (preconditioner: iB⁻¹ through the Cholesky factor of the second-order operator, levels decoupled when that factor exceeds 10^8 nonzeros)"
bench_note "divand: no CUDA PCG measured (no GPU on the bench machine; issue 11)"
