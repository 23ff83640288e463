#!/bin/bash
# Blocked readers: `ls -l` of the root and an exec round trip with N
# readers blocked on sessions (cat of wait and stdout), against the same
# with none, in the same run; daemon threads and RSS in both cases.
# Usage: bench/readers.sh [BOTTLEFS] [N_READERS]   (defaults: build/bottlefs, 2000)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
N=${2:-2000}

. "$(dirname "$0")/lib.sh"

READERS=()
cleanup() {
	[ ${#READERS[@]} -eq 0 ] || kill -9 "${READERS[@]}" 2>/dev/null || true
	bench_teardown
}
trap cleanup EXIT

"$BOTTLEFS" -o "state=$STATE" "$MNT"
daemon=$(pgrep -f -- "state=$STATE " | head -1)
printf 'agent = "bench"\n' >"$MNT/new/b"
for i in $(seq 20); do printf 'agent = "bench"\n' >"$MNT/new/p$i"; done
echo start >"$MNT/b/ctl"
mkdir "$MNT/b/exec/idle"

measure() {  # prints: median ms of `ls -l` root, median ms of exec/run true
	/usr/bin/python3 - "$MNT" <<'PY'
import os, statistics, subprocess, sys, time
mnt = sys.argv[1]
ls, ex = [], []
for _ in range(30):
    t = time.perf_counter()
    subprocess.run(["ls", "-l", mnt], check=True, stdout=subprocess.DEVNULL)
    ls.append(time.perf_counter() - t)
    t = time.perf_counter()
    fd = os.open(f"{mnt}/b/exec/run", os.O_RDWR)
    os.write(fd, b"true")
    while os.read(fd, 4096):
        pass
    os.close(fd)
    ex.append(time.perf_counter() - t)
print(f"{statistics.median(ls) * 1000:.2f} {statistics.median(ex) * 1000:.2f}")
PY
}

state() {
	awk '/^Threads:/ {t=$2} /^VmRSS:/ {r=$2} END {print t, r}' "/proc/$daemon/status"
}

read -r ls0 ex0 <<<"$(measure)"
read -r th0 rss0 <<<"$(state)"
for i in $(seq "$N"); do
	cat "$MNT/b/exec/idle/$([ $((i % 2)) = 0 ] && echo wait || echo stdout)" >/dev/null 2>&1 &
	READERS+=("$!")
	disown "$!"     # killed at the end without a notice each
done
sleep 2
read -r lsn exn <<<"$(measure)"
read -r thn rssn <<<"$(state)"
echo "ls -l root       $ls0 ms with no readers, $lsn ms with $N blocked   ratio $(awk -v a="$lsn" -v b="$ls0" 'BEGIN {printf "%.2f", a / b}')x"
echo "exec/run true    $ex0 ms with no readers, $exn ms with $N blocked   ratio $(awk -v a="$exn" -v b="$ex0" 'BEGIN {printf "%.2f", a / b}')x"
echo "daemon           threads $th0 -> $thn, VmRSS $rss0 -> $rssn KiB ($(( (rssn - rss0) * 1024 / N )) bytes per blocked reader)"
