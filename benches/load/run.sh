#!/usr/bin/env bash
# Load benchmark for the data plane: direct-to-mock vs a bare hyper passthrough proxy vs
# `bitrouter serve` passthrough, and `bitrouter serve` translating between protocols (the mock
# answering in another protocol than the caller speaks), at several concurrencies,
# non-streaming and streaming.
#
#   benches/load/run.sh                      # defaults: ~4 minutes on a 2-core box
#   DURATION=10s REPEAT=5 benches/load/run.sh
#
# Environment (all optional):
#   DURATION=3s         length of one oha run
#   REPEAT=3            runs per cell; the table shows the median (peak RSS: the maximum)
#   CONCURRENCY="1 16 64"
#   MODES="nonstream stream"
#   STREAMS=1000        concurrent streams for the memory measurement (0 skips it)
#   STREAMS_DURATION=6s how long those streams are held
#   DRIP_MS=200         mock delay between stream events during that measurement
#   TRANSLATED="mc gc cm"  translated routes, each <upstream><caller> from c (chat_completions),
#                       r (responses), m (messages), g (generate_content): "mc" = the caller speaks
#                       Chat Completions, bitrouter calls the mock's Messages; "" measures none
#   AUTH=1              also measure a second bitrouter with caller authentication on
#                       (`skip_auth: false`, a key minted by `bitrouter keygen`); 0 skips it
#   GUARDRAILS=0        1: also measure a second bitrouter, the passthrough config plus a typical
#                       guardrail rule set (every built-in detector redacting, three patterns:
#                       block, redact, log; on both phases), on its own port: rules on vs off
#   BASELINE_BIN=PATH   also measure another `bitrouter` binary (e.g. built from an earlier commit)
#                       with the same passthrough config, reported as this build ÷ baseline
#   SKIP_BUILD=1        use the release binaries already built
#   OUT=DIR             where logs, configs and oha's JSON go (default target/load/<time>)
#
# Everything runs on this machine: oha, the mock, and the proxy under test share the cores,
# so compare ratios and medians between targets of the same run, not absolute numbers between
# machines. See benches/README.md for how to read the output.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release
DURATION=${DURATION:-3s}
REPEAT=${REPEAT:-3}
CONCURRENCY=${CONCURRENCY:-"1 16 64"}
MODES=${MODES:-"nonstream stream"}
STREAMS=${STREAMS:-1000}
STREAMS_DURATION=${STREAMS_DURATION:-6s}
DRIP_MS=${DRIP_MS:-200}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$TARGET_DIR/load/$(date +%Y%m%d-%H%M%S)}
TRANSLATED=${TRANSLATED-"mc gc cm"}
AUTH=${AUTH:-1}
GUARDRAILS=${GUARDRAILS:-0}
BASELINE_BIN=${BASELINE_BIN:-}

# shellcheck source=benches/load/lib.sh
source "$ROOT/benches/load/lib.sh"

need_tools

# Targets: the three passthrough ones, then `tr-XY` per translated route (upstream X, caller Y).
TARGETS=(direct bare bitrouter)
declare -A PROTO=([c]=chat [r]=responses [m]=messages [g]=gemini)
# The model each upstream protocol is reached by (providers in the config below).
declare -A MODEL_OF=([c]=gpt-4.1 [r]=resp-bench [m]=claude-bench [g]=gemini-bench)
declare -A LABEL=([direct]=direct [bare]=bare [bitrouter]=bitrouter)
for x in $TRANSLATED; do
    [[ $x =~ ^[crmg][crmg]$ && ${x:0:1} != "${x:1:1}" ]] ||
        die "TRANSLATED: '$x' is not <upstream><caller>, two different letters of c r m g"
    TARGETS+=("tr-$x")
    LABEL[tr-$x]="bitrouter ${PROTO[${x:1:1}]}←${PROTO[${x:0:1}]}"
done
if [[ $AUTH == 1 ]]; then
    TARGETS+=(auth)
    LABEL[auth]="bitrouter, auth on"
fi
if [[ -n $BASELINE_BIN ]]; then
    [[ -x $BASELINE_BIN ]] || die "BASELINE_BIN: '$BASELINE_BIN' is not an executable"
    TARGETS+=(baseline)
    LABEL[baseline]="baseline bitrouter ($(basename "$BASELINE_BIN"))"
