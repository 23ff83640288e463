#!/bin/bash
# Egress: from inside a running bottle, only the proxy answers; it lets
# through what the allowlist names, refuses the rest with a reason, logs
# every decision, and obeys live edits of NAME/allow.
. "$(dirname "$0")/lib.sh"

[ "$BACKEND" != oci ] || command -v runc >/dev/null || { echo "SKIP: runc not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }

# Test servers on host loopback addresses only.
mkdir -p "$TMP/www"
echo "allowed content" >"$TMP/www/index.html"
port_of() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
P1=$(port_of)
P2=$(port_of)
(cd "$TMP/www" && exec $PY -m http.server "$P1" --bind 127.0.0.5 >/dev/null 2>&1) &
track_bg
(cd "$TMP/www" && exec $PY -m http.server "$P2" --bind 127.0.0.6 >/dev/null 2>&1) &
track_bg
(cd "$TMP/www" && exec $PY -m http.server "$P2" --bind 127.0.0.1 >/dev/null 2>&1) &
track_bg
# An upstream that sends back every byte it got (until 0.3 s of quiet):
# raw in a tunnel, as the body of an HTTP answer to a plain request.
P3=$(port_of)
cat >"$TMP/echo.py" <<'PY'
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.5", int(sys.argv[1]))); srv.listen(16)
def serve(c):
    c.settimeout(0.3); got = b""
    try:
        while True:
            b = c.recv(65536)
            if not b: break
            got += b
    except socket.timeout:
        pass
    if got.startswith(b"POST "):
        got = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(got) + got
    c.sendall(got); c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
$PY "$TMP/echo.py" "$P3" >/dev/null 2>&1 &
track_bg
# An HTTP/1.1 origin that keeps connections and answers each request with
# the number of the connection it came on and its own number.
P4=$(port_of)
cat >"$TMP/keep.py" <<'PY'
import http.server, itertools, sys
numbers, requests = itertools.count(1), itertools.count(1)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def setup(self):
        super().setup(); self.number = next(numbers)
    def do_GET(self):
        body = b"connection %d request %d\n" % (self.number, next(requests))
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0))); self.do_GET()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.5", int(sys.argv[1])), H).serve_forever()
PY
$PY "$TMP/keep.py" "$P4" >/dev/null 2>&1 &
track_bg
for _ in $(seq 50); do
	curl -s "http://127.0.0.5:$P1/" >/dev/null && curl -s "http://127.0.0.6:$P2/" >/dev/null && break
	sleep 0.1
done

mount_fs
# The host image on oci; elsewhere an image of the host's curl, getent and
# python3 (the guest's tools here).
IMAGE_TOML=$(tools_image_toml curl getent)
cat >"$MNT/new/net" <<TOML
agent = "test"
$IMAGE_TOML
stop_timeout = 1
[network]
allow = ["127.0.0.5:$P1", "localhost:$P2", "127.0.0.5:$P3", "127.0.0.5:$P4"]
TOML
echo start >"$MNT/net/ctl" || fail "start: $(tail -2 "$MNT/errors")"
# Where the guest reaches the proxy: its own loopback in a container;
# from a VM the subnet's proxy address, each VM's own: proxy.internal.
proxy_addr=$(output_of net 'echo $HTTP_PROXY' | sed 's|^http://||; s|:8888/*$||')
if [ "$BACKEND" = microvm ]; then
	PROXY_HOST=proxy.internal
	[ "$(output_of net 'getent hosts proxy.internal' | awk '{print $1}')" = "$proxy_addr" ] ||
		fail "proxy.internal is not HTTP_PROXY's $proxy_addr"
	[ "$proxy_addr" = "$(sed -n 's/^subnet: \(.*\)\.0\/24$/\1.2/p' "$MNT/net/status")" ] ||
		fail "HTTP_PROXY in a VM: $proxy_addr"
else
	PROXY_HOST=127.0.0.1
	[ "$proxy_addr" = 127.0.0.1 ] || fail "HTTP_PROXY: $proxy_addr"
