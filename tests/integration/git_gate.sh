#!/bin/bash
# git-gate: real git in a real guest clones, fetches and pushes through
# GIT_GATE_URL; the host sees the agent's refs in NAME/git/ and fetches
# them from NAME/git/mirror.git. Refused: pushes outside [git] push,
# force-pushes, deletions and tags (unless allowed), a repository the
# writer cannot read, requests that are not git's, other host users.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
command -v git >/dev/null || { echo "SKIP: git not installed"; exit 77; }

HR=$TMP/hostrepo
hgit() { git -C "$HR" -c user.email=host@example.com -c user.name=host "$@"; }
git init -q -b main "$HR"
hgit commit -q --allow-empty -m base
hgit branch feature
hgit branch bottle/hosts-own     # a host branch in the agent's namespace: never shown
# A hook in the host repository: it must never run for the guest.
printf '#!/bin/sh\ntouch %s/hook-ran\n' "$TMP" >"$HR/.git/hooks/post-update"
chmod +x "$HR/.git/hooks/post-update"

mount_fs
TOOLS=$(tools_image_toml git)
gate_manifest() {   # NAME [GIT-TABLE-LINES] [USER]
	printf 'agent = "t"\n%scommand = ["sleep", "100000"]\n%s[git]\nrepo = "%s"\n%s\n' \
		"$TOOLS${TOOLS:+
}" "${3:+user = \"$3\"
}" "$HR" "${2:-push = [\"bottle/*\"]}" | cat >"$MNT/new/$1"
}
# A guest's git: quiet, an identity for commits, in /tmp/r.
G='export HOME=/tmp; git config --global user.email agent@example.com; git config --global user.name agent; git config --global init.defaultBranch main; cd /tmp'

# --- manifest: [git] enables the gate; bad tables are refused with a reason
gate_manifest g || fail "create: $(tail -2 "$MNT/errors")"
GH=$(grep -o 'guest_sidecar_host = "[^"]*"' "$MNT/g/plan.toml" | cut -d'"' -f2)
grep -qx "GIT_GATE_URL=git://$GH:9418/repo.git" "$MNT/g/env" || fail "GIT_GATE_URL: $(grep GIT "$MNT/g/env")"
$PY - "$MNT/g/plan.toml" "$HR" <<'PY' || fail "plan.toml's [git]"
import sys, tomllib
git = tomllib.load(open(sys.argv[1], "rb"))["git"]
assert git == {"repo": sys.argv[2], "push": ["bottle/*"], "fetch": ["*"], "force": False}, git
PY
ls "$MNT/g" | grep -qx git || fail "no git/ in a gated bottle"
[ "$(ls "$MNT/g/git" | tr '\n' ' ')" = "log mirror.git refs " ] || fail "git/ holds: $(ls "$MNT/g/git")"
HDR="agent = \"t\"
$TOOLS"
refuse_manifest() {   # NAME REASON, manifest on stdin
	if cat >"$MNT/new/$1" 2>/dev/null; then fail "$1 accepted"; fi
	assert_contains errors "$(tail -1 "$MNT/errors")" "$2"
	[ ! -e "$MNT/$1" ] || fail "$1 half-created"
}
printf '%s\n[sidecars]\ngit_gate = true\n' "$HDR" | refuse_manifest nogit "git_gate needs a [git] table"
printf '%s\n[git]\npush = ["x"]\n' "$HDR" | refuse_manifest norepo "[git] needs repo"
printf '%s\n[git]\nrepo = "relative"\n' "$HDR" | refuse_manifest relrepo "must be an absolute path"
printf '%s\n[git]\nrepo = "%s/none"\n' "$HDR" "$TMP" | refuse_manifest missing "[git] repo $TMP/none: No such file"
printf '%s\n[git]\nrepo = "%s"\npush = ["a/**"]\n' "$HDR" "$HR" | refuse_manifest stars "may hold one '*'"
printf '%s\n[git]\nrepo = "%s"\npush = ["../x"]\n' "$HDR" "$HR" | refuse_manifest dots "not a valid ref name"
printf '%s\n[git]\nrepo = "%s"\nforce = "yes"\n' "$HDR" "$HR" | refuse_manifest forcetype "must be a boolean"
printf '%s\n[git]\nrepo = "%s"\nmirror = 1\n' "$HDR" "$HR" | refuse_manifest unknown "mirror"
printf 'agent = "t"\n%s\n' "$TOOLS" >"$MNT/new/plain"
! ls "$MNT/plain" | grep -qx git || fail "git/ in a bottle without a gate"
[ ! -e "$MNT/plain/git" ] || fail "plain/git exists"
ok "[git] enables the gate (env, plan.toml, git/); missing repo, bad patterns and types are refused, nothing half-made"

# --- clone and fetch: the host's branches, not the agent's namespace, not the host's hooks
echo start >"$MNT/g/ctl" || fail "start: $(tail -2 "$MNT/errors")"
out=$(output_of g "$G; git clone -q \"\$GIT_GATE_URL\" r 2>&1 && cd r && git log --format=%s && git branch -r")
assert_contains clone "$out" "base"
assert_contains clone "$out" "origin/HEAD -> origin/main"
assert_contains clone "$out" "origin/feature"
case "$out" in *hosts-own*) fail "the host's bottle/ branch was served: $out" ;; esac
[ ! -e "$TMP/hook-ran" ] || fail "the host repository's hook ran"
hgit commit -q --allow-empty -m "host update"
out=$(output_of g "$G/r; git pull -q 2>&1; git log -1 --format=%s")
[ "$out" = "host update" ] || fail "fetch did not bring the host's new commit: $out"
ok "clone and fetch serve the host's branches and HEAD as they are now; the agent's namespace and the host's hooks are not the host's to give"

