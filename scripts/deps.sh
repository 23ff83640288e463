#!/bin/bash
# Installs everything bottlefs needs to build, run and test (Debian 12).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
	build-essential meson ninja-build pkg-config \
	libfuse3-dev fuse3 libbsd-dev libjson-c-dev libcunit1-dev \
	clang libclang-rt-14-dev cppcheck \
	python3 python3-yaml less psmisc procps curl iproute2 \
	runc busybox-static libseccomp-dev bsdutils man-db \
	docker.io libcurl4-openssl-dev \
	libmd-dev qemu-system-x86 cpio kmod git
# Node.js and npm for the MCP client test (supervise.sh), Debian's unless
# the machine has its own.
command -v npm >/dev/null || apt-get install -y --no-install-recommends nodejs npm
# The official MCP SDK, at the version package-lock.json pins.
npm ci --prefix "$(dirname "$0")/../tests/mcp" --no-audit --no-fund
# The microvm backend's guest kernel (Debian's cloud kernel, unpacked).
bash "$(dirname "$0")/vm-kernel.sh"
