#!/bin/bash
# supervise: the official MCP SDK (Node.js, Streamable HTTP) inside a real
# bottle calls ask_human and request_access on MCP_SUPERVISE_URL; the test
# answers through the files (requests/N/answer, rmdir, pending/) as a
# person would. Attacked: bad HTTP and JSON-RPC, terminal escapes in a
# question, a flood of questions, another host user, an agent that leaves.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
command -v node >/dev/null || { echo "SKIP: node not installed"; exit 77; }
[ -d "$SRCDIR/tests/mcp/node_modules/@modelcontextprotocol/sdk" ] ||
	fail "the MCP SDK is not installed: npm ci --prefix $SRCDIR/tests/mcp (scripts/deps.sh)"

mkdir -p "$TMP/www"
echo "granted content" >"$TMP/www/index.html"
P=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$TMP/www" && exec $PY -m http.server "$P" --bind 127.0.0.5 >/dev/null 2>&1) &
track_bg

# The client and its node_modules reach the guest as its copy workspace.
cp -r "$SRCDIR/tests/mcp" "$TMP/mcp"
mount_fs
TOOLS=$(tools_image_toml node curl)
printf 'agent = "t"\n%s\ncommand = ["sleep", "100000"]\n[workspace]\npath = "%s"\n[sidecars]\nsupervise = true\n' \
	"$TOOLS" "$TMP/mcp" | cat >"$MNT/new/s" || fail "create: $(tail -2 "$MNT/errors")"
ls "$MNT" | grep -qx requests.log || fail "no requests.log at the root"
if (printf 'agent = "t"\n' | cat >"$MNT/new/requests.log") 2>/dev/null; then fail "a bottle named requests.log"; fi
ls "$MNT/s" | grep -qx requests || fail "no requests/ with supervise"
ls "$MNT/s" | grep -qx pending || fail "no pending/ with supervise (request_access lands there)"
echo start >"$MNT/s/ctl" || fail "start: $(tail -2 "$MNT/errors")"
URL=$(sed -n 's/^MCP_SUPERVISE_URL=//p' "$MNT/s/env")
[ -n "$URL" ] || fail "no MCP_SUPERVISE_URL"

# wait_for PATH: up to 60 s (a VM's node starts slowly).
wait_for() {
	local _
	for _ in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.1; done
	fail "$1 did not appear: $(ls "$(dirname "$1")" 2>&1)"
}
# call BOTTLE OUTFILE ARGS...: the SDK client, in the background.
call() {
	local b=$1 out=$2 args="" a
	shift 2
	for a in "$@"; do args="$args '$a'"; done
	(run_in "$b" "cd /work && node call.mjs$args 2>&1" >"$out" 2>&1) &
	caller=$!
}

# --- ask_human: the question in requests/1, the answer back to the agent
call s "$TMP/ask1" ask_human "May I delete build/?"
wait_for "$MNT/s/requests/1/question"
[ "$(cat "$MNT/s/requests/1/question")" = "May I delete build/?" ] || fail "question: $(cat "$MNT/s/requests/1/question")"
[ "$(ls "$MNT"/*/requests)" = 1 ] || fail "ls MNT/*/requests: $(ls "$MNT"/*/requests)"
[ "$(ls "$MNT/s/requests/1" | tr '\n' ' ')" = "answer question " ] || fail "requests/1 holds $(ls "$MNT/s/requests/1")"
grep -q " s/1 asked: May I delete build/?" "$MNT/requests.log" || fail "requests.log: $(cat "$MNT/requests.log")"
if setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo no >'$MNT/s/requests/1/answer'" 2>/dev/null; then
	fail "another host user answered"
