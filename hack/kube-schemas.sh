#!/usr/bin/env bash
# Installs the PyPI package kubernetes-validate (it ships the Kubernetes JSON schemas of
# every recent minor) into $AO_CACHE_DIR/kubernetes-validate-<version>/ once, and prints
# the folder of the strict schemas of the Kubernetes minor this project runs (K8S_VERSION,
# or the closest older one the package ships). hack/kube-schemas.ts turns them into
# kubeconform's layout; e2e/1-chart-lint.test.ts runs kubeconform on the rendered chart.
# Usage: hack/kube-schemas.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"

python="$(command -v python3 || true)"
[[ -n "${python}" ]] || die "python3 with pip is required to install kubernetes-validate (apt-get install python3-pip)"

dest="${AO_CACHE_DIR}/kubernetes-validate-${KUBERNETES_VALIDATE_VERSION}"
root="${dest}/kubernetes_validate/kubernetes-json-schema"
if [[ ! -f "${dest}/.done" ]]; then
  log "installing kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} into ${dest}"
  rm -rf "${dest}.tmp"
  # --target installs into a plain folder: no virtualenv, and Debian's externally
  # managed system Python accepts it. Only the schema files are used: no dependencies.
  "${python}" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --root-user-action=ignore --target "${dest}.tmp" "kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}" >&2
  rm -rf "${dest}" && mv "${dest}.tmp" "${dest}"
  touch "${dest}/.done"
fi

# The schemas of K8S_VERSION's minor, else of the newest older minor the package has.
want="$(echo "${K8S_VERSION}" | cut -d. -f2)"
best=""
for dir in "${root}"/v1.*.0-local-strict; do
  minor="$(basename "${dir}" | cut -d. -f2)"
  if (( minor <= want )) && { [[ -z "${best}" ]] || (( minor > $(basename "${best}" | cut -d. -f2) )); }; then best="${dir}"; fi
done
[[ -n "${best}" ]] || die "kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} ships no schemas for Kubernetes 1.${want} or older (in ${root})"
echo "${best}"
