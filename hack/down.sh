#!/usr/bin/env bash
# `make down`: stops what `make up` started. The control plane's data goes with it, and so
# do its Agents: their containers on the Docker engine are removed too, or the next start
# would find containers no Agent owns.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
hack="$(cd "$(dirname "$0")" && pwd)"
# Node 24 first on PATH, as make gives it, for running the scripts directly too.
PATH="$("${hack}/node.sh"):${PATH}"

node "${hack}/kwok-runners.ts" stop
node "${hack}/host-operator.ts" stop
if docker_host="$("${hack}/docker.sh" status 2>/dev/null | tail -n 1)" && [[ -n "${docker_host}" ]]; then
  DOCKER_HOST="${docker_host}" docker ps -aq --filter label=agents.orchestrator.dev/uid | xargs -r env DOCKER_HOST="${docker_host}" docker rm -f >/dev/null
fi
"${hack}/docker.sh" stop
"${hack}/control-plane.sh" stop