# --- push: allowed, refused, force, delete, tag
out=$(output_of g "$G/r; git commit -q --allow-empty -m agent-work && git push -q origin HEAD:bottle/one 2>&1; git rev-parse HEAD")
sha=$(tail -1 <<<"$out")
grep -qx "$sha refs/heads/bottle/one" "$MNT/g/git/refs" || fail "git/refs: $(cat "$MNT/g/git/refs")"
grep -q "push refs/heads/bottle/one 000000000000..${sha:0:12}" "$MNT/g/git/log" || fail "git/log: $(cat "$MNT/g/git/log")"
git -C "$TMP" clone -q "$MNT/g/git/mirror.git" back || fail "the host cannot clone git/mirror.git"
[ "$(git -C "$TMP/back" rev-parse origin/bottle/one)" = "$sha" ] || fail "mirror.git's bottle/one is not the push"
git -C "$HR" fetch -q "$MNT/g/git/mirror.git" "bottle/one:refs/remotes/agent/one" || fail "git fetch from mirror.git"
[ "$(git -C "$HR" rev-parse agent/one)" = "$sha" ] || fail "fetched the wrong commit"
out=$(run_in g "$G/r; git push origin HEAD:main 2>&1")
assert_contains "push to main" "$out" "remote: bottlefs: refs/heads/main: not in [git] push (bottle/*)"
assert_contains "push to main" "$out" "[remote rejected] HEAD -> main (hook declined)"
[ "$(hgit rev-parse main)" != "$sha" ] || fail "main moved on the host"
[ "$(git -C "$TMP/back" ls-remote "$MNT/g/git/mirror.git" refs/heads/main | cut -f1)" = "$(hgit rev-parse main)" ] ||
	fail "the mirror's main moved"
out=$(run_in g "$G/r; git commit -q --allow-empty --amend -m rewritten && git push -f origin HEAD:bottle/one 2>&1")
assert_contains force-push "$out" "not a fast-forward (a force-push needs [git] force = true)"
out=$(run_in g "$G/r; git push origin :bottle/one 2>&1")
assert_contains delete "$out" "deleting a ref needs [git] force = true"
out=$(run_in g "$G/r; git tag v1 && git push origin v1 2>&1")
assert_contains tag "$out" "refs/tags/v1: not in [git] push"
grep -qx "$sha refs/heads/bottle/one" "$MNT/g/git/refs" || fail "a refused push changed git/refs"
for what in "refused refs/heads/main" "refused refs/heads/bottle/one" "refused refs/tags/v1"; do
	grep -q "$what" "$MNT/g/git/log" || fail "no '$what' in git/log: $(cat "$MNT/g/git/log")"
done
ok "a push to bottle/* lands (git/refs, git/log, mirror.git fetchable by the host); main, a force-push, a deletion and a tag are refused with a reason the guest's git shows, and logged"

# --- guest root gets no more than the agent (docker runs guest root only
# on an engine with user namespaces: docker_userns.sh)
if [ "$BACKEND" != docker ]; then
	gate_manifest groot 'push = ["bottle/*"]' root || fail "create groot: $(tail -2 "$MNT/errors")"
	echo start >"$MNT/groot/ctl" || fail "start groot: $(tail -2 "$MNT/errors")"
	out=$(run_in groot "$G; id -u; git clone -q \"\$GIT_GATE_URL\" r 2>&1; cd r && git commit -q --allow-empty -m x && git push origin HEAD:main 2>&1")
	assert_contains "root's push to main" "$out" "not in [git] push"
	echo stop >"$MNT/groot/ctl"
	rmdir "$MNT/groot"
	ok "guest root's push to main is refused as the agent's is"
fi

