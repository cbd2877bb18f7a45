#!/usr/bin/env bash
# Instructions per request of bench-server, counted by valgrind's callgrind: a figure that
# does not move with the machine's load, to compare modes and to find where the time goes
# (the kernel's share, system calls included, is not counted; see BENCHMARKS.md).
#
#   scripts/callgrind.sh MODE [WORKLOAD] [REQUESTS]
#   scripts/callgrind.sh cookie-encrypted counter 2000
#   callgrind_annotate --inclusive=yes target/callgrind/cookie-encrypted.counter.out.1
#
#   scripts/callgrind.sh --side-by-side [REQUESTS]
#   scripts/callgrind.sh --side-by-side 500
#
# MODE is a bench-server mode (actix-web, axum-* or tower-*), WORKLOAD counter (default), read
# or plain. Builds bench-server in release with line tables (target/callgrind), starts it under
# callgrind with instrumentation off, gets a session cookie (bare and axum-bare, which set none,
# are sent the cookie-encrypted and axum-cookie-encrypted mode's, so their requests are the same
# size; every other mode its own, from its first GET /counter), sends WARMUP warm-up requests
# (default 200) on one keep-alive connection, then counts REQUESTS more (default 2000). The
# Redis modes start a private redis-server on a free loopback port (REDIS_URL is honoured
# instead). Needs valgrind, curl, python3, redis-server for the Redis modes.
#
# --side-by-side runs, each the same way (default: 500 counted requests after WARMUP=100 of
# warm-up, the method of issue #14), for the workloads counter, read and plain: ours and the
# peer doing the same work, and both bares (bare for actix-web, axum-bare for axum):
#   actix-web: cookie-encrypted / actix-cookie-private, cookie-signed / actix-cookie-signed,
#              redis / actix-redis;
#   axum:      axum-memory / tower-memory, axum-redis / tower-redis, and axum-cookie-encrypted
#              and axum-cookie-signed against tower-memory (tower-sessions has no client-side
#              store; marked in the table);
# plus /plain of our other modes (memory, fs, fs-fsync). It prints a markdown table of the
# overhead (instructions per request minus the same framework's bare, same workload), ours
# against the peer's, and /plain of each of our modes as a percentage of bare. bench-server is
# built once and one private redis-server serves every Redis mode. Profiles, logs, the raw
# counts (counts.tsv) and the table (table.md) go to a directory of their own per invocation,
# target/callgrind/side-by-side-YYYYMMDD-HHMMSS-PID.
#
# Environment: CALLGRIND_TARGET_DIR (default target/callgrind) is cargo's target directory for
# this build and where the profiles go; WARMUP the warm-up requests (200; 100 side by side).
set -euo pipefail
cd "$(dirname "$0")/.."

USAGE="usage: scripts/callgrind.sh MODE [counter|read|plain] [REQUESTS]
       scripts/callgrind.sh --side-by-side [REQUESTS]"
TARGET_DIR=${CALLGRIND_TARGET_DIR:-target/callgrind}
BIN=$TARGET_DIR/release/bench-server

if [[ ${1:-} == --side-by-side ]]; then
    SIDE_BY_SIDE=1
    REQUESTS=${2:-500}
    WARMUP=${WARMUP:-100}
    OUT_DIR=$TARGET_DIR/side-by-side-$(date -u +%Y%m%d-%H%M%S)-$$
else
    SIDE_BY_SIDE=0
    MODE=${1:?$USAGE}
    WORKLOAD=${2:-counter}
    REQUESTS=${3:-2000}
    WARMUP=${WARMUP:-200}
    OUT_DIR=$TARGET_DIR
    [[ " counter read plain " == *" $WORKLOAD "* ]] || { echo "unknown workload $WORKLOAD" >&2; echo "$USAGE" >&2; exit 1; }
fi
[[ $REQUESTS =~ ^[1-9][0-9]*$ && $WARMUP =~ ^[0-9]+$ ]] ||
    { echo "REQUESTS must be a positive integer, WARMUP a whole number" >&2; exit 1; }
mkdir -p "$OUT_DIR"

for tool in valgrind callgrind_control callgrind_annotate curl python3; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

