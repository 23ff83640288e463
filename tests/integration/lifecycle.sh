#!/bin/bash
# A bottle's life on $BACKEND (oci: runc; docker: a dockerd of the test's
# own that maps user namespaces, so guest root may run; microvm: a QEMU
# VM with a kernel of its own): a host-tools
# image and a busybox rootfs, ctl, isolation probes from inside the guest,
# limits, exec sessions, log, re-attach after unmount, cleanup.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
BUSYBOX=$(command -v busybox) || { echo "SKIP: busybox-static not installed"; exit 77; }
[ "$BACKEND" != docker ] || docker_userns_engine

# A busybox root filesystem, made here (no registry needed).
ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for c in sh ls cat echo id sleep head wc grep mknod; do ln -s busybox "$ROOTFS/bin/$c"; done
echo 'root:x:0:0::/:/bin/sh' >"$ROOTFS/etc/passwd"

mount_fs
IMAGE=$(backend_image "$ROOTFS")
TOOLS_TOML=$(tools_image_toml)

# --- start, status, ctl, log
cat >"$MNT/new/box" <<TOML
agent = "test"
$TOOLS_TOML
command = ["sh", "-c", "echo hello-from-main; trap 'echo got-term; exit 0' TERM; while :; do sleep 0.1; done"]
stop_timeout = 5
[limits]
pids = 64
memory = "512M"
TOML
[ "$(cat "$MNT/box/ctl")" = planned ] || fail "ctl before start: $(cat "$MNT/box/ctl")"
echo start >"$MNT/box/ctl" || fail "start failed: $(tail -3 "$MNT/errors")"
[ "$(cat "$MNT/box/ctl")" = running ] || fail "ctl after start: $(cat "$MNT/box/ctl")"
status=$(cat "$MNT/box/status")
assert_contains status "$status" "state: running"
case $BACKEND in
oci)
	assert_contains status "$status" "runtime: runc"
	assert_contains status "$status" "container_id: bottlefs-box-"
	running="running: runc container bottlefs-box-" ;;
docker)
	assert_contains status "$status" "engine: docker "
	assert_contains status "$status" "container_name: bottlefs-box-"
	running="running: docker container bottlefs-box-" ;;
microvm)
	assert_contains status "$status" "accel: "
	assert_contains status "$status" "kernel: "
	running="running: qemu microvm (" ;;
esac
pid=$(sed -n 's/^pid: //p' <<<"$status")
[ -n "$pid" ] && kill -0 "$pid" || fail "no live pid in status: $status"
assert_contains log "$(cat "$MNT/box/log")" "$running"
ok "echo start > ctl launches the bottle; ctl and status say running with runtime, container id and pid"

if echo start >"$MNT/box/ctl" 2>/dev/null; then fail "second start accepted"; fi
if echo fly >"$MNT/box/ctl" 2>/dev/null; then fail "unknown ctl message accepted"; fi
assert_contains errors "$(tail -2 "$MNT/errors")" 'ctl: unknown control message "fly"'
if echo "kill NOSUCHSIG" >"$MNT/box/ctl" 2>/dev/null; then fail "bad signal accepted"; fi
ok "start while running (EBUSY), unknown messages and signals (EINVAL) are refused and reported"

# --- isolation, probed from inside
[ "$(output_of box 'id -u')" != 0 ] || fail "guest runs as root"
ls_root=$(output_of box 'ls /')
hidden="root run var"
# A VM's /run is a tmpfs of its own kernel's, nothing of the host's.
[ "$BACKEND" != microvm ] || hidden="root var"
for d in $hidden; do
	grep -qx "$d" <<<"$ls_root" && fail "/$d visible in the guest: $ls_root"
done
# /home holds the guest user's own home, nothing of the host's.
[ "$(output_of box 'ls /home')" = agent ] || fail "/home in the guest: $(output_of box 'ls /home')"
for f in /etc/shadow /etc/gshadow /etc/sudoers; do
	refused_in box "cat $f" || fail "$f readable in the guest"
