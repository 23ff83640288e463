#!/bin/bash
# The docker backend for real: a dockerd of the test's own (its own socket,
# data and exec roots; no bridge, no iptables), a busybox image imported
# through the API (no registry), and the same proofs as oci: lifecycle,
# log, exec sessions and terminals, isolation from inside, egress, copy
# workspace, re-attach, engine errors, and what a guest may not do.
. "$(dirname "$0")/lib.sh"

command -v dockerd >/dev/null || { echo "SKIP: dockerd not installed (docker.io)"; exit 77; }
BUSYBOX=$(command -v busybox) || { echo "SKIP: busybox-static not installed"; exit 77; }

BACKEND=docker
docker_up

ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for c in sh ls cat echo id sleep wget nc grep tty stty touch mkdir tr head unshare stat chmod cp ps wc; do ln -s busybox "$ROOTFS/bin/$c"; done
printf 'root:x:0:0::/root:/bin/sh\nbuilder:x:2000:2000::/home/builder:/bin/sh\n' >"$ROOTFS/etc/passwd"
IMAGE=$(backend_image "$ROOTFS")

mount_fs
assert_contains backends "$(grep "^docker: " "$MNT/backends")" "docker: available (default): Docker Engine 20"
ok "dockerd of the test's own; image imported through the API; backends shows the engine and its version"

dmanifest() {  # NAME [EXTRA TOML]
	printf 'agent = "t"\nbackend = "docker"\nimage = "%s"\ncommand = ["sh", "-c", "echo hello-docker; trap %s TERM; while :; do sleep 0.1; done"]\nstop_timeout = 5\n%s\n' \
		"$IMAGE" "'echo got-term; exit 0'" "${2:-}" >"$MNT/new/$1" || fail "create $1: $(tail -2 "$MNT/errors")"
}

