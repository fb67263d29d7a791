#!/usr/bin/env bash
# The stand-in postgres image's command: what the official image does for the variables
# compose.yaml sets. A new cluster in $PGDATA (trust: no password), its database
# $POSTGRES_DB for user $POSTGRES_USER, then the server in the foreground on every address
# of the container, as user postgres.
set -euo pipefail
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
  echo "postgres stand-in: only POSTGRES_HOST_AUTH_METHOD=trust is supported" >&2
  exit 1
fi
# The socket where the official image has it, so that `psql -U p7` in the container finds it.
sockets=/var/run/postgresql
mkdir -p "$PGDATA" "$sockets"
chown postgres: "$PGDATA" "$sockets"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  runuser -u postgres -- initdb -D "$PGDATA" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  echo "host all all all trust" >>"$PGDATA/pg_hba.conf"
  # The database made on a server that listens on a socket only, stopped again before the
  # real start: nothing connects to a half-made cluster.
  runuser -u postgres -- pg_ctl -D "$PGDATA" -o "-c listen_addresses= -k $sockets" -w start >/dev/null
  [ "$db" = postgres ] || runuser -u postgres -- createdb -h "$sockets" -U "$user" "$db"
  runuser -u postgres -- pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
# setpriv, not runuser: it execs, so the server is PID 1 and `docker stop`'s SIGINT is its
# fast shutdown.
exec setpriv --reuid=postgres --regid=postgres --init-groups \
  postgres -D "$PGDATA" -c listen_addresses='*' -k "$sockets"