done
# No resolver: no file, or an empty one (docker's own would name the
# host's nameservers).
[ -z "$(output_of box 'cat /etc/resolv.conf 2>/dev/null || true')" ] || fail "the guest has a resolv.conf"
[ -z "$(output_of box 'ls /etc/ssh 2>/dev/null | grep ssh_host_ || true')" ] || fail "ssh host keys visible"
# A VM's one interface is on its subnet (what it reaches is egress.sh's
# and microvm.sh's to prove); a container has none but lo.
interfaces=lo
[ "$BACKEND" != microvm ] || interfaces=$(printf 'eth0\nlo')
[ "$(output_of box 'ls /sys/class/net')" = "$interfaces" ] || fail "interfaces: $(output_of box 'ls /sys/class/net')"
# Processes with a command line (a VM's kernel threads have none).
procs=$(output_of box 'n=0; for p in /proc/[0-9]*; do [ -n "$(head -c 1 $p/cmdline 2>/dev/null | tr "\0" x)" ] && n=$((n+1)); done; echo $n')
[ "$procs" -lt 10 ] || fail "guest sees $procs processes"
[ "$(output_of box 'cat /proc/1/cmdline | tr "\0" " "')" != "" ] || fail "no pid 1"
if [ "$BACKEND" = microvm ]; then
	# PID 1 is the VM's agent; the main command is one of its children.
	assert_contains "processes" "$(output_of box 'ps -o args')" "sh -c echo hello-from-main"
else
	assert_contains "pid 1" "$(output_of box 'tr "\0" " " </proc/1/cmdline')" "sh -c echo hello-from-main"
fi
caps=$(output_of box 'grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/self/status | tr -s "\t" " "')
assert_contains caps "$caps" "CapEff: 0000000000000000"
assert_contains caps "$caps" "NoNewPrivs: 1"
refused_in box 'touch /usr/bottlefs-probe' || fail "/usr is writable"
output_of box 'echo x > /tmp/probe && cat /tmp/probe' >/dev/null
[ "$(output_of box 'hostname')" = box ] || fail "hostname: $(output_of box hostname)"
[ ! -e /tmp/probe ] || [ "$(cat /tmp/probe 2>/dev/null)" != x ] || fail "guest /tmp is the host's"
ok "guest: unprivileged, no caps, no_new_privs, lo only, own pids, no host /home /root /run /var, /etc without secrets, /usr read-only, private /tmp"

