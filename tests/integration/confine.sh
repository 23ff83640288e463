#!/bin/bash
# Confinement, attacked from inside real guests (as their default user and
# as guest root) and from another host user: user namespaces, the idmapped
# bind workspace, keyrings, the syscall filter, capabilities of exec
# sessions, reaping, and re-attach that refuses a forged guest. On docker
# the engine maps user namespaces (--userns-remap), so guest root runs.
# On microvm the guest has a kernel of its own: what namespaces, the
# idmapped bind workspace and the syscall filter do for a container is
# the VM boundary's there (microvm.sh attacks it); the rest holds as is.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
[ "$BACKEND" != docker ] || docker_userns_engine

# A python probe run in the guest: prints the errno name a call failed
# with, or "ok".
PROBE='
import ctypes, errno, os, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
    return "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()]
def sock(family, kind=socket.SOCK_STREAM, proto=0):
    try:
        socket.socket(family, kind, proto).close(); return "ok"
    except OSError as e:
        return errno.errorcode[e.errno]
what = sys.argv[1]
if what == "keyctl":        print(call(250, 0, -4, 0))          # KEYCTL_GET_KEYRING_ID @u
elif what == "io_uring":    print(call(425, 1, 0))
elif what == "userns":      print(call(272, 0x10000000))         # unshare(CLONE_NEWUSER)
elif what == "clone_ns":    print(call(56, 0x10000000 | 17, 0, 0, 0, 0))
elif what == "vsock":       print(sock(40))
elif what == "packet":      print(sock(17, socket.SOCK_RAW))
elif what == "netlink_audit": print(sock(16, socket.SOCK_RAW, 9))
elif what == "netlink_route": print(sock(16, socket.SOCK_RAW, 0))
elif what == "inet":        print(sock(socket.AF_INET))
elif what == "mount":       print(call(165, 0, 0, 0, 0, 0))
elif what == "bpf":         print(call(321, 0, 0, 0))
elif what == "setuid_chmod":
    open("/work/p", "w").close()
    try: os.chmod("/work/p", 0o4755); print("ok")
    except OSError as e: print(errno.errorcode[e.errno])
elif what == "setuid_create":
    try: os.close(os.open("/work/q", os.O_CREAT | os.O_WRONLY, 0o6755)); print("ok")
    except OSError as e: print(errno.errorcode[e.errno])
elif what == "search_key":
    # request_key("user", "bottlefs-secret", NULL, 0): the host key is not ours
    r = libc.syscall(ctypes.c_long(249), b"user", b"bottlefs-secret", None, ctypes.c_long(0))
    print("found" if r >= 0 else errno.errorcode[ctypes.get_errno()])
'

probe() {  # probe BOTTLE WHAT
	output_of "$1" "python3 /work/probe.py $2"
}

# The main command's /proc entry, as a guest shell expression: PID 1 in
# a container; in a VM, whose PID 1 is the agent, its `sleep infinity`.
if [ "$BACKEND" = microvm ]; then
	MAIN_PROC='/proc/$(ps -o pid,args | awk '"'"'$2 == "sleep" && $3 == "infinity" { print $1; exit }'"'"')'
	WS_MODE=copy
else
	MAIN_PROC=/proc/1
	WS_MODE=bind
fi
# How many processes the guest sees (a VM's kernel threads, without a
# command line, not counted).
GUEST_NPROCS='n=0; for p in /proc/[0-9]*; do [ -n "$(head -c 1 $p/cmdline 2>/dev/null | tr "\0" x)" ] && n=$((n+1)); done; echo $n'

mount_fs
# The host image on oci; elsewhere the host's python3 and busybox.
TOOLS_TOML=$(tools_image_toml)

mkdir -p "$TMP/ws"
echo owner-file >"$TMP/ws/file"
printf '%s\n' "$PROBE" >"$TMP/ws/probe.py"
chown -R 4242:4343 "$TMP/ws"
chmod 755 "$TMP/ws"

cat >"$MNT/new/user" <<TOML
agent = "test"
$TOOLS_TOML
[workspace]
path = "$TMP/ws"
mode = "$WS_MODE"
[limits]
pids = 64
TOML
cat >"$MNT/new/rooted" <<TOML
agent = "test"
$TOOLS_TOML
user = "root"
[workspace]
path = "$TMP/ws"
mode = "$WS_MODE"
TOML
echo start >"$MNT/user/ctl" || fail "start user: $(tail -1 "$MNT/errors")"
echo start >"$MNT/rooted/ctl" || fail "start rooted: $(tail -1 "$MNT/errors")"

