#!/usr/bin/env bash
# The whole test suite from a fresh clone, services included:
# Node.js 24 (npm registry), npm dependencies, Samba AD DC (Debian packages), PostgreSQL, then vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node24.sh
echo "incident-bot: node $(node -v), npm $(npm -v)" >&2
npm ci --no-audit --no-fund
bash scripts/samba-ad.sh install
bash scripts/postgres.sh
npm test
