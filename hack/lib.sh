# Shared settings for hack/ scripts. Source it; do not execute it.
# Every path the scripts use is derived here so one variable moves them all.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Built binaries live outside the repo, keyed by version, so a fresh clone on the
# same machine reuses them and nothing built is ever committed.
AO_CACHE_DIR="${AO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-orchestrator}"
# Runtime state of the local control plane / docker engine (PKI, data, logs, pids).
AO_STATE_DIR="${AO_STATE_DIR:-${TMPDIR:-/tmp}/agent-orchestrator}"

K8S_VERSION="v1.34.4"
ETCD_VERSION="v3.6.13"
# etcdctl and etcdutl (snapshot save and restore, hack/dr-drill.sh): the Go module proxy serves
# no v3.6.13 of their modules; v3.6.14 reads and writes the same snapshots.
ETCDCTL_VERSION="v3.6.14"
KWOK_VERSION="v0.8.0"
HELM_VERSION="v3.21.4"
# Prometheus 3.16 (its Go module is versioned v0.<minor>.<patch>): promtool checks and unit-tests the chart's rules.
PROMTOOL_VERSION="v0.316.0"
# Manifest linters run on the rendered chart (e2e/1-chart-lint.test.ts).
KUBE_SCORE_VERSION="v1.20.0"
KUBECONFORM_VERSION="v0.8.0"
# kubeconform's Kubernetes JSON schemas: the PyPI package kubernetes-validate ships them for
# each Kubernetes minor (hack/kube-schemas.sh installs it into the cache).
KUBERNETES_VALIDATE_VERSION="1.37.0"

# tool_bin TOOL VERSION: where hack/build-tools.sh puts that tool's binaries.
tool_bin() { echo "${AO_CACHE_DIR}/bin/$1-$2"; }

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# exited PID: the process is gone, or a zombie whose threads have all finished (its
# parent, often init, reaps it later). A multi-threaded process's main thread turns
# zombie before the others have released its sockets and files.
exited() {
  [[ ! -r "/proc/$1/stat" ]] && return 0
  [[ "$(cut -d')' -f2 "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)" == Z ]] || return 1
  (( $(ls "/proc/$1/task" 2>/dev/null | wc -l) <= 1 ))
}

# stop_pid NAME PID DEADLINE: SIGTERM, wait for the exit, SIGKILL after the deadline.
stop_pid() {
  kill -TERM "$2" 2>/dev/null || return 0
  wait_for "$1 to exit" "$3" exited "$2" || kill -KILL "$2" 2>/dev/null || true
}

# wait_for DESCRIPTION DEADLINE_SECONDS CMD...: poll CMD until it succeeds or the
# deadline passes. Readiness is always a condition with a deadline, never a sleep.
wait_for() {
  local what="$1" deadline=$(( $(date +%s) + $2 )); shift 2
  until "$@" >/dev/null 2>&1; do
    if (( $(date +%s) >= deadline )); then log "timed out waiting for ${what}"; return 1; fi
    sleep 0.2
  done
}
