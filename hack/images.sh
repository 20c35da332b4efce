#!/usr/bin/env bash
# Makes local images without a registry (none can be pulled on these machines):
#   busybox     agent-orchestrator/busybox:test   - a tiny shell image for runtime tests
#   node-base   agent-orchestrator/node-base:24   - Node 24 plus the libraries it links
#   node-build  agent-orchestrator/node-build:24  - node-base plus npm and a busybox shell,
#                                                   the build stage of the Dockerfile
#   runner      agent-orchestrator/runner:dev     - the agent runner (Dockerfile --target runner)
#   operator    agent-orchestrator/operator:dev   - the operator (Dockerfile default target)
# Usage: hack/images.sh [busybox|node-base|node-build|runner|operator ...]
#   (default: busybox, node-base, runner). Existing images are kept; runner and operator
#   are rebuilt when their sources change (tagged with a hash of them, and :dev).
# Needs DOCKER_HOST (or the default socket); hack/docker.sh start prints it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BUSYBOX_IMAGE="agent-orchestrator/busybox:test"
NODE_BASE_IMAGE="agent-orchestrator/node-base:24"
NODE_BUILD_IMAGE="agent-orchestrator/node-build:24"

command -v docker >/dev/null || die "the docker CLI is required (apt-get install docker.io)"

# Scratch folders, removed when the script exits (a RETURN trap would outlive its function).
SCRATCH=()
trap 'rm -rf "${SCRATCH[@]}"' EXIT

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# import_rootfs DIR IMAGE CHANGE...: tar a root filesystem and `docker import` it.
import_rootfs() {
  local dir="$1" image="$2"; shift 2
  local changes=(); for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$dir" -c . | docker import "${changes[@]}" - "$image" >/dev/null
  log "built ${image} ($(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec))"
}

base_files() {
  local root="$1"
  mkdir -p "$root"/{etc,tmp,bin} && chmod 1777 "$root/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
}

# Prints the path of a statically linked busybox, installing Debian's when root.
static_busybox() {
  local bb; bb="$(command -v busybox || true)"
  if [[ -z "$bb" || "$(file -b "$bb" 2>/dev/null)" != *static* ]]; then
    [[ "$(id -u)" == 0 ]] || die "a static busybox is required (apt-get install busybox-static)"
    apt-get install -y -qq busybox-static >&2 || { apt-get update -qq >&2 && apt-get install -y -qq busybox-static >&2; }
    bb=/bin/busybox
  fi
  echo "$bb"
}

busybox() {
  have_image "${BUSYBOX_IMAGE}" && return 0
  local bb; bb="$(static_busybox)"
  local root; root="$(mktemp -d)"; SCRATCH+=("$root")
  base_files "$root"
  cp "$bb" "$root/bin/busybox"
  for applet in $("$bb" --list); do [[ "$applet" == busybox ]] || ln -s busybox "$root/bin/$applet"; done
  import_rootfs "$root" "${BUSYBOX_IMAGE}" 'ENV PATH=/bin' 'CMD ["/bin/sh"]'
}

