#!/usr/bin/env bash
# `npm run test:faults`: the fault suite (test/faults/README.md). Installs what it needs like `npm test` does, then runs
# every scenario one after another: each starts a private PostgreSQL cluster (Debian's server binaries), a Temporal dev
# server on its own state file and real worker processes, and kills, stops or restarts them at exact points.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
TEMPORAL_CLI=$(bash scripts/temporal-cli.sh)
export TEMPORAL_CLI
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "The fault suite needs PostgreSQL's server binaries (/usr/lib/postgresql/<version>/bin): apt-get install postgresql" >&2
  exit 1
fi

start=$(date +%s)
status=0
npx jest --config jest.faults.config.js "$@" || status=$?
echo "Fault suite took $(($(date +%s) - start)) s (exit status $status)."
exit $status