# --- limits: pids and memory
# Each background sleep that could be forked prints its number; the
# shell dies at the first fork the pids limit refuses.
# (The sleeps outlast the loop however slow forks are, a VM's emulated
# CPU included, and are ended after the count.)
out=$(run_in box '(i=0; while [ $i -lt 200 ]; do sleep 20 & i=$((i+1)); echo $i; done) 2>/dev/null | tail -n 1
kill $(ps -o pid,args | awk '"'"'$2 == "sleep" && $3 == "20" { print $1 }'"'"') 2>/dev/null; true')
n=$(sed -n '1p' <<<"$out")
[ "$n" -gt 10 ] && [ "$n" -lt 64 ] || fail "pids limit 64 not enforced: $n forks ($out)"
sleep 2.5
out=$(run_in box 'python3 -c "b = bytearray(1000 * 1024 * 1024); print(len(b))"')
# The shell reports its child's SIGKILL as 128+9. A VM's memory is its
# RAM: the kernel refuses an allocation beyond it outright.
if [ "$BACKEND" = microvm ]; then
	assert_contains "memory limit" "$out" "MemoryError"
else
	grep -qxE "killed 9|exited 137" <<<"$(tail -n 1 <<<"$out")" || fail "memory limit: $out"
fi
ok "[limits] pids stops a fork bomb at $n processes; an allocation beyond memory is killed"

# --- exec sessions
mkdir "$MNT/box/exec/s1" || fail "mkdir exec/s1"
[ "$(ls "$MNT/box/exec/s1" | tr '\n' ' ')" = "cmd ctl status stderr stdin stdout wait " ] ||
	fail "session files: $(ls "$MNT/box/exec/s1")"
[ "$(cat "$MNT/box/exec/s1/status")" = new ] || fail "new session status"
echo 'echo first; echo oops >&2; sleep 2; echo second; exit 7' >"$MNT/box/exec/s1/cmd"
[ "$(cat "$MNT/box/exec/s1/status")" = running ] || fail "status while running"
first=$(timeout 1.5 head -n 1 "$MNT/box/exec/s1/stdout") || fail "stdout did not stream the first line"
[ "$first" = first ] || fail "first line: $first"
[ "$(cat "$MNT/box/exec/s1/wait")" = "exited 7" ] || fail "wait: $(cat "$MNT/box/exec/s1/wait")"
[ "$(cat "$MNT/box/exec/s1/stdout")" = "$(printf 'first\nsecond')" ] || fail "stdout: $(cat "$MNT/box/exec/s1/stdout")"
[ "$(cat "$MNT/box/exec/s1/stderr")" = oops ] || fail "stderr"
[ "$(cat "$MNT/box/exec/s1/status")" = "exited 7" ] || fail "status after exit"
[ "$(cat "$MNT/box/exec/s1/cmd")" = 'echo first; echo oops >&2; sleep 2; echo second; exit 7' ] || fail "cmd"
if echo 'true' >"$MNT/box/exec/s1/cmd" 2>/dev/null; then fail "a session started twice"; fi
ok "exec/S: cmd starts, stdout streams before exit, stderr apart, wait and status give 'exited 7'"

mkdir "$MNT/box/exec/in"
echo 'tr a-z A-Z' >"$MNT/box/exec/in/cmd"
printf 'hello\nworld\n' >"$MNT/box/exec/in/stdin"
[ "$(cat "$MNT/box/exec/in/wait")" = "exited 0" ] || fail "stdin session did not end after close"
[ "$(cat "$MNT/box/exec/in/stdout")" = "$(printf 'HELLO\nWORLD')" ] || fail "stdin round trip"
ok "stdin feeds the command; closing it gives EOF"

mkdir "$MNT/box/exec/k"
echo 'sleep 100' >"$MNT/box/exec/k/cmd"
echo 'kill TERM' >"$MNT/box/exec/k/ctl" || fail "kill TERM write failed: $(tail -2 "$MNT/errors")"
[ "$(timeout 10 cat "$MNT/box/exec/k/wait")" = "killed 15" ] || fail "kill TERM: $(cat "$MNT/box/exec/k/status") $(run_in box "ps -eo pid,pgid,sid,stat,args")"
if echo 'explode' >"$MNT/box/exec/k/ctl" 2>/dev/null; then fail "bad session ctl accepted"; fi
check_quick_kills box
ok "20 commands killed right after their start all end with 'killed 15'"

# Ctrl-C on a reader blocked on a stream ends the read, not the daemon.
mkdir "$MNT/box/exec/long"
echo 'sleep 30' >"$MNT/box/exec/long/cmd"
start_s=$(date +%s)
timeout -s INT 1 cat "$MNT/box/exec/long/stdout" || true
timeout -s INT 1 cat "$MNT/box/exec/long/wait" || true
[ $(($(date +%s) - start_s)) -lt 8 ] || fail "interrupted reads did not return"
assert_alive
[ "$(cat "$MNT/box/exec/long/status")" = running ] || fail "interrupting a reader ended the command"
rmdir "$MNT/box/exec/long"
ok "SIGINT ends a read blocked on stdout or wait; the daemon and the command go on"

mkdir "$MNT/box/exec/gone"
echo 'sleep 100' >"$MNT/box/exec/gone/cmd"
rmdir "$MNT/box/exec/gone" || fail "rmdir of a running session"
[ ! -e "$MNT/box/exec/gone" ] || fail "session still listed"
[ -z "$(output_of box 'ps -o args 2>/dev/null | grep "^sleep 100" || true')" ] || fail "rmdir left the command running"
ok "S/ctl kill TERM gives 'killed 15'; rmdir kills a running session"

if mkdir "$MNT/box/exec/.hidden" 2>/dev/null; then fail "session name .hidden accepted"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" 'exec: bad session name ".hidden"'
if mkdir "$MNT/box/exec/k" 2>/dev/null; then fail "a second session k was made"; fi
if mkdir "$MNT/box/exec/run" 2>/dev/null; then fail "a session named run was made"; fi
if echo 'true' 2>/dev/null >"$MNT/box/exec/k/stdout"; then fail "stdout was writable"; fi
ok "bad session names (EINVAL, reported), an existing name and run (EEXIST) and writes to stdout are refused"

check_concurrent_sessions box
ok "12 concurrent sessions keep their outputs apart"

out=$(run_in box 'echo one-shot; exit 5')
[ "$out" = "$(printf 'one-shot\nexited 5')" ] || fail "one-shot: $out"
out=$(run_in box 'printf no-newline')
[ "$out" = "$(printf 'no-newline\nexited 0')" ] || fail "one-shot without newline: $out"
# Each byte exactly once, even when the reader's next read races the
# reply to its last (a reply from the output's storage, by splice).
for i in $(seq 100); do
	out=$(run_in box "echo line-$i")
	[ "$out" = "$(printf 'line-%s\nexited 0' "$i")" ] || fail "one-shot $i: $(od -c <<<"$out" | head -3)"
done
ok "one-shot exec/run gives output then the status line, each byte once (100 runs)"

# Output is kept in a 64 MiB ring per stream: a stream past it wraps, its
# reader gets every byte in order, and what was read and overwritten is
# refused (ENODATA), not served wrong.
# (The ring is the host's, the same for every backend: a VM, whose
# emulated CPU makes 90 MB take a minute, leaves it to the others.)
if [ "$BACKEND" != microvm ]; then
S=$MNT/box/exec/ring
mkdir "$S"
echo 'seq 1 12000000; echo err-end >&2' >"$S/cmd"
want=$(seq 1 12000000 | md5sum)
[ "$(md5sum <"$S/stdout")" = "$want" ] || fail "a stream past the ring lost or reordered bytes"
[ "$(stat -c %s "$S/stdout")" = "$(seq 1 12000000 | wc -c)" ] || fail "stdout size after wrapping: $(stat -c %s "$S/stdout")"
# Readers that size their reads by st_blksize ask for half a megabyte.
[ "$(stat -c %o "$S/stdout")" = 524288 ] || fail "stdout's st_blksize: $(stat -c %o "$S/stdout")"
[ "$(tail -c 9 "$S/stdout")" = 12000000 ] || fail "the newest output is not readable after wrapping"
[ "$(cat "$S/stderr")" = err-end ] || fail "stderr beside a wrapped stdout: $(cat "$S/stderr")"
out=$(head -c 10 "$S/stdout" 2>&1) && fail "output overwritten in the ring was served: $out"
case $out in *"No data available"*) ;; *) fail "a read of dropped output: $out" ;; esac
rmdir "$S"
ok "a 90 MB stream wraps its 64 MiB ring byte-exact; the overwritten start reads ENODATA"
fi

