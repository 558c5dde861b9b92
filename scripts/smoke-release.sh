#!/usr/bin/env bash
# Starts a release build once, on the system it was built on (the release workflow's smoke test):
# the app must still be running after 30 seconds, its embedded demo gateway up and its first sync
# done or under way; then it is stopped. usage: smoke-release.sh <linux-x86_64|windows-x86_64|
# macos-aarch64|macos-x86_64>
set -euo pipefail
case "$1" in
  linux-x86_64) app=target/release/gatehouse; run=(xvfb-run -a "$app") ;;
  windows-x86_64) app=target/release/gatehouse.exe; run=("$app") ;;
  macos-aarch64) app=target/aarch64-apple-darwin/release/gatehouse; run=("$app") ;;
  macos-x86_64) app=target/x86_64-apple-darwin/release/gatehouse; run=("$app") ;;
  *) echo "unknown build $1" >&2; exit 2 ;;
esac
[ -x "$app" ] || { echo "no app at $app" >&2; exit 1; }
home="$(mktemp -d)"
HOME="$home" USERPROFILE="$home" "${run[@]}" > "$home/app.out" 2>&1 &
pid=$!
sleep 30
if ! kill -0 "$pid" 2>/dev/null; then
  echo "the app exited within 30 seconds:" >&2
  cat "$home/app.out" >&2
  exit 1
fi
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
echo "smoke: $1 ran for 30 seconds"
