# Shared set-up for the integration tests: a real FUSE mount of bottlefs in
# a temporary directory, always unmounted and removed on exit.
set -euo pipefail

: "${BOTTLEFS:?BOTTLEFS must name the bottlefs binary}"
PY=/usr/bin/python3

if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
	echo "SKIP: needs root and /dev/fuse"
	exit 77
fi

TMP=$(mktemp -d /tmp/bottlefs-test.XXXXXX)
# Guests enter their root as their own mapped ids: the state dir must be
# searchable on the way (bottlefs(8), FILES).
chmod 711 "$TMP"
MNT=$TMP/mnt
STATE=$TMP/state
mkdir -p "$MNT"

# Under ASan/UBSan the daemon has no stderr once detached: its reports go
# to files that cleanup turns into a failure.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$TMP/sanitizer"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$TMP/sanitizer"

# Waits (up to 5 s) for the daemons of this test to exit after umount.
wait_daemons() {
	local _
	for _ in $(seq 100); do
		pgrep -f -- "$TMP" >/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# Containers a failed test left running: remove them through runc, then
# their shims, so nothing outlives the test.
kill_leftover_guests() {
	local id
	if [ -d "$STATE/runtime" ] && command -v runc >/dev/null; then
		for id in $(runc --root "$STATE/runtime" list -q 2>/dev/null); do
			runc --root "$STATE/runtime" delete --force "$id" >/dev/null 2>&1 || true
		done
	fi
	pkill -9 -f -- "bottlefs-oci-shim .*$TMP" 2>/dev/null || true
	# A VM's shim first, so that it does not record its QEMU's end.
	pkill -9 -f -- "bottlefs-vm-shim $TMP" 2>/dev/null || true
	pkill -9 -f -- "qemu-system-x86_64 .*$TMP" 2>/dev/null || true
}

# Background helpers a test starts (servers, decoys): track_bg after each
# `... &`; cleanup kills them and fails if one outlives that.
BG_PIDS=()
track_bg() {
	BG_PIDS+=("$!")
	disown "$!"     # killed by cleanup, not reported by the shell
}

kill_tracked() {
	local p _
	[ ${#BG_PIDS[@]} -gt 0 ] || return 0
	for p in "${BG_PIDS[@]}"; do
		pkill -9 -P "$p" 2>/dev/null || true
		kill -9 "$p" 2>/dev/null || true
	done
	# Up to 5 s: a process killed is gone only once the kernel has
	# taken its memory down.
	for _ in $(seq 50); do
		local alive=false
		for p in "${BG_PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=true
		done
		$alive || return 0
		sleep 0.1
	done
	echo "FAIL: a process the test started outlived it: ${BG_PIDS[*]}: $(ps -o pid,stat,cmd -p "${BG_PIDS[*]}" 2>&1)" >&2
	return 1
}

cleanup() {
	local rc=$? m
	# A test's own services (a docker engine) go first, while the mount
	# still answers.
	if declare -F test_cleanup >/dev/null; then
		test_cleanup || rc=1
	fi
	docker_down || rc=1
	[ "${HAD_DOCKREMAP:-true}" = true ] || userdel dockremap 2>/dev/null || true
	kill_tracked || rc=1
	kill_leftover_guests
	for m in $(awk -v t="$TMP" 'index($2, t) == 1 { print $2 }' /proc/mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	wait_daemons || { echo "FAIL: a bottlefs daemon did not exit after umount" >&2; rc=1; }
	if compgen -G "$TMP/sanitizer.*" >/dev/null; then
		echo "FAIL: sanitizer reports from the daemon:" >&2
		cat "$TMP"/sanitizer.* >&2
		rc=1
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT
# Killed (a timeout), the test has failed: cleanup must say so.
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

ok() {
	printf "[%s] " "$(date +%T)"
	echo "ok - $*"
}

# --- backends: BACKEND=docker runs a test that supports it on docker
# (mount option backend=docker, a dockerd of the test's own); oci is the
# default.
BACKEND=${BACKEND:-oci}
DOCKER_DIR=$TMP/docker
DOCKER_SOCK=$DOCKER_DIR/docker.sock

docker_api() {  # METHOD PATH [curl args...]
	local m=$1 p=$2
	shift 2
	curl -sf --unix-socket "$DOCKER_SOCK" -X "$m" "http://localhost/v1.41$p" "$@"
}

# A dockerd of the test's own: its socket, data and exec roots under $TMP,
# no bridge, no iptables. DOCKER_HOST points bottlefs at it.
docker_up() {
	command -v dockerd >/dev/null || { echo "SKIP: dockerd not installed (docker.io)"; exit 77; }
	mkdir -p "$DOCKER_DIR"
	dockerd --host "unix://$DOCKER_SOCK" --data-root "$DOCKER_DIR/data" --exec-root "$DOCKER_DIR/exec" \
		--pidfile "$DOCKER_DIR/pid" --iptables=false --ip6tables=false --bridge=none ${DOCKERD_ARGS:-} \
		>>"$DOCKER_DIR/dockerd.log" 2>&1 &
	disown "$!"     # not the test's `wait`s to wait for; docker_down stops it
	for _ in $(seq 100); do docker_api GET /_ping >/dev/null 2>&1 && break; sleep 0.1; done
	docker_api GET /_ping >/dev/null || fail "dockerd did not come up: $(tail -5 "$DOCKER_DIR/dockerd.log")"
	export DOCKER_HOST=unix://$DOCKER_SOCK
}

# Stops it (its containers with it); returns once it has exited.
docker_stop() {
	local pid
	[ -f "$DOCKER_DIR/pid" ] || return 0
	pid=$(cat "$DOCKER_DIR/pid")
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	return 1
}

docker_down() {
	local id
	[ -d "$DOCKER_DIR" ] || return 0
	if [ -S "$DOCKER_SOCK" ]; then
		for id in $(docker_api GET "/containers/json?all=1" |
			$PY -c 'import json,sys; print(" ".join(c["Id"] for c in json.load(sys.stdin)))' 2>/dev/null); do
			docker_api DELETE "/containers/$id?force=1" >/dev/null 2>&1 || true
		done
	fi
	docker_stop || { echo "FAIL: dockerd did not stop" >&2; return 1; }
	umount -R "$DOCKER_DIR/exec" 2>/dev/null || true
	umount -R "$DOCKER_DIR/data" 2>/dev/null || true
}

# backend_image ROOTFS: what a manifest's `image` names on $BACKEND: the
# root filesystem directory for oci; for docker, that tree imported into
# the test's engine (through its API, no registry).
backend_image() {
	local name
	if [ "$BACKEND" != docker ]; then
		echo "$1"
		return
	fi
	name=bottlefs-test/$(basename "$1" | tr -c 'a-z0-9\n' '-')
	tar -C "$1" -cf "$TMP/image.tar" .
	docker_api POST "/images/create?fromSrc=-&repo=$name&tag=latest" \
		-H "Content-Type: application/x-tar" --data-binary @"$TMP/image.tar" >/dev/null ||
		fail "docker import of $1"
	echo "$name"
}

# host_tools_rootfs DIR PROG...: a root filesystem of the host's own
# programs and exactly the libraries they load (ldd), busybox for the
# shell and coreutils, and Debian's python3 with its standard library:
# for backends that cannot run the host's /usr (docker) to run tests that
# need curl or python3 in the guest.
host_tools_rootfs() {
	local dir=$1 prog path lib a
	shift
	mkdir -p "$dir/bin" "$dir/usr/bin" "$dir/etc" "$dir/tmp" "$dir/usr/lib"
	chmod 1777 "$dir/tmp"
	cp "$(command -v busybox)" "$dir/bin/busybox"
	for a in sh ls cat echo id sleep seq head tail wc tr grep env printf sed awk stat kill true \
		hostname ps mknod touch cp mkdir rm chmod df find cut fold unshare readlink tty stty; do
		ln -sf busybox "$dir/bin/$a"
	done
	for prog in python3 "$@"; do
		path=$(readlink -f "$(PATH=/usr/bin:/bin command -v "$prog")")
		cp "$path" "$dir/usr/bin/$prog"
		# git runs its own builtins (index-pack...) from its exec path.
		if [ "$prog" = git ]; then
			mkdir -p "$dir/usr/lib/git-core"
			cp "$path" "$dir/usr/lib/git-core/git"
			mkdir -p "$dir/usr/share/git-core/templates"
		fi
		for lib in $(ldd "$path" | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
			cp --parents -L "$lib" "$dir/" 2>/dev/null || true
		done
	done
	tar -C /usr/lib --exclude=test --exclude=__pycache__ --exclude=idlelib --exclude=tkinter \
		--exclude=ensurepip --exclude=lib2to3 -cf - python3.11 | tar -C "$dir/usr/lib" -xf -
	# and what python's own extension modules load (libffi for ctypes...)
	for lib in $(ldd /usr/lib/python3.11/lib-dynload/*.so 2>/dev/null | awk '/=> \// { print $3 }' | sort -u); do
		cp --parents -L "$lib" "$dir/" 2>/dev/null || true
	done
	printf 'root:x:0:0::/root:/bin/sh\nagent:x:1000:1000::/home/agent:/bin/sh\n' >"$dir/etc/passwd"
	printf 'root:x:0:\nagent:x:1000:\n' >"$dir/etc/group"
	printf '127.0.0.1 localhost\n' >"$dir/etc/hosts"
	printf 'hosts: files dns\n' >"$dir/etc/nsswitch.conf"
}

# The manifest line that gives a bottle a plain image on $BACKEND: none
# on oci (the host image); elsewhere a busybox image made once per test.
image_toml() {
	local dir=$TMP/busybox-root a
	[ "$BACKEND" != oci ] || return 0
	if [ ! -d "$dir" ]; then
		mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp"
		cp "$(command -v busybox)" "$dir/bin/busybox"
		for a in sh ls cat echo id sleep seq head tail wc tr grep env printf sed kill true ps; do
			ln -s busybox "$dir/bin/$a"
		done
		printf 'root:x:0:0::/root:/bin/sh\n' >"$dir/etc/passwd"
		backend_image "$dir" >/dev/null
	fi
	if [ "$BACKEND" = microvm ]; then
		printf 'image = "%s"\n' "$dir"
	else
		printf 'image = "bottlefs-test/busybox-root"\n'
	fi
}

# tools_image_toml PROG...: the manifest line for an image with python3,
# busybox and PROGs: none on oci and microvm (the host image has them;
# VM_TOOLS=dir gives a VM the directory below instead); on docker the
# host's own programs in a root made once per test (host_tools_rootfs),
# imported into the engine.
tools_image_toml() {
	[ "$BACKEND" != oci ] || return 0
	[ "$BACKEND" != microvm ] || [ "${VM_TOOLS:-host}" != host ] || return 0
	[ -d "$TMP/tools" ] || { host_tools_rootfs "$TMP/tools" "$@"; backend_image "$TMP/tools" >/dev/null; }
	if [ "$BACKEND" = microvm ]; then
		printf 'image = "%s"\n' "$TMP/tools"
	else
		printf 'image = "bottlefs-test/tools"\n'
	fi
}

# docker_userns_engine: the test's dockerd maps user namespaces
# (--userns-remap=default), so that guest root may run on docker. dockerd
# makes the dockremap account; one the test made goes with it.
docker_userns_engine() {
	if getent passwd dockremap >/dev/null; then HAD_DOCKREMAP=true; else HAD_DOCKREMAP=false; fi
	DOCKERD_ARGS=--userns-remap=default
}

# pids_max_of PID: pids.max of the cgroup PID is in (cgroup v1 or v2).
pids_max_of() {
	local line
	line=$(grep -E '^[0-9]+:pids:' "/proc/$1/cgroup" || grep '^0::' "/proc/$1/cgroup") || return 1
	case "$line" in
	*:pids:*) cat "/sys/fs/cgroup/pids${line#*:pids:}/pids.max" ;;
	*) cat "/sys/fs/cgroup${line#0::}/pids.max" ;;
	esac
}

# How many containers (or VMs) of bottle NAME the backend has (running or not).
containers_of() {
	if [ "$BACKEND" = docker ]; then
		docker_api GET "/containers/json?all=1" | $PY -c 'import json,sys
print(sum(1 for c in json.load(sys.stdin) for n in c["Names"] if n.startswith("/bottlefs-" + sys.argv[1] + "-")))' "$1"
	elif [ "$BACKEND" = microvm ]; then
		# QEMUs whose agent socket is in the bottle's run dir (not their
		# shims, whose arguments name it too)
		pgrep -f -- "^[^ ]*qemu-system-x86_64 .*path=$STATE/run/$1/agent.sock" | wc -l
	else
		runc --root "$STATE/runtime" list -q | grep -c "^bottlefs-$1-" || true
	fi
}

# check_quick_kills BOTTLE: 20 commands killed right after their start all
# end "killed 15" (a kill must land even before the command's exec).
check_quick_kills() {
	local i
	for i in $(seq 20); do
		mkdir "$MNT/$1/exec/q$i"
		echo 'sleep 100' >"$MNT/$1/exec/q$i/cmd"
		echo 'kill TERM' >"$MNT/$1/exec/q$i/ctl"
	done
	for i in $(seq 20); do
		[ "$(timeout 10 cat "$MNT/$1/exec/q$i/wait")" = "killed 15" ] || fail "q$i: $(cat "$MNT/$1/exec/q$i/status")"
		rmdir "$MNT/$1/exec/q$i"
	done
}

# check_concurrent_sessions BOTTLE: 12 sessions at once keep their outputs
# apart.
check_concurrent_sessions() {
	local i out
	for i in $(seq 12); do
		mkdir "$MNT/$1/exec/c$i"
		echo "i=0; while [ \$i -lt 300 ]; do echo c$i-\$i; i=\$((i+1)); done" >"$MNT/$1/exec/c$i/cmd" &
	done
	wait
	for i in $(seq 12); do
		[ "$(cat "$MNT/$1/exec/c$i/wait")" = "exited 0" ] || fail "c$i did not exit 0"
		out=$(cat "$MNT/$1/exec/c$i/stdout")
		[ "$(grep -c "^c$i-" <<<"$out")" = 300 ] && [ "$(wc -l <<<"$out")" = 300 ] || fail "c$i output mixed or short"
	done
}

# mount_fs [extra bottlefs args...]: mounts on $MNT with state $STATE.
mount_fs() {
	if [ "$BACKEND" = docker ] && ! [ -S "$DOCKER_SOCK" ]; then
		docker_up
	fi
	"$BOTTLEFS" -o "backend=$BACKEND" -o "state=$STATE" "$@" "$MNT" || fail "bottlefs exited $?"
	mountpoint -q "$MNT" || fail "$MNT is not a mountpoint"
}

# Returns once the daemon has exited too (its watchers stopped): what a
# test does next to running guests is then seen by the next mount only.
unmount_fs() {
	local _
	umount "$MNT" || fail "umount failed"
	! mountpoint -q "$MNT" || fail "$MNT still mounted"
	for _ in $(seq 200); do
		pgrep -f -- "state=$STATE " >/dev/null || return 0
		sleep 0.05
	done
	fail "the daemon did not exit 10 s after umount: $(pgrep -af -- "state=$STATE ")"
}

# The daemon must survive whatever a test fed it.
assert_alive() {
	mountpoint -q "$MNT" || fail "daemon gone: $MNT not mounted"
	ls "$MNT" >/dev/null || fail "daemon gone: ls $MNT failed"
}

assert_contains() {  # file-or-text label, haystack, needle
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: expected to contain '$3', got: $2" ;;
	esac
}

# A minimal valid manifest.
manifest() {
	printf 'agent = "claude"\n%s\n' "${1:-}"
}

# run_in BOTTLE CMD: the one-shot form; prints output then the status line.
run_in() {
	local out
	out=$({ printf '%s' "$2" >&3; cat <&3; } 3<>"$MNT/$1/exec/run") || fail "exec/run in $1 failed"
	printf '%s\n' "$out"
}

# output_of BOTTLE CMD: output only, failing unless the command exited 0.
output_of() {
	local out
	out=$(run_in "$1" "$2")
	[ "$(tail -n 1 <<<"$out")" = "exited 0" ] || fail "'$2' in $1: $out"
	sed '$d' <<<"$out"
}

# refused_in BOTTLE CMD: true if the command ran and did not exit 0.
refused_in() {
	local out
	out=$(run_in "$1" "$2") || fail "exec/run in $1 failed"
	[ "$(tail -n 1 <<<"$out")" != "exited 0" ]
}
