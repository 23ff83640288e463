#!/bin/bash
# The microvm backend for real: Debian's cloud kernel under QEMU (TCG),
# our agent as the VM's init, a busybox root. Lifecycle, log, exec
# sessions and the one-shot form, signals, re-attach, bad input, and what
# a guest (as its user and as root) and another host user may not do.
. "$(dirname "$0")/lib.sh"

command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86 not installed"; exit 77; }
KERNEL=${BOTTLEFS_VM_KERNEL:-/usr/local/lib/bottlefs/vm}
[ -r "$KERNEL/vmlinuz" ] || { echo "SKIP: no guest kernel in $KERNEL (scripts/vm-kernel.sh)"; exit 77; }

BACKEND=microvm
ROOTFS=$TMP/vmroot
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for c in sh ls cat echo id sleep seq head tail wc tr env printf kill true ps hostname nc wget \
	md5sum nslookup grep cut uname mkdir touch stat; do
	ln -s busybox "$ROOTFS/bin/$c"
done
printf 'root:x:0:0::/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n' >"$ROOTFS/etc/passwd"

vmanifest() {  # NAME [EXTRA TOML]
	printf 'agent = "t"\nimage = "%s"\ncommand = ["sh", "-c", "echo hello-vm $(id -u); trap %s TERM; while :; do sleep 1; done"]\nstop_timeout = 5\n%s\n' \
		"$ROOTFS" "'echo got-term; exit 0'" "${2:-}" >"$MNT/new/$1" || fail "create $1: $(tail -2 "$MNT/errors")"
}

# A web server on host loopback for the egress proofs.
mkdir -p "$TMP/www"
echo vm-egress-ok >"$TMP/www/file"
WPORT=18491
(cd "$TMP/www" && exec "$PY" -m http.server --bind 127.0.0.7 "$WPORT" >/dev/null 2>&1) &
track_bg $!

mount_fs
assert_contains backends "$(grep "^microvm: " "$MNT/backends")" "qemu 7"
assert_contains backends "$(grep "^microvm: " "$MNT/backends")" "accel "
ok "backends shows qemu's version, the guest kernel and the accelerator"

vmanifest vm "$(printf '[network]\nallow = ["127.0.0.7:%s"]' "$WPORT")"
t0=$(date +%s%N)
echo start >"$MNT/vm/ctl" || fail "start: $(tail -3 "$MNT/errors")"
took=$((($(date +%s%N) - t0) / 1000000))
[ "$(cat "$MNT/vm/ctl")" = running ] || fail "ctl after start: $(cat "$MNT/vm/ctl")"
st=$(cat "$MNT/vm/status")
grep -Eq '^accel: (tcg|kvm)$' <<<"$st" || fail "status names no accelerator: $st"
# Where KVM cannot boot a guest (here: QEMU aborts or the guest hangs), the
# shim starts the VM on TCG and later starts go straight to TCG.
if grep -q '^accel: tcg$' <<<"$st" && [ -c /dev/kvm ] && [ -z "${BOTTLEFS_VM_ACCEL:-}" ]; then
	assert_contains backends "$(grep "^microvm: " "$MNT/backends")" "accel tcg (a VM did not boot on KVM here)"
fi
assert_contains status "$st" "kernel: $(cat "$KERNEL/version")"
assert_contains status "$st" "guest_user: 1000 (the VM's own)"
assert_contains status "$st" "uid_map: none (a VM"
for _ in $(seq 50); do grep -q "guest: hello-vm 1000" "$MNT/vm/log" && break; sleep 0.1; done
grep -q "guest: hello-vm 1000" "$MNT/vm/log" || fail "main output not in log: $(cat "$MNT/vm/log")"
ok "echo start boots a VM in ${took} ms; status names accel and kernel; the main command's output is in log"

