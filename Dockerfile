# syntax=docker/dockerfile:1
# OpenSesame Predictor: build on the full Debian image (compilers for native modules, the
# AssemblyScript and TypeScript toolchains), run on the slim one with production
# dependencies only. Both stages are Debian 12 (bookworm), so the glibc that lmdb's and
# uWebSockets.js's prebuilt binaries were linked against is the same in both.
#
#   docker build -t opensesame-predictor .
#   docker run -p 8000:8000 -v opensesame-data:/data opensesame-predictor

FROM node:20-bookworm AS build
WORKDIR /src
# Manifests first: the dependency layer is rebuilt only when they change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# AssemblyScript -> core-wasm/build/*.wasm, TypeScript -> dist/
RUN npm run build
# Drop dev dependencies (TypeScript, AssemblyScript, tap, autocannon...) from node_modules.
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
# MALLOC_ARENA_MAX and the node flag in CMD are the server's start-up settings, the same
# as `npm start` and the benchmarks use (server/runtime-settings.ts says why).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    OPENSESAME_API_HOST=0.0.0.0 \
    OPENSESAME_API_PORT=8000 \
    OPENSESAME_DATA_DIR=/data
WORKDIR /app
# Code and dependencies stay root-owned (read-only for the service user).
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/core-wasm/build/*.wasm ./core-wasm/build/
COPY --from=build /src/specs ./specs
# POST /train swaps a new ranker in by renaming over models/ranker.json, so the service
# user owns this folder. Set OPENSESAME_RANKER_PATH under /data to keep a retrained model
# when the container is recreated.
COPY --from=build --chown=node:node /src/models ./models
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8000
# The slim image has no curl; Node 20 has fetch.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8000/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=4", "--single-threaded-gc", "dist/server/main.js"]
