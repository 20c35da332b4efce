# The operator image. BUILD_IMAGE needs node and npm, BASE_IMAGE only node. Elsewhere they
# default to the official Node 24 images; on machines without a registry, hack/images.sh
# makes local ones (`make image` passes them).
ARG BUILD_IMAGE=node:24-bookworm
ARG BASE_IMAGE=node:24-bookworm-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY operator ./operator
COPY runner ./runner
COPY plugins ./plugins
RUN npm run build && npm prune --omit=dev

FROM ${BASE_IMAGE} AS operator
LABEL org.opencontainers.image.title="agent-orchestrator" \
      org.opencontainers.image.description="Kubernetes operator for fleets of AI agents" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# node is PID 1 and the operator handles SIGTERM itself; no init shim needed.
ENTRYPOINT ["node", "dist/operator/src/main.js"]
