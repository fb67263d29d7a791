#!/usr/bin/env bash
# Builds the stand-in base images p7-base/maven, p7-base/node and p7-base/runtime from
# Debian packages (docker/bases.Dockerfile), for a Docker engine that no image registry
# answers: debootstrap makes a minimal Debian from the machine's own apt source, `docker
# import` turns it into p7-base/debian, and each base adds its packages and the machine's CA
# certificates. Images already present are kept, so a second run takes a second.
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=bookworm
bases=(maven node runtime)

have() { docker image inspect "$1" >/dev/null 2>&1; }

todo=()
for base in "${bases[@]}"; do have "p7-base/$base" || todo+=("$base"); done
[ ${#todo[@]} -eq 0 ] && exit 0

scratch=$(mktemp -d "${TMPDIR:-/tmp}/p7-bases.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
started=$SECONDS
if ! have "p7-base/debian:$suite"; then
  # The first Debian mirror the machine's apt uses (one-line or deb822 sources).
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n 1 | tr -d ' ')
  mirror=${mirror:-http://deb.debian.org/debian}
  echo "bases: debootstrap $suite from $mirror" >&2
  debootstrap --variant=minbase "$suite" "$scratch/root" "$mirror" >"$scratch/debootstrap.log" 2>&1 ||
    { tail -n 20 "$scratch/debootstrap.log" >&2; echo "error: debootstrap failed" >&2; exit 1; }
  tar -C "$scratch/root" -c . | docker import - "p7-base/debian:$suite" >/dev/null
  rm -rf "$scratch/root"
fi
mkdir -p "$scratch/context/certs"
cp "$root/docker/bases.Dockerfile" "$scratch/context/Dockerfile"
# One file per locally added CA: Java's trust store takes them file by file.
for cert in /usr/local/share/ca-certificates/*.crt; do
  [ -e "$cert" ] && cp "$cert" "$scratch/context/certs/"
done
for base in "${todo[@]}"; do
  echo "bases: building p7-base/$base" >&2
  docker build -q --network host --build-arg "DEBIAN=p7-base/debian:$suite" --target "$base" \
    -t "p7-base/$base" "$scratch/context" >/dev/null
done
echo "bases: ${todo[*]} built in $((SECONDS - started)) s" >&2
