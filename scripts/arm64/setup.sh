#!/bin/bash
# scripts/arm64/setup.sh - host tools and arm64 packages for the emulated arm64 lane.
#
# Installs (apt) qemu-system-arm, the aarch64 cross toolchain, cpio, rustc-web/cargo-web,
# gdb-multiarch and lldb, then fetches from apt into $KVM_DEBUG_CACHE: the Debian arm64 kernel,
# busybox-static:arm64, nodejs:arm64 with its libraries, and libstd-rust-web-dev:arm64 of the
# same version as the host's rustc-web. Idempotent; a stamp file makes a second run a no-op.
#   LANE_SETUP=force   redo everything (apt-get update included)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

HOST_PKGS="qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu
	linux-libc-dev-arm64-cross cpio rustc-web cargo-web gdb-multiarch lldb bc perl"
STAMP="$CACHE/setup.stamp"

mkdir -p "$CACHE"/{debs,x}

stamp_text() { # what a finished setup looks like; any change forces a redo
	echo "kernel=$(kernel_pkg)"
	echo "rustc-web=$(rustc_web_version)"
	echo "node=$NODE_PKGS"
	echo "net=$NET_MODULES"
	echo "qemu-peer=qemu-system-arm:arm64"
}

have_host_tools() {
	command -v qemu-system-aarch64 && command -v aarch64-linux-gnu-gcc && command -v cpio &&
		command -v gdb-multiarch && [ -x /usr/bin/lldb ] && [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ]
} >/dev/null 2>&1

if [ "${LANE_SETUP:-}" != force ] && [ -f "$STAMP" ] && have_host_tools &&
	[ "$(cat "$STAMP")" = "$(stamp_text)" ]; then
	log "setup: cached ($STAMP)"
	exit 0
fi

# ---- host packages
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	log "setup: dpkg --add-architecture arm64"
	dpkg --add-architecture arm64
fi
log "setup: apt-get update"
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $HOST_PKGS >/dev/null
command -v qemu-system-aarch64 >/dev/null || die "qemu-system-aarch64 missing after install"

# fetch_into DIR PKG... : apt-get download the packages not already in DIR (one apt call).
fetch_into() {
	local dir=$1 p name want=(); shift
	mkdir -p "$dir"
	for p in "$@"; do
		name=${p%%[:=]*}
		ls "$dir/${name}"_*.deb >/dev/null 2>&1 || want+=("$p")
	done
	[ ${#want[@]} -eq 0 ] && return 0
	log "setup: apt-get download ${want[*]}"
	(cd "$dir" && apt-get download "${want[@]}" 2>&1 | grep -vE 'unsandboxed|^Get:' >&2) || true
	for p in "$@"; do
		name=${p%%[:=]*}
		ls "$dir/${name}"_*.deb >/dev/null 2>&1 || die "apt-get download $p failed"
	done
}

# ---- kernel (CONFIG_KVM=y: the guest kernel is the KVM host of the suite)
KPKG=$(kernel_pkg)
[ -n "$KPKG" ] || die "cannot resolve linux-image-$KFLAVOUR:arm64 (apt-get update?)"
fetch_into "$CACHE/debs/kernel" "${KPKG}-unsigned:arm64"
KDIR=$(kernel_dir)
if [ "$(cat "$KDIR/.pkg" 2>/dev/null)" != "$KPKG" ]; then
	rm -rf "$KDIR"; mkdir -p "$KDIR"
	dpkg -x "$(ls "$CACHE/debs/kernel/${KPKG}-unsigned"_*.deb | tail -1)" "$KDIR"
	echo "$KPKG" >"$KDIR/.pkg"
fi
grep -q '^CONFIG_KVM=y' "$KDIR"/boot/config-* || die "$KPKG: CONFIG_KVM is not built in"

# ---- busybox
fetch_into "$CACHE/debs/busybox" busybox-static:arm64
if [ ! -x "$(busybox_bin)" ]; then
	mkdir -p "$CACHE/x/busybox"
	dpkg -x "$(ls "$CACHE"/debs/busybox/busybox-static_*.deb | tail -1)" "$CACHE/x/busybox"
fi

# ---- nodejs:arm64 and its libraries, unpacked as a root tree for the initramfs
# shellcheck disable=SC2086
fetch_into "$CACHE/debs/node" $NODE_PKGS
NR=$(node_root)
if [ "$(cat "$NR/.pkgs" 2>/dev/null)" != "$NODE_PKGS" ]; then
	rm -rf "$NR"; mkdir -p "$NR"
	for d in "$CACHE"/debs/node/*.deb; do dpkg -x "$d" "$NR"; done
	rm -rf "$NR"/usr/share/{doc,man,lintian,locale}
	echo "$NODE_PKGS" >"$NR/.pkgs"
fi

# ---- QEMU's own arm64 build and its arm64 libraries: the peer the bench measures in the same
# emulated machine (shared/lab/l2-linux shows it running there on the same KVM).
QR=$(qemu_root)
if [ ! -x "$QR/usr/bin/qemu-system-aarch64" ]; then
	# shellcheck disable=SC2046
	fetch_into "$CACHE/debs/qemu" $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances qemu-system-arm:arm64 2>/dev/null | grep -v '^[ <]' | sort -u |
		grep -E '^(lib.*:arm64|qemu-system-(arm|common):arm64|zlib1g:arm64)$' |
		grep -vE 'libpam|libsemanage|libdebian-installer|libnewt|libtextwrap|libslang|libcap2-bin')
	rm -rf "$QR"; mkdir -p "$QR"
	for d in "$CACHE"/debs/qemu/*.deb; do dpkg -x "$d" "$QR"; done
	[ -x "$QR/usr/bin/qemu-system-aarch64" ] || die "no qemu-system-aarch64 in the qemu-system-arm:arm64 packages"
fi

# ---- arm64 Rust std for Debian's rustc-web, and a sysroot with both targets
VER=$(rustc_web_version)
fetch_into "$CACHE/debs/rust-$VER" "libstd-rust-web-dev:arm64=$VER"
SR=$(sysroot_dir)
if [ "$(cat "$SR/.version" 2>/dev/null)" != "$VER" ]; then
	rm -rf "$SR"; mkdir -p "$SR/x" "$SR/lib/rustlib"
	dpkg -x "$(ls "$CACHE/debs/rust-$VER"/libstd-rust-web-dev_*arm64.deb | tail -1)" "$SR/x"
	ln -sfn /usr/lib/rustlib/x86_64-unknown-linux-gnu "$SR/lib/rustlib/x86_64-unknown-linux-gnu"
	ln -sfn "$SR/x/usr/lib/rustlib/$TRIPLE" "$SR/lib/rustlib/$TRIPLE"
	echo "$VER" >"$SR/.version"
fi
[ -d "$SR/lib/rustlib/$TRIPLE/lib" ] || die "no arm64 std rlibs in $SR"

stamp_text >"$STAMP"
log "setup: done (kernel $KPKG, rustc-web $VER)"
