#!/usr/bin/env bash
# The Node the image runs, for CI's second run of the tests, from the npm registry's `node` package and nowhere else:
# its install step adds node-<os>-<arch>, the official build (bin/node, and include/node for node-gyp). Two versions,
# both read from the Dockerfile, as the image uses them:
#   NODE_VERSION        (24)      runs the tests: the newest 24 the registry's `node` package has
#   NODE_BUILD_VERSION  (24.18.1) the headers better-sqlite3 is compiled against (the Dockerfile says why)
# Installed under .ci/node/ (git-ignored), not node_modules, which `npm ci` replaces; reused when already there
# (`rm -rf .ci/node` for a newer 24).
#
# Prints the lines to eval, as postgres.sh does (progress goes to stderr):
#   export PATH=…/bin:$PATH        node is Node 24, and so is npm's, which runs on the first node on PATH
#   export npm_config_nodedir=…    node-gyp compiles against NODE_BUILD_VERSION's headers
# Usage: eval "$(bash .ci/image-node.sh)" && npm rebuild better-sqlite3 && npm test
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "image-node.sh: $*" >&2; }
arg() { sed -n "s/^ARG $1=//p" Dockerfile; }

# The folder of the platform package under an install of `node` (the one with bin/node).
platform_dir() {
  for dir in "$1"/node_modules/node/node_modules/*/; do [ -x "$dir/bin/node" ] && echo "${dir%/}"; done
}

# node@$1's platform package, installed under .ci/node/$1 first when missing.
node_dir() {
  local prefix=".ci/node/$1" dir
  if [ -z "$(platform_dir "$prefix")" ]; then
    log "installing node@$1 from the npm registry"
    rm -rf "$prefix" && mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "node@$1" >&2
  fi
  dir="$(platform_dir "$prefix" | head -n 1)"
  # The binary comes from the `node` package's preinstall script, which npm must have run.
  [ -n "$dir" ] || { log "node@$1 brought no node binary (were its install scripts skipped?)"; exit 1; }
  echo "$PWD/$dir"
}

run="$(node_dir "$(arg NODE_VERSION)")"
build="$(node_dir "$(arg NODE_BUILD_VERSION)")"
abi() { "$1/bin/node" -p process.versions.modules; }
if [ "$(abi "$run")" != "$(abi "$build")" ]; then
  log "Node $("$run/bin/node" --version) and the headers of $("$build/bin/node" --version) have different ABIs"
  exit 1
fi
log "Node $("$run/bin/node" --version) runs; native modules compile against $("$build/bin/node" --version)'s headers"
echo "export PATH=\"$run/bin:\$PATH\""
echo "export npm_config_nodedir=\"$build\""