# --- not git's protocol, another repository: an ERR packet, the daemon lives
out=$(output_of g "python3 -c '
import socket
def ask(data):
    s = socket.create_connection((\"$GH\", 9418))
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    s.settimeout(10)
    print(s.recv(200))
def pkt(body):
    return b\"%04x\" % (len(body) + 4) + body
ask(b\"GET / HTTP/1.1\\r\\n\\r\\n\")
ask(pkt(b\"git-upload-pack /other.git\\0host=x\\0\"))
ask(pkt(b\"git-upload-archive /repo.git\\0host=x\\0\"))
ask(b\"fff0\" + b\"a\" * 100)
'")
assert_contains "not git" "$out" "ERR bottlefs git-gate: not a git:// request"
assert_contains "other repo" "$out" "ERR bottlefs git-gate: no such repository"
assert_contains "other service" "$out" "ERR bottlefs git-gate: unknown service"
assert_contains "cut short" "$out" "b''"
assert_alive
ok "a request that is not git's, another repository or service get a git ERR packet, one cut short is closed; the daemon stays"

# --- a push racing host-side updates: both land, nothing lost
(for i in 1 2 3 4 5; do hgit commit -q --allow-empty -m "host $i"; sleep 0.2; done) &
track_bg $!
out=$(output_of g "$G/r; git reset -q --hard origin/bottle/one; for i in 1 2 3 4 5; do git pull -q --no-rebase origin main 2>&1 || echo PULL-FAILED; git commit -q --allow-empty -m race\$i; git push -q origin HEAD:bottle/race 2>&1 || echo PUSH-FAILED; done; git rev-parse HEAD")
wait
case "$out" in *FAILED*) fail "a fetch or push failed while the host changed: $out" ;; esac
race=$(tail -1 <<<"$out")
grep -qx "$race refs/heads/bottle/race" "$MNT/g/git/refs" || fail "bottle/race is not the last push: $(cat "$MNT/g/git/refs")"
[ "$(grep -c 'push refs/heads/bottle/race' "$MNT/g/git/log")" = 5 ] || fail "not 5 race pushes logged"
out=$(output_of g "$G/r; git fetch -q origin 2>&1; git rev-parse origin/main")
[ "$out" = "$(hgit rev-parse main)" ] || fail "after the race the mirror's main is $out, the host's $(hgit rev-parse main)"
ok "five pushes racing five host commits: every push lands and is logged, the mirror's main is the host's"

# --- kept across a restart; other host users read nothing of it
echo restart >"$MNT/g/ctl" || fail "restart: $(tail -2 "$MNT/errors")"
out=$(output_of g "$G; rm -rf r2; git clone -q \"\$GIT_GATE_URL\" r2 2>&1; cd r2 && git rev-parse origin/bottle/one")
[ "$out" = "$sha" ] || fail "bottle/one lost in a restart: $out"
if setpriv --reuid=65534 --regid=65534 --clear-groups ls "$MNT/g/git/mirror.git" >/dev/null 2>&1; then
	fail "another user lists git/mirror.git"
fi
[ "$(stat -c '%u' "$STATE/git/g/mirror.git")" -ge 1073741824 ] && [ "$(stat -c '%a' "$STATE/git/g/mirror.git")" = 700 ] ||
	fail "the mirror is $(stat -c '%u %a' "$STATE/git/g/mirror.git")"
ok "the mirror outlives a restart; it is the bottle id's alone (0700) and another host user cannot list it"

# --- [git] fetch narrows what the guest sees; force = true allows a rewrite
printf 'agent = "t"\n%scommand = ["sleep", "100000"]\n[git]\nrepo = "%s"\npush = ["bottle/*"]\nfetch = ["main"]\nforce = true\n' \
	"$TOOLS${TOOLS:+
}" "$HR" | cat >"$MNT/new/narrow" || fail "create narrow: $(tail -2 "$MNT/errors")"
echo start >"$MNT/narrow/ctl" || fail "start narrow: $(tail -2 "$MNT/errors")"
out=$(output_of narrow "$G; git ls-remote \"\$GIT_GATE_URL\" 2>&1")
assert_contains ls-remote "$out" "refs/heads/main"
case "$out" in *feature*) fail "fetch = [main] served feature: $out" ;; esac
out=$(output_of narrow "$G; git clone -q \"\$GIT_GATE_URL\" r 2>&1; cd r && git commit -q --allow-empty -m a && git push -q origin HEAD:bottle/f 2>&1 && git commit -q --allow-empty --amend -m b && git push -q -f origin HEAD:bottle/f 2>&1 && git push -q origin :bottle/f 2>&1 && echo all-pushed")
assert_contains force "$out" all-pushed
[ ! -s "$MNT/narrow/git/refs" ] || fail "a deleted ref is still in git/refs: $(cat "$MNT/narrow/git/refs")"
echo stop >"$MNT/narrow/ctl"
ok "fetch = [main] serves main alone; force = true lets a rewrite and a deletion through"

# --- git/refs and git/log say what a push did once the guest's git push
# has returned: read while the guest's command still runs, the moment it
# prints that the push is done. 20 000 host branches make listing the
# mirror's refs take long enough that a gate which updated git/refs after
# it had answered the guest would be caught.
MR=$TMP/manyrepo
git clone -q --bare "$HR" "$MR"
base=$(hgit rev-parse main)
seq 20000 | sed "s|.*|$base refs/heads/h&|" >>"$MR/packed-refs"
printf 'agent = "t"\n%scommand = ["sleep", "100000"]\n[git]\nrepo = "%s"\npush = ["bottle/*"]\nforce = true\n' \
	"$TOOLS${TOOLS:+
}" "$MR" | cat >"$MNT/new/many" || fail "create many: $(tail -2 "$MNT/errors")"
echo start >"$MNT/many/ctl" || fail "start many: $(tail -2 "$MNT/errors")"
output_of many "$G; git clone -q \"\$GIT_GATE_URL\" r 2>&1; git -C r branch -r | wc -l" >/dev/null
after_push() {   # CMD: runs it in many; sets refs and log as they are once it is done
	exec 5<>"$MNT/many/exec/run"
	printf '%s; echo PUSHED; sleep 5' "$1" >&5
	sed -n '/^PUSHED$/q' <&5
	refs=$(cat "$MNT/many/git/refs") log=$(cat "$MNT/many/git/log")
	exec 5>&-
}
for i in 1 2 3; do
	after_push "$G/r; git commit -q --allow-empty -m c$i && git push -q origin HEAD:bottle/n$i 2>&1"
	grep -q " refs/heads/bottle/n$i\$" <<<"$refs" || fail "push $i is not in git/refs yet: $refs"
	grep -q "push refs/heads/bottle/n$i " <<<"$log" || fail "push $i is not in git/log yet"
	after_push "$G/r; git push -q origin :bottle/n$i 2>&1"
	! grep -q "bottle/n$i\$" <<<"$refs" || fail "deletion $i is not in git/refs yet: $refs"
	after_push "$G/r; git push -q origin HEAD:refused$i 2>&1"
	grep -q "refused refs/heads/refused$i " <<<"$log" || fail "refusal $i is not in git/log yet"
done
ok "git/refs and git/log hold a push, a deletion and a refusal as soon as the guest's git push returns"

# --- a git/refs that cannot be rewritten keeps its content and log says why
mkdir "$STATE/git/many/refs.tmp"
after_push "$G/r; git commit -q --allow-empty -m late && git push -q origin HEAD:bottle/late 2>&1"
! grep -q "bottle/late\$" <<<"$refs" || fail "git/refs rewritten through a directory: $refs"
assert_contains git/log "$log" "push refs/heads/bottle/late "
assert_contains git/log "$log" "git/refs not updated: Is a directory"
rmdir "$STATE/git/many/refs.tmp"
after_push "$G/r; git push -q origin HEAD:bottle/later 2>&1"
grep -q "bottle/late\$" <<<"$refs" && grep -q "bottle/later\$" <<<"$refs" ||
	fail "git/refs not caught up after the next push: $refs"
echo stop >"$MNT/many/ctl"
ok "a git/refs that cannot be rewritten keeps its content, git/log says why, the next push catches it up"

# --- the host repository is read as the manifest's writer
echo stop >"$MNT/g/ctl"
unmount_fs
$PY - "$STATE/bottles/g.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["owner_uid"] = 65534
json.dump(r, open(sys.argv[1], "w"))
PY
chmod 700 "$HR"
mount_fs
echo start >"$MNT/g/ctl" || fail "start as 65534: $(tail -2 "$MNT/errors")"
out=$(run_in g "$G; git ls-remote \"\$GIT_GATE_URL\" 2>&1")
assert_contains "unreadable repo" "$out" "fatal: remote error: cannot read $HR"
grep -q "fetch refused: cannot read $HR" "$MNT/g/git/log" || fail "the refusal is not in git/log"
chmod 755 "$HR"
out=$(output_of g "$G; git ls-remote \"\$GIT_GATE_URL\" 2>&1")
assert_contains "readable repo" "$out" "refs/heads/main"
ok "the host repository is read as the manifest's writer: one it cannot read is refused (and logged), the daemon's root does not stand in"

# --- rmdir takes the mirror with it
echo stop >"$MNT/g/ctl"
rmdir "$MNT/g" || fail "rmdir g"
[ ! -e "$STATE/git/g" ] || fail "rmdir left $STATE/git/g"
ok "rmdir removes the bottle's mirror, log and refs"
