#!/bin/sh
# scripts/arm64/linux/run.sh - inside the emulated arm64 machine (L1): boot the lane's own
# Debian kernel as a nested guest with `kvm-debug run --kernel` on L1's KVM, and check what
# its /init reports. Prints `LINUX-CHECK ok|FAIL <what>` per check and the closing
# `LINUX-TEST: N passed, N failed` that lane.sh counts; BENCH: lines for the boot time.
L=/lane/linux
for a in $(cat /proc/cmdline); do case $a in lane.l2lines=*) L2_LINES=${a#lane.l2lines=} ;; esac; done
OUT=/tmp/linux-console.log
pass=0
fail=0
check() { # check NAME CONDITION-RESULT(0 = ok) [detail]
	if [ "$2" = 0 ]; then echo "LINUX-CHECK ok $1"; pass=$((pass + 1)); else echo "LINUX-CHECK FAIL $1 ${3:-}"; fail=$((fail + 1)); fi
}
up() { cut -d' ' -f1 /proc/uptime; }

# lane.l2append=... on L1's command line adds to L2's (LANE_APPEND on the host), e.g. earlycon.
extra=""
l2t=300
for a in $(cat /proc/cmdline); do
	case $a in
	lane.l2append=*) extra="$extra $(echo "${a#lane.l2append=}" | tr ',' ' ')" ;;
	lane.l2timeout=*) l2t=${a#lane.l2timeout=} ;;
	esac
done
# until_init FILE PID T0: seconds from T0 until FILE shows L2's /init (or the process ends).
until_init() {
	while ! grep -q '^L2-INIT-START' "$1" && kill -0 "$2" 2>/dev/null; do sleep 0.05; done
	echo "$3 $(up)" | awk '{printf "%.2f", $2 - $1}'
}
t0=$(up)
timeout $l2t node /lane/ts/dist/cli.js run --kernel $L/Image --initrd $L/l2.cpio --vcpus 2 --mem 256 \
	--dtb-out /tmp/board.dtb --append "console=ttyAMA0 rdinit=/init panic=-1 nokaslr l2.ksym$extra" </dev/null >$OUT 2>&1 &
pid=$!
boot_ours=$(until_init $OUT $pid $t0)
wait $pid
rc=$?
t1=$(up)
# The guest's tty writes CRLF (ONLCR): drop the CRs so the checks can anchor lines.
tr -d '\015' <$OUT >$OUT.lf && mv $OUT.lf $OUT
sed "s/^/L2| /" $OUT | tail -n ${L2_LINES:-60}
init_at=$(grep -m1 -o 'L2-INIT-START uptime=[0-9.]*' $OUT | cut -d= -f2)

grep -q 'Linux board: vGICv[23], 2 vCPU' $OUT; check "the board is up (vGIC, 2 vCPUs)" $? "$(grep -m1 'Linux board' $OUT)"
grep -q '^L2-INIT-START' $OUT; check "the kernel reaches /init" $?
grep -q '^L2-CPUS 2 online=0-1' $OUT; check "both vCPUs online in /proc/cpuinfo" $? "$(grep -m1 '^L2-CPUS' $OUT)"
grep -qE '^L2-GIC GIC' $OUT; check "the kernel uses the GIC" $? "$(grep -m1 '^L2-GIC' $OUT)"
[ "$(grep -m1 '^L2-TIMER' $OUT | awk '{print $2}')" -gt 0 ] 2>/dev/null; check "the arch timer ticks (interrupts > 0)" $? "$(grep -m1 '^L2-TIMER' $OUT)"
grep -q '^L2-DONE' $OUT; check "/init ran to its end" $?
echo "LINUX-PROBES $(grep -m1 '^L2-KPROBE-HITS' $OUT) $(grep -m1 '^L2-UPROBE-HITS' $OUT) $(grep -m1 '^L2-BRK77 ' $OUT)"
[ "$(grep -m1 '^L2-KPROBE-HITS' $OUT | awk '{print $2}')" -gt 0 ] 2>/dev/null; check "a kprobe fires (the guest's own BRK #0x004)" $? "$(grep -m1 '^L2-KPROBE' $OUT)"
grep -q '^L2-UPROBE-HITS 10$' $OUT; check "a uprobe on busybox fires once per run (BRK #0x005)" $? "$(grep -m1 '^L2-UPROBE' $OUT)"
grep -q '^L2-BRK77 SIGTRAP signo=5 code=1$' $OUT; check "a program's own brk #0x77 gets SIGTRAP (TRAP_BRKPT)" $? "$(grep -m1 '^L2-BRK77' $OUT)"
grep -q 'guest exited with status 0: PSCI SYSTEM_OFF' $OUT; check "poweroff ends the run (PSCI SYSTEM_OFF)" $? "$(tail -n 2 $OUT)"
[ "$rc" = 0 ]; check "kvm-debug run exits 0" $? "rc=$rc"
[ -s /tmp/board.dtb ] && [ "$(od -An -tx1 -N4 /tmp/board.dtb | tr -d ' ')" = d00dfeed ]; check "--dtb-out writes a device tree (magic d00dfeed)" $?

# SIGTERM while the kernel boots: the run ends with 143 and says why, never a crash.
node /lane/ts/dist/cli.js run --kernel $L/Image --initrd $L/l2.cpio --vcpus 2 --mem 256 \
	--append "console=ttyAMA0 rdinit=/init panic=-1 nokaslr" </dev/null >/tmp/term.log 2>&1 &
pid=$!
n=0 # once the kernel prints (it runs), plus a moment
while ! grep -q 'Booting Linux' /tmp/term.log && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
sleep 0.5
kill -TERM $pid
wait $pid
r=$?
tail -n 3 /tmp/term.log | sed 's/^/L2-TERM| /'
[ "$r" = 143 ] && grep -q 'SIGTERM: stopping the guest' /tmp/term.log && ! grep -q 'Segmentation fault' /tmp/term.log
check "SIGTERM mid-boot: exit 143, cleanup, no crash" $? "rc=$r"

# lane.l2repeat=N boots N more times (a flaky hang shows as a boot that never reaches /init).
rep=0
for a in $(cat /proc/cmdline); do case $a in lane.l2repeat=*) rep=${a#lane.l2repeat=} ;; esac; done
i=0; ok=0
while [ $i -lt $rep ]; do
	i=$((i + 1))
	b0=$(up)
	timeout 60 node /lane/ts/dist/cli.js run --kernel $L/Image --initrd $L/l2.cpio --vcpus 2 --mem 256 \
		--append "console=ttyAMA0 rdinit=/init panic=-1 nokaslr quiet$extra" </dev/null >/tmp/rep.log 2>&1
	r=$?
	if grep -q '^L2-DONE' /tmp/rep.log; then ok=$((ok + 1)); else echo "LINUX-REPEAT $i: no /init (rc=$r, $(wc -l </tmp/rep.log) lines)"; tail -n 5 /tmp/rep.log; fi
	echo "LINUX-REPEAT $i: rc=$r $(echo "$b0 $(up)" | awk '{printf "%.2f s", $2 - $1}')"
done
[ $rep -gt 0 ] && echo "LINUX-REPEAT: $ok of $rep boots reached /init"

# The symbols recovered from the Image alone agree with the running kernel's /proc/kallsyms.
node /lane/ts/dist/cli.js symbols $L/Image -o /tmp/kernel.sym --nm >/tmp/kernel.nm 2>/tmp/sym.err
src=$?
grep '^KSYM ' $OUT | awk -v nmfile=/tmp/kernel.nm '
	BEGIN { while ((getline l < nmfile) > 0) { if (l ~ /^#/) break; sym[++n] = l } }
	{ k = $2; line = $3 " " $4 " " $5; if (k > n) next; total++
	  if (sym[k] == line) ok++; else if (bad++ < 3) print "KSYM-MISMATCH line " k ": kernel \"" line "\" recovered \"" sym[k] "\"" }
	END { printf "KSYM-COMPARE %d of %d sampled symbols agree (%d recovered)\n", ok, total, n }' >/tmp/ksym.txt
cat /tmp/ksym.txt /tmp/sym.err
ok=$(awk '/^KSYM-COMPARE/ { print $2 }' /tmp/ksym.txt)
total=$(awk '/^KSYM-COMPARE/ { print $4 }' /tmp/ksym.txt)
[ "$src" = 0 ] && [ "${total:-0}" -ge 1000 ] && [ "$ok" = "$total" ]
check "recovered symbols agree with /proc/kallsyms (>= 1000 sampled)" $? "$(tail -n 1 /tmp/ksym.txt)"

# KASLR: with a kaslr-seed (and without nokaslr) the kernel slides itself; run must report
# the slide, and the recovered start_kernel plus that slide must be where the kernel says it is.
timeout $l2t node /lane/ts/dist/cli.js run --kernel $L/Image --initrd $L/l2.cpio --vcpus 2 --mem 256 \
	--kaslr-seed 0x5eed0fca5ef00d --append "console=ttyAMA0 rdinit=/init panic=-1 quiet l2.kaslr" </dev/null >/tmp/kaslr.log 2>&1
r=$?
slide=$(grep -m1 -o 'KASLR slide 0x[0-9a-f]*' /tmp/kaslr.log | awk '{print $3}')
real=$(grep -m1 '^L2-KASLR ' /tmp/kaslr.log | tr -d '\015' | awk '{print $2}')
linked=$(awk '$3 == "start_kernel" { print $1; exit }' /tmp/kernel.nm)
echo "LINUX-KASLR rc=$r slide=${slide:-none} start_kernel: kernel ${real:-?}, recovered ${linked:-?}"
[ "$r" = 0 ] && [ -n "$slide" ] && [ -n "$real" ] && [ -n "$linked" ] && [ "$slide" != 0x0 ] &&
	[ "$(node -e 'console.log((BigInt("0x" + process.argv[1]) + BigInt(process.argv[2])).toString(16))' "$linked" "$slide")" = "$real" ]
check "KASLR: run reports the slide, and start_kernel + slide is where the kernel is" $? "$(grep -m2 -E 'KASLR|L2-KASLR' /tmp/kaslr.log | tr '\n' ' ')"

# The peer: the same kernel and initramfs under Debian's own arm64 QEMU on the same KVM.
if [ -x /usr/bin/qemu-system-aarch64 ]; then
	q0=$(up)
	timeout 120 qemu-system-aarch64 -M virt,gic-version=3 -accel kvm -cpu host -smp 2 -m 256 -nographic -nodefaults \
		-serial stdio -no-reboot -kernel $L/Image -initrd $L/l2.cpio -append "console=ttyAMA0 rdinit=/init panic=-1 nokaslr" \
		</dev/null >/tmp/qemu-console.log 2>&1 &
	qpid=$!
	boot_qemu=$(until_init /tmp/qemu-console.log $qpid $q0)
	wait $qpid
	grep -q '^L2-DONE' /tmp/qemu-console.log || { echo "QEMU peer did not reach L2-DONE:"; tail -n 5 /tmp/qemu-console.log; }
	qinit_at=$(grep -m1 -o 'L2-INIT-START uptime=[0-9.]*' /tmp/qemu-console.log | cut -d= -f2)
	echo "BENCH: boot-to-init: kvm-debug $boot_ours s, QEMU $boot_qemu s (ratio $(echo "$boot_ours $boot_qemu" | awk '$2 > 0 {printf "%.2f", $1 / $2}'); target <= 1.0), process start to the L2 /init line, same Image and initramfs; of which the kernel's own uptime at /init: kvm-debug ${init_at:-?} s, QEMU ${qinit_at:-?} s"
else
	echo "BENCH: boot-to-init: kvm-debug $boot_ours s (no QEMU peer in this initramfs)"
fi
echo "BENCH: kvm-debug-linux-run: $(echo "$t0 $t1 $init_at" | awk '{printf "whole run %.2f s wall (boot, /init with 1,100 kallsyms lines over the UART, poweroff); L2 uptime at /init %s s", $2 - $1, $3}')"
echo "LINUX-TEST: $pass passed, $fail failed"
