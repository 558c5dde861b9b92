#!/usr/bin/env bash
# Fuzzes the admin API against its own OpenAPI document: serves the gateway with the demo
# organisation at a free port on 127.0.0.1 on a fresh SQLite file, and on a fresh PostgreSQL
# database too when GATEHOUSE_TEST_POSTGRES is set (as under scripts/with-postgres.sh), and runs
# schemathesis over every operation as the demo admin. Checks: no 5xx, and every response
# matches the document's schema for its status. Bounded: GATEHOUSE_FUZZ_EXAMPLES cases per
# operation and phase (default 20), seeded (GATEHOUSE_FUZZ_SEED, fixed by default) so that a
# failure reproduces. The admin's token never reaches the output: it goes from the gateway's
# stdout (a file in a private temp folder) into schemathesis's environment, and schemathesis
# masks Authorization in what it prints.
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

# Serves the demo organisation on database URL $1 and fuzzes it; $2 names the run.
fuzz() {
  local db=$1 name=$2 port= token status=0 started
  # Another process may take the port between the probe and the bind: then try another.
  for _ in 1 2 3; do
    local candidate
    candidate=$(free_port)
    NO_COLOR=1 "$work/gatehouse-gateway" serve --demo --db "$db" \
      --listen "127.0.0.1:$candidate" >"$work/stdout" 2>"$work/$name.log" &
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
    echo "schemathesis.sh: the gateway on $name did not start:" >&2
    cat "$work/$name.log" >&2
    return 1
  fi
  # `--demo` prints the admin's token alone on the line after "Demo organisation …".
  token=$(sed -n '/^Demo organisation/{n;p;q}' "$work/stdout")
  rm -f "$work/stdout"
  case "$token" in
    gat_*) ;;
    *) echo "schemathesis.sh: no admin token in the gateway's output" >&2; return 1 ;;
  esac

  echo "schemathesis.sh: $name gateway on 127.0.0.1:$port;" \
    "$examples examples per operation, seed $seed" >&2
  started=$(date +%s)
  # In the temp folder, where schemathesis and Hypothesis leave their caches. One worker:
  # with two, Hypothesis parses lambdas' source in two threads at once, which CPython 3.11's ast
  # module can fail ("AST constructor recursion depth mismatch"), an error of the tool, not ours.
  (
    cd "$work"
    GATEHOUSE_FUZZ_TOKEN=$token timeout 300 "$venv/bin/schemathesis" \
      --config-file "$root/scripts/schemathesis.toml" \
      run "http://127.0.0.1:$port/openapi.json" \
      --checks not_a_server_error,response_schema_conformance \
      --max-examples "$examples" --seed "$seed" --workers 1 \
      --generation-database none --request-timeout 10 --output-sanitize true
  ) || status=$?
  echo "schemathesis.sh: $name: $(($(date +%s) - started)) s" >&2
  kill "$gateway" 2>/dev/null || true
  wait "$gateway" 2>/dev/null || true
  gateway=
  if [ "$status" -ne 0 ]; then
    [ "$status" -eq 124 ] && echo "schemathesis.sh: timed out after 300 s" >&2
    echo "schemathesis.sh: the $name gateway's log (its 5xx causes are here):" >&2
    tail -n 100 "$work/$name.log" >&2
  fi
  return "$status"
}

status=0
fuzz "sqlite://$work/gateway.db" sqlite || status=$?
# PostgreSQL refuses values SQLite takes, so the fuzzing runs there too when a server is at hand
# (`make api-fuzz` runs this under scripts/with-postgres.sh), on a database of its own.
if [ -n "${GATEHOUSE_TEST_POSTGRES:-}" ]; then
  pg_db="gatehouse_fuzz_$(date +%s)_$$"
  psql -q -v ON_ERROR_STOP=1 "$GATEHOUSE_TEST_POSTGRES" -c "CREATE DATABASE $pg_db"
  pg_url=$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
    "$GATEHOUSE_TEST_POSTGRES" "$pg_db")
  fuzz "$pg_url" postgres || status=$?
  psql -q "$GATEHOUSE_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" || true
else
  echo "schemathesis.sh: GATEHOUSE_TEST_POSTGRES is not set: SQLite only" \
    "(scripts/with-postgres.sh scripts/schemathesis.sh runs PostgreSQL too)" >&2
fi
exit "$status"
