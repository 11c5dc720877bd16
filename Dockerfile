# syntax=docker/dockerfile:1
# Sluice's container image: the compiled controller and speaker on a Node 24 base, production
# dependencies only, running as a non-root user on a read-only root filesystem (the speaker's
# DaemonSet overrides the user: it changes host interface addresses).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# --no-save: npm ci refuses this lockfile for biome's optional platform packages it omits;
# --ignore-scripts: the image's own Node runs the build, not the node@24 devDependency.
RUN npm install --no-save --no-audit --no-fund --ignore-scripts
COPY src ./src
RUN node_modules/.bin/tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS production-dependencies
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-save --no-audit --no-fund --ignore-scripts --omit=dev

FROM ${NODE_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="sluice" \
      org.opencontainers.image.description="Gives every Service of type LoadBalancer a load balancer" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/sluice-dev/sluice"
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=2"
# What `sluice speaker` runs to announce addresses on bare metal: ip (iproute2) to add and remove
# them, iputils' arping for gratuitous ARP, na6 (ipv6toolkit) for unsolicited neighbor
# advertisements. The controller never runs them; the speaker's DaemonSet runs as root with only
# NET_ADMIN, NET_RAW, and SETUID/SETGID (na6 drops from root to nobody).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      iproute2 iputils-arping ipv6toolkit \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=production-dependencies /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/main.js"]
CMD ["controller"]
