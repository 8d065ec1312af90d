#!/usr/bin/env bash
# Checks, without a container engine, that deploy/Dockerfile's runtime
# stage installs every shared library the built command links: each
# library `ldd` finds is traced to its Debian package, which must be one
# the stage installs or one they depend on (apt-cache's closure), or part
# of debian:12-slim itself (libc6, libgcc-s1 and the like: Priority
# required). Catches a library added to the build (libyuv was) and not to
# the image.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/mpegserver
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./cmd/mpegserver
# The runtime stage's packages: the install line of the last FROM.
runtime=$(awk '/^FROM/{s=""} {s=s"\n"$0} END{print s}' deploy/Dockerfile |
  sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' |
  grep -vE '^(apt-get|install|rm|rf|useradd|y|no|recommends|update)$' || true)
[ -n "$runtime" ] || { echo "no package list found in the runtime stage"; exit 1; }
closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
  --no-replaces --no-enhances $runtime 2>/dev/null | grep -E '^[a-z0-9]' | sed 's/:.*//' | sort -u)
fail=0
for lib in $(ldd "$bin" | awk '/=> \//{print $3}'); do
  pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1) || true
  [ -n "$pkg" ] || pkg=$(dpkg -S "$lib" 2>/dev/null | head -n1 | cut -d: -f1) || true
  if [ -z "$pkg" ]; then echo "no package owns $lib"; fail=1; continue; fi
  if grep -qx "$pkg" <<<"$closure"; then continue; fi
  prio=$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null || true)
  if [ "$prio" = required ]; then continue; fi
  echo "$lib: package $pkg is not installed by the Dockerfile's runtime stage"
  fail=1
done
[ $fail -eq 0 ] && echo "Dockerfile runtime stage: every library the command links is installed ($(ldd "$bin" | grep -c '=> /') libraries)"
exit $fail