build() {
    CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
        cargo build --release -p bench-server --target-dir "$TARGET_DIR" --quiet
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

# Stops one process started here, waits for it (callgrind writes its last dump on exit) and
# forgets it, so the exit trap never signals a process ID that may have been reused.
stop() { # PID
    local pid kept=()
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    for pid in "${PIDS[@]}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
    PIDS=("${kept[@]}")
}

# A private redis-server on a free loopback port, unless REDIS_URL names one.
start_redis() {
    [[ -z ${REDIS_URL:-} ]] || return 0
    local port
    port=$(free_port)
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
    PIDS+=($!)
    export REDIS_URL="redis://127.0.0.1:$port"
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
}

export SESSION_SIGNING_KEY=${SESSION_SIGNING_KEY:-$(python3 -c 'import secrets; print(secrets.token_hex(64))')}
export SESSION_ENCRYPTION_KEY=${SESSION_ENCRYPTION_KEY:-$(python3 -c 'import secrets; print(secrets.token_hex(32))')}
export RUST_LOG=off

start() { # MODE PORT [callgrind OUT LOG]
    if [[ ${3:-} == callgrind ]]; then
        BIND_ADDR="127.0.0.1:$2" valgrind --tool=callgrind --callgrind-out-file="$4" \
            --instr-atstart=no "$BIN" --mode "$1" >/dev/null 2>"$5" &
    else
        BIND_ADDR="127.0.0.1:$2" "$BIN" --mode "$1" >/dev/null &
    fi
    PIDS+=($!)
    for _ in $(seq 300); do curl -s -o /dev/null "http://127.0.0.1:$2/plain" && return; sleep 0.1; done
    echo "bench-server --mode $1 did not start" >&2
    exit 1
}
cookie_of() { # PORT
    curl -s --max-time 10 -D - -o /dev/null "http://127.0.0.1:$1/counter" |
        sed -n 's/^[Ss]et-[Cc]ookie: \([^;]*\).*/\1/p' | tr -d '\r' | head -1
}

# The cookie a bare mode is sent: that of the same framework's encrypted-cookie mode (both have
# the same shape), from a server started for it, once per invocation and framework.
declare -A BARE_COOKIE
bare_cookie() { # BARE_MODE
    local mode=$1 other port pid
    other="${mode%bare}cookie-encrypted"
    if [[ -z ${BARE_COOKIE[$other]:-} ]]; then
        port=$(free_port)
        start "$other" "$port"
        pid=${PIDS[-1]}
        BARE_COOKIE[$other]=$(cookie_of "$port")
        stop "$pid"
        [[ -n ${BARE_COOKIE[$other]} ]] || { echo "$other sent no session cookie" >&2; exit 1; }
    fi
    COOKIE=${BARE_COOKIE[$other]}
}

load() { # PORT WORKLOAD REQUESTS
    python3 - "$1" "/$2" "$3" "$COOKIE" <<'EOF'
import http.client, sys
port, path, count, cookie = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
headers = {"Cookie": cookie} if cookie else {}
for _ in range(count):
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit(f"{path}: status {response.status}")
EOF
}

# One measurement: MODE under callgrind, WARMUP then REQUESTS requests of WORKLOAD counted.
# Sets PER_REQUEST (instructions per request) and OUT (the profile's base name). The server is
# stopped afterwards when KEEP_SERVER is not 1 (the single run leaves it to the exit trap).
measure() { # MODE WORKLOAD LOG
    local mode=$1 workload=$2 log=$3 port valgrind_pid total count file
    OUT="$OUT_DIR/$mode.$workload.out"
    rm -f "$OUT" "$OUT".*
    port=$(free_port)
    start "$mode" "$port" callgrind "$OUT" "$log"
    valgrind_pid=${PIDS[-1]}
    if [[ $mode == bare || $mode == axum-bare ]]; then
        bare_cookie "$mode"
    else
        COOKIE=$(cookie_of "$port")
    fi
    load "$port" "$workload" "$WARMUP"
    callgrind_control -i on "$valgrind_pid" >/dev/null 2>&1
    load "$port" "$workload" "$REQUESTS"
    callgrind_control -i off "$valgrind_pid" >/dev/null 2>&1
    callgrind_control -d "$valgrind_pid" >/dev/null 2>&1
    total=0
    for file in "$OUT".*; do
        count=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
        total=$((total + ${count:-0}))
    done
    PER_REQUEST=$((total / REQUESTS))
    [[ ${KEEP_SERVER:-0} == 1 ]] || stop "$valgrind_pid"
}

single() {
    build
    [[ $MODE != *redis* ]] || start_redis
    KEEP_SERVER=1 measure "$MODE" "$WORKLOAD" "$OUT_DIR/valgrind.log"
    echo "$MODE /$WORKLOAD: $PER_REQUEST instructions per request ($REQUESTS requests; profile in $OUT.*)"
}

# framework, ours, peer: the pairs of the side-by-side table.
PAIRS=(
    "actix-web cookie-encrypted actix-cookie-private"
    "actix-web cookie-signed actix-cookie-signed"
    "actix-web redis actix-redis"
    "axum axum-memory tower-memory"
    "axum axum-redis tower-redis"
    "axum axum-cookie-encrypted tower-memory"
    "axum axum-cookie-signed tower-memory"
)
# Our modes measured on /plain only (no peer doing the same work).
PLAIN_ONLY=(memory fs fs-fsync)

side_by_side() {
    local started=$SECONDS mode workload counts="$OUT_DIR/counts.tsv"
    local modes=(bare axum-bare)
    local pair words
    for pair in "${PAIRS[@]}"; do
        read -r -a words <<<"$pair"
        for mode in "${words[@]:1}"; do
            [[ " ${modes[*]} " == *" $mode "* ]] || modes+=("$mode")
        done
    done
    echo "side by side: ${#modes[@]} modes x counter read plain + /plain of ${PLAIN_ONLY[*]}," \
        "$REQUESTS requests after $WARMUP of warm-up; output in $OUT_DIR" >&2
    build
    [[ " ${modes[*]} " != *redis* ]] || start_redis
    printf 'mode\tworkload\tinstructions_per_request\n' >"$counts"
    for workload in counter read plain; do
        for mode in "${modes[@]}"; do
            measure "$mode" "$workload" "$OUT_DIR/$mode.$workload.valgrind.log"
            printf '%s\t%s\t%s\n' "$mode" "$workload" "$PER_REQUEST" >>"$counts"
            echo "  $mode /$workload: $PER_REQUEST instructions per request" >&2
        done
    done
    for mode in "${PLAIN_ONLY[@]}"; do
        measure "$mode" plain "$OUT_DIR/$mode.plain.valgrind.log"
        printf '%s\t%s\t%s\n' "$mode" plain "$PER_REQUEST" >>"$counts"
        echo "  $mode /plain: $PER_REQUEST instructions per request" >&2
    done
    local elapsed=$((SECONDS - started))
    python3 - "$counts" "$REQUESTS" "$WARMUP" "$elapsed" "${PAIRS[@]}" <<'EOF' | tee "$OUT_DIR/table.md"
import csv, sys
counts_file, requests, warmup, elapsed, pairs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
counts = {}
with open(counts_file) as handle:
    for row in csv.DictReader(handle, delimiter="\t"):
        counts[(row["mode"], row["workload"])] = int(row["instructions_per_request"])
bare = {"actix-web": "bare", "axum": "axum-bare"}
CLIENT_SIDE_ON_AXUM = {"axum-cookie-encrypted", "axum-cookie-signed"}

def overhead(framework, mode, workload):
    return counts[(mode, workload)] - counts[(bare[framework], workload)]

print(f"Instructions per request under callgrind, {requests} keep-alive requests after {warmup} "
      f"of warm-up; overhead = the mode's count minus the same framework's bare count for the "
      f"same workload.")
print()
print("| framework | workload | ours mode | ours overhead | peer mode | peer overhead | ours / peer |")
print("|---|---|---|--:|---|--:|--:|")
for workload in ("counter", "read", "plain"):
    for pair in pairs:
        framework, ours, peer = pair.split()
        mine, theirs = overhead(framework, ours, workload), overhead(framework, peer, workload)
        ratio = f"{mine / theirs:.2f}" if theirs > 0 else "—"
        label = f"{peer} *" if ours in CLIENT_SIDE_ON_AXUM else peer
        print(f"| {framework} | `/{workload}` | {ours} | {mine:,} | {label} | {theirs:,} | {ratio} |")
print()
print("\\* tower-sessions has no client-side store: our client-side cookie modes on axum are set "
      "against its server-side `MemoryStore` (the nearest it has), not against the same work.")
print()
print("| bare | `/counter` | `/read` | `/plain` |")
print("|---|--:|--:|--:|")
for framework, mode in bare.items():
    print(f"| {mode} ({framework}) | " + " | ".join(f"{counts[(mode, w)]:,}" for w in ("counter", "read", "plain")) + " |")
print()
print("`/plain` (session cookie sent, session untouched) against the same framework's bare:")
print()
ours_modes = []
for pair in pairs:
    framework, ours, _ = pair.split()
    if ours not in ours_modes:
        ours_modes.append(ours)
ours_modes += [m for (m, w) in counts if w == "plain" and m not in ours_modes
               and m not in ("bare", "axum-bare") and not m.startswith(("actix-", "tower-"))]
for mode in ours_modes:
    framework = "axum" if mode.startswith("axum-") else "actix-web"
    base = counts[(bare[framework], "plain")]
    extra = counts[(mode, "plain")] - base
    print(f"- `/plain` {mode}: {counts[(mode, 'plain')]:,} = {bare[framework]} + {extra:,} "
          f"({100 * extra / base:+.1f}% of bare)")
print()
print(f"_{len(counts)} runs in {int(elapsed) // 60} min {int(elapsed) % 60} s._")
EOF
}

if ((SIDE_BY_SIDE)); then
    side_by_side
else
    single
fi
