#!/bin/bash
# Blocked readers cost no threads: 2000 readers of a session's wait (and
# of stdout, and a one-shot exec/run) that will not answer for a long
# time; the mount still answers ls, ctl, exec and umount at once, the
# daemon's threads stay few, and every reader can be killed at once.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }

# kill_all PID...: SIGKILL to each, then up to 5 s until none is left.
kill_all() {
	local p left _
	kill -9 "$@" 2>/dev/null || true
	for _ in $(seq 100); do
		left=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
		[ "$left" = 0 ] && return 0
		sleep 0.05
	done
	fail "$left readers could not be killed"
}

threads_of() {
	awk '/^Threads:/ {print $2}' "/proc/$1/status"
}

mount_fs -o allow_other,read_gid=65534
daemon=$(pgrep -f -- "state=$STATE " | head -1)
printf 'agent = "test"\n%s\n' "$(image_toml)" >"$MNT/new/box"
echo start >"$MNT/box/ctl" || fail "start"
mkdir "$MNT/box/exec/idle" "$MNT/box/exec/slow"
echo 'sleep 1000' >"$MNT/box/exec/slow/cmd"
before=$(threads_of "$daemon")

# As a user with read_gid access only, as in the attack.
readers=()
for i in $(seq 2000); do
	case $((i % 4)) in
	0) f=$MNT/box/exec/idle/wait ;;
	1) f=$MNT/box/exec/slow/wait ;;
	2) f=$MNT/box/exec/slow/stdout ;;
	3) f=$MNT/box/exec/idle/stdout ;;
	esac
	setpriv --reuid=65534 --regid=65534 --groups=65534 cat "$f" >/dev/null 2>&1 &
	readers+=("$!")
	BG_PIDS+=("$!")
done
sleep 2
blocked=0
for p in "${readers[@]}"; do kill -0 "$p" 2>/dev/null && blocked=$((blocked + 1)); done
[ "$blocked" -ge 1990 ] || fail "only $blocked of 2000 readers are blocked (test assumption)"
during=$(threads_of "$daemon")
[ "$during" -le $((before + 20)) ] || fail "2000 blocked readers took $((during - before)) daemon threads"
t0=$(date +%s%N)
timeout 5 ls "$MNT" >/dev/null || fail "ls hangs with 2000 blocked readers"
[ "$(timeout 5 cat "$MNT/box/ctl")" = running ] || fail "cat ctl hangs"
out=$(timeout 5 bash -c '{ printf "echo still" >&3; cat <&3; } 3<>"$1"' _ "$MNT/box/exec/run") ||
	fail "exec hangs"
[ "$out" = "$(printf 'still\nexited 0')" ] || fail "exec with 2000 blocked readers: $out"
ms=$((($(date +%s%N) - t0) / 1000000))
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status")
ok "2000 blocked readers: daemon threads $before -> $during, VmRSS $rss KiB; ls, cat ctl and an exec answered in $ms ms"

# Every reader ends at once when killed.
t0=$(date +%s%N)
kill_all "${readers[@]}"
ok "SIGKILL ends all 2000 blocked readers in $((($(date +%s%N) - t0) / 1000000)) ms"

# A reader put aside is answered when the command ends; Ctrl-C ends one.
cat "$MNT/box/exec/slow/wait" >"$TMP/slow-wait" &
waiter=$!
BG_PIDS+=("$waiter")
timeout -s INT 1 cat "$MNT/box/exec/idle/wait" && fail "an interrupted read did not fail"
echo kill >"$MNT/box/exec/slow/ctl"
for _ in $(seq 50); do kill -0 "$waiter" 2>/dev/null || break; sleep 0.1; done
[ "$(cat "$TMP/slow-wait")" = "killed 9" ] || fail "the waiting reader got: $(cat "$TMP/slow-wait")"
ok "a reader put aside gets the status when the command ends; SIGINT ends another"

# umount answers at once with readers still waiting (busy: they hold
# open files); once they are killed it unmounts, and the daemon exits.
late=()
for i in $(seq 200); do
	cat "$MNT/box/exec/idle/wait" >/dev/null 2>&1 &
	late+=("$!")
	BG_PIDS+=("$!")
done
sleep 1
echo stop >"$MNT/box/ctl"
t0=$(date +%s%N)
timeout 10 umount "$MNT" 2>/dev/null && fail "umount succeeded under open files (test assumption)"
[ $? != 124 ] || fail "umount hangs with 200 blocked readers"
busy_ms=$((($(date +%s%N) - t0) / 1000000))
kill_all "${late[@]}"
unmount_fs
ok "umount answers in $busy_ms ms with 200 readers waiting (busy); killed, they let it unmount and the daemon exit"
