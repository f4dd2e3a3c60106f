# shellcheck shell=bash
# Shared helpers for the bench cases, sourced by tests/bench/case_*.sh; bash only.
#
# A case sources this file first:
#     . "$(dirname "$0")/lib.sh"
# which sets up BENCH_TMP (a private temp dir) and traps that stop every process the helpers
# started and remove BENCH_TMP on exit, error, Ctrl-C or SIGTERM. Everything listens on 127.0.0.1.
#
# Reported results go to stdout, one per line (see bench_metric / bench_peer); logs go to stderr.

# shellcheck disable=SC2034  # the variables set here are for the case scripts
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DURATION=${BENCH_DURATION:-20s}   # length of each measured wrk run
BENCH_WARMUP=${BENCH_WARMUP:-2s}        # unmeasured wrk run before a server's first measured one; 0 skips it
BENCH_ROUNDS=${BENCH_ROUNDS:-3}         # measured runs per server, alternating nadir and peer; medians reported
BENCH_NPROC=$(nproc)

BENCH_PIDS=()
BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/nadir-bench.XXXXXX")
# nginx workers may run as another user (nobody) when the master is root: they must read the docroot.
chmod 755 "$BENCH_TMP"

bench_log() { printf 'bench: %s\n' "$*" >&2; }
bench_die() { bench_log "error: $*"; exit 1; }

# Stops one process politely (SIGTERM), then SIGKILL after $2 seconds (default 10).
bench_stop_pid() {
    local pid=$1 grace=${2:-10} i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < grace * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && { bench_log "pid $pid did not stop, killing it"; kill -KILL "$pid" 2>/dev/null; }
    wait "$pid" 2>/dev/null
    return 0
}

bench_forget_pid() {
    local p keep=()
    for p in "${BENCH_PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    BENCH_PIDS=("${keep[@]}")
}

