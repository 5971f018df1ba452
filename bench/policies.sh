#!/usr/bin/env bash
# What 20 custom rules (bench/custom-rules-20.yaml) add to a run of
# `kslint --format json` on a generated corpus.
#
#   bench/policies.sh [RESOURCES]     (default 10000)
#
# The corpus comes from ../shared/tools/gen-corpus.py (seed 1), written to
# target/bench-corpus-RESOURCES once and reused. The two commands take
# turns, 9 runs each; the best wall time and the best CPU time (user +
# system, steadier on a shared machine) count.
set -euo pipefail
cd "$(dirname "$0")/.."
resources=${1:-10000}
corpus=target/bench-corpus-$resources
if [ ! -d "$corpus" ]; then
  python3 ../shared/tools/gen-corpus.py --out "$corpus" --resources "$resources" --seed 1 --force >/dev/null
fi
cargo build --release --quiet --bin kslint

# One run: "wall_ms cpu_ms".
run() {
  /usr/bin/time -f '%e %U %S' -o target/bench-time "$@" >/dev/null
  awk '{printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000}' target/bench-time
}

findings=$(target/release/kslint --config bench/custom-rules-20.yaml --format json --fail-on never "$corpus" |
  python3 -c 'import json,sys; d=json.load(sys.stdin)["diagnostics"]; print(sum(1 for x in d if x["rule"] in open("bench/custom-rules-20.yaml").read()), "custom findings,", sum(1 for x in d if x["rule"] == "policy-expression-error"), "expression errors")')
plain_wall= plain_cpu= custom_wall= custom_cpu=
for _ in 1 2 3 4 5 6 7 8 9; do
  read -r w c < <(run target/release/kslint --no-config --format json --fail-on never "$corpus")
  if [ -z "$plain_wall" ] || [ "$w" -lt "$plain_wall" ]; then plain_wall=$w; fi
  if [ -z "$plain_cpu" ] || [ "$c" -lt "$plain_cpu" ]; then plain_cpu=$c; fi
  read -r w c < <(run target/release/kslint --config bench/custom-rules-20.yaml --format json --fail-on never "$corpus")
  if [ -z "$custom_wall" ] || [ "$w" -lt "$custom_wall" ]; then custom_wall=$w; fi
  if [ -z "$custom_cpu" ] || [ "$c" -lt "$custom_cpu" ]; then custom_cpu=$c; fi
done
echo "corpus: $corpus ($(nproc) cores); with the rules: $findings"
python3 -c "
pw, pc, cw, cc = $plain_wall, $plain_cpu, $custom_wall, $custom_cpu
print(f'without custom rules  wall {pw:6d} ms  cpu {pc:6d} ms')
print(f'with 20 custom rules  wall {cw:6d} ms  cpu {cc:6d} ms  (+{(cw - pw) / pw * 100:.0f}% wall, +{(cc - pc) / pc * 100:.0f}% cpu)')"
