#!/usr/bin/env bash
# Peers, side by side in one interleaved run, all in front of the same mock upstream:
# direct-to-mock, the bare hyper proxy (`bare-proxy`), `bitrouter serve` passthrough and a
# translated route (auth on, metrics on, the SQLite ledger on), and Busbar built from source in
# release mode. Prints a markdown table with ratios to the bare proxy and to Busbar.
#
#   benches/load/peers.sh                    # defaults: ≈ 8 minutes on a 2-core box (builds aside)
#   DURATION=2s REPEAT=1 SETTLE=5 STREAMS=0 benches/load/peers.sh   # a quick look (≈ 2 minutes)
#
# Environment (all optional):
#   DURATION=3s          length of one oha run
#   REPEAT=3             runs per cell and target (targets interleaved, order rotated per run);
#                        the table shows medians
#   SETTLE=30            seconds after the last load before "RSS after" is read
#   STREAMS=1000         concurrent (dripped) streams for the memory phase; 0 skips it
#   STREAMS_DURATION=6s  how long those streams are held
#   DRIP_MS=200          mock delay between stream events in that phase
#   TRANSLATED=mc        the translated route, <upstream><caller> of c r m g (see run.sh); "" none
#   BUSBAR=1             0 leaves Busbar out
#   BUSBAR_SRC=DIR       a checkout of the Busbar repository (GetBusbar/busbar)
#                        (default target/peers/busbar); built when BUSBAR_BIN is missing
#   BUSBAR_TARGET=DIR    its CARGO_TARGET_DIR (default target/peers/busbar-target)
#   BUSBAR_BIN=PATH      a built busbar binary (default $BUSBAR_TARGET/release/busbar)
#   BASELINE_BIN=PATH    also measure another `bitrouter` binary (e.g. built at an earlier commit or
#                        with another profile) on the same config: an extra column and ratio
#   SKIP_BUILD=1         use the release binaries already built (ours; Busbar is built only if missing)
#   OUT=DIR              logs, configs, oha JSON, results (default target/load/peers-<time>)
#
# Loopback only; every process this script starts is stopped on any exit. Compare ratios
# within one run: oha, the mock and the proxy share the machine's cores.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
DURATION=${DURATION:-3s}
REPEAT=${REPEAT:-3}
SETTLE=${SETTLE:-30}
STREAMS=${STREAMS:-1000}
STREAMS_DURATION=${STREAMS_DURATION:-6s}
DRIP_MS=${DRIP_MS:-200}
TRANSLATED=${TRANSLATED-mc}
BUSBAR=${BUSBAR:-1}
BUSBAR_SRC=${BUSBAR_SRC:-$TARGET_DIR/peers/busbar}
BUSBAR_TARGET=${BUSBAR_TARGET:-$TARGET_DIR/peers/busbar-target}
BUSBAR_BIN=${BUSBAR_BIN:-$BUSBAR_TARGET/release/busbar}
SKIP_BUILD=${SKIP_BUILD:-0}
BASELINE_BIN=${BASELINE_BIN:-}
OUT=${OUT:-$TARGET_DIR/load/peers-$(date +%Y%m%d-%H%M%S)}

# shellcheck source=benches/load/lib.sh
source "$ROOT/benches/load/lib.sh"
need_tools
command -v python3 >/dev/null 2>&1 || die "python3 is needed (to pick free loopback ports)"
[[ -z $TRANSLATED || $TRANSLATED =~ ^[crmg][crmg]$ && ${TRANSLATED:0:1} != "${TRANSLATED:1:1}" ]] ||
    die "TRANSLATED: '$TRANSLATED' is not <upstream><caller>, two different letters of c r m g"
CLK_TCK=$(getconf CLK_TCK)

# --- build -------------------------------------------------------------------------------
if [[ $SKIP_BUILD != 1 ]]; then
    log "building release binaries (cargo build --release --locked -p cli -p testkit -p benches --bins)"
    (cd "$ROOT" && cargo build --release --locked -p cli -p testkit -p benches --bins)
fi
for b in bitrouter mock-upstream bare-proxy; do
    [[ -x $BIN/$b ]] || die "$BIN/$b is missing (run without SKIP_BUILD=1)"
done
mkdir -p "$OUT/home" "$OUT/oha" "$OUT/busbar"
log "results in $OUT"

