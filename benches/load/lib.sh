# Shared pieces of the load scripts (run.sh, peers.sh): sourced, never run. Defines log/die,
# the tool check, the child-process bookkeeping (every exit path kills what was started),
# starting a process and waiting until it answers, /proc readers, oha, the median, and the
# bitrouter caller key.
# shellcheck shell=bash

log() { printf '%s\n' "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# need_tools : oha and jq, or a hint per missing tool and exit 2.
need_tools() {
    local missing=0
    if ! command -v oha >/dev/null 2>&1; then
        log "oha is not installed. Install it with:  cargo install oha --locked"
        missing=1
    fi
    if ! command -v jq >/dev/null 2>&1; then
        log "jq is not installed. Install it with your package manager (e.g. apt-get install jq)."
        missing=1
    fi
    [[ $missing == 0 ]] || exit 2
}

# --- child processes: every exit path kills them -----------------------------------------
PIDS=()
cleanup() {
    local pid
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# start NAME LOGFILE CMD... : runs CMD in the background, waits for its "listening on
# http://ADDR" line, and sets START_PID and START_ADDR.
start() {
    local name=$1 logfile=$2
    shift 2
    "$@" >"$logfile" 2>&1 &
    START_PID=$!
    PIDS+=("$START_PID")
    local i
    for ((i = 0; i < 300; i++)); do
        START_ADDR=$(grep -o 'listening on http://[0-9.:]*' "$logfile" 2>/dev/null | head -n1 |
            sed 's|listening on http://||' || true)
        [[ -n $START_ADDR ]] && return 0
        kill -0 "$START_PID" 2>/dev/null || {
            cat "$logfile" >&2
            die "$name exited before listening"
        }
        sleep 0.1
    done
    cat "$logfile" >&2
    die "$name did not print 'listening on http://ADDR' within 30 s"
}

# start_polled NAME LOGFILE URL CMD... : like `start`, for a process that prints no address:
# waits (30 s at most) until URL answers anything over HTTP. Sets START_PID.
start_polled() {
    local name=$1 logfile=$2 url=$3
    shift 3
    "$@" >"$logfile" 2>&1 &
    START_PID=$!
    PIDS+=("$START_PID")
    local i
    for ((i = 0; i < 300; i++)); do
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        kill -0 "$START_PID" 2>/dev/null || {
            cat "$logfile" >&2
            die "$name exited before listening"
        }
        sleep 0.1
    done
    cat "$logfile" >&2
    die "$name did not answer on $url within 30 s"
}

# free_port : a loopback TCP port nobody listens on now (for programs that take a fixed one).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# kib PID FIELD : VmRSS / VmHWM of PID in KiB.
kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# reset_peak PID : restart VmHWM at the current RSS (Linux clear_refs, value 5).
reset_peak() { echo 5 >"/proc/$1/clear_refs"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
# cpu_ticks PID : utime + stime of PID (all its threads) in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# oha_run URL BODY CONCURRENCY DURATION JSON [extra oha args...] (URL with its path)
oha_run() {
    local url=$1 body=$2 c=$3 dur=$4 json=$5
    shift 5
    oha --no-tui --output-format json -o "$json" -z "$dur" -c "$c" -m POST \
        -H 'content-type: application/json' -d "$body" "$@" "$url" >/dev/null
}

# AWK_MEDIAN: an awk function median("v1 v2 ...") to prepend to a program.
# shellcheck disable=SC2016
AWK_MEDIAN='
    function median(s,    a, n, i, j, x) {
        n = split(s, a, " ")
        if (n == 0) return ""
        for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }'

# mint_key BIN HOME LOG : create the account of a bitrouter home and print a caller key (1 day).
mint_key() {
    local bin=$1 home=$2 logfile=$3
    "$bin" --home-dir "$home" account --generate >"$logfile" 2>&1 ||
        {
            cat "$logfile" >&2
            die "could not create the benchmark's account"
        }
    "$bin" --home-dir "$home" keygen --exp 1d 2>>"$logfile" ||
        {
            cat "$logfile" >&2
            die "could not mint the benchmark's key"
        }
}
