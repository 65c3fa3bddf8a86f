#!/usr/bin/env bash
# The README's start command (`npm start`): from a fresh clone, installs npm dependencies and the Temporal CLI if
# missing, then runs the whole local stack (scripts/dev-stack.ts) in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
if [ -z "${TEMPORAL_ADDRESS:-}" ]; then
  TEMPORAL_CLI=$(bash scripts/temporal-cli.sh)
  export TEMPORAL_CLI
fi
exec node_modules/.bin/tsx scripts/dev-stack.ts
