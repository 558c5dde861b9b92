#!/usr/bin/env bash
# Fuzzes the admin API against its own OpenAPI document: serves the gateway with the demo
# organisation on a fresh SQLite file at a free port on 127.0.0.1, and runs schemathesis over
# every operation as the demo admin. Checks: no 5xx, and every response matches the document's
# schema for its status. Bounded: GATEHOUSE_FUZZ_EXAMPLES cases per operation and phase (default
# 20), seeded (GATEHOUSE_FUZZ_SEED, fixed by default) so that a failure reproduces.
# The admin's token never reaches the output: it goes from the gateway's stdout (a file in a
# private temp folder) into schemathesis's environment, and schemathesis masks Authorization.
# Usage: scripts/schemathesis.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
examples=${GATEHOUSE_FUZZ_EXAMPLES:-20}
seed=${GATEHOUSE_FUZZ_SEED:-20261122}

venv="$HOME/.cache/gatehouse/venv"
if [ ! -x "$venv/bin/schemathesis" ] || ! cmp -s scripts/test-requirements.txt "$venv/.requirements"; then
  scripts/install-deps.sh test
fi

# The path cargo built, wherever CARGO_TARGET_DIR points.
bin=$(cargo build -p gatehouse-gateway --bin gatehouse-gateway --locked \
  --message-format=json-render-diagnostics |
  python3 -c 'import json, sys
print([m["executable"] for m in map(json.loads, sys.stdin)
       if m.get("reason") == "compiler-artifact" and m.get("executable")][-1])')

work=$(mktemp -d /tmp/gatehouse-fuzz.XXXXXX)
gateway=
stop() {
  if [ -n "$gateway" ]; then
    kill "$gateway" 2>/dev/null || true
    wait "$gateway" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
# A copy, so that a build elsewhere in the same target folder cannot swap it mid-run.
cp "$bin" "$work/gatehouse-gateway"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Another process may take the port between the probe and the bind: then try another.
port=
for _ in 1 2 3; do
  candidate=$(free_port)
  rm -f "$work"/gateway.db*
  NO_COLOR=1 "$work/gatehouse-gateway" serve --demo --db "sqlite://$work/gateway.db" \
    --listen "127.0.0.1:$candidate" >"$work/stdout" 2>"$work/stderr" &
  gateway=$!
  for _ in $(seq 300); do
    grep -q '^listening on ' "$work/stdout" && break
    kill -0 "$gateway" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q '^listening on ' "$work/stdout"; then
    port=$candidate
    break
  fi
  kill "$gateway" 2>/dev/null || true
  wait "$gateway" 2>/dev/null || true
  gateway=
done
if [ -z "$port" ]; then
  echo "schemathesis.sh: the gateway did not start:" >&2
  cat "$work/stderr" >&2
  exit 1
fi
# `--demo` prints the admin's token alone on the line after "Demo organisation …".
token=$(sed -n '/^Demo organisation/{n;p;q}' "$work/stdout")
case "$token" in
  gat_*) ;;
  *) echo "schemathesis.sh: no admin token in the gateway's output" >&2; exit 1 ;;
esac

echo "schemathesis.sh: gateway on 127.0.0.1:$port; $examples examples per operation, seed $seed" >&2
started=$(date +%s)
status=0
# In the temp folder, where schemathesis and Hypothesis leave their caches.
(
  cd "$work"
  GATEHOUSE_FUZZ_TOKEN=$token timeout 300 "$venv/bin/schemathesis" \
    --config-file "$root/scripts/schemathesis.toml" \
    run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$examples" --seed "$seed" --workers 2 \
    --generation-database none --request-timeout 10 --output-sanitize true
) || status=$?
echo "schemathesis.sh: $(($(date +%s) - started)) s" >&2
if [ "$status" -ne 0 ]; then
  [ "$status" -eq 124 ] && echo "schemathesis.sh: timed out after 300 s" >&2
  echo "schemathesis.sh: the gateway's log (its 5xx causes are here):" >&2
  tail -n 100 "$work/stderr" >&2
fi
exit "$status"
