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
# The browser tests (test/browser/) drive a headless Chromium: Debian's package, installed here when missing. Without
# one they fail with a message saying how to get it; every other test still runs.
if CHROMIUM_PATH=$(bash scripts/chromium.sh); then
  export CHROMIUM_PATH
else
  echo "warning: no Chromium; the browser tests (test/browser/) will fail" >&2
fi

# The database server is chosen by test/global-setup.ts: TEST_DATABASE_SERVER_URL, else a server answering at
# 127.0.0.1:5432, else an embedded PostgreSQL (db/embedded-postgres.ts) that the teardown stops again.
exec npx jest "$@"
