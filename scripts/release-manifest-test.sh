#!/usr/bin/env bash
# Checks scripts/release-manifest.py on a made-up set of builds: unique names for the two macOS
# builds' artifacts, one platform key per signed artifact with its signature's text, and a
# refusal when nothing is signed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dist="$tmp/dist"
mk() { mkdir -p "$(dirname "$1")"; echo "$2" > "$1"; }
mk "$dist/bundle-linux-x86_64/release/bundle/deb/Gatehouse_1.2.3_amd64.deb" deb
mk "$dist/bundle-linux-x86_64/release/bundle/deb/Gatehouse_1.2.3_amd64.deb.sig" sig-deb
mk "$dist/bundle-linux-x86_64/release/bundle/appimage/Gatehouse_1.2.3_amd64.AppImage" appimage
mk "$dist/bundle-linux-x86_64/release/bundle/appimage/Gatehouse_1.2.3_amd64.AppImage.sig" sig-appimage
mk "$dist/bundle-windows-x86_64/release/bundle/nsis/Gatehouse_1.2.3_x64-setup.exe" exe
mk "$dist/bundle-windows-x86_64/release/bundle/nsis/Gatehouse_1.2.3_x64-setup.exe.sig" sig-exe
mk "$dist/bundle-macos-aarch64/aarch64-apple-darwin/release/bundle/macos/Gatehouse.app.tar.gz" arm
mk "$dist/bundle-macos-aarch64/aarch64-apple-darwin/release/bundle/macos/Gatehouse.app.tar.gz.sig" sig-arm
mk "$dist/bundle-macos-x86_64/x86_64-apple-darwin/release/bundle/macos/Gatehouse.app.tar.gz" intel
mk "$dist/bundle-macos-x86_64/x86_64-apple-darwin/release/bundle/macos/Gatehouse.app.tar.gz.sig" sig-intel
mk "$dist/bundle-macos-x86_64/x86_64-apple-darwin/release/bundle/dmg/Gatehouse_1.2.3_x64.dmg" dmg

python3 "$here/release-manifest.py" "$dist" 1.2.3 https://example.test/r/ "$tmp/out"
python3 - "$tmp/out" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
m = json.loads((out / "latest.json").read_text())
assert m["version"] == "1.2.3", m
p = m["platforms"]
assert sorted(p) == ["darwin-aarch64-app", "darwin-x86_64-app", "linux-x86_64-appimage",
                     "linux-x86_64-deb", "windows-x86_64-nsis"], sorted(p)
assert p["darwin-aarch64-app"] == {"url": "https://example.test/r/Gatehouse_aarch64.app.tar.gz", "signature": "sig-arm"}, p
assert p["darwin-x86_64-app"]["signature"] == "sig-intel", p
assert (out / "Gatehouse_aarch64.app.tar.gz").read_text() == "arm\n"
assert (out / "Gatehouse_x86_64.app.tar.gz").read_text() == "intel\n"
assert (out / "Gatehouse_1.2.3_x64.dmg").is_file()
PY
find "$dist" -name '*.sig' -delete
if python3 "$here/release-manifest.py" "$dist" 1.2.3 https://example.test/r "$tmp/out2" 2>/dev/null; then
  echo "release-manifest.py made a manifest of unsigned builds" >&2
  exit 1
fi
echo "release-manifest: ok"
