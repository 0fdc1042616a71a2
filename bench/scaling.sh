#!/usr/bin/env bash
# Scaling with cores, against the job's own limit (SPEC §17): for N = 1, 2, … cores, the signing
# ceiling (shared/bench/ceiling: one HMAC and one real ES256 signature per request) and Tessera
# (client-credentials issuance, then introspection of one live token) each pinned with taskset to
# cores 0..N-1 and N workers, with wrk pinned to the remaining cores, so the load generator never
# takes the server's cores. Made for machines with more cores than the 2 of the development box,
# where only N = 1 fits (server on core 0, wrk on core 1).
#
# Usage: bench/scaling.sh
# Env:   CORES="1 2 4 8"   the server core counts to measure (default: 1 to nproc-1, doubling)
#        DUR=20s CONNS=64   wrk run length and connections (after 5 s of warm-up each)
#        TESSERA_BIN=PATH   measure this binary (default: cargo build --release -p tessera)
#        CEILING_DIR=/tmp/ceiling  where the ceiling is built (from ../shared/bench/ceiling)
#
# Needs wrk, jq, curl and taskset. Servers run on 127.0.0.1 only and are stopped by PID.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=$(cd "$REPO/../shared/bench" && pwd)
TESSERA_BIN=${TESSERA_BIN:-}
CEILING_DIR=${CEILING_DIR:-/tmp/ceiling}
CEILING_BIN=$CEILING_DIR/target/release/ceiling
DUR=${DUR:-20s} CONNS=${CONNS:-64}
CEILING_PORT=18281 TESSERA_PORT=18290
TOTAL=$(nproc)
PIDS=()
TMP=$(mktemp -d /tmp/tessera-scaling.XXXXXX)

die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; rm -rf "$TMP"' EXIT

for tool in wrk jq curl taskset; do command -v $tool >/dev/null || die "$tool is required"; done
[ "$TOTAL" -ge 2 ] || die "needs at least 2 cores: one for the server, one for wrk"
if [ -z "${CORES:-}" ]; then
  CORES=""; n=1
  while [ $n -lt "$TOTAL" ]; do CORES+="$n "; n=$((n * 2)); done
fi
if [ -z "$TESSERA_BIN" ]; then
  (cd "$REPO" && nice -n 10 cargo build --release -p tessera)
  TESSERA_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/tessera
fi
if [ ! -x "$CEILING_BIN" ]; then
  rm -rf "$CEILING_DIR"; cp -r "$SHARED/ceiling" "$CEILING_DIR"; chmod -R u+w "$CEILING_DIR"
  (cd "$CEILING_DIR" && nice -n 10 cargo build --release)
fi

wait_up() { # URL PID
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "the server exited"
    sleep 0.1
  done
  die "no answer at $1"
}

measure() { # FIRST-WRK-CORE LUA URL ARGS... -> req/s (after a 5 s warm-up)
  local first=$1 lua=$2 url=$3; shift 3
  local threads=$((TOTAL - first))
  taskset -c "$first-$((TOTAL - 1))" wrk -t"$threads" -c"$CONNS" -d5s -s "$lua" "$url" -- "$@" >/dev/null
  taskset -c "$first-$((TOTAL - 1))" wrk -t"$threads" -c"$CONNS" -d"$DUR" -s "$lua" "$url" -- "$@" \
    | awk '/Requests\/sec/ { printf "%.0f", $2 } /Non-2xx/ { print " (NON-2XX: " $NF ")" > "/dev/stderr" }'
}

# One organization, scope and client-credentials client on a fresh SQLite store.
data=$TMP/data
t() { "$TESSERA_BIN" --data-dir "$data" --json "$@"; }
t org create --name bench >/dev/null
t scope create --org bench api >/dev/null
echo 'bench-password-123' | t user create --org bench --email owner@bench.test --role owner --password-stdin >/dev/null
client=$(t client create --org bench --owner owner@bench.test --name bench --grant client_credentials --scope api)
ID=$(jq -er .client_id <<<"$client") SECRET=$(jq -er .client_secret <<<"$client")

echo "Run of $(date -u '+%F %H:%M UTC'), $TOTAL cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), load $(cut -d' ' -f1-3 /proc/loadavg); wrk on the cores the server does not use, $CONNS connections, $DUR"
echo
echo "| server cores | ceiling req/s | Tessera issuance req/s | issuance ÷ ceiling | Tessera introspection req/s | introspection ÷ issuance |"
echo "|---:|---:|---:|---:|---:|---:|"
for n in $CORES; do
  [ "$n" -lt "$TOTAL" ] || { echo "skipping $n cores: none left for wrk" >&2; continue; }
  server_cores="0-$((n - 1))"

  ADDR=127.0.0.1:$CEILING_PORT WORKERS=$n taskset -c "$server_cores" "$CEILING_BIN" >"$TMP/ceiling.log" 2>&1 &
  PIDS+=("$!")
  wait_up "http://127.0.0.1:$CEILING_PORT/token" "${PIDS[-1]}"
  ceiling=$(measure "$n" "$SHARED/token.lua" "http://127.0.0.1:$CEILING_PORT/token" bench-client bench-secret-0123456789abcdef api)
  stop_all

  taskset -c "$server_cores" "$TESSERA_BIN" --data-dir "$data" serve --listen 127.0.0.1:$TESSERA_PORT --http-workers "$n" \
    --log warn >"$TMP/tessera.log" 2>&1 &
  PIDS+=("$!")
  wait_up "http://127.0.0.1:$TESSERA_PORT/healthz" "${PIDS[-1]}"
  base=http://127.0.0.1:$TESSERA_PORT
  issuance=$(measure "$n" "$SHARED/token.lua" "$base/oauth2/token" "$ID" "$SECRET" api)
  token=$(curl -sf -u "$ID:$SECRET" -d grant_type=client_credentials -d scope=api "$base/oauth2/token" | jq -er .access_token)
  curl -sf -u "$ID:$SECRET" --data-urlencode "token=$token" "$base/oauth2/introspect" | jq -e '.active == true' >/dev/null \
    || die "introspection did not say active"
  introspection=$(measure "$n" "$HERE/introspect.lua" "$base/oauth2/introspect" "$ID" "$SECRET" "$token")
  stop_all

  echo "| $n | $ceiling | $issuance | $(awk -v a="$issuance" -v b="$ceiling" 'BEGIN { printf "%.0f %%", 100 * a / b }') |" \
    "$introspection | $(awk -v a="$introspection" -v b="$issuance" 'BEGIN { printf "%.2f×", a / b }') |"
done
