#!/usr/bin/env bash
# `npm run test:topology`: the production topology test (test/topology/production-topology.test.ts) on a self-hosted
# Temporal Server 1.29.1 on PostgreSQL, with the API and two worker processes. Builds the server with go install if it is
# not cached yet (several minutes, once); `--if-cached` skips the test instead, saying why (what .ci/run uses).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--if-cached" ]; then
  shift
  if ! bash scripts/temporal-server.sh --cached >/dev/null 2>&1; then
    echo "Topology test skipped: Temporal Server 1.29.1 is not in the build cache (build it once with" \
      "\`bash scripts/temporal-server.sh\`, several minutes, then CI runs this test too)."
    exit 0
  fi
else
  bash scripts/temporal-server.sh >/dev/null
fi

db_server=${TEST_DATABASE_SERVER_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! node -e "const {Client}=require('pg');const c=new Client({connectionString:process.argv[1]});c.connect().then(()=>c.end()).catch(e=>{console.error(e.message);process.exit(1)})" "$db_server"; then
  echo "Cannot reach PostgreSQL at $db_server. Start it, or set TEST_DATABASE_SERVER_URL to a server where this user may create databases." >&2
  exit 1
fi

start=$(date +%s)
status=0
npx jest --config jest.topology.config.js "$@" || status=$?
echo "Topology test took $(($(date +%s) - start)) s (exit status $status)."
exit $status
