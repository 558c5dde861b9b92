#!/usr/bin/env bash
# Checks the .deb and the AppImage in BUNDLE_DIR (from `make bundle`, or the debug ones from
# `make bundle-debug`): the package's fields and files, installing it with dpkg into a throwaway
# root, starting the installed app and the AppImage under Xvfb on a fresh profile until the
# embedded demo gateway has synced into the cache (from the app's own log file), and a second
# launch handing over to the first (single instance). Prints the sizes.
# Usage: scripts/bundle-test.sh BUNDLE_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
bundle=$(realpath "${1:?usage: scripts/bundle-test.sh BUNDLE_DIR}")

# The apps need a display, a session bus (single instance) and a Secret Service (the demo's token).
if [ -z "${GATEHOUSE_BUNDLE_TEST_SESSION:-}" ]; then
  export GATEHOUSE_BUNDLE_TEST_SESSION=1
  exec xvfb-run -a -s "-screen 0 1280x800x24" scripts/with-keyring.sh "$0" "$bundle"
fi

fail() { echo "bundle test: $*" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

version=$(python3 -c 'import json; print(json.load(open("tauri.conf.json"))["version"])')
deb="$bundle/deb/Gatehouse_${version}_amd64.deb"
image="$bundle/appimage/Gatehouse_${version}_amd64.AppImage"
[ -f "$deb" ] || fail "no $deb"
[ -f "$image" ] || fail "no $image"

# --- the .deb: fields, dependencies present here, files once installed ---
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = gatehouse ] || fail "package name $(field Package)"
[ "$(field Version)" = "$version" ] || fail "version $(field Version), expected $version"
[ "$(field Architecture)" = amd64 ] || fail "architecture $(field Architecture)"
depends=$(field Depends)
for needed in libwebkit2gtk-4.1-0 libgtk-3-0; do
  [[ "$depends" == *"$needed"* ]] || fail "Depends lacks $needed: $depends"
done
for dep in $(echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/|.*//' | xargs); do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" ||
    fail "the package depends on $dep, which this machine does not have"
done

root="$work/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
touch "$root/var/lib/dpkg/status"
# Dependencies live in the real system, not in this root (checked above).
dpkg --root="$root" --log=/dev/null --force-depends --force-script-chrootless -i "$deb" \
  >"$work/dpkg.txt" 2>&1 || fail "dpkg -i failed: $(cat "$work/dpkg.txt")"
dpkg --root="$root" -s gatehouse | grep -q "^Status: install ok installed" || fail "dpkg did not install it"
installed_files=$(dpkg --root="$root" -L gatehouse)
for f in /usr/bin/gatehouse /usr/share/applications/Gatehouse.desktop \
         /usr/share/icons/hicolor/32x32/apps/gatehouse.png /usr/share/icons/hicolor/128x128/apps/gatehouse.png; do
  grep -qx "$f" <<<"$installed_files" || fail "the package does not install $f"
done
[ -x "$root/usr/bin/gatehouse" ] || fail "/usr/bin/gatehouse is not executable"
desktop="$root/usr/share/applications/Gatehouse.desktop"
grep -qx "Exec=gatehouse" "$desktop" || fail "$desktop: $(cat "$desktop")"
grep -qx "Icon=gatehouse" "$desktop" || fail "$desktop: $(cat "$desktop")"
grep -q "__TAURI_BUNDLE_TYPE_VAR_DEB" "$root/usr/bin/gatehouse" || fail "the binary does not know it came in a .deb"

# --- the AppImage: a type-2 AppImage whose contents are the app's ---
[ "$(head -c 4 "$image" | od -An -c | tr -d ' ')" = '177ELF' ] || fail "the AppImage is not an ELF file"
[ "$(dd if="$image" bs=1 skip=8 count=3 2>/dev/null | od -An -tx1 | tr -d ' ')" = 414902 ] ||
  fail "the AppImage lacks the type-2 magic"
(cd "$work" && "$image" --appimage-extract >/dev/null)
for f in AppRun gatehouse.desktop gatehouse.png .DirIcon usr/bin/gatehouse usr/share/applications/Gatehouse.desktop; do
  [ -e "$work/squashfs-root/$f" ] || fail "the AppImage lacks $f"
done
grep -q "__TAURI_BUNDLE_TYPE_VAR_APP" "$work/squashfs-root/usr/bin/gatehouse" ||
  fail "the AppImage's binary does not know it is an AppImage (the updater would use dpkg)"

# --- both start on a fresh profile and sync the demo organisation into the cache ---
# Starts "$@" with fresh folders under $work/$name; sets $home and $pid.
launch() {
  local name=$1; shift
  home="$work/$name"
  # No update check at start: tests talk to loopback only.
  mkdir -p "$home/config/dev.gatehouse.console"
  echo '{ "check_updates_at_start": false }' > "$home/config/dev.gatehouse.console/settings.json"
  # A session of its own, so that stopping it stops whatever it started (the AppImage's runtime
  # runs the app as a child).
  setsid env XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" \
    WEBKIT_DISABLE_COMPOSITING_MODE=1 RUST_LOG= "$@" >"$home/output.txt" 2>&1 &
  pid=$!
  pids+=("$pid")
}
# Waits until the app's log file in $home has a line matching $1.
wait_for_log() {
  local pattern=$1 logs="$home/data/dev.gatehouse.console/logs"
  for _ in $(seq 1 1200); do
    if grep -qE "$pattern" "$logs"/gatehouse.*.log 2>/dev/null; then return 0; fi
    kill -0 "$pid" 2>/dev/null || fail "the app exited before logging /$pattern/: $(cat "$home/output.txt")"
    sleep 0.1
  done
  fail "no /$pattern/ in the log within 120 s: $(cat "$logs"/* 2>/dev/null; cat "$home/output.txt")"
}
stop() {
  kill -- "-$pid"
  wait "$pid" 2>/dev/null || true
}

launch deb "$root/usr/bin/gatehouse"
wait_for_log "INFO .*starting"
wait_for_log "INFO .*synced applied="
[ -f "$home/data/dev.gatehouse.console/cache/demo.sqlite" ] || fail "no cache database after the sync"
# A second launch on the same session hands over to the first and exits.
first=$pid
env XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" XDG_CACHE_HOME="$home/cache" \
  timeout 30 "$root/usr/bin/gatehouse" >"$home/second.txt" 2>&1 || fail "the second launch did not exit by itself: $(cat "$home/second.txt")"
wait_for_log "launched again; focusing the running window"
kill -0 "$first" || fail "the first instance is gone"
stop
echo "bundle test: the installed .deb starts, syncs the demo into its cache, and a second launch focuses it"

launch appimage env APPIMAGE_EXTRACT_AND_RUN=1 "$image"
wait_for_log "INFO .*starting"
wait_for_log "INFO .*synced applied="
stop
echo "bundle test: the AppImage starts and syncs the demo into its cache"

kib() { du -k --apparent-size "$1" | cut -f1; }
echo "BUNDLE deb $(kib "$deb") KiB"
echo "BUNDLE appimage $(kib "$image") KiB"
echo "BUNDLE installed $(dpkg-deb -f "$deb" Installed-Size) KiB"
