#!/usr/bin/env bash
# How kslint scales: generated corpora of 10k, 100k and 1M objects
# (../shared/tools/gen-corpus.py, seed 1), each linted with
# `kslint --format json` next to the parse-only baseline
# (examples/parse_baseline.rs), plus `who-can create pods` and
# `rbac graph`; wall time, CPU time and peak memory (GNU time's maximum
# resident set) for each.
#
#   bench/scale.sh            10k, 100k and 1M (1M needs about 1.5 GB of disk)
#   bench/scale.sh --quick    10k and 100k
#
# Corpora are written to target/bench-corpus-N once and reused. One run per
# command: at these sizes the noise is small next to what is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=(10000 100000 1000000)
if [ "${1:-}" = "--quick" ]; then
  sizes=(10000 100000)
fi
cargo build --release --quiet --bin kslint --example parse_baseline
kslint=target/release/kslint

# Prints "wall_s cpu_s peak_mb" for a command, its output discarded.
measure() {
  local stats
  stats=$(mktemp)
  /usr/bin/time -o "$stats" -f '%e %U %S %M' "$@" >/dev/null 2>&1 || true
  awk 'END {printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024}' "$stats"
  rm -f "$stats"
}

printf '%-9s %-8s %-26s %9s %9s %9s\n' objects input command wall_s cpu_s peak_mb
for n in "${sizes[@]}"; do
  corpus=target/bench-corpus-$n
  if [ ! -d "$corpus" ]; then
    python3 ../shared/tools/gen-corpus.py --out "$corpus" --resources "$n" --seed 1 --force >/dev/null
  fi
  # Input: the bytes of the YAML and JSON files, as the parser reads them.
  mb=$(find "$corpus" -type f \( -name '*.yaml' -o -name '*.yml' -o -name '*.json' \) -printf '%s\n' |
    awk '{s += $1} END {printf "%.0f", s / 1e6}')
  row() {
    local name=$1
    shift
    read -r wall cpu peak < <(measure "$@")
    printf '%-9s %-8s %-26s %9s %9s %9s\n' "$n" "${mb}MB" "$name" "$wall" "$cpu" "$peak"
  }
  row "parse only" target/release/examples/parse_baseline "$corpus"
  row "kslint --format json" "$kslint" --no-config --format json --fail-on never "$corpus"
  row "who-can create pods" "$kslint" who-can create pods "$corpus"
  row "rbac graph" "$kslint" rbac graph "$corpus"
done