if [ "$BACKEND" != microvm ]; then
# --- 1. guest ids are the bottle's own host range
status=$(cat "$MNT/user/status")
base_user=$(sed -n 's/^uid_map: 0 \([0-9]*\) 65536$/\1/p' <<<"$status")
base_root=$(sed -n 's/^uid_map: 0 \([0-9]*\) 65536$/\1/p' "$MNT/rooted/status")
[ -n "$base_user" ] && [ -n "$base_root" ] || fail "status shows no uid_map: $status"
if [ "$BACKEND" = docker ]; then
	# The engine maps user namespaces daemon-wide: one map for all.
	[ "$base_user" = "$base_root" ] || fail "two maps on one engine: $base_user $base_root"
else
	[ "$base_user" != "$base_root" ] || fail "two bottles share the id range $base_user"
fi
[ "$base_user" -ge 65536 ] && [ "$base_root" -ge 65536 ] || fail "id range below 65536"
! getent passwd "$base_root" >/dev/null || fail "guest root's host uid $base_root is a host account"
gpid=$(sed -n 's/^pid: //p' "$MNT/rooted/status")
[ "$(stat -c %u "/proc/$gpid")" = "$base_root" ] || fail "guest root is host uid $(stat -c %u "/proc/$gpid"), not $base_root"
[ "$(output_of rooted 'id -u')" = 0 ] || fail "rooted guest is not root inside"
upid=$(sed -n 's/^pid: //p' "$MNT/user/status")
guid=$(output_of user 'id -u')
[ "$(stat -c %u "/proc/$upid")" = $((base_user + guid)) ] || fail "guest user is host uid $(stat -c %u "/proc/$upid")"
assert_contains status "$status" "guest_user: $guid (host $((base_user + guid)))"
assert_contains status "$status" "workspace_idmap: host 4242:4343 is guest $guid:$guid"
ok "each bottle has its own host id range (docker: the engine's) (guest root = host uid $base_root, no host account); status shows the map"

# A host user cannot signal a guest, a guest cannot signal the host.
if setpriv --reuid=65534 --regid=65534 --clear-groups kill -0 "$gpid" 2>/dev/null; then
	fail "host user nobody may signal guest root"
fi
sleep 300 >/dev/null 2>&1 &
hostpid=$!
track_bg
refused_in rooted "kill -0 $hostpid" || fail "guest root signalled a host process"
kill "$hostpid"
ok "another host user cannot signal guest root; guest root cannot signal the host"

# --- 2. the bind workspace: the guest user is the owner, never root
output_of rooted 'echo from-root > /work/by-root; mkdir /work/dir-by-root' >/dev/null
output_of user 'echo from-user > /work/by-user' >/dev/null
for f in by-root dir-by-root by-user; do
	[ "$(stat -c %u:%g "$TMP/ws/$f")" = 4242:4343 ] || fail "$f is $(stat -c %u:%g "$TMP/ws/$f") on the host"
done
[ "$(output_of user 'stat -c %u /work/file')" = "$guid" ] || fail "the owner's file is not the guest user's"
for who in rooted user; do
	[ "$(probe $who setuid_chmod)" = EPERM ] || fail "$who: chmod u+s allowed"
	[ "$(probe $who setuid_create)" = EPERM ] || fail "$who: creating a setuid file allowed"
done
refused_in rooted 'cp /bin/busybox /work/sh 2>/dev/null || cp /bin/sh /work/sh; chmod 4755 /work/sh' || fail "guest root made a setuid copy of a shell"
found=$(find "$TMP/ws" -perm /6000 | head -1)
[ -z "$found" ] || fail "setuid or setgid file planted on the host: $found"
[ -z "$(find "$TMP/ws" ! -uid 4242)" ] || fail "files not owned by the workspace owner: $(find "$TMP/ws" ! -uid 4242 | head -3)"
if [ -e "$TMP/ws/sh" ]; then
	# Run by another host user: not root, and not even the owner.
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/ws/sh" -c 'id -u' 2>&1 || true)
	[ "$out" = 65534 ] || [ -z "$out" ] || fail "a guest's file ran as $out for host user 65534"
