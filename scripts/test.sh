#!/usr/bin/env bash
# The whole test suite from a fresh clone, services included:
# Node.js 24 (npm registry), npm dependencies, Samba AD DC and Chromium (Debian packages), PostgreSQL,
# then the type check and vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node24.sh
echo "incident-bot: node $(node -v), npm $(npm -v)" >&2
npm ci --no-audit --no-fund
bash scripts/samba-ad.sh install
bash scripts/postgres.sh
# Debian's Chromium drives the Agents Playground's web UI in the end-to-end test (never a browser download).
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
npm test
