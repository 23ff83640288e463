#!/bin/bash
# Manifests: creating bottles through new/, the generated files, hostile
# bytes, refusals with errno and an `errors` line, re-planning, rmdir.
. "$(dirname "$0")/lib.sh"

mount_fs

# --- creating: cat, cp, and several writes in pieces
cat >"$TMP/demo.toml" <<'TOML'
agent = "claude"
command = ["sleep", "infinity"]

[env]
ANTHROPIC_BASE_URL = "https://api.anthropic.com"

[workspace]
path = "/tmp"
mode = "bind"

[network]
allow = ["api.anthropic.com", "*.githubusercontent.com", "registry.npmjs.org:443"]

[limits]
cpus = 2
memory = "2G"
pids = 512
TOML
cat "$TMP/demo.toml" >"$MNT/new/demo"
[ -d "$MNT/demo" ] || fail "cat > new/demo did not create demo/"
[ "$(ls "$MNT/demo" | tr '\n' ' ')" = "allow check ctl egress env exec log manifest network.yaml plan.toml status " ] ||
	fail "demo/ holds: $(ls "$MNT/demo")"
[ -z "$(ls "$MNT/new")" ] || fail "new/ not empty after close: $(ls "$MNT/new")"
cmp "$TMP/demo.toml" "$MNT/demo/manifest" || fail "manifest differs from what was written"
ok "cat > new/demo creates demo/ with manifest plan.toml env network.yaml status ctl log exec/ allow egress check/"

cp "$TMP/demo.toml" "$MNT/new/copied" || fail "cp failed"
[ -d "$MNT/copied" ] || fail "cp did not create copied/"
$PY - "$MNT/new/pieces" <<'PY' || fail "writing in pieces failed"
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for piece in [b'agent', b' = "cl', b'aude"\n', b'[env]\nA = "1"\n']:
    os.write(fd, piece)
os.close(fd)
PY
[ "$(cat "$MNT/pieces/manifest")" = "$(printf 'agent = "claude"\n[env]\nA = "1"')" ] ||
	fail "pieces manifest: $(cat "$MNT/pieces/manifest")"
ok "cp and several write(2) calls in pieces create bottles"

# --- the generated files, parsed by independent parsers
$PY - "$MNT" <<'PY' || fail "generated files check failed"
import os, sys, tomllib, yaml
mnt = sys.argv[1]
def fnv_octet(name):
    h = 2166136261
    for c in name.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    o = 1 + h % 254
    return o + 1 if o == 17 else o

plan = tomllib.loads(open(f"{mnt}/demo/plan.toml").read())
assert plan["name"] == "demo" and plan["backend"] == "oci" and plan["agent"] == "claude", plan
assert plan["image"] == "host" and plan["user"] == "agent" and plan["workdir"] == "/work", plan
assert plan["command"] == ["sleep", "infinity"], plan["command"]
env = plan["env"]
assert env == sorted(env, key=lambda kv: kv.split("=", 1)[0]), env
for kv in ["ANTHROPIC_BASE_URL=https://api.anthropic.com",
           "HTTPS_PROXY=http://127.0.0.1:8888", "HTTP_PROXY=http://127.0.0.1:8888",
           "NO_PROXY=localhost,127.0.0.1"]:
    assert kv in env, (kv, env)
assert not any(kv.startswith(("GIT_GATE_URL=", "MCP_SUPERVISE_URL=")) for kv in env), env
o = fnv_octet("demo")
net = plan["network"]
assert net["subnet"] == f"192.168.{o}.0/24", net
assert net["gateway"] == f"192.168.{o}.1" and net["proxy"] == f"192.168.{o}.2", net
assert net["allow"] == ["api.anthropic.com", "*.githubusercontent.com", "registry.npmjs.org:443"], net
assert net["egress_proxy_port"] == 8888, net
assert plan["limits"] == {"cpus": 2, "memory": 2 << 30, "pids": 512, "tmp": 512 << 20, "disk": 10 << 30, "stop_timeout": 10}, plan["limits"]
assert plan["workspace"] == {"mode": "bind", "path": "/tmp"}, plan["workspace"]

