#!/usr/bin/env bash
# Prints the first Debian mirror that apt uses, read from every layout Debian ships: one-line
# `sources.list`, `sources.list.d/*.list`, deb822 `sources.list.d/*.sources`, any of them
# absent. Security and deb-src entries, disabled stanzas, comments and non-HTTP sources are
# passed over. Usage: apt_mirror.sh [APT_DIR] (default /etc/apt). Exits 1 with the reason
# when no mirror is found.
set -euo pipefail
dir=${1:-/etc/apt}

files=()
[ -f "$dir/sources.list" ] && files+=("$dir/sources.list")
for file in "$dir"/sources.list.d/*.list "$dir"/sources.list.d/*.sources; do
  [ -f "$file" ] && files+=("$file")
done
if [ ${#files[@]} -eq 0 ]; then
  echo "error: no apt sources in $dir (no sources.list, no sources.list.d/*.list or *.sources)" >&2
  exit 1
fi

mirror=""
for file in "${files[@]}"; do
  case "$file" in
  *.sources)
    # deb822: blank-line separated stanzas of "Field: value" lines.
    found=$(awk '
      function flush() {
        if (!found && types ~ /(^| )deb( |$)/ && enabled !~ /^(no|false)$/ &&
            suites !~ /security/ && uri ~ /^https?:\/\//) { print uri; found = 1; exit }
        types = ""; uris = ""; suites = ""; enabled = ""; uri = ""
      }
      /^[ \t]*#/ { next }
      /^[ \t]*$/ { flush(); next }
      {
        field = tolower($1); sub(/:$/, "", field)
        value = $0; sub(/^[^:]*:[ \t]*/, "", value)
        if (field == "types") types = value
        else if (field == "uris") { split(value, all, /[ \t]+/); uri = all[1] }
        else if (field == "suites") suites = value
        else if (field == "enabled") enabled = tolower(value)
      }
      END { flush() }
    ' "$file")
    ;;
  *)
    # One-line: deb [options] URI SUITE COMPONENT…
    found=$(awk '
      { sub(/#.*/, "") }
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($i ~ /^https?:\/\// && $(i + 1) !~ /security/) { print $i; exit }
      }
    ' "$file")
    ;;
  esac
  if [ -n "$found" ]; then
    mirror=$found
    break
  fi
done
if [ -z "$mirror" ]; then
  echo "error: no HTTP Debian mirror among the apt sources in $dir: ${files[*]}" >&2
  exit 1
fi
echo "${mirror%/}"
