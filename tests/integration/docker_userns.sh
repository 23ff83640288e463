#!/bin/bash
# The docker backend on an engine that maps user namespaces (dockerd
# --userns-remap=default): bottlefs uses the engine's map, so guest root
# is allowed and is the map's unprivileged host id; terminals, images and
# a bind workspace get the mapped ids.
. "$(dirname "$0")/lib.sh"

command -v dockerd >/dev/null || { echo "SKIP: dockerd not installed (docker.io)"; exit 77; }
BUSYBOX=$(command -v busybox) || { echo "SKIP: busybox-static not installed"; exit 77; }

BACKEND=docker
docker_userns_engine
docker_up
root_dir=$(docker_api GET /info | $PY -c 'import json,sys; print(json.load(sys.stdin)["DockerRootDir"])')
remap=${root_dir##*/}
remap=${remap%%.*}
[ "$remap" -gt 0 ] || fail "no remap in DockerRootDir $root_dir"

ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for c in sh ls cat echo id sleep grep tty stat touch mkdir; do ln -s busybox "$ROOTFS/bin/$c"; done
printf 'root:x:0:0::/root:/bin/sh\n' >"$ROOTFS/etc/passwd"
mount_fs
IMAGE=$(backend_image "$ROOTFS")

WS=$TMP/ws
mkdir -p "$WS"
echo mine >"$WS/owned"
chown -R 4242:4343 "$WS"
for who in rootg userg; do
	user_line=
	[ $who = userg ] || user_line='user = "root"'
	printf 'agent = "t"\nimage = "%s"\n%s\ncommand = ["sleep", "100000"]\n[workspace]\npath = "%s"\nmode = "bind"\n' \
		"$IMAGE" "$user_line" "$WS" >"$MNT/new/$who"
	echo start >"$MNT/$who/ctl" || fail "start $who: $(tail -2 "$MNT/errors")"
done
gpid=$(sed -n 's/^pid: //p' "$MNT/rootg/status")
[ "$(output_of rootg 'id -u')" = 0 ] || fail "guest root is not root inside"
[ "$(awk '/^Uid:/ {print $2}' "/proc/$gpid/status")" = "$remap" ] || fail "guest root is host uid $(awk '/^Uid:/ {print $2}' "/proc/$gpid/status"), not $remap"
! getent passwd "$remap" >/dev/null || fail "the remapped root $remap is a host account"
assert_contains status "$(cat "$MNT/rootg/status")" "guest_user: 0 (host $remap)"
assert_contains status "$(cat "$MNT/rootg/status")" "uid_map: 0 $remap $(awk '$1 == 0 {print $3}' "/proc/$gpid/uid_map")"
upid=$(sed -n 's/^pid: //p' "$MNT/userg/status")
[ "$(output_of userg 'id -u')" = 1000 ] || fail "guest user inside: $(output_of userg 'id -u')"
[ "$(awk '/^Uid:/ {print $2}' "/proc/$upid/status")" = $((remap + 1000)) ] || fail "guest user's host uid"
ok "an engine with userns-remap: guest root is allowed and is host uid $remap (no account); the guest user is $((remap + 1000))"

caps=$(output_of rootg 'grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status | tr -s "\t" " "')
assert_contains caps "$caps" "NoNewPrivs: 1"
assert_contains caps "$caps" "Seccomp: 2"
assert_contains caps "$caps" "CapEff: 00000000000005fb"
[ "$(output_of rootg "grep CapEff /proc/1/status | tr -s \"\\t\" \" \"")" = "CapEff: 00000000000005fb" ] || fail "guest init: $(output_of rootg "grep CapEff /proc/1/status")"
[ "$(output_of userg 'grep CapEff /proc/self/status | tr -s "\t" " "')" = "CapEff: 0000000000000000" ] || fail "guest user has capabilities"
mkdir "$MNT/rootg/exec/t"
echo 'pty 80x24' >"$MNT/rootg/exec/t/ctl"
echo 'ls -ln $(tty)' >"$MNT/rootg/exec/t/cmd"
[ "$(timeout 10 cat "$MNT/rootg/exec/t/wait")" = "exited 0" ] || fail "pty session"
grep -Eq 'crw--w---- +1 0 +5 ' "$MNT/rootg/exec/t/stdout" || fail "guest root's terminal: $(cat "$MNT/rootg/exec/t/stdout")"
ok "exec sessions join the engine's user namespace: root with the documented capabilities, the user with none; a terminal is guest root's, group tty"

output_of rootg 'echo r >/work/by-root; mkdir /work/dir-root' >/dev/null
output_of userg 'echo u >/work/by-user' >/dev/null
for f in by-root dir-root by-user; do
	[ "$(stat -c %u:%g "$WS/$f")" = 4242:4343 ] || fail "$f is $(stat -c %u:%g "$WS/$f") on the host"
done
[ "$(output_of userg 'stat -c %u /work/owned')" = 1000 ] || fail "the owner's file is not the guest user's"
[ "$(output_of rootg 'echo x >$HOME/h && stat -c %u $HOME')" = 0 ] || fail "guest root's home"
ok "a bind workspace on a remapping engine: files of guest root and user are the owner's (4242) on the host; homes are the guest's"
for who in rootg userg; do echo stop >"$MNT/$who/ctl"; rmdir "$MNT/$who"; done
