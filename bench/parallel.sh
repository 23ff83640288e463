#!/bin/bash
# N bottles started at once (one `echo start > ctl` each, all in parallel)
# until all run, against N raw `runc run --detach` of the same config in
# parallel, in the same run (four rounds each, alternating; the best of
# each); then N first starts of new bottles, once.
# Usage: sudo bench/parallel.sh [BOTTLEFS] [N]   (defaults: build/bottlefs, 50)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
N=${2:-50}

. "$(dirname "$0")/lib.sh"

cleanup() {
	remove_containers "$TMP/raw"
	bench_teardown
}
trap cleanup EXIT

"$BOTTLEFS" -o "state=$STATE" "$MNT"
BENCH_DIR=$(dirname "$(realpath "$0")") /usr/bin/python3 - "$MNT" "$STATE" "$TMP" "$N" <<'PY'
import json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
sys.path.insert(0, os.environ["BENCH_DIR"])
from benchlib import TRAP, raw_runc_config, read, write

mnt, state, tmp, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):
    write(f"{mnt}/new/p{i}", f'agent = "bench"\ncommand = {TRAP}\nstop_timeout = 2\n')

# The raw runs get the config bottlefs renders.
write(f"{mnt}/p0/ctl", "start\n")
write(f"{mnt}/p0/ctl", "stop\n")
bundle = f"{tmp}/bundle"
cfg = raw_runc_config(state, "p0")

def ours(prefix="p"):
    """Seconds until bottles PREFIX0.. all run, started at once; then stopped."""
    t = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda i: write(f"{mnt}/{prefix}{i}/ctl", "start\n"), range(n)))
    took = time.perf_counter() - t
    for i in range(n):
        assert read(f"{mnt}/{prefix}{i}/ctl") == b"running\n", i
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda i: write(f"{mnt}/{prefix}{i}/ctl", "stop\n"), range(n)))
    return took

def raw(round_):
    def one(i):
        b = f"{bundle}-{round_}-{i}"
        os.makedirs(b)
        c = dict(cfg)
        c["linux"] = dict(cfg["linux"], cgroupsPath=f"bottlefs/raw-{round_}-{i}")
        json.dump(c, open(f"{b}/config.json", "w"))
        return b
    bundles = [one(i) for i in range(n)]
    t = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        list(pool.map(lambda i: subprocess.run(
            ["runc", "--root", f"{tmp}/raw", "run", "--detach", "--bundle", bundles[i], f"raw-{round_}-{i}"],
            check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            range(n)))
    took = time.perf_counter() - t
    for i in range(n):
        subprocess.run(["runc", "--root", f"{tmp}/raw", "delete", "--force", f"raw-{round_}-{i}"], check=True)
    return took

o, r = [], []
for k in range(4):
    o.append(ours())
    r.append(raw(k))
print(f"{n} starts in parallel: bottlefs {min(o) * 1e3:.0f} ms, raw runc run -d {min(r) * 1e3:.0f} ms: "
      f"{min(o) / min(r):.2f}x (goal <= 1.2x)")

# First starts: each makes its bottle's storage (rootfs, home image, the
# link to the shared /etc copy and its own passwd), which a raw bundle
# has made already; once per bottle, so one round of new bottles.
for i in range(n):
    write(f"{mnt}/new/f{i}", f'agent = "bench"\ncommand = {TRAP}\nstop_timeout = 2\n')
first = ours("f")
print(f"{n} first starts in parallel (each makes its storage): bottlefs {first * 1e3:.0f} ms, "
      f"{first / min(r):.2f}x raw runc run -d of made bundles")
PY
