#!/bin/bash
# Benchmarks of the oci backend, each as a ratio against a baseline run in
# the same invocation:
#   start -> running through ctl     vs  raw `runc run --detach` of the same config
#   exec round trip of `true`        vs  raw `runc exec` and `nsenter -t PID -a`
#   first byte of streamed output    (absolute)
#   daemon memory (VmRSS) with 1 and with N running bottles
# Usage: sudo bench/oci.sh [BOTTLEFS] [N_BOTTLES]   (defaults: build/bottlefs, 100)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
N=${2:-100}

. "$(dirname "$0")/lib.sh"

cleanup() {
	remove_containers "$TMP/raw"
	bench_teardown
}
trap cleanup EXIT

"$BOTTLEFS" -o "state=$STATE" "$MNT"
BENCH_DIR=$(dirname "$(realpath "$0")") /usr/bin/python3 - "$MNT" "$STATE" "$TMP" "$N" <<'PY'
import json, os, statistics, subprocess, sys, time
sys.path.insert(0, os.environ["BENCH_DIR"])
from benchlib import TRAP, daemon_rss_kib, median_ms, raw_runc_config, read, session_true, write

mnt, state, tmp, n_bottles = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ROUNDS = 20

write(f"{mnt}/new/bench", f'agent = "bench"\ncommand = {TRAP}\nstop_timeout = 2\n')

