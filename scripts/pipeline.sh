#!/usr/bin/env bash
# The whole pipeline on this machine: the local broker (started unless one is reachable),
# or with KAFKA_NODES=N a cluster of N nodes and a topic of replication factor min(N, 3),
# the producer, two consumer processes (partitions 0 2 and 1 3), the plot redrawn every
# 10 s and, with `--db URL`, the sink into that database. Ctrl-C stops everything cleanly.
# Other arguments go to the producer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
files=${P7_FILES:-files}
mkdir -p "$files"

db=
producer_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --db)
      [ $# -ge 2 ] || { echo "pipeline: --db needs a URL (sqlite:PATH or postgres://user@host:port/db)" >&2; exit 2; }
      db=$2
      shift 2
      ;;
    --db=*) db=${1#--db=}; shift ;;
    *) producer_args+=("$1"); shift ;;
  esac
done

bash kafka/kafka.sh start
nodes=${KAFKA_NODES:-1}
export KAFKA_BROKERS=${KAFKA_BROKERS:-$(bash kafka/kafka.sh brokers)}
replicas=()
((nodes == 1)) || replicas=(--replication-factor $((nodes < 3 ? nodes : 3)))

# The producer recreates the topic, so checkpoints of an earlier run no longer apply, nor
# the sink's default database in the same folder (any other must be new: the sink refuses
# one fed from an earlier run).
previous=(-name 'partition-*.json' -o -name 'rejected-*.jsonl' -o -name 'p7.db' -o -name 'p7.db-*' -o -name 'p7.db.lock')
old=$(find "$files" -maxdepth 1 \( "${previous[@]}" \) | wc -l)
if [ "$old" -gt 0 ]; then
  echo "pipeline: the producer recreates the topic; removing $old files of the previous run"
  find "$files" -maxdepth 1 \( "${previous[@]}" \) -delete
fi

# Each client in a process group of its own: a Ctrl-C in the terminal reaches only this
# script, which passes it on once. (A second SIGINT makes a client quit without flushing.)
set -m
pids=()
stop() {
  local status=${1:-0}
  # Ignore the rest: `deno task` passes on the Ctrl-C the terminal already sent this script.
  trap "" INT TERM
  echo "pipeline: stopping"
  kill -INT "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  rm -f "$log" "$sink_log"
  deno run --allow-read --allow-write --allow-env plot.ts || true
  echo "pipeline: stopped; files in $files; the broker keeps running (./p7 kafka:stop)"
  exit "$status"
}

# Waits until the client of the last pid has printed PATTERN to its log, or stops it all.
started() {
  local what=$1 file=$2 pattern=$3 pid=${pids[-1]}
  until grep -q "$pattern" "$file"; do
    kill -0 "$pid" 2>/dev/null || { echo "pipeline: the $what exited"; stop 1; }
    sleep 0.2
  done
}

log=$(mktemp "${TMPDIR:-/tmp}/p7-producer.XXXXXX")
sink_log=$(mktemp "${TMPDIR:-/tmp}/p7-sink.XXXXXX")
trap stop INT TERM
deno run --allow-net --allow-env --allow-read producer.ts "${replicas[@]}" "${producer_args[@]}" 2> >(tee "$log" >&2) &
pids+=($!)
started producer "$log" 'recreated'

for partitions in "0 2" "1 3"; do
  # shellcheck disable=SC2086
  deno run --allow-net --allow-env --allow-read --allow-write --v8-flags=--max-semi-space-size=8,--heap-growing-percent=50 consumer.ts $partitions &
  pids+=($!)
done
running="statistics in $files/partition-N.json, chart in $files/month.svg"
if [ -n "$db" ]; then
  deno run --allow-net --allow-env --allow-read --allow-write sink.ts --db "$db" 2> >(tee "$sink_log" >&2) &
  pids+=($!)
  started sink "$sink_log" '^sink: "'
  running="$running, tables in $db"
fi
echo "pipeline: running; $running; Ctrl-C stops"
while true; do
  sleep 10 &
  wait $! || true
  for pid in "${pids[@]}"; do
    # A client that quit on its own said why on stderr; the pipeline is incomplete without it.
    kill -0 "$pid" 2>/dev/null || { echo "pipeline: a client exited"; stop 1; }
  done
  deno run --allow-read --allow-write --allow-env plot.ts 2>/dev/null || true
done
