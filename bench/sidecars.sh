#!/bin/bash
# The git-gate and supervise, each against a baseline run in the same
# invocation:
#   clone of a 500-commit repository   gate (from an oci guest)  vs  git daemon on loopback (host)
#   no-op fetch (the gate refreshes its mirror from the host repository first)
#   push of one commit                 gate (update hook)        vs  git daemon with receive-pack
#   MCP tools/list round trip          (absolute)
#   ask_human answered by a script that polls requests/ (absolute)
# Usage: sudo bench/sidecars.sh [BOTTLEFS] [ROUNDS]   (defaults: build/bottlefs, 10)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
ROUNDS=${2:-10}

. "$(dirname "$0")/lib.sh"

cleanup() {
	[ -z "${DAEMON_PID:-}" ] || kill "$DAEMON_PID" 2>/dev/null || true
	bench_teardown
}
trap cleanup EXIT

# A repository of 500 commits, each changing one of 50 files.
HR=$TMP/repo.git
git init -q --bare -b main "$HR"
/usr/bin/python3 - "$HR" <<'PY'
import subprocess, sys
out = []
for i in range(500):
    data = (f"line {i}\n" * 200).encode()
    out.append(b"commit refs/heads/main\n")
    out.append(b"committer b <b@b> %d +0000\n" % (1700000000 + i))
    msg = b"commit %d" % i
    out.append(b"data %d\n%s\n" % (len(msg), msg))
    out.append(b"M 644 inline f%02d\ndata %d\n%s\n" % (i % 50, len(data), data))
subprocess.run(["git", "-C", sys.argv[1], "fast-import", "--quiet"], input=b"".join(out), check=True)
PY
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --export-all --base-path="$TMP" --enable=receive-pack --listen=127.0.0.1 --port="$PORT" \
	--reuseaddr "$TMP" >/dev/null 2>&1 &
DAEMON_PID=$!
DIRECT=git://127.0.0.1:$PORT/repo.git
for _ in $(seq 50); do git ls-remote "$DIRECT" >/dev/null 2>&1 && break; sleep 0.1; done

"$BOTTLEFS" -o "state=$STATE" "$MNT"
printf 'agent = "bench"\ncommand = ["sleep", "infinity"]\n[git]\nrepo = "%s"\npush = ["bottle/*"]\n[sidecars]\nsupervise = true\n' \
	"$HR" >"$MNT/new/g"
echo start >"$MNT/g/ctl"

BENCH_DIR=$(dirname "$(realpath "$0")") /usr/bin/python3 - "$MNT" "$TMP" "$DIRECT" "$ROUNDS" <<'PY'
import os, shutil, statistics, subprocess, sys, threading, time
sys.path.insert(0, os.environ["BENCH_DIR"])
from benchlib import median_ms

mnt, tmp, direct, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
G = "export HOME=/tmp; git config --global user.email a@a; git config --global user.name a; cd /tmp"

def guest(cmd):
    """The one-shot exec form; the time of the command itself is measured
    inside the guest, so that exec's own cost (a few ms) is not counted."""
    fd = os.open(f"{mnt}/g/exec/run", os.O_RDWR)
    os.write(fd, f"{G}; s=$(date +%s%N); {cmd} >/dev/null 2>&1 || echo FAILED; e=$(date +%s%N); echo $((e - s))".encode())
    out = b""
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        out += b
    os.close(fd)
    lines = out.decode().split("\n")
    assert "FAILED" not in lines and lines[-2] == "exited 0", out
    return int(lines[-3]) / 1e9

def host(cmd, cwd=None):
    t = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t

def row(name, ours, base, what):
    print(f"{name:22s} gate {median_ms(ours):8.1f} ms   {what} {median_ms(base):8.1f} ms"
          f"   ratio {median_ms(ours) / median_ms(base):.2f}x (medians of {len(ours)}, alternating)")

# --- clone, alternating gate and direct
ours, base = [], []
for i in range(rounds):
    ours.append(guest(f'rm -rf c; git clone -q "$GIT_GATE_URL" c'))
    shutil.rmtree(f"{tmp}/c", ignore_errors=True)
    base.append(host(f"git clone -q {direct} {tmp}/c"))
row("clone (500 commits)", ours, base, "git daemon")

# --- no-op fetch: nothing changed on either side
ours, base = [], []
for i in range(rounds):
    ours.append(guest("cd c && git fetch -q origin"))
    base.append(host("git fetch -q origin", cwd=f"{tmp}/c"))
row("no-op fetch", ours, base, "git daemon")

# --- push of one new commit to a new branch
ours, base = [], []
for i in range(rounds):
    ours.append(guest(f"cd c && git commit -q --allow-empty -m p{i} && git push -q origin HEAD:bottle/p{i}"))
    subprocess.run(f"git -c user.email=a@a -c user.name=a commit -q --allow-empty -m p{i}", shell=True,
                   check=True, cwd=f"{tmp}/c")
    base.append(host(f"git push -q origin HEAD:refs/heads/bottle/p{i}", cwd=f"{tmp}/c"))
row("push (one commit)", ours, base, "git daemon")

# --- supervise: tools/list, and ask_human answered by a polling script
lst = []
for i in range(rounds):
    lst.append(guest("curl -s -X POST -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}' $MCP_SUPERVISE_URL"))
stop = False
def answerer():
    while not stop:
        try:
            for n in os.listdir(f"{mnt}/g/requests"):
                try:
                    with open(f"{mnt}/g/requests/{n}/answer", "w") as f:
                        f.write("yes\n")
                except OSError:
                    pass
        except OSError:
            pass
        time.sleep(0.001)
t = threading.Thread(target=answerer)
t.start()
ask = []
for i in range(rounds):
    ask.append(guest("curl -s -X POST -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask_human\",\"arguments\":{\"question\":\"q\"}}}' $MCP_SUPERVISE_URL"))
stop = True
t.join()
print(f"MCP tools/list         {median_ms(lst):8.1f} ms   (curl in the guest, absolute)")
print(f"ask_human, answered    {median_ms(ask):8.1f} ms   (a script polling requests/ every 1 ms answers; absolute)")
PY
