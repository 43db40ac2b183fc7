#!/bin/bash
# scripts/arm64/lane.sh - the emulated arm64 lane (`npm run test:arm64`).
#
# setup (cached) -> build (addon, Rust tests/bench, guests, JS) -> initramfs -> boot
# qemu-system-aarch64 -M virt,virtualization=on (the guest kernel's own KVM, VHE) -> run
# kvm-debug's Rust test binaries, the Node suite (ts/test/arm64), the bench and the gdb
# test inside -> parse the console log -> closing line `N passed, N failed`.
# Exit status: 0 only if every expected result is present and nothing failed.
#
# Knobs:
#   LANE_ONLY      comma list of parts: rust,node,bench,linux,gdb           [all]
#   LANE_SKIP      comma list of host steps to skip: setup,build,initramfs []
#   LANE_CASE      only the Node cases whose name contains this (no spaces)  []
#   LANE_TIMEOUT   seconds before qemu is killed (counts as a failure)     [1200]
#   LANE_SMP, LANE_MEM, LANE_CPU   emulated machine                        [2, 2048, cortex-a76]
#   LANE_ACCEL     qemu -accel                                             [tcg]
#   LANE_APPEND    extra guest kernel arguments (e.g. kvm-arm.mode=nvhe)  []
#   KVM_DEBUG_CACHE, LANE_OUT      see lib.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

LANE_ONLY=${LANE_ONLY:-all}
LANE_SKIP=${LANE_SKIP:-}
TIMEOUT=${LANE_TIMEOUT:-1200}
SMP=${LANE_SMP:-2}
MEM=${LANE_MEM:-2048}
# cortex-a76, not max: with qemu 7.2 `-cpu max,pauth-impdef=on` a fresh VM's mmio guest
# hung (PC 0x200, ESR_EL1 0x86000004: EL1 state/code of an earlier VM) in 117 of 200 tries
# after an MMU-on VM (20/37 with -smp 1, 20/52 with -accel tcg,thread=single, 20/44 with
# kvm-arm.mode=nvhe, 20/48 with pauth=off), so neither MTTCG nor VHE nor pauth is the cause;
# with cortex-a76 (ARMv8.2, still VHE) 0/320, cortex-a57 (nVHE) 0/320. A feature of max
# beyond v8.2 exposes a qemu TCG staleness across VMs. The full lane passes with it (58 s).
CPU=${LANE_CPU:-cortex-a76}
ACCEL=${LANE_ACCEL:-tcg}
APPEND_EXTRA=${LANE_APPEND:-}
T_ALL=$(now)

want() { [ "$LANE_ONLY" = all ] || echo ",$LANE_ONLY," | grep -q ",$1,"; }
skip() { echo ",$LANE_SKIP," | grep -q ",$1,"; }
case ${LANE_CASE:-} in *[[:space:]]*) die "LANE_CASE must not contain spaces (kernel command line)" ;; esac
for p in ${LANE_ONLY//,/ }; do
	case $p in all | rust | node | bench | linux | gdb) ;; *) die "LANE_ONLY: unknown part $p (rust,node,bench,linux,gdb)" ;; esac
done

# Whatever aborts the lane (a failed setup or build, ^C), the closing line still comes.
CLOSED=0
on_exit() {
	local rc=$?
	if [ "$CLOSED" = 0 ]; then
		echo "lane aborted (exit status $rc) before the guest results"
		echo "0 passed, 1 failed"
		[ "$rc" != 0 ] || rc=1
	fi
	exit "$rc"
}
trap on_exit EXIT

# ---- host side: setup, build, initramfs
skip setup || step "setup" "$HERE/setup.sh"
if ! skip build; then
	parts=""
	want rust || want bench && parts="$parts rust"
	want node || want gdb || want bench || want linux && parts="$parts addon guests ts"
	# shellcheck disable=SC2086
	step "build" "$HERE/build.sh" $parts
fi
skip initramfs || step "initramfs" "$HERE/initramfs.sh"

# ---- host side: symbol and KASLR-anchor recovery on the lane's real Image, both backends
# (ts/test/lane/kernel-image.lane.ts; plain jest does not match *.lane.ts). Counted below.
IMG_PASS=0; IMG_FAIL=0
image_tests() {
	local json="$LANE_OUT/logs/image-jest.json"
	mkdir -p "$LANE_OUT/logs"
	rm -f "$json"
	(cd "$HERE/../.." && KVM_DEBUG_LANE_IMAGE="$(ls "$(kernel_dir)"/boot/vmlinuz-* | head -1)" \
		npx --no-install jest --ci --testMatch '**/*.lane.ts' --json --outputFile="$json") || true
	read -r IMG_PASS IMG_FAIL < <(node -e '
		try { const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites + (r.numTotalTests ? 0 : 1)) }
		catch (e) { console.log(0, 1) }' "$json")
}
if want linux; then step "host: the lane's Image (jest)" image_tests; fi

# ---- boot
mkdir -p "$LANE_OUT/logs"
LOG="$LANE_OUT/logs/console-$(date +%Y%m%d-%H%M%S).log"
KERNEL=$(ls "$(kernel_dir)"/boot/vmlinuz-* | head -1)
NET=()
GDB_LOG="$LANE_OUT/logs/gdb.log"
rm -f "$GDB_LOG"
if want gdb; then
	GDB_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
	# user-mode network with no way out (restrict=on), only the forwarded gdb port
	NET=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$GDB_PORT-10.0.2.15:1235"
		-device virtio-net-device,netdev=n0)
	export GDB_PORT
fi

