#!/usr/bin/env bash
# Case http: the HTTP core on a small cacheable JSON answer, against nginx serving the same bytes
# from a static file. nadir: no datasets, GET /conformance (~430 bytes of JSON). nginx: the body of
# that answer saved to a file, served at the same path. Both servers run at once (the one not being
# measured is idle); wrk -t2 -c64 --latency for BENCH_DURATION against nadir, then against nginx,
# BENCH_ROUNDS times; the medians of the rounds are reported.
# Usage: case_http.sh NADIR_BIN   (normally through run.sh)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NADIR_BIN=${1:?usage: case_http.sh NADIR_BIN}
WRK_OPTS=(-t2 -c64)
URL_PATH=/conformance

# nadir first; its answer becomes nginx's file so both send the same body.
nadir_start "$NADIR_BIN"
docroot=$BENCH_TMP/www
mkdir -p "$docroot"
curl -fsS --max-time 5 -o "$docroot$URL_PATH" "$NADIR_URL$URL_PATH" || bench_die "GET $URL_PATH from nadir failed"
size=$(stat -c %s "$docroot$URL_PATH")
bench_log "nadir $URL_PATH: $size bytes"

# The file has no extension: default_type gives it nadir's media type.
nginx_start "$docroot" "location = $URL_PATH { default_type application/json; }"
got=$(curl -fsS --max-time 5 "$NGINX_URL$URL_PATH" | wc -c) || bench_die "GET $URL_PATH from nginx failed"
[[ $got == "$size" ]] || bench_die "nginx sent $got bytes, nadir $size"

bench_warmup "$NADIR_URL$URL_PATH" "${WRK_OPTS[@]}"
bench_warmup "$NGINX_URL$URL_PATH" "${WRK_OPTS[@]}"
n_rps=() n_p99=() n_cpu=() p_rps=() p_p99=() p_cpu=() errors=0
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
    bench_log "round $r/$BENCH_ROUNDS: nadir"
    WRK_SERVER_PID=$NADIR_PID bench_wrk "$NADIR_URL$URL_PATH" "${WRK_OPTS[@]}"
    n_rps+=("$WRK_RPS") n_p99+=("$WRK_P99_MS") n_cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
    bench_log "round $r/$BENCH_ROUNDS: nginx"
    WRK_SERVER_PID=$NGINX_PID bench_wrk "$NGINX_URL$URL_PATH" "${WRK_OPTS[@]}"
    p_rps+=("$WRK_RPS") p_p99+=("$WRK_P99_MS") p_cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
done
nadir_stop
nginx_stop

bench_peer "$(nginx_version) (static file, $BENCH_NPROC workers, sendfile, keep-alive)"
bench_metric requests/s "$(bench_median "${n_rps[@]}")" "$(bench_median "${p_rps[@]}")" higher 0.5
bench_metric p99_ms "$(bench_median "${n_p99[@]}")" "$(bench_median "${p_p99[@]}")" lower -
bench_metric cpu_us/request "$(bench_median "${n_cpu[@]}")" "$(bench_median "${p_cpu[@]}")" lower -
bench_note "http: GET $URL_PATH, $size-byte JSON body; wrk ${WRK_OPTS[*]} -d $BENCH_DURATION --latency, client on the same machine; median of $BENCH_ROUNDS alternating rounds"
bench_note "http: requests/s per round: nadir $(printf '%.0f ' "${n_rps[@]}"); nginx $(printf '%.0f ' "${p_rps[@]}")"
bench_note "http: p99 ms per round: nadir ${n_p99[*]}; nginx ${p_p99[*]}"
if ((errors > 0)); then bench_note "http: $errors socket errors or non-2xx/3xx answers during the runs"; fi
