#!/bin/bash
# Persistence: bottles survive unmount and remount identical; corrupt or
# truncated records are reported and skipped; writes leave no temp files.
. "$(dirname "$0")/lib.sh"

snapshot() {  # prints every file of every bottle
	local d f
	for d in "$MNT"/*/; do
		case "$(basename "$d")" in new) continue ;; esac
		for f in "$d"*; do
			printf '== %s\n' "${f#"$MNT"/}"
			cat "$f"
		done
	done
}

mount_fs
printf 'agent = "claude"\n[env]\nK = "v \\"w\\""\n[network]\nallow = ["a.example"]\n' >"$MNT/new/alpha"
printf 'agent = "codex"\nbackend = "oci"\n[git]\nrepo = "%s"\n' "$TMP" >"$MNT/new/beta"
printf 'agent = "x"\n' >"$MNT/new/gamma"
rmdir "$MNT/gamma"
before=$(snapshot)
[ -n "$before" ] || fail "empty snapshot"
ls -A "$STATE/bottles" | grep -v '\.json$' && fail "stray files in the state dir"
unmount_fs

mount_fs
after=$(snapshot)
[ "$before" = "$after" ] || fail "remount differs: $(diff <(echo "$before") <(echo "$after"))"
[ ! -e "$MNT/gamma" ] || fail "removed bottle came back"
ok "unmount and remount give back identical bottles"
unmount_fs

# A remount with another default backend keeps each bottle's backend.
mount_fs -o backend=docker
grep -qx 'backend = "oci"' "$MNT/alpha/plan.toml" || fail "alpha changed backend"
unmount_fs
ok "a bottle keeps the backend it was planned with"

# Damage the state dir: truncated record, garbage, wrong shape, bad name.
cp "$STATE/bottles/beta.json" "$TMP/beta.json"
head -c 100 "$TMP/beta.json" >"$STATE/bottles/beta.json"
printf '\x00\x01garbage' >"$STATE/bottles/junk.json"
printf '{"version": 1, "name": "other"}' >"$STATE/bottles/shape.json"
printf '{}' >"$STATE/bottles/Not-Valid.json"
mount_fs
[ -d "$MNT/alpha" ] || fail "good bottle alpha missing"
[ ! -e "$MNT/beta" ] || fail "truncated beta loaded"
errors=$(cat "$MNT/errors")
assert_contains errors "$errors" "state: beta.json: corrupt or truncated JSON (skipped)"
assert_contains errors "$errors" "state: junk.json: corrupt or truncated JSON (skipped)"
assert_contains errors "$errors" "state: shape.json: name does not match the file name (skipped)"
assert_contains errors "$errors" "state: Not-Valid.json: not a valid bottle name (skipped)"
assert_alive
ok "corrupt and truncated state records are reported in errors and skipped"

# A new bottle with the damaged name replaces the bad record atomically.
printf 'agent = "again"\n' >"$MNT/new/beta"
$PY -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["manifest"] == "agent = \"again\"\n", r' \
	"$STATE/bottles/beta.json" || fail "beta.json not rewritten as valid JSON"
ls -A "$STATE/bottles" | grep '^\.' && fail "temp files left in the state dir"
unmount_fs
ok "state writes replace records whole and leave no temp files"

# Two records claiming one guest id range (a damaged state dir): one moves
# to a free range, is rewritten and reported; the other keeps its own.
$PY - "$STATE/bottles/alpha.json" "$STATE/bottles/beta.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))
b = json.load(open(sys.argv[2]))
b["id_base"] = a["id_base"]
json.dump(b, open(sys.argv[2], "w"))
PY
mount_fs
ua=$(sed -n 's/^uid_map: 0 \([0-9]*\) .*/\1/p' "$MNT/alpha/status")
ub=$(sed -n 's/^uid_map: 0 \([0-9]*\) .*/\1/p' "$MNT/beta/status")
[ -n "$ua" ] && [ -n "$ub" ] && [ "$ua" != "$ub" ] || fail "shared id range kept: $ua $ub"
assert_contains errors "$(cat "$MNT/errors")" "state: guest id range missing or shared, moved to"
unmount_fs
mount_fs
[ "$(sed -n 's/^uid_map: 0 \([0-9]*\) .*/\1/p' "$MNT/beta/status")" = "$ub" ] &&
	[ "$(sed -n 's/^uid_map: 0 \([0-9]*\) .*/\1/p' "$MNT/alpha/status")" = "$ua" ] || fail "the move was not saved"
! grep -q "moved to" "$MNT/errors" || fail "moved again at the next mount"
unmount_fs
ok "two records sharing a guest id range: one is moved, rewritten and reported"

# Unwritable state dir: the mount fails with a reason.
if out=$("$BOTTLEFS" -o state=/proc/nonexistent "$MNT" 2>&1); then
	fail "mounted with an unusable state dir"
fi
assert_contains "state dir error" "$out" "cannot create state dir /proc/nonexistent"
ok "an unusable state dir fails the mount with a message"