boot() {
	local rc=0
	log "boot: qemu-system-aarch64 -accel $ACCEL -cpu $CPU -smp $SMP -m $MEM, timeout ${TIMEOUT}s, log $LOG"
	# shellcheck disable=SC2068
	timeout --kill-after=10 "$TIMEOUT" qemu-system-aarch64 \
		-M virt,virtualization=on,gic-version=3 -accel "$ACCEL" -cpu "$CPU" -smp "$SMP" -m "$MEM" \
		-nographic -no-reboot -nic none ${NET[@]} \
		-kernel "$KERNEL" -initrd "$LANE_OUT/initrd.cpio" \
		-append "console=ttyAMA0 rdinit=/init panic=-1 quiet $APPEND_EXTRA lane.only=$LANE_ONLY ${LANE_CASE:+lane.case=$LANE_CASE}" </dev/null 2>&1 |
		perl -MTime::HiRes=time -ne 'BEGIN { $| = 1; $s = time; open(L, ">", $ARGV[0]) or die; shift; L->autoflush(1) }
			s/\r//g; my $l = sprintf("[guest %7.2f] %s", time - $s, $_); print $l; print L $l;' "$LOG" &
	local qpid=$!
	if want gdb; then "$HERE/gdb/host.sh" "$LOG" "$GDB_PORT" "$qpid" || true; fi
	wait "$qpid" || rc=$?
	return $rc
}
QRC=0
step "boot + tests in the guest" boot || QRC=$?

# ---- results
parse() {
	cat "$LOG" "$GDB_LOG" 2>/dev/null | sed -E 's/^\[guest +[0-9.]+\] //' | awk -v want_rust="$1" -v want_node="$2" -v want_gdb="$3" -v nbins="$4" -v want_linux="$5" '
		/^LANE-RUST-BEGIN / { bin = $2; got[bin] = 0; seen++ }
		/^test result: / && bin != "" {
			for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p = $i; if ($(i+1) ~ /^failed/) f = $i }
			pass += p; fail += f; got[bin] = 1 }
		/^LANE-RUST-END / {
			rc = $3; sub(/rc=/, "", rc)
			if (!got[$2]) { print "MISSING: no test result from " $2 > "/dev/stderr"; fail++ }
			else if (rc != 0 && f == 0) { print "FAILED: " $2 " exited " rc > "/dev/stderr"; fail++ }
			ended++; bin = ""; f = 0 }
		/^NODE-SUITE: [0-9]+ passed, [0-9]+ failed/ { pass += $2; fail += $4; node = 1 }
		/^GDB-TEST: [0-9]+ passed, [0-9]+ failed/ { pass += $2; fail += $4; gdb = 1 }
		/^LINUX-TEST: [0-9]+ passed, [0-9]+ failed/ { pass += $2; fail += $4; linux = 1 }
		/^LANE-BENCH-END / && $3 != "rc=0" { print "FAILED: bench " $2 " " $3 > "/dev/stderr"; fail++ }
		/^LANE-DONE/ { done = 1 }
		END {
			if (want_rust && seen < nbins) { print "MISSING: " nbins - seen " Rust test binaries did not run" > "/dev/stderr"; fail++ }
			if (want_rust && ended < seen) { print "MISSING: a Rust test binary did not finish" > "/dev/stderr"; fail++ }
			if (want_node && !node) { print "MISSING: no NODE-SUITE result line" > "/dev/stderr"; fail++ }
			if (want_gdb && !gdb) { print "MISSING: no GDB-TEST result line" > "/dev/stderr"; fail++ }
			if (want_linux && !linux) { print "MISSING: no LINUX-TEST result line" > "/dev/stderr"; fail++ }
			if (!done) { print "MISSING: the guest never reached LANE-DONE (crash or timeout)" > "/dev/stderr"; fail++ }
			print pass + 0, fail + 0
		}'
}
NBINS=$({ ls "$LANE_OUT/initramfs-root/lane/rust/tests" 2>/dev/null || true; } | wc -l) # no rust dir when LANE_ONLY leaves rust out
w_rust=0; w_node=0; w_gdb=0; w_linux=0
want rust && w_rust=1
want node && w_node=1
want gdb && w_gdb=1
want linux && w_linux=1
read -r PASSED FAILED < <(parse $w_rust $w_node $w_gdb "$NBINS" $w_linux)
PASSED=$((PASSED + IMG_PASS)); FAILED=$((FAILED + IMG_FAIL))

echo
echo "##### lane summary"
sed -E 's/^\[guest +[0-9.]+\] //' "$LOG" | sed -n '/^LANE-BENCH-BEGIN/,/^LANE-BENCH-END/p; /^BENCH:/p' |
	grep -v '^LANE-BENCH' | sed 's/^/  /' || true
grep -h '^BENCH:' "$GDB_LOG" 2>/dev/null | sed 's/^/  /' || true # gdb/host.sh: gdb-stepi, gdb-read-1MiB
want linux && echo "  host image tests (ts/test/lane): $IMG_PASS passed, $IMG_FAIL failed"
printf '  %s\n' "${LANE_TIMES[@]}"
printf '  %-40s %7.1f s\n' "total" "$(echo "$(now) - $T_ALL" | bc)"
echo "  console log: $LOG"
if [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
	echo "  TIMEOUT: qemu killed after ${TIMEOUT}s"
	FAILED=$((FAILED + 1))
elif [ "$QRC" != 0 ]; then
	echo "  qemu exit status $QRC"
	FAILED=$((FAILED + 1))
fi
CLOSED=1
echo "$PASSED passed, $FAILED failed"
# a run with tests in it must have passed some (a bench-only run has no counts)
[ "$FAILED" = 0 ] && { [ "$PASSED" -gt 0 ] || [ "$LANE_ONLY" = bench ]; }
