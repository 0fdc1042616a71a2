#!/usr/bin/env bash
# Server CPU per request: runs wrk (2 threads, 32 connections, 8 s) against URL and reads the
# server process's user+system CPU time from /proc before and after. Unlike req/s, this figure
# hardly depends on how much CPU wrk takes, so it is the one to compare when changing the hot path
# (run old and new binaries alternately, a few times each).
# Usage: bench/cpu-per-request.sh SERVER_PID URL LUA_SCRIPT [script args...]
#   e.g. bench/cpu-per-request.sh $PID http://127.0.0.1:18090/oauth2/token ../shared/bench/token.lua ID SECRET api
set -euo pipefail
PID=$1; URL=$2; LUA=$3; shift 3
cpu() { awk '{print $14+$15}' "/proc/$PID/stat"; }
t0=$(cpu)
out=$(wrk -t2 -c32 -d8s -s "$LUA" "$URL" -- "$@" | grep RESULT)
t1=$(cpu)
requests=$(echo "$out" | sed 's/.*requests=\([0-9]*\).*/\1/')
ticks=$(getconf CLK_TCK)
echo "$out"
echo "server CPU: $(( (t1 - t0) * 1000000 / ticks / requests )) us per request, $(( (t1 - t0) * 100 / ticks / 8 )) % of a core on average"
