#!/usr/bin/env bash
# The usage ledger's cost and its promise, in one run in front of the mock upstream:
#
# 1. `bitrouter serve` with the ledger on (SQLite in its home, the default) against the same
#    binary with `--no-ledger`, interleaved (REPEAT runs per cell, order alternated, medians):
#    requests/s, p50/p99 latency and the router's CPU time per request.
# 2. The database stopped mid-run: a fresh ledger-on router takes REQUESTS requests at
#    concurrency 16 while, from 1 s in, another process holds the SQLite file's write lock for
#    LOCK_SECONDS (the writer's inserts fail, rows wait in the spool). Then the lock goes, the
#    router drains and stops, and the ledger must hold exactly one row per request sent, every
#    request must have answered 200, and the router's log must show the database failing.
#
#   benches/load/ledger.sh                      # ≈ 2 minutes on a 2-core box (builds aside)
#   DURATION=5s REPEAT=5 benches/load/ledger.sh # less noise
#
# Environment (all optional): DURATION (3s), REPEAT (3), CONCURRENCY ("1 16"), REQUESTS (150000),
# LOCK_SECONDS (8: longer than SQLite's 5 s busy timeout, so inserts fail), SKIP_BUILD=1 (use the release binaries already built), OUT (default
# target/load/ledger-<time>/). Loopback only; every process it starts is stopped on any exit.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=benches/load/lib.sh
source "$ROOT/benches/load/lib.sh"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
DURATION=${DURATION:-3s}
REPEAT=${REPEAT:-3}
CONCURRENCY=${CONCURRENCY:-1 16}
REQUESTS=${REQUESTS:-150000}
LOCK_SECONDS=${LOCK_SECONDS:-8}
OUT=${OUT:-$TARGET_DIR/load/ledger-$(date +%Y%m%d-%H%M%S)}

need_tools
command -v python3 >/dev/null || die "python3 is needed (it holds the SQLite lock and counts rows)"
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    log "building (release): bitrouter, mock-upstream"
    (cd "$ROOT" && cargo build --release --locked -p cli -p testkit --bins) >&2
fi
mkdir -p "$OUT"
log "output: $OUT"

start mock-upstream "$OUT/mock.log" "$BIN/mock-upstream" --listen 127.0.0.1:0 --no-record
MOCK=$START_ADDR

# router NAME [serve flags...] : a router in its own home ($OUT/NAME), SQLite ledger in it.
router() {
    local name=$1
    shift
    mkdir -p "$OUT/$name"
    cat >"$OUT/$name/bitrouter.yaml" <<EOF
inherit_defaults: false
server: { skip_auth: true, limits: { max_in_flight: 4096 } }
database: { url: "sqlite://$OUT/$name/bitrouter.db" }
providers:
  mock: { api_base: "http://$MOCK/v1", api_key: bench, api_protocol: chat_completions, allow_private: true, models: [{id: gpt-4.1}] }
EOF
    start "$name" "$OUT/$name/serve.log" "$BIN/bitrouter" --home-dir "$OUT/$name" \
        serve -c "$OUT/$name/bitrouter.yaml" --listen 127.0.0.1:0 "$@"
}

BODY='{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}]}'
PATH_=/v1/chat/completions

# --- 1. on against off -----------------------------------------------------------------------
router on
ON_PID=$START_PID ON=$START_ADDR
router off --no-ledger
OFF_PID=$START_PID OFF=$START_ADDR
grep -q 'ledger="off"' "$OUT/off/serve.log" || die "the --no-ledger router did not say ledger=off"
declare -A ADDR=([on]=$ON [off]=$OFF) PIDOF=([on]=$ON_PID [off]=$OFF_PID)
TICK=$(getconf CLK_TCK)

