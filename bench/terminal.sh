#!/bin/bash
# Keystroke round trip through a terminal session: one byte written to
# exec/S/stdin, echoed by a program in raw mode (`stty raw -echo; cat`)
# inside the bottle, read back from exec/S/stdout. Baselines run in the
# same invocation: the same program on a host pty (no bottle, no FUSE),
# and the same round trip through a session without a terminal (pipes).
# Goal (issue 12): median <= 5 ms.
# Usage: sudo bench/terminal.sh [BOTTLEFS] [ROUNDS]   (defaults: build/bottlefs, 1000)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
ROUNDS=${2:-1000}

. "$(dirname "$0")/lib.sh"
trap bench_teardown EXIT

"$BOTTLEFS" -o "state=$STATE" "$MNT"
/usr/bin/python3 - "$MNT" "$ROUNDS" <<'PY'
import os, pty, statistics, subprocess, sys, time

mnt, rounds = sys.argv[1], int(sys.argv[2])
ECHO = "stty raw -echo 2>/dev/null; exec cat"

def write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    os.write(fd, text.encode())
    os.close(fd)

def round_trips(write_fd, read_fd, warmup=20):
    """Median and 95th percentile (ms) of one byte out and back."""
    samples = []
    for i in range(rounds + warmup):
        t0 = time.perf_counter()
        os.write(write_fd, b"k")
        got = b""
        while not got:
            got = os.read(read_fd, 1)
        if got != b"k":
            sys.exit(f"echoed {got!r}, not b'k'")
        if i >= warmup:
            samples.append(time.perf_counter() - t0)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95)] * 1000

def session(name, terminal):
    d = f"{mnt}/b/exec/{name}"
    os.mkdir(d)
    if terminal:
        write(f"{d}/ctl", "pty 80x24\n")
    write(f"{d}/cmd", (ECHO if terminal else "exec cat") + "\n")
    out = os.open(f"{d}/stdout", os.O_RDONLY)
    inp = os.open(f"{d}/stdin", os.O_WRONLY)
    if terminal:
        # Wait for raw mode: stty has run once a byte comes back unchanged
        # and alone (in cooked mode it would wait for a newline).
        time.sleep(0.3)
    return inp, out, d

write(f"{mnt}/new/b", 'agent = "bench"\ncommand = ["sleep", "100000"]\n')
write(f"{mnt}/b/ctl", "start\n")

# Host pty: the floor a terminal round trip costs without bottlefs.
pid, master = pty.fork()
if pid == 0:
    os.execvp("sh", ["sh", "-c", ECHO])
time.sleep(0.3)
host_med, host_p95 = round_trips(master, master)
os.kill(pid, 9)
os.waitpid(pid, 0)

inp, out, _ = session("pipe", False)
pipe_med, pipe_p95 = round_trips(inp, out)
os.close(inp)
inp, out, d = session("tty", True)
tty_med, tty_p95 = round_trips(inp, out)
write(f"{d}/ctl", "kill\n")

print(f"keystroke round trip, {rounds} rounds (median / p95):")
print(f"  host pty (baseline)        {host_med:6.3f} / {host_p95:6.3f} ms")
print(f"  exec session, no terminal  {pipe_med:6.3f} / {pipe_p95:6.3f} ms")
print(f"  exec session, pty          {tty_med:6.3f} / {tty_p95:6.3f} ms   goal <= 5 ms median: "
      + ("met" if tty_med <= 5 else "NOT met"))
print(f"  ratio pty session / host pty: {tty_med / host_med:.2f}x; pty / pipe session: {tty_med / pipe_med:.2f}x")
PY