fi
ok "bind workspace: files of guest root and guest user are the owner's (4242) on the host; no setuid/setgid bit can be planted"
fi

# --- 3. keyrings: the guest reaches no host user's keys
python3 - <<'PY' || fail "cannot add a key to root's user keyring"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
r = libc.syscall(ctypes.c_long(248), b"user", b"bottlefs-secret", b"secret", ctypes.c_long(6), ctypes.c_long(-4))
assert r >= 0, ctypes.get_errno()
PY
for who in rooted user; do
	# A VM's keyrings are its own kernel's.
	[ "$BACKEND" = microvm ] || [ "$(probe $who keyctl)" = EPERM ] || fail "$who: keyctl allowed"
done
cat >"$MNT/new/keys" <<TOML
agent = "test"
$TOOLS_TOML
user = "root"
[workspace]
path = "$TMP/ws"
mode = "$WS_MODE"
[seccomp]
allow = ["keyctl", "add_key", "request_key"]
TOML
echo start >"$MNT/keys/ctl" || fail "start keys"
res=$(probe keys search_key)
[ "$res" != found ] || fail "a guest found host root's key"
echo stop >"$MNT/keys/ctl"
ok "keyctl is refused (EPERM); even with keyctl allowed, guest root cannot find host root's key ($res)"

# --- 4. the syscall filter, for guest root and guest user (a VM's
# kernel is its own: what it allows there reaches no host kernel)
for who in rooted user; do
	[ "$BACKEND" != microvm ] || break
	for call in io_uring userns clone_ns vsock packet netlink_audit mount bpf; do
		res=$(probe $who $call)
		[ "$res" = EPERM ] || fail "$who: $call gave $res, not EPERM"
	done
	for call in inet netlink_route; do
		[ "$(probe $who $call)" = ok ] || fail "$who: $call refused"
	done
	refused_in $who 'unshare -U true' || fail "$who: unshare -U worked"
	[ "$(output_of $who 'grep ^Seccomp: /proc/self/status')" = "Seccomp:	2" ] || fail "$who: exec session unfiltered"
	[ "$(output_of $who 'grep ^Seccomp: /proc/1/status')" = "Seccomp:	2" ] || fail "$who: init unfiltered"
done
[ "$BACKEND" = microvm ] ||
	ok "io_uring, new user namespaces, AF_VSOCK, AF_PACKET, netlink other than route, mount, bpf: EPERM for guest root and user; inet and netlink-route work"

# --- 5. exec sessions have exactly init's capabilities
for who in rooted user; do
	for set in CapBnd CapEff CapPrm CapInh CapAmb; do
		mine=$(output_of $who "grep ^$set: /proc/self/status")
		init=$(output_of $who "grep ^$set: $MAIN_PROC/status")
		[ "$mine" = "$init" ] || fail "$who: exec $mine, init $init"
	done
done
[ "$(output_of user 'grep ^CapBnd: /proc/self/status')" = "CapBnd:	0000000000000000" ] || fail "user guest keeps a bounding set"
root_bnd=$(output_of rooted 'grep ^CapBnd: /proc/self/status')
[ "$root_bnd" = "CapBnd:	00000000000005fb" ] || fail "guest root bounding set: $root_bnd"
ok "exec sessions: the same capability sets as the main command (user: none; root: the documented set 0x5fb)"

# --- 6. PID 1 reaps: orphans never pile up, pids are not exhausted
output_of user 'i=0; while [ $i -lt 200 ]; do ( sleep 0 & ) || exit 1; i=$((i+1)); done' >/dev/null ||
	fail "orphans exhausted the pids limit"