envfile = open(f"{mnt}/demo/env").read().splitlines()
assert envfile == env, (envfile, env)

ny = yaml.safe_load(open(f"{mnt}/demo/network.yaml"))
assert ny["subnet"] == net["subnet"] and ny["gateway"] == net["gateway"], ny
assert ny["dns"] == [{"zone": ".", "records": [{"name": "proxy.internal", "ip": net["proxy"]}]}], ny
assert ny["port_forwards"] == [{"gateway_port": 8888, "host": "127.0.0.1", "host_port": 8888}], ny

status = dict(l.split(": ", 1) for l in open(f"{mnt}/demo/status").read().splitlines())
assert status["state"] == "planned", status
assert status["agent"] == "claude" and status["workspace"] == "/tmp", status
assert status["copy_mode"] == "bind" and status["identity"].startswith("demo-"), status
assert status["created_at"].endswith("Z"), status

# Honest sizes, full reads by every reader.
for f in ["plan.toml", "env", "network.yaml", "status", "manifest"]:
    p = f"{mnt}/demo/{f}"
    data = open(p, "rb").read()
    assert os.stat(p).st_size == len(data), (f, os.stat(p).st_size, len(data))
PY
[ "$(grep -c . "$MNT/demo/env")" = "$(wc -l <"$MNT/demo/env")" ] || fail "grep and wc disagree"
[ "$(less -FX "$MNT/demo/plan.toml" | md5sum)" = "$(cat "$MNT/demo/plan.toml" | md5sum)" ] ||
	fail "less read differs from cat"
ok "plan.toml, env, network.yaml, status parse and hold the right values; sizes are honest"

# Sidecar variables appear only when enabled.
manifest "[sidecars]
supervise = true
[git]
repo = \"$TMP\"" >"$MNT/new/sidecars"
grep -qx 'GIT_GATE_URL=git://127.0.0.1:9418/repo.git' "$MNT/sidecars/env" || fail "no GIT_GATE_URL"
grep -qx 'MCP_SUPERVISE_URL=http://127.0.0.1:9100' "$MNT/sidecars/env" || fail "no MCP_SUPERVISE_URL"
ok "GIT_GATE_URL and MCP_SUPERVISE_URL only when enabled"

# --- hostile bytes round-trip exactly through plan.toml, env and network.yaml
$PY - "$MNT" <<'PY' || fail "hostile round trip failed"
import os, re, sys, tomllib, yaml
mnt = sys.argv[1]
values = ['quo"te', "back\\slash", "]", "a=b", "é漢🙂", "\u2028\u0085", "'single'", "#hash",
          "$(x)`y`", "\ufeff"]
names = ['N"', "N\\", "N]", "Né", "N\u2028", "N'", "N#", "N$", "N\u0085", "N\ufeff"]
def toml_basic(s):
    out = []
    for ch in s:
        if ch == '"': out.append('\\"')
        elif ch == "\\": out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7f: out.append("\\u%04X" % ord(ch))
        else: out.append(ch)
    return '"' + "".join(out) + '"'
