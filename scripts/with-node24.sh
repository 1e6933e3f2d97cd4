#!/usr/bin/env bash
# Runs a command with Node.js 24 first on PATH (installed into .tools/ on first use), whatever
# Node.js the machine has: npm scripts go through it so `npm start`, `npm run lab`... work on a
# machine that ships an older Node.js.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node24.sh"
exec "$@"