fi
if cat "$MNT/s/requests/1/answer" 2>/dev/null; then fail "the answer file is readable"; fi
if (printf 'no\0way' | cat >"$MNT/s/requests/1/answer") 2>/dev/null; then fail "an answer with a NUL byte accepted"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" "requests/1: an answer is text"
echo 'yes, go ahead' >"$MNT/s/requests/1/answer" || fail "answer: $(tail -2 "$MNT/errors")"
wait "$caller"
out=$(cat "$TMP/ask1")
assert_contains sdk "$out" "tools: ask_human,request_access"
assert_contains sdk "$out" "isError: false"
assert_contains sdk "$out" "text: yes, go ahead"
assert_contains sdk "$out" "protocol: 20"
[ ! -e "$MNT/s/requests/1" ] || fail "an answered question still waits"
grep -q " s/1 answered: yes, go ahead" "$MNT/requests.log" || fail "no answered line"
if (echo again >"$MNT/s/requests/1/answer") 2>/dev/null; then fail "a second answer accepted"; fi
ok "the official MCP SDK lists ask_human and request_access; ask_human waits in requests/1 until 'echo ... > answer' and returns that answer; requests.log has both; nobody else may answer, nor with a NUL byte (said in errors)"

# --- rmdir declines
call s "$TMP/ask2" ask_human "Push to main?"
wait_for "$MNT/s/requests/2/question"
rmdir "$MNT/s/requests/2" || fail "rmdir declines"
wait "$caller"
assert_contains declined "$(cat "$TMP/ask2")" "isError: true"
assert_contains declined "$(cat "$TMP/ask2")" "text: the person declined to answer"
grep -q " s/2 declined" "$MNT/requests.log" || fail "no declined line"
ok "rmdir requests/N declines: the agent gets an error result saying so"

# --- request_access: the egress queue; allow adds the rule
K="127.0.0.5:$P"
[ "$(output_of s "curl -s -o /dev/null -w '%{http_code}' -x \"\$HTTP_PROXY\" http://$K/")" = 403 ] ||
	fail "reached $K before access was granted"
call s "$TMP/access" request_access "$K" "fetch the docs"
wait_for "$MNT/s/pending/$K"
assert_contains pending "$(cat "$MNT/s/pending/$K")" "request=request_access"
assert_contains pending "$(cat "$MNT/s/pending/$K")" "reason=fetch the docs"
echo allow >"$MNT/s/pending/$K" || fail "allow: $(tail -2 "$MNT/errors")"
wait "$caller"
assert_contains access "$(cat "$TMP/access")" "isError: false"
assert_contains access "$(cat "$TMP/access")" "$K: allowed"
assert_contains "after access" "$(output_of s "curl -s -x \"\$HTTP_PROXY\" http://$K/")" "granted content"
call s "$TMP/access2" request_access "other.example.net" "more"
wait_for "$MNT/s/pending/other.example.net:443"
rm "$MNT/s/pending/other.example.net:443"
wait "$caller"
assert_contains "access denied" "$(cat "$TMP/access2")" "other.example.net:443: denied"
ok "request_access waits in pending/HOST:PORT (with the reason); allow adds the rule and the guest reaches it, rm denies"

# --- hostile: HTTP and JSON-RPC that are wrong, escapes, a flood, an agent that leaves
out=$(output_of s "python3 - '$URL' <<'PY'
import json, socket, sys, time
host, port = sys.argv[1].split('//')[1].split(':')
def raw(data, read=True):
    s = socket.create_connection((host, int(port)))
    s.sendall(data)
    got = b''
    s.settimeout(5)
    try:
        while read:
            b = s.recv(65536)
            if not b: break
            got += b
            if b'\\r\\n\\r\\n' in got:
                head, _, body = got.partition(b'\\r\\n\\r\\n')
                n = [int(l.split(b':')[1]) for l in head.split(b'\\r\\n') if l.lower().startswith(b'content-length:')]
                if n and len(body) >= n[0]: break
    except socket.timeout:
        pass
    return s, got.decode(errors='replace')
def post(body, extra=b''):
    return raw(b'POST /mcp HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n%s\\r\\n' % (len(body), extra) + body)[1]
print('garbage', raw(b'\\x00\\x01 nonsense\\r\\n\\r\\n')[1].split('\\r\\n')[0])
print('get', raw(b'GET /mcp HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')[1].split('\\r\\n')[0])
print('path', raw(b'POST /other HTTP/1.1\\r\\nContent-Length: 2\\r\\n\\r\\n{}')[1].split('\\r\\n')[0])
print('big', raw(b'POST / HTTP/1.1\\r\\nContent-Length: 99999999\\r\\n\\r\\n')[1].split('\\r\\n')[0])
print('nolen', raw(b'POST / HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n')[1].split('\\r\\n')[0])
print('twolen', raw(b'POST / HTTP/1.1\\r\\nContent-Length: 2\\r\\nContent-Length: 3\\r\\n\\r\\n{}')[1].split('\\r\\n')[0])
print('badjson', post(b'{not json'))
print('batch', post(b'[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]'))
print('method', post(b'{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/list\"}'))
print('tool', post(b'{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"rm_rf\",\"arguments\":{}}}'))
print('noq', post(b'{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"ask_human\",\"arguments\":{\"question\":5}}}'))
print('session', post(b'{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\"}', b'Mcp-Session-Id: forged\\r\\n').split('\\r\\n')[0])
print('deep', post(b'[' * 5000 + b']' * 5000))
def ask(q, read=False):
    body = json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'tools/call',
                       'params': {'name': 'ask_human', 'arguments': {'question': q}}}).encode()
    return raw(b'POST / HTTP/1.1\\r\\nContent-Length: %d\\r\\n\\r\\n' % len(body) + body, read)
