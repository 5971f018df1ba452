#!/usr/bin/env bash
# What Kustomize builds cost: kslint on the real corpus (../shared/corpus/real,
# 11 projects, about 300 kustomizations) in the default mode (builds) next to
# `--kustomize files` (each file as written), without Helm.
#
#   bench/kustomize.sh [CORPUS]
#
# Each mode runs ROUNDS times (default 7); the best wall time counts. Also
# prints how many kustomizations still go to the external tool, and why (a
# run with no kustomize or kubectl on PATH reports each as a note).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/real}
cargo build --release --quiet --bin kslint
kslint=$PWD/target/release/kslint
args=(--no-config --format json --fail-on never --helm-bin /nonexistent/helm)

# Rounds alternate the two modes, so a slow spell of a shared machine
# costs both alike; the best round of each counts.
rounds=${ROUNDS:-7}
elapsed_ns() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  echo $((end - start))
}

cd "$corpus"
files_ns=
builds_ns=
for _ in $(seq "$rounds"); do
  ns=$(elapsed_ns "$kslint" "${args[@]}" --kustomize files .)
  if [ -z "$files_ns" ] || [ "$ns" -lt "$files_ns" ]; then files_ns=$ns; fi
  ns=$(elapsed_ns "$kslint" "${args[@]}" .)
  if [ -z "$builds_ns" ] || [ "$ns" -lt "$builds_ns" ]; then builds_ns=$ns; fi
done
echo "corpus: $corpus ($(nproc) cores)"
python3 -c "
f, b = $files_ns / 1e6, $builds_ns / 1e6
print(f'--kustomize files   {f:8.0f} ms')
print(f'default (builds)    {b:8.0f} ms   {b / f:.2f}x the files mode')"
empty=$(mktemp -d)
trap 'rm -rf "$empty"' EXIT
PATH=$empty "$kslint" "${args[@]}" . | python3 -c '
import collections, json, re, sys
why = collections.Counter()
for d in json.load(sys.stdin)["diagnostics"]:
    m = re.search(r"uses (.*?), which kslint", d["message"]) if d["rule"] == "kustomize-build-failed" else None
    if m:
        why[m.group(1)] += 1
print(f"sent to the external tool: {sum(why.values())}", dict(why))'
