#!/usr/bin/env bash
# Installs what Gatehouse needs on a Debian/Ubuntu machine when it is missing.
# Usage: scripts/install-deps.sh [run|test]   ("test" adds the test-only tools)
set -euo pipefail
mode=${1:-run}
cd "$(dirname "$0")/.."

# xdg-utils opens the log folder; squashfs-tools packs the AppImage (`make bundle`).
pkgs=(build-essential pkg-config curl file libssl-dev libwebkit2gtk-4.1-dev libxdo-dev
      libayatana-appindicator3-dev librsvg2-dev libgtk-3-dev xdg-utils squashfs-tools)
# Tests: Xvfb and WebKitWebDriver for the real app, a Secret Service, PostgreSQL, and xclip and
# secret-tool, with which the end-to-end tests read the clipboard and the keychain as any other
# program would; wrk, the load of the data plane's proxy_max_rps (`make bench`).
if [ "$mode" = test ]; then
  pkgs+=(xvfb webkit2gtk-driver dbus dbus-x11 gnome-keyring libsecret-1-0 at-spi2-core
         xauth postgresql python3-venv xclip libsecret-tools wrk)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    as_root=(sudo)
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }

if [ "$mode" = test ] && ! command -v tauri-driver >/dev/null; then
  cargo install tauri-driver --locked
fi

# Test tools from PyPI live in this venv: aiosmtpd (a real SMTP server for the gateway's mail
# tests, scripts/smtp-sink.py; the Makefile's `unit` target points GATEHOUSE_TEST_PYTHON at it)
# schemathesis (`make api-fuzz`) and scim2-cli (the gateway's SCIM conformance test).
# Reinstalled only when scripts/test-requirements.txt changes.
if [ "$mode" = test ]; then
  venv="$HOME/.cache/gatehouse/venv"
  stamp="$venv/.requirements"
  if ! cmp -s scripts/test-requirements.txt "$stamp"; then
    echo "setting up the test venv in $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-requirements.txt
    cp scripts/test-requirements.txt "$stamp"
  fi
fi
