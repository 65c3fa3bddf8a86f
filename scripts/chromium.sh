#!/usr/bin/env bash
# Prints the path of the Chromium the browser tests drive (test/browser/support/browser.ts), installing Debian's
# `chromium` package when none is found. Idempotent and fast when a browser is there: no network, no apt.
#
# Order: CHROMIUM_PATH (must be executable), then `chromium`, `chromium-browser`, `google-chrome` on PATH, then
# `apt-get install chromium` (non-interactive, quiet; as root, or through passwordless sudo). Progress goes to stderr,
# only the path to stdout, so `CHROMIUM_PATH=$(bash scripts/chromium.sh)` works. Exits 1 with a message saying what
# to do when no browser can be found or installed.
set -euo pipefail

if [ -n "${CHROMIUM_PATH:-}" ]; then
  if [ -x "$CHROMIUM_PATH" ]; then
    echo "$CHROMIUM_PATH"
    exit 0
  fi
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file: point it at a Chromium or Chrome binary" >&2
  exit 1
fi

find_browser() {
  local name
  for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if find_browser; then exit 0; fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "No Chromium found and no apt-get to install one: install Chromium or Chrome, or set CHROMIUM_PATH" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "No Chromium found: run \`sudo apt-get install chromium\` (or set CHROMIUM_PATH)" >&2
    exit 1
  fi
fi
echo "Installing Chromium for the browser tests (apt-get install chromium)..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >&2
"${SUDO[@]}" apt-get install -y -qq chromium >&2
if find_browser; then exit 0; fi
echo "apt-get installed chromium but no chromium binary is on PATH: set CHROMIUM_PATH" >&2
exit 1