sleep 0.5
zombies=$(output_of user 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l')
[ "$zombies" = 0 ] || fail "$zombies zombies left in the guest"
# A bomb that ends: 2^10 forks against pids = 64; its orphans die with it.
run_in user 'b() { [ $1 -gt 0 ] && { b $(($1 - 1)) & b $(($1 - 1)) & }; }; b 10; sleep 1' >/dev/null 2>&1 || true
for _ in $(seq 50); do
	[ "$(output_of user "$GUEST_NPROCS" 2>/dev/null || echo 99)" -lt 6 ] && break
	sleep 0.2
done
zombies=$(output_of user 'grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l')
[ "$zombies" = 0 ] || fail "$zombies zombies after a fork bomb"
output_of user 'i=0; while [ $i -lt 40 ]; do sleep 0 & i=$((i+1)); done; wait' >/dev/null
ok "200 orphans and a fork bomb leave no zombies; the pids limit is free again"

# --- 6b. a guest at its pids limit: an exec fails with EAGAIN and says
# why, and works again once the guest frees some; the daemon's spawner in
# the guest's cgroups (counted there) is not the guest's to see. (A VM's
# agent starts an exec outside the guest's limit: the command joins it.)
if [ "$BACKEND" != microvm ]; then
printf 'agent = "test"\n%s\ncommand = ["sleep", "infinity"]\n[limits]\npids = 12\n' "$TOOLS_TOML" >"$MNT/new/full"
echo start >"$MNT/full/ctl" || fail "start full"
[ -z "$(output_of full 'ls /proc | grep "^[0-9]" | while read p; do tr "\0" " " </proc/$p/cmdline; echo; done 2>/dev/null | grep "stat[e]=" || true')" ] ||
	fail "the guest sees a bottlefs process"
mkdir "$MNT/full/exec/fill"
printf '%s' 'exec python3 -c "exec(\"import os,time\\nwhile 1:\\n try:\\n  os.fork() or (time.sleep(1000), os._exit(0))\\n except OSError:\\n  time.sleep(1000)\")" >/dev/null 2>&1' >"$MNT/full/exec/fill/cmd"
sleep 2   # the filler forks until the limit refuses
if out=$({ printf 'echo should-not-run' >&3; cat <&3; } 3<>"$MNT/full/exec/run" 2>"$TMP/err"); then
	fail "an exec ran in a guest at its pids limit: $out"
fi
assert_contains errno "$(cat "$TMP/err")" "Resource temporarily unavailable"
assert_contains errors "$(tail -1 "$MNT/errors")" "its pids limit is reached"
echo 'kill KILL' >"$MNT/full/exec/fill/ctl"
echo stop >"$MNT/full/ctl"
echo start >"$MNT/full/ctl" || fail "restart full"
[ "$(output_of full 'echo back')" = back ] || fail "exec after the limit was freed"
echo stop >"$MNT/full/ctl"
rmdir "$MNT/full"
ok "at its pids limit a guest's exec fails with EAGAIN and a reason in errors; no bottlefs process is visible in the guest"
fi

# --- 7. a clean stop: init forwards TERM to `sleep infinity`
echo stop >"$MNT/user/ctl"
# Through a container's init the end reads as its exit code; a VM's agent
# reports the signal itself.
ended="exited 143" logged="exited 143"
[ "$BACKEND" != microvm ] || { ended="killed 15"; logged="killed by signal 15"; }
assert_contains status "$(cat "$MNT/user/status")" "exit: $ended"
assert_contains log "$(tail -3 "$MNT/user/log")" "stopped: $logged"
ok "stop of sleep infinity: TERM reaches it through init ($ended), no SIGKILL"

# --- 8. restart keeps /tmp and a none-mode /work writable for the guest user
printf 'agent = "test"\n%s\n' "$TOOLS_TOML" >"$MNT/new/again"
for round in 1 2 3; do
	echo restart >"$MNT/again/ctl" 2>/dev/null || echo start >"$MNT/again/ctl" || fail "start $round"
	[ "$(output_of again 'stat -c %a /tmp')" = 1777 ] || fail "round $round: /tmp is $(output_of again 'stat -c %a /tmp')"
	output_of again 'echo x > /tmp/f && echo y > /work/f' >/dev/null
done
# Defaults bound a bottle whose manifest sets no limits.
if [ "$BACKEND" = microvm ]; then
	pids_max=$(output_of again 'cat /sys/fs/cgroup/bottle/pids.max')
else
	pids_max=$(pids_max_of "$(sed -n 's/^pid: //p' "$MNT/again/status")")
fi
[ "$pids_max" = 1024 ] || fail "default pids limit not applied: $pids_max"
grep -qx 'pids = 1024' "$MNT/again/plan.toml" || fail "plan does not show the default pids"
grep -q '^memory = [1-9]' "$MNT/again/plan.toml" || fail "plan does not show a default memory limit"
tmp_kb=$(output_of again "df -k /tmp | awk 'NR==2 {print \$2}'")
[ "$tmp_kb" -le $((1024 * 1024)) ] || fail "/tmp is not capped: $tmp_kb KiB"
echo stop >"$MNT/again/ctl"
ok "three starts: /tmp is 1777 and /tmp and /work are writable by the guest user each time; default pids 1024, memory and a capped /tmp"

printf 'agent = "test"\n%s\n[limits]\ntmp = "8M"\n' "$TOOLS_TOML" >"$MNT/new/smalltmp"
echo start >"$MNT/smalltmp/ctl" || fail "start smalltmp"
refused_in smalltmp 'head -c 9000000 /dev/zero > /tmp/big' || fail "9 MB fit into an 8M /tmp"
echo stop >"$MNT/smalltmp/ctl"
ok "[limits] tmp caps /tmp (9 MB do not fit into 8M)"

# --- 9. a copy workspace swapped for a symlink is not followed; a guest's
# deep tree does not make the bottle unremovable
mkdir -p "$TMP/swap" "$TMP/rootonly"
chmod 700 "$TMP/rootonly"
echo root-secret >"$TMP/rootonly/secret"
chown 4242:4343 "$TMP/swap"
cat >"$MNT/new/swapped" <<TOML
agent = "test"
$TOOLS_TOML
[workspace]
path = "$TMP/swap"
mode = "copy"
TOML
rmdir "$TMP/swap"
ln -s "$TMP/rootonly" "$TMP/swap"
if echo start >"$MNT/swapped/ctl" 2>/dev/null; then fail "start followed a swapped-in symlink"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" "may hold no symlink"
[ ! -e "$STATE/run/swapped/work/secret" ] || fail "the root-only file was copied"
rmdir "$MNT/swapped" || fail "rmdir of the refused bottle"
rm "$TMP/swap"
mkdir -p "$TMP/deep"
chown 4242:4343 "$TMP/deep"
cat >"$MNT/new/deep" <<TOML
agent = "test"
$TOOLS_TOML
[workspace]
path = "$TMP/deep"
mode = "copy"
TOML
echo start >"$MNT/deep/ctl" || fail "start deep: $(tail -1 "$MNT/errors")"
output_of deep 'cd /work && i=0; while [ $i -lt 120 ]; do mkdir d-directory-name-of-some-length && cd d-directory-name-of-some-length && touch f || exit 1; i=$((i+1)); done' >/dev/null
echo stop >"$MNT/deep/ctl"
rmdir "$MNT/deep" || fail "rmdir of a bottle with a deep tree: $(tail -1 "$MNT/errors")"
[ ! -e "$STATE/run/deep" ] || fail "storage of the deep bottle left behind"
ok "a copy workspace replaced by a symlink is refused (ELOOP, said in errors); a 120-level tree of the guest is removed by rmdir"

# --- a home of the guest's own, outside the workspace, kept across restarts
cat >"$MNT/new/homey" <<TOML
agent = "test"
$TOOLS_TOML
[env]
TERM = "dumb"
[workspace]
path = "$TMP/ws"
mode = "$WS_MODE"
TOML
echo start >"$MNT/homey/ctl" || fail "start homey: $(tail -1 "$MNT/errors")"
env_out=$(output_of homey 'echo "$HOME $USER $LOGNAME $SHELL $TERM $LANG"')
[ "$env_out" = "/home/agent agent agent /bin/sh dumb C.UTF-8" ] || fail "guest environment: $env_out"
[ "$(output_of homey 'stat -c %U:%a "$HOME"')" = agent:700 ] || fail "home: $(output_of homey 'stat -c %U:%a "$HOME"')"
output_of homey 'cd && echo state > .agent.json && mkdir -p .cache && echo c > .cache/x' >/dev/null
[ ! -e "$TMP/ws/.agent.json" ] || fail "the agent's state landed in the workspace"
echo restart >"$MNT/homey/ctl" || fail "restart homey"
[ "$(output_of homey 'cat ~/.agent.json ~/.cache/x')" = "$(printf 'state\nc')" ] || fail "home lost at restart"
[ "$BACKEND" != oci ] || grep -q '^agent:x:[0-9]*:[0-9]*:bottlefs guest:/home/agent:/bin/sh$' "$STATE/run/homey/etc-user/passwd" ||
	fail "passwd home"
echo stop >"$MNT/homey/ctl"
rmdir "$MNT/homey"
[ ! -e "$STATE/run/homey" ] || fail "home not removed with the bottle"
ok "HOME=/home/agent is the guest's own (0700), outside the workspace, kept across restarts, gone with rmdir; USER, LOGNAME, SHELL, TERM, LANG set and overridable"

# --- tool mounts: read-only by default, on PATH through path_prepend
mkdir -p "$TMP/tools/bin"
printf '#!/bin/sh\necho tool-ran\n' >"$TMP/tools/bin/mytool"
chmod 755 "$TMP/tools" "$TMP/tools/bin" "$TMP/tools/bin/mytool"
tooled="agent = \"test\"
$TOOLS_TOML
path_prepend = [\"/opt/tools/bin\"]
[[mount]]
source = \"$TMP/tools\"
target = \"/opt/tools\""
if [ "$BACKEND" = microvm ]; then
	# A VM shares no host directory.
	if cat <<<"$tooled" >"$MNT/new/tooled" 2>"$TMP/err"; then fail "[[mount]] accepted on a VM"; fi
	assert_contains errno "$(cat "$TMP/err")" "Operation not supported"
	[ ! -e "$MNT/tooled" ] || fail "a refused [[mount]] left a bottle"
else
cat <<<"$tooled" >"$MNT/new/tooled"
grep -q '^\[\[mount\]\]' "$MNT/tooled/plan.toml" || fail "plan lacks [[mount]]"
echo start >"$MNT/tooled/ctl" || fail "start tooled: $(tail -1 "$MNT/errors")"
[ "$(output_of tooled 'mytool')" = tool-ran ] || fail "the mounted tool does not run from PATH"
refused_in tooled 'touch /opt/tools/x' || fail "a ro tool mount is writable"
echo stop >"$MNT/tooled/ctl"
fi
for bad in '/' '/home' '/proc/self' '/var/run/docker.sock' ; do
	printf 'agent = "test"\n[[mount]]\nsource = "%s"\ntarget = "/opt/x"\n' "$bad" >"$TMP/input"
	if cp "$TMP/input" "$MNT/new/badmount" 2>/dev/null; then fail "[[mount]] source $bad accepted"; fi
	[ ! -e "$MNT/badmount" ] || fail "half bottle after [[mount]] source $bad"
	assert_contains errors "$(tail -1 "$MNT/errors")" "[[mount]] source $bad is refused"
done
for bad in '/work' '/tmp/x' '/proc' '/home/agent' '/opt/../etc'; do
	printf 'agent = "test"\n[[mount]]\nsource = "%s"\ntarget = "%s"\n' "$TMP/tools" "$bad" >"$TMP/input"
	if cp "$TMP/input" "$MNT/new/badmount" 2>/dev/null; then fail "[[mount]] target $bad accepted"; fi
done
if [ "$BACKEND" != microvm ]; then
printf 'agent = "test"\n%s\n[[mount]]\nsource = "%s"\ntarget = "/opt/state"\n' "$TOOLS_TOML" "$STATE" >"$MNT/new/statemount"
if echo start >"$MNT/statemount/ctl" 2>/dev/null; then fail "the state directory was mounted into a guest"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" "state directory"
fi
ok "[[mount]] (refused on a VM) brings a host tool in read-only (run through path_prepend); /, /home, /proc, a docker socket, the state dir and bottlefs's own targets are refused"

# --- a copy workspace is a filesystem of [limits] disk: it cannot fill the host
mkdir -p "$TMP/small"
echo seed >"$TMP/small/seed"
chown -R 4242:4343 "$TMP/small"
cat >"$MNT/new/smalldisk" <<TOML
agent = "test"
$TOOLS_TOML
[workspace]
path = "$TMP/small"
mode = "copy"
[limits]
disk = "32M"
TOML
grep -qx "disk = $((32 * 1024 * 1024))" "$MNT/smalldisk/plan.toml" || fail "plan lacks disk"
echo start >"$MNT/smalldisk/ctl" || fail "start smalldisk: $(tail -1 "$MNT/errors")"
[ "$(output_of smalldisk 'cat /work/seed')" = seed ] || fail "copy missing in the image"
refused_in smalldisk 'head -c 40000000 /dev/zero > /work/big' || fail "40 MB fit into a 32M workspace"
output_of smalldisk 'rm /work/big; echo kept > /work/note' >/dev/null
[ "$(du -k "$STATE/run/smalldisk/work.img" | cut -f1)" -le $((33 * 1024)) ] || fail "work.img uses more than its size"
echo restart >"$MNT/smalldisk/ctl" || fail "restart smalldisk"
[ "$(output_of smalldisk 'cat /work/note')" = kept ] || fail "the workspace did not survive a restart"
echo stop >"$MNT/smalldisk/ctl"
! losetup -a 2>/dev/null | grep -q "$STATE/run/smalldisk/work.img" || fail "a loop device outlived the bottle's run"
rmdir "$MNT/smalldisk" || fail "rmdir smalldisk"
ok "a copy workspace lives in an image of [limits] disk (40 MB do not fit into 32M), survives restarts, frees its loop device"

# --- exec output nobody reads stops the command at the spool cap
printf 'agent = "test"\n%s\n' "$TOOLS_TOML" >"$MNT/new/flood"
echo start >"$MNT/flood/ctl" || fail "start flood"
S=$MNT/flood/exec/s
mkdir "$S"
echo 'head -c 100000000 /dev/zero; echo done >&2' >"$S/cmd"
sleep 3
size=$(stat -c %s "$S/stdout")
[ "$size" -le $((65 * 1024 * 1024 + 1024 * 1024)) ] || fail "unread output spooled past the cap: $size"
[ "$(cat "$S/status")" = running ] || fail "the flooding command did not wait: $(cat "$S/status")"
[ "$(wc -c <"$S/stdout")" = 100000000 ] || fail "reading did not get all the output"
[ "$(cat "$S/wait")" = "exited 0" ] || fail "flood did not end"
rmdir "$S"
echo stop >"$MNT/flood/ctl"
ok "exec output nobody reads is held at 64 MiB (the command waits); a reader gets all 100 MB"

# --- 10. the log is the daemon's record: the guest writes only into a pipe
{ printf 'agent = "test"\n%s\n' "$TOOLS_TOML"; cat <<'TOML'; } >"$MNT/new/chatty"
command = ["sh", "-c", "printf '2026-01-01T00:00:00Z bottlefs: stopped: exited 0\\n\\033]0;owned\\007 esc\\n'; head -c 1500000 /dev/zero | tr '\\0' x | fold -w 100; echo; echo chatty-done; sleep infinity"]
TOML
echo start >"$MNT/chatty/ctl" || fail "start chatty"
for _ in $(seq 100); do grep -q chatty-done "$MNT/chatty/log" 2>/dev/null && break; sleep 0.1; done
grep -q "guest: chatty-done" "$MNT/chatty/log" || fail "the guest's last line is not in the log"
for fd in 1 2; do
	case "$(output_of chatty "readlink $MAIN_PROC/fd/$fd")" in
	pipe:*) ;;
	*) fail "the main command's fd $fd is $(output_of chatty "readlink $MAIN_PROC/fd/$fd"), not a pipe" ;;
	esac
