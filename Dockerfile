# Two images from one build: the operator (default target) and the agent runner
# (--target runner). BUILD_IMAGE needs node and npm, BASE_IMAGE only node. Elsewhere they
# default to the official Node 24 images; on machines without a registry,
# hack/images.sh makes local ones and passes them in.
ARG BUILD_IMAGE=node:24-bookworm
ARG BASE_IMAGE=node:24-bookworm-slim
# The runner runs agent CLIs, which expect a shell: its base needs one (the slim image
# has it; hack/images.sh passes its local node-build image, which has busybox).
ARG RUNNER_BASE_IMAGE=${BASE_IMAGE}

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
# Extra CA certificates for npm behind a TLS-inspecting proxy (hack/images.sh fills the
# folder from the host's trust settings; it holds an empty file otherwise). Build stage
# only: nothing of it reaches the final images.
COPY .build-ca/ /tmp/build-ca/
ENV NODE_EXTRA_CA_CERTS=/tmp/build-ca/ca.crt
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
COPY runner ./runner
COPY plugins ./plugins
RUN npm run build && npm prune --omit=dev

FROM ${RUNNER_BASE_IMAGE} AS runner
LABEL org.opencontainers.image.title="agent-orchestrator-runner" \
      org.opencontainers.image.description="Runs the Tasks assigned to one agent" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# 1 MB semi-spaces: V8 otherwise grows the young generation to 64-128 MB under load,
# even under a 512Mi limit, and keeps it (bench/README.md, docs/runtime.md).
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/runner/main.js"]

FROM ${BASE_IMAGE} AS operator
LABEL org.opencontainers.image.title="agent-orchestrator" \
      org.opencontainers.image.description="Kubernetes operator for fleets of AI agents" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# node is PID 1 and the operator handles SIGTERM itself; no init shim needed. 1 MB
# semi-spaces: V8 otherwise grows the young generation to 64-128 MB while caches fill,
# even under the chart's 512Mi limit, and keeps it: 265 MB instead of 152 MB with 10,000
# Tasks cached (make bench SCENARIO=startup).
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/operator/src/main.js"]
