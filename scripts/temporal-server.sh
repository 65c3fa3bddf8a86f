#!/usr/bin/env bash
# Prints the directory holding a Temporal Server and its SQL schema tool (`temporal-server`, `temporal-sql-tool`) of
# the version the pinned CLI's dev server embeds (1.29.1), with that version's PostgreSQL schema files
# (`schema/postgresql/v12/{temporal,visibility}`), building them with `go install` into a cache outside the clone if
# they are missing (like scripts/temporal-cli.sh does for the CLI). Progress goes to stderr.
#
#   bash scripts/temporal-server.sh           # path of the directory; builds what is missing (several minutes)
#   bash scripts/temporal-server.sh --cached  # path only if both binaries are already cached, else exit 3, no build
#
# TEMPORAL_SERVER_DIR set: that directory is used as is (it must hold both binaries).
set -euo pipefail
VERSION=v1.29.1

has_both() { [ -x "$1/temporal-server" ] && [ -x "$1/temporal-sql-tool" ] && [ -d "$1/schema/postgresql/v12" ]; }

if [ -n "${TEMPORAL_SERVER_DIR:-}" ]; then
  if ! has_both "$TEMPORAL_SERVER_DIR"; then
    echo "TEMPORAL_SERVER_DIR=$TEMPORAL_SERVER_DIR does not hold temporal-server, temporal-sql-tool and schema/postgresql/v12." >&2
    exit 1
  fi
  echo "$TEMPORAL_SERVER_DIR"
  exit 0
fi

cache="${DATA_LIFECYCLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/data-lifecycle}/temporal-server/$VERSION"
if has_both "$cache"; then
  echo "$cache"
  exit 0
fi
if [ "${1:-}" = "--cached" ]; then
  echo "Temporal Server $VERSION is not cached in $cache (build it with: bash scripts/temporal-server.sh)." >&2
  exit 3
fi

go_bin=$(command -v go 2>/dev/null || true)
[ -z "$go_bin" ] && [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go
if [ -z "$go_bin" ]; then
  cat >&2 <<MSG
No Temporal Server $VERSION in $cache, and no Go toolchain to build one.
Either install Go (https://go.dev/dl/, 1.25 or newer) and run this again, which builds
  go install go.temporal.io/server/cmd/server@$VERSION
  go install go.temporal.io/server/cmd/tools/sql@$VERSION
or put temporal-server and temporal-sql-tool of that version in a directory and point TEMPORAL_SERVER_DIR at it.
MSG
  exit 1
fi

# Built into a scratch directory first: the cache holds both binaries, under their released names, or nothing.
echo "Building Temporal Server $VERSION and its SQL tool with go install into $cache (several minutes the first time)..." >&2
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
GOBIN="$build" GOFLAGS=-mod=mod "$go_bin" install \
  "go.temporal.io/server/cmd/server@$VERSION" "go.temporal.io/server/cmd/tools/sql@$VERSION" >&2
# The schema files come with the server module that go install just fetched (read-only there: made writable here).
schema="$(GOFLAGS=-mod=mod "$go_bin" env GOMODCACHE)/go.temporal.io/server@$VERSION/schema/postgresql/v12"
mkdir -p "$build/schema/postgresql"
cp -R "$schema" "$build/schema/postgresql/v12"
chmod -R u+w "$build/schema"
mkdir -p "$cache"
rm -rf "$cache/schema"
mv "$build/schema" "$cache/schema"
mv "$build/sql" "$cache/temporal-sql-tool"
mv "$build/server" "$cache/temporal-server"
echo "$cache"
