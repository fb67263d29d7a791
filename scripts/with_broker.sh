#!/usr/bin/env bash
# Runs a command against a private Kafka broker: started on port $P7_TEST_PORT (default
# 39092) with a fresh data folder, stopped and removed afterwards, so a pipeline on the
# default broker is left alone. The command sees P7_TEST_BROKERS, and KAFKA_PORT with
# P7_KAFKA_STATE, so it can stop and restart that broker with kafka/kafka.sh.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export KAFKA_PORT=${P7_TEST_PORT:-39092}
state=$(mktemp -d "${TMPDIR:-/tmp}/p7-broker.XXXXXX")
export P7_KAFKA_STATE="$state/kafka"
cleanup() { bash "$root/kafka/kafka.sh" stop >/dev/null; rm -rf "$state"; }
trap cleanup EXIT
bash "$root/kafka/kafka.sh" start || exit 1
export P7_TEST_BROKERS="127.0.0.1:$KAFKA_PORT"
"$@"
