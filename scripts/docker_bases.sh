#!/usr/bin/env bash
# Builds the stand-in base images p7-base/maven, p7-base/node, p7-base/runtime and
# p7-base/postgres from Debian packages (docker/bases.Dockerfile), for a Docker engine that
# no image registry answers: debootstrap makes a minimal Debian from the machine's own apt source, `docker
# import` turns it into p7-base/debian, and each base adds its packages and the machine's CA
# certificates. Images already present are kept, so a second run takes a second.
# Needs root, debootstrap and a running Docker engine.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
suite=bookworm
bases=(maven node runtime postgres)

have() { docker image inspect "$1" >/dev/null 2>&1; }

todo=()
for base in "${bases[@]}"; do have "p7-base/$base" || todo+=("$base"); done
[ ${#todo[@]} -eq 0 ] && exit 0

scratch=$(mktemp -d "${TMPDIR:-/tmp}/p7-bases.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
started=$SECONDS
# Whatever step fails, say which and why instead of ending silently under `set -e`.
trap 'echo "error: scripts/docker_bases.sh failed at line $LINENO: $BASH_COMMAND" >&2' ERR
if ! have "p7-base/debian:$suite"; then
  mirror=$(bash "$root/scripts/apt_mirror.sh") ||
    { echo "error: no Debian mirror to debootstrap from (see above)" >&2; exit 1; }
  echo "bases: debootstrap $suite from $mirror" >&2
  debootstrap --variant=minbase "$suite" "$scratch/root" "$mirror" >"$scratch/debootstrap.log" 2>&1 ||
    { tail -n 20 "$scratch/debootstrap.log" >&2; echo "error: debootstrap failed (its log's tail above)" >&2; exit 1; }
  tar -C "$scratch/root" -c . | docker import - "p7-base/debian:$suite" >"$scratch/import.log" 2>&1 ||
    { tail -n 20 "$scratch/import.log" >&2; echo "error: docker import of the debootstrapped Debian failed" >&2; exit 1; }
  rm -rf "$scratch/root"
fi
mkdir -p "$scratch/context/certs"
cp "$root/docker/bases.Dockerfile" "$scratch/context/Dockerfile"
cp "$root/docker/postgres-standin.sh" "$scratch/context/"
# One file per locally added CA: Java's trust store takes them file by file.
for cert in /usr/local/share/ca-certificates/*.crt; do
  if [ -e "$cert" ]; then cp "$cert" "$scratch/context/certs/"; fi
done
for base in "${todo[@]}"; do
  echo "bases: building p7-base/$base" >&2
  docker build --network host --build-arg "DEBIAN=p7-base/debian:$suite" --target "$base" \
    -t "p7-base/$base" "$scratch/context" >"$scratch/build.log" 2>&1 ||
    { tail -n 30 "$scratch/build.log" >&2; echo "error: building p7-base/$base failed (the build's tail above)" >&2; exit 1; }
done
echo "bases: ${todo[*]} built in $((SECONDS - started)) s" >&2
