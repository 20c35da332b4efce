#!/usr/bin/env bash
# `make up`: the local control plane with kwok nodes, a Docker engine and the local
# images, then how to reach them. Later issues add the operator and the demo here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
hack="$(dirname "$0")"

kubeconfig="$("${hack}/control-plane.sh" start "$@")"
docker_host="$("${hack}/docker.sh" start)"
DOCKER_HOST="${docker_host}" "${hack}/images.sh"
eval "$("${hack}/control-plane.sh" env)"

echo
kubectl get nodes -o wide
cat <<MSG

The local control plane is up (Kubernetes ${K8S_VERSION}, bound to 127.0.0.1).

  kubeconfig:   ${kubeconfig}
  docker host:  ${docker_host}
  logs:         ${AO_STATE_DIR}/logs

Use it from this shell:

  eval "\$(hack/control-plane.sh env)"     # KUBECONFIG, kubectl and helm on PATH
  kubectl get nodes
  export DOCKER_HOST=${docker_host}

Stop everything with: make down
MSG
