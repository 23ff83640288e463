#!/bin/bash
# The kernel caches names, attributes and pages of a bottle's rendered
# files (bottlefs(8), CACHING): every change must show at once to the one
# who made it, and to everyone soon after a change nobody wrote (a guest
# that ends by itself); sizes in stat are always the contents' sizes.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }

mount_fs
IMAGE_TOML=$(image_toml)

# honest FILE: stat's size is what a read gives.
honest() {
	local size len
	size=$(stat -c %s "$1")
	len=$(wc -c <"$1")
	[ "$size" = "$len" ] || fail "$1: stat says $size bytes, a read gives $len"
}

read_all() {  # fills the cache: names, attributes, pages
	local f
	for f in manifest plan.toml env network.yaml status ctl allow; do
		cat "$MNT/$1/$f" >/dev/null
		stat "$MNT/$1/$f" >/dev/null
	done
}

printf 'agent = "one"\n%s\ncommand = ["sleep", "1000"]\n' "$IMAGE_TOML" >"$MNT/new/box"
read_all box
exec 7<"$MNT/box/plan.toml"    # held open across the change
printf 'agent = "two"\n%s\ncommand = ["sleep", "1000"]\n[env]\nNEWVAR = "x"\n' "$IMAGE_TOML" >"$MNT/box/manifest"
exec 7<&-
grep -qx 'agent = "two"' "$MNT/box/plan.toml" || fail "plan.toml after a manifest change: $(head -3 "$MNT/box/plan.toml")"
grep -q 'NEWVAR' "$MNT/box/env" || fail "env after a manifest change"
grep -qx 'agent = "two"' "$MNT/box/manifest" || fail "manifest after its change"
for f in manifest plan.toml env status; do honest "$MNT/box/$f"; done
ok "a manifest change shows at once in manifest, plan.toml and env (even with one held open), with honest sizes"

echo start >"$MNT/box/ctl" || fail "start: $(tail -2 "$MNT/errors")"
[ "$(cat "$MNT/box/ctl")" = running ] || fail "ctl right after start: $(cat "$MNT/box/ctl")"
assert_contains status "$(cat "$MNT/box/status")" "state: running"
honest "$MNT/box/status"
honest "$MNT/box/ctl"
read_all box
echo stop >"$MNT/box/ctl"
[ "$(cat "$MNT/box/ctl")" = stopped ] || fail "ctl right after stop: $(cat "$MNT/box/ctl")"
honest "$MNT/box/status"
ok "ctl and status show start and stop at once to the writer, sizes honest"

printf 'example.com\n' >"$MNT/box/allow"
[ "$(cat "$MNT/box/allow")" = example.com ] || fail "allow after a write: $(cat "$MNT/box/allow")"
honest "$MNT/box/allow"
ok "an allowlist write shows at once"

# A change nobody wrote: the guest ends by itself.
printf 'agent = "t"\n%s\ncommand = ["sleep", "1"]\n' "$IMAGE_TOML" >"$MNT/new/brief"
echo start >"$MNT/brief/ctl"
read_all brief
for _ in $(seq 50); do [ "$(cat "$MNT/brief/ctl")" = stopped ] && break; sleep 0.1; done
[ "$(cat "$MNT/brief/ctl")" = stopped ] || fail "a guest's own end not seen: $(cat "$MNT/brief/ctl")"
assert_contains status "$(cat "$MNT/brief/status")" "exit: exited 0"
honest "$MNT/brief/status"
ok "a guest that ends by itself shows as stopped within moments, status honest"

# Gone and made again under the same name: nothing of the old one shows.
read_all brief
rmdir "$MNT/brief"
! stat "$MNT/brief" 2>/dev/null || fail "a removed bottle still stats"
! ls "$MNT" | grep -qx brief || fail "a removed bottle is still listed"
printf 'agent = "reborn"\n%s\n' "$IMAGE_TOML" >"$MNT/new/brief" || fail "re-create brief: $(tail -1 "$MNT/errors")"
grep -qx 'agent = "reborn"' "$MNT/brief/plan.toml" || fail "the old bottle's plan shows: $(head -2 "$MNT/brief/plan.toml")"
[ "$(cat "$MNT/brief/ctl")" = planned ] || fail "the old bottle's ctl shows"
for f in plan.toml status ctl manifest; do honest "$MNT/brief/$f"; done
ok "rmdir and a new bottle of the same name: only the new one shows"

# Cached attributes keep permissions: another user still cannot look in.
if setpriv --reuid=65534 --regid=65534 --clear-groups ls "$MNT/box" >/dev/null 2>&1; then
	fail "another user listed a bottle through the cache"
fi
if setpriv --reuid=65534 --regid=65534 --clear-groups cat "$MNT/box/plan.toml" >/dev/null 2>&1; then
	fail "another user read a cached file"
fi
ok "another user is refused cached names and files as before"

rmdir "$MNT/box" "$MNT/brief"
assert_alive
unmount_fs
