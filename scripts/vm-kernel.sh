#!/bin/bash
# Fetches the microvm backend's guest kernel: Debian's cloud kernel
# (apt-get download, no install), its vmlinuz and the modules a guest
# needs (virtio-mmio, the agent's virtio-serial port, virtio-net, virtio-blk
# for a copy workspace, virtiofs for the host image's /usr) with
# their dependencies, in load order.
#   scripts/vm-kernel.sh [DEST]     (default /usr/local/lib/bottlefs/vm)
# DEST gets vmlinuz, modules/*.ko, modules.load (names in load order) and
# version (the kernel release).
set -euo pipefail
DEST=${1:-/usr/local/lib/bottlefs/vm}
WANT="virtio_mmio virtio_console virtio_net virtio_blk virtiofs"
pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$pkg" ] || { echo "vm-kernel: no linux-image-cloud-amd64 in apt's lists (apt-get update?)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt's sandbox user writes the download
(cd "$work" && apt-get download -q "$pkg" >/dev/null && dpkg-deb -x ./*.deb root)
release=$(ls "$work/root/lib/modules")
moddir="$work/root/lib/modules/$release"
# The package leaves modules.dep to its postinst: make it here.
[ -f "$moddir/modules.dep" ] || /sbin/depmod -b "$work/root" "$release"
declare -A seen=()
order=()
add() {  # $1: a path relative to $moddir; its dependencies first
	local rel=$1 dep
	[ -n "${seen[$rel]:-}" ] && return
	seen[$rel]=1
	for dep in $(awk -v m="$rel:" '$1 == m { $1 = ""; print }' "$moddir/modules.dep"); do
		add "$dep"
	done
	order+=("$rel")
}
for name in $WANT; do
	rel=$(awk -F: -v n="/$name.ko" 'index($1, n) == length($1) - length(n) + 1 { print $1; exit }' "$moddir/modules.dep")
	[ -n "$rel" ] || { echo "vm-kernel: $name is not a module of $release (built in?)" >&2; continue; }
	add "$rel"
done
mkdir -p "$DEST.new/modules"
cp "$work/root/boot/vmlinuz-$release" "$DEST.new/vmlinuz"
: >"$DEST.new/modules.load"
for rel in "${order[@]}"; do
	cp "$moddir/$rel" "$DEST.new/modules/"
	basename "$rel" >>"$DEST.new/modules.load"
done
echo "$release" >"$DEST.new/version"
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
echo "vm-kernel: $release in $DEST ($(wc -l <"$DEST/modules.load") modules)"
