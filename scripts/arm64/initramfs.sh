#!/bin/bash
# scripts/arm64/initramfs.sh - pack the lane's initramfs ($LANE_OUT/initrd.cpio).
# Contents: busybox, nodejs:arm64 + libraries (as a root tree), /init (guest-init.sh), and
# under /lane: the addon, the compiled JS, the guests, kvm-debug's test and bench binaries.
# Uncompressed newc: the emulated CPU would spend seconds on decompression.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

R="$LANE_OUT/initramfs-root"
rm -rf "$R"
mkdir -p "$R"/{bin,dev,proc,sys,tmp,root,lane/crates/node,lib/modules}
cp -a "$(node_root)"/. "$R"/
rm -f "$R/.pkgs"
cp "$(busybox_bin)" "$R/bin/busybox"
install -m 0755 "$ROOT/scripts/arm64/guest-init.sh" "$R/init"

ADDON="$ROOT/crates/node/kvm-debug.linux-arm64-gnu.node"
if [ -f "$ADDON" ]; then cp "$ADDON" "$R/lane/crates/node/"; else log "initramfs: no addon ($ADDON)"; fi
cp "$ROOT/package.json" "$R/lane/" 2>/dev/null || true
# ts/dist where the repository has it, so its loader finds ../../crates/node as in a checkout
if [ -d "$ROOT/ts/dist" ]; then mkdir -p "$R/lane/ts" && cp -a "$ROOT/ts/dist" "$R/lane/ts/"; else log "initramfs: no ts/dist"; fi
for d in js guests rust; do
	if [ -d "$LANE_OUT/$d" ]; then cp -a "$LANE_OUT/$d" "$R/lane/"; else log "initramfs: no $LANE_OUT/$d"; fi
done
if [ -d "$ROOT/scripts/arm64/gdb" ]; then cp -a "$ROOT/scripts/arm64/gdb" "$R/lane/"; fi

# The nested Linux guest (linux/run.sh): this same kernel's Image and a busybox initramfs.
KIMAGE=$(ls "$(kernel_dir)"/boot/vmlinuz-* | head -1)
L2="$LANE_OUT/l2-root"
rm -rf "$L2"
mkdir -p "$L2"/{bin,dev,proc,sys} "$R/lane/linux"
cp "$(busybox_bin)" "$L2/bin/busybox"
install -m 0755 "$ROOT/scripts/arm64/linux/l2-init.sh" "$L2/init"
aarch64-linux-gnu-gcc -static -O2 -Wall -o "$L2/bin/brk77" "$ROOT/scripts/arm64/linux/brk77.c"
# The uprobe's place: the file offset of busybox's entry point (its PT_LOAD that holds e_entry).
node -e '
	const b = require("fs").readFileSync(process.argv[1]);
	const entry = b.readBigUInt64LE(24), phoff = Number(b.readBigUInt64LE(32));
	const n = b.readUInt16LE(56), sz = b.readUInt16LE(54);
	for (let i = 0; i < n; i++) {
		const p = phoff + i * sz;
		if (b.readUInt32LE(p) !== 1) continue; // PT_LOAD
		const off = b.readBigUInt64LE(p + 8), va = b.readBigUInt64LE(p + 16), fsz = b.readBigUInt64LE(p + 32);
		if (entry >= va && entry < va + fsz) { console.log("0x" + (entry - va + off).toString(16)); process.exit(0); }
	}
	process.exit(1);' "$L2/bin/busybox" >"$L2/uprobe.off" || die "no PT_LOAD holds busybox's entry point"
(cd "$L2" && find . | cpio -o -H newc --quiet >"$R/lane/linux/l2.cpio")
cp "$KIMAGE" "$R/lane/linux/Image"
install -m 0755 "$ROOT/scripts/arm64/linux/run.sh" "$R/lane/linux/run.sh"

# QEMU's arm64 build, the bench's peer: the binary and only its NEEDED closure (not all 90 packages).
QR=$(qemu_root)
if [ -x "$QR/usr/bin/qemu-system-aarch64" ]; then
	install -D -m 0755 "$QR/usr/bin/qemu-system-aarch64" "$R/usr/bin/qemu-system-aarch64"
	declare -A seen=()
	queue=("$QR/usr/bin/qemu-system-aarch64")
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}; queue=("${queue[@]:1}")
		for so in $(aarch64-linux-gnu-readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			[ -n "${seen[$so]:-}" ] && continue
			seen[$so]=1
			for d in lib/aarch64-linux-gnu usr/lib/aarch64-linux-gnu; do
				[ -e "$QR/$d/$so" ] || continue
				[ -e "$R/$d/$so" ] || install -D -m 0644 "$(readlink -f "$QR/$d/$so")" "$R/$d/$so"
				queue+=("$(readlink -f "$QR/$d/$so")")
				break
			done
		done
	done
	log "initramfs: qemu-system-aarch64 (arm64) + ${#seen[@]} libraries"
else
	log "initramfs: no QEMU peer ($QR): run scripts/arm64/setup.sh"
fi

# virtio-net modules (for the forwarded GDB port), from the same kernel package
KVER=$(ls "$(kernel_dir)/lib/modules")
for m in $NET_MODULES; do
	f=$(find "$(kernel_dir)/lib/modules/$KVER" -name "$m.ko" | head -1)
	[ -n "$f" ] || die "kernel module $m.ko not found"
	cp "$f" "$R/lib/modules/"
done

(cd "$R" && find . | cpio -o -H newc --quiet >"$LANE_OUT/initrd.cpio")
log "initramfs: $LANE_OUT/initrd.cpio ($(du -m "$LANE_OUT/initrd.cpio" | cut -f1) MiB)"
