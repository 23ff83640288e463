#!/bin/bash
# Terminal sessions: `pty COLSxROWS` in exec/S/ctl gives the command a
# terminal of the guest's own devpts; resize, eof, stdin opened many
# times, a real full-screen program (vi), refusals, and bottlefs-attach
# driven through a real terminal (script(1)).
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
BUSYBOX=$(command -v busybox) || { echo "SKIP: busybox-static not installed"; exit 77; }
command -v script >/dev/null || { echo "SKIP: script(1) not installed"; exit 77; }
ATTACH=$(dirname "$BOTTLEFS")/bottlefs-attach
[ -x "$ATTACH" ] || fail "no bottlefs-attach beside $BOTTLEFS"

ROOTFS=$TMP/rootfs
mkdir -p "$ROOTFS/bin" "$ROOTFS/etc"
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for c in sh ls cat echo id sleep tty stty vi top grep; do ln -s busybox "$ROOTFS/bin/$c"; done
printf 'root:x:0:0::/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nagent:x:1000:\n' >"$ROOTFS/etc/group"

mount_fs
IMAGE=$(backend_image "$ROOTFS")
for b in box other; do
	printf 'agent = "test"\nimage = "%s"\ncommand = ["sleep", "100000"]\n' "$IMAGE" >"$MNT/new/$b"
	echo start >"$MNT/$b/ctl" || fail "start $b: $(tail -3 "$MNT/errors")"
done
# Guest root: on oci (docker refuses it without the engine's userns).
if [ "$BACKEND" = oci ]; then
	printf 'agent = "test"\nimage = "%s"\nuser = "root"\ncommand = ["sleep", "100000"]\n' "$IMAGE" >"$MNT/new/rootbox"
	echo start >"$MNT/rootbox/ctl" || fail "start rootbox: $(tail -3 "$MNT/errors")"
fi

# session NAME CMD [BOTTLE]: a new terminal session of 120x40 running CMD.
session() {
	local d=$MNT/${3:-box}/exec/$1
	mkdir "$d" || fail "mkdir $d"
	echo 'pty 120x40' >"$d/ctl" || fail "pty: $(tail -2 "$MNT/errors")"
	printf '%s\n' "$2" >"$d/cmd" || fail "cmd: $(tail -2 "$MNT/errors")"
}

# wait_for FILE TEXT: up to 10 s for TEXT to appear in FILE. A read of a
# session's stdout waits for more while the command runs: each look takes
# what is there within 0.2 s (a full-screen program may print no newline).
wait_for() {
	local _
	for _ in $(seq 50); do
		{ timeout 0.2 cat "$1" || true; } | grep -qF -- "$2" && return 0
	done
	fail "'$2' never appeared in $1: $({ timeout 0.2 cat -A "$1" || true; } | tail -c 300)"
}

# --- a terminal, the guest's own
session t 'tty; stty size; ls -ln $(tty); echo TERM=$TERM; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-terminals; echo to-stderr >&2'
[ "$(timeout 10 cat "$MNT/box/exec/t/wait")" = "exited 0" ] || fail "t: $(cat "$MNT/box/exec/t/status")"
out=$(tr -d '\r' <"$MNT/box/exec/t/stdout")
grep -qx '/dev/pts/[0-9]*' <<<"$out" || fail "tty is not a pty: $out"
grep -qx '40 120' <<<"$out" || fail "stty size: $out"
# The guest user (uid 1000) owns it, group tty, as a login gives it.
# Group tty (5) in the guest's own user namespace; where the guest shares
# the host's (docker without userns) the guest user's own group; a VM's
# kernel is its own.
uid=$(output_of box 'id -u')
gid=5
[ "$BACKEND" != docker ] || gid=$(output_of box 'id -g')
grep -Eq "^crw--w---- +1 $uid +$gid " <<<"$out" || fail "terminal owner/mode: $out"
grep -qx 'TERM=xterm-256color' <<<"$out" || fail "TERM: $out"
grep -qx 'all-terminals' <<<"$out" || fail "stdin, stdout, stderr are not all the terminal: $out"
grep -qx 'to-stderr' <<<"$out" || fail "stderr did not go to the terminal: $out"
[ ! -s "$MNT/box/exec/t/stderr" ] || fail "stderr file not empty with a terminal"
ok "pty 120x40: the command's stdin/stdout/stderr are a /dev/pts/N of 40x120 owned by the guest user (group tty), TERM set, all output on stdout"

session r 'trap "stty size; exit 0" WINCH; echo ready; while :; do sleep 0.05; done'
wait_for "$MNT/box/exec/r/stdout" ready
echo 'resize 100x30' >"$MNT/box/exec/r/ctl" || fail "resize: $(tail -2 "$MNT/errors")"
[ "$(timeout 10 cat "$MNT/box/exec/r/wait")" = "exited 0" ] || fail "resize: no SIGWINCH ($(cat "$MNT/box/exec/r/status"))"
grep -q '^30 100' "$MNT/box/exec/r/stdout" || fail "size after resize: $(cat -A "$MNT/box/exec/r/stdout")"
ok "resize 100x30 sends SIGWINCH and the command reads the new size"

