#!/usr/bin/env bash
# The client-credentials benchmark on PostgreSQL: Tessera on SQLite (the reference in this run),
# then one node and two nodes on one PostgreSQL database, and the database round trips the token
# endpoint makes per request (from pg_stat_database: transactions of the bench database), and the
# same for introspection (RFC 7662) of one live token on one node: revocations are known in memory,
# so it should make none (SPEC §17).
#
# Usage: bench/postgres.sh
# Env:   DUR=20s CONNS=32 THREADS=2   wrk shape (two nodes: two wrk runs side by side, half each)
#        TESSERA_BIN=PATH             measure this binary as it is (default: cargo build --release)
#        PG=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (a database is made and dropped)
#
# Needs wrk, jq and psql. Servers run on 127.0.0.1 only and are stopped by PID.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=$(cd "$REPO/../shared/bench" && pwd)
TESSERA_BIN=${TESSERA_BIN:-}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
DUR=${DUR:-20s} CONNS=${CONNS:-32} THREADS=${THREADS:-2}
DB=tessera_bench_$$
PORT_A=18190 PORT_B=18191
PIDS=()
TMP=$(mktemp -d /tmp/tessera-pgbench.XXXXXX)

die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  [ -n "${KEEP_LOGS:-}" ] && cp "$TMP"/*.log "$KEEP_LOGS"/ 2>/dev/null; rm -rf "$TMP"
}
trap cleanup EXIT

for tool in wrk jq psql; do command -v $tool >/dev/null || die "$tool is required"; done
if [ -z "$TESSERA_BIN" ]; then
  (cd "$REPO" && nice -n 10 cargo build --release -p tessera)
  TESSERA_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/tessera
fi

psql -q "$PG/postgres" -c "CREATE DATABASE $DB" >/dev/null
URL=$PG/$DB

setup() { # STORE-FLAGS... -> prints "client_id client_secret"
  local t=("$TESSERA_BIN" --data-dir "$TMP/data" --json "$@") out
  "${t[@]}" org create --name bench >/dev/null
  "${t[@]}" scope create --org bench api >/dev/null
  echo 'bench-password-123' | "${t[@]}" user create --org bench --email owner@bench.test --role owner --password-stdin >/dev/null
  out=$("${t[@]}" client create --org bench --owner owner@bench.test --name bench --grant client_credentials --scope api)
  echo "$(jq -er .client_id <<<"$out") $(jq -er .client_secret <<<"$out")"
}

start() { # PORT LOG STORE-FLAGS...
  local port=$1 log=$2; shift 2
  "$TESSERA_BIN" --data-dir "$TMP/data" "$@" serve --listen 127.0.0.1:$port --issuer http://127.0.0.1:$PORT_A >"$log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return 0; sleep 0.1; done
  cat "$log"; die "tessera on $port did not start"
}

check() { # PORT ID SECRET
  curl -sf -u "$2:$3" -d grant_type=client_credentials -d scope=api "http://127.0.0.1:$1/oauth2/token" | jq -e '.access_token' >/dev/null \
    || die "no token from port $1"
}

xacts() { # committed + rolled-back transactions of the bench database so far, and when
  # A backend flushes its counters at most once a second while busy and within 10 s when idle.
  sleep 11
  echo "$(psql -qtA "$PG/postgres" -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$DB'") $(date +%s)"
}

wrk_run() { # PORT CONNS -> wrk output
  wrk -t"$THREADS" -c"$2" -d"$DUR" --latency -s "$SHARED/token.lua" "http://127.0.0.1:$1/oauth2/token" -- "$ID" "$SECRET" api
}

summary() { # LABEL WRK-OUTPUT-FILES...
  local label=$1; shift
  local rps=0 reqs=0 f
  for f in "$@"; do
    rps=$(awk -v a="$rps" '/Requests\/sec/ { printf "%.0f", a + $2 }' "$f")
    reqs=$(awk -v a="$reqs" '/requests in/ { printf "%d", a + $1 }' "$f")
  done
  local p99; p99=$(awk '/ 99%/ { print $2 }' "$1")
  echo "$label|$rps|$reqs|$p99"
}

ROWS=()

echo "### SQLite, 1 node"
read -r ID SECRET < <(setup)
start $PORT_A "$TMP/sqlite.log"
check $PORT_A "$ID" "$SECRET"
wrk -t"$THREADS" -c"$CONNS" -d5s -s "$SHARED/token.lua" "http://127.0.0.1:$PORT_A/oauth2/token" -- "$ID" "$SECRET" api >/dev/null
wrk_run $PORT_A "$CONNS" | tee "$TMP/w-sqlite"
ROWS+=("$(summary "SQLite, 1 node" "$TMP/w-sqlite")|n/a|n/a")
kill -TERM "${PIDS[@]}"; wait "${PIDS[@]}" 2>/dev/null || true; PIDS=()
rm -rf "$TMP/data"

echo "### PostgreSQL, 1 node"
read -r ID SECRET < <(setup --database-url "$URL")
start $PORT_A "$TMP/pg-a.log" --database-url "$URL"
check $PORT_A "$ID" "$SECRET"
wrk -t"$THREADS" -c"$CONNS" -d5s -s "$SHARED/token.lua" "http://127.0.0.1:$PORT_A/oauth2/token" -- "$ID" "$SECRET" api >/dev/null
read -r before t0 < <(xacts)
wrk_run $PORT_A "$CONNS" | tee "$TMP/w-pg1"
read -r after t1 < <(xacts)
ROWS+=("$(summary "PostgreSQL, 1 node" "$TMP/w-pg1")|$((after - before))|$((t1 - t0))")

echo "### PostgreSQL, 1 node: introspection of one live token"
TOKEN=$(curl -sf -u "$ID:$SECRET" -d grant_type=client_credentials -d scope=api "http://127.0.0.1:$PORT_A/oauth2/token" | jq -er .access_token) \
  || die "no token to introspect"
curl -sf -u "$ID:$SECRET" --data-urlencode "token=$TOKEN" "http://127.0.0.1:$PORT_A/oauth2/introspect" | jq -e '.active == true' >/dev/null \
  || die "introspection did not say active"
introspect_run() { # PORT CONNS -> wrk output
  wrk -t"$THREADS" -c"$2" -d"$DUR" --latency -s "$HERE/introspect.lua" "http://127.0.0.1:$1/oauth2/introspect" -- "$ID" "$SECRET" "$TOKEN"
}
wrk -t"$THREADS" -c"$CONNS" -d5s -s "$HERE/introspect.lua" "http://127.0.0.1:$PORT_A/oauth2/introspect" -- "$ID" "$SECRET" "$TOKEN" >/dev/null
read -r before t0 < <(xacts)
introspect_run $PORT_A "$CONNS" | tee "$TMP/w-pg1-introspect"
read -r after t1 < <(xacts)
ROWS+=("$(summary "PostgreSQL, 1 node, introspection" "$TMP/w-pg1-introspect")|$((after - before))|$((t1 - t0))")

echo "### PostgreSQL, 2 nodes (node B added; wrk split half and half)"
start $PORT_B "$TMP/pg-b.log" --database-url "$URL"
check $PORT_B "$ID" "$SECRET"
wrk -t"$THREADS" -c"$CONNS" -d5s -s "$SHARED/token.lua" "http://127.0.0.1:$PORT_B/oauth2/token" -- "$ID" "$SECRET" api >/dev/null
half=$((CONNS / 2)) threads=$(( THREADS > 1 ? THREADS / 2 : 1 ))
read -r before t0 < <(xacts)
THREADS=$threads wrk_run $PORT_A "$half" >"$TMP/w-pg2a" &
w1=$!
THREADS=$threads wrk_run $PORT_B "$half" >"$TMP/w-pg2b" &
w2=$!
wait $w1 $w2
read -r after t1 < <(xacts)
cat "$TMP/w-pg2a" "$TMP/w-pg2b"
ROWS+=("$(summary "PostgreSQL, 2 nodes" "$TMP/w-pg2a" "$TMP/w-pg2b")|$((after - before))|$((2 * (t1 - t0)))")

echo
echo "Run of $(date -u +%F) on $(nproc) cores, load average before the run: $(cut -d' ' -f1-3 /proc/loadavg); wrk $THREADS threads, $CONNS connections, $DUR."
echo
echo "Database transactions are counted over the run plus 22 s of quiet around it; each node's listening"
echo "connection sends one heartbeat query per second of silence (node-seconds below)."
echo
echo "| run | req/s | requests | p99 (first wrk) | database transactions | node-seconds (heartbeats) | transactions beyond heartbeats per 1,000 requests |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for r in "${ROWS[@]}"; do
  IFS='|' read -r label rps reqs p99 tx beats <<<"$r"
  per=n/a
  [ "$tx" != n/a ] && per=$(awk -v t="$tx" -v b="$beats" -v n="$reqs" 'BEGIN { d = t - b; if (d < 0) d = 0; printf "%.3f", 1000 * d / n }')
  echo "| $label | $rps | $reqs | $p99 | $tx | $beats | $per |"
done
