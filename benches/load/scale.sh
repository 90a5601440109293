#!/usr/bin/env bash
# Scale-out figures (issue 16): the added latency of the shared-limit check (a key with an `rpm`
# counted in Redis/Valkey, `server.limits.store`) against the same key counted locally, at c=1
# (p50/p99) and c=16 (requests/s); and the throughput of 1 against 3 replicas behind HAProxy
# (all counting in the same store). Everything on loopback, bounded, stops what it started.
#
#   DURATION=5s   per measurement        REPEAT=3   repetitions (medians are reported)
#   SKIP_BUILD=1  use the release binaries already built
#   OUT=DIR       where configs, logs, oha JSON and report.md go (default target/load/scale-<time>)
#
# Needs oha, jq, redis-server (or valkey-server) and haproxy. On a 2-core machine the 3 replicas,
# HAProxy, the mock and oha share the same two cores: the 1 → 3 figure shows the cost of the
# extra hop and processes, not the gain a machine per replica would see.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
DURATION=${DURATION:-5s}
REPEAT=${REPEAT:-3}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$TARGET_DIR/load/scale-$(date +%Y%m%d-%H%M%S)}

# shellcheck source=benches/load/lib.sh
source "$ROOT/benches/load/lib.sh"
need_tools
REDIS_BIN=$(command -v valkey-server || command -v redis-server || true)
[[ -n $REDIS_BIN ]] || die "redis-server (or valkey-server) is not installed (apt-get install redis-server)"
HAPROXY_BIN=$(command -v haproxy || { [[ -x /usr/sbin/haproxy ]] && echo /usr/sbin/haproxy; } || true)
[[ -n $HAPROXY_BIN ]] || die "haproxy is not installed (apt-get install haproxy)"

if [[ $SKIP_BUILD != 1 ]]; then
    log "building release binaries (cargo build --release --locked -p cli -p testkit --bins)"
    (cd "$ROOT" && cargo build --release --locked -p cli -p testkit --bins)
fi
mkdir -p "$OUT/oha"
log "results in $OUT"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

start mock-upstream "$OUT/mock.log" "$BIN/mock-upstream" --listen 127.0.0.1:0 --no-record
MOCK=$START_ADDR
REDIS_PORT=$(free_port)
"$REDIS_BIN" --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no --dir "$OUT" \
    >"$OUT/redis.log" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT") 2>/dev/null && break
    sleep 0.1
done

# One home holds the account; every replica trusts a copy of its `.keys`.
mkdir -p "$OUT/keys"
echo 'server: { skip_auth: false, listen: "127.0.0.1:0" }' >"$OUT/keys/bitrouter.yaml"
"$BIN/bitrouter" --home-dir "$OUT/keys" account --generate >"$OUT/keys.log" 2>&1
KEY=$("$BIN/bitrouter" --home-dir "$OUT/keys" keygen --exp 1d --rpm 100000000 2>>"$OUT/keys.log")

# replica NAME LIMITS : starts a `bitrouter serve` with `server.limits` = LIMITS; sets START_ADDR.
replica() {
    local name=$1 limits=$2 home=$OUT/$1
    mkdir -p "$home"
    cp -r "$OUT/keys/.keys" "$home/"
    cat >"$home/bitrouter.yaml" <<EOF
inherit_defaults: false
server: { skip_auth: false, limits: $limits }
providers:
  mock: { api_base: "http://$MOCK/v1", api_key: bench, api_protocol: chat_completions, allow_private: true, models: [{id: gpt-4.1}] }
EOF
    start "$name" "$OUT/$name.log" "$BIN/bitrouter" --home-dir "$home" serve --listen 127.0.0.1:0
}

SHARED="{ max_in_flight: 4096, store: \"redis://127.0.0.1:$REDIS_PORT\", on_store_error: fail_closed }"
replica local "{ max_in_flight: 4096 }"
LOCAL=$START_ADDR
replica shared "$SHARED"
SHARED_ADDR=$START_ADDR
REPLICAS=()
for i in 1 2 3; do
    replica "r$i" "$SHARED"
    REPLICAS+=("$START_ADDR")
done

