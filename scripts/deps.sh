#!/usr/bin/env bash
# Installs what building and testing mpegserver needs on Debian 12:
# GStreamer 1.22 with its development files and plugins, libyuv (the
# pixel converter the library links), ffmpeg (an
# independent reader in the tests), the receivers the output tests run
# on loopback (nginx with its RTMP module, srt-live-transmit), Chromium for
# the browser tests, pkg-config and a C compiler for cgo.
# Idempotent: installs only what is missing. Works as root or with sudo.
set -euo pipefail

pkgs=(
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp gstreamer1.0-tools
  libyuv-dev ffmpeg pkg-config gcc
  nginx libnginx-mod-rtmp srt-tools
  chromium iproute2
)

missing=()
for p in "${pkgs[@]}"; do
  # No pipe into grep -q: under pipefail its early exit can SIGPIPE the writer.
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