fi
if [[ $GUARDRAILS == 1 ]]; then
    TARGETS+=(guard)
    LABEL[guard]="bitrouter, rules on"
fi

# --- build ---------------------------------------------------------------------------------
if [[ $SKIP_BUILD != 1 ]]; then
    log "building release binaries (cargo build --release --locked -p cli -p testkit -p benches --bins)"
    (cd "$ROOT" && cargo build --release --locked -p cli -p testkit -p benches --bins)
fi
for b in bitrouter mock-upstream bare-proxy; do
    [[ -x $BIN/$b ]] || die "$BIN/$b is missing (run without SKIP_BUILD=1)"
done

mkdir -p "$OUT/home" "$OUT/oha"
log "results in $OUT"
# Other work on the machine skews everything; the report shows the load average around the run.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# --- processes -----------------------------------------------------------------------------
start mock-upstream "$OUT/mock.log" "$BIN/mock-upstream" --listen 127.0.0.1:0 --no-record
MOCK_PID=$START_PID MOCK=$START_ADDR

start bare-proxy "$OUT/bare.log" "$BIN/bare-proxy" --upstream "http://$MOCK" --listen 127.0.0.1:0
BARE_PID=$START_PID BARE=$START_ADDR

# Passthrough to the mock. `mockdrip` is the same upstream with the mock's drip fault sent on
# every request (provider `headers`), so streams through it stay open for the memory test.
# The mock chooses its protocol by path, so `mockresp`, `mockmsg` and `mockgem` are the same mock
# speaking Responses, Messages and Gemini: a caller of another protocol gets translated.
CONFIG=$OUT/home/bitrouter.yaml
cat >"$CONFIG" <<EOF
inherit_defaults: false
server: { skip_auth: true, limits: { max_in_flight: 4096 } }
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
    { cat "$OUT/validate.log" >&2; die "the benchmark's bitrouter config does not validate"; }

start bitrouter "$OUT/bitrouter.log" "$BIN/bitrouter" --home-dir "$OUT/home" serve -c "$CONFIG" --listen 127.0.0.1:0
ROUTER_PID=$START_PID ROUTER=$START_ADDR

declare -A URL=([direct]="http://$MOCK" [bare]="http://$BARE" [bitrouter]="http://$ROUTER")
declare -A PID=([direct]="" [bare]=$BARE_PID [bitrouter]=$ROUTER_PID)
# Another build of bitrouter (an earlier commit) with the same passthrough config, so a change
# is measured against what came before it in the same run.
if [[ -n $BASELINE_BIN ]]; then
    mkdir -p "$OUT/home-baseline"
    cp "$CONFIG" "$OUT/home-baseline/bitrouter.yaml"
    start bitrouter-baseline "$OUT/bitrouter-baseline.log" "$BASELINE_BIN" --home-dir "$OUT/home-baseline" \
        serve -c "$OUT/home-baseline/bitrouter.yaml" --listen 127.0.0.1:0
    URL[baseline]="http://$START_ADDR" PID[baseline]=$START_PID
fi
# The same router with authentication on: its own home, an account, a minted key.
if [[ $AUTH == 1 ]]; then
    mkdir -p "$OUT/home-auth"
    sed 's/skip_auth: true/skip_auth: false/' "$CONFIG" >"$OUT/home-auth/bitrouter.yaml"
    AUTH_KEY=$(mint_key "$BIN/bitrouter" "$OUT/home-auth" "$OUT/auth-setup.log")
    start bitrouter-auth "$OUT/bitrouter-auth.log" "$BIN/bitrouter" --home-dir "$OUT/home-auth" serve \
        -c "$OUT/home-auth/bitrouter.yaml" --listen 127.0.0.1:0
    URL[auth]="http://$START_ADDR" PID[auth]=$START_PID
