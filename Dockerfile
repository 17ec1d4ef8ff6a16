# syntax=docker/dockerfile:1
# The gateway on an NVIDIA GPU:
#   docker build -t spectr-gateway .
#   docker run --gpus all -p 8080:8080 spectr-gateway
# node-llama-cpp's prebuilt CUDA 12 binaries (@node-llama-cpp/linux-x64-cuda, an optional
# dependency `npm ci` installs on linux-x64) need the CUDA runtime and cuBLAS, which the
# nvidia/cuda runtime image has; the host needs the NVIDIA driver and container toolkit.
# GPU=auto uses CUDA when the container sees a GPU and falls back to the CPU otherwise.
# Models: the embedded demo models are copied in; mount your own GGUFs and set TARGET_MODEL /
# DRAFT_MODEL (and ADAPTERS_DIR for LoRA adapters) to their paths.
ARG NODE_VERSION=20.20.2
ARG CUDA_IMAGE=nvidia/cuda:12.4.1-runtime-ubuntu22.04

FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM ${CUDA_IMAGE} AS runtime-base
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s /usr/local/lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app

FROM runtime-base AS dependencies
COPY package.json package-lock.json ./
# Exactly the lock, without test tools. Optional dependencies stay: node-llama-cpp's platform
# binaries are among them (and @tensorflow/tfjs-node-gpu, whose failure npm ci tolerates).
RUN npm ci --omit=dev && npm cache clean --force

FROM runtime-base
COPY --from=dependencies /app/node_modules node_modules
COPY package.json package-lock.json tsconfig.json openapi.yaml ./
COPY src src
COPY kernels kernels
COPY models models
RUN useradd --system --uid 10001 gateway \
  && mkdir -p adapters adapter-cache \
  && chown gateway adapters adapter-cache
USER gateway
ENV HOST=0.0.0.0 \
    PORT=8080 \
    GPU=auto \
    ADAPTERS_DIR=/app/adapters \
    ADAPTER_CACHE_DIR=/app/adapter-cache
EXPOSE 8080
# /health answers while the process runs; orchestrators should route on /ready.
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node directly (not npm start) so SIGTERM reaches the gateway and it drains.
CMD ["node", "--import", "tsx", "src/main.ts"]