done
[ "$(stat -c %s "$STATE/run/chatty/log")" -le $((1024 * 1024 + 4096)) ] || fail "log grew past its cap: $(stat -c %s "$STATE/run/chatty/log")"
[ -s "$STATE/run/chatty/log.1" ] || fail "no rotated log.1"
[ "$(stat -c %U "$STATE/run/chatty/log")" = root ] || fail "log not root's"
all=$(cat "$STATE/run/chatty/log.1" "$STATE/run/chatty/log")
! grep -q '^2026-01-01T00:00:00Z bottlefs:' <<<"$all" || fail "a forged bottlefs line made it into the log"
grep -q 'guest: 2026-01-01T00:00:00Z bottlefs: stopped' <<<"$all" || fail "the guest's line is not marked as the guest's"
! grep -q $'\033' <<<"$all" || fail "a terminal escape reached the log"
echo stop >"$MNT/chatty/ctl"
ok "the guest's output reaches log through a pipe, marked guest:, escapes defused, capped at 1 MiB with log.1; PID 1 holds no host file"

# --- 11. re-attach refuses a process that merely took the recorded pids
# (a VM's: microvm.sh)
if [ "$BACKEND" != microvm ]; then
echo stop >"$MNT/rooted/ctl"
echo start >"$MNT/rooted/ctl" || fail "restart rooted"
cid=$(sed -n 's/^container_id: //p' "$MNT/rooted/status")
if [ "$BACKEND" = oci ]; then
	unmount_fs
	runc --root "$STATE/runtime" kill "$cid" KILL 2>/dev/null || true
	for _ in $(seq 50); do
		runc --root "$STATE/runtime" state "$cid" 2>/dev/null | grep -q '"status": "stopped"' && break
		sleep 0.1
	done
	pkill -9 -f -- "bottlefs-oci-shim .*$cid" || true
	rm -f "$STATE/run/rooted/exit"
	# An unprivileged host user's look-alike of the shim and of the guest.
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		bash -c 'exec -a bottlefs-oci-shim bash -c "sleep 300; :" x '"$cid"' ' >/dev/null 2>&1 &
	forged_shim=$!
	track_bg
	setpriv --reuid=65534 --regid=65534 --clear-groups sleep 300 >/dev/null 2>&1 &
	forged_guest=$!
	track_bg
	sleep 0.3
	$PY - "$STATE/bottles/rooted.json" "$forged_shim" "$forged_guest" <<-'PY'
	import json, sys
	path, shim, guest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	rec = json.load(open(path))
	rec["run"]["monitor_pid"] = shim
	rec["run"]["pid"] = guest
	json.dump(rec, open(path, "w"))
	PY
	mount_fs
	[ "$(cat "$MNT/rooted/ctl")" != running ] || fail "re-attached to a forged shim"
	assert_contains errors "$(cat "$MNT/errors")" "is not the shim bottlefs started"
	assert_contains errors "$(cat "$MNT/errors")" "rooted: runc container $cid vanished"
	out=$({ printf 'id' >&3; cat <&3; } 3<>"$MNT/rooted/exec/run" 2>&1 || true)
	[ "$out" != "uid=0(root) gid=0(root)" ] || fail "exec ran in the forged process"
	kill -0 "$forged_shim" "$forged_guest" || fail "the forged processes were touched"
	ok "a look-alike shim and guest of another user at the recorded pids are not re-attached; nothing is exec'd into them"