# --- exec: the one-shot form, sessions, stdin, signals, a large stream
[ "$(output_of vm 'uname -r')" = "$(cat "$KERNEL/version")" ] || fail "exec does not run in the guest kernel"
out=$(run_in vm 'echo out; echo err >&2; exit 7')
[ "$out" = "$(printf 'out\nerr\nexited 7')" ] || fail "one-shot: $out"
S=$MNT/vm/exec/s1
mkdir "$S"
echo 'read line; echo "got $line"; echo to-err >&2; exit 4' >"$S/cmd"
echo hello-stdin >"$S/stdin"
[ "$(cat "$S/wait")" = "exited 4" ] || fail "session wait: $(cat "$S/status")"
[ "$(cat "$S/stdout")" = "got hello-stdin" ] || fail "session stdout: $(cat "$S/stdout")"
[ "$(cat "$S/stderr")" = "to-err" ] || fail "session stderr: $(cat "$S/stderr")"
rmdir "$S"
mkdir "$S"
echo 'sleep 100' >"$S/cmd"
sleep 0.5
echo "kill TERM" >"$S/ctl"
[ "$(cat "$S/wait")" = "killed 15" ] || fail "kill TERM: $(cat "$S/status")"
rmdir "$S"
mkdir "$S"
echo 'sleep 100' >"$S/cmd"
sleep 0.5
echo kill >"$S/ctl"
[ "$(cat "$S/wait")" = "killed 9" ] || fail "kill (KILL): $(cat "$S/status")"
[ "$(run_in vm 'ps -o args | grep -c "[s]leep 100"' | head -1)" = 0 ] || fail "a killed session's command still runs in the VM"
rmdir "$S"
want=$(seq 1 300000 | md5sum)
got=$(run_in vm 'seq 1 300000' | sed '$d' | md5sum)
[ "$got" = "$want" ] || fail "a 2 MB stream through the VM's port lost or reordered bytes"
for i in $(seq 20); do
	[ "$(output_of vm "echo line-$i")" = "line-$i" ] || fail "one-shot $i"
done
ok "exec: one-shot with status, session stdin/stdout/stderr and exit, kill TERM and KILL, 2 MB byte-exact, 20 one-shots"