# Busbar: built from its own checkout with its own release profile, in its own target dir.
BUSBAR_NOTE=
if [[ $BUSBAR == 1 && ! -x $BUSBAR_BIN ]]; then
    if [[ -f $BUSBAR_SRC/Cargo.toml ]]; then
        log "building Busbar (release, its own profile) from $BUSBAR_SRC into $BUSBAR_TARGET"
        # --ignore-rust-version: its declared floor can be newer than this toolchain while the
        # code still builds; if it does not, Busbar is left out below.
        if ! (cd "$BUSBAR_SRC" && CARGO_TARGET_DIR=$BUSBAR_TARGET cargo build --release --locked \
            --ignore-rust-version -p busbar) >"$OUT/busbar/build.log" 2>&1; then
            tail -n 20 "$OUT/busbar/build.log" >&2
            BUSBAR_NOTE="Busbar left out: its build failed (see $OUT/busbar/build.log)."
        fi
    else
        BUSBAR_NOTE="Busbar left out: no checkout at $BUSBAR_SRC (clone GetBusbar/busbar there, or set BUSBAR_SRC or BUSBAR_BIN)."
    fi
fi
[[ $BUSBAR == 1 ]] || BUSBAR_NOTE="Busbar left out (BUSBAR=0)."
[[ -n $BUSBAR_NOTE || -x $BUSBAR_BIN ]] || BUSBAR_NOTE="Busbar left out: $BUSBAR_BIN is missing."
[[ -z $BUSBAR_NOTE ]] || log "$BUSBAR_NOTE"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
LOAD_SAMPLES=()

# --- processes -----------------------------------------------------------------------------
start mock-upstream "$OUT/mock.log" "$BIN/mock-upstream" --listen 127.0.0.1:0 --no-record
MOCK_PID=$START_PID MOCK=$START_ADDR
start bare-proxy "$OUT/bare.log" "$BIN/bare-proxy" --upstream "http://$MOCK" --listen 127.0.0.1:0
BARE_PID=$START_PID BARE=$START_ADDR

# bitrouter as shipped: caller auth on (a minted key), /metrics on its own listener, the
# usage ledger on (SQLite in the home, the default), default log level (a line per request).
declare -A PROTO=([c]=chat_completions [r]=responses [m]=messages [g]=generate_content)
declare -A MODEL_OF=([c]=gpt-4.1 [r]=resp-bench [m]=claude-bench [g]=gemini-bench)
CONFIG=$OUT/home/bitrouter.yaml
cat >"$CONFIG" <<EOF
inherit_defaults: false
server: { skip_auth: false, metrics_listen: "127.0.0.1:$(free_port)", limits: { max_in_flight: 4096 } }
database: { url: "sqlite://$OUT/home/bitrouter.db" }
providers:
  mock: { api_base: "http://$MOCK/v1", api_key: bench, api_protocol: chat_completions, allow_private: true, models: [{id: gpt-4.1}] }
  mockresp: { api_base: "http://$MOCK/v1", api_key: bench, api_protocol: responses, allow_private: true, models: [{id: resp-bench}] }
  mockmsg: { api_base: "http://$MOCK", api_key: bench, api_protocol: messages, allow_private: true, models: [{id: claude-bench}] }
  mockgem: { api_base: "http://$MOCK", api_key: bench, api_protocol: generate_content, allow_private: true, models: [{id: gemini-bench}] }
  mockdrip:
    api_base: "http://$MOCK/v1"
    api_key: bench
    api_protocol: chat_completions
    allow_private: true
    headers: { x-mock-fault: "drip=$DRIP_MS" }
    models: [{id: drip-4.1}]
EOF
"$BIN/bitrouter" --home-dir "$OUT/home" config validate -c "$CONFIG" >"$OUT/validate.log" 2>&1 ||
    {
        cat "$OUT/validate.log" >&2
        die "the benchmark's bitrouter config does not validate"
    }
KEY=$(mint_key "$BIN/bitrouter" "$OUT/home" "$OUT/auth-setup.log")
start bitrouter "$OUT/bitrouter.log" "$BIN/bitrouter" --home-dir "$OUT/home" serve -c "$CONFIG" --listen 127.0.0.1:0
ROUTER_PID=$START_PID ROUTER=$START_ADDR

TARGETS=(direct bare bitrouter)
declare -A LABEL=([direct]="direct to mock" [bare]="bare hyper proxy" [bitrouter]="bitrouter passthrough")
declare -A URL=([direct]="http://$MOCK" [bare]="http://$BARE" [bitrouter]="http://$ROUTER")
declare -A PID=([direct]="" [bare]=$BARE_PID [bitrouter]=$ROUTER_PID)
if [[ -n $TRANSLATED ]]; then
    TARGETS+=(translated)
    LABEL[translated]="bitrouter ${PROTO[${TRANSLATED:1:1}]}←${PROTO[${TRANSLATED:0:1}]}"
    URL[translated]="http://$ROUTER" PID[translated]=$ROUTER_PID
