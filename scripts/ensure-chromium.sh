#!/usr/bin/env bash
# Make sure Debian's chromium is installed, for the browser tests (tests/browser).
#
#   scripts/ensure-chromium.sh
#
# Prints the version of /usr/bin/chromium. If it is missing, installs Debian's
# `chromium` package with apt-get first (through sudo when not root). Idempotent:
# when chromium is already there it only prints its version. Playwright drives this
# binary through `executable_path`; no browser is ever downloaded by Playwright.
set -euo pipefail

chromium=/usr/bin/chromium

if [[ ! -x "$chromium" ]]; then
    echo "ensure-chromium: installing Debian's chromium package" >&2
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "ensure-chromium: not root and no sudo: install the 'chromium' package by hand" >&2
        exit 1
    fi
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

# Debian's /usr/bin/chromium is a shell wrapper; where /dev/shm is mounted twice, its dev-shm
# check prints a harmless "[: ...: unexpected operator". Show its stderr only on failure.
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
if ! "$chromium" --version 2>"$errors"; then
    cat "$errors" >&2
    echo "ensure-chromium: $chromium --version failed" >&2
    exit 1
fi
