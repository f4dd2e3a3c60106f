#!/usr/bin/env bash
# make bench: runs nadir and a peer side by side, case by case, in one run, and prints one table.
#
#   tests/bench/run.sh NADIR_BIN [CASE...]      e.g. tests/bench/run.sh build/nadir http
#
# CASE is a name: tests/bench/case_NAME.sh; none given = every case_*.sh, in name order.
# Environment:
#   BENCH_DURATION      length of each measured wrk run (default 20s; 2s for a smoke run)
#   BENCH_WARMUP        unmeasured run before a server's first measured one (default 2s; 0 = none)
#   BENCH_ROUNDS        measured runs per server, alternating nadir and peer; the case reports
#                       the medians (default 3)
#   BENCH_CASE_TIMEOUT  seconds one case may take in all before it is stopped (default 600)
#   BENCH_OUT           markdown results file (default: bench-results.md next to NADIR_BIN,
#                       i.e. in the build directory)
#   BENCH_STRICT=1      exit 3 when a goal is not met (by default goals only show in the table)
#
# Writing a case: tests/bench/case_NAME.sh is run as `bash case_NAME.sh NADIR_BIN` with the BENCH_*
# variables in its environment. It sources lib.sh (temp dir, cleanup traps, nadir/nginx/wrk helpers)
# and prints its results on stdout, one per line:
#   METRIC name nadir_value peer_value higher|lower goal_ratio|-
#   PEER text          (the peer and its version, for the results header)
#   NOTE text          (a line kept under the table)
# Anything else on stdout is passed through to stderr; logs belong on stderr. A non-zero exit marks
# the case as failed. Exit status of run.sh: 0 all cases ran, 1 a case failed, 2 usage.

# shellcheck disable=SC2317  # functions called from traps
set -u -o pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/../.." && pwd)

usage() { echo "usage: $0 NADIR_BIN [CASE...]   (cases: $(list_cases | tr '\n' ' '))" >&2; exit 2; }
list_cases() { for f in "$BENCH_DIR"/case_*.sh; do [[ -e $f ]] && basename "$f" .sh | sed 's/^case_//'; done; }

