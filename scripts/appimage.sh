#!/usr/bin/env bash
# Builds Gatehouse's AppImage from the .deb that `tauri build --bundles deb` made: the same files
# (binary, desktop entry, icons) in an AppDir, packed with mksquashfs behind AppImageKit's type-2
# runtime (shipped in the `appimage` crate on crates.io, fetched by cargo and pinned below).
# Signs it for the updater when TAURI_SIGNING_PRIVATE_KEY is set (and its password in
# TAURI_SIGNING_PRIVATE_KEY_PASSWORD).
#
# Tauri's own AppImage bundler downloads linuxdeploy from GitHub, which these machines cannot
# reach, so this AppImage does not carry WebKitGTK and GTK inside it: like the .deb, it runs where
# libwebkit2gtk-4.1 is installed (Debian 12+, Ubuntu 22.04+, Fedora 39+ ...).
#
# Usage: scripts/appimage.sh BUNDLE_DIR   (e.g. $CARGO_TARGET_DIR/release/bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=${1:?usage: scripts/appimage.sh BUNDLE_DIR}

# The runtime's SHA-256, as the appimage 0.4.0 crate (checksum in scripts/appimage-runtime/Cargo.lock) ships it.
runtime_sha256=328e0d745c5c6817048c27bc3e8314871703f8f47ffa81a37cb06cd95a94b323

[ "$(uname -m)" = x86_64 ] || { echo "the AppImage runtime here is for x86_64 only" >&2; exit 1; }
debs=("$bundle"/deb/*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || { echo "expected one .deb in $bundle/deb" >&2; exit 1; }
deb=${debs[0]}
version=$(dpkg-deb -f "$deb" Version)
out="$bundle/appimage"
appdir="$out/Gatehouse.AppDir"
image="$out/Gatehouse_${version}_amd64.AppImage"
rm -rf "$out"
mkdir -p "$out"

cargo fetch --locked --quiet --manifest-path scripts/appimage-runtime/Cargo.toml
crate=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/appimage-0.4.0.crate | head -n 1)
tar -xzOf "$crate" appimage-0.4.0/assets/runtime-x86_64 > "$out/runtime"
echo "$runtime_sha256  $out/runtime" | sha256sum --check --quiet

dpkg-deb -x "$deb" "$appdir"
bin="$appdir/usr/bin/gatehouse"
# The updater installs by bundle type, which the bundler wrote into the binary (same length):
# this copy replaces itself as an AppImage, not through dpkg.
grep -q __TAURI_BUNDLE_TYPE_VAR_DEB "$bin" || { echo "$bin carries no deb bundle type" >&2; exit 1; }
perl -0777 -pi -e 's/__TAURI_BUNDLE_TYPE_VAR_DEB/__TAURI_BUNDLE_TYPE_VAR_APP/g' "$bin"

cat > "$appdir/AppRun" <<'EOF'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/bin/gatehouse" "$@"
EOF
chmod 755 "$appdir/AppRun"
cp "$appdir/usr/share/applications/Gatehouse.desktop" "$appdir/gatehouse.desktop"
icon=$(ls -S "$appdir"/usr/share/icons/hicolor/*/apps/gatehouse.png | head -n 1)
cp "$icon" "$appdir/gatehouse.png"
ln -s gatehouse.png "$appdir/.DirIcon"

mksquashfs "$appdir" "$out/image.squashfs" -root-owned -noappend -quiet -no-progress
cat "$out/runtime" "$out/image.squashfs" > "$image"
chmod 755 "$image"
rm -rf "$out/runtime" "$out/image.squashfs" "$appdir"

if [ -n "${TAURI_SIGNING_PRIVATE_KEY:-}" ]; then
  ui/node_modules/.bin/tauri signer sign --app-version "$version" "$image"
fi
echo "$image"