lines = ['agent = "a"', "[env]"] + [f"{toml_basic(n)} = {toml_basic(v)}" for n, v in zip(names, values)]
fd = os.open(f"{mnt}/new/hostile", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
os.write(fd, ("\n".join(lines) + "\n").encode())
os.close(fd)
plan = tomllib.loads(open(f"{mnt}/hostile/plan.toml", encoding="utf-8").read())
for n, v in zip(names, values):
    assert f"{n}={v}" in plan["env"], (n, v, plan["env"])
def unescape(line):
    table = {"\\\\": "\\", "\\n": "\n", "\\t": "\t", "\\r": "\r"}
    return re.sub(r"\\\\|\\n|\\t|\\r|\\x[0-9A-F]{2}", lambda m: table.get(m.group(0)) or chr(int(m.group(0)[2:], 16)), line)
envlines = [unescape(l) for l in open(f"{mnt}/hostile/env", encoding="utf-8").read().split("\n")[:-1]]
assert envlines == plan["env"], (envlines, plan["env"])
yaml.safe_load(open(f"{mnt}/hostile/network.yaml", encoding="utf-8"))
PY
ok "hostile env names and values round-trip byte for byte (tomllib, env unescaping)"

# --- values that would split a line of a guest file are refused
for bad in 'K = "new\nline"' 'K = "cr\r"' 'K = "tab\there"' 'K = "\u0001"' 'K = "del\u007f"' \
	'"N=" = "v"' '"N\n" = "v"' '"N x" = "v"'; do
	printf 'agent = "a"\n[env]\n%s\n' "$bad" >"$TMP/input"
	if cp "$TMP/input" "$MNT/new/ctlbytes" 2>/dev/null; then fail "env line accepted: $bad"; fi
	[ ! -e "$MNT/ctlbytes" ] || fail "half-created bottle after: $bad"
	assert_contains errors "$(tail -1 "$MNT/errors")" "environment variable"
done
for bad in 'workdir = "/w\nx"' 'workdir = "/w:x"' 'agent = "a\u0007"' 'user = "0"' 'user = "65535"' \
	'user = "4294967296"' 'user = "00001000000"' 'user = "a\nb"'; do
	printf 'agent = "a"\n%s\n' "$bad" | sed '0,/^agent = "a"$/{/^agent = "a"$/d}' >"$TMP/input"
	grep -q '^agent' "$TMP/input" || sed -i '1i agent = "a"' "$TMP/input"
	if cp "$TMP/input" "$MNT/new/ctlbytes" 2>/dev/null; then fail "manifest accepted: $bad"; fi
	[ ! -e "$MNT/ctlbytes" ] || fail "half-created bottle after: $bad"
done
printf 'agent = "a"\nuser = "65534"\n' >"$MNT/new/okuser" || fail "user 65534 refused"
printf 'agent = "a"\n[seccomp]\nallow = ["keyctl"]\n' >"$MNT/new/relaxed" || fail "seccomp allow refused"
grep -q '^relaxed = \["keyctl"\]' "$MNT/relaxed/plan.toml" || fail "plan does not show the relaxed call"
printf 'agent = "a"\n[seccomp]\nallow = ["not_a_call"]\n' >"$TMP/input"
if cp "$TMP/input" "$MNT/new/badcall" 2>/dev/null; then fail "unknown syscall accepted"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" '"not_a_call" is not a system call'
grep -q '^denied = \[.*"keyctl"' "$MNT/okuser/plan.toml" || fail "plan does not show the denied calls"
grep -q '^uid_map = "0 [0-9]* 65536"' "$MNT/okuser/plan.toml" || fail "plan does not show the uid map"
ok "control bytes in env, workdir, agent and user, '=' in env names, uids outside 1-65534 are refused; [seccomp] allow is checked and shown"

# --- refusals: errno, no bottle, a line in errors; the daemon survives
# expect_refusal NAME ERRNO FRAGMENT <manifest-on-stdin>
expect_refusal() {
	local name=$1 want=$2 fragment=$3 before
	before=$(wc -l <"$MNT/errors")
	$PY - "$MNT/new/$name" "$want" <<PY || fail "$name: wrong outcome"
import errno, os, sys
path, want = sys.argv[1], getattr(errno, sys.argv[2])
data = open("$TMP/input", "rb").read()
try:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
except OSError as e:
    if e.errno != want:
        sys.exit(f"{path}: got {errno.errorcode[e.errno]}, want {sys.argv[2]}")
    sys.exit(0)
sys.exit(f"{path}: accepted")
PY
	assert_alive
	local shown=${name:0:63}
	case "$want:$name" in
	EEXIST:*) ;;    # the bottle of that name was there before
	*:errors | *:backends | *:cleanup)
		# The top-level files of those names are no bottles.
		[ ! -d "$MNT/$shown" ] || fail "$name: a bottle appeared despite the error" ;;
	*) [ ! -e "$MNT/$shown" ] || fail "$name: a bottle appeared despite the error" ;;
	esac
	local last
	last=$(tail -n +"$((before + 1))" "$MNT/errors")
	[ -n "$last" ] || fail "$name: nothing new in errors"
	assert_contains "$name errors line" "$last" "$fragment"
	[[ "$last" =~ ^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T ]] || fail "$name: errors line has no time: $last"
	ok "refused $name with $want: $(echo "$last" | tail -1 | cut -c22-)"
}