fi
[ "$(cat "$MNT/net/allow")" = "$(printf '127.0.0.5:%s\nlocalhost:%s\n127.0.0.5:%s\n127.0.0.5:%s' "$P1" "$P2" "$P3" "$P4")" ] || fail "allow: $(cat "$MNT/net/allow")"

# Bytes sent with the head in one packet (a body, TLS early data) reach
# upstream exactly; a head with bare LF line ends is served at once.
out=$(run_in net "python3 - <<'PY'
import socket, time
def ask(head, extra):
    s = socket.create_connection(('$PROXY_HOST', 8888)); s.settimeout(5)
    s.sendall(head + extra); got = b''
    t = time.time()
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    return got, time.time() - t
extra = bytes([0x16, 0x03, 0x01, 0x00, 0x00]) + bytes(range(256))
got, _ = ask(b'CONNECT 127.0.0.5:$P3 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n', extra)
print('connect-exact', got.split(b'\\r\\n\\r\\n', 1)[1] == extra)
got, _ = ask(b'POST http://127.0.0.5:$P3/p HTTP/1.1\\r\\nContent-Length: 261\\r\\n\\r\\n', extra)
print('post-exact', got.endswith(b'\\r\\n\\r\\n' + extra), got.split(b'\\r\\n\\r\\n', 1)[1].startswith(b'POST /p HTTP/1.1\\r\\n'))
got, took = ask(b'CONNECT 127.0.0.5:$P3 HTTP/1.1\\n\\n', b'lf')
print('lf-head', got.startswith(b'HTTP/1.1 200'), got.endswith(b'lf'), took < 4)
PY")
assert_contains "bytes after the head" "$out" "connect-exact True"
assert_contains "bytes after the head" "$out" "post-exact True True"
assert_contains "bare LF head" "$out" "lf-head True True True"
ok "bytes sent with the head reach upstream exactly (CONNECT and absolute-form); a bare-LF head is served at once"

# Plain requests one after another, each on a client connection of its
# own, share one connection to the origin; the client is told its own
# connection ends. A request the origin could read two ways (two lengths,
# or a length beside a coding) is refused, and never reaches it.
out=$(run_in net "for i in 1 2 3; do curl -s -D - -x http://$PROXY_HOST:8888 http://127.0.0.5:$P4/n; done")
[ "$(grep -c '^connection 1 request [123]$' <<<"$out")" = 3 ] || fail "plain requests did not share a kept connection: $out"
[ "$(grep -ci '^connection: close' <<<"$out")" = 3 ] || fail "client not told its connection ends: $out"
out=$(run_in net "curl -s -x http://$PROXY_HOST:8888 -d 'x=1' http://127.0.0.5:$P4/p")
[ "$out" = "$(printf 'connection 2 request 4\nexited 0')" ] || fail "a POST (never sent twice) takes a new connection: $out"
out=$(run_in net "python3 - <<'PY'
import socket
def ask(head):
    s = socket.create_connection(('$PROXY_HOST', 8888)); s.settimeout(5)
    s.sendall(head); got = b''
    while True:
        b = s.recv(65536)
        if not b: break
        got += b
    return got.split(b'\\r\\n')[0].decode()
print('two-lengths', ask(b'POST http://127.0.0.5:$P4/ HTTP/1.1\\r\\nContent-Length: 1\\r\\nContent-Length: 40\\r\\n\\r\\nxGET /n HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'))
print('length-and-chunks', ask(b'POST http://127.0.0.5:$P4/ HTTP/1.1\\r\\nContent-Length: 4\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /n HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'))
PY")
assert_contains "smuggling" "$out" "two-lengths HTTP/1.1 400 Bad Request"
assert_contains "smuggling" "$out" "length-and-chunks HTTP/1.1 400 Bad Request"
out=$(run_in net "curl -s -x http://$PROXY_HOST:8888 http://127.0.0.5:$P4/n")
# (on whichever connection: a kept one may have aged out meanwhile)
grep -Eqx 'connection [0-9]+ request 5' <<<"$out" || fail "the origin saw a refused request: $out"
ok "plain requests share one kept origin connection (a POST takes a new one); smuggling's requests are refused with 400"

# Quiet tunnels end after idle_timeout; at most max_connections at once.
cat >"$MNT/new/tight" <<TOML
agent = "test"
$IMAGE_TOML
stop_timeout = 1
[network]
allow = ["127.0.0.5:$P1"]
idle_timeout = 2
max_connections = 3
TOML
echo start >"$MNT/tight/ctl" || fail "start tight"
out=$(run_in tight "python3 - <<'PY'
import socket, time
def tunnel():
    s = socket.create_connection(('$PROXY_HOST', 8888)); s.settimeout(10)
    s.sendall(b'CONNECT 127.0.0.5:$P1 HTTP/1.1\\r\\n\\r\\n')
    return s, s.recv(100)
held = [tunnel() for _ in range(3)]
print('held', all(r.startswith(b'HTTP/1.1 200') for _, r in held))
s = socket.create_connection(('$PROXY_HOST', 8888)); s.settimeout(10)
s.sendall(b'CONNECT 127.0.0.5:$P1 HTTP/1.1\\r\\n\\r\\n')
print('fourth', s.recv(100).split(b'\\r\\n')[0].decode())
t = time.time()
ends = [c.recv(100) for c, _ in held]
print('idle-ended', all(e == b'' for e in ends), 1.5 < time.time() - t < 6)
PY")
assert_contains "tight" "$out" "held True"
assert_contains "tight" "$out" "fourth HTTP/1.1 503 Service Unavailable"
assert_contains "tight" "$out" "idle-ended True True"
grep -q "CONNECT 127.0.0.5:$P1 127.0.0.5 allow rule=127.0.0.5:$P1 idle=ended" "$MNT/tight/egress" || fail "no idle=ended line: $(cat "$MNT/tight/egress")"
grep -qx 'idle_timeout = 2' "$MNT/tight/plan.toml" || fail "plan lacks idle_timeout"
echo stop >"$MNT/tight/ctl" || fail "stop tight: $(tail -2 "$MNT/errors")"
ok "a quiet tunnel ends after [network] idle_timeout (logged idle=ended); past max_connections a client gets 503"


out=$(run_in net "curl -s http://127.0.0.5:$P1/")
[ "$out" = "$(printf 'allowed content\nexited 0')" ] || fail "allowed GET through the proxy: $out"
out=$(run_in net "curl -s -p -x http://$PROXY_HOST:8888 http://127.0.0.5:$P1/")
[ "$out" = "$(printf 'allowed content\nexited 0')" ] || fail "allowed CONNECT tunnel: $out"
egress=$(cat "$MNT/net/egress")
grep -qE "GET 127\.0\.0\.5:$P1 127\.0\.0\.5 allow rule=127\.0\.0\.5:$P1 up=[1-9][0-9]* down=[1-9][0-9]* ms=" <<<"$egress" ||
	fail "no allow line for GET: $egress"
grep -qE "CONNECT 127\.0\.0\.5:$P1 127\.0\.0\.5 allow rule=127\.0\.0\.5:$P1 " <<<"$egress" || fail "no allow line for CONNECT: $egress"
ok "an allowed host (explicit IP rule) is reachable through the proxy, by GET and by CONNECT, and logged"

out=$(run_in net "for i in \$(seq 40); do curl -s -p -x http://$PROXY_HOST:8888 http://127.0.0.5:$P1/ & done; wait")
[ "$(grep -c '^allowed content$' <<<"$out")" = 40 ] || fail "40 concurrent tunnels: $(grep -c '^allowed content$' <<<"$out") answered"
ok "40 concurrent connections through the proxy all get their answer"

out=$(run_in net "curl -s -w ' %{http_code}' http://127.0.0.6:$P2/")
assert_contains "unlisted" "$out" "bottlefs: no rule allows 127.0.0.6:$P2"
assert_contains "unlisted" "$out" " 403"
grep -q "GET 127.0.0.6:$P2 - deny reason=\"no rule allows 127.0.0.6:$P2\"" "$MNT/net/egress" || fail "no deny line"
head=$(run_in net "curl -s -D - -o /dev/null http://127.0.0.6:$P2/")
assert_contains "Proxy-Status" "$head" "Proxy-Status: bottlefs; error=http_request_denied; details=\"no rule allows 127.0.0.6:$P2\""
ok "an unlisted host gets 403 with a reason (body and Proxy-Status header) and a deny line"

# A name that does not resolve is the destination's failure, not policy.
printf 'nosuchname.invalid:80\n' >>"$MNT/net/allow"
out=$(run_in net "curl -s -D - -o /dev/null http://nosuchname.invalid/")
case "$out" in
*"HTTP/1.1 502 Bad Gateway"*"error=dns_error"* | *"HTTP/1.1 504 Gateway Timeout"*"error=dns_timeout"*) ;;
*) fail "unresolvable name: $out" ;;
esac
assert_contains "dns" "$out" 'details="cannot resolve nosuchname.invalid'
out=$(run_in net "curl -s -p -x http://$PROXY_HOST:8888 -o /dev/null -w '%{http_code}' https://nosuchname.invalid:80/ -v 2>&1")
assert_contains "dns over CONNECT" "$out" "Proxy-Status: bottlefs; error=dns_"
printf '127.0.0.5:%s\nlocalhost:%s\n127.0.0.5:%s\n' "$P1" "$P2" "$P3" >"$MNT/net/allow"
ok "a name that does not resolve gets 502/504 with error=dns_* in Proxy-Status (an HTTPS client sees it too), never 403"

out=$(run_in net "curl -s -w ' %{http_code}' -x http://$PROXY_HOST:8888 --noproxy '' http://localhost:$P2/")
assert_contains "rebinding" "$out" "localhost resolves to 127.0.0.1 (loopback)"
assert_contains "rebinding" "$out" " 403"
ok "a name allowed by rule that resolves to loopback is still refused"

for target in "http://127.0.0.5:$P1/" "http://127.0.0.6:$P2/" "http://10.11.12.13/" "http://192.168.1.1/"; do
	out=$(run_in net "curl -s --max-time 3 --noproxy '*' $target; echo curl=\$?")
	assert_contains "direct $target" "$out" "curl=7"
done
host_ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | head -1)
if [ -n "$host_ip" ]; then
	out=$(run_in net "curl -s --max-time 3 --noproxy '*' http://$host_ip:$P1/; echo curl=\$?")
	assert_contains "direct host address" "$out" "curl=7"
