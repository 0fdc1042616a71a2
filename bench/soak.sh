#!/usr/bin/env bash
# Soak and fault runs against a real `tessera serve` on 127.0.0.1 only, each bounded in time and
# count (SECURITY.md X10, X01, X05; figures in bench/README.md). Never part of the test suite.
#
# Usage: bench/soak.sh [soak|flood|crash|diskfull|all]   (default: all)
#   soak      mixed load (client-credentials tokens, introspection, authorization with a signed-in
#             browser session, logins through POST /sessions) with short token lifetimes, for
#             SOAK_SECONDS after a 30 s warm-up: resident memory and open descriptors must plateau
#             (growth under 10 %), expired codes must be purged.
#   flood     the token endpoint's p99 alone, then under a login flood (Argon2id on every request);
#             fails when the p99 under the flood exceeds P99_BOUND_MS.
#   crash     CYCLES times: a write burst over HTTP (sessions created, tokens revoked), kill -9 in
#             the middle, restart on the same store; counts acknowledged writes that were lost.
#   diskfull  the data directory on a small tmpfs that is then filled: writes must get a clean 503
#             temporarily_unavailable, the hot path and /healthz keep working, and the server
#             recovers by itself once space is freed (needs root for the mount).
# Env: TESSERA_BIN (default target/release/tessera, built when missing), SOAK_SECONDS=300,
#      FLOOD_SECONDS=20, P99_BOUND_MS=50, CYCLES=5, PORT=18190.
# Output: console lines starting with "FIGURE", also kept in bench/results/soak-last-run.txt.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
TESSERA_BIN=${TESSERA_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/tessera}
SOAK_SECONDS=${SOAK_SECONDS:-300}
FLOOD_SECONDS=${FLOOD_SECONDS:-20}
P99_BOUND_MS=${P99_BOUND_MS:-50}
CYCLES=${CYCLES:-5}
PORT=${PORT:-18190}
WHAT=${1:-all}
BASE=http://127.0.0.1:$PORT
PASSWORD='soak owner password 1'

mkdir -p "$HERE/results"
OUT=$HERE/results/soak-last-run.txt
: >"$OUT"
TMP=$(mktemp -d /tmp/tessera-soak.XXXXXX)
SERVER_PID=""
CHILDREN=()
declare -A STARTS # log file -> how many "listening on" lines were already seen
MOUNTED=""

say() { printf '\n### %s\n' "$*" | tee -a "$OUT"; }
figure() { printf 'FIGURE %s\n' "$*" | tee -a "$OUT"; }
die() { printf 'FAILED: %s\n' "$*" | tee -a "$OUT" >&2; exit 1; }