printf 'agent = "a"\nimgae = "host"\n' >"$TMP/input"
expect_refusal typo EINVAL 'typo: new/typo line 2: unknown key "imgae" in top level (did you mean "image"?)'
printf 'agent = "a"\n[limits]\npids = "many"\n' >"$TMP/input"
expect_refusal wrongtype EINVAL 'wrongtype: new/wrongtype line 3: key "pids" must be an integer, not string'
printf 'image = "host"\n' >"$TMP/input"
expect_refusal noagent EINVAL 'noagent: new/noagent: missing required key "agent"'
printf 'agent = "a"\nagent = "b"\n' >"$TMP/input"
expect_refusal dupkey EINVAL 'dupkey: new/dupkey line 2: duplicate key "agent"'
printf 'agent = "a"\n' >"$TMP/input"
expect_refusal BadName EINVAL 'new/BadName: bad bottle name'
expect_refusal -dash EINVAL 'new/-dash: bad bottle name'
expect_refusal "$(printf 'a%.0s' $(seq 64))" EINVAL 'bad bottle name'
expect_refusal errors EINVAL 'bad bottle name'
expect_refusal cleanup EINVAL 'bad bottle name'
expect_refusal backends EINVAL 'bad bottle name'
expect_refusal demo EEXIST 'demo: new/demo: a bottle named "demo" already exists'
$PY -c 'import sys; sys.stdout.write("agent = \"a\"\n" + "#" * 70000 + "\n")' >"$TMP/input"
expect_refusal huge EFBIG 'huge: new/huge: manifest is larger than 65536 bytes'
printf 'agent = "a"\n[workspace]\npath = "/nonexistent/dir"\n' >"$TMP/input"
expect_refusal nows EINVAL 'workspace path /nonexistent/dir'
printf 'agent = "a"\nx = 1.5\n' >"$TMP/input"
expect_refusal float EINVAL 'line 2: floats are not supported'
printf 'agent = "a\x00"\n' >"$TMP/input"
expect_refusal nul EINVAL 'nul: new/nul line 1'
printf 'agent = "a"\n[env]\nHTTPS_PROXY = "http://elsewhere"\n' >"$TMP/input"
expect_refusal override EINVAL 'HTTPS_PROXY is set by bottlefs'

# cp reports the failure in its exit status too.
printf 'agent = 42\n' >"$TMP/bad.toml"
if cp "$TMP/bad.toml" "$MNT/new/viacp" 2>"$TMP/cperr"; then
	fail "cp of a bad manifest succeeded"
fi
assert_contains "cp error" "$(cat "$TMP/cperr")" "Invalid argument"
[ ! -e "$MNT/viacp" ] || fail "viacp appeared"
ok "cp of a bad manifest fails with EINVAL"

# --- rewriting the manifest re-plans; a bad rewrite keeps the old plan
old_plan=$(cat "$MNT/copied/plan.toml")
printf 'agent = "other"\nbackend = "oci"\n' >"$MNT/copied/manifest"
grep -qx 'agent = "other"' "$MNT/copied/plan.toml" || fail "re-plan did not happen"
[ "$old_plan" != "$(cat "$MNT/copied/plan.toml")" ] || fail "plan unchanged"
grep -q "$(grep '^identity' <<<"$old_plan")" "$MNT/copied/plan.toml" || fail "identity changed on re-plan"
good_plan=$(cat "$MNT/copied/plan.toml")
before=$(wc -l <"$MNT/errors")
$PY - "$MNT/copied/manifest" <<'PY' || fail "bad rewrite was not refused with EINVAL"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
os.write(fd, b'agent = "x"\ncolor = "red"\n')
try:
    os.close(fd)