held = [ask('flood %d \\x1b]0;pwned\\x07\\x1b[2J' % i)[0] for i in range(64)]
time.sleep(1)
print('65th', ask('one too many', True)[1].split('\\r\\n\\r\\n')[1])
PY")
assert_contains garbage "$out" "garbage HTTP/1.1 400"
assert_contains get "$out" "get HTTP/1.1 405"
assert_contains path "$out" "path HTTP/1.1 404"
assert_contains big "$out" "big HTTP/1.1 413"
assert_contains chunked "$out" "nolen HTTP/1.1 411"
assert_contains "two lengths" "$out" "twolen HTTP/1.1 400"
assert_contains "bad json" "$out" '"code":-32700'
assert_contains batch "$out" "batches are not supported"
assert_contains method "$out" '"id":7,"error":{"code":-32601'
assert_contains tool "$out" '"id":8,"error":{"code":-32602,"message":"unknown tool'
assert_contains "no question" "$out" '"id":9,"error":{"code":-32602'
assert_contains session "$out" "session HTTP/1.1 404"
assert_contains deep "$out" '"code":-32700'
assert_contains 65th "$out" "too many questions wait already"
# The flood's clients have gone: their questions are withdrawn.
for _ in $(seq 50); do [ -z "$(ls "$MNT/s/requests")" ] && break; sleep 0.1; done
[ -z "$(ls "$MNT/s/requests")" ] || fail "questions of clients that left still wait: $(ls "$MNT/s/requests" | wc -l)"
grep -q "withdrawn (the agent went away)" "$MNT/requests.log" || fail "no withdrawn line"
! grep -q "$(printf '\033')" "$MNT/requests.log" || fail "an escape reached requests.log"
assert_alive
ok "bad HTTP (400, 404, 405, 411, 413, two lengths), bad JSON-RPC, a forged session and deep nesting get errors; 64 questions at most wait; a client that leaves withdraws its question; no escape reaches a file"

# --- escapes in a question never reach a person's terminal; a stop ends what waits
call s "$TMP/ask3" ask_human "$(printf 'Run \033[31mthis\033[0m?\a')"
for _ in $(seq 600); do n=$(ls "$MNT/s/requests"); [ -n "$n" ] && break; sleep 0.1; done
[ -n "$n" ] || fail "the question did not come"
Q=$MNT/s/requests/$n/question
! grep -q "$(printf '\033')" "$Q" || fail "an escape in the question file"
grep -q "Run ?\[31mthis?\[0m??" "$Q" || fail "question: $(od -c "$Q" | head -2)"
echo stop >"$MNT/s/ctl" || fail "stop"
wait "$caller" || true
[ ! -e "$MNT/s/requests/$n" ] || fail "a question outlived its bottle"
ok "control bytes in a question show as '?'; a stop ends the questions that wait"
