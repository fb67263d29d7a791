#!/usr/bin/env bash
# Installs the system packages the tests use beside Deno and Kafka: kcat and protoc (clients
# we did not write, for interoperability tests) and Chromium (for the dashboard's browser
# test). Needs root and Debian's apt; does nothing for packages already present.
set -euo pipefail
missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "setup: cannot install ${missing[*]} (needs root and apt-get); their tests will be skipped" >&2
  exit 0
fi
echo "setup: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