fi
out=$(run_in net 'cat /etc/resolv.conf; getent hosts example.com; echo lookup=$?')
assert_contains "resolver" "$out" "lookup=2"
ok "direct connections to host loopback, the test servers and other addresses fail; there is no resolver"

# scan_ports HOST FIRST LAST: the ports that accept a connection from the guest.
scan_ports() {
	run_in net "python3 -c 'import socket
open_ports = []
for p in range($2, $3 + 1):
    s = socket.socket(); s.settimeout(0.2)
    # A socket can connect to itself when its own port is probed: not a listener.
    if s.connect_ex((\"$1\", p)) == 0 and s.getsockname()[1] != p: open_ports.append(p)
    s.close()
print(open_ports)'"
}
if [ "$BACKEND" = microvm ]; then
	# A VM's loopback is its own; the proxy address answers on the
	# forwarded sidecar ports alone.
	ports=$(scan_ports 127.0.0.1 1 65535)
	[ "$ports" = "$(printf '[]\nexited 0')" ] || fail "guest loopback ports: $ports"
	ports=$(scan_ports "$PROXY_HOST" 1 65535)
	[ "$ports" = "$(printf '[8888]\nexited 0')" ] || fail "proxy address ports: $ports"
	ok "only the proxy port answers on the proxy address; nothing on guest loopback"
else
	ports=$(scan_ports 127.0.0.1 1 65535)
	[ "$ports" = "$(printf '[8888]\nexited 0')" ] || fail "guest loopback ports: $ports"
	ok "only the proxy port answers on guest loopback"
fi

out=$(run_in net "printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | python3 -c 'import socket,sys
s = socket.create_connection((\"$PROXY_HOST\", 8888)); s.sendall(sys.stdin.buffer.read()); print(s.recv(200).split(b\"\\r\\n\")[0].decode())'")
assert_contains "origin-form" "$out" "HTTP/1.1 400 Bad Request"
# A client that sends half a head and vanishes, and one that half-closes.
run_in net "python3 -c 'import socket
s = socket.create_connection((\"$PROXY_HOST\", 8888)); s.sendall(b\"CONNECT 127.0.0.5:$P1 HTT\"); s.close()
s = socket.create_connection((\"$PROXY_HOST\", 8888)); s.sendall(b\"GET http://127.0.0.5:$P1/ HTTP/1.1\r\nHost: x\r\n\r\n\"); s.shutdown(socket.SHUT_WR); print(len(s.makefile(\"rb\").read()))'" >"$TMP/half"
assert_contains "half-close" "$(cat "$TMP/half")" "exited 0"
# Silent clients hold a thread each, never the proxy: with 20 connections
# open that send nothing, a request is still answered at once.
out=$(run_in net "python3 -c 'import socket, subprocess
held = [socket.create_connection((\"$PROXY_HOST\", 8888)) for _ in range(20)]
r = subprocess.run([\"curl\", \"-s\", \"--max-time\", \"5\", \"http://127.0.0.5:$P1/\"], capture_output=True)
print(r.stdout.decode().strip())'")
assert_contains "silent clients" "$out" "allowed content"
assert_alive
ok "bad requests get HTTP errors; vanishing, half-closing and silent clients do no harm"

# Live edits of allow.
echo "127.0.0.6:$P2" >>"$MNT/net/allow" || fail "append to allow failed"
out=$(run_in net "curl -s http://127.0.0.6:$P2/")
[ "$out" = "$(printf 'allowed content\nexited 0')" ] || fail "appended rule not obeyed: $out"
grep -qx "127.0.0.6:$P2" "$MNT/net/allow" || fail "allow does not show the appended rule"
if printf 'good.example\nbad rule!\n' >"$MNT/net/allow" 2>/dev/null; then fail "invalid rule accepted"; fi
assert_contains errors "$(tail -1 "$MNT/errors")" "net: allow line 2:"
grep -qx "127.0.0.6:$P2" "$MNT/net/allow" || fail "a refused write changed the list"
printf '# only the first server now\n127.0.0.5:%s\n' "$P1" >"$MNT/net/allow"
out=$(run_in net "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.6:$P2/")
[ "$out" = "$(printf '403\nexited 0')" ] || fail "replaced list not obeyed: $out"
ok "allow: appending adds a rule, rewriting replaces the list, both at once; invalid rules are refused with EINVAL"

unmount_fs
mount_fs
[ "$(cat "$MNT/net/allow")" = "127.0.0.5:$P1" ] || fail "live allowlist not kept: $(cat "$MNT/net/allow")"
out=$(run_in net "curl -s http://127.0.0.5:$P1/")
[ "$out" = "$(printf 'allowed content\nexited 0')" ] || fail "proxy not back after remount: $out"
ok "the live allowlist is kept in state; the proxy is back after a remount"

timeout 4 tail -f "$MNT/net/egress" >"$TMP/tail" &
tailpid=$!
sleep 1.2
run_in net "curl -s http://127.0.0.5:$P1/ >/dev/null" >/dev/null
sleep 1.5
kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null || true
[ "$(grep -c "allow rule=127.0.0.5:$P1" "$TMP/tail")" -ge 1 ] || fail "tail -f egress saw nothing"
ok "tail -f egress follows decisions"

# Past log_max the egress file rotates; an open tail -f follows on.
unmount_fs
mount_fs -o log_max=64K
for _ in $(seq 50); do
	[ "$(tail -n 1 <<<"$(run_in net "curl -s -o /dev/null http://127.0.0.5:$P1/")")" = "exited 0" ] && break
	sleep 0.1
done
timeout 60 tail -s 0.1 -n 0 -f "$MNT/net/egress" >"$TMP/tail-rot" &
tailpid=$!
sleep 1.2
run_in net "python3 -c 'import socket
for i in range(800):
    s = socket.create_connection((\"$PROXY_HOST\", 8888))
    s.sendall(b\"GET http://127.0.0.5:$P1/r\" + str(i).encode() + b\" HTTP/1.1\\r\\n\\r\\n\")
    while s.recv(65536): pass
    s.close()'" >/dev/null
run_in net "curl -s -o /dev/null http://127.0.0.5:$P1/after-rotation" >/dev/null
for _ in $(seq 30); do grep -q after-rotation "$TMP/tail-rot" 2>/dev/null && break; sleep 0.2; done
kill "$tailpid" 2>/dev/null; wait "$tailpid" 2>/dev/null || true
[ -s "$STATE/run/net/egress.1" ] || fail "egress did not rotate to egress.1"
[ "$(stat -c %s "$STATE/run/net/egress")" -lt $((64 * 1024)) ] || fail "egress is over its cap"
[ "$(stat -c %s "$STATE/run/net/egress.1")" -le $((64 * 1024)) ] || fail "egress.1 is over the cap"
grep -q "GET 127.0.0.5:$P1 127.0.0.5 allow" "$TMP/tail-rot" || fail "tail -f lost the log at rotation"
# Lines written between tail's last poll and the rotation are only in
# egress.1; the bulk before it and everything after it reach the reader.
[ "$(grep -c " allow " "$TMP/tail-rot")" -gt 500 ] || fail "tail -f saw too few lines: $(wc -l <"$TMP/tail-rot")"
ok "egress rotates at log_max (64K here) to egress.1, and an open tail -f follows on into the new file"

# A flood of refused requests cannot push allowed ones out of the record.
run_in net "curl -s -o /dev/null http://127.0.0.5:$P1/flood-marker" >/dev/null
flood_from=$(date +%s)
out=$(run_in net "python3 - <<'PY'
import socket
n = 0
for i in range(3000):
    s = socket.create_connection(('$PROXY_HOST', 8888))
    s.sendall(b'CONNECT denied%d.example:443 HTTP/1.1\\r\\n\\r\\n' % i)
    n += s.recv(100).startswith(b'HTTP/1.1 403')
    s.close()
print('refused', n)
PY")
assert_contains "flood" "$out" "refused 3000"
flood_secs=$(($(date +%s) - flood_from + 2))
run_in net "curl -s -o /dev/null http://127.0.0.5:$P1/" >/dev/null   # rolls the last second over
for _ in $(seq 40); do
	record=$(cat "$MNT/net/egress" "$STATE/run/net/egress.1" 2>/dev/null || true)
	grep -q 'more refused requests in this second' <<<"$record" && break
	sleep 0.1
done
grep -q "GET 127.0.0.5:$P1 127.0.0.5 allow" <<<"$record" || fail "the allowed request before the flood is gone"
deny_lines=$(grep -c 'CONNECT denied[0-9]*.example:443' <<<"$record")
# At most 10 a second, however long the flood took (a VM's emulated CPU
# makes it slower).
[ "$deny_lines" -le $((10 * flood_secs)) ] && [ "$deny_lines" -lt 1000 ] ||
	fail "$deny_lines deny lines for a flood of $flood_secs s (not aggregated)"
grep -q 'more refused requests in this second, not logged one by one' <<<"$record" || fail "no summary line"
ok "3000 refused requests: at most 10 lines a second plus a summary; the allowed request before them stays on record"

echo stop >"$MNT/net/ctl"
unmount_fs