else
	# docker: the record is made to name another container of the engine
	# (labelled for another bottle) and its process, the real one gone.
	unmount_fs
	docker_api DELETE "/containers/$cid?force=1" >/dev/null || fail "could not remove rooted's container"
	forged=$(docker_api POST "/containers/create?name=forged" -H "Content-Type: application/json" \
		-d '{"Image":"bottlefs-test/tools","Hostname":"forged","Cmd":["sleep","300"],"Labels":{"org.bottlefs.identity":"forged-0000"}}' |
		$PY -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
	docker_api POST "/containers/$forged/start" >/dev/null || fail "could not start the forged container"
	forged_pid=$(docker_api GET "/containers/$forged/json" | $PY -c 'import json,sys; print(json.load(sys.stdin)["State"]["Pid"])')
	$PY - "$STATE/bottles/rooted.json" "$forged" "$forged_pid" <<'PY'
import json, sys
path, cid, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
rec = json.load(open(path))
rec["run"]["container_id"] = cid
rec["run"]["pid"] = pid
json.dump(rec, open(path, "w"))
PY
	mount_fs
	[ "$(cat "$MNT/rooted/ctl")" != running ] || fail "re-attached to a forged container"
	assert_contains errors "$(cat "$MNT/errors")" "rooted: docker container bottlefs-rooted-"
	out=$({ printf 'hostname' >&3; cat <&3; } 3<>"$MNT/rooted/exec/run" 2>&1 || true)
	[ "$out" != forged ] || fail "exec ran in the forged container"
	[ "$(docker_api GET "/containers/$forged/json" | $PY -c 'import json,sys; print(json.load(sys.stdin)["State"]["Running"])')" = True ] ||
		fail "the forged container was touched"
	assert_contains status "$(cat "$MNT/rooted/status")" "vanished while bottlefs was not mounted"
	docker_api DELETE "/containers/$forged?force=1" >/dev/null
	ok "a record naming another container and its process is not re-attached; nothing is exec'd into it, nor is it touched"
fi
fi

assert_alive
unmount_fs