bench_cleanup() {
    trap - EXIT
    trap '' INT TERM   # a second Ctrl-C must not cut the cleanup short
    local i
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do bench_stop_pid "${BENCH_PIDS[i]}" 5; done
    BENCH_PIDS=()
    [[ -n ${BENCH_TMP:-} && -d $BENCH_TMP ]] && rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in the background, remembered for cleanup, and waits for it. Unlike a foreground
# command, `wait` returns as soon as a signal arrives, so Ctrl-C never waits for the command to end.
bench_run() {
    "$@" &
    local pid=$!
    BENCH_PIDS+=("$pid")
    wait "$pid"
    local rc=$?
    bench_forget_pid "$pid"
    return $rc
}

# A TCP port on 127.0.0.1 that is free now (the kernel picks it).
bench_free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_wait_http URL [SECONDS [PID [CODES]]]: waits until URL answers with an HTTP status matching
# the regex CODES (default 2.., any answer: ...), at most SECONDS (default 20); fails early if PID died.
bench_wait_http() {
    local url=$1 limit=${2:-20} pid=${3:-} codes=${4:-2..} i code
    for ((i = 0; i < limit * 10; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url")
        [[ $code != 000 && $code =~ ^$codes$ ]] && return 0
        [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null && return 1
        sleep 0.1
    done
    return 1
}

# ---- nadir ------------------------------------------------------------------------------------

# nadir_start BIN [EXTRA_YAML]: starts `BIN serve` with a temp config (no datasets unless EXTRA_YAML
# adds them, threads = number of CPUs, no access log) and waits for /health.
# Sets NADIR_PID, NADIR_PORT, NADIR_URL (http://127.0.0.1:PORT), NADIR_DIR (config dir), NADIR_LOG.
nadir_start() {
    local bin=$1 extra=${2:-}
    [[ -x $bin ]] || bench_die "nadir binary '$bin' is not executable"
    NADIR_DIR=$BENCH_TMP/nadir
    mkdir -p "$NADIR_DIR"
    NADIR_PORT=$(bench_free_port)
    NADIR_URL=http://127.0.0.1:$NADIR_PORT
    NADIR_LOG=$NADIR_DIR/nadir.log
    cat >"$NADIR_DIR/nadir.yaml" <<EOF
server:
  bind: 127.0.0.1
  port: $NADIR_PORT
  base_url: $NADIR_URL
  threads: $BENCH_NPROC
  max_connections: 4096
  access_log: "off"
$extra
EOF
    "$bin" serve -c "$NADIR_DIR/nadir.yaml" >"$NADIR_LOG" 2>&1 &
    NADIR_PID=$!
    BENCH_PIDS+=("$NADIR_PID")
    if ! bench_wait_http "$NADIR_URL/health" 20 "$NADIR_PID"; then
        sed 's/^/  nadir: /' "$NADIR_LOG" >&2
        bench_die "nadir did not answer $NADIR_URL/health"
    fi
    bench_log "nadir pid $NADIR_PID on $NADIR_URL ($BENCH_NPROC threads)"
}

nadir_stop() {
    [[ -n ${NADIR_PID:-} ]] || return 0
    bench_stop_pid "$NADIR_PID" 35   # nadir drains requests in flight for up to 30 s
    bench_forget_pid "$NADIR_PID"
    NADIR_PID=
}

nadir_version() { "$1" --version 2>/dev/null | head -1; }

# ---- nginx (a private instance, never the system service) -------------------------------------

# nginx_start DOCROOT [EXTRA_SERVER_DIRECTIVES]: a private nginx with its own prefix, config, pid and
# logs under BENCH_TMP, serving DOCROOT on a free port: worker_processes = number of CPUs, no access
# log, sendfile, keep-alive. Sets NGINX_PID, NGINX_PORT, NGINX_URL, NGINX_DIR.
nginx_start() {
    local docroot=$1 extra=${2:-} bin
    bin=$(command -v nginx || echo /usr/sbin/nginx)
    [[ -x $bin ]] || bench_die "nginx not found (apt-get install nginx-light)"
    NGINX_DIR=$BENCH_TMP/nginx
    mkdir -p "$NGINX_DIR/tmp"
    NGINX_PORT=$(bench_free_port)
    NGINX_URL=http://127.0.0.1:$NGINX_PORT
    chmod -R a+rX "$docroot"
    cat >"$NGINX_DIR/nginx.conf" <<EOF
worker_processes $BENCH_NPROC;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    server_tokens on;
    default_type application/json;
    client_body_temp_path $NGINX_DIR/tmp/body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $docroot;
        $extra
    }
}
EOF
    # -e: the log for messages before the config is read (else /var/log/nginx/error.log).
    "$bin" -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" -c "$NGINX_DIR/nginx.conf" -g 'daemon off;' \
        >"$NGINX_DIR/stderr.log" 2>&1 &
    NGINX_PID=$!
    BENCH_PIDS+=("$NGINX_PID")
    if ! bench_wait_http "$NGINX_URL/" 20 "$NGINX_PID" ...; then
        cat "$NGINX_DIR/stderr.log" "$NGINX_DIR/error.log" 2>/dev/null | sed 's/^/  nginx: /' >&2
        bench_die "private nginx did not start"
    fi
    bench_log "nginx pid $NGINX_PID on $NGINX_URL ($BENCH_NPROC workers)"
}

nginx_stop() {
    [[ -n ${NGINX_PID:-} ]] || return 0
    bench_stop_pid "$NGINX_PID" 10   # SIGTERM = fast shutdown of master and workers
    bench_forget_pid "$NGINX_PID"
    NGINX_PID=
}

nginx_version() { nginx -v 2>&1 | sed 's/^nginx version: //'; }

# ---- wrk --------------------------------------------------------------------------------------

# Converts a wrk duration (850.00us, 1.23ms, 2.00s, 1.00m) to milliseconds.
bench_to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) exit 1
        printf "%.3f\n", n * f }'
}

# bench_warmup URL [WRK_OPTIONS...]: an unmeasured wrk run of BENCH_WARMUP (none when it is 0).
bench_warmup() {
    local url=$1
    shift
    [[ $BENCH_WARMUP == 0 || $BENCH_WARMUP == 0s ]] && return 0
    bench_run wrk -t2 -c64 "$@" -d "$BENCH_WARMUP" "$url" >/dev/null || bench_die "wrk warm-up against $url failed"
}

