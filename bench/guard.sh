#!/usr/bin/env bash
# Guard verification throughput against ring's raw ECDSA P-256 verification, on this machine.
# Release build; results are printed and kept in bench/results/guard-last-run.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/results
nice cargo build --release --quiet -p tessera-guard --example throughput
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    SECONDS="${SECONDS_PER_RUN:-5}" target/release/examples/throughput
} | tee bench/results/guard-last-run.txt
