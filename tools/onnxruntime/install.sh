#!/usr/bin/env bash
# Installs ONNX Runtime (npm's onnxruntime-node, CPU library included) into a build folder,
# for the export checks and the speed reference. Debian ships no ONNX Runtime.
#
#   tools/onnxruntime/install.sh BUILD_DIR
#
# Prints the package folder (BUILD_DIR/onnxruntime/node_modules/onnxruntime-node) and
# exits 0 when it is usable; prints "skipped: <why>" and exits 77 when node or npm is
# absent or the registry is out of reach, so that callers can skip (ctest's SKIP code).
# --ignore-scripts: the package's install step would download GPU binaries.
set -uo pipefail
VERSION=1.30.0
build=${1:?usage: tools/onnxruntime/install.sh BUILD_DIR}
prefix="$build/onnxruntime"
package="$prefix/node_modules/onnxruntime-node"

usable() { [ -f "$package/package.json" ] && grep -q "\"version\": \"$VERSION\"" "$package/package.json"; }

command -v node >/dev/null || { echo "skipped: node is not installed (apt-get install nodejs npm)"; exit 77; }
if ! usable; then
  command -v npm >/dev/null || { echo "skipped: npm is not installed (apt-get install npm)"; exit 77; }
  mkdir -p "$prefix"
  # Tests run in parallel: one installer at a time, the others wait for it.
  exec 9>"$prefix/.lock"
  flock 9
  if ! usable; then
    log="$prefix/npm.log"
    if ! npm install --ignore-scripts --no-audit --no-fund --prefix "$prefix" "onnxruntime-node@$VERSION" >"$log" 2>&1; then
      echo "skipped: npm install onnxruntime-node@$VERSION failed (offline?); see $log"
      exit 77
    fi
  fi
fi
echo "$(cd "$package" && pwd)"
