#!/bin/bash
# NAME/check/HOST:PORT, a dry run of the live allowlist; and, with
# [network] ask = true, NAME/pending/: a destination no rule names waits
# there for a person; `echo allow` adds the rule and lets the waiting
# connection through, `echo deny` or rm refuse it. Attacked: hostile
# request lines, a flood of destinations, another host user, writes
# that are not verdicts.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

mkdir -p "$TMP/www"
echo "asked content" >"$TMP/www/index.html"
port_of() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P=$(port_of)
(cd "$TMP/www" && exec $PY -m http.server "$P" --bind 127.0.0.5 >/dev/null 2>&1) &
track_bg
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.5:$P/" && break; sleep 0.1; done

mount_fs
TOOLS=$(tools_image_toml curl)
printf 'agent = "t"\n%s\ncommand = ["sleep", "100000"]\n[network]\nallow = ["api.example.com", "*.example.org:8443"]\nask = true\nidle_timeout = 60\n' \
	"$TOOLS" | cat >"$MNT/new/a" || fail "create: $(tail -2 "$MNT/errors")"
printf 'agent = "t"\n%s\ncommand = ["sleep", "100000"]\n' "$TOOLS" | cat >"$MNT/new/noask" ||
	fail "create noask: $(tail -2 "$MNT/errors")"

# --- check/: the live policy, without connecting
[ "$(cat "$MNT/a/check/api.example.com:443")" = "allow rule=api.example.com" ] ||
	fail "check api: $(cat "$MNT/a/check/api.example.com:443")"
[ "$(cat "$MNT/a/check/x.example.org:8443")" = "allow rule=*.example.org:8443" ] || fail "check wildcard"
assert_contains "check other" "$(cat "$MNT/a/check/evil.example.net:443")" "deny reason="
assert_contains "check port" "$(cat "$MNT/a/check/x.example.org:443")" "deny reason="
assert_contains "check loopback" "$(cat "$MNT/a/check/127.0.0.5:$P")" "deny reason="
for bad in nohost "a b:1" "x:0" "x:70000" "[::1:443" ""; do
	[ ! -e "$MNT/a/check/$bad" ] || [ -z "$bad" ] || fail "check/$bad exists"
done
[ -z "$(ls "$MNT/a/check")" ] || fail "check/ lists: $(ls "$MNT/a/check")"
if (echo x >"$MNT/a/check/api.example.com:443") 2>/dev/null; then fail "check/ file written"; fi
ls "$MNT/a" | grep -qx check || fail "no check/ in the listing"
ls "$MNT/a" | grep -qx pending || fail "no pending/ with ask"
! ls "$MNT/noask" | grep -qx pending || fail "pending/ without ask"
[ ! -e "$MNT/noask/pending" ] || fail "noask/pending exists"
ok "check/HOST:PORT says allow with the rule or deny with the reason, for names and literals; other names do not exist; pending/ only with ask"

# --- a refused destination waits in pending/; allow lets it through and adds the rule
echo start >"$MNT/a/ctl" || fail "start: $(tail -2 "$MNT/errors")"
echo start >"$MNT/noask/ctl" || fail "start noask: $(tail -2 "$MNT/errors")"
out=$(run_in noask "curl -s -o /dev/null -w '%{http_code}' -x \"\$HTTP_PROXY\" http://127.0.0.5:$P/")
assert_contains "no ask" "$out" 403
K="127.0.0.5:$P"
(run_in a "curl -s -m 50 -x \"\$HTTP_PROXY\" http://$K/" >"$TMP/first" 2>&1) &
asker=$!
for _ in $(seq 100); do [ -e "$MNT/a/pending/$K" ] && break; sleep 0.1; done
[ "$(ls "$MNT/a/pending")" = "$K" ] || fail "pending/ lists: $(ls "$MNT/a/pending")"
text=$(cat "$MNT/a/pending/$K")
assert_contains pending "$text" "request=GET http://$K/ HTTP/1.1"
assert_contains pending "$text" "time=20"
[ "$(stat -c %s "$MNT/a/pending/$K")" = "${#text}" ] || [ "$(stat -c %s "$MNT/a/pending/$K")" = "$((${#text} + 1))" ] ||
	fail "pending file size $(stat -c %s "$MNT/a/pending/$K") for ${#text} bytes"
if setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo allow >'$MNT/a/pending/$K'" 2>/dev/null; then
	fail "another host user decided"
