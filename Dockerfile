# syntax=docker/dockerfile:1
# incident-bot container image: Node.js 24 slim (the major of package.json engines.node), production
# dependencies only, non-root, runs the production build (`node dist/main.mjs`, made by
# scripts/build.ts: our code and kysely as one ES module, one chunk per lazily loaded integration;
# every other package from node_modules). Build: docker build -t incident-bot .

# ---- dependencies: production packages only, no install scripts (none of them needs one at run time)
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- build: dev dependencies (rolldown) only here; nothing of this stage but dist/ reaches the image
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts/build.ts ./scripts/
COPY src ./src
COPY cards ./cards
RUN node scripts/build.ts

# ---- runtime
FROM node:24-slim AS runtime
ENV NODE_ENV=production \
    PORT=3978 \
    HOST=0.0.0.0 \
    NODE_COMPILE_CACHE=/tmp/incident-bot-compile-cache
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --from=build --chown=root:root /app/dist ./dist
# The code is read-only for the process; only data/ (the SQLite default, unused with PostgreSQL) is its own.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3978
# /healthz answers 200 while the process lives (GET, no authentication, nothing read).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3978) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.mjs"]
