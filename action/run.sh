#!/usr/bin/env bash
# The action's lint step (action.yml runs it; tests/action.rs runs it
# locally). One kslint run writes every report: workflow-command
# annotations on stdout, the log format, SARIF, and a Markdown summary
# appended to $GITHUB_STEP_SUMMARY. The exit code follows fail-on.
set -uo pipefail

kslint_bin=${KSLINT_BIN:-kslint}
log_format=${INPUT_FORMAT:-human}
sarif_file=${INPUT_SARIF_FILE:-kslint.sarif}
fail_on=${INPUT_FAIL_ON:-warning}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

args=(--fail-on "$fail_on")
if [ -n "${INPUT_CONFIG:-}" ]; then
  args+=(--config "$INPUT_CONFIG")
fi
if [ -n "${INPUT_BASELINE:-}" ]; then
  args+=(--baseline "$INPUT_BASELINE")
fi
# A pull request's base: only the change's findings. A shallow clone
# (actions/checkout's default) lacks the base commit; then every finding is
# reported, with a notice that says how to get only the change's.
rev=${INPUT_NEW_FROM_REV:-}
if [ "$rev" = "pull-request-base" ]; then
  # Empty on a push: every finding.
  rev=${PULL_REQUEST_BASE:-}
fi
if [ -n "$rev" ]; then
  if [[ "$rev" != -* ]] && git cat-file -e "$rev^{commit}" 2>/dev/null; then
    args+=(--new-from-rev "$rev")
  else
    echo "::notice title=kslint::Reporting every finding: the revision new-from-rev names is not in this clone. Check out with fetch-depth: 0 to report only the findings of the change."
  fi
fi
# Paths are separated by whitespace or newlines, as in a YAML block.
read -r -d '' -a paths <<<"${INPUT_PATHS:-.}" || true
if [ "${#paths[@]}" -eq 0 ]; then
  paths=(.)
fi

formats=(--format github)
outputs=()
if [ "$log_format" != "github" ]; then
  formats+=(--format "$log_format")
  outputs+=(--output "$work/log")
fi
formats+=(--format sarif --format markdown)
outputs+=(--output "$sarif_file" --output "$work/summary.md")

"$kslint_bin" "${args[@]}" "${formats[@]}" "${outputs[@]}" -- "${paths[@]}" 2>"$work/stderr"
status=$?

# The log and kslint's errors quote the linted tree (file and object
# names), which a pull request controls: between ::stop-commands:: and a
# random token the runner reads no line as a workflow command.
token="kslint-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
echo "::stop-commands::$token"
if [ -f "$work/log" ]; then
  cat "$work/log"
fi
# On stdout: the runner reads stdout and stderr apart, so stderr could
# pass the fence in either direction.
cat "$work/stderr"
echo "::$token::"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$work/summary.md" ]; then
  cat "$work/summary.md" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "sarif-file=$sarif_file" >>"$GITHUB_OUTPUT"
  echo "exit-code=$status" >>"$GITHUB_OUTPUT"
fi
exit "$status"
