#!/usr/bin/env bash
# A Docker engine for the docker runtime's tests and the demo.
# Usage: hack/docker.sh start | stop | restart | status
#   start   uses a reachable engine ($DOCKER_HOST, then the system socket); otherwise
#           starts Debian's dockerd (installing docker.io when root and missing) with
#           its own socket, data-root and pidfile, and no bridge network.
#           Prints the DOCKER_HOST to use on stdout.
#   stop    stops only a dockerd this script started (by its pidfile).
#   restart stops the dockerd this script started (its containers stop with it, as when
#           an engine is restarted on a host) and starts it again on the same data-root;
#           prints the DOCKER_HOST (make chaos).
#   status  prints the DOCKER_HOST of a reachable engine; exit 1 when none is.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DOCKER_DIR="${AO_STATE_DIR}/docker"
OWN_SOCKET="${DOCKER_DIR}/docker.sock"
PIDFILE="${DOCKER_DIR}/dockerd.pid"
LOGS="${AO_STATE_DIR}/logs"
# Images live outside the state dir so a restart of the engine keeps them.
DATA_ROOT="${AO_DOCKER_DATA_ROOT:-${AO_CACHE_DIR}/docker-data}"

# engine_ok HOST: HOST is unix:///path or tcp://127.0.0.1:port.
engine_ok() {
  case "$1" in
    unix://*) [[ -S "${1#unix://}" ]] && curl -sf --max-time 3 --unix-socket "${1#unix://}" http://localhost/_ping ;;
    tcp://*) curl -sf --max-time 3 "http://${1#tcp://}/_ping" ;;
    *) return 1 ;;
  esac 2>/dev/null | grep -qx OK
}

reachable() {
  local host
  for host in "${DOCKER_HOST:-}" "unix://${OWN_SOCKET}" unix:///var/run/docker.sock; do
    [[ -n "$host" ]] && engine_ok "$host" && { echo "$host"; return 0; }
  done
  return 1
}

install_dockerd() {
  command -v dockerd >/dev/null && return 0
  [[ "$(id -u)" == 0 ]] || die "no Docker engine is reachable and dockerd is not installed; run as root or install docker.io"
  command -v apt-get >/dev/null || die "dockerd is missing and apt-get is not available to install docker.io"
  log "installing docker.io"
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >&2
}

start() {
  if reachable; then return 0; fi
  install_dockerd
  [[ "$(id -u)" == 0 ]] || die "starting dockerd needs root; start a Docker engine and set DOCKER_HOST"
  command -v curl >/dev/null || die "curl is required (apt-get install curl)"
  mkdir -p "${DOCKER_DIR}" "${DATA_ROOT}" "${LOGS}"
  log "starting dockerd on ${OWN_SOCKET} (data-root ${DATA_ROOT})"
  # --bridge=none and no iptables: containers get host or no networking only, so
  # no traffic can leave 127.0.0.0/8 through a docker0 NAT.
  # Like the control plane, the engine keeps none of the caller's descriptors but stdio.
  (
    for fd in /proc/"${BASHPID}"/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
    exec setsid dockerd --host "unix://${OWN_SOCKET}" --data-root "${DATA_ROOT}" \
      --exec-root "${DOCKER_DIR}/exec" --pidfile "${PIDFILE}" \
      --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
      --log-level=warn >"${LOGS}/dockerd.log" 2>&1 </dev/null
  ) &
  if ! wait_for dockerd 60 engine_ok "unix://${OWN_SOCKET}"; then
    tail -n 20 "${LOGS}/dockerd.log" >&2 || true
    die "dockerd did not become ready (log: ${LOGS}/dockerd.log)"
  fi
  echo "unix://${OWN_SOCKET}"
}

stop() {
  [[ -f "${PIDFILE}" ]] || { log "no dockerd started by this script"; return 0; }
  local pid; pid="$(cat "${PIDFILE}")"
  if tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q -- "--pidfile ${PIDFILE}"; then
    stop_pid dockerd "$pid" 30
  fi
  # dockerd leaves its network-namespace bind mounts behind; unmount before removing.
  awk -v dir="${DOCKER_DIR}/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount
  rm -rf "${DOCKER_DIR}"
  log "dockerd stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart)
    [[ -f "${PIDFILE}" ]] || die "restart needs a dockerd started by this script (${PIDFILE} is missing)"
    stop
    start
    ;;
  status) reachable ;;
  *) die "usage: $0 start | stop | restart | status" ;;
esac
