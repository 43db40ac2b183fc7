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
# Every 40th line of /proc/kallsyms with its number: linux/run.sh compares them with the
# symbols kvm-debug recovers from the Image (same order: the kernel's own table).
echo 0 >/proc/sys/kernel/kptr_restrict
awk 'NR % 40 == 1 { print "KSYM", NR, $0 }' /proc/kallsyms
echo "L2-DONE"
poweroff -f
