#!/usr/bin/env bash
# Throughput of `kslint --format json` next to a parse-only baseline
# (saphyr-parser events, examples/parse_baseline.rs) on a generated corpus.
#
#   bench/throughput.sh [RESOURCES]     (default 10000)
#
# The corpus comes from ../shared/tools/gen-corpus.py (seed 1), written to
# target/bench-corpus-RESOURCES once and reused. Each command runs 5 times;
# the best wall time counts. Runs on every core (rayon's default).
set -euo pipefail
cd "$(dirname "$0")/.."
resources=${1:-10000}
corpus=target/bench-corpus-$resources
if [ ! -d "$corpus" ]; then
  python3 ../shared/tools/gen-corpus.py --out "$corpus" --resources "$resources" --seed 1 --force >/dev/null
fi
cargo build --release --quiet --bin kslint --example parse_baseline
bytes=$(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -printf '%s\n' | awk '{s+=$1} END {print s}')
objects=$(target/release/kslint --no-config --format json --fail-on never "$corpus" | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["objects"])')

best() {
  local best_ns=
  for _ in 1 2 3 4 5; do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    local ns=$((end - start))
    if [ -z "$best_ns" ] || [ "$ns" -lt "$best_ns" ]; then best_ns=$ns; fi
  done
  echo "$best_ns"
}

report() {
  local name=$1 ns=$2
  python3 -c "
b, o, ns = $bytes, $objects, $ns
s = ns / 1e9
print(f'{\"$name\":<28} {s*1000:8.1f} ms  {b/s/1e6:7.1f} MB/s  {o/s:10.0f} objects/s')"
}

echo "corpus: $corpus ($((bytes / 1000000)) MB, $objects objects, $(nproc) cores)"
parse_ns=$(best target/release/examples/parse_baseline "$corpus")
lint_ns=$(best target/release/kslint --no-config --format json --fail-on never "$corpus")
report "saphyr events (baseline)" "$parse_ns"
report "kslint --format json" "$lint_ns"
python3 -c "print(f'kslint runs at {$parse_ns / $lint_ns * 100:.0f}% of the parse-only baseline')"
