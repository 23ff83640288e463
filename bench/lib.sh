# Shared by the benchmarks: a mount of bottlefs in a temporary directory,
# torn down with everything it started, whatever happens.

TMP=$(mktemp -d /tmp/bottlefs-bench.XXXXXX)
chmod 711 "$TMP"   # guests enter their root as their mapped ids (bottlefs(8))
MNT=$TMP/mnt
STATE=$TMP/state
mkdir -p "$MNT"

# remove_containers ROOT: deletes every container runc keeps under ROOT.
remove_containers() {
	local id
	for id in $(runc --root "$1" list -q 2>/dev/null); do
		runc --root "$1" delete --force "$id" >/dev/null 2>&1 || true
	done
}

# bench_teardown: containers, shims, the mount and $TMP.
bench_teardown() {
	remove_containers "$STATE/runtime"
	pkill -9 -f "bottlefs-oci-shim .*$TMP" 2>/dev/null || true
	pkill -9 -f "bottlefs-vm-shim $TMP" 2>/dev/null || true
	pkill -9 -f "qemu-system-x86_64 .*$TMP" 2>/dev/null || true
	umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	rm -rf "$TMP"
}
