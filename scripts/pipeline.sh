#!/usr/bin/env bash
# The whole pipeline on this machine: the local broker (started unless one is reachable),
# or with KAFKA_NODES=N a cluster of N nodes and a topic of replication factor min(N, 3),
# the producer, two consumer processes (partitions 0 2 and 1 3) and the plot redrawn every
# 10 s. Ctrl-C stops everything cleanly. Extra arguments go to the producer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
files=${P7_FILES:-files}
mkdir -p "$files"

bash kafka/kafka.sh start
nodes=${KAFKA_NODES:-1}
export KAFKA_BROKERS=${KAFKA_BROKERS:-$(bash kafka/kafka.sh brokers)}
replicas=()
((nodes == 1)) || replicas=(--replication-factor $((nodes < 3 ? nodes : 3)))

# The producer recreates the topic, so checkpoints of an earlier run no longer apply.
old=$(find "$files" -maxdepth 1 \( -name 'partition-*.json' -o -name 'rejected-*.jsonl' \) | wc -l)
if [ "$old" -gt 0 ]; then
  echo "pipeline: the producer recreates the topic; removing $old files of the previous run"
  rm -f "$files"/partition-*.json "$files"/rejected-*.jsonl
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
  rm -f "$log"
  deno run --allow-read --allow-write --allow-env plot.ts || true
  echo "pipeline: stopped; files in $files; the broker keeps running (./p7 kafka:stop)"
  exit "$status"
}

log=$(mktemp "${TMPDIR:-/tmp}/p7-producer.XXXXXX")
trap stop INT TERM
deno run --allow-net --allow-env --allow-read producer.ts "${replicas[@]}" "$@" 2> >(tee "$log" >&2) &
pids+=($!)
until grep -q 'recreated' "$log"; do
  kill -0 "${pids[0]}" 2>/dev/null || { echo "pipeline: the producer exited"; stop 1; }
  sleep 0.2
done
for partitions in "0 2" "1 3"; do
  # shellcheck disable=SC2086
  deno run --allow-net --allow-env --allow-read --allow-write --v8-flags=--max-semi-space-size=8,--heap-growing-percent=50 consumer.ts $partitions &
  pids+=($!)
done
echo "pipeline: running; statistics in $files/partition-N.json, chart in $files/month.svg; Ctrl-C stops"
while true; do
  sleep 10 &
  wait $! || true
  for pid in "${pids[@]}"; do
    # A client that quit on its own said why on stderr; the pipeline is incomplete without it.
    kill -0 "$pid" 2>/dev/null || { echo "pipeline: a client exited"; stop 1; }
  done
  deno run --allow-read --allow-write --allow-env plot.ts 2>/dev/null || true
done
