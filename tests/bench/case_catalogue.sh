#!/usr/bin/env bash
# Case catalogue: the STAC catalogue with BENCH_CAT_ITEMS synthetic items (default 1,000,000): ingest rate
# through the transactions API (FeatureCollections of 10,000 items), item search bbox+datetime limit=100
# with wrk (random 10°x10° boxes and 30-day windows, p50/p99 and requests/s), and paging through
# BENCH_CAT_PAGE_ITEMS results (default 100,000) by next links (items/s). There is no peer on this machine:
# the "peer" column holds the goals of issue 6 (p50 < 20 ms, paging > 20,000 items/s; pgstac users report
# 2.4 s per 1,000 items), so nadir/peer is the ratio to the goal.
# Usage: case_catalogue.sh NADIR_BIN   (normally through run.sh; BENCH_CAT_ITEMS=10000 for a smoke run)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

NADIR_BIN=${1:?usage: case_catalogue.sh NADIR_BIN}
ITEMS=${BENCH_CAT_ITEMS:-1000000}
PAGE_ITEMS=${BENCH_CAT_PAGE_ITEMS:-100000}
((PAGE_ITEMS > ITEMS)) && PAGE_ITEMS=$ITEMS
KEY=bench-api-key-0123456789
WRK_OPTS=(-t2 -c16)

nadir_start "$NADIR_BIN" "catalog:
  database: $BENCH_TMP/catalog.db
  transactions: true
  api_key: $KEY
datasets: []"

# ---- ingest: batches written by python, posted one after the other -----------------------------
curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data '{"type":"Collection","stac_version":"1.0.0","id":"bench","description":"Synthetic items",
             "license":"CC0-1.0","extent":{"spatial":{"bbox":[[-180,-90,180,90]]},
             "temporal":{"interval":[["2020-01-01T00:00:00Z","2024-12-31T00:00:00Z"]]}}}' \
    "$NADIR_URL/stac/collections" || bench_die "creating the collection failed"
mkdir -p "$BENCH_TMP/batches"
/usr/bin/python3 - "$ITEMS" "$BENCH_TMP/batches" <<'EOF' || bench_die "generating items failed"
import json, random, sys
n, out = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(1)
batch = 10000
for b in range(0, n, batch):
    feats = []
    for i in range(b, min(n, b + batch)):
        x, y = rnd.uniform(-179, 178), rnd.uniform(-80, 79)
        s = rnd.uniform(0.1, 1.0)
        day = rnd.randrange(0, 5 * 365)
        feats.append({"type": "Feature", "stac_version": "1.0.0", "id": f"it{i:07d}",
                      "geometry": {"type": "Polygon", "coordinates": [[[x, y], [x + s, y], [x + s, y + s], [x, y + s], [x, y]]]},
                      "properties": {"datetime": f"{2020 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 28:02d}T10:00:00Z",
                                     "eo:cloud_cover": rnd.randrange(0, 100), "platform": rnd.choice(["a", "b", "c"])},
                      "assets": {"data": {"href": f"s3://bucket/{i}.tif", "roles": ["data"]}}})
    with open(f"{out}/{b // batch:05d}.json", "w") as f:
        json.dump({"type": "FeatureCollection", "features": feats}, f)