cleanup() {
  local pid
  for pid in "${CHILDREN[@]}" $SERVER_PID; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${CHILDREN[@]}" $SERVER_PID; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $MOUNTED ]]; then umount "$MOUNTED" 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT

command -v wrk >/dev/null && command -v jq >/dev/null && command -v sqlite3 >/dev/null || {
  echo "installing wrk, jq and sqlite3" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk jq sqlite3 >/dev/null
}
if [[ ! -x $TESSERA_BIN ]]; then
  (cd "$REPO" && cargo build --release -p tessera)
fi

cli() { # DIR ARGS... -> the CLI's JSON
  local dir=$1; shift
  "$TESSERA_BIN" --data-dir "$dir" --json "$@"
}

start_server() { # DIR [serve flags...]: starts on $PORT, waits for "listening on"
  local dir=$1; shift
  local log; log=$TMP/$(basename "$dir").log # outside the data dir, which may be a full disk
  "$TESSERA_BIN" --data-dir "$dir" serve --listen "127.0.0.1:$PORT" --issuer "$BASE" "$@" >>"$log" 2>&1 &
  SERVER_PID=$!
  local i
  for i in $(seq 1 200); do
    [[ $(grep -c '^listening on' "$log" 2>/dev/null) -gt ${STARTS[$log]:-0} ]] && { STARTS[$log]=$((${STARTS[$log]:-0} + 1)); return 0; }
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited: $(tail -5 "$log")"
    sleep 0.05
  done
  die "the server did not start: $(tail -5 "$log")"
}

stop_server() { # SIGTERM, then wait
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
threads() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }

# One organization, scope `api`, an owner with a password, a client-credentials client and a web
# client with consent given once; sets CLIENT_ID, CLIENT_SECRET, WEB_ID, COOKIE, AUTHORIZE_PATH.
setup_world() { # DIR
  local dir=$1
  cli "$dir" org create --name soak >/dev/null
  cli "$dir" scope create --org soak api >/dev/null
  printf '%s\n' "$PASSWORD" | cli "$dir" user create --org soak --email owner@soak.test --role owner --password-stdin >/dev/null
  local client
  client=$(cli "$dir" client create --org soak --owner owner@soak.test --name load --grant client_credentials --scope api)
  CLIENT_ID=$(jq -r .client_id <<<"$client")
  CLIENT_SECRET=$(jq -r .client_secret <<<"$client")
  local web
  web=$(cli "$dir" client create --org soak --owner owner@soak.test --name web --grant authorization_code \
    --redirect-uri https://app.example/cb --scope api)
  WEB_ID=$(jq -r .client_id <<<"$web")
}

# Signs the owner in through the login form and gives consent once (curl, cookie jar).
browser_session() {
  local jar=$TMP/cookies page csrf request
  rm -f "$jar"
  page=$(curl -s -c "$jar" -b "$jar" "$BASE/login")
  csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
  curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $BASE" --data-urlencode "email=owner@soak.test" \
    --data-urlencode "password=$PASSWORD" --data-urlencode "csrf_token=$csrf" --data-urlencode "return_to=/" "$BASE/login"
  # PKCE is required in the code flow: the challenge of RFC 7636 Appendix B (the codes are never redeemed).
  AUTHORIZE_PATH="/oauth2/authorize?response_type=code&client_id=$WEB_ID&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=api&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
  page=$(curl -s -c "$jar" -b "$jar" "$BASE$AUTHORIZE_PATH")
  csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
  request=$(sed -n 's/.*name="request" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1 | sed 's/&#38;/\&/g; s/&amp;/\&/g; s/&#x27;/'"'"'/g; s/&#39;/'"'"'/g; s/&quot;/"/g')
  if [[ -n $request ]]; then
    curl -s -o /dev/null -c "$jar" -b "$jar" -H "Origin: $BASE" --data-urlencode "csrf_token=$csrf" \
      --data-urlencode "request=$request" --data-urlencode "decision=allow" "$BASE/oauth2/authorize/decision"
  fi
  COOKIE=$(awk '$6 ~ /tessera_session/ {printf "%s=%s", $6, $7}' "$jar")
  [[ -n $COOKIE ]] || die "no session cookie after login"
  local status
  status=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE$AUTHORIZE_PATH")
  [[ $status == 302 ]] || die "authorize with the session answered $status, not 302"
}

basic() { printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0; }

# wrk scripts: one request shape each; `done` prints a RESULT line with the status classes.
write_lua() {
  local done='
function response(status, headers, body)
  if status >= 500 then s5 = (s5 or 0) + 1 elseif status >= 400 then s4 = (s4 or 0) + 1 end
end
function done(summary, latency, requests)
  local s = summary
  io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f sock_errors=%d\n",
    s.requests, s.requests / (s.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end'
  local token
  token=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$BASE/oauth2/token" | jq -r .access_token)
  cat >"$TMP/token.lua" <<EOF
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(basic)"
$done
EOF
  cat >"$TMP/introspect.lua" <<EOF
wrk.method = "POST"
wrk.body = "token=$token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $(basic)"
$done
EOF
  cat >"$TMP/authorize.lua" <<EOF
wrk.method = "GET"
wrk.path = "${AUTHORIZE_PATH:-/oauth2/authorize}"
wrk.headers["Cookie"] = "${COOKIE:-}"
$done
EOF
  cat >"$TMP/login.lua" <<EOF
wrk.method = "POST"
wrk.path = "/sessions"
wrk.body = '{"email":"owner@soak.test","password":"$PASSWORD"}'
wrk.headers["Content-Type"] = "application/json"
$done
EOF
}

load() { # SCRIPT CONNECTIONS SECONDS OUTFILE: wrk in the background
  wrk -t1 -c"$2" -d"$3s" --timeout 10s -s "$TMP/$1.lua" "$BASE${4:+}" >"$TMP/$1.out" 2>&1 &
  CHILDREN+=($!)
}

result() { grep '^RESULT' "$TMP/$1.out" | sed 's/^RESULT //'; }
field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" <<<"$1"; }

soak() {
  say "soak: ${SOAK_SECONDS}s of mixed load after a 30 s warm-up (access tokens live 5 s)"
  local dir=$TMP/soak
  start_server "$dir" --access-token-ttl 5 --leeway 0
  setup_world "$dir"
  browser_session
  write_lua
  local total=$((SOAK_SECONDS + 30))
  load token 2 "$total"; load introspect 2 "$total"; load authorize 2 "$total"; load login 1 "$total"
  sleep 30
  local rss0 fd0 samples=$TMP/rss.txt
  rss0=$(rss_kib "$SERVER_PID"); fd0=$(fds "$SERVER_PID")
  : >"$samples"
  local t
  for ((t = 0; t < SOAK_SECONDS; t += 10)); do
    sleep 10
    printf '%s %s %s %s\n' "$t" "$(rss_kib "$SERVER_PID")" "$(fds "$SERVER_PID")" "$(threads "$SERVER_PID")" >>"$samples"
  done
  local pid
  for pid in "${CHILDREN[@]}"; do wait "$pid" || true; done
  CHILDREN=()
  local rss1 fd1 peak
  rss1=$(rss_kib "$SERVER_PID"); fd1=$(fds "$SERVER_PID")
  peak=$(awk 'max < $2 {max = $2} END {print max}' "$samples")
  figure "soak samples (seconds after warm-up: rss_kib/fds/threads): $(awk 'NR % 3 == 0 {printf "%s:%s/%s/%s ", $1 + 10, $2, $3, $4}' "$samples")"
  local requests=0 name r
  for name in token introspect authorize login; do
    r=$(result "$name")
    figure "soak $name: $r"
    requests=$((requests + $(field "$r" requests)))
  done
  local growth
  growth=$(awk -v a="$rss0" -v b="$rss1" 'BEGIN {printf "%.1f", (b - a) * 100 / a}')
  figure "soak requests=$requests rss_after_warmup_kib=$rss0 rss_end_kib=$rss1 rss_peak_kib=$peak growth_pct=$growth fds_after_warmup=$fd0 fds_end=$fd1"
  # Codes live 60 s but are kept a day, so that a late reuse still revokes what they issued;
  # housekeeping (every 30 s) deletes older ones, and revocations once the token has expired.
  local now codes stale
  now=$(date +%s)
  codes=$(sqlite3 "$dir/tessera.db" "SELECT count(*) FROM authorization_codes")
  stale=$(sqlite3 "$dir/tessera.db" "SELECT count(*) FROM authorization_codes WHERE issued_at < $((now - 86400 - 60))")
  figure "soak codes_in_store=$codes older_than_the_one_day_purge_horizon=$stale"
  awk -v g="$growth" 'BEGIN {exit !(g < 10)}' || die "memory grew ${growth}% after warm-up"
  [[ $fd1 -le $((fd0 + 8)) ]] || die "descriptors grew from $fd0 to $fd1"
  [[ $stale -eq 0 ]] || die "$stale expired codes were not purged"
  stop_server
}

flood() {
  say "flood: token endpoint p99 alone, then under a login flood (${FLOOD_SECONDS}s each)"
  local dir=$TMP/flood
  start_server "$dir" --login-failure-limit 1000000 --login-address-limit 1000000
  setup_world "$dir"
  write_lua
  load token 2 "$FLOOD_SECONDS"
  wait "${CHILDREN[@]}" || true; CHILDREN=()
  local alone; alone=$(result token)
  load login 8 "$FLOOD_SECONDS"; load token 2 "$FLOOD_SECONDS"
  wait "${CHILDREN[@]}" || true; CHILDREN=()
  local flooded logins; flooded=$(result token); logins=$(result login)
  figure "flood token_alone: $alone"
  figure "flood token_under_login_flood: $flooded"
  figure "flood logins: $logins"
  local p99; p99=$(field "$flooded" p99_ms)
  awk -v p="$p99" -v b="$P99_BOUND_MS" 'BEGIN {exit !(p <= b)}' || die "token p99 under the login flood is ${p99} ms, above ${P99_BOUND_MS} ms"
  stop_server
}

crash() {
  say "crash: $CYCLES cycles of kill -9 during a write burst"
  local dir=$TMP/crash
  start_server "$dir"
  setup_world "$dir"
  local cycle acked_sessions=0 acked_revocations=0 lost=0
  for cycle in $(seq 1 "$CYCLES"); do
    [[ -n $SERVER_PID ]] || start_server "$dir"
    # Tokens to revoke during the burst.
    local tokens=$TMP/tokens.$cycle i
    : >"$tokens"
    for i in $(seq 1 200); do
      curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$BASE/oauth2/token" | jq -r .access_token >>"$tokens"
    done
    local sessions=$TMP/sessions.$cycle revoked=$TMP/revoked.$cycle w
    : >"$sessions"; : >"$revoked"
    for w in 1 2 3; do
      (while true; do
        body=$(curl -s -m 5 -w '\n%{http_code}' -H 'content-type: application/json' \
          -d "{\"email\":\"owner@soak.test\",\"password\":\"$PASSWORD\"}" "$BASE/sessions") || exit 0
        [[ ${body##*$'\n'} == 201 ]] && jq -r .refreshToken <<<"${body%$'\n'*}" >>"$sessions.$w"
      done) &
      CHILDREN+=($!)
    done
    (while read -r token; do
      status=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$token" "$BASE/oauth2/revoke") || exit 0
      [[ $status == 200 ]] && printf '%s\n' "$token" >>"$revoked"
    done <"$tokens") &
    CHILDREN+=($!)
    sleep "$(awk -v c="$cycle" 'BEGIN {srand(c); printf "%.2f", 2 + rand() * 3}')"
    kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""
    for w in "${CHILDREN[@]}"; do wait "$w" 2>/dev/null || true; done
    CHILDREN=()
    cat "$sessions".* >>"$sessions" 2>/dev/null || true
    start_server "$dir"
    local refresh_token token active
    while read -r refresh_token; do
      acked_sessions=$((acked_sessions + 1))
      active=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$refresh_token" "$BASE/oauth2/introspect" | jq -r .active)
      [[ $active == true ]] || lost=$((lost + 1))
    done <"$sessions"
    while read -r token; do
      acked_revocations=$((acked_revocations + 1))
      active=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$token" "$BASE/oauth2/introspect" | jq -r .active)
      [[ $active == false ]] || lost=$((lost + 1))
    done <"$revoked"
  done
  figure "crash cycles=$CYCLES acknowledged_sessions=$acked_sessions acknowledged_revocations=$acked_revocations records_lost=$lost"
  [[ $lost -eq 0 ]] || die "$lost acknowledged writes were lost"
  stop_server
}

diskfull() {
  say "diskfull: the store's file system fills up under a running server, then space is freed"
  [[ $(id -u) -eq 0 ]] || { echo "diskfull needs root (tmpfs mount); skipped" | tee -a "$OUT"; return 0; }
  local mnt=$TMP/mnt dir
  mkdir -p "$mnt"
  mount -t tmpfs -o size=32m tmpfs "$mnt"
  MOUNTED=$mnt
  dir=$mnt/data
  start_server "$dir"
  setup_world "$dir"
  # Tokens to revoke: each revocation is one small write. SQLite reuses its WAL file, so the
  # first writes on a full disk may still fit; revoke until one is refused (at most 300).
  local tokens=$TMP/diskfull-tokens i
  for i in $(seq 1 300); do
    curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$BASE/oauth2/token" | jq -r .access_token
  done >"$tokens"
  dd if=/dev/zero of="$mnt/filler" bs=1M 2>/dev/null || true
  local token status="" error="" written=0 started elapsed=0
  while read -r token; do
    started=$(date +%s%N)
    status=$(curl -s -o "$TMP/revoke.json" -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$token" "$BASE/oauth2/revoke")
    elapsed=$((($(date +%s%N) - started) / 1000000))
    [[ $status == 200 ]] || { error=$(jq -r .error "$TMP/revoke.json" 2>/dev/null || head -c 200 "$TMP/revoke.json"); break; }
    written=$((written + 1))
  done <"$tokens"
  local refused=$token
  local sessions_status token_status healthz
  sessions_status=$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d "{\"email\":\"owner@soak.test\",\"password\":\"$PASSWORD\"}" "$BASE/sessions")
  token_status=$(curl -s -o /dev/null -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "$BASE/oauth2/token")
  healthz=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz")
  figure "diskfull writes_that_still_fit=$written then revoke=$status ($error, ${elapsed} ms) sessions=$sessions_status token=$token_status healthz=$healthz"
  rm -f "$mnt/filler"
  local recovered=""
  for i in $(seq 1 100); do
    if [[ $(curl -s -o /dev/null -w '%{http_code}' -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$refused" "$BASE/oauth2/revoke") == 200 ]]; then
      recovered=yes; break
    fi
    sleep 0.1
  done
  local active
  active=$(curl -s -u "$CLIENT_ID:$CLIENT_SECRET" -d "token=$refused" "$BASE/oauth2/introspect" | jq -r .active)
  figure "diskfull recovered_without_restart=${recovered:-no} refused_token_active_after_revoke=$active"
  [[ $status == 503 && $error == temporarily_unavailable ]] || die "a write on a full disk answered $status $error"
  [[ $token_status == 200 && $healthz == 200 && $recovered == yes && $active == false ]] || die "no clean recovery"
  stop_server
  umount "$mnt"; MOUNTED=""
}

printf 'tessera: %s\nmachine: %s cores, %s\n' "$TESSERA_BIN" "$(nproc)" "$(date -u +%FT%TZ)" | tee -a "$OUT"
case $WHAT in
  soak) soak ;;
  flood) flood ;;
  crash) crash ;;
  diskfull) diskfull ;;
  all) flood; crash; diskfull; soak ;;
  *) die "unknown run $WHAT (soak, flood, crash, diskfull, all)" ;;
esac
say "done"