[[ $# -ge 1 ]] || usage
NADIR_BIN=$1
shift
[[ $NADIR_BIN == /* ]] || NADIR_BIN=$PWD/$NADIR_BIN
[[ -x $NADIR_BIN ]] || { echo "run.sh: $NADIR_BIN is not an executable (run make build first)" >&2; exit 2; }
CASES=("$@")
[[ ${#CASES[@]} -gt 0 ]] || mapfile -t CASES < <(list_cases)
[[ ${#CASES[@]} -gt 0 ]] || { echo "run.sh: no cases in $BENCH_DIR" >&2; exit 2; }
for c in "${CASES[@]}"; do [[ -f $BENCH_DIR/case_$c.sh ]] || { echo "run.sh: no case '$c'" >&2; usage; }; done

export BENCH_DURATION=${BENCH_DURATION:-20s}
export BENCH_WARMUP=${BENCH_WARMUP:-2s}
export BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_CASE_TIMEOUT=${BENCH_CASE_TIMEOUT:-600}
BENCH_OUT=${BENCH_OUT:-$(dirname "$NADIR_BIN")/bench-results.md}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/nadir-bench-run.XXXXXX")
CASE_PID=

# A case runs under `timeout`, which puts it in a process group of its own: Ctrl-C reaches only this
# script, which then sends SIGTERM to that group (timeout forwards it) so the case's traps stop its
# servers and remove its temp dir; whatever is left after 40 s is killed.
stop_case() {
    [[ -n $CASE_PID ]] || return 0
    kill -TERM "$CASE_PID" 2>/dev/null
    local i
    for ((i = 0; i < 400; i++)); do kill -0 "$CASE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$CASE_PID" 2>/dev/null
    wait "$CASE_PID" 2>/dev/null
    CASE_PID=
}
on_exit() { trap '' INT TERM; stop_case; rm -rf "$WORK"; }
trap on_exit EXIT
trap 'echo "run.sh: interrupted, stopping" >&2; exit 130' INT
trap 'exit 143' TERM

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# The checkout when the run starts (the binary may be older: it is what NADIR_BIN was built from).
commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)
[[ -n $commit && -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && commit="$commit with local changes"

# ---- run the cases ----------------------------------------------------------------------------

ROWS=()    # case|metric|nadir|peer|dir|goal
PEERS=()   # case: text
NOTES=()
FAILED=0
for c in "${CASES[@]}"; do
    echo "== case $c ($BENCH_ROUNDS rounds of $BENCH_DURATION, warm-up $BENCH_WARMUP)" >&2
    out=$WORK/$c.out
    timeout -k 10 "$BENCH_CASE_TIMEOUT" bash "$BENCH_DIR/case_$c.sh" "$NADIR_BIN" >"$out" &
    CASE_PID=$!
    wait "$CASE_PID"
    rc=$?
    CASE_PID=
    got=0
    while IFS= read -r line; do
        read -r kind rest <<<"$line"
        case $kind in
        METRIC)
            read -r name nv pv dir goal extra <<<"$rest"
            if [[ -n ${goal:-} && -z ${extra:-} && $nv =~ ^[0-9.eE+-]+$ && $pv =~ ^[0-9.eE+-]+$ && $dir =~ ^(higher|lower)$ ]]; then
                ROWS+=("$c|$name|$nv|$pv|$dir|$goal")
                got=1
            else
                echo "run.sh: case $c: malformed line: $line" >&2
            fi
            ;;
        PEER) PEERS+=("$c: $rest") ;;
        NOTE) NOTES+=("$rest") ;;
        *) echo "$line" >&2 ;;
        esac
    done <"$out"
    if ((rc != 0)); then
        ((rc == 124 || rc == 137)) && why="timed out after ${BENCH_CASE_TIMEOUT}s" || why="exit status $rc"
        echo "run.sh: case $c failed ($why)" >&2
        ROWS+=("$c|FAILED ($why)|-|-|-|-")
        FAILED=1
    elif ((!got)); then
        echo "run.sh: case $c reported no metric" >&2
        ROWS+=("$c|FAILED (no metric)|-|-|-|-")
        FAILED=1
    fi
done

# ---- the table --------------------------------------------------------------------------------

fmt_num() { awk -v v="$1" 'BEGIN { if (v == "-") print "-"; else if (v + 0 >= 100) printf "%.0f\n", v; else printf "%.2f\n", v }'; }

# ratio, goal text and verdict for one row: "ratio|goal|met"
judge() {
    awk -v n="$1" -v p="$2" -v dir="$3" -v g="$4" 'BEGIN {
        if (dir == "-" || p + 0 == 0) { print "-|-|-"; exit }
        r = n / p
        if (g == "-") { printf "%.2f|-|-\n", r; exit }
        met = (dir == "higher") ? (r >= g) : (r <= g)
        printf "%.2f|%s %.2f|%s\n", r, (dir == "higher") ? ">=" : "<=", g, met ? "yes" : "NO" }'
}

HEAD=(case metric nadir peer "nadir/peer" goal met)
TABLE=()
UNMET=0
for row in "${ROWS[@]}"; do
    IFS='|' read -r c name nv pv dir goal <<<"$row"
    IFS='|' read -r ratio gtext met <<<"$(judge "$nv" "$pv" "$dir" "$goal")"
    [[ $met == NO ]] && UNMET=1
    [[ $dir == lower ]] && name="$name (lower is better)"
    TABLE+=("$c|$name|$(fmt_num "$nv")|$(fmt_num "$pv")|$ratio|$gtext|$met")
done

{
    printf '%s|%s|%s|%s|%s|%s|%s\n' "${HEAD[@]}"
    printf '%s\n' "${TABLE[@]}"
} | column -t -s '|' -o '  ' | awk 'NR == 1 {print; gsub(/./, "-"); print; next} {print}'

# ---- the results file -------------------------------------------------------------------------

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
nver=$("$NADIR_BIN" --version 2>/dev/null | head -1)
{
    echo "# nadir benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $mem memory, Linux $(uname -r)"
    echo "- load average (1, 5, 15 min) before the run: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- nadir: ${nver:-unknown version}, $NADIR_BIN${commit:+ (checkout at $commit when the run started)}"
    for p in "${PEERS[@]}"; do echo "- peer, $p"; done
    echo "- wrk $(wrk -v 2>&1 | awk 'NR == 1 {print $2}'), $BENCH_ROUNDS rounds of $BENCH_DURATION per server, warm-up $BENCH_WARMUP"
    echo
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${HEAD[@]}"
    echo "|---|---|---:|---:|---:|---|---|"
    for row in "${TABLE[@]}"; do echo "| ${row//|/ | } |"; done
    if [[ ${#NOTES[@]} -gt 0 ]]; then
        echo
        for n in "${NOTES[@]}"; do echo "- $n"; done
    fi
} >"$BENCH_OUT"
echo "results: $BENCH_OUT" >&2

((FAILED)) && exit 1
[[ ${BENCH_STRICT:-0} == 1 ]] && ((UNMET)) && exit 3
exit 0