# --- log: main output and lifecycle, append-only, tail -f
timeout 60 tail -f "$MNT/box/log" >"$TMP/tail" &
tailpid=$!
sleep 1.2
echo restart >"$MNT/box/ctl" || fail "restart failed"
[ "$(cat "$MNT/box/ctl")" = running ] || fail "not running after restart"
newpid=$(sed -n 's/^pid: //p' "$MNT/box/status")
[ "$newpid" != "$pid" ] || fail "restart kept pid $pid"
sleep 2.5
kill "$tailpid" 2>/dev/null || true; wait "$tailpid" 2>/dev/null || true
assert_contains "tail -f" "$(cat "$TMP/tail")" "got-term"
assert_contains "tail -f" "$(cat "$TMP/tail")" "stopping: SIGTERM"
log=$(cat "$MNT/box/log")
[ "$(grep -c hello-from-main <<<"$log")" = 2 ] || fail "main output not in log twice: $log"
assert_contains log "$log" "stopped: exited 0"
ok "log holds the main command's output and lifecycle events; tail -f follows it; restart works"

# --- unmount keeps the bottle running; remount re-attaches
unmount_fs
kill -0 "$newpid" || fail "unmount killed the bottle"
mount_fs
[ "$(cat "$MNT/box/ctl")" = running ] || fail "not running after remount"
[ "$(sed -n 's/^pid: //p' "$MNT/box/status")" = "$newpid" ] || fail "pid changed on remount"
[ "$(output_of box 'echo still-here')" = still-here ] || fail "exec after remount"
assert_contains log "$(cat "$MNT/box/log")" "re-attached"
ok "unmount leaves the bottle running; the next mount re-attaches (status, exec)"

