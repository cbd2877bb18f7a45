#!/usr/bin/env bash
# Instructions per request of bench-server, counted by valgrind's callgrind: a figure that
# does not move with the machine's load, to compare modes and to find where the time goes
# (the kernel's share, system calls included, is not counted; see BENCHMARKS.md).
#
#   scripts/callgrind.sh MODE [WORKLOAD] [REQUESTS]
#   scripts/callgrind.sh cookie-encrypted counter 2000
#   callgrind_annotate --inclusive=yes target/callgrind/cookie-encrypted.counter.out.1
#
# MODE is a bench-server mode (actix-web or axum-*), WORKLOAD counter (default), read or plain.
# Builds bench-server in release with line tables (target/callgrind), starts it under callgrind
# with instrumentation off, gets a session cookie (bare and axum-bare, which set none, are sent
# the cookie-encrypted and axum-cookie-encrypted mode's, so their requests are the same size),
# sends 200 warm-up requests on one keep-alive connection, then counts REQUESTS more (default
# 2000). The Redis modes start a private redis-server on a free
# loopback port (REDIS_URL is honoured instead). Needs valgrind, curl, python3, redis-server
# for the Redis modes.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:?usage: scripts/callgrind.sh MODE [counter|read|plain] [REQUESTS]}
WORKLOAD=${2:-counter}
REQUESTS=${3:-2000}
OUT_DIR=target/callgrind
mkdir -p "$OUT_DIR"
OUT="$OUT_DIR/$MODE.$WORKLOAD.out"
rm -f "$OUT" "$OUT".*

for tool in valgrind callgrind_control callgrind_annotate curl python3; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done

CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release -p bench-server --target-dir target/callgrind --quiet
BIN=target/callgrind/release/bench-server

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

if [[ $MODE == *redis* && -z ${REDIS_URL:-} ]]; then
    REDIS_PORT=$(free_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
    PIDS+=($!)
    export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

export SESSION_SIGNING_KEY=${SESSION_SIGNING_KEY:-$(python3 -c 'import secrets; print(secrets.token_hex(64))')}
export SESSION_ENCRYPTION_KEY=${SESSION_ENCRYPTION_KEY:-$(python3 -c 'import secrets; print(secrets.token_hex(32))')}
export RUST_LOG=off

start() { # MODE PORT [callgrind]
    if [[ ${3:-} == callgrind ]]; then
        BIND_ADDR="127.0.0.1:$2" valgrind --tool=callgrind --callgrind-out-file="$OUT" \
            --instr-atstart=no "$BIN" --mode "$1" >/dev/null 2>"$OUT_DIR/valgrind.log" &
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

PORT=$(free_port)
start "$MODE" "$PORT" callgrind
VALGRIND_PID=${PIDS[-1]}
if [[ $MODE == bare || $MODE == axum-bare ]]; then
    # The cookie of the same framework's encrypted-cookie mode (both have the same shape).
    OTHER=$(free_port)
    start "${MODE%bare}cookie-encrypted" "$OTHER"
    COOKIE=$(cookie_of "$OTHER")
    [[ -n $COOKIE ]] || { echo "${MODE%bare}cookie-encrypted sent no session cookie" >&2; exit 1; }
else
    COOKIE=$(cookie_of "$PORT")
fi

load() { # REQUESTS
    python3 - "$PORT" "/$WORKLOAD" "$1" "$COOKIE" <<'EOF'
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

load 200
callgrind_control -i on "$VALGRIND_PID" >/dev/null 2>&1
load "$REQUESTS"
callgrind_control -i off "$VALGRIND_PID" >/dev/null 2>&1
callgrind_control -d "$VALGRIND_PID" >/dev/null 2>&1
TOTAL=0
for file in "$OUT".*; do
    count=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ && !seen { gsub(",", "", $1); print $1; seen = 1 }')
    TOTAL=$((TOTAL + ${count:-0}))
done
echo "$MODE /$WORKLOAD: $((TOTAL / REQUESTS)) instructions per request ($REQUESTS requests; profile in $OUT.*)"
