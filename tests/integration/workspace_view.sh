#!/bin/bash
# NAME/workspace/: the host's read-only view of a copy workspace, running
# and stopped, across restarts; what the guest plants in it (links out,
# fifos, unreadable and set-id files) and what the host may not do to it.
# A VM's disk is its kernel's while it runs: on microvm the view is
# looked at with the VM stopped (look/resume), and is EBUSY while it runs.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
BUSYBOX=$(command -v busybox) || { echo "SKIP: busybox-static not installed"; exit 77; }

ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for c in sh ls cat echo sleep ln mkdir rm mkfifo chmod mv; do ln -s busybox "$ROOTFS/bin/$c"; done
printf 'root:x:0:0::/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n' >"$ROOTFS/etc/passwd"

WS=$TMP/project
mkdir -p "$WS/src"
echo original >"$WS/src/a.txt"
echo doomed >"$WS/gone.txt"
chown -R nobody "$WS"

mount_fs
IMAGE=$(backend_image "$ROOTFS")
copy_manifest() {   # NAME MODE [USER]; cat reports what the daemon refused
	printf 'agent = "t"\nimage = "%s"\ncommand = ["sleep", "100000"]\n%s[workspace]\npath = "%s"\nmode = "%s"\n' \
		"$IMAGE" "${3:+user = \"$3\"
}" "$WS" "$2" | cat >"$MNT/new/$1"
}
copy_manifest box copy || fail "create box: $(tail -2 "$MNT/errors")"
if [ "$BACKEND" = microvm ]; then
	if copy_manifest bound bind 2>/dev/null; then fail "a bind workspace accepted on a VM"; fi
	printf 'agent = "t"\nimage = "%s"\n' "$IMAGE" >"$MNT/new/bound"
else
	copy_manifest bound bind || fail "create bound: $(tail -2 "$MNT/errors")"
fi
printf 'agent = "t"\nimage = "%s"\n[workspace]\nmode = "none"\n' "$IMAGE" >"$MNT/new/plain"
V=$MNT/box/workspace
# look: the view can be read now (a VM is stopped for it); resume: the
# bottle runs again.
look() {
	[ "$BACKEND" != microvm ] || echo stop >"$MNT/box/ctl" || fail "stop to look: $(tail -2 "$MNT/errors")"
}
resume() {
	[ "$BACKEND" != microvm ] || echo start >"$MNT/box/ctl" || fail "start after a look: $(tail -2 "$MNT/errors")"
}

# --- present only for a copy workspace; empty before the first start
ls "$MNT/box" | grep -qx workspace || fail "no workspace/ in a copy bottle: $(ls "$MNT/box")"
for b in bound plain; do
	! ls "$MNT/$b" | grep -qx workspace || fail "workspace/ listed in $b"
	[ ! -e "$MNT/$b/workspace" ] || fail "$b/workspace exists"
done
[ -z "$(ls -A "$V")" ] || fail "a copy before the first start shows: $(ls -A "$V")"
[ "$(stat -c %a "$V")" = 500 ] || fail "workspace/ mode $(stat -c %a "$V")"
ok "workspace/ exists only for copy workspaces (not bind, not none), mode 0500, empty before the first start"

# --- running: the guest's changes, as they happen
echo start >"$MNT/box/ctl" || fail "start: $(tail -2 "$MNT/errors")"
output_of box 'echo changed >/work/src/a.txt; echo new >/work/new.txt; rm /work/gone.txt; mkdir -p /work/d/e; echo deep >/work/d/e/f'
if [ "$BACKEND" = microvm ]; then
	if ls "$V" 2>"$TMP/err"; then fail "a running VM's workspace listed"; fi
	assert_contains "running view" "$(cat "$TMP/err")" "Device or resource busy"
	assert_contains errors "$(tail -1 "$MNT/errors")" "stop it to look at the copy"
	ok "a running VM's view is EBUSY, with the reason in errors"
fi
look
[ "$(cat "$V/src/a.txt")" = changed ] || fail "running view: $(cat "$V/src/a.txt")"
[ "$(cat "$V/d/e/f")" = deep ] || fail "deep file"
out=$(diff -r "$WS" "$V" || true)
assert_contains diff "$out" "Only in $WS: gone.txt"
assert_contains diff "$out" "Only in $V: new.txt"
assert_contains diff "$out" "> changed"
resume
output_of box 'echo later >>/work/new.txt'
look
[ "$(cat "$V/new.txt")" = "$(printf 'new\nlater')" ] || fail "the view is not live: $(cat "$V/new.txt")"
# Taking work back is a plain copy.
cp -r "$V/." "$TMP/taken"
[ "$(cat "$TMP/taken/src/a.txt")" = changed ] && [ -f "$TMP/taken/d/e/f" ] || fail "cp -r of the view"
ok "running: the view shows the guest's edits, additions and removals live; diff -r against the original and cp -r work"

