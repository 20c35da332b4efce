#!/usr/bin/env bash
# Prints the directory of a Node.js >= 22 binary, installing Node 24 from the npm
# registry's `node` package into .tools/node (git-ignored) when the machine's own
# Node is older. The Makefile puts this directory first on PATH for every target.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MIN_MAJOR=22
NODE_PACKAGE="node@${AO_NODE_VERSION:-24}"
TOOLS_NODE="${REPO_ROOT}/.tools/node"
LOCAL_BIN="${TOOLS_NODE}/node_modules/node/bin"

major_of() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [[ -x "${LOCAL_BIN}/node" ]] && (( $(major_of "${LOCAL_BIN}/node") >= MIN_MAJOR )); then
  echo "${LOCAL_BIN}"; exit 0
fi
if command -v node >/dev/null && (( $(major_of node) >= MIN_MAJOR )) && [[ -z "${AO_FORCE_LOCAL_NODE:-}" ]]; then
  dirname "$(command -v node)"; exit 0
fi

command -v npm >/dev/null || die "no Node >= ${MIN_MAJOR} on PATH and no npm to install ${NODE_PACKAGE}; install Node 24 and retry"
log "installing ${NODE_PACKAGE} into ${TOOLS_NODE} (the machine's Node is older than ${MIN_MAJOR})"
mkdir -p "${TOOLS_NODE}"
# The package's preinstall script fetches the platform binary as a second npm package.
npm install --prefix "${TOOLS_NODE}" --ignore-scripts=false --no-save --no-audit --no-fund --loglevel=error "${NODE_PACKAGE}" >&2
[[ -x "${LOCAL_BIN}/node" ]] || die "npm installed ${NODE_PACKAGE} but ${LOCAL_BIN}/node is missing (were install scripts disabled? check npm's ignore-scripts setting)"
log "node $("${LOCAL_BIN}/node" --version) ready in ${LOCAL_BIN}"
echo "${LOCAL_BIN}"
