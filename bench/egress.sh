#!/bin/bash
# Egress proxy throughput and connection rate, as ratios against a direct
# download on loopback, against Debian's tinyproxy with the same
# allowlist, and against the floor of any relay that connects to the
# origin per request (relay_floor.c: serial, no policy, no log; built
# here), all in this one run. bottlefs keeps origin connections between
# plain requests, so its connections/s may pass that floor. nginx serves a
# 200 MB file on 127.0.0.5. Our proxy and the floor listen inside the
# bottle's network namespace, so their client joins it with nsenter -n;
# the others run on the host.
# Usage: sudo bench/egress.sh [BOTTLEFS]  (needs nginx-light, tinyproxy, curl, gcc)
set -euo pipefail
BOTTLEFS=$(realpath "${1:-$(dirname "$0")/../build/bottlefs}")
PORT=18480
TPORT=18481
FPORT=18482
SIZE_MB=200
ROUNDS=9
CONNS=1000
CONN_ROUNDS=5

# What it needs, before anything is made: a clear word, not a failure halfway.
for tool in nginx tinyproxy curl gcc; do
	command -v "$tool" >/dev/null ||
		{ echo "$(basename "$0"): needs $tool (apt-get install nginx-light tinyproxy curl gcc)" >&2; exit 1; }
done

. "$(dirname "$0")/lib.sh"
mkdir -p "$TMP/www"

cleanup() {
	[ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null || true
	[ -n "${TPID:-}" ] && kill "$TPID" 2>/dev/null || true
	[ -n "${FPID:-}" ] && kill "$FPID" 2>/dev/null || true
	bench_teardown
}
trap cleanup EXIT

chmod 755 "$TMP" "$TMP/www"
head -c $((SIZE_MB * 1024 * 1024)) /dev/zero >"$TMP/www/big"
echo ok >"$TMP/www/small"
chmod 644 "$TMP/www/big" "$TMP/www/small"
cat >"$TMP/nginx.conf" <<EOF2
daemon on; worker_processes 2; pid $TMP/nginx.pid; error_log $TMP/nginx.err;
events { worker_connections 4096; }
http { access_log off; sendfile on; server { listen 127.0.0.5:$PORT; root $TMP/www; } }
EOF2
nginx -c "$TMP/nginx.conf" -p "$TMP"

echo '^127\.0\.0\.5$' >"$TMP/filter"
cat >"$TMP/tinyproxy.conf" <<EOF2
Port $TPORT
Listen 127.0.0.1
Timeout 600
MaxClients 512
Allow 127.0.0.1
Filter "$TMP/filter"
FilterDefaultDeny Yes
FilterExtended On
ConnectPort $PORT
LogLevel Critical
EOF2
tinyproxy -d -c "$TMP/tinyproxy.conf" >/dev/null 2>&1 &
TPID=$!

"$BOTTLEFS" -o "state=$STATE" "$MNT"
printf 'agent = "bench"\nstop_timeout = 1\n[network]\nallow = ["127.0.0.5:%s"]\n' "$PORT" >"$MNT/new/px"
echo start >"$MNT/px/ctl"
GPID=$(sed -n 's/^pid: //p' "$MNT/px/status")
gcc -O2 -o "$TMP/relay_floor" "$(dirname "$0")/relay_floor.c"
"$TMP/relay_floor" "$GPID" $FPORT 127.0.0.5 $PORT &
FPID=$!
sleep 0.5

speed() {  # prints bytes/s of one download; args: curl options
	curl -s -o /dev/null -w '%{speed_download}\n' "$@" "http://127.0.0.5:$PORT/big"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Rounds alternate between the five, so that a slow moment of the machine
# falls on all of them alike; each figure is a median.
for _ in $(seq $ROUNDS); do
	speed >>"$TMP/direct"
	nsenter -t "$GPID" -n curl -s -o /dev/null -w '%{speed_download}\n' -x http://127.0.0.1:8888 "http://127.0.0.5:$PORT/big" >>"$TMP/ours"
	nsenter -t "$GPID" -n curl -s -o /dev/null -w '%{speed_download}\n' -p -x http://127.0.0.1:8888 "http://127.0.0.5:$PORT/big" >>"$TMP/tunnel"
	speed -x "http://127.0.0.1:$TPORT" >>"$TMP/tiny"
	nsenter -t "$GPID" -n curl -s -o /dev/null -w '%{speed_download}\n' -x http://127.0.0.1:$FPORT "http://127.0.0.5:$PORT/big" >>"$TMP/floor"
done
direct=$(median <"$TMP/direct")
ours=$(median <"$TMP/ours")
ours_tunnel=$(median <"$TMP/tunnel")
tiny=$(median <"$TMP/tiny")
floor=$(median <"$TMP/floor")
awk -v d="$direct" -v o="$ours" -v c="$ours_tunnel" -v t="$tiny" -v f="$floor" -v mb=$SIZE_MB 'BEGIN {
	printf "download %d MB   direct %.2f GB/s   bottlefs %.2f GB/s (%.2fx)   bottlefs CONNECT %.2f GB/s (%.2fx)   tinyproxy %.2f GB/s (%.2fx)   relay floor %.2f GB/s (%.2fx)\n",
		mb, d / 1e9, o / 1e9, o / d, c / 1e9, c / d, t / 1e9, t / d, f / 1e9, f / d
	printf "                 bottlefs / tinyproxy: %.1fx   bottlefs / relay floor: %.2fx\n", o / t, o / f }'

# Connections per second: one small request per connection, from one client.
cat >"$TMP/conns.py" <<'PY'
import socket, sys, time
proxy, n, port = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
for _ in range(n):
    if proxy == "direct":
        s = socket.create_connection(("127.0.0.5", int(port)))
        s.sendall(b"GET /small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    else:
        host, p = proxy.split(":")
        s = socket.create_connection((host, int(p)))
        s.sendall(f"GET http://127.0.0.5:{port}/small HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    assert b" 200 " in data.split(b"\r\n")[0], data[:80]
    s.close()
print(f"{n / (time.perf_counter() - t):.0f}")
PY
for _ in $(seq $CONN_ROUNDS); do
	/usr/bin/python3 "$TMP/conns.py" direct $CONNS $PORT >>"$TMP/c_direct"
	nsenter -t "$GPID" -n /usr/bin/python3 "$TMP/conns.py" 127.0.0.1:8888 $CONNS $PORT >>"$TMP/c_ours"
	/usr/bin/python3 "$TMP/conns.py" "127.0.0.1:$TPORT" $CONNS $PORT >>"$TMP/c_tiny"
	nsenter -t "$GPID" -n /usr/bin/python3 "$TMP/conns.py" 127.0.0.1:$FPORT $CONNS $PORT >>"$TMP/c_floor"
done
awk -v d="$(median <"$TMP/c_direct")" -v o="$(median <"$TMP/c_ours")" -v t="$(median <"$TMP/c_tiny")" \
	-v f="$(median <"$TMP/c_floor")" 'BEGIN {
	printf "connections/s    direct %d   bottlefs %d (%.2fx)   tinyproxy %d (%.2fx)   relay floor %d (%.2fx)\n",
		d, o, o / d, t, t / d, f, f / d
	printf "                 bottlefs / relay floor: %.2fx\n", o / f }'
echo stop >"$MNT/px/ctl"
