#!/bin/busybox sh
# scripts/arm64/guest-init.sh - /init of the lane's initramfs (runs inside the emulated arm64
# machine, whose kernel is the KVM host). Runs the parts named by `lane.only=` on the kernel
# command line (default: all) and prints machine-readable markers that lane.sh parses:
#   LANE-RUST-BEGIN <bin> / LANE-RUST-END <bin> rc=<n>   around each kvm-debug test binary
#   LANE-NODE-END rc=<n>                                  after the Node suite (it prints its own counts)
#   LINUX-TEST / LANE-LINUX-END rc=<n>                    the nested Linux guest (linux/run.sh)
#   LANE-GDB-READY / LANE-GDB-END rc=<n>                  the gdb server for the host's gdb-multiarch
#   LANE-GDB-BENCH-READY / LANE-GDB-BENCH-END rc=<n>      then the gdb bench's second CLI run (gdb/serve.sh)
#   LANE-DONE                                             last line before power-off
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin HOME=/root
mkdir -p /root /tmp
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t sysfs sysfs /sys

up() { cut -d' ' -f1 /proc/uptime; }
# A hung program fails its part instead of eating the whole qemu timeout (busybox timeout).
PART_TIMEOUT=600
only=all
for a in $(cat /proc/cmdline); do
	case $a in
	lane.only=*) only=${a#lane.only=} ;;
	lane.case=*) export LANE_CASE="${a#lane.case=}" ;; # Node cases whose name contains it
	esac
done
want() { [ "$only" = all ] || echo ",$only," | grep -q ",$1,"; }

echo "LANE-INIT: up at $(up) s, $(uname -r), parts=$only"
dmesg | grep -E 'kvm \[[0-9]+\]: (IPA|VHE|Hyp|nVHE)' | sed 's/^/LANE-INIT: /'
[ -c /dev/kvm ] && echo "LANE-INIT: /dev/kvm present" || echo "LANE-INIT: /dev/kvm MISSING"

if want rust; then
	for t in /lane/rust/tests/*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		echo "LANE-RUST-BEGIN $n"
		timeout $PART_TIMEOUT "$t" --test-threads=1 2>&1
		echo "LANE-RUST-END $n rc=$?"
	done
fi

if want node; then
	t0=$(up)
	KVM_DEBUG_LANE=1 timeout $PART_TIMEOUT node /lane/js/test/arm64/run.js 2>&1
	echo "LANE-NODE-END rc=$? seconds=$(echo "$(up) $t0" | awk '{printf "%.1f", $1-$2}')"
fi

if want bench; then
	for b in /lane/rust/bench/*; do
		[ -x "$b" ] || continue
		echo "LANE-BENCH-BEGIN $(basename "$b")"
		timeout $PART_TIMEOUT "$b" 2>&1
		echo "LANE-BENCH-END $(basename "$b") rc=$?"
	done
	if [ -f /lane/js/test/arm64/bench.js ]; then
		timeout $PART_TIMEOUT node /lane/js/test/arm64/bench.js 2>&1
		echo "LANE-BENCH-END node rc=$?"
	fi
fi

if want linux; then
	timeout $PART_TIMEOUT sh /lane/linux/run.sh 2>&1
	echo "LANE-LINUX-END rc=$?"
fi

if want gdb && [ -f /lane/gdb/serve.sh ]; then
	sh /lane/gdb/serve.sh 2>&1
fi

echo "LANE-DONE at $(up) s"
poweroff -f