except OSError as e:
    sys.exit(0 if e.errno == errno.EINVAL else 1)
sys.exit(1)
PY
[ "$good_plan" = "$(cat "$MNT/copied/plan.toml")" ] || fail "bad rewrite changed the plan"
grep -qx 'agent = "other"' "$MNT/copied/manifest" || fail "bad rewrite changed the manifest"
assert_contains "rewrite error" "$(tail -n +"$((before + 1))" "$MNT/errors")" 'copied: copied/manifest line 2: unknown key "color"'
ok "rewriting NAME/manifest re-plans; a bad rewrite fails with EINVAL and keeps the old plan"

# --- generated files refuse writes
for f in plan.toml env network.yaml status log egress; do
	if echo run 2>"$TMP/err" >"$MNT/demo/$f"; then fail "$f was writable"; fi
	assert_contains "$f errno" "$(cat "$TMP/err")" "Permission denied"
done
if echo run >"$MNT/errors" 2>/dev/null || echo run >"$MNT/backends" 2>/dev/null; then fail "errors or backends writable"; fi
! grep -q " -: cleanup: " "$MNT/errors" || fail "a write to a generated file reached cleanup"
if mkdir "$MNT/made" 2>/dev/null; then fail "mkdir at the root succeeded"; fi
ok "generated files and mkdir refuse changes"

# --- subnets are the name's own (private to each guest): two names with
# the same preferred octet share it, and a mount holds more bottles than
# there are subnets
read -r n1 n2 < <($PY - <<'PY'
def octet(name):
    h = 2166136261
    for c in name.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    o = 1 + h % 254
    return o + 1 if o == 17 else o
seen = {}
i = 0
while True:
    n = f"s{i}"
    o = octet(n)
    if o in seen:
        print(seen[o], n)
        break
    seen[o] = n
    i += 1
PY
)
manifest >"$MNT/new/$n1"
manifest >"$MNT/new/$n2"
s1=$(grep '^subnet' "$MNT/$n1/plan.toml")
s2=$(grep '^subnet' "$MNT/$n2/plan.toml")
[ "$s1" = "$s2" ] || fail "$n1 and $n2: $s1 / $s2"
for i in $(seq 300); do manifest >"$MNT/new/many$i" || fail "bottle many$i: $(tail -1 "$MNT/errors")"; done
[ "$(ls "$MNT" | grep -c '^many')" = 300 ] || fail "300 bottles not listed"
[ "$(ls -f "$MNT" | grep '^many' | head -3 | tr '\n' ' ')" = "many1 many10 many100 " ] || fail "listing not in name order"
rmdir "$MNT/many150" || fail "rmdir among many"
[ ! -e "$MNT/many150" ] && [ -e "$MNT/many151" ] && [ -e "$MNT/many149" ] || fail "rmdir among many removed the wrong one"
bases=$(cat "$MNT"/many*/plan.toml | sed -n 's/^uid_map = "0 \([0-9]*\) .*/\1/p' | sort | uniq -d)
[ -z "$bases" ] || fail "bottles share guest id ranges: $bases"
for i in $(seq 300); do [ $i = 150 ] || rmdir "$MNT/many$i"; done
ok "colliding names $n1 and $n2 share their subnet ($s1); 300 bottles (more than 253 subnets) are created, listed in name order, each with its own id range"

# --- rmdir removes
rmdir "$MNT/pieces" || fail "rmdir failed"
[ ! -e "$MNT/pieces" ] || fail "pieces still there"
[ ! -e "$STATE/bottles/pieces.json" ] || fail "state record left behind"
if rmdir "$MNT/nosuch" 2>/dev/null; then fail "rmdir of a missing bottle succeeded"; fi
ok "rmdir NAME removes the bottle and its state"

assert_alive
unmount_fs
