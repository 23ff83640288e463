#!/bin/bash
# Benchmarks of the docker backend, each as a ratio against a baseline run
# in the same invocation, on a dockerd of its own and an imported busybox
# image (no registry):
#   start -> running through ctl   vs  a raw create+start through the API
#                                       with the same config (goal <= 1.1x)
#   exec round trip of `true`      vs  `docker exec` (goal >= 10x faster)
#                                       and `nsenter -t PID -a` (goal <= 3x)
#   daemon memory (VmRSS) with 1 and with N running docker bottles
# Usage: sudo bench/docker.sh [BOTTLEFS] [N_BOTTLES]   (defaults: build/bottlefs, 100)
set -euo pipefail
BOTTLEFS=${1:-$(dirname "$0")/../build/bottlefs}
BOTTLEFS=$(realpath "$BOTTLEFS")
N=${2:-100}

. "$(dirname "$0")/lib.sh"
DK=$TMP/docker
SOCK=$DK/docker.sock
mkdir -p "$DK"

cleanup() {
	local id
	for id in $(curl -sf --unix-socket "$SOCK" "http://localhost/v1.41/containers/json?all=1" |
		/usr/bin/python3 -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null); do
		curl -sf --unix-socket "$SOCK" -X DELETE "http://localhost/v1.41/containers/$id?force=1" >/dev/null || true
	done
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	umount "$STATE"/run/*/homefs 2>/dev/null || true
	[ -f "$DK/pid" ] && kill "$(cat "$DK/pid")" 2>/dev/null && sleep 3
	umount -R "$DK/data" "$DK/exec" 2>/dev/null || true
	bench_teardown
}
trap cleanup EXIT

dockerd --host "unix://$SOCK" --data-root "$DK/data" --exec-root "$DK/exec" --pidfile "$DK/pid" \
	--iptables=false --ip6tables=false --bridge=none >"$DK/dockerd.log" 2>&1 &
for _ in $(seq 100); do curl -sf --unix-socket "$SOCK" http://localhost/_ping >/dev/null && break; sleep 0.1; done
ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for c in sh sleep true cat; do ln -s busybox "$ROOTFS/bin/$c"; done
echo 'root:x:0:0::/root:/bin/sh' >"$ROOTFS/etc/passwd"
tar -C "$ROOTFS" -cf "$TMP/busybox.tar" .
curl -sf --unix-socket "$SOCK" -X POST -H "Content-Type: application/x-tar" --data-binary @"$TMP/busybox.tar" \
	"http://localhost/v1.41/images/create?fromSrc=-&repo=bench/busybox&tag=latest" >/dev/null

DOCKER_HOST=unix://$SOCK "$BOTTLEFS" -o "state=$STATE" "$MNT"
BENCH_DIR=$(dirname "$(realpath "$0")") /usr/bin/python3 - "$MNT" "$STATE" "$SOCK" "$N" <<'PY'
import http.client, json, os, socket, statistics, subprocess, sys, time
sys.path.insert(0, os.environ["BENCH_DIR"])
from benchlib import TRAP, daemon_rss_kib, median_ms, read, session_true, write

mnt, state, sock, n_bottles = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ROUNDS = 20

class UnixConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(sock)

def api(method, path, body=None):
    c = UnixConnection("localhost")
    c.request(method, "/v1.41" + path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    if r.status >= 300:
        raise RuntimeError(f"{method} {path}: {r.status} {data[:200]}")
    return json.loads(data) if data else None

write(f"{mnt}/new/bench", f'agent = "bench"\nbackend = "docker"\nimage = "bench/busybox"\ncommand = {TRAP}\nstop_timeout = 2\n')

# --- start latency: ctl vs a raw create+start of the very config bottlefs
# made (taken from inspect), alternating the two.
write(f"{mnt}/bench/ctl", "start\n")
cid = [l.split(": ")[1] for l in read(f"{mnt}/bench/status").decode().splitlines()
       if l.startswith("container_id: ")][0]
info = api("GET", f"/containers/{cid}/json")
config = {k: info["Config"][k] for k in ("Image", "Entrypoint", "Cmd", "Env", "User", "WorkingDir", "Hostname")}
config["HostConfig"] = {k: info["HostConfig"][k] for k in
                        ("NetworkMode", "ReadonlyRootfs", "SecurityOpt", "CapDrop", "PidsLimit", "Memory",
                         "MemorySwap", "Tmpfs", "Binds")}
write(f"{mnt}/bench/ctl", "stop\n")
ours, raw = [], []
for i in range(ROUNDS):
    t = time.perf_counter()
    write(f"{mnt}/bench/ctl", "start\n")
    ours.append(time.perf_counter() - t)
    assert read(f"{mnt}/bench/ctl") == b"running\n"
    write(f"{mnt}/bench/ctl", "stop\n")
    t = time.perf_counter()
    made = api("POST", f"/containers/create?name=raw-{i}", config)
    api("POST", f"/containers/{made['Id']}/start")
    raw.append(time.perf_counter() - t)
    api("DELETE", f"/containers/{made['Id']}?force=1")
print(f"start->running  bottlefs ctl {median_ms(ours):7.2f} ms   raw API create+start {median_ms(raw):7.2f} ms"
      f"   ratio {median_ms(ours) / median_ms(raw):.2f}x (goal <= 1.1x; medians of {ROUNDS}, alternating)")

# --- exec round trip of `true`
write(f"{mnt}/bench/ctl", "start\n")
status = dict(l.split(": ", 1) for l in read(f"{mnt}/bench/status").decode().splitlines())
pid, cid = status["pid"], status["container_id"]
env = dict(os.environ, DOCKER_HOST=f"unix://{sock}")
docker = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
files, dexec, nsenter = [], [], []
for i in range(ROUNDS):
    files.append(session_true(f"{mnt}/bench/exec", f"b{i}"))
    t = time.perf_counter()
    subprocess.run([docker, "exec", cid, "true"], check=True, env=env)
    dexec.append(time.perf_counter() - t)
    t = time.perf_counter()
    subprocess.run(["nsenter", "-t", pid, "-a", "true"], check=True)
    nsenter.append(time.perf_counter() - t)
f, de, ns = (median_ms(x) for x in (files, dexec, nsenter))
print(f"exec true       files {f:6.2f} ms   docker exec {de:6.2f} ms   nsenter {ns:6.2f} ms")
print(f"                docker exec/files {de / f:.1f}x faster (goal >= 10x)   files/nsenter {f / ns:.2f}x (goal <= 3x)")

# --- daemon memory with 1 and N running docker bottles
rss1 = daemon_rss_kib(state)
t = time.perf_counter()
for i in range(1, n_bottles):
    write(f"{mnt}/new/m{i}", f'agent = "bench"\nbackend = "docker"\nimage = "bench/busybox"\ncommand = {TRAP}\nstop_timeout = 2\n')
    write(f"{mnt}/m{i}/ctl", "start\n")
elapsed = time.perf_counter() - t
rssn = daemon_rss_kib(state)
print(f"daemon memory   VmRSS {rss1} KiB with 1 running docker bottle, {rssn} KiB with {n_bottles} "
      f"({(rssn - rss1) / max(n_bottles - 1, 1):.0f} KiB per extra bottle; started {n_bottles - 1} in {elapsed:.1f} s)")
for i in range(1, n_bottles):
    write(f"{mnt}/m{i}/ctl", "stop\n")
write(f"{mnt}/bench/ctl", "stop\n")
PY
