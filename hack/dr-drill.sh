#!/usr/bin/env bash
# The disaster-recovery drill on the local control plane: an operator and a fleet of
# simulated agents at work, an etcd snapshot taken while tasks run (control-plane.sh
# backup), more work finished after it, the plane destroyed and restored from the
# snapshot into a fresh one (control-plane.sh restore), the operator and runners started
# again; then every task must end exactly once, what was lost be redone as a recorded
# attempt, and the agents be the same objects, Ready. It destroys the shared plane's
# state since the snapshot: run it alone.
#
# Usage: hack/dr-drill.sh [AGENTS] [TASKS]   (default 5 agents, 40 tasks done before the
#        snapshot and 40 waiting at it; `make test` runs a bounded form: 2 and 3)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "${REPO_ROOT}"
export PATH="$("${REPO_ROOT}/hack/node.sh"):${PATH}"
hack/control-plane.sh start >/dev/null
hack/build-tools.sh etcdctl >/dev/null
AO_DR_AGENTS="${1:-5}" AO_DR_TASKS="${2:-40}" \
  npx vitest run --project disruptive test/disruptive/disaster-recovery.test.ts