# --- the guest's view: its own kernel, processes, ids and network
[ "$(output_of vm 'id -u')" = 1000 ] || fail "exec is not the guest user"
ps_out=$(output_of vm 'ps -o pid,comm')
case $ps_out in *bottlefs*|*qemu*|*fuse*) fail "host processes visible in the VM: $ps_out" ;; esac
[ "$(output_of vm 'cat /etc/resolv.conf | wc -c')" = 0 ] || fail "the guest has a resolver"
refused_in vm 'nslookup example.com' || fail "a name resolved in the VM"
gw=$(sed -n 's/^subnet: 192.168.\([0-9]*\).0\/24/192.168.\1.1/p' "$MNT/vm/status")
proxy=${gw%.1}.2
# nc works, and the proxy port is the one place it connects to.
[ "$(output_of vm "printf 'GET http://10.9.9.9:1/ HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $proxy 8888 | head -1 | cut -c1-12")" = "HTTP/1.1 403" ] ||
	fail "the proxy port on $proxy did not answer"
for dst in "$gw 22" "$gw 80" "10.0.2.2 80" "127.0.0.1 $$" "1.1.1.1 80"; do
	refused_in vm "nc -w 2 $dst </dev/null" || fail "the VM reached $dst"
done
ok "the VM has its own kernel and processes, no resolver, and reaches neither the gateway, the host nor beyond"

# --- egress from inside the VM: the allowlist, through the proxy address
[ "$(output_of vm "wget -q -O - http://127.0.0.7:$WPORT/file")" = vm-egress-ok ] ||
	fail "an allowed destination was not reached through the proxy: $(run_in vm "wget -O - http://127.0.0.7:$WPORT/file 2>&1")"
refused_in vm "wget -q -O - http://127.0.0.8:$WPORT/file" || fail "a destination not allowed was reached"
grep -q "allow.*127.0.0.7:$WPORT" "$MNT/vm/egress" || fail "no allow line in egress: $(cat "$MNT/vm/egress")"
grep -q "deny.*127.0.0.8" "$MNT/vm/egress" || fail "no deny line in egress: $(cat "$MNT/vm/egress")"
grep -q "$proxy:8888" "$MNT/vm/network.yaml" 2>/dev/null || grep -q "gateway_port: 8888" "$MNT/vm/network.yaml" ||
	fail "network.yaml does not name the forwarded port"
ok "from the VM, HTTP_PROXY on the proxy address reaches an allowed host; others are refused; egress logs both"

# --- guest root: the VM's own root, no more
vmanifest rootvm 'user = "root"'
echo start >"$MNT/rootvm/ctl" || fail "start a root guest: $(tail -2 "$MNT/errors")"
[ "$(output_of rootvm 'id -u')" = 0 ] || fail "not root in the root guest"
port=$(output_of rootvm 'grep -l bottlefs.agent /sys/class/virtio-ports/*/name | cut -d/ -f5')
[ -n "$port" ] || fail "no agent port in the VM"
refused_in rootvm "echo forged >/dev/$port" || fail "guest root wrote into the agent's port"
for dst in "$gw 22" "10.0.2.2 80" "1.1.1.1 443"; do
	refused_in rootvm "nc -w 2 $dst </dev/null" || fail "guest root reached $dst"
done
refused_in rootvm 'kill -9 1; sleep 0.5; kill -0 1 && exit 1; exit 0' ||
	fail "guest root killed the agent"
[ "$(output_of rootvm 'echo still-served')" = still-served ] || fail "the agent is gone after guest root's attempts"
echo stop >"$MNT/rootvm/ctl"
rmdir "$MNT/rootvm"
ok "guest root cannot write into the agent's port, reach the host or beyond, or kill the agent"

# --- QEMU runs as the bottle's own host id, filtered; neither it nor
# another host user reaches the shim, the agent's socket or the run dir
mux=$STATE/run/vm/mux.sock
[ -S "$mux" ] || fail "no mux socket"
qid=$(sed -n 's/^qemu_user: \([0-9]*\) .*/\1/p' "$MNT/vm/status")
qpid=$(sed -n 's/^pid: //p' "$MNT/vm/status")
[ -n "$qid" ] && [ "$qid" -ge 65536 ] || fail "qemu_user: $(cat "$MNT/vm/status")"
! getent passwd "$qid" >/dev/null || fail "QEMU's id $qid is a host account"
[ "$(stat -c %u:%g "/proc/$qpid")" = "$qid:$qid" ] || fail "QEMU runs as $(stat -c %u:%g "/proc/$qpid")"
grep -q "^Groups:	$qid *$" "/proc/$qpid/status" || fail "QEMU's groups: $(grep ^Groups "/proc/$qpid/status")"
grep -q "^Seccomp:	2" "/proc/$qpid/status" || fail "QEMU runs without a syscall filter"
grep -q "^CapEff:	0000000000000000" "/proc/$qpid/status" || fail "QEMU keeps capabilities"
[ "$(stat -c %a:%U:%g "$STATE/run/vm")" = "710:root:$qid" ] || fail "run dir: $(stat -c %a:%U:%g "$STATE/run/vm")"
connects() {  # UID SOCKET: whether UID may connect to it
	setpriv --reuid="$1" --regid="$1" --clear-groups "$PY" -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)
" "$2"
}
for who in 65534 "$qid"; do
	for sock in mux.sock agent.sock qmp.sock; do
		if connects "$who" "$STATE/run/vm/$sock"; then fail "uid $who connected to the VM's $sock"; fi
	done
	if setpriv --reuid="$who" --regid="$who" --clear-groups cat "$STATE/run/vm/console" 2>/dev/null; then
		fail "uid $who read the VM's console"
	fi
done
if setpriv --reuid=65534 --regid=65534 --clear-groups ls "$STATE/run/vm" 2>/dev/null; then fail "another user lists the run dir"; fi
if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$STATE/run/vm/log" 2>/dev/null; then fail "another user reads the VM's log"; fi
if setpriv --reuid=65534 --regid=65534 --clear-groups kill -0 "$qpid" 2>/dev/null; then fail "another user may signal QEMU"; fi
# The one thing QEMU's id may do: hand a connection to the proxy.
connects "$qid" "$STATE/run/vm/fwd/8888.sock" || fail "QEMU's id cannot reach the proxy's listener"
connects 65534 "$STATE/run/vm/fwd/8888.sock" && fail "another user reached the proxy's listener"
ok "QEMU runs as the bottle's host id $qid (no account, no other groups, no caps, seccomp); it and another user reach neither the shim, the agent's nor the QMP socket, nor the run dir's files; only it reaches the proxy's listener"

# --- stop, exit status, restart, re-attach, kill
echo stop >"$MNT/vm/ctl"
[ "$(cat "$MNT/vm/ctl")" = stopped ] || fail "stop: $(cat "$MNT/vm/ctl")"
assert_contains status "$(cat "$MNT/vm/status")" "exit: exited 0"
grep -q "guest: got-term" "$MNT/vm/log" || fail "TERM did not reach the main command"
pgrep -f "qemu-system-x86_64 .*$STATE/run/vm/" >/dev/null && fail "QEMU outlived stop"
echo start >"$MNT/vm/ctl" || fail "restart"
unmount_fs
pgrep -f "qemu-system-x86_64 .*$STATE/run/vm/" >/dev/null || fail "the VM ended with the mount"
mount_fs
[ "$(cat "$MNT/vm/ctl")" = running ] || fail "not re-attached: $(cat "$MNT/vm/status")"
[ "$(output_of vm 'echo again')" = again ] || fail "exec after re-attach"
echo "kill KILL" >"$MNT/vm/ctl"
for _ in $(seq 100); do [ "$(cat "$MNT/vm/ctl")" = running ] || break; sleep 0.1; done
assert_contains status "$(cat "$MNT/vm/status")" "exit: killed 9"
pgrep -f "qemu-system-x86_64 .*$STATE/run/vm/" >/dev/null && fail "QEMU outlived kill KILL"
ok "stop (TERM reaches the main command, exited 0), restart, unmount leaves the VM, remount re-attaches, kill KILL ends QEMU"

# --- a forged record is not re-attached: its monitor is another process
echo start >"$MNT/vm/ctl" || fail "start again"
unmount_fs
sleep 1000 &
decoy=$!
track_bg "$decoy"
real=$(sed -n 's/.*"monitor_pid": *\([0-9]*\).*/\1/p' "$STATE/bottles/vm.json")
sed -i "s/\"monitor_pid\": *$real/\"monitor_pid\": $decoy/" "$STATE/bottles/vm.json"
mount_fs
grep -q "not re-attached" "$MNT/errors" || fail "a forged monitor was not reported: $(cat "$MNT/errors")"
kill -0 "$decoy" || fail "the decoy was signalled"
[ "$(cat "$MNT/vm/ctl")" != running ] || fail "a forged record was re-attached"
kill -9 "$real" 2>/dev/null || true
pkill -9 -f "qemu-system-x86_64 .*$STATE/run/vm/" || true
ok "a record whose monitor is another process is reported and not re-attached; that process is left alone"

# --- bad input: errno and a reason, nothing half-made
printf 'agent = "t"\nimage = "%s"\n[workspace]\npath = "%s"\nmode = "bind"\n' "$ROOTFS" "$TMP" >"$TMP/ws.toml"
if cp "$TMP/ws.toml" "$MNT/new/ws" 2>/dev/null; then fail "a bind workspace was accepted"; fi
[ ! -e "$MNT/ws" ] || fail "a refused manifest left a bottle"
assert_contains errors "$(cat "$MNT/errors")" "cannot share a host directory"
printf 'agent = "t"\nimage = "%s/bin/busybox"\n' "$ROOTFS" >"$MNT/new/notdir"
echo start >"$MNT/notdir/ctl" 2>/dev/null && fail "an image that is a file started"
assert_contains errors "$(tail -3 "$MNT/errors")" "root filesystem directory"
[ "$(cat "$MNT/notdir/ctl")" = failed ] || fail "state after a bad image: $(cat "$MNT/notdir/ctl")"
rmdir "$MNT/notdir"
rmdir "$MNT/vm"
[ ! -e "$STATE/run/vm" ] ||
	fail "rmdir left VM files: $(ls "$STATE/run/vm")"
assert_alive
ok "a bind workspace (ENOTSUP) and an image that is no directory are refused with reasons; rmdir removes the VM's files"

# --- another kernel directory: -o vm_kernel=DIR, absolute only
unmount_fs
if "$BOTTLEFS" -o "backend=$BACKEND" -o "state=$STATE" -o vm_kernel=relative/dir "$MNT" 2>/dev/null; then
	fail "a relative vm_kernel= was accepted"
fi
mkdir -p "$TMP/nokernel"
mount_fs -o "vm_kernel=$TMP/nokernel"
vmanifest nok
echo start >"$MNT/nok/ctl" 2>/dev/null && fail "a start without a kernel succeeded"
assert_contains errors "$(tail -2 "$MNT/errors")" "no guest kernel at $TMP/nokernel/vmlinuz"
rmdir "$MNT/nok"
unmount_fs
mount_fs -o "vm_kernel=$KERNEL"
ok "-o vm_kernel=DIR names the guest kernel (a missing one: ENOENT with the path); a relative DIR is refused"

# --- a kernel per manifest: kernel = "DIR", read as the manifest's writer
cp -r "$KERNEL" "$TMP/kcopy"
echo 6.1.0-bottlefs-copy >"$TMP/kcopy/version"
vmanifest kvm "kernel = \"$TMP/kcopy\""
grep -qx "kernel = \"$TMP/kcopy\"" "$MNT/kvm/plan.toml" || fail "plan lacks the kernel: $(cat "$MNT/kvm/plan.toml")"
echo start >"$MNT/kvm/ctl" || fail "start with a manifest's kernel: $(tail -2 "$MNT/errors")"
assert_contains status "$(cat "$MNT/kvm/status")" "kernel: 6.1.0-bottlefs-copy"
[ "$(output_of kvm 'uname -r')" = "$(cat "$KERNEL/version")" ] || fail "the VM runs $(output_of kvm 'uname -r')"
echo stop >"$MNT/kvm/ctl"
rmdir "$MNT/kvm"
for bad in relative/dir "$TMP/nokernel"; do
	if printf 'agent = "t"\nimage = "%s"\nkernel = "%s"\n' "$ROOTFS" "$bad" | cat >"$MNT/new/badk" 2>/dev/null; then
		fail "kernel = $bad accepted"
	fi
	[ ! -e "$MNT/badk" ] || fail "a refused kernel left a bottle"
done
assert_contains errors "$(tail -1 "$MNT/errors")" "kernel $TMP/nokernel: $TMP/nokernel/vmlinuz is not readable by uid 0"
if printf 'agent = "t"\nbackend = "oci"\nkernel = "%s"\n' "$KERNEL" | cat >"$MNT/new/ocik" 2>/dev/null; then
	fail "kernel accepted for an oci bottle"
fi
assert_contains errors "$(tail -1 "$MNT/errors")" "kernel is for microvm bottles"
# What the VM boots is read as the writer (here a record made to say
# uid 65534 wrote it): a root-only file in the image, or a kernel it
# cannot read, fails the start with EACCES.
mkdir -p "$TMP/kprivate" && cp -r "$KERNEL/." "$TMP/kprivate/" && chmod 700 "$TMP/kprivate"
cp -r "$ROOTFS" "$TMP/secretroot" && echo root-secret >"$TMP/secretroot/secret" && chmod 600 "$TMP/secretroot/secret"
printf 'agent = "t"\nimage = "%s"\n' "$TMP/secretroot" >"$MNT/new/theirs"
printf 'agent = "t"\nimage = "%s"\nkernel = "%s"\n' "$ROOTFS" "$TMP/kprivate" >"$MNT/new/theirk"
unmount_fs
for b in theirs theirk; do
	$PY - "$STATE/bottles/$b.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert "owner_uid" in r, r
r["owner_uid"] = 65534
json.dump(r, open(sys.argv[1], "w"))
PY
done
mount_fs -o "vm_kernel=$KERNEL"
assert_contains status "$(cat "$MNT/theirs/status")" "owner_uid: 65534"
for b in theirs theirk; do
	if echo start >"$MNT/$b/ctl" 2>"$TMP/err"; then fail "$b started with what its writer cannot read"; fi
	assert_contains errno "$(cat "$TMP/err")" "Permission denied"
	rmdir "$MNT/$b"
done
chmod 644 "$TMP/secretroot/secret"
printf 'agent = "t"\nimage = "%s"\n' "$TMP/secretroot" >"$MNT/new/theirs"
unmount_fs
$PY - "$STATE/bottles/theirs.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["owner_uid"] = 65534
json.dump(r, open(sys.argv[1], "w"))
PY
mount_fs -o "vm_kernel=$KERNEL"
echo start >"$MNT/theirs/ctl" || fail "a readable image of another writer: $(tail -2 "$MNT/errors")"
[ "$(output_of theirs 'cat /secret')" = root-secret ] || fail "the image's file is not in the VM"
echo stop >"$MNT/theirs/ctl"
rmdir "$MNT/theirs"
ok "kernel = DIR boots that kernel (status, plan); relative, missing, and non-microvm kernels are refused; the image and kernel are read as the manifest's writer (EACCES for what it cannot read)"

# --- an image whose etc leads out of it: its passwd is not read through
# the link (the bottle's own /etc/passwd begins with root's line alone)
mkdir -p "$TMP/outside" "$TMP/linkroot"
printf 'outsider:x:4242:4242::/:/bin/sh\n' >"$TMP/outside/passwd"
cp -a "$ROOTFS/bin" "$TMP/linkroot/"
ln -s "$TMP/outside" "$TMP/linkroot/etc"
printf 'agent = "t"\nimage = "%s"\n' "$TMP/linkroot" >"$MNT/new/linky"
echo start >"$MNT/linky/ctl" || fail "start linky: $(tail -2 "$MNT/errors")"
out=$(output_of linky 'cat /etc/passwd')
case $out in *outsider*) fail "a passwd outside the image was read: $out" ;; esac
assert_contains passwd "$out" "root:x:0:0"
echo stop >"$MNT/linky/ctl"
rmdir "$MNT/linky"
ok "an image's etc that links out of it is not followed for the bottle's passwd"

