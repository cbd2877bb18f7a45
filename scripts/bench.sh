#!/usr/bin/env bash
# Load benchmark of bench-server in every mode: this workspace's sessions, actix-session, and
# no sessions at all. Writes the table into BENCHMARKS.md (between its markers) and prints it.
#
#   scripts/bench.sh
#
# Environment (all optional):
#   ROUNDS=8            rounds; each round loads every mode once per workload
#   SLICE_SECS=1        seconds of load per slice (one mode, one workload)
#   CONNECTIONS=16      wrk connections (wrk runs one thread: the server has one worker)
#   MODES="..."         modes to run (bare is always added: ratios need it); the axum-* modes
#                       and their tower-sessions peers (tower-memory, tower-redis) are
#                       accepted but not in the default set
#   WORKLOADS="counter read plain"
#   BENCH_OUT=BENCHMARKS.md   file whose marked section is replaced ("-" to only print)
#   CARGO_TARGET_DIR    honoured when locating the built binary
#
# Method (see BENCHMARKS.md): every server runs at once, each its own process and port; the
# load goes to one server at a time in short slices, modes in a different order each round
# with a bare slice between every two, and the report gives medians of per-round ratios (mode /
# the bare slices beside it, ours / actix-session each so normalised), because this machine's
# loopback throughput changes between two speeds every few seconds.
# Everything is bounded in time and every process started here is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

ROUNDS=${ROUNDS:-8}
SLICE_SECS=${SLICE_SECS:-1}
CONNECTIONS=${CONNECTIONS:-16}
ALL_MODES="bare cookie-signed cookie-encrypted memory fs fs-fsync redis actix-cookie-signed actix-cookie-private actix-redis"
# Accepted in MODES, not run by default: ours on axum and tower-sessions' (their ratios are
# against actix-web's bare; scripts/callgrind.sh compares them with axum-bare). The report sets
# axum-memory against tower-memory and axum-redis against tower-redis when both ran.
AXUM_MODES="axum-bare axum-cookie-signed axum-cookie-encrypted axum-cookie-encrypted-outer axum-memory axum-redis tower-memory tower-redis"
MODES=${MODES:-$ALL_MODES}
WORKLOADS=${WORKLOADS:-counter read plain}
BENCH_OUT=${BENCH_OUT:-BENCHMARKS.md}

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# bare first, once, whatever MODES says.
read -r -a modes <<<"bare $(sed -E 's/(^| )bare( |$)/ /g' <<<"$MODES")"
read -r -a workloads <<<"$WORKLOADS"
for mode in "${modes[@]}"; do
    [[ " $ALL_MODES $AXUM_MODES " == *" $mode "* ]] ||
        die "unknown mode $mode (modes: $ALL_MODES $AXUM_MODES)"
done
for workload in "${workloads[@]}"; do
    [[ " counter read plain " == *" $workload "* ]] || die "unknown workload $workload"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $SLICE_SECS =~ ^[1-9][0-9]*$ && $CONNECTIONS =~ ^[1-9][0-9]*$ ]] ||
    die "ROUNDS, SLICE_SECS and CONNECTIONS must be positive integers"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")
PIDS=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        ((alive)) || break
        sleep 0.2
    done
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    if ((status != 0)); then
        log "failed; server logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools -------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    log "installing wrk"
    if [[ $(id -u) == 0 ]]; then
        apt-get update -qq && apt-get install -y -qq wrk >/dev/null
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null
    fi
fi
for tool in wrk curl python3 redis-server cargo; do
    command -v "$tool" >/dev/null || die "$tool is required"
done

