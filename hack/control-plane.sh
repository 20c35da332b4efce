#!/usr/bin/env bash
# A real single-host Kubernetes control plane for tests and the demo: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler and kwok fake nodes,
# all bound to 127.0.0.1. Built from the Go module proxy by hack/build-tools.sh.
#
# Usage: hack/control-plane.sh start [--nodes N] | nodes N | stop | status | env | bin | helm | etcd-url
#   start   idempotent: a healthy running plane is left alone (given --nodes, it gets at
#           least that many kwok nodes). Prints the admin kubeconfig path on stdout.
#   nodes N exactly N Ready kwok nodes (kwok-node-0 .. N-1): adds or removes the rest.
#   stop    stops the processes this script recorded (and nothing else), removes
#           their data and keeps the logs.
#   status  exit 0 when every process is alive and the API server is ready.
#   env     prints shell exports (KUBECONFIG, PATH) for `eval "$(... env)"`.
#   bin     prints the folder holding kubectl (and the other Kubernetes binaries).
#   helm    prints the path of the helm binary.
#   etcd-url prints etcd's client URL (tests compact etcd through it).
#   restart kube-apiserver [FLAG...]   SIGKILLs the API server and starts it again (tests),
#           with extra flags (the audit webhook test: --audit-policy-file, ...); without
#           flags, its defaults.
#   restart etcd   SIGKILLs etcd and starts it again on its data (make chaos); waits until
#           the API server is ready on it again.
#   restart kube-scheduler [FLAG...]   the same for the scheduler, with extra flags
#           (benchmarks: --kube-api-qps, --kube-api-burst); without flags, its defaults.
#   backup DIR    an etcd snapshot of the running plane (etcdctl snapshot save) and a copy
#           of its PKI, into DIR.
#   restore DIR   destroys the plane (every component SIGKILLed, its data removed) and
#           starts it again from DIR: etcdutl snapshot restore, the same PKI (docs/operations.md).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

PLANE_DIR="${AO_STATE_DIR}/control-plane"
PKI="${PLANE_DIR}/pki"
PIDS="${PLANE_DIR}/pids"
LOGS="${AO_STATE_DIR}/logs/control-plane"
KUBECONFIG_PATH="${PLANE_DIR}/admin.kubeconfig"

ETCD_PORT="${AO_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${AO_ETCD_PEER_PORT:-12380}"
APISERVER_PORT="${AO_APISERVER_PORT:-16443}"
KCM_PORT="${AO_KCM_PORT:-10257}"
SCHEDULER_PORT="${AO_SCHEDULER_PORT:-10259}"
KWOK_PORT="${AO_KWOK_PORT:-10247}"
NODES="${AO_NODES:-3}"
NODES_GIVEN=false
# Nodes created per step beyond the first few: kwok initialises each new node with a
# few writes of its own, so a thousand at once outlast any single deadline.
NODE_BATCH="${AO_NODE_BATCH:-200}"

# Stop order is the reverse of start order.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

K8S_BIN="$(tool_bin kubernetes "${K8S_VERSION}")"
ETCD_BIN="$(tool_bin etcd "${ETCD_VERSION}")"
ETCDCTL_BIN="$(tool_bin etcdctl "${ETCDCTL_VERSION}")"
KWOK_BIN="$(tool_bin kwok "${KWOK_VERSION}")"
HELM_BIN="$(tool_bin helm "${HELM_VERSION}")"

kubectl_admin() { "${K8S_BIN}/kubectl" --kubeconfig "${KUBECONFIG_PATH}" "$@"; }

pid_alive() {
  local name="$1" pid
  [[ -f "${PIDS}/${name}.pid" ]] || return 1
  pid="$(cat "${PIDS}/${name}.pid")"
  # A recycled PID must not be mistaken for ours: the command line must name the binary.
  [[ -r "/proc/${pid}/cmdline" ]] && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q -- "/${name} "
}