# A fifo for etc/passwd does not hang the start: refused with a reason.
mkdir -p "$TMP/fiforoot/etc"
cp -a "$ROOTFS/bin" "$TMP/fiforoot/"
mkfifo "$TMP/fiforoot/etc/passwd"
printf 'agent = "t"\nimage = "%s"\n' "$TMP/fiforoot" >"$MNT/new/fifo"
if timeout 60 sh -c "echo start >'$MNT/fifo/ctl'" 2>"$TMP/err"; then fail "an image with a fifo passwd started"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" "etc/passwd is not a regular file"
rmdir "$MNT/fifo"
# Guest root can neither raise its pids limit nor leave the cgroup.
printf 'agent = "t"\nimage = "%s"\nuser = "root"\n[limits]\npids = 50\n' "$ROOTFS" >"$MNT/new/cg"
echo start >"$MNT/cg/ctl" || fail "start cg: $(tail -2 "$MNT/errors")"
refused_in cg 'echo max >/sys/fs/cgroup/bottle/pids.max' || fail "guest root raised pids.max"
refused_in cg 'echo $$ >/sys/fs/cgroup/cgroup.procs' || fail "guest root left the bottle's cgroup"
refused_in cg 'mount -o remount,rw /sys/fs/cgroup' || fail "guest root remounted the cgroup tree"
[ "$(output_of cg 'cat /sys/fs/cgroup/bottle/pids.max')" = 50 ] || fail "pids.max changed"
echo stop >"$MNT/cg/ctl"
rmdir "$MNT/cg"
ok "a fifo passwd is refused (no hang); guest root cannot raise pids.max, leave its cgroup or remount it"