fi

# Another bitrouter build on the same config (its own home, database and metrics port).
if [[ -n $BASELINE_BIN ]]; then
    [[ -x $BASELINE_BIN ]] || die "BASELINE_BIN: '$BASELINE_BIN' is not an executable"
    mkdir -p "$OUT/home-baseline"
    sed -e "s|$OUT/home/bitrouter.db|$OUT/home-baseline/bitrouter.db|" \
        -e "s|metrics_listen: \"127.0.0.1:[0-9]*\"|metrics_listen: \"127.0.0.1:$(free_port)\"|" \
        "$CONFIG" >"$OUT/home-baseline/bitrouter.yaml"
    BASE_KEY=$(mint_key "$BASELINE_BIN" "$OUT/home-baseline" "$OUT/auth-setup-baseline.log")
    start bitrouter-baseline "$OUT/bitrouter-baseline.log" "$BASELINE_BIN" --home-dir "$OUT/home-baseline" \
        serve -c "$OUT/home-baseline/bitrouter.yaml" --listen 127.0.0.1:0
    TARGETS+=(baseline)
    LABEL[baseline]="baseline bitrouter ($(basename "$BASELINE_BIN"))"
    URL[baseline]="http://$START_ADDR" PID[baseline]=$START_PID
fi

# Busbar: one OpenAI-protocol provider (the mock, in its own provider catalog), one model, one
# single-member pool named like our model (every target gets the same body); caller auth with its
# built-in signed keys (a signing key generated by busbar, a key minted on its loopback admin
# listener); store in memory.
if [[ -z $BUSBAR_NOTE ]]; then
    BB_PORT=$(free_port) BB_ADMIN=$(free_port)
    cat >"$OUT/busbar/providers.yaml" <<EOF
mock:
  protocol: openai
  base_url: http://$MOCK/v1
  error_map: {}
EOF
    cat >"$OUT/busbar/config.yaml" <<EOF
listen: "127.0.0.1:$BB_PORT"
providers_file: "$OUT/busbar/providers.yaml"
admin_listen: "127.0.0.1:$BB_ADMIN"
identity-providers:
  admin-tokens: { module: admin-tokens, token: { env: BUSBAR_ADMIN_TOKEN } }
auth:
  chain: [keys]
  admin_auth: [admin-tokens]
  signing_key: { env: BUSBAR_SIGNING_KEY }
providers:
  mock:
    api_key: { env: BENCH_MOCK_KEY }
models:
  mock-gpt:
    provider: mock
    upstream_model: gpt-4.1
pools:
  gpt-4.1:
    members:
      - model: mock-gpt
EOF
    BB_SIGNING=$("$BUSBAR_BIN" --generate-signing-key 2>>"$OUT/busbar/setup.log") ||
        die "busbar --generate-signing-key failed (see $OUT/busbar/setup.log)"
    BB_ADMIN_TOKEN=bench-admin-$RANDOM$RANDOM
    start_polled busbar "$OUT/busbar/busbar.log" "http://127.0.0.1:$BB_PORT/healthz" \
        env BUSBAR_CONFIG="$OUT/busbar/config.yaml" \
        BUSBAR_SIGNING_KEY="$BB_SIGNING" BUSBAR_ADMIN_TOKEN="$BB_ADMIN_TOKEN" BENCH_MOCK_KEY=bench \
        "$BUSBAR_BIN"
    BB_PID=$START_PID
    BB_KEY=$(curl -sS --max-time 5 -X POST "http://127.0.0.1:$BB_ADMIN/api/v1/admin/keys" \
        -H "authorization: Bearer $BB_ADMIN_TOKEN" -H 'content-type: application/json' \
        -d '{"name":"bench"}' | jq -r '.token // empty') || true
    [[ -n $BB_KEY ]] || die "could not mint a Busbar key (see $OUT/busbar/busbar.log)"
    TARGETS+=(busbar)
    LABEL[busbar]="Busbar"
    URL[busbar]="http://127.0.0.1:$BB_PORT" PID[busbar]=$BB_PID
fi
log "mock http://$MOCK, bare http://$BARE, bitrouter http://$ROUTER${PID[busbar]:+, busbar ${URL[busbar]}}"

