# syntax=docker/dockerfile:1
# One image, three programs on PATH, chosen by the container's command:
#   tradingbot-operator  the operator (the Helm chart's Deployment)
#   bot-runtime          what every bot pod runs (the operator sets command ["bot-runtime"])
#   exchange-sim         the paper exchange of the demo and of the kind end-to-end test
# and the web console, `node dist/console/main.js` (the chart's console Deployment), with its page in
# dist/console/web/.
# What the image holds is written once, in image/recipe.ts: Node, the Debian libraries it links, CA
# certificates, time zones, /etc/passwd with uid 65532, and the application (package.json and dist/, where
# each program is bundled with what it imports, so no node_modules); no shell, no package manager.
# The rootfs stage assembles it with image/rootfs.ts, as `make image-oci` does before packing it with umoci,
# and the image is that rootfs and nothing else (test/image/dockerfile.test.ts holds this file to that).
# Build: make image (docker build -t ghcr.io/botops/tradingbot-operator:<version> .). It runs as uid 65532
# and needs nothing writable but /tmp, so it works with a read-only root filesystem.

# Node 24 on Debian bookworm, slim: it builds and assembles; the image's own Node is the one the Makefile
# pins. The digest is what is pulled; the tag only says what it was. Refresh:
# docker buildx imagetools inspect node:24-bookworm-slim
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# --- build: every dependency, each program bundled with what it imports into dist/ (build/bundle.ts) --------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts stay off: ccxt's postinstall reaches the network, and nothing here needs one.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY build/ build/
COPY api/ api/
COPY operator/ operator/
COPY bot-runtime/ bot-runtime/
COPY exchange-sim/ exchange-sim/
COPY console/ console/
RUN npm run build \
  && test -f dist/console/main.js && test -f dist/console/web/index.html

# --- rootfs: the image's files, from image/recipe.ts ---------------------------------------------------------
FROM build AS rootfs
# Every mtime in the image (BuildKit sets it from --build-arg SOURCE_DATE_EPOCH=<seconds>).
ARG SOURCE_DATE_EPOCH=0
COPY Makefile ./
COPY image/ image/
RUN apt-get update \
  && node image/rootfs.ts /rootfs

# --- the image: that rootfs, and the configuration of image/recipe.ts ------------------------------------------
FROM scratch AS image
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
      org.opencontainers.image.vendor="botops"
COPY --from=rootfs /rootfs/ /
ENV NODE_ENV=production \
    PATH=/usr/local/bin:/usr/bin
WORKDIR /app
USER 65532:65532
ENTRYPOINT []
CMD ["tradingbot-operator"]
