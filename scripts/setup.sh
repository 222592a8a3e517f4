#!/bin/bash
# Installs what mxc needs on Debian 12 and builds it into ./build.
# Used by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "scripts/setup.sh: run as root (mxc creates accounts and namespaces)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "==> installing dependencies (apt-get)"
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
	gcc meson ninja-build pkg-config \
	libjson-c-dev libsqlite3-dev libssl-dev libspng-dev zlib1g-dev \
	libxcb1-dev libxcb-shm0-dev libxcb-xtest0-dev libxcb-xkb-dev libxau-dev \
	libxkbcommon-dev libxkbcommon-x11-dev \
	libcriterion-dev libseccomp-dev libmnl-dev libnftables-dev iproute2 \
	xvfb xfonts-base x11-xkb-utils xkb-data x11-utils x11-xserver-utils xterm xclip \
	novnc websockify chromium \
	passwd login procps >/dev/null

echo "==> building (meson, ninja)"
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build -Dsysconfdir=/etc >/dev/null
else
	meson setup build -Dsysconfdir=/etc >/dev/null
fi
ninja -C build
