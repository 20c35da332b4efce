#!/usr/bin/env bash
# `make up`: the whole product with a live demo.
#  - Local (the default): a control plane with kwok nodes and a Docker engine on this
#    host, the images, the Helm chart installed, and the operator run on this host from
#    the chart's Deployment under its ServiceAccount (the Deployment itself lands on a
#    kwok node, where nothing runs). Agent Pods on kwok get simulated runners
#    (hack/kwok-runners.ts); Docker agents run the real runner image.
#  - KUBECONFIG pointing at another cluster (kind, say): the chart is installed there and
#    the operator and agents run as real Pods; the images must be in the cluster
#    (hack/kind-up.sh loads them).
# Then examples/ go into the namespace `demo` and the demo is watched to its end.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
hack="$(cd "$(dirname "$0")" && pwd)"
# Node 24 first on PATH, as make gives it, for running the scripts directly too.
PATH="$("${hack}/node.sh"):${PATH}"
RELEASE="${AO_RELEASE:-agent-orchestrator}"
RELEASE_NS="${AO_RELEASE_NAMESPACE:-agent-orchestrator-system}"
DEMO_NS="${AO_DEMO_NAMESPACE:-demo}"
local_kubeconfig="${AO_STATE_DIR}/control-plane/admin.kubeconfig"

if [[ -n "${KUBECONFIG:-}" && "${KUBECONFIG}" != "${local_kubeconfig}" ]]; then
  mode=cluster
  kubeconfig="${KUBECONFIG}"
  log "using the cluster of KUBECONFIG=${KUBECONFIG}"
else
  mode=local
  kubeconfig="$("${hack}/control-plane.sh" start "$@")"
  docker_host="$("${hack}/docker.sh" start)"
  export DOCKER_HOST="${docker_host}"
  DOCKER_HOST="${docker_host}" "${hack}/images.sh" busybox node-base runner operator
fi
export KUBECONFIG="${kubeconfig}"
eval "$("${hack}/control-plane.sh" env | grep '^export PATH')"
[[ "${mode}" == local ]] || command -v helm >/dev/null || die "helm is needed on PATH (or run hack/build-tools.sh and use hack/control-plane.sh env)"

log "installing the chart: release ${RELEASE} in namespace ${RELEASE_NS}"
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: ${RELEASE_NS}
  labels: {pod-security.kubernetes.io/enforce: restricted}
---
apiVersion: v1
kind: Namespace
metadata:
  name: ${DEMO_NS}
  labels: {pod-security.kubernetes.io/enforce: restricted}
YAML
# The demo's operator watches only the demo namespace (a Role there, not a ClusterRole), so
# it never acts on what tests or other releases on the same cluster do.
values=(--set image.tag=dev --set-json "watchNamespaces=[\"${DEMO_NS}\"]")
[[ "${mode}" == local ]] && values+=(--set image.pullPolicy=Never --set agents.docker.pullPolicy=Never)
helm upgrade --install "${RELEASE}" "${REPO_ROOT}/charts/agent-orchestrator" --namespace "${RELEASE_NS}" \
  "${values[@]}" --wait --timeout 5m >/dev/null

if [[ "${mode}" == local ]]; then
  log "running the operator on this host as ServiceAccount ${RELEASE_NS}/${RELEASE} (see docs/install.md)"
  node "${hack}/host-operator.ts" start --release "${RELEASE}" --namespace "${RELEASE_NS}" --kubeconfig "${kubeconfig}"
  node "${hack}/kwok-runners.ts" start --namespace "${DEMO_NS}" --kubeconfig "${kubeconfig}"
else
  kubectl -n "${RELEASE_NS}" rollout status "deployment/${RELEASE}" --timeout 5m
fi

log "applying examples/ to namespace ${DEMO_NS}"
kubectl apply -n "${DEMO_NS}" -f "${REPO_ROOT}/examples/" >/dev/null
node "${hack}/demo.ts" --namespace "${DEMO_NS}" --kubeconfig "${kubeconfig}"

cat <<MSG

The orchestrator is up (Kubernetes ${K8S_VERSION}${mode:+, ${mode}}). In this shell:

  eval "\$(hack/control-plane.sh env)"           # KUBECONFIG, kubectl and helm$( [[ "${mode}" == local ]] && echo "
  export DOCKER_HOST=${DOCKER_HOST:-}")

Try:
  kubectl get orchestrator -n ${DEMO_NS}                      # agents, tasks and the policy
  kubectl describe opol default -n ${DEMO_NS}                 # pools, why they have their size, scale Events
  kubectl create -n ${DEMO_NS} -f - <<EOF                      # a task for the docker agent
  {"apiVersion":"agents.orchestrator.dev/v1alpha1","kind":"Task","metadata":{"generateName":"hi-"},
   "spec":{"requiredCapabilities":["shell"],"input":"uname -a"}}
  EOF
  kubectl get tk -n ${DEMO_NS} -w                              # watch it run
  kubectl get tk -n ${DEMO_NS} -o jsonpath='{.items[*].status.result.output}'
$( [[ "${mode}" == local ]] && echo "  curl -s 127.0.0.1:8080/metrics | grep ^agent_orchestrator_    # the operator's metrics
  tail -f ${AO_STATE_DIR}/operator/operator.log                 # its log")

Stop everything with: make down
MSG