# --- stop, exec into a stopped bottle, rmdir
if rmdir "$MNT/box" 2>/dev/null; then fail "rmdir of a running bottle"; fi
echo stop >"$MNT/box/ctl" || fail "stop failed"
[ "$(cat "$MNT/box/ctl")" = stopped ] || fail "not stopped: $(cat "$MNT/box/ctl")"
assert_contains status "$(cat "$MNT/box/status")" "exit: exited 0"
! kill -0 "$newpid" 2>/dev/null || fail "guest still alive after stop"
mkdir "$MNT/box/exec/late"
if echo true >"$MNT/box/exec/late/cmd" 2>"$TMP/err"; then fail "exec into a stopped bottle"; fi
assert_contains "exec stopped" "$(cat "$TMP/err")" "No such process"
assert_contains errors "$(tail -1 "$MNT/errors")" "exec needs a running bottle"
ok "stop sends TERM (the trap exits 0); exec into a stopped bottle fails with ESRCH"

# A stop the moment a start returns: the guest's PID 1 may not take
# signals yet, and the kernel drops those PID 1 does not take; the TERM
# must still end the command (128+15), not wait out stop_timeout for KILL.
cat >"$MNT/new/quick" <<TOML
agent = "test"
$TOOLS_TOML
command = ["sleep", "1000"]
stop_timeout = 60
TOML
rounds=10 ended="exited 143"
[ "$BACKEND" != microvm ] || { rounds=3; ended="killed 15"; }
for i in $(seq $rounds); do
	echo start >"$MNT/quick/ctl" || fail "quick start $i: $(tail -2 "$MNT/errors")"
	t0=$(date +%s)
	echo stop >"$MNT/quick/ctl" || fail "quick stop $i: $(tail -2 "$MNT/errors")"
	[ $(($(date +%s) - t0)) -lt 20 ] ||
		fail "stop $i right after start took $(($(date +%s) - t0)) s (TERM lost): $(grep '^exit' "$MNT/quick/status"); log: $(tail -4 "$MNT/quick/log" | tr '\n' '|')"
	assert_contains "quick status $i" "$(cat "$MNT/quick/status")" "exit: $ended"
done
ok "a stop right after a start ends the command with TERM, $rounds times out of $rounds"