# stdin opened and closed many times: the command reads on; eof ends it.
session c 'cat; echo cat-ended'
for i in 1 2 3; do
	echo "line$i" >"$MNT/box/exec/c/stdin" || fail "stdin write $i"
	wait_for "$MNT/box/exec/c/stdout" "line$i"
done
[ "$(cat "$MNT/box/exec/c/status")" = running ] || fail "closing stdin ended a terminal session"
echo eof >"$MNT/box/exec/c/ctl" || fail "eof: $(tail -2 "$MNT/errors")"
[ "$(timeout 10 cat "$MNT/box/exec/c/wait")" = "exited 0" ] || fail "eof did not end cat"
[ "$(grep -c '^line' "$MNT/box/exec/c/stdout")" -ge 3 ] && grep -q cat-ended "$MNT/box/exec/c/stdout" ||
	fail "cat over the terminal: $(cat -A "$MNT/box/exec/c/stdout")"
ok "a terminal's stdin is opened and closed three times without ending the command; 'eof' types EOF and cat ends"

# Without a terminal, eof closes the pipe.
mkdir "$MNT/box/exec/p"
echo 'cat; echo pipe-ended' >"$MNT/box/exec/p/cmd"
exec 7>"$MNT/box/exec/p/stdin"
echo data >&7
echo eof >"$MNT/box/exec/p/ctl" || fail "eof on a pipe session"
[ "$(timeout 10 cat "$MNT/box/exec/p/wait")" = "exited 0" ] || fail "eof did not close the pipe"
exec 7>&-
[ "$(cat "$MNT/box/exec/p/stdout")" = "$(printf 'data\npipe-ended')" ] || fail "pipe eof: $(cat "$MNT/box/exec/p/stdout")"
ok "eof on a session without a terminal closes its stdin while a writer still holds it"

# --- a real full-screen program: vi edits and writes a file.
session vi 'vi /tmp/note; cat /tmp/note'
wait_for "$MNT/box/exec/vi/stdout" '/tmp/note'
printf 'ihello from vi\033' >"$MNT/box/exec/vi/stdin"
# Apart, or vi takes ESC and ':' for one key's escape sequence.
sleep 0.3
printf ':wq\r' >"$MNT/box/exec/vi/stdin"
[ "$(timeout 10 cat "$MNT/box/exec/vi/wait")" = "exited 0" ] || fail "vi: $(cat "$MNT/box/exec/vi/status")"
# cat's line comes last, after vi's restoring of the screen.
tr -d '\r' <"$MNT/box/exec/vi/stdout" | tail -n 1 | grep -q 'hello from vi$' || fail "vi did not write: $(cat -A "$MNT/box/exec/vi/stdout" | tail -3)"
session top 'top -b -n 1 | grep -m1 PID'
[ "$(timeout 10 cat "$MNT/box/exec/top/wait")" = "exited 0" ] && grep -q 'PID' "$MNT/box/exec/top/stdout" ||
	fail "top: $(cat -A "$MNT/box/exec/top/stdout")"
ok "vi in a terminal session takes keystrokes, writes its file and exits; top runs"

# --- one bottle cannot see another's terminals; as guest root (oci).
session held 'sleep 30'
[ "$(output_of other 'ls /dev/pts')" = ptmx ] || fail "other bottle sees terminals: $(output_of other 'ls /dev/pts')"
echo kill >"$MNT/box/exec/held/ctl"
ok "each bottle has its own devpts: another bottle sees only ptmx"
if [ "$BACKEND" = oci ]; then
	session rt 'tty; ls -ln $(tty); sleep 30' rootbox
	wait_for "$MNT/rootbox/exec/rt/stdout" /dev/pts/
	grep -Eq 'crw--w---- +1 0 +5 ' "$MNT/rootbox/exec/rt/stdout" || fail "guest root's terminal: $(cat "$MNT/rootbox/exec/rt/stdout")"
	[ "$(output_of rootbox 'ls /dev/pts | grep -vc ptmx')" = 1 ] || fail "rootbox sees: $(output_of rootbox 'ls /dev/pts')"
	# Guest root cannot move the guest's devpts away (a mount point) nor
	# plant a link where bottlefs opens the next terminal.
	refused_in rootbox 'mv /dev/pts /dev/pts.old' || fail "guest root moved /dev/pts"
	refused_in rootbox 'umount -l /dev/pts' || fail "guest root unmounted /dev/pts"
	refused_in rootbox 'rm -f /dev/pts/ptmx && ln -s /proc/1/root /dev/pts/ptmx' || fail "guest root replaced ptmx"
	session after 'tty' rootbox
	[ "$(timeout 10 cat "$MNT/rootbox/exec/after/wait")" = "exited 0" ] && grep -q '^/dev/pts/' "$MNT/rootbox/exec/after/stdout" ||
		fail "a terminal after the attempts: $(cat "$MNT/rootbox/exec/after/stdout")"
	echo kill >"$MNT/rootbox/exec/rt/ctl"
	ok "guest root's terminal is root's; guest root cannot move, unmount or replace the guest's devpts"
