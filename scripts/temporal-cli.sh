#!/usr/bin/env bash
# Prints the path of a Temporal CLI on stdout (progress goes to stderr).
# Order: $TEMPORAL_CLI, a `temporal` on PATH, a cached CLI (built or downloaded earlier), else the TypeScript SDK's own
# download of the dev server (scripts/download-temporal-cli.ts; seconds, needs the internet), else `go install` v1.5.1
# (minutes, needs a Go toolchain and the Go module proxy). The cache lives outside the clone (default
# ~/.cache/data-lifecycle) so CI runs and later clones reuse it.
set -euo pipefail
VERSION=v1.5.1
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -n "${TEMPORAL_CLI:-}" ]; then
  if [ ! -x "$TEMPORAL_CLI" ]; then
    echo "TEMPORAL_CLI=$TEMPORAL_CLI is not an executable file." >&2
    exit 1
  fi
  echo "$TEMPORAL_CLI"
  exit 0
fi
if command -v temporal >/dev/null 2>&1; then
  command -v temporal
  exit 0
fi

cache_root="${DATA_LIFECYCLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/data-lifecycle}/temporal-cli"
cache="$cache_root/$VERSION"
sdk_cache="$cache_root/sdk-download"
if [ -x "$cache/temporal" ]; then
  echo "$cache/temporal"
  exit 0
fi
if [ -x "$sdk_cache/temporal" ]; then
  echo "$sdk_cache/temporal"
  exit 0
fi

# The SDK's download: only tried when its download service answers within a few seconds, so an offline machine falls
# through to `go install` at once instead of waiting for the SDK's own retries.
download_host=${TEMPORAL_CLI_DOWNLOAD_CHECK_URL:-https://temporal.download/}
sdk_attempt="not tried"
if [ -x "$root/node_modules/.bin/tsx" ]; then
  if curl -fsS --connect-timeout 4 --max-time 8 -o /dev/null "$download_host" 2>/dev/null; then
    echo "Downloading the Temporal CLI through the TypeScript SDK into $sdk_cache..." >&2
    if downloaded=$(timeout 300 "$root/node_modules/.bin/tsx" "$root/scripts/download-temporal-cli.ts" "$sdk_cache/files"); then
      ln -sf "$downloaded" "$sdk_cache/temporal"
      echo "$sdk_cache/temporal"
      exit 0
    fi
    sdk_attempt="failed (see above)"
  else
    sdk_attempt="skipped: $download_host does not answer (no internet?)"
  fi
  echo "SDK download of the Temporal CLI $sdk_attempt; trying go install." >&2
fi

go_bin=$(command -v go 2>/dev/null || true)
[ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go
if [ -z "$go_bin" ]; then
  cat >&2 <<MSG
No Temporal CLI found, and neither way of getting one worked:
  1. the TypeScript SDK's download of the dev server ($sdk_attempt): needs access to $download_host;
  2. building it with Go: no Go toolchain. Install Go (https://go.dev/dl/, 1.22 or newer) and run this again, which runs
       go install github.com/temporalio/cli/cmd/temporal@$VERSION
Or install the Temporal CLI yourself and point TEMPORAL_CLI at it (or put \`temporal\` on PATH).
MSG
  exit 1
fi

echo "Building Temporal CLI $VERSION with go install into $cache (a few minutes the first time)..." >&2
mkdir -p "$cache"
if ! GOBIN="$cache" GOFLAGS=-mod=mod "$go_bin" install "github.com/temporalio/cli/cmd/temporal@$VERSION" >&2; then
  cat >&2 <<MSG
No Temporal CLI found, and neither way of getting one worked:
  1. the TypeScript SDK's download of the dev server ($sdk_attempt): needs access to $download_host;
  2. go install github.com/temporalio/cli/cmd/temporal@$VERSION failed (above): needs the Go module proxy.
Or install the Temporal CLI yourself and point TEMPORAL_CLI at it (or put \`temporal\` on PATH).
MSG
  exit 1
fi
echo "$cache/temporal"
