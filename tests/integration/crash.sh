#!/bin/bash
# Crash safety: the daemon is killed with SIGKILL during a manifest write,
# a start, a streaming exec and an allow rewrite; the next mount has no
# half bottle, keeps every acknowledged write, re-attaches running guests
# and ends the commands of exec sessions nobody can read any more.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }

daemon_pid() {
	pgrep -f -- "state=$STATE " | head -1
}

# crash: SIGKILL to the daemon, then clear the dead mount.
crash() {
	local pid
	pid=$(daemon_pid || true)
	[ -n "$pid" ] || fail "no daemon to kill"
	kill -9 "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	umount "$MNT" 2>/dev/null || umount -l "$MNT"
}

mount_fs
IMAGE_TOML=$(image_toml)
printf 'agent = "test"\n%s\n' "$IMAGE_TOML" >"$MNT/new/keep"
echo start >"$MNT/keep/ctl" || fail "start keep"
keep_pid=$(sed -n 's/^pid: //p' "$MNT/keep/status")

# --- a manifest half written: nothing of it survives
exec 7>"$MNT/new/half"
printf 'agent = "te' >&7
crash
exec 7>&-
mount_fs
[ ! -e "$MNT/half" ] || fail "a half-written manifest became a bottle"
[ ! -e "$STATE/bottles/half.json" ] || fail "a half-written manifest left a record"
[ "$(cat "$MNT/keep/ctl")" = running ] || fail "keep is $(cat "$MNT/keep/ctl") after the crash"
[ "$(sed -n 's/^pid: //p' "$MNT/keep/status")" = "$keep_pid" ] || fail "keep was not re-attached to its guest"
[ "$(output_of keep 'echo alive')" = alive ] || fail "exec after re-attach"
ok "SIGKILL during a manifest write: no bottle, no record; the running bottle is re-attached"

# --- an acknowledged allow rewrite survives
printf 'one.example\ntwo.example\n' >"$MNT/keep/allow" || fail "allow write"
crash
mount_fs
[ "$(cat "$MNT/keep/allow")" = "$(printf 'one.example\ntwo.example')" ] || fail "allow lost: $(cat "$MNT/keep/allow")"
ok "SIGKILL right after an allow rewrite: the acknowledged list is kept"

# --- a streaming exec: the command is ended at the next mount (a VM's
# at once: its host helper sees the session's reader gone)
mkdir "$MNT/keep/exec/long"
echo 'echo started; exec sleep 987651' >"$MNT/keep/exec/long/cmd"
head -c 8 "$MNT/keep/exec/long/stdout" >/dev/null
if [ "$BACKEND" = microvm ]; then
	guest_runs_it() { output_of keep 'ps -o args' | grep -qx 'sleep 987651'; }
	guest_runs_it || fail "the session's command is not running"
	crash
	mount_fs
	for _ in $(seq 50); do guest_runs_it || break; sleep 0.1; done
	! guest_runs_it || fail "the orphaned exec command still runs"
else
	guest_sleep=$(pgrep -f -x 'sleep 987651' | head -1 || true)
	[ -n "$guest_sleep" ] || fail "the session's command is not running"
	crash
	kill -0 "$guest_sleep" 2>/dev/null || fail "the command ended with the daemon already (test assumption)"
	mount_fs
	for _ in $(seq 50); do kill -0 "$guest_sleep" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$guest_sleep" 2>/dev/null || fail "the orphaned exec command still runs"
	assert_contains log "$(cat "$MNT/keep/log")" "ended"
fi
[ "$(cat "$MNT/keep/ctl")" = running ] || fail "the killing of strays took the bottle down"
ok "SIGKILL during a streaming exec: the orphaned command is ended, the bottle runs on"

# --- a start cut short: the bottle is sane and starts again
printf 'agent = "test"\n%s\n' "$IMAGE_TOML" >"$MNT/new/cut"
echo start >"$MNT/cut/ctl" &
sleep 0.02
crash
wait || true
mount_fs
state=$(cat "$MNT/cut/ctl")
case "$state" in
running | planned | failed | stopped) ;;
*) fail "cut is in state $state after a crash mid-start" ;;
esac
[ "$state" = running ] || echo start >"$MNT/cut/ctl" || fail "start after a crash mid-start: $(tail -1 "$MNT/errors")"
[ "$(cat "$MNT/cut/ctl")" = running ] || fail "cut does not run"
n=$(containers_of cut)
[ "$n" = 1 ] || fail "$n containers for cut after the crash and a start"
echo stop >"$MNT/cut/ctl"
echo stop >"$MNT/keep/ctl"
ok "SIGKILL during a start: after the next mount the bottle is $state, starts, and has one container"

assert_alive
unmount_fs
