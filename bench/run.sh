#!/usr/bin/env bash
# Side-by-side benchmark of the client-credentials token endpoint, in ONE run on this machine:
#   hello ceiling (axum, static JSON) -> Tessera -> node-oidc-provider x1 -> x2 workers -> Glewlwyd.
# Only ratios measured in the same run mean anything (the machine is shared and noisy), so every peer
# is run here, one after the other, never in parallel, on 127.0.0.1 only.
#
# Usage: bench/run.sh
# Env:   DUR=20s            measured duration per server (after a fixed 5 s warm-up in bench-one.sh)
#        CONNS=32 THREADS=2 wrk shape (read by bench-one.sh)
#        SKIP_TESSERA=1     run the peers only (no cargo build, no Tessera row)
#        SKIP_PEERS=1       run Tessera only (secret, private_key_jwt and DPoP rows), no peers; the
#                           table goes to its own block in README.md (no targets are evaluated)
#        PRESIGNED_COUNT=N  pre-signed private_key_jwt assertions, and DPoP proofs, for the measured
#                           run of those rows (default 200000 each; a quarter as many more for the warm-up)
#        TESSERA_BIN=PATH   measure this tessera binary as it is (no cargo build)
#        TESSERA_SERVE_FLAGS="--log warn"  extra flags of `tessera serve` (word-split), e.g. to
#                           measure what the access log costs
#        PEERS=/tmp/peers   where node-oidc-provider and Glewlwyd live
#        HELLO_DIR=/tmp/hello  where the hello ceiling server is built
#        CEILING_DIR=/tmp/ceiling  where the signing ceiling (shared/bench/ceiling: one HMAC and one
#                           real ES256 signature per request) is built; it runs beside Tessera
#                           in every run that measures Tessera, SKIP_PEERS=1 included
#
# Output: the console log (also kept verbatim in bench/results/last-run.txt) and a results table
# between the markers in bench/README.md.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=$(cd "$(dirname "$0")/../../shared/bench" && pwd) # the repo sits next to shared/
PEERS=${PEERS:-/tmp/peers}
HELLO_DIR=${HELLO_DIR:-/tmp/hello}
HELLO_BIN=$HELLO_DIR/target/release/hello
CEILING_DIR=${CEILING_DIR:-/tmp/ceiling}
CEILING_BIN=$CEILING_DIR/target/release/ceiling
# TESSERA_BIN set by the caller: measure that binary as it is, without building.
TESSERA_PREBUILT=${TESSERA_BIN:+1}
TESSERA_BIN=${TESSERA_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/release/tessera}
SKIP_TESSERA=${SKIP_TESSERA:-0}
SKIP_PEERS=${SKIP_PEERS:-0}
PRESIGNED_COUNT=${PRESIGNED_COUNT:-${PKJWT_COUNT:-200000}}
export DUR=${DUR:-20s} CONNS=${CONNS:-32} THREADS=${THREADS:-2}

RESULTS_DIR=$HERE/results
RAW=$RESULTS_DIR/last-run.txt
README=$HERE/README.md
MARKER=results # the README block the table goes to
if [ "$SKIP_PEERS" = 1 ]; then RAW=$RESULTS_DIR/last-tessera-only-run.txt; MARKER=tessera-only-results; fi

# Peers share these credentials (see shared/bench); Tessera's are created per run.
PEER_ID=bench-client
PEER_SECRET=bench-secret-0123456789abcdef

HELLO_PORT=18080 CEILING_PORT=18081 TESSERA_PORT=18090 OIDC_PORT=13000 GLEW_PORT=14593

PIDS=()       # every server we started, stopped on exit
BENCH_PID=""  # the bench-one.sh in flight (its RSS sampler must not outlive an interrupt)
TMP=""        # scratch dir: server logs, Tessera's data dir
ROWS=()       # "label|rps|p50|p99|rss_kib|errors", one per measured server

say() { printf '\n### %s\n' "$*"; }
die() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------------
# Process bookkeeping: everything is stopped by PID, never by name.

descendants() { # PID -> its descendants' PIDs, deepest last
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do echo "$c"; descendants "$c"; done
}

gone() { # PID -> true when it has exited (a zombie counts: it no longer serves anything)
  local st; st=$(ps -o stat= -p "$1" 2>/dev/null || true)
  [ -z "$st" ] || [[ $st == Z* ]]
}

stop_pid() { # PID: SIGTERM, up to 5 s to drain, then SIGKILL
  local p=$1 i
  gone "$p" && return 0
  kill "$p" 2>/dev/null || true
  for i in $(seq 50); do gone "$p" && break; sleep 0.1; done
  gone "$p" || kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true # reaps it when it is our own child
}