plane_ready() {
  for c in "${COMPONENTS[@]}"; do pid_alive "$c" || return 1; done
  kubectl_admin get --raw /readyz >/dev/null 2>&1
}

# ---------------------------------------------------------------------------- PKI
gen_pki() {
  mkdir -p "${PKI}" && cd "${PKI}"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=agent-orchestrator-test-ca" \
    -keyout ca.key -out ca.crt 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  cert apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=admin"
  cert kube-controller-manager "/CN=system:kube-controller-manager"
  cert kube-scheduler "/CN=system:kube-scheduler"
  cert kwok "/O=system:masters/CN=kwok"
  # A front-proxy CA lets the API server publish a request-header CA, which
  # components that delegate authentication look for (and log about when missing).
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=agent-orchestrator-front-proxy-ca" \
    -keyout front-proxy-ca.key -out front-proxy-ca.crt 2>/dev/null
  CA=front-proxy-ca cert front-proxy-client "/CN=front-proxy-client"
  cd - >/dev/null
}

# cert NAME SUBJECT [EXTENSION]: a key and a certificate signed by $CA (default: ca).
cert() {
  local ext="${3:-}" ca="${CA:-ca}"
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "${ca}.crt" -CAkey "${ca}.key" -CAcreateserial -days 3650 \
    ${ext:+-extfile <(echo "$ext")} -out "$1.crt" 2>/dev/null
  rm -f "$1.csr"
}

kubeconfig_for() {
  local user="$1" out="$2"
  local kc=("${K8S_BIN}/kubectl" --kubeconfig "$out")
  "${kc[@]}" config set-cluster local --server "https://127.0.0.1:${APISERVER_PORT}" \
    --certificate-authority "${PKI}/ca.crt" --embed-certs >/dev/null
  "${kc[@]}" config set-credentials "$user" --client-certificate "${PKI}/${user}.crt" \
    --client-key "${PKI}/${user}.key" --embed-certs >/dev/null
  "${kc[@]}" config set-context local --cluster local --user "$user" >/dev/null
  "${kc[@]}" config use-context local >/dev/null
}

# ---------------------------------------------------------------------- processes
launch() {
  local name="$1"; shift
  # setsid: the plane outlives the shell (and the test run) that started it, so it keeps
  # none of the caller's descriptors but stdio: an inherited lock or pipe would be held
  # open by the plane for as long as it runs (`flock ... make test` would never unlock).
  # Appending keeps the log of a component across restarts; start() truncates it first.
  (
    close_inherited_fds
    exec setsid "$@" >>"${LOGS}/${name}.log" 2>&1 </dev/null
  ) &
  echo $! >"${PIDS}/${name}.pid"
}

close_inherited_fds() {
  local fd
  for fd in /proc/"${BASHPID}"/fd/*; do
    fd="${fd##*/}"
    if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec ${fd}>&-" 2>/dev/null || true; fi
  done
}

healthz() { curl -sk --max-time 2 "https://127.0.0.1:$1/healthz" | grep -qx ok; }

stages() {
  local s="${KWOK_BIN}/stages"
  echo "$s/node-initialize.yaml,$s/node-heartbeat-with-lease.yaml,$s/pod-ready.yaml,$s/pod-complete.yaml,$s/pod-delete.yaml"
}

fake_node() {
  cat <<YAML
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$1
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-$1
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-$(( $1 % 3 ))
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "110"}
  capacity: {cpu: "32", memory: 256Gi, pods: "110"}
YAML
}

