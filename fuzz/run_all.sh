#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) under a 2 GB memory limit and a 10 s
# time bound per input, one after the other, then minimises each corpus. Findings land in
# fuzz/artifacts/<target>/; logs in fuzz/logs/<target>.log.
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
mkdir -p logs
cargo +nightly fuzz build -O || exit 1
for target in npy image geotiff csv model config; do
  cargo +nightly fuzz run -O "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
    -malloc_limit_mb=2048 -timeout=10 -max_len=131072 -print_final_stats=1 \
    > "logs/$target.log" 2>&1
  echo "$target: exit $?" >> logs/summary.txt
  cargo +nightly fuzz cmin -O "$target" -- -rss_limit_mb=2048 -timeout=10 >> "logs/$target.log" 2>&1
done