# request TARGET MODE : REQ_PATH, REQ_BODY, REQ_HDRS (curl/oha arguments), REQ_DONE (what a
# complete answer contains).
request() {
    local t=$1 m=$2 caller=c model=gpt-4.1 stream=
    [[ $t != translated ]] || model=${MODEL_OF[${TRANSLATED:0:1}]} caller=${TRANSLATED:1:1}
    [[ $m == stream ]] && stream=',"stream":true'
    REQ_HDRS=() REQ_DONE='"Hello!"'
    case $t in
        bitrouter | translated) REQ_HDRS=(-H "authorization: Bearer $KEY") ;;
        baseline) REQ_HDRS=(-H "authorization: Bearer $BASE_KEY") ;;
        busbar) REQ_HDRS=(-H "authorization: Bearer $BB_KEY") ;;
    esac
    case $caller in
        c)
            REQ_PATH=/v1/chat/completions
            REQ_BODY="{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]$stream}"
            [[ -z $stream ]] || REQ_DONE='data: [DONE]'
            ;;
        r)
            REQ_PATH=/v1/responses
            REQ_BODY="{\"model\":\"$model\",\"input\":\"Say hello.\"$stream}"
            [[ -z $stream ]] || REQ_DONE='event: response.completed'
            ;;
        m)
            REQ_PATH=/v1/messages
            REQ_BODY="{\"model\":\"$model\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"Say hello.\"}]$stream}"
            REQ_HDRS+=(-H 'anthropic-version: 2023-06-01')
            [[ -z $stream ]] || REQ_DONE='event: message_stop'
            ;;
        g)
            REQ_PATH="/v1beta/models/$model:generateContent"
            [[ -z $stream ]] || REQ_PATH="/v1beta/models/$model:streamGenerateContent?alt=sse"
            REQ_BODY='{"contents":[{"role":"user","parts":[{"text":"Say hello."}]}]}'
            [[ -z $stream ]] || REQ_DONE='"finishReason"'
            ;;
    esac
}

for t in "${TARGETS[@]}"; do
    for m in nonstream stream; do
        request "$t" "$m"
        code=$(curl -sS --max-time 10 -o "$OUT/check-$t-$m.txt" -w '%{http_code}' -H 'content-type: application/json' \
            ${REQ_HDRS[@]+"${REQ_HDRS[@]}"} -d "$REQ_BODY" "${URL[$t]}$REQ_PATH") || code=000
        [[ $code == 200 ]] || {
            cat "$OUT/check-$t-$m.txt" >&2
            die "${LABEL[$t]} $m answered $code"
        }
        grep -qF -- "$REQ_DONE" "$OUT/check-$t-$m.txt" || {
            cat "$OUT/check-$t-$m.txt" >&2
            die "${LABEL[$t]} $m: the answer lacks '$REQ_DONE'"
        }
    done
done

# --- idle memory -----------------------------------------------------------------------------
sleep 2
declare -A IDLE PEAK AFTER STREAM_PEAK STREAM_FDS STREAM_OK
for t in "${TARGETS[@]}"; do
    [[ -z ${PID[$t]} || $t == translated ]] || IDLE[$t]=$(kib "${PID[$t]}" VmRSS)
done

# ttfb_probe URL OUTFILE : 17th client during a streaming cell: 200 streams in a row on one
# keep-alive connection, the time to the first byte of each (seconds, one a line).
ttfb_probe() {
    local url=$1 outfile=$2 urls=() i
    for ((i = 0; i < 200; i++)); do urls+=("$url"); done
    # -o applies to the first URL only: the others' bodies go to stdout too, so the times are tagged.
    curl -s --max-time 20 -o /dev/null -w '\nTTFB %{time_starttransfer}\n' -H 'content-type: application/json' \
        ${REQ_HDRS[@]+"${REQ_HDRS[@]}"} -d "$REQ_BODY" "${urls[@]}" 2>/dev/null |
        sed -n 's/^TTFB //p' >"$outfile" || true
}

# --- load: cells x runs x targets, interleaved --------------------------------------------------
# A cell is MODE:CONCURRENCY. c=1 gives latency (and the stream's p99.9: a 40 ms Nagle/delayed-ACK
# stall on any of its small frames shows there), c=16/64 throughput; the c=16 stream cell also
# runs the time-to-first-byte probe beside oha.
CELLS=${CELLS:-"nonstream:1 nonstream:16 nonstream:64 stream:1 stream:16"}
RESULTS=$OUT/results.tsv
: >"$RESULTS"
log "warm-up: 1 s per target and mode at concurrency 16"
for m in nonstream stream; do
    for t in "${TARGETS[@]}"; do
        request "$t" "$m"
        oha_run "${URL[$t]}$REQ_PATH" "$REQ_BODY" 16 1s "$OUT/oha/warmup-$t-$m.json" -w ${REQ_HDRS[@]+"${REQ_HDRS[@]}"}
    done
