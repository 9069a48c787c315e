# syntax=docker/dockerfile:1
# The agentstate image: the service (`agentstate serve`, the default command) and the
# operator CLI (`agentstate backup create --wait`, ...), run by the Helm chart's
# Deployment and CronJobs. Node 24 runs src/*.ts itself (type stripping): no build step.
#
#   docker build -t agentstate:0.1.0 .
#   docker run --rm -p 8080:8080 -e HOST=0.0.0.0 agentstate:0.1.0
#
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (helm/agentstate).

ARG NODE_VERSION=24

# Production dependencies only. better-sqlite3 ships prebuilt binaries for linux-x64
# and linux-arm64 (glibc), so no install script and no compiler is needed.
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# tini forwards signals to Node and reaps zombies; the worker drains on SIGTERM.
FROM debian:bookworm-slim AS tini
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.* \
  && rm -rf /var/lib/apt/lists/*

# Distroless: no shell, no package manager; the "nonroot" variant runs as 65532:65532,
# the user the chart's security contexts name.
FROM gcr.io/distroless/nodejs${NODE_VERSION}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production \
  HOST=0.0.0.0 \
  PORT=8080
COPY --from=tini /usr/bin/tini-static /usr/local/bin/tini
COPY --from=deps --chown=0:0 /app/node_modules ./node_modules
COPY --chown=0:0 package.json ./
COPY --chown=0:0 bin ./bin
COPY --chown=0:0 src ./src
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tini", "--", "/nodejs/bin/node", "/app/bin/agentstate.js"]
CMD ["serve"]
