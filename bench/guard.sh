#!/usr/bin/env bash
# Guard verification throughput against ring's raw ECDSA P-256 verification, on this machine: without
# the cache of verified tokens, with it on distinct tokens (every lookup a miss), and with each token
# presented 100 times (99 hits in 100). Release build; results are printed and kept in
# bench/results/guard-last-run.txt (or the file GUARD_RESULTS names).
set -euo pipefail
cd "$(dirname "$0")/.."
results="${GUARD_RESULTS:-bench/results/guard-last-run.txt}"
mkdir -p "$(dirname "$results")"
nice cargo build --release --quiet -p tessera-guard --example throughput
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    SECONDS="${SECONDS_PER_RUN:-5}" "${CARGO_TARGET_DIR:-target}/release/examples/throughput"
} | tee "$results"
