# scripts/arm64/lib.sh - shared settings and helpers of the emulated arm64 lane.
# Sourced by setup.sh, build.sh, initramfs.sh and lane.sh; never run directly.
#
# Knobs (environment, defaults in brackets):
#   KVM_DEBUG_CACHE  downloads, extracted packages, sysroot        [/var/cache/kvm-debug-arm64]
#   KFLAVOUR         Debian arm64 kernel flavour                   [cloud-arm64]
#   LANE_OUT         lane build outputs (guests, JS, initramfs)    [<repo>/target/aarch64/lane]

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${KVM_DEBUG_CACHE:-/var/cache/kvm-debug-arm64}
KFLAVOUR=${KFLAVOUR:-cloud-arm64}
# The aarch64 build has its own target dir: the host builds never wait on its lock.
AARCH64_TARGET_DIR=${AARCH64_TARGET_DIR:-$ROOT/target/aarch64}
LANE_OUT=${LANE_OUT:-$AARCH64_TARGET_DIR/lane}
TRIPLE=aarch64-unknown-linux-gnu

# Runtime packages of nodejs:arm64 in bookworm (Depends of nodejs + libnode108, resolved once
# by hand; setup.sh fails loudly if one is missing, so a point release cannot drift silently).
NODE_PKGS="nodejs:arm64 libnode108:arm64 libc6:arm64 libgcc-s1:arm64 libstdc++6:arm64
	libbrotli1:arm64 libc-ares2:arm64 libicu72:arm64 libnghttp2-14:arm64 libssl3:arm64
	libuv1:arm64 zlib1g:arm64 node-acorn node-cjs-module-lexer node-undici node-busboy node-xtend"

# Kernel modules (from the same kernel package) that give the guest a virtio-net NIC over
# virtio-mmio, in load order; the lane uses it to forward the guest's GDB port to the host.
NET_MODULES="virtio_ring virtio virtio_mmio failover net_failover virtio_net"

export DEBIAN_FRONTEND=noninteractive

log() { printf '[lane] %s\n' "$*" >&2; }
die() { printf '[lane] ERROR: %s\n' "$*" >&2; exit 1; }

# Time one named step; the totals are printed by lane.sh.
now() { date +%s.%N; }
declare -a LANE_TIMES=()
step() { # step NAME CMD...
	local name=$1 t0 rc=0; shift
	t0=$(now)
	log "== $name"
	"$@" || rc=$?
	LANE_TIMES+=("$(printf '%-40s %7.1f s' "$name" "$(echo "$(now) - $t0" | bc)")")
	return $rc
}

# Host rustc-web (Debian) version: the arm64 std rlibs must match it exactly.
rustc_web_version() { dpkg-query -W -f='${Version}' rustc-web; }

# Paths inside the cache (valid once setup.sh ran).
kernel_pkg() { # the versioned linux-image package behind the flavour metapackage
	apt-cache depends "linux-image-$KFLAVOUR:arm64" 2>/dev/null |
		awk '/Depends: linux-image-/{print $2; exit}' | sed 's/:arm64$//'
}
kernel_dir() { echo "$CACHE/x/kernel"; }
sysroot_dir() { echo "$CACHE/rust-sysroot"; }
node_root() { echo "$CACHE/x/node-root"; }
busybox_bin() { echo "$CACHE/x/busybox/bin/busybox"; }
qemu_root() { echo "$CACHE/x/qemu-root"; } # Debian's qemu-system-aarch64 for arm64: the bench's peer
