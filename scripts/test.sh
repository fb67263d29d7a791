#!/usr/bin/env bash
# The whole test suite: format, lint and type checks, then every test against a private
# real Kafka broker (scripts/with_broker.sh). Extra arguments go to `deno test` (a file, or
# `--filter NAME`). Ends with one line: "test: N passed, N failed, N skipped in T s".
set -uo pipefail
# Deno colours its output even into a pipe; the summary below is read as plain text.
export NO_COLOR=1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
started=$SECONDS
deno task check || { echo "test: 0 passed, 1 failed (deno task check)"; exit 1; }
# Every temporary file and folder of the run (files, brokers, clusters, logs) goes under one
# folder, removed when the run ends, so that a failed test leaves nothing behind either.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/p7-suite.XXXXXX")
# Passable (not readable) by others: run as root, the tests' private PostgreSQL server runs as
# user postgres in a folder under it.
chmod 0711 "$scratch"
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch
log=$scratch/test.log
# A hung test fails the run with a line that says so, long before a CI's own limit would end
# it with nothing; the whole suite takes about 15 minutes.
limit=${P7_TEST_TIMEOUT:-2700}
bash scripts/with_broker.sh timeout --kill-after=30 "$limit" \
  deno test --allow-all --no-prompt "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  echo "test: 0 passed, 1 failed (timed out after $limit s; the test running then is above)"
  exit 1
fi
# Deno's own summary reads "ok | 12 passed | 0 failed | 1 ignored (34s)".
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
count() { sed -n "s/.*| \([0-9]*\) $1.*/\1/p" <<<"$summary"; }
passed=$(count passed)
if [ -z "$passed" ]; then
  echo "test: 0 passed, 1 failed (no test summary; see above)"
  exit 1
fi
failed=$(count failed)
skipped=$(count ignored)
echo "test: $passed passed, ${failed:-0} failed, ${skipped:-0} skipped in $((SECONDS - started)) s"
exit "$status"