# --- what the guest plants
resume
output_of box 'ln -s / /work/root-link; ln -s ../../../../etc /work/rel-link; mkfifo /work/fifo; echo secret >/work/locked; chmod 000 /work/locked; mkdir /work/closed; echo in >/work/closed/x; chmod 000 /work/closed'
look
[ "$(readlink "$V/root-link")" = / ] || fail "link shown as: $(readlink "$V/root-link")"
[ "$(stat -c %F "$V/fifo")" = "regular empty file" ] || fail "fifo shown as $(stat -c %F "$V/fifo")"
[ "$(stat -c %a "$V/fifo")" = 0 ] || fail "fifo mode $(stat -c %a "$V/fifo")"
if timeout 5 cat "$V/fifo" 2>"$TMP/err"; then fail "fifo opened"; fi
assert_contains fifo "$(cat "$TMP/err")" "Permission denied"
[ "$(cat "$V/locked")" = secret ] || fail "mode-000 file unreadable to the owner"
[ "$(cat "$V/closed/x")" = in ] || fail "mode-000 directory unsearchable to the owner"
[ "$(stat -c %a "$V/locked")" = 400 ] || fail "locked shown as $(stat -c %a "$V/locked")"
resume
output_of box 'chmod 751 /work/new.txt; chmod 1777 /work/d'
look
[ "$(stat -c %a "$V/new.txt")" = 751 ] || fail "the guest's mode not shown: $(stat -c %a "$V/new.txt")"
[ "$(stat -c %a "$V/d")" = 777 ] || fail "sticky bit shown: $(stat -c %a "$V/d")"
# Swapping a directory the host already looked up for a link out: the
# daemon resolves every path afresh and through no link.
ls "$V/d/e" >/dev/null
resume
output_of box 'mv /work/d /work/d.old; ln -s / /work/d'
look
[ "$(readlink "$V/d")" = / ] || fail "the swap is not shown: $(stat -c %F "$V/d")"
if cat "$V/d/e/f" 2>/dev/null; then fail "d/e/f still read after the swap"; fi
ok "a link out is shown as a link; a fifo is an empty file nobody may open; modes are the guest's without sticky/set-id, 000 files and dirs readable by the owner; a swapped dir is not followed"

# --- read-only, whatever the host tries
for try in "echo x >$V/new.txt" "touch $V/zz" "rm $V/new.txt" "mkdir $V/q" "chmod 777 $V/new.txt" \
	"mv $V/new.txt $V/n2" "ln -s x $V/l2" "truncate -s 0 $V/new.txt" "rmdir $V/d.old/e"; do
	if bash -c "$try" 2>"$TMP/err"; then fail "allowed: $try"; fi
	grep -q "Read-only file system\|Permission denied\|Operation not permitted" "$TMP/err" || fail "$try: $(cat "$TMP/err")"
done
resume
[ "$(output_of box 'cat /work/new.txt')" = "$(printf 'new\nlater')" ] || fail "the copy changed"
look
ok "writes, creates, removes, renames, chmod, truncate and links in the view all fail (EROFS); the copy is untouched"

# Another host user gets nothing.
if su nobody -s /bin/sh -c "ls $V" 2>/dev/null; then fail "nobody lists the view"; fi
ok "another host user cannot list the view"

# --- stopped: the copy as it was left; restarts are not held up
resume
echo stop >"$MNT/box/ctl"
[ "$(cat "$V/src/a.txt")" = changed ] || fail "stopped view: $(cat "$V/src/a.txt" 2>&1)"
exec 5<"$V/new.txt"
echo start >"$MNT/box/ctl" || fail "restart with the view open: $(tail -2 "$MNT/errors")"
output_of box 'echo third >>/work/new.txt'
# A container's copy is live through the open file; a VM's disk is the
# VM's own until it stops.
[ "$BACKEND" = microvm ] || [ "$(cat <&5)" = "$(printf 'new\nlater\nthird')" ] || fail "an open file of the view after the restart"
exec 5<&-
echo stop >"$MNT/box/ctl"
[ "$(tail -n 1 "$V/new.txt")" = third ] || fail "stopped view after a second run"
grep -q "$STATE/run/box/work.img" <(losetup -a) || fail "no read-only loop device for the stopped view"
echo start >"$MNT/box/ctl" || fail "start after the stopped view: $(tail -2 "$MNT/errors")"
[ "$(output_of box 'cat /work/src/a.txt')" = changed ] || fail "the guest's copy after a stopped view"
output_of box 'echo rw-ok >/work/rw' >/dev/null
echo stop >"$MNT/box/ctl"
rmdir "$MNT/box" || fail "rmdir: $(tail -2 "$MNT/errors")"
if losetup -a | grep -q "$STATE/run/box/"; then fail "loop device left after rmdir: $(losetup -a)"; fi
assert_alive
ok "stopped: the view shows the copy as left (a read-only mount of its own); start, restart and rmdir are not held up by it"
