# syntax=docker/dockerfile:1
# campus-gateway: one image, embedded MQTT broker (1883) + HTTP/WebSocket (8080), ledger in /data.
#   docker build -t campus-gateway .
#   docker run -p 8080:8080 -p 1883:1883 -v gateway-data:/data -e GATEWAY_ADMIN_PASSWORD=… campus-gateway

# ---- build: compile the gateway and the wall screen, then drop dev dependencies ----
FROM node:20-bookworm-slim AS build
# better-sqlite3 falls back to node-gyp when no prebuilt binary fits
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    DATA_DIR=/data \
    GATEWAY_PORT=8080 \
    MQTT_PORT=1883
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --from=build --chown=root:root /app/config ./config
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8080 1883
USER node
# /health answers 503 when the gateway cannot take alarms
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.GATEWAY_PORT||8080)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
CMD ["node", "dist/gateway/server.js"]
