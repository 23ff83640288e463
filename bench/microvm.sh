#!/bin/bash
# The microvm backend against the oci backend, in the same run: start to
# the first exec's answer (TCG; KVM where BOTTLEFS_VM_ACCEL=kvm works),
# the exec round trip of `true` (medians of N), the host memory a running
# VM costs (QEMU's and its shim's RSS), and proxy throughput from inside
# the VM against from an oci bottle (a download of SIZE_MB through the
# egress proxy from nginx on loopback).
# Usage: sudo bench/microvm.sh [BOTTLEFS] [N]   (defaults: build/bottlefs, 30)
set -euo pipefail
BOTTLEFS=$(realpath "${1:-$(dirname "$0")/../build/bottlefs}")
N=${2:-30}
SIZE_MB=50
PORT=18482

# What it needs, before anything is made: a clear word, not a failure halfway.
for tool in nginx; do
	command -v "$tool" >/dev/null ||
		{ echo "$(basename "$0"): needs $tool (apt-get install nginx-light)" >&2; exit 1; }
done

. "$(dirname "$0")/lib.sh"
cleanup() {
	[ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
	bench_teardown
}
trap cleanup EXIT

ROOT=$TMP/vmroot
mkdir -p "$ROOT/bin" "$ROOT/etc" "$ROOT/tmp" "$TMP/www"
cp "$(command -v busybox)" "$ROOT/bin/busybox"
for c in sh true wget sleep cat; do ln -s busybox "$ROOT/bin/$c"; done
chmod 755 "$TMP" "$TMP/www"
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero >"$TMP/www/big"
chmod 644 "$TMP/www/big"
cat >"$TMP/nginx.conf" <<EOF2
daemon on; worker_processes 1; pid $TMP/nginx.pid; error_log $TMP/nginx.err;
events { worker_connections 64; }
http { access_log off; sendfile on; server { listen 127.0.0.5:$PORT; root $TMP/www; } }
EOF2
nginx -c "$TMP/nginx.conf" -p "$TMP"

"$BOTTLEFS" -o "state=$STATE" "$MNT"
allow=$(printf '[network]\nallow = ["127.0.0.5:%s"]\n' "$PORT")
printf 'agent = "bench"\nbackend = "microvm"\nimage = "%s"\ncommand = ["sleep", "1000000"]\n%s\n' "$ROOT" "$allow" >"$MNT/new/vm"
printf 'agent = "bench"\ncommand = ["sleep", "infinity"]\n%s\n' "$allow" >"$MNT/new/ct"

BENCH_DIR=$(dirname "$(realpath "$0")") /usr/bin/python3 - "$MNT" "$N" "$SIZE_MB" "$PORT" <<'PY'
import faulthandler, os, signal, statistics, sys, time
faulthandler.register(signal.SIGUSR1)
mnt, n, size_mb, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def write(path, text):
    with open(path, "w") as f:
        f.write(text)

def run(bottle, cmd):
    fd = os.open(f"{mnt}/{bottle}/exec/run", os.O_RDWR)
    os.write(fd, cmd.encode())
    out = b""
    while chunk := os.read(fd, 65536):
        out += chunk
    os.close(fd)
    return out.decode()

def status(bottle, key):
    for line in open(f"{mnt}/{bottle}/status"):
        if line.startswith(key + ": "):
            return line.split(": ", 1)[1].strip()
    return ""

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

def first_exec(bottle):
    t = time.perf_counter()
    write(f"{mnt}/{bottle}/ctl", "start\n")
    out = run(bottle, "true")
    assert out.strip().endswith("exited 0"), (bottle, out)
    return time.perf_counter() - t

def exec_ms(bottle):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        assert run(bottle, "true").strip() == "exited 0", bottle
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3

def download(bottle, tool):
    t = time.perf_counter()
    out = run(bottle, f"{tool} http://127.0.0.5:{port}/big")
    took = time.perf_counter() - t
    assert out.strip().endswith("exited 0"), out[-300:]
    return size_mb * 1048576 / took / 1e6

vm_first = first_exec("vm")
ct_first = first_exec("ct")
accel = status("vm", "accel")
print(f"start -> first exec   microvm ({accel}) {vm_first * 1e3:.0f} ms   oci {ct_first * 1e3:.0f} ms   "
      f"(goal: microvm <= 3000 ms on TCG)")
vm_exec, ct_exec = exec_ms("vm"), exec_ms("ct")
print(f"exec/run of true      microvm {vm_exec:.2f} ms   oci {ct_exec:.2f} ms   "
      f"ratio {vm_exec / ct_exec:.2f}x (goal <= 5x; medians of {n})")
qemu = int(status("vm", "pid"))
shim = int(open(f"/proc/{qemu}/stat").read().rsplit(")", 1)[1].split()[1])
guest_mib = int(next(l.split("=")[1] for l in open(f"{mnt}/vm/plan.toml") if l.startswith("memory ="))) >> 20
print(f"host memory           QEMU RSS {rss_kib(qemu) / 1024:.0f} MiB + shim {rss_kib(shim)} KiB "
      f"for a guest of {guest_mib} MiB (busybox, idle)")
vm_dl = statistics.median(download("vm", "wget -q -O /dev/null") for _ in range(3))
ct_dl = statistics.median(download("ct", "curl -s -o /dev/null") for _ in range(3))
print(f"proxy download {size_mb} MB  microvm {vm_dl:.0f} MB/s   oci {ct_dl:.0f} MB/s   "
      f"ratio {vm_dl / ct_dl:.2f}x (medians of 3)")
write(f"{mnt}/vm/ctl", "stop\n")
write(f"{mnt}/ct/ctl", "stop\n")
PY