# --- a copy workspace: the VM's disk, kept across restarts, seen when stopped
mkdir -p "$TMP/ws"
echo original >"$TMP/ws/file"
vmanifest wsvm "$(printf '[workspace]\npath = "%s"\nmode = "copy"' "$TMP/ws")"
echo start >"$MNT/wsvm/ctl" || fail "start with a workspace: $(tail -2 "$MNT/errors")"
[ "$(output_of wsvm 'cat /work/file')" = original ] || fail "the copy is not at /work"
output_of wsvm 'echo made-in-vm >/work/new; ls -ln /work/new | cut -c1-40' >/dev/null
[ "$(output_of wsvm 'stat -c %u /work/new')" = 1000 ] || fail "the guest user's file is not its own"
ls "$MNT/wsvm/workspace/" >/dev/null 2>&1 && fail "the running VM's disk was shown"
echo stop >"$MNT/wsvm/ctl"
[ "$(cat "$MNT/wsvm/workspace/new")" = made-in-vm ] || fail "the stopped copy lacks the guest's file"
[ "$(cat "$TMP/ws/file")" = original ] && [ ! -e "$TMP/ws/new" ] || fail "the host directory was changed"
echo start >"$MNT/wsvm/ctl" || fail "restart with a workspace"
[ "$(output_of wsvm 'cat /work/new')" = made-in-vm ] || fail "the copy was not kept across a restart"
echo stop >"$MNT/wsvm/ctl"
rmdir "$MNT/wsvm"
ok "a copy workspace is the VM's disk at /work: the guest user's, kept across restarts, read-only in NAME/workspace/ when stopped, the host's directory untouched"