fi
# The same router with a typical guardrail rule set (the one of benches/benches/guardrails.rs):
# every request and every answer (whole or streamed, through a screening translator) is checked.
if [[ $GUARDRAILS == 1 ]]; then
    mkdir -p "$OUT/home-guard"
    {
        cat "$CONFIG"
        cat <<'EOF'
plugins:
  bitrouter-guardrails:
    rules:
      - { name: email, detector: email, on: both, action: redact }
      - { name: phone, detector: phone, on: both, action: redact }
      - { name: credit_card, detector: credit_card, on: both, action: redact }
      - { name: iban, detector: iban, on: both, action: redact }
      - { name: us_ssn, detector: us_ssn, on: both, action: redact }
      - { name: ip_address, detector: ip_address, on: both, action: redact }
      - { name: secrets, detector: secrets, on: both, action: redact }
      - { name: codeword, pattern: '\bbluebird-omega\b', on: both, action: block }
      - { name: internal_id, pattern: 'ACME-[0-9]{6}', on: both, action: redact }
      - { name: confidential, pattern: '(?i)\bconfidential\b', on: both, action: log }
EOF
    } >"$OUT/home-guard/bitrouter.yaml"
    "$BIN/bitrouter" --home-dir "$OUT/home-guard" config validate -c "$OUT/home-guard/bitrouter.yaml" \
        >"$OUT/validate-guard.log" 2>&1 ||
        { cat "$OUT/validate-guard.log" >&2; die "the guardrails config does not validate"; }
    start bitrouter-guard "$OUT/bitrouter-guard.log" "$BIN/bitrouter" --home-dir "$OUT/home-guard" serve \
        -c "$OUT/home-guard/bitrouter.yaml" --listen 127.0.0.1:0
    URL[guard]="http://$START_ADDR" PID[guard]=$START_PID
fi
for t in "${TARGETS[@]}"; do
    if [[ $t == tr-* ]]; then
        URL[$t]="http://$ROUTER" PID[$t]=$ROUTER_PID
    fi
done
log "mock http://$MOCK (pid $MOCK_PID), bare-proxy http://$BARE (pid $BARE_PID), bitrouter http://$ROUTER (pid $ROUTER_PID)"

BODY_NONSTREAM='{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}]}'
BODY_STREAM='{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}],"stream":true}'

