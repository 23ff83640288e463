#!/bin/bash
# Mounting: plain bottlefs, the mount.bottlefs helper, mount -t, fstab
# lines, option errors, unmount.
. "$(dirname "$0")/lib.sh"

# Plain bottlefs, backgrounding itself once mounted.
mount_fs
[ "$(stat -c %a "$MNT")" = 700 ] || fail "root mode is $(stat -c %a "$MNT"), want 700"
entries=$(ls "$MNT" | tr '\n' ' ')
[ "$entries" = "backends cleanup errors new requests.log " ] || fail "root lists '$entries'"
grep -q "^bottlefs $MNT fuse.bottlefs " /proc/mounts || fail "/proc/mounts: $(grep "$MNT" /proc/mounts)"
ok "bottlefs -o state=DIR MNT mounts; root is 0700 with new, errors, backends, cleanup"

backends=$(cat "$MNT/backends")
[ "$(echo "$backends" | wc -l)" = 4 ] || fail "backends: $backends"
assert_contains backends "$backends" "oci: available (default)"
assert_contains backends "$backends" "docker: "
assert_contains backends "$backends" "microvm: "
assert_contains backends "$backends" "smolvm: unavailable: smolvm not found"
if [ ! -S /var/run/docker.sock ]; then
	assert_contains backends "$backends" "docker: unavailable: "
fi
ok "backends lists each backend with availability and reason"

# The man pages and the usage text name every backend the table has
# (backends.c), in its order: no hand-kept list may fall behind.
names=$(sed 's/:.*//' <<<"$backends" | paste -sd, | sed 's/,/, /g')
assert_contains usage "$("$BOTTLEFS" --help)" "default backend: $names (default oci)"
for page in bottlefs.8 mount.bottlefs.8 bottlefs-manifest.5; do
	text=$(MANWIDTH=200 man -l "$SRCDIR/man/$page" 2>/dev/null)
	for n in $(sed 's/:.*//' <<<"$backends"); do
		grep -qw -- "$n" <<<"$text" || fail "man page $page does not name backend $n"
	done
done
ok "bottlefs --help and the three man pages name every backend of the table ($names)"

unmount_fs
ok "umount unmounts cleanly"

# Unknown options: refused with a clear message, nothing mounted.
if out=$("$BOTTLEFS" -o "state=$STATE,bogus_opt" "$MNT" 2>&1); then
	fail "unknown option accepted"
fi
assert_contains "unknown option" "$out" "unknown mount option 'bogus_opt'"
! mountpoint -q "$MNT" || fail "mounted despite a bad option"
if out=$("$BOTTLEFS" -o "state=$STATE,backend=lxc" "$MNT" 2>&1); then
	fail "unknown backend accepted"
fi
assert_contains "unknown backend" "$out" 'unknown backend "lxc"'
! mountpoint -q "$MNT" || fail "mounted despite a bad backend"
ok "unknown options and backends are refused with a message"

# stop_timeout= is the default grace period of manifests without one.
if out=$("$BOTTLEFS" -o "state=$STATE,stop_timeout=99999" "$MNT" 2>&1); then
	fail "stop_timeout=99999 accepted"
fi
assert_contains "stop_timeout range" "$out" "stop_timeout= must be 0-3600 seconds"
mount_fs -o stop_timeout=3
printf 'agent = "a"\n' >"$MNT/new/graced"
printf 'agent = "a"\nstop_timeout = 7\n' >"$MNT/new/own"
grep -qx 'stop_timeout = 3' "$MNT/graced/plan.toml" || fail "mount default stop_timeout not in the plan"
grep -qx 'stop_timeout = 7' "$MNT/own/plan.toml" || fail "manifest stop_timeout not in the plan"
rmdir "$MNT/graced" "$MNT/own"
unmount_fs
# idbase= moves the guests' id range; it may hold no host account.
for bad in 100 -5 x 4294967295; do
	if out=$("$BOTTLEFS" -o "state=$STATE,idbase=$bad" "$MNT" 2>&1); then fail "idbase=$bad accepted"; fi
	assert_contains "idbase=$bad" "$out" "idbase= 65536-4294901759"
	! mountpoint -q "$MNT" || fail "mounted despite idbase=$bad"
done
for bad in 1K 5G lots; do
	if out=$("$BOTTLEFS" -o "state=$STATE,log_max=$bad" "$MNT" 2>&1); then fail "log_max=$bad accepted"; fi
	assert_contains "log_max=$bad" "$out" "log_max= 4K-4G"
	! mountpoint -q "$MNT" || fail "mounted despite log_max=$bad"
done
mount_fs -o idbase=2000000000
printf 'agent = "a"\n' >"$MNT/new/moved"
grep -qx 'uid_map = "0 2000000000 65536"' "$MNT/moved/plan.toml" || fail "idbase= not applied: $(grep uid_map "$MNT/moved/plan.toml")"
printf 'agent = "a"\n' >"$MNT/new/moved2"
grep -qx 'uid_map = "0 2000065536 65536"' "$MNT/moved2/plan.toml" || fail "second bottle does not get the next range"
rmdir "$MNT/moved" "$MNT/moved2"
unmount_fs
ok "-o idbase= moves the guests' id range (one 65536-id slot per bottle); bad idbase= and log_max= values are refused"

ok "-o stop_timeout= sets the grace period of manifests without one; out-of-range values are refused"

