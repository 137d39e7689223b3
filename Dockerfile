# syntax=docker/dockerfile:1

# Build: install everything, compile TypeScript, the WebAssembly kernels and the native (OpenBLAS)
# kernels, then drop dev packages.
FROM node:26-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends g++ make python3 libopenblas-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

# Run: the compiled service and production packages only, as the unprivileged node user,
# with the OpenBLAS library the native kernels load.
FROM node:26-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopenblas0-pthread \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# The API by default; the worker service runs `node dist/workers/training-worker.js` from the same image,
# and `docker compose exec api node dist/scripts/demo.js` runs the demo (its digits come from the mnist package).
CMD ["node", "dist/src/server.js"]