stop_all() { # stop the servers registered so far (workers before their primary)
  local i p
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    for p in $(descendants "${PIDS[i]}"); do stop_pid "$p"; done
    stop_pid "${PIDS[i]}"
  done
  PIDS=()
}

cleanup() {
  local status=$?
  set +e; trap '' PIPE # keep going even if the console is gone: nothing may be left running
  if [ "$status" != 0 ]; then
    echo "run stopped early (status $status): stopping the servers; README.md not updated"
    for f in "$TMP"/*.log; do [ -s "$f" ] && { echo "--- last lines of $(basename "$f")"; tail -15 "$f"; }; done
  fi
  if [ -n "$BENCH_PID" ]; then
    for p in $(descendants "$BENCH_PID"); do stop_pid "$p"; done
    stop_pid "$BENCH_PID"
  fi
  stop_all
  [ -n "$TMP" ] && rm -rf "$TMP"
}

port_free() { # PORT: refuse to start when something already answers there (we would measure it instead)
  if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/"; then
    die "127.0.0.1:$1 is already in use by another process; stop it first"
  fi
}

wait_http() { # URL PID SECONDS LOG: until URL answers 2xx, failing early if PID dies
  local i
  for i in $(seq $(($3 * 10))); do
    curl -sf -o /dev/null --max-time 1 "$1" && return 0
    gone "$2" && { tail -20 "$4" >&2 || true; die "server pid $2 exited before $1 answered"; }
    sleep 0.1
  done
  tail -20 "$4" >&2 || true
  die "$1 did not answer within $3 s"
}

# ---------------------------------------------------------------------------------------------------
# Install what is missing (package registries only), before any measurement so nothing compiles meanwhile.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_tools() {
  local t missing=0 tools=(wrk glewlwyd sqlite3 jq curl node)
  [ "$SKIP_PEERS" = 1 ] && tools=(wrk sqlite3 jq curl node)
  for t in "${tools[@]}"; do command -v "$t" >/dev/null || missing=1; done
  [ "$missing" = 0 ] && return 0
  say "installing wrk glewlwyd sqlite3 jq (apt)"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk glewlwyd sqlite3 jq
  command -v node >/dev/null || die "node is needed (oidc-provider, Glewlwyd's key generation, JWT checks)"
  # On a systemd host the package also starts glewlwyd.service on port 4593, on every interface.
  if curl -s -o /dev/null --max-time 2 http://127.0.0.1:4593/; then
    echo "WARNING: the packaged glewlwyd service is running; stop it: systemctl disable --now glewlwyd"
  fi
}

ensure_oidc_provider() {
  [ -d "$PEERS/oidc/node_modules/oidc-provider" ] && return 0
  say "installing oidc-provider@9 (npm) in $PEERS/oidc"
  mkdir -p "$PEERS/oidc"
  (cd "$PEERS/oidc" && npm init -y >/dev/null && npm install oidc-provider@9)
}

ensure_hello() {
  [ -x "$HELLO_BIN" ] && return 0
  say "building the hello ceiling server in $HELLO_DIR"
  rm -rf "$HELLO_DIR"
  cp -r "$SHARED/hello" "$HELLO_DIR"
  chmod -R u+w "$HELLO_DIR" # shared/ is read-only and cp keeps the modes
  (cd "$HELLO_DIR" && nice -n 10 cargo build --release) # nice: 2 cores, other people compile too
}

ensure_ceiling() {
  [ -x "$CEILING_BIN" ] && return 0
  say "building the signing ceiling server in $CEILING_DIR"
  rm -rf "$CEILING_DIR"
  cp -r "$SHARED/ceiling" "$CEILING_DIR"
  chmod -R u+w "$CEILING_DIR"
  (cd "$CEILING_DIR" && nice -n 10 cargo build --release)
}

build_tessera() {
  say "building Tessera (cargo build --release -p tessera)"
  (cd "$REPO" && nice -n 10 cargo build --release -p tessera)
  [ -x "$TESSERA_BIN" ] || die "no binary at $TESSERA_BIN"
}

# ---------------------------------------------------------------------------------------------------
# Token checks: a number only means something if the server really issued a signed token for a
# really checked secret, so each server must pass these before it is measured.

verify_jwt() { # TOKEN JWKS_JSON: ES256 header, signature valid against the JWKS, not expired; prints claims
  TOKEN=$1 JWKS=$2 node -e '
    const crypto = require("node:crypto");
    const [h, p, s] = process.env.TOKEN.split(".");
    if (!s) { console.error("not a JWS compact token"); process.exit(1); }
    const hdr = JSON.parse(Buffer.from(h, "base64url"));
    const claims = JSON.parse(Buffer.from(p, "base64url"));
    console.log("JWT header: " + JSON.stringify(hdr));
    if (hdr.alg !== "ES256") { console.error("alg is " + hdr.alg + ", not ES256"); process.exit(1); }
    const keys = JSON.parse(process.env.JWKS).keys.filter(k => k.kty === "EC" && (!hdr.kid || k.kid === hdr.kid));
    const ok = keys.some(k => crypto.verify("sha256", Buffer.from(h + "." + p),
      { key: crypto.createPublicKey({ key: k, format: "jwk" }), dsaEncoding: "ieee-p1363" },
      Buffer.from(s, "base64url")));
    if (!ok) { console.error("signature does not verify against the JWKS"); process.exit(1); }
    if (!(claims.exp > Date.now() / 1000)) { console.error("expired or no exp"); process.exit(1); }
    const pick = ({ iss, sub, aud, client_id, scope, exp, iat }) => ({ iss, sub, aud, client_id, scope, exp, iat });
    console.log("JWT claims: " + JSON.stringify(pick(claims)) + "  (signature verified against the JWKS)");'
}

check_token() { # URL JWKS_URL ID SECRET SCOPE BAD_STATUS
  local url=$1 jwks_url=$2 id=$3 secret=$4 scope=$5 bad=$6 resp code body at
  resp=$(curl -sS --max-time 10 -u "$id:$secret" -d grant_type=client_credentials \
    ${scope:+-d "scope=$scope"} -w '\n%{http_code}' "$url") || die "token request to $url failed"
  code=${resp##*$'\n'}; body=${resp%$'\n'*}
  echo "token check: HTTP $code ${body:0:100}..."
  [ "$code" = 200 ] || die "token endpoint answered $code"
  at=$(jq -r '.access_token // empty' <<<"$body" 2>/dev/null || true)
  [ -n "$at" ] || die "no access_token in the response"
  jq -e '(.token_type | ascii_downcase) == "bearer"' <<<"$body" >/dev/null || die "token_type is not Bearer"
  verify_jwt "$at" "$(curl -sf --max-time 10 "$jwks_url")" || die "the access token is not a valid ES256 JWT"
  # The secret must really be checked: a wrong one gets an error and no token.
  code=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$id:wrong-$secret" \
    -d grant_type=client_credentials ${scope:+-d "scope=$scope"} "$url")
  echo "wrong-secret check: HTTP $code (expected $bad)"
  [ "$code" = "$bad" ] || die "a wrong client secret got HTTP $code"
}

# ---------------------------------------------------------------------------------------------------
# Measuring: shared/bench/bench-one.sh does warm-up, wrk --latency and RSS sampling.

run_bench() { # LABEL URL "PIDS" [SCOPE] [LUA]  (CLIENT_ID/CLIENT_SECRET from the env, if set)
  local label=$1 out res rss
  out=$TMP/bench.out
  echo "measuring $label: 5 s warm-up + $DUR, $THREADS threads, $CONNS connections ..."
  # In the background so that cleanup can find its RSS sampler if we are interrupted.
  "$SHARED/bench-one.sh" "$@" >"$out" 2>&1 &
  BENCH_PID=$!
  wait "$BENCH_PID" || { cat "$out"; die "bench-one.sh failed for $label"; }
  BENCH_PID=""
  cat "$out"
  res=$(grep '^RESULT ' "$out" | tail -1) || die "no RESULT line for $label"
  rss=$(grep '^PEAK_RSS_KiB ' "$out" | tail -1 | cut -d' ' -f2) || die "no PEAK_RSS_KiB line for $label"
  ROWS+=("$label|$(field rps "$res")|$(field p50_ms "$res")|$(field p99_ms "$res")|$rss|$(($(field non2xx "$res") + $(field sock_errors "$res")))")
}

field() { # NAME "RESULT k=v ..." -> v
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

# ---------------------------------------------------------------------------------------------------
# The servers, in the order they are measured.

bench_hello() {
  say "hello ceiling: axum, token-shaped POST answered with static JSON"
  port_free $HELLO_PORT
  ADDR=127.0.0.1:$HELLO_PORT "$HELLO_BIN" >"$TMP/hello.log" 2>&1 &
  local hp=$!; PIDS+=("$hp")
  wait_http "http://127.0.0.1:$HELLO_PORT/" "$hp" 10 "$TMP/hello.log"
  # Not a real token (it is the ceiling), but the POST must answer 200 with the token-shaped body.
  curl -sf -d grant_type=client_credentials "http://127.0.0.1:$HELLO_PORT/token" | jq -e .access_token >/dev/null \
    || die "hello POST /token did not answer"
  run_bench "hello ceiling (axum, static JSON)" "http://127.0.0.1:$HELLO_PORT/token" "$hp" "" "$SHARED/post.lua"
  stop_all
}

bench_ceiling() {
  say "signing ceiling: HTTP Basic checked by one HMAC, one real ES256 JWT per request, nothing else"
  port_free $CEILING_PORT
  ADDR=127.0.0.1:$CEILING_PORT "$CEILING_BIN" >"$TMP/ceiling.log" 2>&1 &
  local cp=$! url=http://127.0.0.1:$CEILING_PORT/token
  PIDS+=("$cp")
  local deadline=$((SECONDS + 10))
  until curl -s -o /dev/null "$url"; do
    [ $SECONDS -lt $deadline ] || die "the ceiling did not start: $(cat "$TMP/ceiling.log")"
    sleep 0.1
  done
  curl -sf -u "$PEER_ID:$PEER_SECRET" -d grant_type=client_credentials -d scope=api "$url" \
    | jq -e '.access_token | split(".") | length == 3' >/dev/null || die "the ceiling issued no JWT"
  [ "$(curl -s -o /dev/null -w '%{http_code}' -u "$PEER_ID:wrong" -d grant_type=client_credentials "$url")" = 401 ] \
    || die "the ceiling took a wrong secret"
  CLIENT_ID=$PEER_ID CLIENT_SECRET=$PEER_SECRET run_bench "signing ceiling (HMAC + ES256)" "$url" "$cp" api
  stop_all
}

tessera() { "$TESSERA_BIN" --data-dir "$TESSERA_DATA" --json "$@"; }

# private_key_jwt: a P-256 key pair made by node; the public JWK registered with the client, the
# private key signing assertions (ES256, no kid: the client's only key) for the token endpoint.
pkjwt_keygen() { # DIR -> DIR/client.jwk (public, registered) and DIR/client.pem (private)
  DIR=$1 node -e '
    const crypto = require("node:crypto"), fs = require("node:fs");
    const { publicKey, privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    fs.writeFileSync(process.env.DIR + "/client.jwk", JSON.stringify(publicKey.export({ format: "jwk" })));
    fs.writeFileSync(process.env.DIR + "/client.pem", privateKey.export({ format: "pem", type: "pkcs8" }));'
}

# Pre-signed single-use JWTs, one per line, each with its own jti, signed by the key in DIR:
#   assertion  client assertions of CLIENT for AUD (private_key_jwt; valid 55 minutes)
#   dpop       DPoP proofs of a POST to AUD (RFC 9449; the proof's own public key in its header; iat
#              now, so the proofs must be sent within the server's 300 s window)
presign() { # KIND DIR CLIENT_ID AUD COUNT -> COUNT JWTs on stdout
  KIND=$1 DIR=$2 CLIENT=$3 AUD=$4 COUNT=$5 node -e '
    const crypto = require("node:crypto"), fs = require("node:fs");
    const key = crypto.createPrivateKey(fs.readFileSync(process.env.DIR + "/client.pem"));
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const dpop = process.env.KIND === "dpop";
    const { kty, crv, x, y } = crypto.createPublicKey(key).export({ format: "jwk" });
    const head = b64(dpop ? { typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } } : { alg: "ES256", typ: "JWT" });
    const now = Math.floor(Date.now() / 1000), run = crypto.randomBytes(6).toString("hex");
    const out = [];
    for (let i = 0; i < Number(process.env.COUNT); i++) {
      const claims = dpop
        ? { jti: run + "-" + i, htm: "POST", htu: process.env.AUD, iat: now }
        : { iss: process.env.CLIENT, sub: process.env.CLIENT, aud: process.env.AUD, iat: now, exp: now + 3300, jti: run + "-" + i };
      const input = head + "." + b64(claims);
      const sig = crypto.sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
      out.push(input + "." + sig.toString("base64url"));
      if (out.length === 10000) { process.stdout.write(out.join("\n") + "\n"); out.length = 0; }
    }
    if (out.length) process.stdout.write(out.join("\n") + "\n");'
}

check_pkjwt_token() { # URL JWKS_URL ASSERTION: a real token for it, and the same assertion refused again
  local url=$1 jwks_url=$2 assertion=$3 resp code body at
  local form=(-d grant_type=client_credentials -d scope=api
    -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer -d "client_assertion=$assertion")
  resp=$(curl -sS --max-time 10 "${form[@]}" -w '\n%{http_code}' "$url") || die "token request to $url failed"
  code=${resp##*$'\n'}; body=${resp%$'\n'*}
  echo "private_key_jwt token check: HTTP $code ${body:0:100}..."
  [ "$code" = 200 ] || die "token endpoint answered $code to a private_key_jwt assertion"
  at=$(jq -r '.access_token // empty' <<<"$body" 2>/dev/null || true)
  verify_jwt "$at" "$(curl -sf --max-time 10 "$jwks_url")" || die "the access token is not a valid ES256 JWT"
  code=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' "${form[@]}" "$url")
  echo "replayed-assertion check: HTTP $code (expected 401)"
  [ "$code" = 401 ] || die "a replayed assertion got HTTP $code"
}

check_dpop_token() { # URL JWKS_URL ID SECRET PROOF: a DPoP-bound token for it, and the same proof refused again
  local url=$1 jwks_url=$2 id=$3 secret=$4 proof=$5 resp code body at
  resp=$(curl -sS --max-time 10 -u "$id:$secret" -H "DPoP: $proof" -d grant_type=client_credentials -d scope=api \
    -w '\n%{http_code}' "$url") || die "token request to $url failed"
  code=${resp##*$'\n'}; body=${resp%$'\n'*}
  echo "DPoP token check: HTTP $code ${body:0:100}..."
  [ "$code" = 200 ] || die "token endpoint answered $code to a DPoP proof"
  jq -e '.token_type == "DPoP"' <<<"$body" >/dev/null || die "token_type is not DPoP"
  at=$(jq -r '.access_token // empty' <<<"$body" 2>/dev/null || true)
  verify_jwt "$at" "$(curl -sf --max-time 10 "$jwks_url")" || die "the access token is not a valid ES256 JWT"
  AT=$at node -e '
    const c = JSON.parse(Buffer.from(process.env.AT.split(".")[1], "base64url"));
    if (!c.cnf || typeof c.cnf.jkt !== "string") { console.error("no cnf.jkt in the token"); process.exit(1); }
    console.log("bound to cnf.jkt " + c.cnf.jkt);' || die "the DPoP token is not bound"
  code=$(curl -s -o /dev/null --max-time 10 -w '%{http_code}' -u "$id:$secret" -H "DPoP: $proof" \
    -d grant_type=client_credentials -d scope=api "$url")
  echo "replayed-proof check: HTTP $code (expected 400)"
  [ "$code" = 400 ] || die "a replayed DPoP proof got HTTP $code"
}

# One row measured on the running server with pre-signed single-use JWTs (presigned.lua).
run_presigned() { # LABEL KIND DIR CLIENT_ID URL PID
  local label=$1 kind=$2 dir=$3 client=$4 url=$5 pid=$6
  echo "signing $PRESIGNED_COUNT single-use $kind JWTs for the measured run, a quarter as many for the warm-up ..."
  presign "$kind" "$dir" "$client" "$url" "$((PRESIGNED_COUNT / 4))" >"$dir/$kind.warm"
  presign "$kind" "$dir" "$client" "$url" "$PRESIGNED_COUNT" >"$dir/$kind.run"
  rm -f "$dir/$kind.warmed"
  PRESIGNED=$dir/$kind PRESIGNED_KIND=$kind run_bench "$label" "$url" "$pid" api "$HERE/presigned.lua"
}

bench_tessera() {
  say "Tessera: fresh SQLite data dir, ES256"
  TESSERA_DATA=$TMP/tessera-data; mkdir -p "$TESSERA_DATA"
  local out client_id client_secret tp base=http://127.0.0.1:$TESSERA_PORT
  out=$(tessera org create --name bench); echo "org: $out"
  jq -e '.id and .name == "bench"' <<<"$out" >/dev/null || die "org create printed: $out"
  out=$(tessera scope create --org bench api); echo "scope: $out"
  jq -e 'type == "object"' <<<"$out" >/dev/null || die "scope create printed: $out"
  out=$(echo 'bench-password-123' | tessera user create --org bench --email owner@bench.test --role owner --password-stdin)
  echo "user: $out"
  jq -e '.id and .email == "owner@bench.test" and .role == "owner"' <<<"$out" >/dev/null || die "user create printed: $out"
  out=$(tessera client create --org bench --owner owner@bench.test --name bench --grant client_credentials --scope api)
  client_id=$(jq -er .client_id <<<"$out") || die "client create printed: $out"
  client_secret=$(jq -er .client_secret <<<"$out") || die "client create printed no client_secret"
  echo "client: $client_id"
  local pk_dir=$TMP/pkjwt pk_id
  mkdir -p "$pk_dir"; pkjwt_keygen "$pk_dir"
  out=$(tessera client create --org bench --owner owner@bench.test --name bench-pkjwt --grant client_credentials --scope api \
    --jwks "$pk_dir/client.jwk")
  pk_id=$(jq -er 'select(.token_endpoint_auth_method == "private_key_jwt") | .client_id' <<<"$out") \
    || die "client create (private_key_jwt) printed: $out"
  echo "private_key_jwt client: $pk_id"

  port_free $TESSERA_PORT
  "$TESSERA_BIN" --data-dir "$TESSERA_DATA" serve --listen 127.0.0.1:$TESSERA_PORT ${TESSERA_SERVE_FLAGS:-} >"$TMP/tessera.log" 2>&1 &
  tp=$!; PIDS+=("$tp")
  wait_http "$base/healthz" "$tp" 30 "$TMP/tessera.log"
  check_token "$base/oauth2/token" "$base/oauth2/jwks" "$client_id" "$client_secret" api 401
  CLIENT_ID=$client_id CLIENT_SECRET=$client_secret run_bench "Tessera (SQLite, ES256)" "$base/oauth2/token" "$tp" api

  # Introspection (RFC 7662) of one live token by the same client: what a resource server that
  # introspects asks on every API request. It must say active, or the row measures a refusal.
  local token
  token=$(curl -sf -u "$client_id:$client_secret" -d grant_type=client_credentials -d scope=api "$base/oauth2/token" \
    | jq -er .access_token) || die "no token to introspect"
  curl -sf -u "$client_id:$client_secret" --data-urlencode "token=$token" "$base/oauth2/introspect" \
    | jq -e '.active == true' >/dev/null || die "introspection did not say active"
  CLIENT_ID=$client_id CLIENT_SECRET=$client_secret \
    run_bench "Tessera introspection (SQLite)" "$base/oauth2/introspect" "$tp" "$token" "$HERE/introspect.lua"

  # The same server, next: private_key_jwt, every request a fresh ES256 assertion (verify + jti spent).
  check_pkjwt_token "$base/oauth2/token" "$base/oauth2/jwks" "$(presign assertion "$pk_dir" "$pk_id" "$base/oauth2/token" 1)"
  run_presigned "Tessera private_key_jwt (SQLite, ES256 assertions)" assertion "$pk_dir" "$pk_id" "$base/oauth2/token" "$tp"

  # Then DPoP: the first client (secret in Basic) with a fresh ES256 proof per request (verify + jti
  # spent), each token bound to the proof's key.
  check_dpop_token "$base/oauth2/token" "$base/oauth2/jwks" "$client_id" "$client_secret" \
    "$(presign dpop "$pk_dir" "" "$base/oauth2/token" 1)"
  CLIENT_ID=$client_id CLIENT_SECRET=$client_secret \
    run_presigned "Tessera DPoP-bound (SQLite, ES256 proofs)" dpop "$pk_dir" "$client_id" "$base/oauth2/token" "$tp"
  echo "single-use ids remembered (assertion and proof jtis): $(sqlite3 "$TESSERA_DATA/tessera-replay.db" 'select count(*) from spent_ids' 2>&1)"
  stop_all
}

bench_oidc_provider() { # WORKERS
  local workers=$1 op i pids label
  [ "$workers" = 1 ] && label="node-oidc-provider, 1 process" || label="node-oidc-provider, $workers workers"
  say "$label (in-memory adapter, ES256 JWT access tokens)"
  port_free $OIDC_PORT
  cp "$SHARED/oidc-provider-server.mjs" "$PEERS/oidc/server.mjs" # must sit beside its node_modules
  (cd "$PEERS/oidc" && NODE_ENV=production PORT=$OIDC_PORT WORKERS=$workers exec node server.mjs) \
    >"$TMP/oidc$workers.log" 2>&1 &
  op=$!; PIDS+=("$op")
  # Every worker prints one "listening" line; measuring before all are up would under-count.
  for i in $(seq 100); do
    [ "$(grep -c listening "$TMP/oidc$workers.log" || true)" -ge "$workers" ] && break
    gone "$op" && { cat "$TMP/oidc$workers.log"; die "oidc-provider exited"; }
    sleep 0.1
  done
  wait_http "http://127.0.0.1:$OIDC_PORT/.well-known/openid-configuration" "$op" 10 "$TMP/oidc$workers.log"
  check_token "http://127.0.0.1:$OIDC_PORT/token" "http://127.0.0.1:$OIDC_PORT/jwks" "$PEER_ID" "$PEER_SECRET" "" 401
  pids="$op $(descendants "$op" | tr '\n' ' ')" # RSS of the primary and its workers
  run_bench "$label" "http://127.0.0.1:$OIDC_PORT/token" "$pids"
  stop_all
}

bench_glewlwyd() {
  say "Glewlwyd $(glewlwyd --version 2>/dev/null | head -1) (Debian package, SQLite, ES256)"
  port_free $GLEW_PORT
  local dir=$PEERS/glewlwyd gp status=0 base=http://127.0.0.1:$GLEW_PORT/api/oidc
  rm -f "$dir/glewlwyd.pid"
  DIR=$dir PORT=$GLEW_PORT "$SHARED/setup-glewlwyd.sh" || status=$?
  # The script starts glewlwyd itself; register it even when the setup failed half-way.
  if [ -s "$dir/glewlwyd.pid" ]; then gp=$(cat "$dir/glewlwyd.pid"); PIDS+=("$gp"); fi
  [ "$status" = 0 ] || die "setup-glewlwyd.sh failed ($status); see $dir/run.log"
  # Glewlwyd answers a wrong client secret with 403, not the 401 of RFC 6749 5.2.
  check_token "$base/token" "$base/jwks" "$PEER_ID" "$PEER_SECRET" api 403
  run_bench "Glewlwyd (SQLite, ES256)" "$base/token" "$gp" api
  stop_all
  # Read after the stop: while glewlwyd runs, its SQLite file is locked.
  echo "Glewlwyd access tokens persisted: $(sqlite3 "$dir/glewlwyd.db" 'select count(*) from gpo_access_token' 2>&1)"
}

# ---------------------------------------------------------------------------------------------------
# Report: a markdown table between the markers in README.md.

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "n/a" }'; }
verdict() { [ "$1" = 1 ] && echo "**PASS**" || echo "**FAIL**"; }

row_for() { # LABEL-PREFIX -> the matching row, if measured
  local r
  for r in "${ROWS[@]}"; do [[ $r == "$1"* ]] && { echo "$r"; return 0; }; done
  return 0
}

results_block() { # CONTEXT-LINE
  local r label rps p50 p99 rss errs t_rps="" t
  t=$(row_for "Tessera")
  [ -n "$t" ] && t_rps=$(cut -d'|' -f2 <<<"$t")
  echo "$1"
  echo
  echo "| run | req/s | p50 ms | p99 ms | peak RSS MiB | non-2xx + socket errors | Tessera req/s ÷ this |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r label rps p50 p99 rss errs <<<"$r"
    echo "| $label | $rps | $p50 | $p99 | $(mib "$rss") | $errs | $([ -n "$t_rps" ] && ratio "$t_rps" "$rps" || echo n/a) |"
  done
  echo
  if [ -z "$t" ]; then
    echo "Tessera was not measured in this run (SKIP_TESSERA=1), so the targets are not evaluated."
    return 0
  fi
  local ceil intro
  ceil=$(row_for "signing ceiling" | cut -d'|' -f2)
  intro=$(row_for "Tessera introspection" | cut -d'|' -f2)
  echo "Against the job's own limit (SPEC §17), in this run:"
  echo
  echo "- Tessera issuance ≥ 95 % of the signing ceiling: $(awk -v a="$t_rps" -v b="$ceil" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "n/a" }') —" \
    "$(verdict "$(awk -v a="$t_rps" -v b="$ceil" 'BEGIN { print (b > 0 && a >= 0.95 * b) }')")"
  echo "- Tessera introspection ≥ Tessera issuance: $(ratio "$intro" "$t_rps") —" \
    "$(verdict "$(awk -v a="$intro" -v b="$t_rps" 'BEGIN { print (b > 0 && a >= b) }')")"
  echo
  if [ "$SKIP_PEERS" = 1 ]; then
    echo "Peers were not measured in this run (SKIP_PEERS=1), so the targets are not evaluated."
    return 0
  fi
  local o1 hl tp99 trss terrs
  o1=$(row_for "node-oidc-provider, 1 process" | cut -d'|' -f2)
  hl=$(row_for "hello ceiling" | cut -d'|' -f2)
  IFS='|' read -r label rps p50 tp99 trss terrs <<<"$t"
  echo "Targets:"
  echo
  echo "- Tessera ≥ 10× node-oidc-provider single process: $(ratio "$t_rps" "$o1") —" \
    "$(verdict "$(awk -v a="$t_rps" -v b="$o1" 'BEGIN { print (b > 0 && a >= 10 * b) }')")"
  echo "- Tessera ≥ 50 % of the hello ceiling: $(awk -v a="$t_rps" -v b="$hl" 'BEGIN { printf "%.0f %%", 100 * a / b }') —" \
    "$(verdict "$(awk -v a="$t_rps" -v b="$hl" 'BEGIN { print (b > 0 && a >= 0.5 * b) }')")"
  echo "- p99 < 5 ms: $tp99 ms — $(verdict "$(awk -v p="$tp99" 'BEGIN { print (p < 5) }')")"
  echo "- peak RSS < 50 MB: $(awk -v k="$trss" 'BEGIN { printf "%.1f MB", k * 1024 / 1e6 }') —" \
    "$(verdict "$(awk -v k="$trss" 'BEGIN { print (k * 1024 < 50e6) }')")"
  echo "- every token a real ES256 JWT, secret really checked: signature verified against /oauth2/jwks and a" \
    "wrong secret refused with 401 before the run; $terrs non-2xx or socket errors during it —" \
    "$(verdict "$([ "$terrs" = 0 ] && echo 1 || echo 0)")"
}

write_readme() { # CONTEXT-LINE: replace what is between the markers (create the README if needed)
  local block; block=$(mktemp)
  results_block "$1" >"$block"
  local start="<!-- $MARKER:start -->" end="<!-- $MARKER:end -->"
  if [ ! -f "$README" ]; then
    printf '# Benchmarks\n\nRun `bench/run.sh`.\n' >"$README"
  fi
  if ! grep -qF "$start" "$README"; then
    printf '\n%s\n%s\n' "$start" "$end" >>"$README"
  fi
  awk -v f="$block" -v start="$start" -v end="$end" '
    $0 == start { print; while ((getline l < f) > 0) print l; skip = 1; next }
    $0 == end   { skip = 0 }
    !skip' "$README" >"$README.new"
  mv "$README.new" "$README"
  echo; cat "$block"
  rm -f "$block"
}

# ---------------------------------------------------------------------------------------------------

main() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  TMP=$(mktemp -d /tmp/tessera-bench.XXXXXX)

  ensure_tools
  if [ "$SKIP_PEERS" != 1 ]; then
    ensure_oidc_provider
    ensure_hello
  fi
  if [ "$SKIP_TESSERA" != 1 ]; then
    ensure_ceiling
    if [ -n "$TESSERA_PREBUILT" ]; then [ -x "$TESSERA_BIN" ] || die "TESSERA_BIN=$TESSERA_BIN is not executable"
    else build_tessera; fi
  fi

  local commit started load
  commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "none (no commit yet)")
  # GIT_OPTIONAL_LOCKS=0: read-only, never rewrite the index of a tree someone is working in.
  [ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "$REPO" status --porcelain 2>/dev/null | grep -v ' bench/' || true)" ] \
    && commit="$commit + uncommitted changes"
  started=$(date -u '+%Y-%m-%d %H:%M UTC')
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  say "run of $started, commit $commit, nproc $(nproc), load average $load"
  awk -v l="${load%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }' \
    && echo "WARNING: the machine is busy (load $load on $(nproc) cores); figures will be noisy"

  [ "$SKIP_PEERS" = 1 ] || bench_hello
  if [ "$SKIP_TESSERA" != 1 ]; then
    bench_ceiling
    bench_tessera
  fi
  if [ "$SKIP_PEERS" != 1 ]; then
    bench_oidc_provider 1
    bench_oidc_provider 2
    bench_glewlwyd
  fi

  local ctx
  ctx="Run of $started · commit \`$commit\` · \`nproc\` $(nproc) ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1))"
  ctx+=" · load average at start $load, at end $(cut -d' ' -f1-3 /proc/loadavg)"
  ctx+=" · wrk $THREADS threads × $CONNS connections, keep-alive, 5 s warm-up + $DUR measured, on the same cores"
  if [ "$SKIP_PEERS" = 1 ]; then
    ctx+=" · **peers skipped** (SKIP_PEERS=1)"
  else
    ctx+=" · oidc-provider $(jq -r .version "$PEERS/oidc/node_modules/oidc-provider/package.json"), node $(node -v)"
    ctx+=", Glewlwyd $(glewlwyd --version 2>/dev/null | head -1)"
  fi
  [ "$SKIP_TESSERA" = 1 ] && ctx+=" · **Tessera skipped** (SKIP_TESSERA=1)"
  write_readme "$ctx"
  say "done: table in bench/README.md, raw output in ${RAW#"$REPO"/}"
}

mkdir -p "$RESULTS_DIR"
# tee -i: an interrupt must not kill the log before cleanup has reported stopping the servers.
main "$@" 2>&1 | tee -i "$RAW"
