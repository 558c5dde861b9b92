#!/usr/bin/env bash
# Runs a command beside a throwaway PostgreSQL cluster: a fresh data folder in /tmp, listening on
# 127.0.0.1 only (a free port), trust authentication on loopback only, no durability (fsync off:
# nothing in it outlives the command). The command gets its URL in GATEHOUSE_TEST_POSTGRES; the
# cluster is stopped and deleted when the command ends, whatever its outcome.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
set -euo pipefail
if [ $# -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi
# Nested use, or a server the caller provides (CI): keep it.
if [ -n "${GATEHOUSE_TEST_POSTGRES:-}" ]; then
  exec "$@"
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
  echo "with-postgres.sh: no PostgreSQL server found; run scripts/install-deps.sh test" >&2
  exit 1
fi

started=$(date +%s%N)
dir=$(mktemp -d /tmp/gatehouse-pg.XXXXXX)
# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres account.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi

stop_cluster() {
  if [ -f "$dir/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
  --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# Only the socket in $dir and TCP from loopback may connect.
printf '%s\n' 'local all all trust' 'host all all 127.0.0.1/32 trust' >"$dir/data/pg_hba.conf"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Another process may take the port between the probe and the bind: then try another.
port=
for _ in 1 2 3 4 5; do
  candidate=$(free_port)
  if "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $candidate -k $dir -c max_connections=300 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null; then
    port=$candidate
    break
  fi
done
if [ -z "$port" ]; then
  echo "with-postgres.sh: the PostgreSQL server did not start:" >&2
  cat "$dir/server.log" >&2 || true
  exit 1
fi

export GATEHOUSE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port," \
  "ready in $(( ($(date +%s%N) - started) / 1000000 )) ms" >&2

# In the background, so that a signal to this script reaches the command at once (and the
# cluster goes after it) instead of waiting for it to end. A background command ignores SIGINT,
# so both signals are passed on as SIGTERM.
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM
while :; do
  status=0
  wait "$child" || status=$?
  # A trapped signal ends `wait` early; wait again until the command has really ended.
  kill -0 "$child" 2>/dev/null || break
done
exit "$status"