launch_apiserver() {
  # endpoint-reconciler none: the `kubernetes` Service cannot point at a loopback
  # address (Endpoints reject 127.0.0.0/8), and nothing here dials ClusterIPs anyway.
  # PodTemplates bypass the watch cache, so tests can expire a watch (410 Gone) by
  # compacting etcd; nothing else uses them.
  launch kube-apiserver "${K8S_BIN}/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:${ETCD_PORT}" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="${APISERVER_PORT}" \
    --tls-cert-file="${PKI}/apiserver.crt" --tls-private-key-file="${PKI}/apiserver.key" \
    --client-ca-file="${PKI}/ca.crt" \
    --requestheader-client-ca-file="${PKI}/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="${PKI}/front-proxy-client.crt" --proxy-client-key-file="${PKI}/front-proxy-client.key" \
    --service-account-issuer="https://127.0.0.1:${APISERVER_PORT}" \
    --service-account-key-file="${PKI}/sa.pub" --service-account-signing-key-file="${PKI}/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --authorization-mode=Node,RBAC --allow-privileged=true --profiling=false \
    --endpoint-reconciler-type=none --watch-cache-sizes=podtemplates#0 --v=1 "$@"
}

launch_etcd() {
  launch etcd "${ETCD_BIN}/etcd" --name=ao --data-dir="${PLANE_DIR}/etcd" \
    --listen-client-urls="http://127.0.0.1:${ETCD_PORT}" --advertise-client-urls="http://127.0.0.1:${ETCD_PORT}" \
    --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
    --initial-cluster="ao=http://127.0.0.1:${ETCD_PEER_PORT}" --unsafe-no-fsync --log-level=warn
}

launch_scheduler() {
  launch kube-scheduler "${K8S_BIN}/kube-scheduler" \
    --kubeconfig="${PLANE_DIR}/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig="${PLANE_DIR}/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig="${PLANE_DIR}/kube-scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="${SCHEDULER_PORT}" --leader-elect=false \
    --profiling=false --v=1 "$@"
}