# --- image = "host": the host's /usr shared read-only (virtiofs; the
# host side refuses writes whatever the guest mounts), its /etc without
# secrets, read as the writer
if [ -x /usr/lib/qemu/virtiofsd ]; then
	printf 'agent = "t"\nimage = "host"\n' >"$MNT/new/hostvm"
	printf 'agent = "t"\nimage = "host"\nuser = "root"\n' >"$MNT/new/hostroot"
	for b in hostvm hostroot; do
		echo start >"$MNT/$b/ctl" || fail "start $b: $(tail -2 "$MNT/errors")"
	done
	[ "$(output_of hostvm 'python3 -c "print(6 * 7)"')" = 42 ] || fail "the host's python3 in the VM"
	[ "$(output_of hostvm 'uname -r')" = "$(cat "$KERNEL/version")" ] || fail "not the VM's kernel"
	[ "$(output_of hostvm 'md5sum </usr/bin/env')" = "$(md5sum </usr/bin/env)" ] || fail "/usr is not the host's"
	for who in hostvm hostroot; do
		refused_in $who 'touch /usr/bottlefs-probe' || fail "$who wrote into the host's /usr"
		refused_in $who 'cat /etc/shadow' || fail "$who read /etc/shadow"
		[ -z "$(output_of $who 'ls /etc/ssh 2>/dev/null | grep ssh_host_ || true')" ] || fail "$who sees ssh host keys"
	done
	refused_in hostroot 'mount -o remount,rw /usr' || fail "guest root remounted /usr"
	[ ! -e /usr/bottlefs-probe ] || fail "a guest's write reached the host's /usr"
	vpid=$(pgrep -f -- "virtiofsd --socket-path=$STATE/run/hostvm/vfs.sock" | head -1)
	[ -n "$vpid" ] || fail "no virtiofsd for hostvm"
	grep -Eq '^[0-9]+ [0-9]+ [0-9:]+ /usr / ro,nosuid,nodev' "/proc/$vpid/mountinfo" ||
		fail "virtiofsd's /usr is not read-only: $(head -2 "/proc/$vpid/mountinfo")"
	[ "$(grep -c . "/proc/$vpid/mountinfo")" = 1 ] || fail "virtiofsd sees more than /usr"
	for b in hostvm hostroot; do echo stop >"$MNT/$b/ctl"; rmdir "$MNT/$b"; done
	for _ in $(seq 50); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$vpid" 2>/dev/null || fail "virtiofsd outlived its VM"
	ok "image = host: the host's /usr (python3 runs) read-only from the VM and on the host side (virtiofsd sees a ro,nosuid,nodev /usr and nothing else), /etc without shadow or host keys; guest root cannot remount it; virtiofsd goes with the VM"