EOF
# the API refuses bodies over server.max_body (10 MiB): a batch of 10,000 such items is ~3.5 MB
t0=$(date +%s.%N)
for f in "$BENCH_TMP"/batches/*.json; do
    curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' --data-binary "@$f" \
        "$NADIR_URL/stac/collections/bench/items" || bench_die "posting $f failed"
done
t1=$(date +%s.%N)
ingest_rate=$(awk -v n="$ITEMS" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f\n", n / (b - a)}')
bench_log "ingest: $ITEMS items at $ingest_rate items/s"
rm -rf "$BENCH_TMP/batches"

# ---- search: random bbox + datetime, limit=100 -------------------------------------------------
cat >"$BENCH_TMP/search.lua" <<'EOF'
math.randomseed(7)
request = function()
    local x = math.random(-180, 170)
    local y = math.random(-80, 70)
    local m = math.random(1, 11)
    local year = math.random(2020, 2024)
    local path = string.format("/stac/search?limit=100&bbox=%d,%d,%d,%d&datetime=%d-%02d-01T00:00:00Z/%d-%02d-01T00:00:00Z",
                               x, y, x + 10, y + 10, year, m, year, m + 1)
    return wrk.format("GET", path)
end
EOF
bench_warmup "$NADIR_URL/stac/search" "${WRK_OPTS[@]}" -s "$BENCH_TMP/search.lua"
p50=() p99=() rps=() cpu=() errors=0
for ((r = 1; r <= BENCH_ROUNDS; r++)); do
    WRK_SERVER_PID=$NADIR_PID bench_wrk "$NADIR_URL/stac/search" "${WRK_OPTS[@]}" -s "$BENCH_TMP/search.lua"
    p50+=("$WRK_P50_MS") p99+=("$WRK_P99_MS") rps+=("$WRK_RPS") cpu+=("$WRK_CPU_US") errors=$((errors + WRK_ERRORS))
done

# ---- paging: next links through PAGE_ITEMS results, 1000 a page --------------------------------
cpu0=$(bench_cpu_ticks "$NADIR_PID")
paging=$(/usr/bin/python3 - "$NADIR_URL" "$PAGE_ITEMS" <<'EOF'
import re, sys, time, urllib.request
# The client reads only numberReturned and the next link (the server's throughput is measured, not
# the client's JSON parser); the next href is the last "href" before "rel":"next".
base, want = sys.argv[1], int(sys.argv[2])
url, got = f"{base}/stac/search?collections=bench&limit=1000", 0
t0 = time.time()
while url and got < want:
    with urllib.request.urlopen(url) as r:
        body = r.read().decode()
    tail = body[body.rfind('"links":[{"href"'):]
    got += int(re.search(r'"numberReturned":(\d+)', tail).group(1))
    m = re.search(r'"href":"([^"]*)","rel":"next"', tail)
    url = m.group(1) if m else None
print(f"{got / (time.time() - t0):.0f} {got}")
EOF
) || bench_die "paging failed"
cpu1=$(bench_cpu_ticks "$NADIR_PID")
read -r page_rate paged <<<"$paging"
# the server's CPU per item paged: less sensitive to the machine's other work than items/s
page_cpu=$(awk -v d=$((cpu1 - cpu0)) -v hz="$(getconf CLK_TCK)" -v n="$paged" 'BEGIN {printf "%.1f\n", d / hz * 1e6 / n}')
bench_log "paging: $paged items at $page_rate items/s, $page_cpu us of server CPU per item"
nadir_stop

bench_peer "the goals of issue 6 (no STAC peer installed here; pgstac users report 2.4 s per 1,000 items)"
bench_metric ingest_items/s "$ingest_rate" 20000 higher -
bench_metric search_p50_ms "$(bench_median "${p50[@]}")" 20 lower 1
bench_metric search_p99_ms "$(bench_median "${p99[@]}")" 100 lower -
bench_metric search_requests/s "$(bench_median "${rps[@]}")" 100 higher -
# the server's CPU per search: what latency becomes on idle cores, whatever else the machine runs
bench_metric search_cpu_us/request "$(bench_median "${cpu[@]}")" 20000 lower -
bench_metric paging_items/s "$page_rate" 20000 higher 1
# 20,000 items/s on 2 CPUs leave at most 100 us of CPU per item
bench_metric paging_cpu_us/item "$page_cpu" 100 lower -
bench_note "catalogue: $ITEMS items (0.1-1° polygons, 5 years); search: wrk ${WRK_OPTS[*]} -d $BENCH_DURATION, random 10°x10° bbox + 1-month datetime, limit=100, median of $BENCH_ROUNDS rounds; paging: $paged items by next links, limit=1000, one client"
if ((errors > 0)); then bench_note "catalogue: $errors socket errors or non-2xx/3xx answers during the search runs"; fi