# restart COMPONENT [FLAG...]: SIGKILL one component (a crash, not a shutdown) and start
# it again with the same data. Tests use it to prove clients recover; benchmarks to run
# the scheduler with the client budget of the operator they compare it with.
restart() {
  local name="${1:-}"
  if (( $# )); then shift; fi
  [[ "$name" == kube-apiserver || "$name" == kube-scheduler || "$name" == etcd ]] ||
    die "restart supports kube-apiserver, kube-scheduler and etcd"
  [[ "$name" != etcd || $# -eq 0 ]] || die "restart $name takes no flags"
  # A paused kube-scheduler (see pause) is started again; anything else must be running.
  [[ "$name" == kube-scheduler ]] || pid_alive "$name" || die "$name is not running; start the plane first"
  kill_component "$name"
  log "restarting $name${*:+ with $*}"
  if [[ "$name" == kube-apiserver ]]; then
    launch_apiserver "$@"
    wait_for kube-apiserver 90 kubectl_admin get --raw /readyz || die "$name did not become ready again"
  elif [[ "$name" == etcd ]]; then
    # Same data dir: with --unsafe-no-fsync a process crash still loses nothing (the page
    # cache keeps what was written). The API server reconnects on its own; ready again
    # means it serves from etcd, not only that etcd answers.
    launch_etcd
    wait_for etcd 30 curl -sf --max-time 2 "http://127.0.0.1:${ETCD_PORT}/health" || die "etcd did not become healthy again"
    wait_for kube-apiserver 90 kubectl_admin get --raw /readyz || die "kube-apiserver did not become ready again after etcd"
  else
    launch_scheduler "$@"
    wait_for kube-scheduler 60 healthz "${SCHEDULER_PORT}" || die "$name did not become healthy again"
  fi
}

# pause kube-scheduler: stops it until `restart kube-scheduler` (a benchmark lets a
# backlog of Pods build up, then measures how fast the scheduler drains it). Meanwhile
# `start` sees a partial plane and starts it over: pause only while holding the plane.
pause() {
  [[ "${1:-}" == kube-scheduler ]] || die "pause supports kube-scheduler only"
  kill_component kube-scheduler
}

# kill_component NAME: SIGKILLs a running component and waits for it to exit.
kill_component() {
  pid_alive "$1" || return 0
  local pid; pid="$(cat "${PIDS}/$1.pid")"
  kill -KILL "$pid"
  wait_for "$1 to exit" 20 exited "$pid" || die "$1 (pid $pid) did not exit"
}

kwok_nodes() { kubectl_admin get nodes -l type=kwok -o name | sed 's|^node/||'; }

# ready_kwok_nodes_at_least COUNT BELOW: COUNT of kwok-node-0 .. BELOW-1 report Ready
# (one list request per poll, however many nodes there are).
ready_kwok_nodes_at_least() {
  local ready
  ready="$(kubectl_admin get nodes -l type=kwok \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    awk -v below="$2" '{ i = substr($1, 11) } $1 ~ /^kwok-node-[0-9]+$/ && i + 0 < below && $2 == "True" { n++ } END { print n + 0 }')"
  (( ready >= $1 ))
}

# scale_nodes N [at-least]: kwok-node-0 .. N-1 exist and are Ready; without at-least, the
# kwok nodes past N are deleted. New nodes come a few first, then in batches, each
# waited for with a deadline of its own, as kwok's own scale tests do: a single apply
# of a thousand nodes waits on all of kwok's initialisation at once.
scale_nodes() {
  local want="$1" mode="${2:-exact}" existing missing=() extra=() i name
  existing=" $(kwok_nodes | tr '\n' ' ') "
  for (( i=0; i<want; i++ )); do
    if [[ "$existing" != *" kwok-node-$i "* ]]; then missing+=("$i"); fi
  done
  if [[ "$mode" == exact ]]; then
    for name in $existing; do
      i="${name#kwok-node-}"
      if [[ "$i" =~ ^[0-9]+$ ]] && (( i >= want )); then extra+=("$name"); fi
    done
  fi
  if (( ${#extra[@]} )); then
    log "removing ${#extra[@]} kwok nodes"
    # kubectl deletes one object after another within its client rate limit: several at once.
    printf '%s\n' "${extra[@]}" | xargs -P 8 -n 25 "${K8S_BIN}/kubectl" --kubeconfig "${KUBECONFIG_PATH}" delete node --wait=false >/dev/null
    wait_for "kwok nodes past ${want} to go" 120 no_kwok_node_past "$want" || return 1
  fi
  if (( ${#missing[@]} == 0 )); then return 0; fi
  local total=$(( want - ${#missing[@]} )) step first=1
  log "adding ${#missing[@]} kwok nodes (to ${want})"
  while (( ${#missing[@]} )); do
    # The first few prove kwok manages nodes at all before a batch is sent.
    if (( first )); then step=5; else step="${NODE_BATCH}"; fi
    first=0
    if (( step > ${#missing[@]} )); then step=${#missing[@]}; fi
    for i in "${missing[@]:0:step}"; do fake_node "$i"; done | kubectl_admin create -f - >/dev/null
    missing=("${missing[@]:step}")
    total=$(( total + step ))
    wait_for "${total} Ready kwok nodes" $(( 60 + step / 2 )) ready_kwok_nodes_at_least "$total" "$want" || return 1
  done
}

no_kwok_node_past() {
  local name i
  for name in $(kwok_nodes); do
    i="${name#kwok-node-}"
    if [[ "$i" =~ ^[0-9]+$ ]] && (( i >= $1 )); then return 1; fi
  done
  return 0
}

start() {
  "$(dirname "$0")/build-tools.sh" etcd kwok helm kubernetes >/dev/null
  if plane_ready; then
    log "control plane already running"
    if [[ "${NODES_GIVEN}" == true ]]; then scale_nodes "${NODES}" at-least || die "kwok nodes did not become Ready"; fi
    echo "${KUBECONFIG_PATH}"; return 0
  fi
  if [[ -d "${PIDS}" ]]; then log "found a partial control plane; restarting it"; stop; fi
  command -v openssl >/dev/null || die "openssl is required (apt-get install openssl)"
  command -v curl >/dev/null || die "curl is required (apt-get install curl)"
  mkdir -p "${PIDS}" "${LOGS}" && mkdir -p -m 700 "${PLANE_DIR}/etcd"
  for c in "${COMPONENTS[@]}"; do : >"${LOGS}/${c}.log"; done
  if [[ -n "${RESTORE_FROM:-}" ]]; then
    # A restore keeps the backed-up PKI: the service-account tokens and client
    # certificates issued before the disaster stay valid, as they would on a real cluster.
    cp -a "${RESTORE_FROM}/pki" "${PKI}"
    log "restoring etcd from ${RESTORE_FROM}/etcd.db"
    rm -rf "${PLANE_DIR}/etcd"
    "${ETCDCTL_BIN}/etcdutl" snapshot restore "${RESTORE_FROM}/etcd.db" --data-dir="${PLANE_DIR}/etcd" --name=ao \
      --initial-cluster="ao=http://127.0.0.1:${ETCD_PEER_PORT}" --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
      >>"${LOGS}/etcd.log" 2>&1 || die "etcdutl snapshot restore failed: see ${LOGS}/etcd.log"
  else
    gen_pki
  fi
  kubeconfig_for admin "${KUBECONFIG_PATH}"
  kubeconfig_for kube-controller-manager "${PLANE_DIR}/kube-controller-manager.kubeconfig"
  kubeconfig_for kube-scheduler "${PLANE_DIR}/kube-scheduler.kubeconfig"
  kubeconfig_for kwok "${PLANE_DIR}/kwok.kubeconfig"

  log "starting etcd on 127.0.0.1:${ETCD_PORT}"
  launch_etcd
  wait_for etcd 30 curl -sf --max-time 2 "http://127.0.0.1:${ETCD_PORT}/health" || fail_start etcd

  log "starting kube-apiserver on https://127.0.0.1:${APISERVER_PORT}"
  launch_apiserver
  wait_for kube-apiserver 90 kubectl_admin get --raw /readyz || fail_start kube-apiserver

  log "starting kube-controller-manager and kube-scheduler"
  launch kube-controller-manager "${K8S_BIN}/kube-controller-manager" \
    --kubeconfig="${PLANE_DIR}/kube-controller-manager.kubeconfig" \
    --authentication-kubeconfig="${PLANE_DIR}/kube-controller-manager.kubeconfig" \
    --authorization-kubeconfig="${PLANE_DIR}/kube-controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="${KCM_PORT}" --leader-elect=false \
    --use-service-account-credentials=true --service-account-private-key-file="${PKI}/sa.key" \
    --root-ca-file="${PKI}/ca.crt" \
    --cluster-signing-cert-file="${PKI}/ca.crt" --cluster-signing-key-file="${PKI}/ca.key" \
    --profiling=false --v=1
  launch_scheduler
  wait_for kube-controller-manager 60 healthz "${KCM_PORT}" || fail_start kube-controller-manager
  wait_for kube-scheduler 60 healthz "${SCHEDULER_PORT}" || fail_start kube-scheduler

  log "starting kwok with ${NODES} fake nodes"
  launch kwok "${KWOK_BIN}/kwok" --kubeconfig="${PLANE_DIR}/kwok.kubeconfig" \
    --config="$(stages)" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --node-lease-duration-seconds=40 --node-ip=127.0.0.1 \
    --server-address="127.0.0.1:${KWOK_PORT}"
  scale_nodes "${NODES}" || fail_start kwok
  # Pods need the namespace's ServiceAccount, which the controller manager creates.
  wait_for "the default ServiceAccount" 60 kubectl_admin get serviceaccount default -n default \
    || fail_start kube-controller-manager
  log "control plane ready: kubectl --kubeconfig ${KUBECONFIG_PATH} get nodes"
  echo "${KUBECONFIG_PATH}"
}

# backup DIR: an etcd snapshot taken from the running etcd (consistent, whatever writes
# are under way) and a copy of the PKI, as a real cluster's backup keeps both.
backup() {
  local dir="${1:-}"
  [[ -n "$dir" ]] || die "usage: control-plane.sh backup DIR"
  plane_ready || die "the control plane is not running"
  "$(dirname "$0")/build-tools.sh" etcdctl >/dev/null
  mkdir -p "$dir"
  "${ETCDCTL_BIN}/etcdctl" --endpoints="http://127.0.0.1:${ETCD_PORT}" snapshot save "${dir}/etcd.db" >/dev/null \
    || die "etcdctl snapshot save failed"
  rm -rf "${dir}/pki" && cp -a "${PKI}" "${dir}/pki"
  log "backed up etcd ($(du -h "${dir}/etcd.db" | cut -f1)) and the PKI to ${dir}"
}

# restore DIR: the plane destroyed (every component killed, its data removed) and started
# again from the backup in DIR.
restore() {
  local dir="${1:-}"
  [[ -f "${dir}/etcd.db" && -d "${dir}/pki" ]] || die "usage: control-plane.sh restore DIR (a directory written by backup)"
  "$(dirname "$0")/build-tools.sh" etcdctl >/dev/null
  local c
  for c in "${COMPONENTS[@]}"; do kill_component "$c"; done
  rm -rf "${PLANE_DIR}"
  log "control plane destroyed; restoring from ${dir}"
  RESTORE_FROM="$(cd "$dir" && pwd)" start
}

fail_start() {
  log "$1 did not become ready; last lines of ${LOGS}/$1.log:"
  tail -n 20 "${LOGS}/$1.log" >&2 || true
  stop
  exit 1
}

stop() {
  local i name
  for (( i=${#COMPONENTS[@]}-1; i>=0; i-- )); do
    name="${COMPONENTS[$i]}"
    if pid_alive "$name"; then
      stop_pid "$name" "$(cat "${PIDS}/${name}.pid")" 20
    fi
  done
  rm -rf "${PLANE_DIR}"
  log "control plane stopped (logs kept in ${LOGS})"
}

case "${1:-}" in
  start)
    shift
    while (( $# )); do
      case "$1" in
        --nodes) NODES="${2:?--nodes needs a number}"; NODES_GIVEN=true; shift 2 ;;
        --nodes=*) NODES="${1#--nodes=}"; NODES_GIVEN=true; shift ;;
        *) die "unknown flag '$1' (start accepts --nodes N)" ;;
      esac
    done
    [[ "${NODES}" =~ ^[1-9][0-9]*$ ]] || die "--nodes must be a positive integer, got '${NODES}'"
    start ;;
  nodes)
    [[ "${2:-}" =~ ^(0|[1-9][0-9]*)$ ]] || die "usage: $0 nodes N (a count, 0 or more)"
    plane_ready || die "the control plane is not running; start it first"
    scale_nodes "$2" || die "kwok nodes did not become Ready; see ${LOGS}/kwok.log" ;;
  stop) stop ;;
  status) plane_ready ;;
  env)
    echo "export KUBECONFIG='${KUBECONFIG_PATH}'"
    echo "export PATH='${K8S_BIN}:${HELM_BIN}':\"\$PATH\"" ;;
  bin) echo "${K8S_BIN}" ;;
  helm) echo "${HELM_BIN}/helm" ;;
  etcd-url) echo "http://127.0.0.1:${ETCD_PORT}" ;;
  restart) shift; restart "$@" ;;
  backup) shift; backup "$@" ;;
  restore) shift; restore "$@" ;;
  pause) shift; pause "$@" ;;
  *) die "usage: $0 start [--nodes N] | nodes N | stop | status | env | bin | helm | etcd-url | restart kube-apiserver|kube-scheduler|etcd [FLAG...] | pause kube-scheduler" ;;
esac