# --- image = "host": one shared copy of the host's /etc for the bottles
# first started while it stays the same, each bottle's own passwd and
# group over it, read-only for the guest user and guest root alike; a
# bottle whose whole copy predates the shared ones keeps it.
if [ "$BACKEND" = oci ]; then
	for n in e1 e2; do
		printf 'agent = "test"\ncommand = ["sleep", "1000"]\nstop_timeout = 2\n' >"$MNT/new/$n"
	done
	printf 'agent = "test"\nuser = "root"\ncommand = ["sleep", "1000"]\nstop_timeout = 2\n' >"$MNT/new/e3"
	mkdir -p "$STATE/run/e0/etc"
	cp /etc/passwd /etc/group "$STATE/run/e0/etc/"
	echo legacy >"$STATE/run/e0/etc/marker"
	printf 'agent = "test"\ncommand = ["sleep", "1000"]\nstop_timeout = 2\n' >"$MNT/new/e0"
	for n in e0 e1 e2 e3; do
		echo start >"$MNT/$n/ctl" || fail "start $n: $(tail -2 "$MNT/errors")"
	done
	copies=$(ls "$STATE/host-etc" 2>/dev/null || true)
	[ -n "$copies" ] && [ "$(wc -l <<<"$copies")" = 1 ] || fail "three bottles on one /etc made copies: '$copies'"
	for n in e1 e2 e3; do
		[ "$(readlink "$STATE/run/$n/host-etc")" = "../../host-etc/$copies" ] ||
			fail "$n links to $(readlink "$STATE/run/$n/host-etc")"
	done
	[ "$(output_of e1 'cat /etc/debian_version')" = "$(cat /etc/debian_version)" ] || fail "e1's /etc is not the host's"
	assert_contains "e1 passwd" "$(output_of e1 'cat /etc/passwd')" "$(head -1 /etc/passwd)"
	[ "$(output_of e1 'grep -c "^agent:x:" /etc/passwd')" = 1 ] || fail "e1's passwd names its user $(output_of e1 'grep -c ^agent: /etc/passwd') times"
	[ "$(output_of e2 'id -un')" = agent ] || fail "e2's user: $(output_of e2 'id -un')"
	[ "$(output_of e3 'grep -c "^agent:" /etc/passwd || true')" = 0 ] || fail "root's bottle got an agent user"
	for n in e1 e3; do
		refused_in $n 'echo x >>/etc/passwd' || fail "$n wrote its /etc/passwd"
		refused_in $n 'echo x >>/etc/hosts' || fail "$n wrote the shared /etc/hosts"
		refused_in $n 'touch /etc/new' || fail "$n made a file in /etc"
	done
	grep -q '^agent:' "$STATE/host-etc/$copies/passwd" && fail "the shared copy's passwd holds a bottle's user"
	[ ! -e "$STATE/host-etc/$copies/shadow" ] || fail "the shared copy holds /etc/shadow"
	[ "$(output_of e0 'cat /etc/marker')" = legacy ] || fail "e0 lost its own whole /etc"
	[ "$(output_of e0 'id -un')" = agent ] || fail "e0's user: $(output_of e0 'id -un')"
	[ ! -e "$STATE/run/e0/host-etc" ] || fail "e0 was given a shared copy too"
	for n in e0 e1 e2 e3; do
		echo stop >"$MNT/$n/ctl"
	done
	echo start >"$MNT/e1/ctl" || fail "restart e1"
	[ "$(output_of e1 'grep -c "^agent:x:" /etc/passwd')" = 1 ] || fail "a restart added the user again"
	uid=$(output_of e1 'id -u')
	echo stop >"$MNT/e1/ctl"
	# The shared copy removed by hand: the next start links to a new one
	# and keeps the bottle's own passwd (the same id for its files).
	rm -rf "$STATE/host-etc/$copies"
	echo start >"$MNT/e1/ctl" || fail "start e1 after its /etc copy was removed: $(tail -2 "$MNT/errors")"
	[ "$(output_of e1 'cat /etc/debian_version')" = "$(cat /etc/debian_version)" ] || fail "e1's /etc after relinking"
	[ "$(output_of e1 'id -u')" = "$uid" ] || fail "e1's user id changed: $(output_of e1 'id -u'), was $uid"
	copies=$(ls "$STATE/host-etc")
	echo stop >"$MNT/e1/ctl"
	for n in e0 e1 e2 e3; do
		rmdir "$MNT/$n" || fail "rmdir $n"
	done
	[ -d "$STATE/host-etc/$copies" ] || fail "rmdir of bottles removed the shared copy itself"
	ok "host image: one shared /etc copy for 3 bottles, each its own passwd, read-only to guest user and root; an older whole copy kept"
fi

