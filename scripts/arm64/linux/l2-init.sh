#!/bin/busybox sh
# /init of the L2 initramfs: the lane's own Debian kernel, booted by `kvm-debug run --kernel`
# inside the emulated arm64 machine (L1). Prints markers that linux/run.sh checks, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "L2-INIT-START uptime=$(cut -d' ' -f1 /proc/uptime) $(uname -r)"
echo "L2-CPUS $(grep -c '^processor' /proc/cpuinfo) online=$(cat /sys/devices/system/cpu/online)"
echo "L2-GIC $(grep -m1 -oE 'GIC(v[23])?' /proc/interrupts)"
echo "L2-TIMER $(grep -m1 -E 'arch_timer' /proc/interrupts | awk '{print $2 + $3}')"
echo "L2-UART $(grep -m1 -E 'uart-pl011|pl011' /proc/interrupts | awk '{print $2 + $3}')"
# l2.kaslr (linux/run.sh's KASLR boot): where the kernel really is, for the slide run reports.
if grep -qw l2.kaslr /proc/cmdline; then
	echo 0 >/proc/sys/kernel/kptr_restrict
	echo "L2-KASLR $(grep -m1 ' T start_kernel$' /proc/kallsyms)"
	poweroff -f
fi

# The guest's own BRKs: a kprobe (BRK #0x004), a uprobe on busybox (BRK #0x005) and a static
# program's brk #0x77. Each must reach the guest, debugger or not (counts compared by the lane).
mount -t tracefs tracefs /sys/kernel/tracing
T=/sys/kernel/tracing
if echo 'p:l2open do_sys_openat2' >>$T/kprobe_events && echo 1 >$T/events/kprobes/l2open/enable; then
	i=0
	while [ $i -lt 20 ]; do cat /proc/version >/dev/null; cat /proc/uptime >/dev/null; i=$((i + 1)); done
	echo 0 >$T/events/kprobes/l2open/enable
	echo "L2-KPROBE-HITS $(grep -c 'l2open:' $T/trace)"
else
	echo "L2-KPROBE-HITS -1 (registration failed)"
fi
echo >$T/trace
if echo "p:l2u /bin/busybox:$(cat /uprobe.off)" >>$T/uprobe_events && echo 1 >$T/events/uprobes/l2u/enable; then
	i=0
	while [ $i -lt 10 ]; do /bin/busybox true; i=$((i + 1)); done
	echo 0 >$T/events/uprobes/l2u/enable
	echo "L2-UPROBE-HITS $(grep -c 'l2u:' $T/trace)"
else
	echo "L2-UPROBE-HITS -1 (registration failed)"
fi
/bin/brk77
echo "L2-BRK77-RC $?"
# Every 40th line of /proc/kallsyms with its number: linux/run.sh compares them with the
# symbols kvm-debug recovers from the Image (same order: the kernel's own table).
if grep -qw l2.ksym /proc/cmdline; then
	echo 0 >/proc/sys/kernel/kptr_restrict
	awk 'NR % 40 == 1 { print "KSYM", NR, $0 }' /proc/kallsyms
fi
echo "L2-DONE"
poweroff -f
