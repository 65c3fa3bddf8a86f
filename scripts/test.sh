#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need, then runs jest, whose globalSetup starts a
# Temporal dev server on a free port and creates a fresh PostgreSQL database, and whose teardown removes both.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund
fi
TEMPORAL_CLI=$(bash scripts/temporal-cli.sh)
export TEMPORAL_CLI

# PostgreSQL must be reachable; say so plainly instead of failing inside a test.
db_server=${TEST_DATABASE_SERVER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! node -e "const {Client}=require('pg');const c=new Client({connectionString:process.argv[1]});c.connect().then(()=>c.end()).catch(e=>{console.error(e.message);process.exit(1)})" "$db_server"; then
  echo "Cannot reach PostgreSQL at $db_server. Start it, or set TEST_DATABASE_SERVER_URL to a server where this user may create databases." >&2
  exit 1
fi

exec npx jest "$@"