# --- a busybox rootfs image, root guest with reduced capabilities, workspace modes
mkdir -p "$TMP/ws"
echo original >"$TMP/ws/file"
cat >"$MNT/new/bb" <<TOML
agent = "test"
image = "$IMAGE"
user = "root"
[workspace]
path = "$TMP/ws"
mode = "copy"
TOML
echo start >"$MNT/bb/ctl" || fail "busybox start: $(tail -2 "$MNT/errors")"
[ "$(output_of bb 'cat /work/file')" = original ] || fail "copy workspace missing"
output_of bb 'echo changed > /work/file' >/dev/null
[ "$(cat "$TMP/ws/file")" = original ] || fail "copy mode wrote through to the host"
caps=$(output_of bb 'grep CapEff /proc/self/status')
[ "$caps" != "CapEff:	000001ffffffffff" ] && [ "$caps" != "CapEff:	0000003fffffffff" ] || fail "root has all caps: $caps"
refused_in bb 'mknod /tmp/dev c 1 3' || fail "root guest could mknod"
echo stop >"$MNT/bb/ctl"
ok "image = rootfs dir; root guest lacks CAP_MKNOD and most caps; copy workspace is a snapshot"

bind_toml="agent = \"test\"
image = \"$IMAGE\"
user = \"root\"
[workspace]
path = \"$TMP/ws\"
mode = \"bind\""
if [ "$BACKEND" = microvm ]; then
	# A VM shares no host directory: bind is refused with the manifest.
	if cat <<<"$bind_toml" 2>"$TMP/err" >"$MNT/new/bind"; then fail "a bind workspace accepted on a VM"; fi
	assert_contains errno "$(cat "$TMP/err")" "Operation not supported"
	assert_contains errors "$(tail -1 "$MNT/errors")" "bind"
	[ ! -e "$MNT/bind" ] || fail "a refused manifest left a bottle"
	ok "a bind workspace is refused on a VM with ENOTSUP and a reason; no bottle is made"
else
	echo "$bind_toml" >"$MNT/new/bind"
	if echo start >"$MNT/bind/ctl" 2>/dev/null; then fail "bind start of a root-owned workspace accepted"; fi
	assert_contains errors "$(tail -1 "$MNT/errors")" "is owned by root"
	chown -R 4242:4343 "$TMP/ws"
	echo start >"$MNT/bind/ctl" || fail "bind start: $(tail -1 "$MNT/errors")"
	output_of bind 'echo from-guest > /work/new-file' >/dev/null
	[ "$(cat "$TMP/ws/new-file")" = from-guest ] || fail "bind mode did not write through"
	[ "$(stat -c %u:%g "$TMP/ws/new-file")" = 4242:4343 ] || fail "guest file owned by $(stat -c %u:%g "$TMP/ws/new-file") on the host"
	[ "$(output_of bind 'stat -c %u:%g /work/file')" = 0:0 ] || fail "owner's file is not the guest's: $(output_of bind 'stat -c %u:%g /work/file')"
	echo stop >"$MNT/bind/ctl"
	ok "bind workspace is the host directory, read-write, idmapped: the owner's files are the guest's and the guest's the owner's; a root-owned one is refused"
fi

# --- vanished while unmounted
echo start >"$MNT/bb/ctl"
vpid=$(sed -n 's/^pid: //p' "$MNT/bb/status")
vcid=$(sed -n 's/^container_id: //p' "$MNT/bb/status")
unmount_fs
if [ "$BACKEND" != docker ]; then
	shim=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["monitor_pid"])' "$STATE/bottles/bb.json")
	kill -9 "$shim" "$vpid"
	sleep 0.3
else
	docker_api DELETE "/containers/$vcid?force=1" >/dev/null || fail "could not remove bb's container"
fi
mount_fs
[ "$(cat "$MNT/bb/ctl")" = failed ] || fail "vanished bottle state: $(cat "$MNT/bb/ctl")"
assert_contains errors "$(cat "$MNT/errors")" "vanished while bottlefs was not mounted"
ok "a container that vanished while unmounted is reported in errors"

# --- a container its record does not know (a start the daemon did not
# finish) is still removed by rmdir, found by the bottle's identity
printf 'agent = "test"\nimage = "%s"\nuser = "root"\n' "$IMAGE" >"$MNT/new/orph"
echo start >"$MNT/orph/ctl"
unmount_fs
$PY - "$STATE/bottles/orph.json" "$BACKEND" <<'PY'
import json, os, signal, sys
r = json.load(open(sys.argv[1]))
if sys.argv[2] == "oci":   # the container outlives its shim (a VM's is its parent)
    os.kill(r["run"]["monitor_pid"], signal.SIGKILL)