node_base() {
  have_image "${NODE_BASE_IMAGE}" && return 0
  local node_dir; node_dir="$(AO_FORCE_LOCAL_NODE=1 "$(dirname "$0")/node.sh")"
  local node="${node_dir}/node"
  [[ "$("$node" -p 'process.versions.node.split(".")[0]')" == 24 ]] || die "${node} is not Node 24"
  local root; root="$(mktemp -d)"; SCRATCH+=("$root")
  base_files "$root"
  mkdir -p "$root/usr/local/bin" "$root/home/nonroot" && chown 65532:65532 "$root/home/nonroot"
  # Debug sections are a third of the binary and only matter to a debugger.
  strip --strip-debug -o "$root/usr/local/bin/node" "$node"
  local lib
  for lib in $(ldd "$node" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
  done
  import_rootfs "$root" "${NODE_BASE_IMAGE}" 'ENV PATH=/usr/local/bin' 'USER 65532:65532' \
    'WORKDIR /home/nonroot' 'ENTRYPOINT ["/usr/local/bin/node"]'
}

node_build() {
  have_image "${NODE_BUILD_IMAGE}" && return 0
  node_base
  local npm_dir; npm_dir="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
  [[ -f "${npm_dir}/package.json" ]] || die "cannot find npm's package folder (from $(command -v npm))"
  local ctx; ctx="$(mktemp -d)"; SCRATCH+=("$ctx")
  cp -r "${npm_dir}" "${ctx}/npm"
  cp "$(static_busybox)" "${ctx}/busybox"
  cat >"${ctx}/Dockerfile" <<DOCKERFILE
FROM ${NODE_BASE_IMAGE}
USER 0
COPY busybox /bin/busybox
COPY npm /usr/local/lib/node_modules/npm
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /usr/bin && ln -s /bin/env /usr/bin/env && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx"]
ENV PATH=/usr/local/bin:/bin
ENTRYPOINT []
CMD ["/bin/sh"]
DOCKERFILE
  DOCKER_BUILDKIT=0 docker build -t "${NODE_BUILD_IMAGE}" "${ctx}" >"${ctx}/build.log" 2>&1 \
    || { cat "${ctx}/build.log" >&2; die "building ${NODE_BUILD_IMAGE} failed"; }
  log "built ${NODE_BUILD_IMAGE}"
}

# sources_hash: a hash of everything that goes into the runner and operator images.
sources_hash() {
  (cd "${REPO_ROOT}" && git ls-files -co --exclude-standard -- operator runner plugins package.json \
    package-lock.json tsconfig.json tsconfig.build.json Dockerfile .npmrc hack/images.sh | sort | xargs sha256sum | sha256sum | cut -c1-12)
}

# The build stage's npm trusts what this machine trusts (e.g. a TLS-inspecting proxy).
build_ca() {
  local dir="${REPO_ROOT}/.build-ca" src="${NODE_EXTRA_CA_CERTS:-}"
  mkdir -p "$dir"
  [[ -n "$src" && -r "$src" ]] || src="$(npm config get cafile 2>/dev/null || true)"
  if [[ -n "$src" && "$src" != null && -r "$src" ]]; then cp "$src" "$dir/ca.crt"; else : >"$dir/ca.crt"; fi
}

# app_image TARGET: the runner or operator image, built from the repository's Dockerfile.
app_image() {
  local target="$1" hash; hash="$(sources_hash)"
  local image="agent-orchestrator/${target}"
  if have_image "${image}:${hash}"; then docker tag "${image}:${hash}" "${image}:dev"; return 0; fi
  node_build
  build_ca
  log "building ${image}:${hash} (npm ci inside the build needs the registry: host network)"
  local out; out="$(mktemp)"
  if ! DOCKER_BUILDKIT=0 docker build --network host --target "$target" \
      --build-arg BUILD_IMAGE="${NODE_BUILD_IMAGE}" --build-arg BASE_IMAGE="${NODE_BASE_IMAGE}" \
      --build-arg RUNNER_BASE_IMAGE="${NODE_BUILD_IMAGE}" \
      -t "${image}:${hash}" -t "${image}:dev" "${REPO_ROOT}" >"$out" 2>&1; then
    tail -n 30 "$out" >&2; rm -f "$out"
    die "building ${image} failed"
  fi
  rm -f "$out"
  log "built ${image}:${hash} ($(docker image inspect -f '{{.Size}}' "${image}:${hash}" | numfmt --to=iec))"
  # Builds of older sources are of no use any more: keep the engine's disk in check.
  docker images --format '{{.Repository}}:{{.Tag}}' "${image}" | grep -vxF -e "${image}:${hash}" -e "${image}:dev" \
    | xargs -r docker rmi >/dev/null 2>&1 || true
}

targets=("$@"); (( ${#targets[@]} )) || targets=(busybox node-base runner)
for t in "${targets[@]}"; do
  case "$t" in
    busybox) busybox ;;
    node-base) node_base ;;
    node-build) node_build ;;
    runner|operator) app_image "$t" ;;
    *) die "unknown image '$t' (expected busybox, node-base, node-build, runner or operator)" ;;
  esac
done