# HAProxy in front of 1 and of 3 replicas (two frontends), round-robin.
LB1=$(free_port) LB3=$(free_port)
{
    printf 'global\n  maxconn 4096\ndefaults\n  mode http\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  option http-keep-alive\n'
    printf 'frontend one\n  bind 127.0.0.1:%s\n  default_backend one\n' "$LB1"
    printf 'frontend three\n  bind 127.0.0.1:%s\n  default_backend three\n' "$LB3"
    printf 'backend one\n  server r1 %s\n' "${REPLICAS[0]}"
    printf 'backend three\n  balance roundrobin\n'
    for i in 0 1 2; do printf '  server r%s %s\n' "$i" "${REPLICAS[$i]}"; done
} >"$OUT/haproxy.cfg"
"$HAPROXY_BIN" -f "$OUT/haproxy.cfg" -db >"$OUT/haproxy.log" 2>&1 &
PIDS+=("$!")
sleep 0.5

BODY='{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}]}'
declare -A URL=([local]="http://$LOCAL" [shared]="http://$SHARED_ADDR" [lb1]="http://127.0.0.1:$LB1" [lb3]="http://127.0.0.1:$LB3")
# Warm every path once (connections, the store's scripts).
for t in local shared lb1 lb3; do
    curl -s -o /dev/null --max-time 5 -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
        -d "$BODY" "${URL[$t]}/v1/chat/completions" || die "$t does not answer"
done

printf 'target\tmetric\trun\tvalue\n' >"$OUT/results.tsv"
for ((run = 1; run <= REPEAT; run++)); do
    for t in local shared; do
        j=$OUT/oha/$t-c1-$run.json
        oha_run "${URL[$t]}/v1/chat/completions" "$BODY" 1 "$DURATION" "$j" -H "authorization: Bearer $KEY"
        printf '%s\tp50_us\t%s\t%s\n' "$t" "$run" "$(jq '.latencyPercentiles.p50 * 1e6' "$j")" >>"$OUT/results.tsv"
        printf '%s\tp99_us\t%s\t%s\n' "$t" "$run" "$(jq '.latencyPercentiles.p99 * 1e6' "$j")" >>"$OUT/results.tsv"
    done
    for t in local shared lb1 lb3; do
        for c in 16 64; do
            j=$OUT/oha/$t-c$c-$run.json
            oha_run "${URL[$t]}/v1/chat/completions" "$BODY" "$c" "$DURATION" "$j" -H "authorization: Bearer $KEY"
            printf '%s\trps_c%s\t%s\t%s\n' "$t" "$c" "$run" "$(jq '.summary.requestsPerSec' "$j")" >>"$OUT/results.tsv"
            ok=$(jq '.statusCodeDistribution["200"] // 0' "$j")
            all=$(jq '[.statusCodeDistribution[]] | add // 0' "$j")
            [[ $ok == "$all" ]] || log "warning: $t c=$c run $run: $ok of $all answers were 200"
        done
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

awk -F'\t' "$AWK_MEDIAN"'
    NR > 1 { v[$1 "\t" $2] = v[$1 "\t" $2] " " $4 }
    END { for (k in v) printf "%s\t%s\n", k, median(v[k]) }' "$OUT/results.tsv" | sort >"$OUT/summary.tsv"
m() { awk -F'\t' -v t="$1" -v k="$2" '$1 == t && $2 == k { printf "%.0f", $3 }' "$OUT/summary.tsv"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "-" }'; }
{
    echo "# Scale-out figures ($(date -u +%FT%TZ), medians of $REPEAT × $DURATION; load average $LOAD_BEFORE before, $LOAD_AFTER after)"
    echo
    echo "| limits | c=1 p50 µs | c=1 p99 µs | c=16 req/s | c=64 req/s |"
    echo "|---|--:|--:|--:|--:|"
    for t in local shared; do
        echo "| $t | $(m $t p50_us) | $(m $t p99_us) | $(m $t rps_c16) | $(m $t rps_c64) |"
    done
    echo
    echo "Added by the shared check: p50 +$(($(m shared p50_us) - $(m local p50_us))) µs, p99 +$(($(m shared p99_us) - $(m local p99_us))) µs;" \
        "c=16 throughput $(ratio "$(m shared rps_c16)" "$(m local rps_c16)") of local."
    echo
    echo "| behind HAProxy (shared limits) | c=16 req/s | c=64 req/s |"
    echo "|---|--:|--:|"
    echo "| 1 replica | $(m lb1 rps_c16) | $(m lb1 rps_c64) |"
    echo "| 3 replicas | $(m lb3 rps_c16) ($(ratio "$(m lb3 rps_c16)" "$(m lb1 rps_c16)")) | $(m lb3 rps_c64) ($(ratio "$(m lb3 rps_c64)" "$(m lb1 rps_c64)")) |"
    echo
    echo "Cores: $(nproc). Replicas, HAProxy, Redis, the mock and oha share them."
} | tee "$OUT/report.md"
