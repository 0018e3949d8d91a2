# syntax=docker/dockerfile:1
# mlreview's GitHub App. Build: docker build -t mlreview .
# Run: docker run -e APP_ID -e PRIVATE_KEY -e WEBHOOK_SECRET -p 3000:3000 mlreview

# 1. Compile the TypeScript (app, engine, rule checks) with every dependency.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the Python grammar is used as the .wasm the package ships, not built natively.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY rules ./rules
COPY scripts ./scripts
RUN npx tsc -p tsconfig.build.json

# 2. Production dependencies only.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# 3. The image: compiled code, rule metadata (rules/*.yml), production modules (with the
# tree-sitter .wasm files), run as the unprivileged `node` user.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json app.yml ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root rules ./rules
RUN test -f node_modules/tree-sitter-python/tree-sitter-python.wasm \
 && test -f node_modules/web-tree-sitter/tree-sitter.wasm
USER node
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/ping').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/mlreview-app.js"]
