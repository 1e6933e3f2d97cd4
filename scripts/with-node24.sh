#!/usr/bin/env bash
# Runs a command with a Node.js that satisfies package.json's engines first on PATH: the machine's
# own when it does, else Node.js 24 from .tools/ (installed on first use). npm scripts go through
# it so `npm start`, `npm run lab`... work on a machine that ships an older Node.js.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/node24.sh"
exec "$@"
