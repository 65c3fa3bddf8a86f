#!/usr/bin/env bash
# Prints the path of a Temporal CLI on stdout (progress goes to stderr).
# Order: $TEMPORAL_CLI, a `temporal` on PATH, the cached build, else `go install` v1.5.1 into the cache. The cache lives
# outside the clone (default ~/.cache/data-lifecycle) so CI runs and later clones reuse it. Nothing is downloaded from
# anywhere but the Go module proxy.
set -euo pipefail
VERSION=v1.5.1

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

cache="${DATA_LIFECYCLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/data-lifecycle}/temporal-cli/$VERSION"
if [ -x "$cache/temporal" ]; then
  echo "$cache/temporal"
  exit 0
fi

go_bin=$(command -v go 2>/dev/null || true)
[ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go
if [ -z "$go_bin" ]; then
  cat >&2 <<MSG
No Temporal CLI found, and no Go toolchain to build one.
Either install Go (https://go.dev/dl/, 1.22 or newer) and run this again, which builds the pinned CLI with
  go install github.com/temporalio/cli/cmd/temporal@$VERSION
or install the Temporal CLI yourself and point TEMPORAL_CLI at it (or put \`temporal\` on PATH).
MSG
  exit 1
fi

echo "Building Temporal CLI $VERSION with go install into $cache (a few minutes the first time)..." >&2
mkdir -p "$cache"
GOBIN="$cache" GOFLAGS=-mod=mod "$go_bin" install "github.com/temporalio/cli/cmd/temporal@$VERSION" >&2
echo "$cache/temporal"