# --- lifecycle, status, log
dmanifest box '[limits]
pids = 64
memory = "512M"'
echo start >"$MNT/box/ctl" || fail "start: $(tail -3 "$MNT/errors")"
[ "$(cat "$MNT/box/ctl")" = running ] || fail "ctl: $(cat "$MNT/box/ctl")"
status=$(cat "$MNT/box/status")
assert_contains status "$status" "engine: docker 20"
assert_contains status "$status" "container_name: bottlefs-box-"
cid=$(sed -n 's/^container_id: //p' <<<"$status")
[ ${#cid} = 64 ] || fail "container id: $cid"
labels=$(docker_api GET "/containers/$cid/json" | /usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)["Config"]["Labels"]; print(l["org.bottlefs.name"], l["org.bottlefs.state-dir"], l["org.bottlefs.identity"])')
[ "$labels" = "box $STATE $(sed -n 's/^identity: //p' <<<"$status")" ] || fail "labels: $labels"
for _ in $(seq 50); do grep -q "guest: hello-docker" "$MNT/box/log" && break; sleep 0.1; done
assert_contains log "$(cat "$MNT/box/log")" "guest: hello-docker"
assert_contains log "$(cat "$MNT/box/log")" "running: docker container bottlefs-box-"
ok "start runs a labelled container (name, state dir, identity); status shows engine and id; its output reaches log as guest: lines"

# --- limits: the engine enforces the manifest's pids and memory
hc=$(docker_api GET "/containers/$cid/json" | /usr/bin/python3 -c 'import json,sys; h=json.load(sys.stdin)["HostConfig"]; print(h["PidsLimit"], h["Memory"], h["ReadonlyRootfs"], h["NetworkMode"], ",".join(h["CapDrop"]), ",".join(h["SecurityOpt"]))')
[ "$hc" = "64 536870912 True none ALL no-new-privileges" ] || fail "HostConfig: $hc"
out=$(run_in box '(i=0; while [ $i -lt 200 ]; do sleep 2 & i=$((i+1)); echo $i; done) 2>/dev/null | tail -n 1')
n=$(sed -n '1p' <<<"$out")
[ "$n" -gt 10 ] && [ "$n" -lt 64 ] || fail "pids limit 64 not enforced: $n forks ($out)"
ok "limits: PidsLimit 64 and Memory 512M reach the engine; the guest cannot fork past 64 processes"

# --- isolation from inside, as the default user
[ "$(output_of box 'id -u')" -ge 1073741824 ] || fail "guest uid $(output_of box 'id -u') is not of the bottle's range"
[ "$(output_of box 'ls /sys/class/net')" = lo ] || fail "interfaces: $(output_of box 'ls /sys/class/net')"
caps=$(output_of box 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " "')
assert_contains caps "$caps" "CapEff: 0000000000000000"
assert_contains caps "$caps" "NoNewPrivs: 1"
assert_contains caps "$caps" "Seccomp: 2"
assert_contains "pid 1" "$(output_of box 'tr "\0" " " </proc/1/cmdline')" "/.bottlefs-init --"
refused_in box 'touch /etc/probe' || fail "root filesystem writable"
refused_in box 'touch /.bottlefs-init' || fail "init writable"
output_of box 'echo x >/tmp/t && echo y >/work/w && echo z >$HOME/h' >/dev/null
# Built programs run from /tmp and /work, as on oci.
output_of box 'cp /bin/busybox /tmp/true && /tmp/true && cp /bin/busybox /work/true && /work/true' >/dev/null
refused_in box 'nc -w 2 1.1.1.1 80 </dev/null' || fail "direct network reachable"
# The syscall filter of bottlefs-init: no keyrings, no new namespaces.
refused_in box 'unshare -U true 2>/dev/null || exit 1' || fail "unshare allowed"
ok "docker guest: uid of the bottle's range, lo only, no caps, no_new_privs, seccomp, bottlefs-init as PID 1, read-only root, writable /tmp /work HOME, no direct network"

# --- egress through the proxy in the guest's netns
out=$(run_in box 'wget -q -O- http://denied.example/ 2>&1; echo rc=$?')
assert_contains egress "$out" "403"
for _ in $(seq 30); do grep -q "denied.example" "$MNT/box/egress" && break; sleep 0.1; done
assert_contains egress "$(cat "$MNT/box/egress")" "denied.example"
ok "egress: the guest's proxy at 127.0.0.1:8888 refuses what the allowlist lacks (403) and logs it"

# --- exec sessions: streaming, stdin, exit status, kill, terminal
mkdir "$MNT/box/exec/s"
echo 'echo first; read x; echo got-$x; exit 7' >"$MNT/box/exec/s/cmd"
echo hi >"$MNT/box/exec/s/stdin"
[ "$(timeout 10 cat "$MNT/box/exec/s/wait")" = "exited 7" ] || fail "session: $(cat "$MNT/box/exec/s/status")"
[ "$(cat "$MNT/box/exec/s/stdout")" = "$(printf 'first\ngot-hi')" ] || fail "stdout: $(cat "$MNT/box/exec/s/stdout")"
mkdir "$MNT/box/exec/k"
echo 'sleep 100' >"$MNT/box/exec/k/cmd"
echo 'kill TERM' >"$MNT/box/exec/k/ctl"
[ "$(timeout 10 cat "$MNT/box/exec/k/wait")" = "killed 15" ] || fail "kill: $(cat "$MNT/box/exec/k/status")"
mkdir "$MNT/box/exec/p"
echo 'pty 100x30' >"$MNT/box/exec/p/ctl"
echo 'tty; stty size' >"$MNT/box/exec/p/cmd"
[ "$(timeout 10 cat "$MNT/box/exec/p/wait")" = "exited 0" ] || fail "pty session"
out=$(tr -d '\r' <"$MNT/box/exec/p/stdout")
grep -qx '/dev/pts/[0-9]*' <<<"$out" && grep -qx '30 100' <<<"$out" || fail "terminal: $out"
ok "exec sessions on docker: stdin, streaming, exit status, kill TERM, a terminal of the guest's devpts"

check_quick_kills box
check_concurrent_sessions box
# Ctrl-C on a reader blocked on a stream ends the read, not the daemon.
mkdir "$MNT/box/exec/long"
echo 'sleep 30' >"$MNT/box/exec/long/cmd"
timeout -s INT 1 cat "$MNT/box/exec/long/stdout" || true
assert_alive
[ "$(cat "$MNT/box/exec/long/status")" = running ] || fail "interrupting a reader ended the command"
rmdir "$MNT/box/exec/long"
[ -z "$(output_of box 'ps -o args 2>/dev/null | grep "^sleep 30" || true')" ] || fail "rmdir left the command running"
ok "20 commands killed right after their start end 'killed 15'; 12 concurrent sessions keep their outputs apart; SIGINT ends a blocked read; rmdir kills the command"

# --- restart, followed by tail -f of the log
timeout 8 tail -f "$MNT/box/log" >"$TMP/tail" &
tailpid=$!
sleep 1
oldpid=$(sed -n 's/^pid: //p' "$MNT/box/status")
echo restart >"$MNT/box/ctl" || fail "restart: $(tail -2 "$MNT/errors")"
[ "$(cat "$MNT/box/ctl")" = running ] || fail "not running after restart"
[ "$(sed -n 's/^pid: //p' "$MNT/box/status")" != "$oldpid" ] || fail "restart kept the pid"
cid=$(sed -n 's/^container_id: //p' "$MNT/box/status")
sleep 2
kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null || true
assert_contains "tail -f" "$(cat "$TMP/tail")" "got-term"
assert_contains "tail -f" "$(cat "$TMP/tail")" "guest: hello-docker"
[ "$(grep -c "guest: hello-docker" "$MNT/box/log")" = 2 ] || fail "main output not in log twice"
ok "restart stops (TERM through bottlefs-init) and starts a new container; tail -f of log follows both runs"

# --- the image's own user, and root refused without the engine's userns
dmanifest named 'user = "builder"'
echo start >"$MNT/named/ctl" || fail "start named: $(tail -2 "$MNT/errors")"
# No user namespace: the guest's ids are host ids of the bottle's range.
base=$(sed -n 's/^uid_map = "0 \([0-9]*\) .*/\1/p' "$MNT/named/plan.toml")
[ "$(output_of named 'id -u')" = $((base + 2000)) ] || fail "named user: $(output_of named 'id -u'), base $base"
assert_contains status "$(cat "$MNT/named/status")" "uid_map: none (guest ids are host ids)"
assert_contains status "$(cat "$MNT/named/status")" "guest_user: $((base + 2000)) (host $((base + 2000)))"
echo stop >"$MNT/named/ctl"
dmanifest rooted 'user = "root"'
if echo start >"$MNT/rooted/ctl" 2>"$TMP/err"; then fail "guest root started on an engine without userns"; fi
assert_contains errno "$(cat "$TMP/err")" "Operation not permitted"
assert_contains errors "$(tail -1 "$MNT/errors")" "needs an engine with user namespaces"
[ "$(cat "$MNT/rooted/ctl")" = failed ] || fail "rooted: $(cat "$MNT/rooted/ctl")"
[ -z "$(docker_api GET "/containers/json?all=1" | grep -o bottlefs-rooted || true)" ] || fail "a container was left for rooted"
ok "a user the image names runs as its id in the bottle's range; user root is refused (EPERM, a reason in errors) and leaves no container"

# --- engine errors: a missing image
printf 'agent = "t"\nbackend = "docker"\nimage = "no/such-image"\n' >"$MNT/new/ghost"
if echo start >"$MNT/ghost/ctl" 2>"$TMP/err"; then fail "a missing image started"; fi
assert_contains errno "$(cat "$TMP/err")" "No such file or directory"
assert_contains errors "$(tail -1 "$MNT/errors")" "No such image"
assert_alive
ok "a missing image fails the start with ENOENT and the engine's reason in errors"

# --- copy workspace and its host view
WS=$TMP/project
mkdir -p "$WS"
echo original >"$WS/a.txt"
dmanifest cp "[workspace]
path = \"$WS\""
echo start >"$MNT/cp/ctl" || fail "start cp: $(tail -2 "$MNT/errors")"
[ "$(output_of cp 'cat /work/a.txt')" = original ] || fail "copy not in /work"
output_of cp 'echo changed >/work/a.txt' >/dev/null
[ "$(cat "$WS/a.txt")" = original ] || fail "the copy wrote through to the host"
[ "$(cat "$MNT/cp/workspace/a.txt")" = changed ] || fail "view while running"
echo stop >"$MNT/cp/ctl"
[ "$(cat "$MNT/cp/workspace/a.txt")" = changed ] || fail "view while stopped"
echo start >"$MNT/cp/ctl"
[ "$(output_of cp 'cat /work/a.txt')" = changed ] || fail "the copy across a restart"
echo stop >"$MNT/cp/ctl"
ok "copy workspace: the guest's copy, never the host's; NAME/workspace/ shows it running and stopped; kept across restarts"

# --- bind workspace: the directory itself, idmapped to its owner
BW=$TMP/bound
mkdir -p "$BW"
echo mine >"$BW/owned.txt"
chown -R 4242:4343 "$BW"
dmanifest bnd "[workspace]
path = \"$BW\"
mode = \"bind\""
echo start >"$MNT/bnd/ctl" || fail "start bnd: $(tail -2 "$MNT/errors")"
[ "$(output_of bnd 'cat /work/owned.txt')" = mine ] || fail "bind workspace not in /work"
[ "$(output_of bnd 'stat -c %u /work/owned.txt')" = "$(output_of bnd 'id -u')" ] || fail "the owner's file is not the guest user's"
output_of bnd 'echo new >/work/made.txt; mkdir /work/dir' >/dev/null
[ "$(stat -c %u:%g "$BW/made.txt")" = 4242:4343 ] || fail "guest file on the host: $(stat -c %u:%g "$BW/made.txt")"
[ "$(stat -c %u:%g "$BW/dir")" = 4242:4343 ] || fail "guest dir on the host"
echo stop >"$MNT/bnd/ctl"
! grep -q "$STATE/run/bnd/workspace" /proc/mounts || fail "the idmapped mount outlived the guest"
chown root "$BW"
if echo start >"$MNT/bnd/ctl" 2>"$TMP/err"; then fail "a root-owned bind workspace started"; fi
assert_contains errno "$(cat "$TMP/err")" "Operation not permitted"
assert_contains errors "$(tail -1 "$MNT/errors")" "is owned by root"
rmdir "$MNT/bnd"
ok "bind workspace on docker: idmapped, the owner's files are the guest's and the guest's are 4242:4343 on the host; unmounted with the guest; a root-owned one is refused (EPERM)"

# --- stop, re-attach, rmdir
unmount_fs
[ "$(docker_api GET "/containers/$cid/json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["State"]["Running"])')" = True ] ||
	fail "the container ended with the mount"
mount_fs
[ "$(cat "$MNT/box/ctl")" = running ] || fail "not re-attached: $(tail -3 "$MNT/errors")"
assert_contains log "$(cat "$MNT/box/log")" "re-attached to docker container bottlefs-box-"
[ "$(output_of box 'echo again')" = again ] || fail "exec after re-attach"
echo stop >"$MNT/box/ctl"
[ "$(cat "$MNT/box/ctl")" = stopped ] || fail "stop: $(cat "$MNT/box/ctl")"
assert_contains log "$(cat "$MNT/box/log")" "guest: got-term"
assert_contains status "$(cat "$MNT/box/status")" "exit: exited 0"
for b in box named rooted ghost cp; do rmdir "$MNT/$b" || fail "rmdir $b: $(tail -2 "$MNT/errors")"; done
[ -z "$(docker_api GET "/containers/json?all=1" | grep -o 'bottlefs-[a-z]*' || true)" ] || fail "containers left: $(docker_api GET "/containers/json?all=1")"
ok "unmount leaves the container running; a new mount re-attaches; stop forwards TERM through bottlefs-init (exit 0); rmdir leaves no container"

# --- the engine goes away while a bottle runs, and comes back
dmanifest gone
echo start >"$MNT/gone/ctl" || fail "start gone: $(tail -2 "$MNT/errors")"
docker_stop || fail "dockerd did not stop"
for _ in $(seq 150); do [ "$(cat "$MNT/gone/ctl")" != running ] && break; sleep 0.1; done
assert_alive
[ "$(cat "$MNT/gone/ctl")" != running ] || fail "still running without an engine"
assert_contains status "$(cat "$MNT/gone/status")" "reason: docker engine"
assert_contains errors "$(cat "$MNT/errors")" "gone: the guest ended (docker engine"
assert_contains backends "$(cat "$MNT/backends")" "docker: unavailable (default): docker engine not reachable"
if echo start >"$MNT/gone/ctl" 2>"$TMP/err"; then fail "started without an engine"; fi
assert_contains errno "$(cat "$TMP/err")" "Connection refused"
docker_up
echo start >"$MNT/gone/ctl" || fail "start after the engine came back: $(tail -2 "$MNT/errors")"
[ "$(output_of gone 'echo back')" = back ] || fail "exec after the engine came back"
echo stop >"$MNT/gone/ctl"
rmdir "$MNT/gone"
ok "the engine stopping ends the guest: the daemon stays up, status, errors and backends say why, a start fails with ECONNREFUSED; when it returns, start works again"

# --- a container removed behind bottlefs's back while unmounted
dmanifest lost
echo start >"$MNT/lost/ctl" || fail "start lost"
lost_id=$(sed -n 's/^container_id: //p' "$MNT/lost/status")
unmount_fs
docker_api DELETE "/containers/$lost_id?force=1" >/dev/null || fail "could not remove the container"
mount_fs
[ "$(cat "$MNT/lost/ctl")" = failed ] || fail "lost: $(cat "$MNT/lost/ctl")"
assert_contains errors "$(cat "$MNT/errors")" "lost: docker container bottlefs-lost-"
assert_contains errors "$(cat "$MNT/errors")" "vanished while bottlefs was not mounted"
rmdir "$MNT/lost"
ok "a container removed while unmounted is not re-attached: failed, and errors says it vanished"

# --- cleanup: labelled containers and volumes whose bottle is gone
dmanifest live
echo start >"$MNT/live/ctl" || fail "start live"
orphan=$(docker_api POST "/containers/create?name=bottlefs-old-0000" -H "Content-Type: application/json" \
	-d "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"100\"],\"Labels\":{\"org.bottlefs.state-dir\":\"$STATE\",\"org.bottlefs.identity\":\"old-0000\",\"org.bottlefs.name\":\"old\"}}" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
docker_api POST "/volumes/create" -H "Content-Type: application/json" \
	-d "{\"Name\":\"bottlefs-old-vol\",\"Labels\":{\"org.bottlefs.state-dir\":\"$STATE\",\"org.bottlefs.identity\":\"old-0000\"}}" >/dev/null
# Another mount's container (another state dir) is not this one's to take.
other=$(docker_api POST "/containers/create?name=bottlefs-theirs-1111" -H "Content-Type: application/json" \
	-d "{\"Image\":\"$IMAGE\",\"Cmd\":[\"sleep\",\"100\"],\"Labels\":{\"org.bottlefs.state-dir\":\"/elsewhere\",\"org.bottlefs.identity\":\"theirs-1111\"}}" |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["Id"])')
plan=$(cat "$MNT/cleanup")
assert_contains plan "$plan" "docker-container $orphan: "
assert_contains plan "$plan" "docker-volume bottlefs-old-vol: "
grep -q "$other" <<<"$plan" && fail "another state dir's container is in the plan"
grep -q "bottlefs-live" <<<"$plan" && fail "a live bottle's container is in the plan"
live_id=$(sed -n 's/^container_id: //p' "$MNT/live/status")
grep -q "$live_id" <<<"$plan" && fail "the live container is in the plan"
echo run >"$MNT/cleanup" || fail "cleanup run: $(tail -2 "$MNT/errors")"
[ -z "$(cat "$MNT/cleanup")" ] || fail "left: $(cat "$MNT/cleanup")"
! docker_api GET "/containers/$orphan/json" >/dev/null 2>&1 || fail "the orphan container remains"
! docker_api GET "/volumes/bottlefs-old-vol" >/dev/null 2>&1 || fail "the orphan volume remains"
docker_api GET "/containers/$other/json" >/dev/null || fail "another state dir's container was removed"
[ "$(output_of live 'echo ok')" = ok ] || fail "the live bottle after cleanup"
docker_api DELETE "/containers/$other?force=1" >/dev/null
echo stop >"$MNT/live/ctl"
rmdir "$MNT/live"
ok "cleanup lists and removes labelled containers and volumes of this state dir whose bottle is gone; another state dir's and live ones are untouched"
