#!/usr/bin/env bash
# The action's install step for a released version: download the binary
# for this runner, check its SHA-256, and put it on PATH.
set -euo pipefail

version=${INPUT_VERSION#v}
case "${RUNNER_OS}-${RUNNER_ARCH}" in
  Linux-X64) target=x86_64-unknown-linux-musl ;;
  Linux-ARM64) target=aarch64-unknown-linux-musl ;;
  macOS-X64) target=x86_64-apple-darwin ;;
  macOS-ARM64) target=aarch64-apple-darwin ;;
  Windows-X64) target=x86_64-pc-windows-msvc ;;
  *)
    echo "::error title=kslint::no prebuilt kslint for ${RUNNER_OS} ${RUNNER_ARCH}; leave 'version' empty to build from source"
    exit 1
    ;;
esac
archive="kslint-v${version}-${target}.tar.gz"
base="https://github.com/${KSLINT_REPOSITORY}/releases/download/v${version}"
dir="${RUNNER_TEMP}/kslint-${version}"
mkdir -p "$dir/bin"
curl -fsSL --retry 3 -o "$dir/$archive" "$base/$archive"
curl -fsSL --retry 3 -o "$dir/$archive.sha256" "$base/$archive.sha256"
# Relative paths: Git Bash's tar reads `D:\...` as a remote host, and
# macOS has shasum where Linux has sha256sum.
(
  cd "$dir"
  if command -v sha256sum >/dev/null; then
    sha256sum -c "$archive.sha256"
  else
    shasum -a 256 -c "$archive.sha256"
  fi
  tar -xzf "$archive" -C bin
)
echo "$dir/bin" >>"$GITHUB_PATH"
