#!/usr/bin/env bash
# A kind cluster with the chart installed, for machines with Docker and access to a
# registry (kind pulls its node image): the e2e suite then runs against real Pods, with
# the real runner image in every agent Pod (`make e2e-kind`). It cannot run on the
# project's CI machines, which have no registry; every step below is the one the local
# path takes (same Dockerfile, same chart, same e2e suite), so review keeps it correct.
#
# Usage: hack/kind-up.sh [up|kubeconfig|down]
#   up          create (or reuse) the cluster, build and load the images, install the chart
#   kubeconfig  print the path of the cluster's kubeconfig
#   down        delete the cluster
# Env: AO_KIND_CLUSTER (default agent-orchestrator), KIND_NODE_IMAGE (default: kind's own).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

CLUSTER="${AO_KIND_CLUSTER:-agent-orchestrator}"
KUBECONFIG_FILE="${AO_STATE_DIR}/kind/${CLUSTER}.kubeconfig"
RELEASE="ao-e2e"
RELEASE_NS="ao-e2e-system"

need() { command -v "$1" >/dev/null || die "$1 is needed on PATH: $2"; }

up() {
  need kind "go install sigs.k8s.io/kind@latest (https://kind.sigs.k8s.io)"
  need docker "a Docker engine"
  need helm "hack/build-tools.sh builds it; eval \"\$(hack/control-plane.sh env)\" puts it on PATH"
  need kubectl "as for helm"
  mkdir -p "$(dirname "${KUBECONFIG_FILE}")"
  if kind get clusters 2>/dev/null | grep -qx "${CLUSTER}"; then
    kind export kubeconfig --name "${CLUSTER}" --kubeconfig "${KUBECONFIG_FILE}"
  else
    log "creating kind cluster ${CLUSTER}"
    kind create cluster --name "${CLUSTER}" --kubeconfig "${KUBECONFIG_FILE}" --wait 3m ${KIND_NODE_IMAGE:+--image "${KIND_NODE_IMAGE}"}
  fi
  export KUBECONFIG="${KUBECONFIG_FILE}"

  # The Dockerfile's defaults are the official Node 24 images (hack/images.sh passes local
  # ones where no registry is reachable).
  log "building the images"
  docker build --target runner -t agent-orchestrator/runner:dev "${REPO_ROOT}"
  docker build --target operator -t agent-orchestrator/operator:dev "${REPO_ROOT}"
  kind load docker-image --name "${CLUSTER}" agent-orchestrator/runner:dev agent-orchestrator/operator:dev

  log "installing the chart (release ${RELEASE} in ${RELEASE_NS}), as e2e/global-setup.ts does locally"
  kubectl create namespace "${RELEASE_NS}" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl label --overwrite namespace "${RELEASE_NS}" pod-security.kubernetes.io/enforce=restricted >/dev/null
  helm upgrade --install "${RELEASE}" "${REPO_ROOT}/charts/agent-orchestrator" --namespace "${RELEASE_NS}" \
    -f "${REPO_ROOT}/e2e/values-kind.yaml" --wait --timeout 5m
  kubectl -n "${RELEASE_NS}" rollout status "deployment/${RELEASE}-agent-orchestrator" --timeout 3m
  echo "${KUBECONFIG_FILE}"
}

case "${1:-up}" in
  up) up ;;
  kubeconfig) echo "${KUBECONFIG_FILE}" ;;
  down) kind delete cluster --name "${CLUSTER}" ;;
  *) die "usage: $0 [up|kubeconfig|down]" ;;
esac
