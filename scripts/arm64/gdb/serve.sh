# scripts/arm64/gdb/serve.sh - inside the guest (sourced by /init through `sh`): bring up the
# virtio-net NIC, start `kvm-debug run demo.elf --gdb 127.0.0.1:1234 --wait` and a proxy on
# :1235 (qemu forwards a host port to it), print LANE-GDB-READY, and wait for the CLI to end
# (the host's gdb-multiarch detaches and the guest runs to its end).
# Then the same guest again for the host's lldb (markers LANE-GDB-LLDB-READY/-END). Then the
# bench: the raw single-step figure of the spin guest through the addon (bench.js --steps), and
# a CLI run on spin.elf, which never ends by itself: gdb times stepi and a 1 MiB read, then
# kills it. Markers LANE-GDB-BENCH-READY/-END. Then the Linux sessions (below), and last
# CONNECT_ROUNDS pairs of fresh sessions, ours then QEMU's, that host.sh only connects to and kills.
GDB_PORT=1234
PROXY_PORT=1235
GUEST=/lane/guests/demo.elf
BENCH_GUEST=/lane/guests/spin.elf
BENCH_JS=/lane/js/test/arm64/bench.js
BENCH_STEPS=200 # host.sh STEPS
CONNECT_ROUNDS=5 # host.sh CONNECT_ROUNDS
BENCH_TIMEOUT=300 # s: a bench client that never comes must not eat the lane's timeout
CLI=/lane/ts/dist/cli.js
# no modules.dep in the initramfs: load in dependency order (initramfs.sh copies NET_MODULES)
for m in virtio_ring virtio virtio_mmio failover net_failover virtio_net; do
	insmod /lib/modules/$m.ko || echo "LANE-GDB: insmod $m failed"
done
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 || echo "LANE-GDB: no eth0"
if [ ! -f "$CLI" ]; then
	echo "LANE-GDB-END rc=127 (no $CLI)"
	return 0 2>/dev/null || exit 0
fi
node /lane/gdb/proxy.js $PROXY_PORT $GDB_PORT &
PROXY=$!
{ node "$CLI" run "$GUEST" --gdb 127.0.0.1:$GDB_PORT --wait 2>&1; echo "exit status $?"; } | sed 's/^/CLI: /' &
CLIPID=$!
# ready once both ports listen (state 0A in /proc/net/tcp, port in hex) or 5 minutes passed
listening() { grep -qi "^ *[0-9]*: [0-9A-F]*:$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp; }
i=0
while [ $i -lt 300 ]; do
	listening $GDB_PORT && listening $PROXY_PORT && break
	kill -0 $CLIPID 2>/dev/null || break
	sleep 1; i=$((i + 1))
done
echo "LANE-GDB-READY"
wait $CLIPID
rc=$?
echo "LANE-GDB-END rc=$rc"

# One gdb session after the first: wait for the previous listener to go (the ready test would see
# it), run CMD... under the bench timeout with its output prefixed PREFIX, print LANE-GDB-MARK-READY
# once it listens (or has ended) and LANE-GDB-MARK-END when it ends. host.sh waits on the markers.
gdb_session() { # MARK PREFIX CMD...
	mark=$1 prefix=$2
	shift 2
	i=0
	while listening $GDB_PORT && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
	{ timeout $BENCH_TIMEOUT "$@" </dev/null 2>&1; echo "exit status $?"; } | sed "s/^/$prefix: /" &
	CLIPID=$!
	i=0
	while [ $i -lt 120 ]; do
		listening $GDB_PORT && break
		kill -0 $CLIPID 2>/dev/null || break
		sleep 1; i=$((i + 1))
	done
	echo "LANE-GDB-$mark-READY"
	wait $CLIPID
	echo "LANE-GDB-$mark-END rc=$?"
}
# ---- LLDB: the same demo guest again, for the host's lldb (the second client)
gdb_session LLDB CLI-LLDB node "$CLI" run "$GUEST" --gdb 127.0.0.1:$GDB_PORT --wait

# ---- bench: raw steps, then the CLI again for gdb's stepi and 1 MiB read
if [ -f "$BENCH_JS" ]; then node "$BENCH_JS" --steps $BENCH_STEPS 2>&1; else echo "BENCH: raw-step: skipped (no $BENCH_JS)"; fi
gdb_session BENCH CLI-BENCH node "$CLI" run "$BENCH_GUEST" --gdb 127.0.0.1:$GDB_PORT --wait

# ---- Linux: the lane's own kernel under `run --kernel --wait`, twice: host.sh debugs it by name
# (symbols recovered from the same Image) and detaches, then keeps breakpoints armed elsewhere
# while the kernel's own BRKs fire. The peer for the bench: QEMU's own gdbstub on the same
# kernel, KVM and port (host.sh times the same gdb steps against it); -S stops it before the
# first instruction, like --wait.
LINUX_APPEND="console=ttyAMA0 rdinit=/init panic=-1 nokaslr quiet"
linux_session() { # MARK
	gdb_session "$1" "CLI-$1" node "$CLI" run --kernel /lane/linux/Image --initrd /lane/linux/l2.cpio \
		--vcpus 2 --mem 256 --append "$LINUX_APPEND" --gdb 127.0.0.1:$GDB_PORT --wait
}
qemu_session() { # MARK
	gdb_session "$1" QEMU qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host -smp 2 -m 256 \
		-nographic -nodefaults -serial stdio -no-reboot -kernel /lane/linux/Image -initrd /lane/linux/l2.cpio \
		-append "$LINUX_APPEND" -gdb tcp:127.0.0.1:$GDB_PORT -S
}
if [ -f /lane/linux/Image ]; then
	linux_session LINUX
	linux_session LINUX2
	if [ -x /usr/bin/qemu-system-aarch64 ]; then
		qemu_session QEMU
		# `target remote` alone, CONNECT_ROUNDS times on fresh sessions of each server, alternated:
		# one connect varies by +-40% here on either side, so host.sh compares the medians.
		r=1
		while [ $r -le $CONNECT_ROUNDS ]; do
			linux_session "CONNECT-K$r"
			qemu_session "CONNECT-Q$r"
			r=$((r + 1))
		done
	else
		echo "LANE-GDB-QEMU-READY (no QEMU peer)"
	fi
else
	echo "LANE-GDB-LINUX-READY (no /lane/linux/Image)"
	echo "LANE-GDB-LINUX-END rc=127"
fi
kill $PROXY 2>/dev/null