r["state"] = "stopped"
r["run"] = {k: (0 if isinstance(v, int) else "") for k, v in r["run"].items()}
json.dump(r, open(sys.argv[1], "w"))
PY
[ "$(containers_of orph)" = 1 ] || fail "no orphan container to clean"
mount_fs
rmdir "$MNT/orph" || fail "rmdir orph"
[ "$(containers_of orph)" = 0 ] || fail "rmdir left the unrecorded container"
ok "rmdir removes a container its record does not know, by the bottle's identity"

# --- rmdir removes container and storage; nothing left in runc's state
made="box bb bind"
[ "$BACKEND" != microvm ] || made="box bb"
for b in $made; do
	rmdir "$MNT/$b" || fail "rmdir $b"
	[ ! -e "$STATE/run/$b" ] || fail "storage of $b left behind"
done
for b in $made; do
	[ "$(containers_of $b)" = 0 ] || fail "a container of $b is left"
done
ok "rmdir removes containers and storage; the runtime lists none of them"

# --- a start that cannot work fails with a reason and leaves nothing running
missing=$TMP/nonexistent
why="image $missing: No such file or directory"
if [ "$BACKEND" = docker ]; then
	missing=bottlefs-test/nonexistent
	why="No such image"
fi
printf 'agent = "a"\nimage = "%s"\n' "$missing" >"$MNT/new/broken"
if echo start >"$MNT/broken/ctl" 2>"$TMP/err"; then fail "start of a missing image succeeded"; fi
assert_contains errno "$(cat "$TMP/err")" "No such file or directory"
[ "$(cat "$MNT/broken/ctl")" = failed ] || fail "broken state: $(cat "$MNT/broken/ctl")"
assert_contains status "$(cat "$MNT/broken/status")" "reason: "
assert_contains status "$(cat "$MNT/broken/status")" "$why"
assert_contains errors "$(tail -1 "$MNT/errors")" "broken: ctl start: "
[ "$(containers_of broken)" = 0 ] || fail "a failed start left a container"
ok "a failing start returns an errno, says why in status and errors"

# --- bottles started at once all run (each takes a loop device for its
# home: concurrent starts are handed the same free one and must ask again)
# 16 at once; 4 VMs (each boots a kernel on this machine's 2 cores).
many=16
[ "$BACKEND" != microvm ] || many=4
for i in $(seq $many); do
	printf 'agent = "t"\n%s\ncommand = ["sleep", "1000"]\n' "$TOOLS_TOML" >"$MNT/new/many$i"
done
for i in $(seq $many); do
	echo start >"$MNT/many$i/ctl" 2>"$TMP/err-$i" &
done
wait
# Each record is written outside the registry lock, and is on disk (the
# newest of it) by the time its start or stop returns.
record_state() { sed -n 's/^ *"state": *"\([a-z]*\)".*/\1/p' "$STATE/bottles/$1.json"; }
for i in $(seq $many); do
	[ "$(cat "$MNT/many$i/ctl")" = running ] || fail "many$i: $(cat "$MNT/many$i/ctl") $(cat "$TMP/err-$i") $(tail -2 "$MNT/errors")"
	[ "$(record_state "many$i")" = running ] || fail "many$i's record after start: $(record_state "many$i")"
done
for i in $(seq $many); do echo stop >"$MNT/many$i/ctl" & done
wait
for i in $(seq $many); do
	[ "$(record_state "many$i")" = stopped ] || fail "many$i's record after stop: $(record_state "many$i")"
	rmdir "$MNT/many$i" || fail "rmdir many$i"
	[ ! -e "$STATE/bottles/many$i.json" ] || fail "rmdir left many$i's record"
done
ok "$many bottles started at once all run; each record says so, then stopped, then is gone"

assert_alive
unmount_fs
