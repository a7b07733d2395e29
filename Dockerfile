# syntax=docker/dockerfile:1
# One image, three programs on PATH, chosen by the container's command:
#   tradingbot-operator  the operator (the Helm chart's Deployment)
#   bot-runtime          what every bot pod runs (the operator sets command ["bot-runtime"])
#   exchange-sim         the paper exchange of the demo and of the kind end-to-end test
# and the web console, `node dist/console/main.js` (the chart's console Deployment), with its page in
# dist/console/web/.
# Build: make image (docker build -t ghcr.io/botops/tradingbot-operator:<version> .). It runs as uid 65532
# and needs nothing writable but /tmp, so it works with a read-only root filesystem.

# Node 24 (24.18.0 when pinned) on Debian bookworm, slim. The digest is what is pulled; the tag only says
# what it was. Refresh: docker buildx imagetools inspect node:24-bookworm-slim
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# --- build: every dependency, TypeScript compiled to dist/ (the bot runtime as one bundled file) -----------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts stay off: ccxt's postinstall reaches the network, and nothing here needs one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api/ api/
COPY operator/ operator/
COPY bot-runtime/ bot-runtime/
COPY exchange-sim/ exchange-sim/
COPY console/ console/
RUN npm run build \
  && test -f dist/console/main.js && test -f dist/console/web/index.html \
  && chmod 0755 dist/operator/main.js dist/bot-runtime/main.js dist/exchange-sim/main.js

# --- production dependencies only --------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# --- runtime ----------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="tradingbot-operator" \
      org.opencontainers.image.description="Kubernetes operator that runs crypto trading bots as locked-down pods and halts them on command; also the bots' runtime" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/botops/tradingbot-operator" \
      org.opencontainers.image.url="https://github.com/botops/tradingbot-operator" \
      org.opencontainers.image.documentation="https://github.com/botops/tradingbot-operator/blob/main/docs/install.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.vendor="botops" \
      org.opencontainers.image.base.name="docker.io/library/node:24-bookworm-slim"
ENV NODE_ENV=production
# No package manager at run time, and the uid 65532 of the bot pods and the chart, with a name.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
  && groupadd --gid 65532 nonroot \
  && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nonroot
WORKDIR /app
# The runtime layout (test/image/production-install.test.ts builds the same one and runs it):
COPY package.json ./
COPY --from=production-dependencies /app/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
RUN ln -s /app/dist/operator/main.js /usr/local/bin/tradingbot-operator \
  && ln -s /app/dist/bot-runtime/main.js /usr/local/bin/bot-runtime \
  && ln -s /app/dist/exchange-sim/main.js /usr/local/bin/exchange-sim
USER 65532:65532
ENTRYPOINT []
CMD ["tradingbot-operator"]