fi

# --- refusals: clear errors, nothing changes
mkdir "$MNT/box/exec/bad"
for size in 0x40 120x0 10000x40 abc 120x40x2 -1x5; do
	if echo "pty $size" >"$MNT/box/exec/bad/ctl" 2>/dev/null; then fail "pty $size accepted"; fi
	assert_contains errors "$(tail -1 "$MNT/errors")" "bad terminal size \"$size\""
done
if echo 'resize 80x24' >"$MNT/box/exec/bad/ctl" 2>"$TMP/err"; then fail "resize without a terminal accepted"; fi
assert_contains "resize errno" "$(cat "$TMP/err")" "Inappropriate ioctl"
assert_contains errors "$(tail -1 "$MNT/errors")" "has no terminal"
echo 'echo plain' >"$MNT/box/exec/bad/cmd"
if echo 'pty 80x24' >"$MNT/box/exec/bad/ctl" 2>"$TMP/err"; then fail "pty after the start accepted"; fi
assert_contains "pty errno" "$(cat "$TMP/err")" "busy"
[ "$(timeout 10 cat "$MNT/box/exec/bad/wait")" = "exited 0" ] && [ "$(cat "$MNT/box/exec/bad/stdout")" = plain ] ||
	fail "refusals changed the session"
assert_alive
ok "bad sizes (EINVAL), resize without a terminal (ENOTTY), pty after cmd (EBUSY) are refused with a reason in errors"

# --- bottlefs-attach through a real terminal (script gives it one)
mkdir "$MNT/box/exec/a"
{ sleep 1; printf 'stty size; tty\r'; sleep 0.5; printf 'exit 3\r'; sleep 2; } |
	timeout 20 script -qfec "stty cols 100 rows 30; $ATTACH $MNT/box/exec/a" /dev/null >"$TMP/a.out" && rc=0 || rc=$?
[ "$rc" = 3 ] || fail "attach exit code $rc, not the command's 3: $(cat -A "$TMP/a.out")"
out=$(tr -d '\r' <"$TMP/a.out")
grep -qx '30 100' <<<"$out" || fail "attach: the size of its terminal did not reach the guest: $out"
grep -qx '/dev/pts/[0-9]*' <<<"$out" || fail "attach: no terminal: $out"
assert_contains "attach" "$out" "[exited 3]"
ok "bottlefs-attach starts a new session with its terminal's size, relays keys in raw mode and exits with the command's status"

mkdir "$MNT/box/exec/d"
{ sleep 1; printf 'echo one\r'; sleep 0.5; printf '\035'; sleep 2; } |
	timeout 20 script -qfec "$ATTACH $MNT/box/exec/d" /dev/null >"$TMP/d.out" || fail "detach: $(cat -A "$TMP/d.out")"
assert_contains detach "$(cat "$TMP/d.out")" "[detached"
[ "$(cat "$MNT/box/exec/d/status")" = running ] || fail "detach ended the command"
# Re-attached, the guest sees the window change the terminal goes through.
{ sleep 1; printf 'stty size\r'; sleep 0.5; printf 'exit\r'; sleep 2; } |
	timeout 20 script -qfec "sh -c 'stty cols 100 rows 30; exec 3<&0; $ATTACH $MNT/box/exec/d <&3 & sleep 0.5; stty cols 90 rows 20; wait \$!'" /dev/null >"$TMP/d2.out" ||
	fail "re-attach: $(cat -A "$TMP/d2.out")"
tr -d '\r' <"$TMP/d2.out" | grep -qx '20 90' || fail "SIGWINCH not relayed: $(cat -A "$TMP/d2.out")"
[ "$(cat "$MNT/box/exec/d/status")" = "exited 0" ] || fail "after re-attach: $(cat "$MNT/box/exec/d/status")"
if "$ATTACH" "$MNT/box/exec/p" </dev/null 2>"$TMP/err"; then fail "attach to an ended session"; fi
assert_contains "attach ended" "$(cat "$TMP/err")" "session is exited 0"
mkdir "$MNT/box/exec/np"
echo 'sleep 30' >"$MNT/box/exec/np/cmd"
if "$ATTACH" "$MNT/box/exec/np" </dev/null 2>"$TMP/err"; then fail "attach to a session without a terminal"; fi
assert_contains "attach np" "$(cat "$TMP/err")" "no terminal"
echo kill >"$MNT/box/exec/np/ctl"
ok "^] detaches and the command goes on; re-attach relays SIGWINCH as resize; ended and terminal-less sessions are refused"
