#!/usr/bin/env bash
# Hot and cold clients (SPEC §17): a SQLite store holding STORE clients of one organization (made
# with `tessera import`, in files of 100,000), then client-credentials issuance where every
# request names one client, and where each names a client picked at random among 1,000, 20,000
# and all of them; req/s and the server's memory (RSS at the end of the measured run) for each.
# The server is started afresh for every row, so each RSS is that workload's alone. Beside req/s,
# the server's own CPU time per request (user + system, from /proc): wrk shares the cores here and
# builds each request in Lua, so req/s also moves with wrk's share, and CPU per request does not.
#
# One client against many in the same run shows whether something every request writes is
# shared by all cores (a hot cache line costs the one-client run its throughput on many cores);
# the RSS with a crowd shows that the caches keep to their bound (--cache-entries, --cache-memory).
#
# Usage: bench/scale.sh
# Env:   STORE=1000000         clients in the store
#        USED="1 1000 20000 1000000"  the client counts the rows pick from (a count over STORE is cut)
#        DUR=20s CONNS=32 THREADS=2  wrk run length and shape (after 5 s of warm-up each)
#        TESSERA_BIN=PATH      measure this binary (default: cargo build --release -p tessera)
#        TESSERA_SERVE_FLAGS="--log warn"  extra flags of `tessera serve` (word-split)
#        DATA=DIR              keep the store here and reuse it when it holds STORE clients
#
# Needs wrk, jq, curl and python3. Servers run on 127.0.0.1 only and are stopped by PID.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
STORE=${STORE:-1000000}
USED=${USED:-1 1000 20000 1000000}
DUR=${DUR:-20s} CONNS=${CONNS:-32} THREADS=${THREADS:-2}
TESSERA_BIN=${TESSERA_BIN:-}
PORT=18390
PIDS=()
TMP=$(mktemp -d /tmp/tessera-scale.XXXXXX)
DATA=${DATA:-$TMP/data}

die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; rm -rf "$TMP"' EXIT

for tool in wrk jq curl python3; do command -v $tool >/dev/null || die "$tool is required"; done
if [ -z "$TESSERA_BIN" ]; then
  (cd "$REPO" && nice -n 10 cargo build --release -p tessera)
  TESSERA_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/tessera
fi
t() { "$TESSERA_BIN" --data-dir "$DATA" --json "$@"; }

# The store: one organization, its owner (the clients' owner and run-as user), STORE clients
# `scale-I` with secret `scale-secret-I-0123456789abcdef`, imported 100,000 at a time.
mark=$DATA/scale-clients
if [ "$(cat "$mark" 2>/dev/null || true)" != "$STORE" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  made=0 started=$(date +%s)
  while [ "$made" -lt "$STORE" ]; do
    batch=$(( STORE - made < 100000 ? STORE - made : 100000 ))
    python3 - "$made" "$batch" >"$TMP/batch.json" <<'EOF'
import json, sys
first, count = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({
    "format": "tessera-export/1",
    "exported_at": 0,
    "organizations": [{"id": "org_scale", "name": "scale", "require_mfa": False, "scopes": [{"name": "api"}]}],
    "people": [{"id": "scale-owner", "email": "owner@scale.test",
                "memberships": [{"id": "scale-owner-1", "organization": "org_scale", "role": "owner",
                                 "service": True, "authorize_applications": True, "disabled": False}]}],
    "clients": [{"id": f"scale-{i}", "organization": "org_scale", "name": f"scale {i}",
                 "owner": "scale-owner-1", "run_as": "scale-owner-1", "status": "on",
                 "token_endpoint_auth_method": "client_secret_post", "grants": ["client_credentials"],
                 "scopes": ["api"], "pkce": "required",
                 "client_secret": f"scale-secret-{i}-0123456789abcdef"} for i in range(first, first + count)],
}))
EOF
    t import "$TMP/batch.json" >/dev/null || die "the import of clients $made.. failed"
    made=$((made + batch))
    echo "imported $made clients ($(( $(date +%s) - started )) s)" >&2
  done
  echo "$STORE" >"$mark"
fi

wait_up() { # URL PID
  for _ in $(seq 300); do
    curl -s -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || die "the server exited"
    sleep 0.1
  done
  die "no answer at $1"
}

rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "Run of $(date -u '+%F %H:%M UTC'), $(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)), load $(cut -d' ' -f1-3 /proc/loadavg); $STORE clients in the store; wrk $THREADS threads, $CONNS connections, $DUR; serve flags: ${TESSERA_SERVE_FLAGS:-none}"
echo
echo "| clients used | req/s | ÷ one client | server CPU µs/request | ÷ one client | non-2xx | RSS after (MiB) | cached entries | cached MiB |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
one="" one_cpu=""
for used in $USED; do
  [ "$used" -le "$STORE" ] || used=$STORE
  # shellcheck disable=SC2086 # the extra flags are words
  "$TESSERA_BIN" --data-dir "$DATA" serve --listen 127.0.0.1:$PORT ${TESSERA_SERVE_FLAGS:-} >"$TMP/tessera.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  base=http://127.0.0.1:$PORT
  wait_up "$base/healthz" "$pid"
  curl -sf -d grant_type=client_credentials -d client_id=scale-0 -d client_secret=scale-secret-0-0123456789abcdef "$base/oauth2/token" \
    | jq -e .access_token >/dev/null || die "scale-0 got no token"
  wrk -t"$THREADS" -c"$CONNS" -d5s -s "$HERE/scale.lua" "$base/oauth2/token" -- "$used" >/dev/null
  t0=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -s "$HERE/scale.lua" "$base/oauth2/token" -- "$used")
  t1=$(cpu_ticks "$pid")
  rps=$(awk '/Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  cpu=$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t * 1000000 / hz / n }')
  bad=$(awk '/Non-2xx/ { print $NF }' <<<"$out"); bad=${bad:-0}
  rss=$(rss_mib "$pid")
  metrics=$(curl -sf "$base/metrics")
  entries=$(awk '/^tessera_cache_entries / { print $2 }' <<<"$metrics")
  bytes=$(awk '/^tessera_cache_bytes / { printf "%.1f", $2 / 1048576 }' <<<"$metrics")
  stop_all
  [ -n "$one" ] || { one=$rps; one_cpu=$cpu; }
  echo "| $used | $rps | $(awk -v a="$rps" -v b="$one" 'BEGIN { printf "%.2f", a / b }') | $cpu |" \
    "$(awk -v a="$cpu" -v b="$one_cpu" 'BEGIN { printf "%.2f", a / b }') | $bad | $rss | $entries | $bytes |"
done
