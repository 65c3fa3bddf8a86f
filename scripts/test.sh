#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need, then runs jest, whose globalSetup starts a
# Temporal dev server on a free port and creates a fresh PostgreSQL database (on an embedded server when no server is
# configured or answering), and whose teardown removes them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
TEMPORAL_CLI=$(bash scripts/temporal-cli.sh)
export TEMPORAL_CLI

# The database server is chosen by test/global-setup.ts: TEST_DATABASE_SERVER_URL, else a server answering at
# 127.0.0.1:5432, else an embedded PostgreSQL (db/embedded-postgres.ts) that the teardown stops again.
exec npx jest "$@"
