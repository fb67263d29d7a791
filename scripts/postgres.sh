#!/usr/bin/env bash
# A private PostgreSQL server for trying the sink and for the tests: Debian's `postgresql`
# binaries, a cluster of its own in DIR, listening on 127.0.0.1:PORT only, with a database
# `p7` that user `p7` reaches without a password (trust, loopback only).
#
#   postgres.sh start DIR PORT   creates the cluster (first time) and starts it; prints its URL
#   postgres.sh stop DIR         stops it (fast shutdown)
#   postgres.sh restart DIR      stops and starts it again
#
# PostgreSQL refuses to run as root: as root, the server runs as the system user `postgres`,
# which then owns DIR (and needs to reach it).
set -euo pipefail
usage() { echo "usage: postgres.sh start DIR PORT | stop DIR | restart DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
action=$1
dir=$2

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ] || [ ! -x "$bindir/postgres" ]; then
  echo "postgres: no PostgreSQL server installed (Debian's postgresql package; bash scripts/setup.sh installs it)" >&2
  exit 1
fi
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
# pg_ctl's own words, plus the server log's tail, when it fails: the reason is in them.
ctl() {
  if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" >"$dir/ctl.log" 2>&1; then
    cat "$dir/ctl.log" >&2
    tail -n 5 "$dir/server.log" >&2 2>/dev/null || true
    echo "postgres: pg_ctl $1 failed in $dir (see above)" >&2
    exit 1
  fi
}

case $action in
  start)
    [ $# = 3 ] || usage
    port=$3
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
      chown postgres: "$dir"
      if ! runuser -u postgres -- test -w "$dir"; then
        echo "postgres: user postgres cannot reach $dir (a parent folder is closed to it)" >&2
        exit 1
      fi
    fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      if ! as_owner "$bindir/initdb" -D "$dir/data" -U p7 --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$dir/initdb.log" 2>&1; then
        tail -n 5 "$dir/initdb.log" >&2
        echo "postgres: initdb failed in $dir (see above)" >&2
        exit 1
      fi
    fi
    ctl start -o "-p $port -k $dir -c listen_addresses=127.0.0.1"
    if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U p7 -d postgres -Atqc \
      "SELECT 1 FROM pg_database WHERE datname = 'p7'" | grep -q 1; then
      "$bindir/createdb" -h 127.0.0.1 -p "$port" -U p7 p7
    fi
    echo "postgres://p7@127.0.0.1:$port/p7"
    ;;
  stop) ctl stop -m fast ;;
  restart) ctl restart -m fast ;;
  *) usage ;;
esac
