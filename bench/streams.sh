#!/bin/bash
# Exec output streaming: `head -c SIZE /dev/zero` in a bottle, its stdout
# read with `cat` through the session files while it runs, against the
# same command's output through a pipe from `nsenter` into the guest, in
# the same run (nine rounds each, alternating; medians).
# Usage: sudo bench/streams.sh [BOTTLEFS] [SIZE]   (defaults: build/bottlefs, 1G)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
SIZE=${2:-1G}

. "$(dirname "$0")/lib.sh"
trap bench_teardown EXIT

"$BOTTLEFS" -o "state=$STATE" "$MNT"
printf 'agent = "bench"\ncommand = ["sleep", "infinity"]\n' >"$MNT/new/b"
echo start >"$MNT/b/ctl"
pid=$(sed -n 's/^pid: //p' "$MNT/b/status")

/usr/bin/python3 - "$MNT" "$pid" "$SIZE" <<'PY'
import os, statistics, subprocess, sys, time

mnt, pid, size = sys.argv[1], sys.argv[2], sys.argv[3]
nbytes = int(size[:-1]) * {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[size[-1]] if size[-1] in "KMG" else int(size)

def ours(i):
    s = f"{mnt}/b/exec/s{i}"
    os.mkdir(s)
    t = time.perf_counter()
    with open(f"{s}/cmd", "w") as f:
        f.write(f"head -c {nbytes} /dev/zero")
    out = subprocess.run(f"cat {s}/stdout | wc -c", shell=True, check=True,
                         capture_output=True, text=True).stdout.strip()
    took = time.perf_counter() - t
    assert int(out) == nbytes, out
    os.rmdir(s)
    return nbytes / took / 1e6

def pipe():
    t = time.perf_counter()
    out = subprocess.run(f"nsenter -t {pid} -a head -c {nbytes} /dev/zero | cat | wc -c", shell=True,
                         check=True, capture_output=True, text=True).stdout.strip()
    took = time.perf_counter() - t
    assert int(out) == nbytes, out
    return nbytes / took / 1e6

a, b = [], []
for i in range(9):
    a.append(ours(i))
    b.append(pipe())
o, p = statistics.median(a), statistics.median(b)
if os.environ.get("BENCH_VERBOSE"): print("rounds", [round(x) for x in a], [round(x) for x in b])
print(f"exec stdout stream ({size}): session files {o:.0f} MB/s, pipe from nsenter {p:.0f} MB/s: "
      f"{o / p:.2f}x the pipe (goal >= 0.8x)")
PY
