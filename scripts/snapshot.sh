#!/usr/bin/env bash
# Grabs one frame of the command's test pattern from a real stream: starts
# `mpegserver push` with its embedded server, reads the stream with ffmpeg,
# and writes the decoded frame as a PNG (default docs/img/testpattern.png).
set -euo pipefail
out=${1:-docs/img/testpattern.png}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/mpegserver" ./cmd/mpegserver
"$tmp/mpegserver" push --listen 127.0.0.1:0 --duration 20s --frame-ahead 1 --gop 10 --quiet > "$tmp/out" &
pid=$!
url=""
for _ in $(seq 100); do   # the address is printed before the first frame
  url=$(grep -o 'rtsp://[^ ]*' "$tmp/out" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "snapshot: no stream address" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
for _ in $(seq 50); do    # the stream exists once its first frame is out
  if ffmpeg -v error -y -rtsp_transport tcp -i "$url" -ss 1 -frames:v 1 -update 1 "$out" 2>/dev/null; then
    echo "snapshot: wrote $out from $url"
    exit 0
  fi
  sleep 0.2
done
echo "snapshot: could not read $url" >&2
exit 1
