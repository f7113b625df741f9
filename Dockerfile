# syntax=docker/dockerfile:1
# campus-gateway: one image, embedded MQTT broker (1883; mqtts 8883 with TLS_CERT_FILE) + HTTP/WebSocket
# (8080; HTTPS with TLS_CERT_FILE, docs/tls.md), ledger in /data.
#   docker build -t campus-gateway .
#   docker run -p 8080:8080 -p 1883:1883 -v gateway-data:/data -e GATEWAY_ADMIN_PASSWORD=… campus-gateway
# Node 24 LTS (what `npm test` also runs the suite on: NODE_LTS_VERSION in scripts/test.sh), on
# Debian 13 (trixie), the current Debian stable. Both stages use the same base, so the native
# better-sqlite3 built in the first one matches the Node and the C library of the second. For a
# reproducible build, pass the tag's digest: --build-arg NODE_IMAGE=node:24-trixie-slim@sha256:…
ARG NODE_IMAGE=node:24-trixie-slim

# ---- build: compile the gateway and the wall screen, then drop dev dependencies ----
FROM ${NODE_IMAGE} AS build
# better-sqlite3 falls back to node-gyp when no prebuilt binary fits
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# No source maps in the image: the gateway's own (tsconfig "sourceMap") and the wall screen's
# (esbuild) would hand the sources to anyone who can fetch the screen; those shipped inside
# dependencies go too.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find dist node_modules -name '*.map' -type f -delete

# ---- runtime ----
FROM ${NODE_IMAGE}
# NODE_OPTIONS caps the V8 heap with room to spare for a county (a few thousand devices). Without a cap
# V8 lets garbage grow to a quarter of the host's RAM before collecting it (README, "Deploy").
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-old-space-size=512 \
    DATA_DIR=/data \
    GATEWAY_PORT=8080 \
    MQTT_PORT=1883 \
    MQTT_TLS_PORT=8883
# The gateway runs `node` alone: no package manager in the running image (less to patch, nothing
# to install from inside a compromised container).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack
WORKDIR /app
# Owned by root: the gateway (user node) can read its code but not change it.
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/config ./config
# The ledger, users file and token secret: only the gateway's user may read them.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME /data
EXPOSE 8080 1883 8883
USER node
# /health answers 503 when the gateway cannot take alarms. With TLS_CERT_FILE the port speaks HTTPS;
# the check asks 127.0.0.1, whose name is not in the certificate, so it does not verify it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const t=!!process.env.TLS_CERT_FILE;require(t?'https':'http').get({host:'127.0.0.1',port:process.env.GATEWAY_PORT||8080,path:'/health',rejectUnauthorized:false,timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]
CMD ["node", "dist/gateway/server.js"]