# --- start latency: ctl vs raw runc run --detach of the same config,
# alternating the two so that drift of the machine hits both alike.
write(f"{mnt}/bench/ctl", "start\n")
write(f"{mnt}/bench/ctl", "stop\n")
bundle = f"{tmp}/bundle"
os.makedirs(bundle)
cfg = raw_runc_config(state, "bench")
cfg["linux"]["cgroupsPath"] = "bottlefs/raw-bench"
json.dump(cfg, open(f"{bundle}/config.json", "w"))
ours, raw = [], []
for i in range(ROUNDS * 2):
    t = time.perf_counter()
    write(f"{mnt}/bench/ctl", "start\n")
    ours.append(time.perf_counter() - t)
    assert read(f"{mnt}/bench/ctl") == b"running\n"
    write(f"{mnt}/bench/ctl", "stop\n")
    cid = f"raw-{i}"
    t = time.perf_counter()
    subprocess.run(["runc", "--root", f"{tmp}/raw", "run", "--detach", "--bundle", bundle, cid],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    raw.append(time.perf_counter() - t)
    subprocess.run(["runc", "--root", f"{tmp}/raw", "delete", "--force", cid], check=True)
print(f"start->running  bottlefs ctl {median_ms(ours):7.2f} ms   raw runc run -d {median_ms(raw):7.2f} ms"
      f"   ratio {median_ms(ours) / median_ms(raw):.2f}x (goal <= 1.2x; medians of {len(ours)}, alternating)")

# --- stop of a main command that ignores SIGTERM (`sleep infinity` as
# the guest's main process): through bottlefs-init, which forwards the
# signal and ends with the command, vs a raw runc container whose PID 1 is
# the command itself (SIGTERM ignored: the stop waits for the timeout,
# here 2 s, then SIGKILL).
write(f"{mnt}/new/sleeper", 'agent = "bench"\ncommand = ["sleep", "infinity"]\nstop_timeout = 10\n')
cfg["process"]["args"] = ["sleep", "infinity"]
cfg["linux"]["cgroupsPath"] = "bottlefs/raw-sleeper"
json.dump(cfg, open(f"{bundle}/config.json", "w"))
ours_stop, raw_stop = [], []
for i in range(5):
    write(f"{mnt}/sleeper/ctl", "start\n")
    t = time.perf_counter()
    write(f"{mnt}/sleeper/ctl", "stop\n")
    ours_stop.append(time.perf_counter() - t)
    cid = f"raw-sleep-{i}"
    subprocess.run(["runc", "--root", f"{tmp}/raw", "run", "--detach", "--bundle", bundle, cid],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.perf_counter()
    subprocess.run(["runc", "--root", f"{tmp}/raw", "kill", cid, "TERM"], check=True)
    deadline = t + 2
    while time.perf_counter() < deadline:
        st = subprocess.run(["runc", "--root", f"{tmp}/raw", "state", cid], capture_output=True, text=True)
        if '"stopped"' in st.stdout:
            break
        time.sleep(0.05)
    else:
        subprocess.run(["runc", "--root", f"{tmp}/raw", "kill", cid, "KILL"], check=True)
    raw_stop.append(time.perf_counter() - t)
    subprocess.run(["runc", "--root", f"{tmp}/raw", "delete", "--force", cid], check=True)
print(f"stop (sleep infinity)  bottlefs ctl {median_ms(ours_stop):7.2f} ms   raw runc, TERM then KILL after 2 s"
      f" {median_ms(raw_stop):7.2f} ms   ratio {median_ms(ours_stop) / median_ms(raw_stop):.3f}x (medians of 5)")

# --- exec round trip of `true`
write(f"{mnt}/bench/ctl", "start\n")
status = dict(l.split(": ", 1) for l in read(f"{mnt}/bench/status").decode().splitlines())
pid, cid = status["pid"], status["container_id"]
files, oneshot, runc_exec, nsenter = [], [], [], []
for i in range(ROUNDS * 5):
    files.append(session_true(f"{mnt}/bench/exec", f"b{i}"))
    t = time.perf_counter()
    fd = os.open(f"{mnt}/bench/exec/run", os.O_RDWR)
    os.write(fd, b"true")
    out = b""
    while chunk := os.read(fd, 65536):
        out += chunk
    os.close(fd)
    oneshot.append(time.perf_counter() - t)
    assert out == b"exited 0\n", out
    t = time.perf_counter()
    subprocess.run(["runc", "--root", f"{state}/runtime", "exec", cid, "true"], check=True)
    runc_exec.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(["nsenter", "-t", pid, "-a", "true"], check=True)
    nsenter.append(time.perf_counter() - t)
f, o, r, ns = (median_ms(x) for x in (files, oneshot, runc_exec, nsenter))
print(f"exec true       files {f:6.2f} ms   exec/run {o:6.2f} ms   runc exec {r:6.2f} ms   nsenter {ns:6.2f} ms")
print(f"                ratio files/nsenter {f / ns:.2f}x (goal <= 1.5x)   exec/run/nsenter {o / ns:.2f}x (goal <= 1.2x)"
      f"   files/runc-exec {f / r:.2f}x")

# --- first byte of streamed output
first = []
for i in range(ROUNDS):
    d = f"{mnt}/bench/exec/fb{i}"
    os.mkdir(d)
    t = time.perf_counter()
    write(f"{d}/cmd", "echo x; sleep 0.3")
    fd = os.open(f"{d}/stdout", os.O_RDONLY)
    os.read(fd, 1)
    first.append(time.perf_counter() - t)
    os.close(fd)
    read(f"{d}/wait")
    os.rmdir(d)
print(f"first byte      {median_ms(first):6.2f} ms from writing cmd to the first byte of stdout "
      f"(the command prints at once, then runs on)")

# --- daemon memory with 1 and N running bottles
rss1 = daemon_rss_kib(state)
t = time.perf_counter()
for i in range(n_bottles - 1):
    write(f"{mnt}/new/m{i}", f'agent = "bench"\ncommand = {TRAP}\nstop_timeout = 2\n')
    write(f"{mnt}/m{i}/ctl", "start\n")
spent = time.perf_counter() - t
rssn = daemon_rss_kib(state)
print(f"daemon memory   VmRSS {rss1} KiB with 1 running bottle, {rssn} KiB with {n_bottles}"
      f" ({(rssn - rss1) / max(n_bottles - 1, 1):.0f} KiB per extra bottle; started {n_bottles - 1} in {spent:.1f} s)")
PY
