#!/usr/bin/env bash
# Runs each fuzz target for a bounded time, seeded with the repository's
# YAML fixtures. Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly
# toolchain (libFuzzer's instrumentation).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [JOBS]     (defaults: 60, 1)
#
# Crashes land in fuzz/artifacts/TARGET/; `cargo +nightly fuzz run TARGET
# ARTIFACT` replays one.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
jobs=${2:-1}
for target in yaml_loader lint_tree kustomize_build; do
  corpus=corpus/$target
  mkdir -p "$corpus"
  # Seeds: every YAML fixture of the repository, once.
  if [ -z "$(ls -A "$corpus")" ]; then
    find ../testdata -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -size -64k \
      -exec sh -c 'for f; do cp "$f" "'"$corpus"'/$(sha1sum "$f" | cut -c1-16)"; done' _ {} +
  fi
  cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
    -jobs="$jobs" -workers="$jobs" -print_final_stats=1
  # libFuzzer writes fuzz-N.log per job; keep them per target.
  mkdir -p logs
  for log in fuzz-*.log; do
    [ -f "$log" ] && mv "$log" "logs/$target-${log#fuzz-}"
  done
done
