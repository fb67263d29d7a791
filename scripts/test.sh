#!/usr/bin/env bash
# The whole test suite: format, lint and type checks, then every test against a real Kafka
# broker that this script starts on its own port and data folder (so a pipeline running on
# the default broker is left alone), and stops at the end. Extra arguments go to `deno test`
# (e.g. a file or `--filter NAME`). Ends with one line: "test: N passed, N failed, N skipped".
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

deno task check || { echo "test: 0 passed, 1 failed (deno task check)"; exit 1; }

export KAFKA_PORT=${P7_TEST_PORT:-39092}
state=$(mktemp -d "${TMPDIR:-/tmp}/p7-test.XXXXXX")
export P7_KAFKA_STATE="$state/kafka"
cleanup() { bash kafka/kafka.sh stop >/dev/null; rm -rf "$state"; }
trap cleanup EXIT
bash kafka/kafka.sh start || { echo "test: 0 passed, 1 failed (broker did not start)"; exit 1; }
export P7_TEST_BROKERS="127.0.0.1:$KAFKA_PORT"

started=$SECONDS
deno test --allow-all --no-prompt "$@" 2>&1 | tee "$state/test.log"
status=${PIPESTATUS[0]}
# Deno's own summary reads "ok | 12 passed | 0 failed | 1 ignored (34s)".
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$state/test.log" | tail -n 1)
passed=$(sed -n 's/.*| \([0-9]*\) passed.*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*| \([0-9]*\) failed.*/\1/p' <<<"$summary")
skipped=$(sed -n 's/.*| \([0-9]*\) ignored.*/\1/p' <<<"$summary")
if [ -z "$passed" ]; then
  echo "test: 0 passed, 1 failed (deno test printed no summary)"
  exit 1
fi
echo "test: ${passed} passed, ${failed:-0} failed, ${skipped:-0} skipped in $((SECONDS - started)) s"
exit "$status"
