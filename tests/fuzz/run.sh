#!/bin/sh
# Runs every libFuzzer target for SECONDS each, PARALLEL at a time, starting from the committed seeds
# (tests/fuzz/corpus/<target>, which also hold the inputs of past crashes, replayed first). New inputs go to
# BUILD/fuzz/<target>/corpus, crashes to BUILD/fuzz/<target>/; prints executions/s and coverage per target
# and fails when any target found a crash, a leak or a timeout.
# usage: tests/fuzz/run.sh BUILD SECONDS PARALLEL [TARGET...]
set -u
build=$1 seconds=$2 parallel=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-"kvp wps_xml cql2_text cql2_json dap_ce config_yaml geojson jwt"}
for t in $targets; do mkdir -p "$build/fuzz/$t/corpus"; done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_odr_violation=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$here/../sanitizer/lsan.supp:print_suppressions=0
printf '%s\n' $targets | xargs -P "$parallel" -I{} sh -c '
  t={}; out="$1/fuzz/$t"
  "$1/tests/fuzz/fuzz_$t" -max_total_time="$2" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "$3/corpus/$t" >"$out/log" 2>&1
  echo $? >"$out/rc"' _ "$build" "$seconds" "$here"
fail=0
for t in $targets; do
  out=$build/fuzz/$t
  rc=$(cat "$out/rc")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log")
  cov=$(grep -o 'cov: [0-9]*' "$out/log" | tail -1)
  printf '%-12s rc=%s execs=%s exec/s=%s %s\n' "$t" "$rc" "${execs:-?}" "${speed:-?}" "${cov:-cov: ?}"
  if [ "$rc" != 0 ]; then
    fail=1
    grep -m1 -A30 'ERROR: \|runtime error\|==ERROR' "$out/log" | head -40
    ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null
  fi
done
exit $fail
