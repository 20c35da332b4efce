#!/usr/bin/env bash
# Builds the local control-plane binaries from the Go module proxy into
# $AO_CACHE_DIR/bin/<tool>-<version>/ and reuses them when already present.
# Usage: hack/build-tools.sh [kubernetes|etcd|etcdctl|kwok|helm|promtool|kube-score|kubeconform ...]   (default: all)
# Prints the bin directory of every tool on stdout, one per line.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v go >/dev/null || die "go is required to build the control plane (Go >= 1.24)"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# A stamp of the wrapper module's go.mod + go.sum: a changed pin rebuilds.
module_stamp() { cat "$1/go.mod" "$1/go.sum" | sha256sum | cut -c1-16; }

k8s_ldflags() {
  local v="$1" minor; minor="$(echo "$v" | cut -d. -f2)"
  local f="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X ${pkg}.gitVersion=${v} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
    f+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$f"
}

# build TOOL VERSION LDFLAGS PACKAGE...
build() {
  local tool="$1" version="$2" ldflags="$3"; shift 3
  local mod="${REPO_ROOT}/hack/tools/${tool}"
  local out; out="$(tool_bin "${tool}" "${version}")"
  local stamp; stamp="$(module_stamp "$mod")"
  if [[ -f "${out}/.stamp" && "$(cat "${out}/.stamp")" == "${stamp}" ]]; then
    echo "${out}"; return 0
  fi
  log "building ${tool} ${version} (cold builds take minutes; output in ${out})"
  local start=$SECONDS tmp="${out}.tmp"
  rm -rf "${tmp}" && mkdir -p "${tmp}"
  (cd "${mod}" && go build -trimpath -ldflags "${ldflags}" -o "${tmp}/" "$@")
  # go names a /vN module's binary after its parent folder ("server" for etcd).
  if [[ "${tool}" == etcd ]]; then mv "${tmp}/server" "${tmp}/etcd"; fi
  # kwok refuses to start without Stage definitions; they ship in its module.
  if [[ "${tool}" == kwok ]]; then
    local src; src="$(cd "${mod}" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage"
    mkdir -p "${tmp}/stages"
    cp "${src}/node/fast/node-initialize.yaml" "${src}/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
      "${src}/pod/fast/pod-ready.yaml" "${src}/pod/fast/pod-complete.yaml" "${src}/pod/fast/pod-delete.yaml" \
      "${tmp}/stages/"
  fi
  rm -rf "${out}" && mv "${tmp}" "${out}"
  echo "${stamp}" > "${out}/.stamp"
  log "built ${tool} ${version} in $((SECONDS - start))s"
  echo "${out}"
}

build_one() {
  case "$1" in
    kubernetes)
      build kubernetes "${K8S_VERSION}" "$(k8s_ldflags "${K8S_VERSION}")" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl ;;
    etcd)
      build etcd "${ETCD_VERSION}" "-s -w" go.etcd.io/etcd/server/v3 ;;
    etcdctl)
      build etcdctl "${ETCDCTL_VERSION}" "-s -w" go.etcd.io/etcd/etcdctl/v3 go.etcd.io/etcd/etcdutl/v3 ;;
    kwok)
      build kwok "${KWOK_VERSION}" "-s -w" sigs.k8s.io/kwok/cmd/kwok ;;
    helm)
      build helm "${HELM_VERSION}" \
        "-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(echo "${K8S_VERSION}" | cut -d. -f2)" \
        helm.sh/helm/v3/cmd/helm ;;
    promtool)
      build promtool "${PROMTOOL_VERSION}" "-s -w" github.com/prometheus/prometheus/cmd/promtool ;;
    kube-score)
      build kube-score "${KUBE_SCORE_VERSION}" "-s -w -X main.version=${KUBE_SCORE_VERSION}" github.com/zegl/kube-score/cmd/kube-score ;;
    kubeconform)
      build kubeconform "${KUBECONFORM_VERSION}" "-s -w -X main.version=${KUBECONFORM_VERSION}" github.com/yannh/kubeconform/cmd/kubeconform ;;
    *) die "unknown tool '$1' (expected kubernetes, etcd, etcdctl, kwok, helm, promtool, kube-score or kubeconform)" ;;
  esac
}

tools=("$@"); (( ${#tools[@]} )) || tools=(etcd etcdctl kwok helm promtool kube-score kubeconform kubernetes)
for t in "${tools[@]}"; do build_one "$t"; done