fi
if (echo maybe >"$MNT/a/pending/$K") 2>/dev/null; then fail "'maybe' accepted as a verdict"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" "pending/$K: "
assert_alive
echo allow >"$MNT/a/pending/$K" || fail "allow: $(tail -2 "$MNT/errors")"
wait "$asker"
assert_contains "allowed" "$(cat "$TMP/first"; tail -3 "$MNT/a/egress")" "asked content"
grep -qx "$K" "$MNT/a/allow" || fail "the rule is not in allow: $(cat "$MNT/a/allow")"
[ "$(cat "$MNT/a/check/$K")" = "allow rule=$K" ] || fail "check after allow: $(cat "$MNT/a/check/$K")"
[ -z "$(ls "$MNT/a/pending")" ] || fail "still pending: $(ls "$MNT/a/pending")"
out=$(output_of a "curl -s -m 10 -x \"\$HTTP_PROXY\" http://$K/")
assert_contains "next" "$out" "asked content"
grep -q "allow rule=$K" "$MNT/a/egress" || fail "no allow line in egress"
ok "a refused destination waits in pending/ (request line, time); allow lets the waiting request through and adds the rule; a non-verdict (said in errors) and another user are refused"

# --- deny and rm refuse; an asker that gives up leaves the question waiting
echo '# none' | cat >"$MNT/a/allow"
(run_in a "curl -s -m 50 -o /dev/null -w '%{http_code}' -x \"\$HTTP_PROXY\" http://$K/" >"$TMP/denied" 2>&1) &
asker=$!
for _ in $(seq 100); do [ -e "$MNT/a/pending/$K" ] && break; sleep 0.1; done
echo deny >"$MNT/a/pending/$K" || fail "deny: allow=$(cat "$MNT/a/allow") egress=$(tail -3 "$MNT/a/egress") denied=$(cat "$TMP/denied")"
wait "$asker"
assert_contains denied "$(cat "$TMP/denied")" 403
grep -q "denied in pending/" "$MNT/a/egress" || fail "no denial reason in egress"
(run_in a "curl -s -m 50 -o /dev/null -w '%{http_connect}' -x \"\$HTTP_PROXY\" https://other.example.net/" >"$TMP/rm" 2>&1) &
asker=$!
for _ in $(seq 100); do [ -e "$MNT/a/pending/other.example.net:443" ] && break; sleep 0.1; done
assert_contains connect "$(cat "$MNT/a/pending/other.example.net:443")" "request=CONNECT other.example.net:443 HTTP/1.1"
rm "$MNT/a/pending/other.example.net:443" || fail "rm pending"
wait "$asker"
assert_contains "rm" "$(cat "$TMP/rm")" 403
# A client that leaves: its destination still waits, for the next one.
run_in a "curl -s -m 2 -x \"\$HTTP_PROXY\" http://$K/ >/dev/null; echo gave-up" >/dev/null
[ -e "$MNT/a/pending/$K" ] || fail "the destination went with its client"
echo allow >"$MNT/a/pending/$K"
out=$(output_of a "curl -s -m 10 -x \"\$HTTP_PROXY\" http://$K/")
assert_contains "after leaving" "$out" "asked content"
ok "deny and rm refuse the waiting request (403, logged); a destination whose client gave up stays in pending/ and allow serves the next request"

# --- hostile: control bytes in the request line, a flood of destinations
echo '# none' | cat >"$MNT/a/allow"
out=$(run_in a "python3 - <<'PY'
import os, socket
host = os.environ['HTTP_PROXY'].split('//')[1].split(':')[0]
conns = []
for i in range(80):
    s = socket.create_connection((host, 8888))
    s.sendall(b'GET http://flood%d.example.com/ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' % i)
    conns.append(s)
s = socket.create_connection((host, 8888))
s.sendall(b'GET http://ctl.example.com/\\x01\\x1b[2J HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')
conns.append(s)
import time; time.sleep(2)
print('opened', len(conns))
PY")
assert_contains flood "$out" "opened 81"
n=$(ls "$MNT/a/pending" | wc -l)
[ "$n" -le 64 ] || fail "$n destinations wait: the queue is not bounded"
[ "$n" -ge 1 ] || fail "nothing waits after the flood"
grep -q "too many destinations wait already" "$MNT/a/egress" || fail "the refusals past the bound are not explained"
for f in "$MNT"/a/pending/*; do
	! grep -q "$(printf '\033')" "$f" || fail "a control byte reached $f"
done
assert_alive
echo stop >"$MNT/a/ctl" || fail "stop with a full queue"
[ -z "$(ls "$MNT/a/pending")" ] || fail "pending/ not emptied by the stop"
ok "a flood of destinations fills pending/ to its bound (64) and the rest are refused with a reason; control bytes never reach a file; a stop empties it"