# Other users: nothing without allow_other; with allow_other,read_gid=
# that group reads and never writes; everyone else still gets nothing.
as_user() {  # uid gid command...
	local uid=$1 gid=$2
	shift 2
	setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
}
chmod 755 "$TMP"     # so that the others can reach the mount point
mount_fs
printf 'agent = "a"\n' >"$MNT/new/shared"
if as_user 65534 4242 ls "$MNT" >/dev/null 2>&1; then fail "another user listed a mount without allow_other"; fi
unmount_fs
mount_fs -o allow_other,read_gid=4242
as_user 65534 4242 cat "$MNT/shared/status" >/dev/null || fail "read_gid member cannot read status"
[ "$(as_user 65534 4242 ls "$MNT" | tr '\n' ' ')" = "backends cleanup errors new requests.log shared " ] || fail "read_gid member cannot list"
if as_user 65534 4242 sh -c "echo start > '$MNT/shared/ctl'" 2>/dev/null; then fail "read_gid member wrote ctl"; fi
if as_user 65534 4242 sh -c "printf 'agent = \"x\"\n' > '$MNT/new/theirs'" 2>/dev/null; then fail "read_gid member created a bottle"; fi
[ ! -e "$MNT/theirs" ] || fail "a bottle was created by a reader"
if as_user 65534 4242 rmdir "$MNT/shared" 2>/dev/null; then fail "read_gid member removed a bottle"; fi
if as_user 65534 65534 cat "$MNT/shared/status" >/dev/null 2>&1; then fail "a non-member could read"; fi
[ "$(cat "$MNT/shared/ctl")" = planned ] || fail "the owner lost access"
rmdir "$MNT/shared"
unmount_fs
if out=$("$BOTTLEFS" -o "state=$STATE,read_gid=wheel" "$MNT" 2>&1); then fail "read_gid=wheel accepted"; fi
assert_contains "read_gid" "$out" "read_gid= must be a numeric group id"
ok "other users see nothing; with allow_other,read_gid= that group reads but cannot create, control or remove"

# The helper form mount(8) uses, through a link named mount.bottlefs.
ln -s "$BOTTLEFS" "$TMP/mount.bottlefs"
"$TMP/mount.bottlefs" mybottles "$MNT" -o "state=$STATE,backend=oci,nofail,_netdev,x-systemd.automount" ||
	fail "mount.bottlefs failed"
grep -q "^mybottles $MNT fuse.bottlefs " /proc/mounts || fail "helper mount: $(grep "$MNT" /proc/mounts)"
unmount_fs
if "$TMP/mount.bottlefs" mybottles "$MNT" -o "state=$STATE,nonsense" 2>"$TMP/err"; then
	fail "helper accepted an unknown option"
fi
assert_contains "helper error" "$(cat "$TMP/err")" "unknown mount option 'nonsense'"
"$TMP/mount.bottlefs" mybottles "$MNT" -s -o "state=$STATE,nonsense" || fail "sloppy mount failed"
unmount_fs
ok "mount.bottlefs SPEC DIR -o OPTS: drops fstab-only options, refuses unknown ones unless -s"

# mount -t and fstab need the installed helper where mount(8) looks.
if [ -x /sbin/mount.bottlefs ]; then
	mount -t bottlefs -o "state=$STATE,backend=oci" bottlefs "$MNT" || fail "mount -t bottlefs failed"
	mountpoint -q "$MNT" || fail "mount -t: not mounted"
	unmount_fs
	echo "bottlefs $MNT bottlefs state=$STATE,backend=oci,nofail 0 0" >"$TMP/fstab"
	mount -T "$TMP/fstab" "$MNT" || fail "fstab mount failed"
	mountpoint -q "$MNT" || fail "fstab: not mounted"
	unmount_fs
	ok "mount -t bottlefs and an fstab line work"
elif [ "${CI:-}" = true ]; then
	fail "/sbin/mount.bottlefs is not installed (CI installs it)"
else
	echo "# skipped mount -t: /sbin/mount.bottlefs not installed"
fi

# Foreground mode ends when unmounted.
"$BOTTLEFS" -f -o "state=$STATE" "$MNT" &
pid=$!
for _ in $(seq 50); do mountpoint -q "$MNT" && break; sleep 0.1; done
mountpoint -q "$MNT" || fail "-f did not mount"
umount "$MNT"
wait "$pid" || fail "foreground daemon exited $?"
ok "bottlefs -f stays in the foreground and exits 0 on umount"

# backends asks QEMU its version once per program file, and again when
# the file is replaced: PATH leads to a copy of QEMU, then to coreutils'
# true put in its place (whose --version is then the answer).
mkdir -p "$TMP/bin"
cp "$(command -v qemu-system-x86_64)" "$TMP/bin/qemu-system-x86_64"
PATH="$TMP/bin:$PATH" mount_fs
first=$(grep '^microvm' "$MNT/backends")
if [[ $first == "microvm: available"* ]]; then
	assert_contains "qemu version" "$first" "qemu $(qemu-system-x86_64 --version | sed -n '1s/^QEMU emulator version //p')"
	[ "$(grep '^microvm' "$MNT/backends")" = "$first" ] || fail "backends changed by itself: $first"
	cp /bin/true "$TMP/bin/qemu.new"
	mv "$TMP/bin/qemu.new" "$TMP/bin/qemu-system-x86_64"
	assert_contains "replaced qemu" "$(grep '^microvm' "$MNT/backends")" "qemu true (GNU coreutils)"
	unmount_fs
	ok "backends' QEMU version is kept per program file and follows it when replaced"
else
	unmount_fs
	ok "microvm unavailable here ($first): the QEMU version cache is not exercised"
fi