# CPU time (utime + stime, in clock ticks) of a process and its direct children (nginx workers).
bench_cpu_ticks() {
    local p sum=0 t
    for p in "$1" $(pgrep -P "$1"); do
        t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) && sum=$((sum + t))
    done
    echo "$sum"
}

# bench_wrk URL [WRK_OPTIONS...]: one measured wrk run of BENCH_DURATION with --latency. Defaults
# -t2 -c64 (later -t/-c options win). Sets WRK_RPS (requests/s), WRK_P99_MS, WRK_P50_MS,
# WRK_REQUESTS, WRK_ERRORS (socket errors + non-2xx/3xx) and WRK_OUT (raw output, also copied to
# stderr). With WRK_SERVER_PID set, also WRK_CPU_US: the server's CPU time (that process and its
# children) per request, in microseconds. Fails when wrk fails or nothing was measured.
bench_wrk() {
    local url=$1
    shift
    local opts=(-t2 -c64 "$@") t0=0 t1=0
    command -v wrk >/dev/null || bench_die "wrk not found (apt-get install wrk)"
    WRK_OUT=$BENCH_TMP/wrk.$RANDOM.out
    [[ -n ${WRK_SERVER_PID:-} ]] && t0=$(bench_cpu_ticks "$WRK_SERVER_PID")
    bench_run wrk "${opts[@]}" -d "$BENCH_DURATION" --latency "$url" >"$WRK_OUT" || bench_die "wrk against $url failed"
    [[ -n ${WRK_SERVER_PID:-} ]] && t1=$(bench_cpu_ticks "$WRK_SERVER_PID")
    sed 's/^/  wrk: /' "$WRK_OUT" >&2
    WRK_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$WRK_OUT")
    WRK_REQUESTS=$(awk '/ requests in / {print $1}' "$WRK_OUT")
    local p99 p50
    p99=$(awk '$1 == "99%" {print $2}' "$WRK_OUT")
    p50=$(awk '$1 == "50%" {print $2}' "$WRK_OUT")
    [[ -n $WRK_RPS && -n $p99 && ${WRK_REQUESTS:-0} -gt 0 ]] || bench_die "could not read requests/s and p99 from wrk's output"
    WRK_P99_MS=$(bench_to_ms "$p99") || bench_die "unknown latency unit in '$p99'"
    WRK_P50_MS=$(bench_to_ms "$p50") || WRK_P50_MS=
    WRK_ERRORS=$(awk '/^  Socket errors:/ {gsub(/,/, ""); s += $4 + $6 + $8 + $10}
                      /^  Non-2xx or 3xx responses:/ {s += $5} END {print s + 0}' "$WRK_OUT")
    if [[ $WRK_ERRORS != 0 ]]; then bench_log "warning: $WRK_ERRORS errors against $url"; fi
    WRK_CPU_US=
    if [[ -n ${WRK_SERVER_PID:-} ]]; then
        WRK_CPU_US=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$WRK_REQUESTS" \
            'BEGIN {printf "%.2f\n", d / hz * 1e6 / n}')
    fi
    return 0
}

# bench_median V...: the median of the numbers given (the mean of the middle two for an even count).
bench_median() {
    printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {
        if (NR == 0) exit 1
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        print m }'
}

# ---- reporting (stdout, read by run.sh) -------------------------------------------------------

# bench_metric NAME NADIR PEER higher|lower GOAL
#   NAME: one word, unit included (requests/s, p99_ms). higher|lower: which direction is better.
#   GOAL: the wanted ratio nadir/peer (>= GOAL for higher, <= GOAL for lower), or - for none.
bench_metric() { printf 'METRIC %s %s %s %s %s\n' "$1" "$2" "$3" "$4" "$5"; }

# bench_peer TEXT: the peer and its version (nginx/1.22.1), shown in the results' header.
bench_peer() { printf 'PEER %s\n' "$*"; }

# bench_note TEXT: one line kept under the table in the results file.
bench_note() { printf 'NOTE %s\n' "$*"; }
