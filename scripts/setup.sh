#!/usr/bin/env bash
# Installs the system packages the tests use beside Deno and Kafka: kcat and protoc (clients
# we did not write, for interoperability tests), Chromium (for the dashboard's browser test),
# PostgreSQL's server and psql (for the sink's tests), and a Docker engine with debootstrap
# and Compose v2 (for the tests that build and run the image). Needs root and Debian's apt;
# does nothing for what is already present. Without them, the tests that need them print
# "skipped: why".
set -euo pipefail

# Compose v2, built from its Go module: Debian's compose v1 rejects compose.yaml.
COMPOSE_VERSION=v5.6.0
plugins=/usr/local/lib/docker/cli-plugins

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v protoc >/dev/null || missing+=(protobuf-compiler)
command -v chromium >/dev/null || missing+=(chromium)
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
# The sink's PostgreSQL tests start a server of their own (scripts/postgres.sh).
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
command -v psql >/dev/null || missing+=(postgresql-client)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "setup: cannot install ${missing[*]} (needs root and apt-get); their tests will be skipped" >&2
    exit 0
  fi
  echo "setup: installing ${missing[*]}" >&2
  # Debian starts the services it installs (PostgreSQL's main cluster on port 5432): not here,
  # where the tests start what they need and stop it.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 0755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$(trap -p EXIT)" != "" ]; then
    rm -f "$policy"
    trap - EXIT
  fi
fi

compose_version() { docker compose version --short 2>/dev/null; }
if [ "$(compose_version)" != "${COMPOSE_VERSION#v}" ] && [ "$(compose_version)" != "$COMPOSE_VERSION" ]; then
  if ! command -v go >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "setup: cannot build Docker Compose $COMPOSE_VERSION (needs Go and root); its test will be skipped" >&2
    exit 0
  fi
  echo "setup: building Docker Compose $COMPOSE_VERSION from its Go module" >&2
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/p7-compose.XXXXXX")
  trap 'rm -rf "$scratch"' EXIT
  # Go's output is kept, and its tail printed if the build fails: the reason (a module the
  # proxy refused, a full disk) is in it. `set -e` does not hold inside an `if`: hence `&&`.
  if ! (
    cd "$scratch" &&
      go mod init p7-compose-build &&
      go get "github.com/docker/compose/v5/cmd@$COMPOSE_VERSION" &&
      CGO_ENABLED=0 go build -trimpath -o docker-compose \
        -ldflags "-X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION" \
        github.com/docker/compose/v5/cmd
  ) >"$scratch/build.log" 2>&1; then
    tail -n 20 "$scratch/build.log" >&2
    echo "setup: building Docker Compose $COMPOSE_VERSION failed (see above)" >&2
    exit 1
  fi
  mkdir -p "$plugins"
  install -m 0755 "$scratch/docker-compose" "$plugins/docker-compose"
  echo "setup: $(docker compose version)" >&2
fi
