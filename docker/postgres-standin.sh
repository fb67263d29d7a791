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
mkdir -p "$PGDATA"
chown postgres: "$PGDATA"
chmod 0700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  runuser -u postgres -- initdb -D "$PGDATA" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  echo "host all all all trust" >>"$PGDATA/pg_hba.conf"
  runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses= -k /tmp &
  until runuser -u postgres -- pg_isready -h /tmp -q; do sleep 0.2; done
  [ "$db" = postgres ] || runuser -u postgres -- createdb -h /tmp -U "$user" "$db"
  kill -INT %1
  wait
fi
exec runuser -u postgres -- postgres -D "$PGDATA" -c listen_addresses='*' -k /tmp
