#!/usr/bin/env bash
# Onboards the example customer (docs/examples/onboarding.json) through the running stack and follows the request
# until it ends. Usage: bash scripts/demo-onboarding.sh [API base URL]. A random registration number keeps reruns apart.
set -euo pipefail
api=${1:-http://localhost:${PORT:-8080}}
# A support token: $API_TOKEN, else the one `npm start` wrote for the local stack.
token=${API_TOKEN:-$(sed -n 's/.*"support": "\([^"]*\)".*/\1/p' "$(dirname "$0")/../.data/dev-tokens.json" 2>/dev/null)}
if [ -z "$token" ]; then
  echo "No API token: start the stack with npm start (it writes .data/dev-tokens.json) or set API_TOKEN." >&2
  exit 1
fi
auth="Authorization: Bearer $token"
body=$(sed "s/HRB 123456/HRB $RANDOM$RANDOM/" "$(dirname "$0")/../docs/examples/onboarding.json")
echo "POST $api/v1/customers"
answer=$(curl -sS -X POST "$api/v1/customers" -H "$auth" -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$RANDOM$RANDOM" -d "$body")
echo "$answer"
request=$(echo "$answer" | sed -n 's/.*"requestId":"\([^"]*\)".*/\1/p')
[ -n "$request" ] || exit 1
for _ in $(seq 1 30); do
  status=$(curl -sS -H "$auth" "$api/v1/requests/$request")
  case "$status" in *'"status":"completed"'*|*'"status":"failed"'*) break ;; esac
  sleep 1
done
echo "GET $api/v1/requests/$request"
echo "$status"
