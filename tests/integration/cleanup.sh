#!/bin/bash
# MNT/cleanup on $BACKEND: each kind of orphan a state dir can hold
# (a runc or docker container or a VM, and the storage of a bottle whose record is gone, an
# unreadable record, a stray allowlist) is listed with what removing does,
# `echo run` removes exactly those, and the file then reads empty; live
# bottles and their containers are never touched; bad messages refused.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }

mount_fs
[ -z "$(cat "$MNT/cleanup")" ] || fail "a fresh state dir has orphans: $(cat "$MNT/cleanup")"
[ "$(stat -c %a "$MNT/cleanup")" = 600 ] || fail "cleanup mode $(stat -c %a "$MNT/cleanup")"
ls "$MNT" | grep -qx cleanup || fail "cleanup not listed"
ok "cleanup exists (0600), listed at the root, empty for a fresh state dir"

IMAGE_TOML=$(image_toml)
printf 'agent = "t"\n%s\ncommand = ["sleep", "1000"]\n' "$IMAGE_TOML" >"$MNT/new/keep"
printf 'agent = "t"\n%s\ncommand = ["sleep", "1000"]\n' "$IMAGE_TOML" >"$MNT/new/lost"
echo start >"$MNT/keep/ctl" && echo start >"$MNT/lost/ctl" || fail "start: $(tail -2 "$MNT/errors")"
keep_pid=$(sed -n 's/^pid: //p' "$MNT/keep/status")
lost_id=$(sed -n 's/^container_id: //p' "$MNT/lost/status")
lost_pid=$(sed -n 's/^pid: //p' "$MNT/lost/status")
unmount_fs
# The record of "lost" goes (by hand): its container and storage remain.
rm "$STATE/bottles/lost.json"
# An unreadable record, a stray allowlist, a stale storage dir.
echo '{ not json' >"$STATE/bottles/broken.json"
echo 'example.com' >"$STATE/allow/ghost"
mkdir -p "$STATE/run/stale/sub"
echo data >"$STATE/run/stale/sub/file"
mount_fs
plan=$(cat "$MNT/cleanup")
# What the backend made for it: a runc container (named for its
# identity), or a docker container (by its id).
kind=runc-container
[ "$BACKEND" != docker ] || kind=docker-container
# A VM by the name of its run dir (its shim and QEMU are found by it).
[ "$BACKEND" != microvm ] || { kind=microvm-vm; lost_id=lost; }
assert_contains plan "$plan" "$kind $lost_id: "
assert_contains plan "$plan" "run-dir lost: $STATE/run/lost"
assert_contains plan "$plan" "state-record broken.json: $STATE/bottles/broken.json"
assert_contains plan "$plan" "allowlist ghost: $STATE/allow/ghost"
assert_contains plan "$plan" "run-dir stale: $STATE/run/stale"
[ "$(wc -l <<<"$plan")" = 5 ] || fail "plan: $plan"
grep -q "keep" <<<"$plan" && fail "a live bottle is in the plan: $plan"
ok "the plan lists a $kind and storage whose bottle is gone, an unreadable record, a stray allowlist and a stale storage dir, and nothing of a live bottle"

# Refusals first: nothing is removed.
for bad in "runn" "run now" "delete"; do
	if printf '%s' "$bad" >"$MNT/cleanup" 2>/dev/null; then fail "cleanup accepted '$bad'"; fi
done
assert_contains errors "$(tail -1 "$MNT/errors")" "cleanup: unknown control message"
[ "$(cat "$MNT/cleanup")" = "$plan" ] || fail "a refused message changed the plan"
if su nobody -s /bin/sh -c "cat $MNT/cleanup" 2>/dev/null; then fail "nobody reads cleanup"; fi
ok "bad messages are refused (EINVAL, errors) and change nothing; another user cannot read it"

echo run >"$MNT/cleanup" || fail "run: $(tail -3 "$MNT/errors")"
[ -z "$(cat "$MNT/cleanup")" ] || fail "orphans left: $(cat "$MNT/cleanup")"
[ ! -e "$STATE/bottles/broken.json" ] && [ ! -e "$STATE/allow/ghost" ] && [ ! -e "$STATE/run/stale" ] &&
	[ ! -e "$STATE/run/lost" ] || fail "files left: $(ls "$STATE"/*)"
[ "$(containers_of lost)" = 0 ] || fail "the orphan container remains"
for _ in $(seq 50); do kill -0 "$lost_pid" 2>/dev/null || break; sleep 0.1; done
! kill -0 "$lost_pid" 2>/dev/null || fail "the orphan's process still runs"
[ "$(cat "$MNT/keep/ctl")" = running ] && kill -0 "$keep_pid" || fail "the live bottle was touched"
[ "$(output_of keep 'echo alive')" = alive ] || fail "exec in the live bottle"
ok "echo run removes exactly the orphans (the container and its process too); cleanup then reads empty; the live bottle runs on"
