#!/bin/bash
# Every benchmark, one after another, each printing its ratios against a
# baseline of its own run (see each script's head). A script that cannot
# run here (docker.sh without dockerd) says so and the rest go on; the
# exit status is 1 if any failed.
# Usage: sudo bench/all.sh [BOTTLEFS]   (default: build/bottlefs)
set -uo pipefail
DIR=$(dirname "$(realpath "$0")")
BOTTLEFS=$(realpath "${1:-$DIR/../build/bottlefs}")
failed=0

run() {  # NAME ARGS...
	local name=$1
	shift
	echo "== $name"
	if ! "$DIR/$name" "$BOTTLEFS" "$@"; then
		echo "!! $name failed"
		failed=1
	fi
}

run files.sh 10000
run streams.sh 1G
run oci.sh 100
run parallel.sh 50
run egress.sh
run readers.sh 2000
run terminal.sh 1000
run sidecars.sh 10
if command -v qemu-system-x86_64 >/dev/null && [ -r /usr/local/lib/bottlefs/vm/vmlinuz ]; then
	run microvm.sh 30
else
	echo "== microvm.sh: skipped (qemu-system-x86 or the guest kernel is missing)"
fi
if command -v dockerd >/dev/null; then
	run docker.sh 100
else
	echo "== docker.sh: skipped (dockerd not installed)"
fi
exit $failed
