#!/bin/bash
# The tree at scale, against baselines in the same run:
#  - open+read+close of NAME/plan.toml (an in-process loop) vs the file of
#    libfuse's own `hello` example (built here from Debian's
#    libfuse3-dev examples) and vs a tmpfs file;
#  - N planned bottles made through new/ (per bottle), the daemon's RSS per
#    planned bottle;
#  - `ls -l` of the root with N/10 and N bottles (µs per entry, less the
#    cost of running `ls -l` on an empty tmpfs directory; linear if the two
#    agree) vs `ls -l` of a tmpfs directory of N directories.
# Usage: bench/files.sh [BOTTLEFS] [N]   (defaults: build/bottlefs, 10000)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
N=${2:-10000}
EXAMPLES=/usr/share/doc/libfuse3-dev/examples

. "$(dirname "$0")/lib.sh"

HELLO_MNT=$TMP/hello
TMPFS=$TMP/tmpfs
cleanup() {
	umount "$HELLO_MNT" 2>/dev/null || true
	umount "$TMPFS" 2>/dev/null || true
	bench_teardown
}
trap cleanup EXIT

[ -f "$EXAMPLES/hello.c" ] || { echo "needs $EXAMPLES/hello.c (libfuse3-dev)" >&2; exit 1; }
# shellcheck disable=SC2046
gcc -O2 -o "$TMP/hello-example" "$EXAMPLES/hello.c" $(pkg-config fuse3 --cflags --libs)
mkdir -p "$HELLO_MNT" "$TMPFS"
"$TMP/hello-example" "$HELLO_MNT"
mount -t tmpfs tmpfs "$TMPFS"

"$BOTTLEFS" -o "state=$STATE" "$MNT"
daemon=$(pgrep -f -- "state=$STATE " | head -1)

/usr/bin/python3 - "$MNT" "$HELLO_MNT" "$TMPFS" "$N" "$daemon" <<'PY'
import os, statistics, subprocess, sys, time

mnt, hello, tmpfs, n, daemon = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]

def rss_kib():
    with open(f"/proc/{daemon}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def open_read_close(paths, rounds=9, per=2000):
    """Median µs per open+read+close of each path; rounds alternate
    between the paths, so that a slow moment of the machine falls on all
    of them alike."""
    runs = [[] for _ in paths]
    for _ in range(rounds):
        for i, path in enumerate(paths):
            t = time.perf_counter()
            for _ in range(per):
                fd = os.open(path, os.O_RDONLY)
                os.read(fd, 65536)
                os.close(fd)
            runs[i].append((time.perf_counter() - t) / per * 1e6)
    return [statistics.median(r) for r in runs]

def ls_l_runs(path, rounds):
    runs = []
    for _ in range(rounds):
        t = time.perf_counter()
        subprocess.run(["ls", "-l", path], check=True, stdout=subprocess.DEVNULL)
        runs.append(time.perf_counter() - t)
    return statistics.median(runs) * 1e6

# Starting ls itself costs milliseconds, which would read as a per-entry
# cost falling with the number of entries: it is measured and taken off.
os.mkdir(f"{tmpfs}/empty")
def ls_l_us(path, entries, rounds=5):
    return max(ls_l_runs(path, rounds) - ls_l_runs(f"{tmpfs}/empty", rounds), 0) / entries

def create(name):
    with open(f"{mnt}/new/{name}", "w") as f:
        f.write('agent = "bench"\n')

create("b0")
with open(f"{tmpfs}/plan.toml", "w") as f:
    f.write(open(f"{mnt}/b0/plan.toml").read())
ours, base_hello, base_tmpfs = open_read_close(
    [f"{mnt}/b0/plan.toml", f"{hello}/hello", f"{tmpfs}/plan.toml"])
print(f"open+read+close plan.toml: {ours:.1f} us; hello example {base_hello:.1f} us "
      f"({ours / base_hello:.2f}x); tmpfs {base_tmpfs:.2f} us ({ours / base_tmpfs:.1f}x; "
      f"the hello example itself {base_hello / base_tmpfs:.1f}x: FUSE's open round trip)")

rss0 = rss_kib()
tenth = max(n // 10, 1)
t = time.perf_counter()
for i in range(1, tenth):
    create(f"b{i}")
ls_small = ls_l_us(mnt, tenth)
for i in range(tenth, n):
    create(f"b{i}")
made = time.perf_counter() - t
rss1 = rss_kib()
ls_big = ls_l_us(mnt, n)
for i in range(n):
    os.mkdir(f"{tmpfs}/d{i}")
base_ls = ls_l_us(tmpfs, n)
print(f"{n} planned bottles made through new/: {made / (n - 1) * 1e3:.2f} ms each; "
      f"daemon RSS {rss0} -> {rss1} KiB: {(rss1 - rss0) / (n - 1):.1f} KiB per planned bottle")
print(f"ls -l of the root: {ls_small:.1f} us per entry with {tenth} bottles, {ls_big:.1f} us with {n} "
      f"({ls_big / ls_small:.2f}x per entry: 1.00 is linear); tmpfs {n} dirs {base_ls:.1f} us "
      f"({ls_big / base_ls:.1f}x)")
PY