fi

# --- a local docker image as the root: exported by the engine, turned
# into the initramfs member by member (nothing extracted on the host),
# cached by the image's content id
if command -v dockerd >/dev/null; then
	docker_up
	DROOT=$TMP/droot
	cp -a "$ROOTFS" "$DROOT"
	echo docker-content >"$DROOT/from-docker"
	ln "$DROOT/from-docker" "$DROOT/hard-link"
	mkdir -p "$DROOT/$(printf 'd%.0s' $(seq 120))"
	echo deep >"$DROOT/$(printf 'd%.0s' $(seq 120))/$(printf 'f%.0s' $(seq 150))"
	tar -C "$DROOT" -cf "$TMP/droot.tar" .
	docker_api POST "/images/create?fromSrc=-&repo=bottlefs-test/vmimg&tag=latest" \
		-H "Content-Type: application/x-tar" --data-binary @"$TMP/droot.tar" >/dev/null ||
		fail "docker import"
	unmount_fs
	mount_fs -o "vm_kernel=$KERNEL"      # the daemon now knows DOCKER_HOST
	printf 'agent = "t"\nimage = "bottlefs-test/vmimg:latest"\n' >"$MNT/new/dimg"
	echo start >"$MNT/dimg/ctl" || fail "start from a docker image: $(tail -2 "$MNT/errors")"
	[ "$(output_of dimg 'cat /from-docker /hard-link')" = "$(printf 'docker-content\ndocker-content')" ] ||
		fail "the image's files: $(output_of dimg 'cat /from-docker /hard-link')"
	[ "$(output_of dimg "cat /$(printf 'd%.0s' $(seq 120))/$(printf 'f%.0s' $(seq 150))")" = deep ] ||
		fail "a long name of the image"
	[ "$(output_of dimg 'id -u')" = 1000 ] || fail "the guest user: $(output_of dimg 'id -u')"
	cached=$(ls "$STATE/vm-cache/"*.cpio | wc -l)
	printf 'agent = "t"\nimage = "bottlefs-test/vmimg:latest"\n' >"$MNT/new/dimg2"
	echo start >"$MNT/dimg2/ctl" || fail "a second start from the image"
	[ "$(ls "$STATE/vm-cache/"*.cpio | wc -l)" = "$cached" ] || fail "the same image was packed twice"
	for b in dimg dimg2; do echo stop >"$MNT/$b/ctl"; rmdir "$MNT/$b"; done
	[ -z "$(docker_api GET "/containers/json?all=1" | $PY -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))')" ] ||
		fail "the export left a container in the engine"
	printf 'agent = "t"\nimage = "bottlefs-test/nosuch"\n' >"$MNT/new/dnone"
	if echo start >"$MNT/dnone/ctl" 2>"$TMP/err"; then fail "a missing docker image started"; fi
	assert_contains errno "$(cat "$TMP/err")" "No such file or directory"
	assert_contains errors "$(tail -1 "$MNT/errors")" "No such image"
	rmdir "$MNT/dnone"
	for bad in 'a b' 'x;y' ''; do
		if printf 'agent = "t"\nimage = "%s"\n' "$bad" | cat >"$MNT/new/dbad" 2>/dev/null; then fail "image \"$bad\" accepted"; fi
	done
	assert_alive
	ok "image = a local docker image: exported into the VM's root (hard links, long names), its passwd given the guest user, packed once by content id, no container left; a missing image is ENOENT with the engine's reason"
fi