log "building bench-server (release)"
cargo build --release --quiet -p bench-server
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/bench-server"
[[ -x $BIN ]] || die "no binary at $BIN"

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# CPU time of a process in clock ticks (utime + stime, all threads): fields 14 and 15 of
# /proc/PID/stat, counted after the command name's closing parenthesis.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# --- a private Redis -----------------------------------------------------------------------
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" --daemonize no --logfile "$WORK/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 50); do
    [[ $(timeout 1 redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] && break
    sleep 0.1
done
[[ $(timeout 1 redis-cli -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]] || die "redis-server did not start"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
log "private redis-server on port $REDIS_PORT (pid $REDIS_PID)"

# --- the servers -------------------------------------------------------------------------
SESSION_SIGNING_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
SESSION_ENCRYPTION_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export SESSION_SIGNING_KEY SESSION_ENCRYPTION_KEY
export RUST_LOG=${RUST_LOG:-warn}

declare -A PID ADDR COOKIE
for mode in "${modes[@]}"; do
    mkdir -p "$WORK/sessions-$mode"
    BIND_ADDR=127.0.0.1:0 SESSIONS_DIR="$WORK/sessions-$mode" \
        "$BIN" --mode "$mode" >"$WORK/$mode.out" 2>"$WORK/$mode.err" &
    PID[$mode]=$!
    PIDS+=("$!")
done
for mode in "${modes[@]}"; do
    for _ in $(seq 100); do
        grep -q '^Listening on ' "$WORK/$mode.out" 2>/dev/null && break
        kill -0 "${PID[$mode]}" 2>/dev/null || die "$mode exited: $(cat "$WORK/$mode.err")"
        sleep 0.1
    done
    ADDR[$mode]=$(sed -n 's|^Listening on http://\([^/]*\)/$|\1|p' "$WORK/$mode.out")
    [[ -n ${ADDR[$mode]} ]] || die "$mode did not start: $(cat "$WORK/$mode.err")"
done

# One GET /counter per mode creates its session; its Set-Cookie is the cookie every later
# request of that mode carries. bare has no session: it gets another mode's cookie, so its
# requests are the same size.
for mode in "${modes[@]}"; do
    [[ $mode == bare || $mode == axum-bare ]] && continue
    COOKIE[$mode]=$(curl -sS --max-time 5 -o /dev/null -D - "http://${ADDR[$mode]}/counter" |
        tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | head -n1)
    [[ -n ${COOKIE[$mode]} ]] || die "$mode sent no session cookie"
done
if [[ -n ${COOKIE[cookie-encrypted]:-} ]]; then
    COOKIE[bare]=${COOKIE[cookie-encrypted]}
elif [[ -n ${COOKIE[axum-cookie-encrypted]:-} ]]; then
    COOKIE[bare]=${COOKIE[axum-cookie-encrypted]}
else
    COOKIE[bare]="session=$(python3 -c 'print("x" * 150)')"
fi
if [[ -n ${PID[axum-bare]:-} ]]; then
    COOKIE[axum-bare]=${COOKIE[axum-cookie-encrypted]:-${COOKIE[bare]}}
fi
for mode in "${modes[@]}"; do
    log "$mode on ${ADDR[$mode]} (pid ${PID[$mode]}), cookie of ${#COOKIE[$mode]} bytes"
done

# wrk reports through this script: one parseable line, latencies in microseconds.
cat >"$WORK/report.lua" <<'LUA'
done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d socket_errors=%d status_errors=%d\n",
        summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
        e.connect + e.read + e.write + e.timeout, e.status))
end
LUA

# One slice: SLICE_SECS of load on one mode and workload; prints a TSV row.
slice() {
    local round=$1 position=$2 workload=$3 mode=$4
    local pid=${PID[$mode]} before redis_before output after redis_after
    before=$(cpu_ticks "$pid")
    redis_before=$(cpu_ticks "$REDIS_PID")
    output=$(timeout $((SLICE_SECS + 15)) wrk -t1 -c"$CONNECTIONS" -d"${SLICE_SECS}s" --timeout 5s \
        -H "Cookie: ${COOKIE[$mode]}" -s "$WORK/report.lua" "http://${ADDR[$mode]}/$workload") ||
        die "wrk failed on $mode /$workload"
    after=$(cpu_ticks "$pid")
    redis_after=$(cpu_ticks "$REDIS_PID")
    local re='^RESULT requests=([0-9]+) duration_us=([0-9]+) p50_us=([0-9]+) p99_us=([0-9]+) socket_errors=([0-9]+) status_errors=([0-9]+)$'
    local line
    line=$(grep '^RESULT ' <<<"$output") || die "no result from wrk on $mode /$workload"
    [[ $line =~ $re ]] || die "unexpected wrk result: $line"
    local m=("${BASH_REMATCH[@]:1}")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$position" "$workload" \
        "$mode" "${m[0]}" "${m[1]}" "${m[2]}" "${m[3]}" "${m[4]}" "${m[5]}" \
        "$((after - before))" "$((redis_after - redis_before))"
}

RESULTS="$WORK/results.tsv"
printf 'round\tposition\tworkload\tmode\trequests\tduration_us\tp50_us\tp99_us\tsocket_errors\tstatus_errors\tcpu_ticks\tredis_cpu_ticks\n' >"$RESULTS"

others=("${modes[@]:1}")
count=${#others[@]}
# The 1-minute load average after each round and workload: this benchmark alone keeps it near
# 2 (wrk and one server); more means other work shared the machine.
LOADS=()
slices=$((ROUNDS * ${#workloads[@]} * (2 * count + 1)))
log "warm-up: 1 s of /counter per mode"
for mode in "${modes[@]}"; do
    timeout 20 wrk -t1 -c"$CONNECTIONS" -d1s -H "Cookie: ${COOKIE[$mode]}" \
        "http://${ADDR[$mode]}/counter" >/dev/null || die "warm-up failed on $mode"
done
log "$slices slices of ${SLICE_SECS} s: about $(((slices * (SLICE_SECS * 10 + 2) / 10 + 59) / 60)) minutes"

for ((round = 1; round <= ROUNDS; round++)); do
    for ((w = 0; w < ${#workloads[@]}; w++)); do
        workload=${workloads[$w]}
        # The other modes in a different rotation for every round and workload, backwards in
        # odd rounds so each mode's neighbours change too; bare before, between and after them,
        # so every slice has a bare slice on each side, a second or two away.
        order=()
        if ((count > 0)); then
            shift_by=$(((round * 3 + w * 7) % count))
            for ((i = 0; i < count; i++)); do order+=("${others[$(((i + shift_by) % count))]}"); done
            if ((round % 2)); then
                reversed=()
                for ((i = count - 1; i >= 0; i--)); do reversed+=("${order[$i]}"); done
                order=("${reversed[@]}")
            fi
        fi
        position=0
        slice "$round" "$position" "$workload" bare >>"$RESULTS"
        for mode in "${order[@]}"; do
            slice "$round" $((position + 1)) "$workload" "$mode" >>"$RESULTS"
            slice "$round" $((position + 2)) "$workload" bare >>"$RESULTS"
            position=$((position + 2))
        done
        read -r load _ </proc/loadavg
        LOADS+=("$load")
        log "round $round/$ROUNDS /$workload done (load average $load)"
    done
done

RSS="$WORK/rss.tsv"
for mode in "${modes[@]}"; do
    kill -0 "${PID[$mode]}" 2>/dev/null || die "$mode died during the run: $(tail -5 "$WORK/$mode.err")"
    printf '%s\t%s\n' "$mode" "$(peak_rss_kib "${PID[$mode]}")" >>"$RSS"
done
printf 'redis-server\t%s\n' "$(peak_rss_kib "$REDIS_PID")" >>"$RSS"

mkdir -p "$ROOT/target/bench"
cp "$RESULTS" "$RSS" "$ROOT/target/bench/"
log "raw results in target/bench/results.tsv and target/bench/rss.tsv"

python3 "$ROOT/scripts/bench_report.py" --results "$RESULTS" --rss "$RSS" \
    --rounds "$ROUNDS" --slice-secs "$SLICE_SECS" --connections "$CONNECTIONS" \
    --load-averages "${LOADS[*]}" \
    --out "$BENCH_OUT"