printf 'target\tc\trun\trps\tp50_us\tp99_us\tcpu_us_per_req\n' >"$OUT/results.tsv"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for c in $CONCURRENCY; do
    # warm both (connection pools, SQLite file, page cache)
    for t in on off; do oha_run "http://${ADDR[$t]}$PATH_" "$BODY" "$c" 1s "$OUT/warm.json"; done
    for ((r = 1; r <= REPEAT; r++)); do
        order="on off"
        ((r % 2 == 0)) && order="off on"
        for t in $order; do
            json=$OUT/$t-c$c-r$r.json
            t0=$(cpu_ticks "${PIDOF[$t]}")
            oha_run "http://${ADDR[$t]}$PATH_" "$BODY" "$c" "$DURATION" "$json"
            t1=$(cpu_ticks "${PIDOF[$t]}")
            jq -r --arg t "$t" --arg c "$c" --arg r "$r" --arg dt "$((t1 - t0))" --arg tick "$TICK" '
                (.statusCodeDistribution["200"] // 0) as $ok
                | [$t, $c, $r, (.summary.requestsPerSec | floor),
                   (.latencyPercentiles.p50 * 1e6 | floor), (.latencyPercentiles.p99 * 1e6 | floor),
                   (if $ok > 0 then (($dt | tonumber) / ($tick | tonumber) * 1e6 / $ok | floor) else 0 end)]
                | @tsv' "$json" >>"$OUT/results.tsv"
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- 2. the database stopped mid-run --------------------------------------------------------
router stop
STOP_PID=$START_PID STOP_ADDR=$START_ADDR
DB=$OUT/stop/bitrouter.db
# The writer creates the file and its table at start; wait for it.
for ((i = 0; i < 100; i++)); do
    [[ -s $DB ]] && break
    sleep 0.1
done
oha --no-tui --output-format json -o "$OUT/stop.json" -n "$REQUESTS" -c 16 -m POST \
    -H 'content-type: application/json' -d "$BODY" "http://$STOP_ADDR$PATH_" >/dev/null &
OHA=$!
PIDS+=("$OHA")
sleep 1
python3 - "$DB" "$LOCK_SECONDS" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
db.execute("BEGIN EXCLUSIVE")  # the router's writer cannot insert until this ends
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
PY
LOCKER=$!
PIDS+=("$LOCKER")
wait "$LOCKER" || die "could not hold the SQLite lock"
wait "$OHA" || die "oha failed in the stopped-database phase"
SPOOL_PEAK=$(du -sb "$OUT/stop/run/ledger" 2>/dev/null | cut -f1 || echo 0)
kill -TERM "$STOP_PID"
wait "$STOP_PID" 2>/dev/null || true
ROWS=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*), sum(status = 200) from requests").fetchone())' "$DB")
OK=$(jq -r '.statusCodeDistribution["200"] // 0' "$OUT/stop.json")
ERRS=$(jq -r '[.errorDistribution[]?] | add // 0' "$OUT/stop.json")
FAILED_LOG=$(grep -c 'the ledger cannot write to its database' "$OUT/stop/serve.log" || true)
read -r NROWS NOK < <(tr -d '(),' <<<"$ROWS")

# --- report ---------------------------------------------------------------------------------
{
    echo "# Ledger on against off ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "DURATION=$DURATION REPEAT=$REPEAT; medians; load average before $LOAD_BEFORE, after $LOAD_AFTER; $(nproc) cores."
    echo
    echo "| c | req/s on | req/s off | on ÷ off | p50 µs on / off | p99 µs on / off | router CPU µs/req on / off |"
    echo "|--:|--:|--:|--:|--:|--:|--:|"
    awk -F'\t' "$AWK_MEDIAN"'
        NR > 1 { k = $1 SUBSEP $2; rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6; cpu[k] = cpu[k] " " $7; cs[$2] = 1 }
        END {
            for (c in cs) {
                on = median(rps["on" SUBSEP c]); off = median(rps["off" SUBSEP c])
                printf "| %s | %d | %d | %.2f | %d / %d | %d / %d | %.1f / %.1f |\n", c, on, off, off ? on / off : 0,
                    median(p50["on" SUBSEP c]), median(p50["off" SUBSEP c]),
                    median(p99["on" SUBSEP c]), median(p99["off" SUBSEP c]),
                    median(cpu["on" SUBSEP c]), median(cpu["off" SUBSEP c])
            }
        }' "$OUT/results.tsv" | sort -t'|' -k2 -n
    echo
    echo "## The database stopped mid-run"
    echo
    echo "$REQUESTS requests at c=16; the SQLite write lock held by another process for ${LOCK_SECONDS}s from 1 s in."
    echo
    echo "- answered 200: $OK of $REQUESTS (transport errors: $ERRS)"
    echo "- ledger rows after the router stopped: $NROWS ($NOK with status 200)"
    echo "- spool in the run dir when the load ended: $SPOOL_PEAK bytes"
    echo "- router log lines \"the ledger cannot write to its database\": $FAILED_LOG"
} | tee "$OUT/report.md"

[[ $OK == "$REQUESTS" && $NROWS == "$REQUESTS" && $NOK == "$REQUESTS" ]] ||
    die "the stopped-database phase lost or failed requests (see $OUT/report.md)"
[[ $FAILED_LOG -ge 1 ]] ||
    die "the database never failed during the lock (raise LOCK_SECONDS past SQLite's 5 s busy timeout)"