# request TARGET MODE : the request a target gets, in its caller's protocol. Sets REQ_PATH,
# REQ_BODY, REQ_HDRS (extra headers, as oha/curl arguments) and REQ_DONE (a string the answer
# must contain: the end of a stream, the text of a whole answer).
request() {
    local t=$1 m=$2 caller=c model=gpt-4.1 stream=
    if [[ $t == tr-* ]]; then
        model=${MODEL_OF[${t:3:1}]} caller=${t:4:1}
    fi
    [[ $m == stream ]] && stream=',"stream":true'
    REQ_HDRS=() REQ_DONE='"Hello!"'
    [[ $t != auth ]] || REQ_HDRS=(-H "authorization: Bearer $AUTH_KEY")
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
            REQ_HDRS=(-H 'anthropic-version: 2023-06-01')
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

# One request through each target must answer 200, and completely, before anything is measured.
for t in "${TARGETS[@]}"; do
    for m in nonstream stream; do
        request "$t" "$m"
        code=$(curl -sS -o "$OUT/check-$t-$m.txt" -w '%{http_code}' -H 'content-type: application/json' \
            ${REQ_HDRS[@]+"${REQ_HDRS[@]}"} -d "$REQ_BODY" "${URL[$t]}$REQ_PATH") || code=000
        [[ $code == 200 ]] || { cat "$OUT/check-$t-$m.txt" >&2; die "${LABEL[$t]} $m answered $code"; }
        grep -qF -- "$REQ_DONE" "$OUT/check-$t-$m.txt" ||
            { cat "$OUT/check-$t-$m.txt" >&2; die "${LABEL[$t]} $m: the answer lacks '$REQ_DONE'"; }
    done
done

# --- memory at idle --------------------------------------------------------------------------
# Right after start plus the six check requests above, before any load.
sleep 1
declare -A IDLE STREAM_PEAK STREAM_FDS STREAM_OK AFTER
for t in bare bitrouter; do
    IDLE[$t]=$(kib "${PID[$t]}" VmRSS)
done

# --- throughput and latency ------------------------------------------------------------------
RESULTS=$OUT/results.tsv
: >"$RESULTS"
log "warm-up: 1 s per target and mode at concurrency 64"
for m in $MODES; do
    for t in "${TARGETS[@]}"; do
        request "$t" "$m"
        oha_run "${URL[$t]}$REQ_PATH" "$REQ_BODY" 64 1s "$OUT/oha/warmup-$t-$m.json" -w \
            ${REQ_HDRS[@]+"${REQ_HDRS[@]}"}
    done
done

cells=0
for m in $MODES; do for c in $CONCURRENCY; do cells=$((cells + 1)); done; done
log "measuring: $cells cells x ${#TARGETS[@]} targets x $REPEAT runs of $DURATION (targets interleaved, order rotated)"
for m in $MODES; do
    for c in $CONCURRENCY; do
        for ((r = 0; r < REPEAT; r++)); do
            for ((k = 0; k < ${#TARGETS[@]}; k++)); do
                t=${TARGETS[$(((k + r) % ${#TARGETS[@]}))]}
                json=$OUT/oha/$t-$m-c$c-r$r.json
                pid=${PID[$t]}
                [[ -z $pid ]] || reset_peak "$pid"
                request "$t" "$m"
                oha_run "${URL[$t]}$REQ_PATH" "$REQ_BODY" "$c" "$DURATION" "$json" -w \
                    ${REQ_HDRS[@]+"${REQ_HDRS[@]}"}
                hwm=-
                [[ -z $pid ]] || hwm=$(kib "$pid" VmHWM)
                # req/s counts 200 responses only; p50/p99 are over all responses.
                jq -r --arg t "$t" --arg m "$m" --arg c "$c" --arg r "$r" --arg hwm "$hwm" '
                    (.statusCodeDistribution["200"] // 0) as $ok
                    | ([.statusCodeDistribution[]] | add // 0) as $resp
                    | ([.errorDistribution[]] | add // 0) as $err
                    | [$t, $m, $c, $r, ($ok / .summary.total),
                       .latencyPercentiles.p50 * 1e6, .latencyPercentiles.p99 * 1e6,
                       (if ($resp + $err) > 0 then $ok / ($resp + $err) else 0 end), $hwm]
                    | @tsv' "$json" >>"$RESULTS"
                log "  $(tail -n1 "$RESULTS" | awk -F'\t' '{ printf "%-9s %-9s c=%-3s run %d: %8.0f req/s  p50 %7.0f us  p99 %7.0f us  ok %.4f", $1, $2, $3, $4 + 1, $5, $6, $7, $8 }')"
            done
        done
    done
done

# --- memory with STREAMS concurrent streams (after the load above) --------------------------
# The peak (VmHWM) is restarted at the current RSS first, so it is this phase's own peak.
if ((STREAMS > 0)); then
    for t in bare bitrouter; do
        pid=${PID[$t]}
        if [[ $t == bare ]]; then
            # The bare proxy forwards request headers as they are: the fault header goes from oha.
            body=$BODY_STREAM extra=(-H "x-mock-fault: drip=$DRIP_MS")
        else
            body=${BODY_STREAM/gpt-4.1/drip-4.1} extra=()
        fi
        log "memory: $STREAMS concurrent streams through $t for $STREAMS_DURATION"
        reset_peak "$pid"
        oha_run "${URL[$t]}/v1/chat/completions" "$body" "$STREAMS" "$STREAMS_DURATION" \
            "$OUT/oha/streams-$t.json" ${extra[@]+"${extra[@]}"} &
        oha_pid=$!
        PIDS+=("$oha_pid")
        # Mid-run: open descriptors of the proxy (≈ one inbound + one upstream per stream).
        sleep "$(awk -v d="${STREAMS_DURATION%s}" 'BEGIN { print d * 0.7 }')"
        STREAM_FDS[$t]=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        wait "$oha_pid"
        STREAM_PEAK[$t]=$(kib "$pid" VmHWM)
        STREAM_OK[$t]=$(jq -r '.statusCodeDistribution["200"] // 0' "$OUT/oha/streams-$t.json")
        sleep 2
        AFTER[$t]=$(kib "$pid" VmRSS)
    done
fi

# --- report --------------------------------------------------------------------------------
# Medians per cell (peak RSS: the maximum over the runs), then ratios to the bare proxy.
SUMMARY=$OUT/summary.tsv
sort -t$'\t' -k1,1 -k2,2 -k3,3n "$RESULTS" | awk -F'\t' -v OFS='\t' '
    function median(s,    a, n, i, j, x) {
        n = split(s, a, " ")
        for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    { key = $1 OFS $2 OFS $3
      if (!(key in rps)) order[++n] = key
      rps[key] = rps[key] " " $5; p50[key] = p50[key] " " $6; p99[key] = p99[key] " " $7
      if (!(key in ok) || $8 + 0 < ok[key] + 0) ok[key] = $8
      if ($9 != "-" && $9 + 0 > hwm[key] + 0) hwm[key] = $9
      runs[key]++ }
    END { for (i = 1; i <= n; i++) { k = order[i]
          print k, median(rps[k]), median(p50[k]), median(p99[k]), ok[k], (k in hwm ? hwm[k] : "-"), runs[k] } }' >"$SUMMARY"

{
    printf '\n## Load: passthrough and translated, to the mock upstream (oha, HTTP/1.1 keep-alive, %s x %s per cell, median)\n\n' "$REPEAT" "$DURATION"
    printf '| target | mode | conc | req/s | p50 | p99 | ok | req/s ÷ bare | Δp50 vs bare | peak RSS |\n'
    printf '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
    for m in $MODES; do
        for c in $CONCURRENCY; do
            for t in "${TARGETS[@]}"; do
                awk -F'\t' -v t="$t" -v label="${LABEL[$t]}" -v m="$m" -v c="$c" '
                    $1 == "bare" && $2 == m && $3 == c { brps = $4; bp50 = $5 }
                    $1 == t && $2 == m && $3 == c { row = $0 }
                    END { split(row, f, "\t")
                          rss = f[8] == "-" ? "—" : sprintf("%.1f MiB", f[8] / 1024)
                          ratio = brps > 0 ? sprintf("%.2f×", f[4] / brps) : "—"
                          d = sprintf("%+.0f µs", f[5] - bp50)
                          if (t == "bare") { ratio = "1.00×"; d = "—" }
                          printf "| %s | %s | %s | %.0f | %.0f µs | %.0f µs | %.2f%% | %s | %s | %s |\n",
                              label, m, c, f[4], f[5], f[6], f[7] * 100, ratio, d, rss }' "$SUMMARY"
            done
        done
    done
    printf '\nMemory (RSS of the process, from /proc/PID/status):\n\n'
    printf '| process | idle after start | peak, %s concurrent streams | open fds mid-run | 200 responses in the phase | 2 s after |\n' "$STREAMS"
    printf '|---|---:|---:|---:|---:|---:|\n'
    for t in bare bitrouter; do
        if ((STREAMS > 0)); then
            printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "$(mib "${IDLE[$t]}")" "$(mib "${STREAM_PEAK[$t]}")" \
                "${STREAM_FDS[$t]}" "${STREAM_OK[$t]}" "$(mib "${AFTER[$t]}")"
        else
            printf '| %s | %s | — | — | — | — |\n' "$t" "$(mib "${IDLE[$t]}")"
        fi
    done

    printf '\nTargets (bitrouter against the bare proxy of this run):\n\n'
    awk -F'\t' '
        $1 == "bare" { b[$2 FS $3] = $4; bp[$2 FS $3] = $5 }
        $1 == "bitrouter" { r[$2 FS $3] = $4; rp[$2 FS $3] = $5; order[++n] = $2 FS $3 }
        END { worst = 1e9
              for (i = 1; i <= n; i++) { k = order[i]; x = r[k] / b[k]; if (x < worst) { worst = x; wk = k } }
              split(wk, w, FS)
              printf "- req/s >= 0.9x bare in every cell: %s (lowest %.2fx, %s c=%s)\n", (worst >= 0.9 ? "met" : "MISSED"), worst, w[1], w[2]
              for (i = 1; i <= n; i++) { k = order[i]; split(k, f, FS)
                  if (f[2] == 1) printf "- p50 <= bare + 50 us at concurrency 1, %s: %s (%+.0f us)\n", f[1], (rp[k] - bp[k] <= 50 ? "met" : "MISSED"), rp[k] - bp[k] } }' "$SUMMARY"
    # Translated routes: req/s against the bare proxy's passthrough of the same mode and
    # concurrency (the bare proxy relays Chat Completions: a smaller answer than some protocols').
    for t in "${TARGETS[@]}"; do
        [[ $t == tr-* ]] || continue
        awk -F'\t' -v t="$t" -v label="${LABEL[$t]}" '
            $1 == "bare" { b[$2 FS $3] = $4 }
            $1 == "bitrouter" { p[$2 FS $3] = $4 }
            $1 == t { r[$2 FS $3] = $4; order[++n] = $2 FS $3 }
            END { worst = 1e9; line = ""
                  for (i = 1; i <= n; i++) { k = order[i]; split(k, f, FS)
                      x = b[k] > 0 ? r[k] / b[k] : 0
                      line = line sprintf(" %s c=%s %.2fx (%.2fx of passthrough bitrouter);", f[1], f[2], x, p[k] > 0 ? r[k] / p[k] : 0)
                      if (f[1] == "stream" && x < worst) { worst = x; wc = f[2] } }
                  if (worst < 1e9)
                      printf "- %s streaming req/s >= 0.7x bare in every cell: %s (lowest %.2fx, c=%s)\n", label, (worst >= 0.7 ? "met" : "MISSED"), worst, wc
                  printf "  req/s ÷ bare:%s\n", substr(line, 1, length(line) - 1) }' "$SUMMARY"
    done
    if [[ $AUTH == 1 ]]; then
        awk -F'\t' '
            $1 == "bitrouter" { p[$2 FS $3] = $4 }
            $1 == "auth" { r[$2 FS $3] = $4; order[++n] = $2 FS $3 }
            END { worst = 1e9; line = ""
                  for (i = 1; i <= n; i++) { k = order[i]; split(k, f, FS)
                      x = p[k] > 0 ? r[k] / p[k] : 0
                      line = line sprintf(" %s c=%s %.2fx;", f[1], f[2], x)
                      if (x < worst) { worst = x; wk = k } }
                  split(wk, w, FS)
                  printf "- auth on req/s >= 0.97x auth off in every cell: %s (lowest %.2fx, %s c=%s)\n", (worst >= 0.97 ? "met" : "MISSED"), worst, w[1], w[2]
                  printf "  auth on ÷ auth off:%s\n", substr(line, 1, length(line) - 1) }' "$SUMMARY"
    fi
    if [[ -n $BASELINE_BIN ]]; then
        # This build against the baseline build of the same cell: req/s ratio, p50/p99.
        awk -F'\t' '
            $1 == "bitrouter" { p[$2 FS $3] = $4; p50[$2 FS $3] = $5; p99[$2 FS $3] = $6; order[++n] = $2 FS $3 }
            $1 == "baseline" { r[$2 FS $3] = $4; r50[$2 FS $3] = $5; r99[$2 FS $3] = $6 }
            END { for (i = 1; i <= n; i++) { k = order[i]; split(k, f, FS)
                      x = r[k] > 0 ? p[k] / r[k] : 0
                      printf("- this build ÷ baseline, %s c=%s: req/s %.2fx, p50 %.0f → %.0f µs (%+.0f), p99 %.0f → %.0f µs (%+.0f)\n",
                          f[1], f[2], x, r50[k], p50[k], p50[k] - r50[k], r99[k], p99[k], p99[k] - r99[k]) } }' "$SUMMARY"
    fi
    if [[ $GUARDRAILS == 1 ]]; then
        # Rules on against the plain passthrough router of the same cell: req/s ratio, p50/p99.
        awk -F'\t' '
            $1 == "bitrouter" { p[$2 FS $3] = $4; p50[$2 FS $3] = $5; p99[$2 FS $3] = $6 }
            $1 == "guard" { r[$2 FS $3] = $4; r50[$2 FS $3] = $5; r99[$2 FS $3] = $6; order[++n] = $2 FS $3 }
            END { for (i = 1; i <= n; i++) { k = order[i]; split(k, f, FS)
                      x = p[k] > 0 ? r[k] / p[k] : 0
                      printf("- rules on ÷ rules off, %s c=%s: req/s %.2fx, p50 %.0f → %.0f µs (%+.0f), p99 %.0f → %.0f µs (%+.0f)\n",
                          f[1], f[2], x, p50[k], r50[k], r50[k] - p50[k], p99[k], r99[k], r99[k] - p99[k]) } }' "$SUMMARY"
    fi
    awk -v k="${IDLE[bitrouter]}" 'BEGIN { printf "- idle RSS <= 16 MiB: %s (%.1f MiB)\n", (k <= 16 * 1024 ? "met" : "MISSED"), k / 1024 }'
    if ((STREAMS > 0)); then
        awk -v k="${STREAM_PEAK[bitrouter]}" -v s="$STREAMS" 'BEGIN { printf "- RSS <= 64 MiB with %d concurrent streams: %s (%.1f MiB peak)\n", s, (k <= 64 * 1024 ? "met" : "MISSED"), k / 1024 }'
    fi
    printf '\nLoad average (1/5/15 min) before: %s, after: %s (%s cores).\n' "$LOAD_BEFORE" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" "$(nproc)"
    printf 'Raw oha JSON, per-run TSV and process logs: %s\n' "$OUT"
} | tee "$OUT/report.md"