done
for t in "${TARGETS[@]}"; do [[ -z ${PID[$t]} ]] || reset_peak "${PID[$t]}"; done
ncells=$(wc -w <<<"$CELLS")
log "measuring: $ncells cells x ${#TARGETS[@]} targets x $REPEAT runs of $DURATION"
for cell in $CELLS; do
    m=${cell%%:*} c=${cell##*:}
    for ((r = 0; r < REPEAT; r++)); do
        for ((k = 0; k < ${#TARGETS[@]}; k++)); do
            t=${TARGETS[$(((k + r) % ${#TARGETS[@]}))]}
            json=$OUT/oha/$t-$m-c$c-r$r.json
            pid=${PID[$t]}
            request "$t" "$m"
            probe_pid=
            ticks0=0
            [[ -z $pid ]] || ticks0=$(cpu_ticks "$pid")
            if [[ $m == stream && $c == 16 ]]; then
                (sleep 0.5 && ttfb_probe "${URL[$t]}$REQ_PATH" "$OUT/oha/ttfb-$t-r$r.txt") &
                probe_pid=$!
                PIDS+=("$probe_pid")
            fi
            oha_run "${URL[$t]}$REQ_PATH" "$REQ_BODY" "$c" "$DURATION" "$json" -w ${REQ_HDRS[@]+"${REQ_HDRS[@]}"}
            [[ -z $probe_pid ]] || wait "$probe_pid" || true
            ticks=-
            [[ -z $pid ]] || ticks=$(($(cpu_ticks "$pid") - ticks0))
            ttfb=-
            if [[ -n $probe_pid && -s $OUT/oha/ttfb-$t-r$r.txt ]]; then
                ttfb=$(sort -n "$OUT/oha/ttfb-$t-r$r.txt" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] * 1e6 }')
            fi
            jq -r --arg t "$t" --arg m "$m" --arg c "$c" --arg r "$r" --arg ticks "$ticks" --arg ttfb "$ttfb" \
                --arg tck "$CLK_TCK" '
                (.statusCodeDistribution["200"] // 0) as $ok
                | ([.statusCodeDistribution[]] | add // 0) as $resp
                | ([.errorDistribution[]] | add // 0) as $err
                | [$t, $m, $c, $r, ($ok / .summary.total),
                   .latencyPercentiles.p50 * 1e6, .latencyPercentiles.p99 * 1e6,
                   (.latencyPercentiles["p99.9"] // 0) * 1e6,
                   (if ($resp + $err) > 0 then $ok / ($resp + $err) else 0 end),
                   (if $ticks == "-" or $resp == 0 then "-" else ($ticks | tonumber) * 1e6 / ($tck | tonumber) / $resp end),
                   $ttfb]
                | @tsv' "$json" >>"$RESULTS"
            log "  $(tail -n1 "$RESULTS" | awk -F'\t' '{ printf "%-10s %-9s c=%-3s run %d: %7.0f req/s  p50 %6.0f us  p99 %6.0f us  ok %.4f  cpu/req %s us  ttfb %s us", $1, $2, $3, $4 + 1, $5, $6, $7, $9, $10, $11 }')"
        done
    done
    LOAD_SAMPLES+=("$(cut -d' ' -f1 /proc/loadavg)")
done
for t in "${TARGETS[@]}"; do
    [[ -z ${PID[$t]} || $t == translated ]] || PEAK[$t]=$(kib "${PID[$t]}" VmHWM)
done

# --- memory with STREAMS concurrent dripped streams ------------------------------------------
# Busbar sends the mock nothing of ours to make it drip (it forwards no caller header and has
# no per-provider header), so its streams would end at once: it is left out of this phase.
if ((STREAMS > 0)); then
    stream_targets=(bare bitrouter)
    [[ -z $BASELINE_BIN ]] || stream_targets+=(baseline)
    for t in "${stream_targets[@]}"; do
        pid=${PID[$t]}
        body='{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}],"stream":true}'
        case $t in
            # The bare proxy forwards request headers as they are: the fault header goes from oha.
            bare) extra=(-H "x-mock-fault: drip=$DRIP_MS") ;;
            bitrouter) body=${body/gpt-4.1/drip-4.1} extra=(-H "authorization: Bearer $KEY") ;;
            baseline) body=${body/gpt-4.1/drip-4.1} extra=(-H "authorization: Bearer $BASE_KEY") ;;
        esac
        log "memory: $STREAMS concurrent streams through $t for $STREAMS_DURATION"
        reset_peak "$pid"
        oha_run "${URL[$t]}/v1/chat/completions" "$body" "$STREAMS" "$STREAMS_DURATION" \
            "$OUT/oha/streams-$t.json" "${extra[@]}" &
        oha_pid=$!
        PIDS+=("$oha_pid")
        sleep "$(awk -v d="${STREAMS_DURATION%s}" 'BEGIN { print d * 0.7 }')"
        STREAM_FDS[$t]=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        wait "$oha_pid" || true
        STREAM_PEAK[$t]=$(kib "$pid" VmHWM)
        STREAM_OK[$t]=$(jq -r '.statusCodeDistribution["200"] // 0' "$OUT/oha/streams-$t.json")
    done
fi
log "waiting ${SETTLE}s after the load for the RSS that stays"
sleep "$SETTLE"
for t in "${TARGETS[@]}"; do
    [[ -z ${PID[$t]} || $t == translated ]] || AFTER[$t]=$(kib "${PID[$t]}" VmRSS)
done

# --- report ----------------------------------------------------------------------------------
# summary.tsv: target mode conc rps p50 p99 p99.9 ok cpu/req ttfb (medians; ok: the lowest)
SUMMARY=$OUT/summary.tsv
awk -F'\t' -v OFS='\t' "$AWK_MEDIAN"'
    { key = $1 OFS $2 OFS $3
      if (!(key in rps)) order[++n] = key
      rps[key] = rps[key] " " $5; p50[key] = p50[key] " " $6; p99[key] = p99[key] " " $7; p999[key] = p999[key] " " $8
      if (!(key in ok) || $9 + 0 < ok[key] + 0) ok[key] = $9
      if ($10 != "-") cpu[key] = cpu[key] " " $10
      if ($11 != "-") ttfb[key] = ttfb[key] " " $11 }
    END { for (i = 1; i <= n; i++) { k = order[i]
          c = median(cpu[k]); f = median(ttfb[k])
          print k, median(rps[k]), median(p50[k]), median(p99[k]), median(p999[k]), ok[k], (c == "" ? "-" : c), (f == "" ? "-" : f) } }' \
    "$RESULTS" >"$SUMMARY"

# v TARGET MODE CONC COLUMN : one value of the summary (4 rps, 5 p50, 6 p99, 7 p99.9, 8 ok, 9 cpu, 10 ttfb).
v() { awk -F'\t' -v t="$1" -v m="$2" -v c="$3" -v col="$4" '$1 == t && $2 == m && $3 == c { print $col }' "$SUMMARY"; }
HAVE_BB=0
[[ -n ${PID[busbar]:-} ]] && HAVE_BB=1
# row LABEL KIND VALUES... : a table row; KIND says how the ratio columns read the values.
#   hi: more is better (ratio = value ÷ reference); lo: less is better (same ratio, printed as is)
fmt_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-" || b + 0 == 0) print "—"; else printf "%.2f×", a / b }'; }
added() { awk -v a="$1" -v d="$2" 'BEGIN { if (a == "" || d == "") print "—"; else printf "%.0f", a - d }'; }
num() { awk -v a="$1" -v s="${2:-}" 'BEGIN { if (a == "" || a == "-") print "—"; else printf "%.0f%s", a, s }'; }
memmib() { awk -v k="$1" 'BEGIN { if (k == "") print "—"; else printf "%.1f", k / 1024 }'; }

{
    printf '\n## Peers: one interleaved run in front of the same mock (oha, HTTP/1.1 keep-alive, %s x %s per cell, medians)\n\n' "$REPEAT" "$DURATION"
    [[ -z $BUSBAR_NOTE ]] || printf '%s\n\n' "$BUSBAR_NOTE"
    header='| metric |'
    sep='|---|'
    for t in "${TARGETS[@]}"; do
        header+=" ${LABEL[$t]} |"
        sep+='--:|'
    done
    for t in bitrouter translated; do
        [[ -n ${LABEL[$t]:-} ]] || continue
        header+=" ${t/bitrouter/passthrough} ÷ bare |"
        sep+='--:|'
        if ((HAVE_BB)); then
            header+=" ${t/bitrouter/passthrough} ÷ Busbar |"
            sep+='--:|'
        fi
    done
    if [[ -n ${LABEL[baseline]:-} ]]; then
        header+=" passthrough ÷ baseline |"
        sep+='--:|'
    fi
    printf '%s\n%s\n' "$header" "$sep"
    # metric_row TITLE MODE CONC COLUMN TRANSFORM : TRANSFORM is `added` (the value, and in brackets
    # the part over direct's; ratios are of the values), `num`, or `cpu`.
    metric_row() {
        local title=$1 m=$2 c=$3 col=$4 how=$5 line vals=() t x d
        d=$(v direct "$m" "$c" "$col")
        line="| $title |"
        declare -A val
        for t in "${TARGETS[@]}"; do
            x=$(v "$t" "$m" "$c" "$col")
            if [[ $how == added ]]; then
                [[ $t == direct ]] && val[$t]=$x || val[$t]=$(added "$x" "$d")
                line+=" $(num "$x") ($([[ $t == direct ]] && echo "—" || awk -v a="${val[$t]}" 'BEGIN { printf "%+d", a }')) |"
                val[$t]=$x
            else
                val[$t]=$x
                if [[ $how == cpu ]]; then
                    line+=" $(awk -v a="$x" 'BEGIN { if (a == "" || a == "-") print "—"; else printf "%.1f", a }') |"
                else
                    line+=" $(num "$x") |"
                fi
            fi
        done
        for t in bitrouter translated; do
            [[ -n ${LABEL[$t]:-} ]] || continue
            line+=" $(fmt_ratio "${val[$t]}" "${val[bare]}") |"
            if ((HAVE_BB)); then line+=" $(fmt_ratio "${val[$t]}" "${val[busbar]}") |"; fi
        done
        [[ -z ${LABEL[baseline]:-} ]] || line+=" $(fmt_ratio "${val[bitrouter]}" "${val[baseline]}") |"
        printf '%s\n' "$line"
    }
    metric_row "non-stream c=1 p50 µs (added over direct)" nonstream 1 5 added
    metric_row "non-stream c=1 p99 µs (added over direct)" nonstream 1 6 added
    metric_row "non-stream c=16 req/s" nonstream 16 4 num
    metric_row "non-stream c=64 req/s" nonstream 64 4 num
    metric_row "stream c=16 req/s" stream 16 4 num
    metric_row "stream c=16 time to first byte µs (median)" stream 16 10 num
    metric_row "stream c=1 p99.9 µs (small frames, whole stream)" stream 1 7 num
    metric_row "CPU µs per request, non-stream c=16" nonstream 16 9 cpu
    metric_row "CPU µs per request, stream c=16" stream 16 9 cpu

    mem_row() {
        local title=$1 line t x
        local -n arr=$2
        line="| $title |"
        for t in "${TARGETS[@]}"; do
            if [[ $t == direct || $t == translated ]]; then x="—"; else x=$(memmib "${arr[$t]:-}"); fi
            line+=" $x |"
        done
        for t in bitrouter translated; do
            [[ -n ${LABEL[$t]:-} ]] || continue
            if [[ $t == translated ]]; then
                line+=" — |"
                if ((HAVE_BB)); then line+=" — |"; fi
                continue
            fi
            line+=" $(fmt_ratio "${arr[bitrouter]:-}" "${arr[bare]:-}") |"
            if ((HAVE_BB)); then line+=" $(fmt_ratio "${arr[bitrouter]:-}" "${arr[busbar]:-}") |"; fi
        done
        [[ -z ${LABEL[baseline]:-} ]] || line+=" $(fmt_ratio "${arr[bitrouter]:-}" "${arr[baseline]:-}") |"
        printf '%s\n' "$line"
    }
    mem_row "idle RSS MiB" IDLE
    mem_row "peak RSS MiB (all the load cells)" PEAK
    if ((STREAMS > 0)); then
        mem_row "peak RSS MiB, $STREAMS concurrent streams (Busbar: not run)" STREAM_PEAK
    fi
    mem_row "RSS MiB ${SETTLE} s after the load" AFTER
    printf '\nThe translated route (%s) shares the passthrough process: its memory is in that column.\n' "${LABEL[translated]:-none}"
    printf 'Lowest fraction of 200s in any run: '
    awk -F'\t' '{ if (!($1 in lo) || $8 < lo[$1]) lo[$1] = $8 } END { for (t in lo) printf "%s %.4f; ", t, lo[t]; print "" }' "$SUMMARY"
    if ((STREAMS > 0)); then
        printf 'Streams phase (open fds mid-phase, ≈ 2 per stream; 200 responses):'
        for t in "${stream_targets[@]}"; do printf ' %s %s fds, %s ok;' "$t" "${STREAM_FDS[$t]}" "${STREAM_OK[$t]}"; done
        printf '\n'
    fi

    printf '\nTargets (issue 18), this run:\n\n'
    awk -F'\t' -v OFS='\t' '{ k = $1 SUBSEP $2 SUBSEP $3; rps[k] = $4; p50[k] = $5; p99[k] = $6; p999[k] = $7; cpu[k] = $9 }
        function ok(b) { return b ? "met" : "MISSED" }
        END {
            split("nonstream:16 nonstream:64 stream:16", cells, " ")
            for (i = 1; i <= 3; i++) { split(cells[i], mc, ":"); m = mc[1]; c = mc[2]
                b = rps["bare", m, c]; p = rps["bitrouter", m, c]; tr = rps["translated", m, c]
                if (b > 0) printf "- passthrough req/s >= 0.95x bare, %s c=%s: %s (%.2fx)\n", m, c, ok(p / b >= 0.95), p / b
                if (b > 0 && tr != "") printf "- translated req/s >= 0.85x bare, %s c=%s: %s (%.2fx)\n", m, c, ok(tr / b >= 0.85), tr / b }
            d50 = p50["bitrouter", "nonstream", 1] - p50["bare", "nonstream", 1]
            d99 = p99["bitrouter", "nonstream", 1] - p99["bare", "nonstream", 1]
            printf "- added p50 at c=1 <= bare + 20 us: %s (%+.0f us)\n", ok(d50 <= 20), d50
            printf "- added p99 at c=1 <= bare + 50 us: %s (%+.0f us)\n", ok(d99 <= 50), d99
            if (("busbar", "nonstream", 1) in p50)
                printf "- p50 and p99 at c=1 better than Busbar: %s (%.0f / %.0f vs %.0f / %.0f us)\n",
                    ok(p50["bitrouter", "nonstream", 1] < p50["busbar", "nonstream", 1] && p99["bitrouter", "nonstream", 1] < p99["busbar", "nonstream", 1]),
                    p50["bitrouter", "nonstream", 1], p99["bitrouter", "nonstream", 1], p50["busbar", "nonstream", 1], p99["busbar", "nonstream", 1]
            split("nonstream stream", ms, " ")
            for (i = 1; i <= 2; i++) { m = ms[i]; b = cpu["bare", m, 16]; p = cpu["bitrouter", m, 16]
                if (b > 0) printf "- CPU per request <= 1.15x bare, %s c=16: %s (%.2fx: %.1f vs %.1f us)\n", m, ok(p / b <= 1.15), p / b, p, b }
            x = p999["bitrouter", "stream", 1]
            if (x != "") printf "- stream c=1 p99.9 < 5 ms: %s (%.2f ms)\n", ok(x < 5000), x / 1000
        }' "$SUMMARY"
    awk -v k="${IDLE[bitrouter]}" 'BEGIN { printf "- idle RSS <= 6 MiB: %s (%.1f MiB)\n", (k <= 6 * 1024 ? "met" : "MISSED"), k / 1024 }'
    if ((STREAMS > 0)); then
        awk -v k="${STREAM_PEAK[bitrouter]}" -v s="$STREAMS" 'BEGIN { printf "- RSS <= 48 MiB with %d concurrent streams: %s (%.1f MiB)\n", s, (k <= 48 * 1024 ? "met" : "MISSED"), k / 1024 }'
    fi
    awk -v a="${AFTER[bitrouter]}" -v i="${IDLE[bitrouter]}" -v s="$SETTLE" 'BEGIN { printf "- RSS %d s after the load within 20%% of idle: %s (%.1f MiB, %.2fx idle)\n", s, (a <= i * 1.2 ? "met" : "MISSED"), a / 1024, a / i }'
    printf '\nLoad average (1/5/15 min) before: %s; 1-min after each cell: %s; after: %s (%s cores).\n' \
        "$LOAD_BEFORE" "${LOAD_SAMPLES[*]}" "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
    if ((HAVE_BB)); then
        printf 'Busbar: %s (%s), release profile of its workspace: %s; allocator: %s.\n' "$BUSBAR_BIN" \
            "$(git -C "$BUSBAR_SRC" rev-parse --short HEAD 2>/dev/null || echo "commit unknown")" \
            "$(awk '/^\[profile.release\]/ { on = 1; next } /^\[/ { on = 0 } on && /^[a-z-]+ *=/ { sub(/ *#.*/, ""); printf "%s%s", sep, $0; sep = ", " }' "$BUSBAR_SRC/Cargo.toml" 2>/dev/null)" \
            "$(grep -q tikv-jemallocator "$BUSBAR_SRC/crates/busbar/Cargo.toml" 2>/dev/null && echo "jemalloc (tikv-jemallocator, background purge thread)" || echo "unknown")"
    fi
    printf 'Raw oha JSON, per-run TSV and process logs: %s\n' "$OUT"
} | tee "$OUT/report.md"
