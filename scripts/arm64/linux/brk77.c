/*
 * scripts/arm64/linux/brk77.c - the L2 guest's own `brk #0x77` (Arm ARM C6.2.38 BRK): the kernel
 * must deliver it to this process as SIGTRAP (TRAP_BRKPT), also while a debugger has its own
 * breakpoints armed in the kernel (KVM then traps every guest BRK to kvm-debug, which must hand
 * this one back). Prints one L2-BRK77 line that linux/run.sh and gdb/host.sh check.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	char buf[128];
	int n;

	(void)uc;
	n = snprintf(buf, sizeof(buf), "L2-BRK77 SIGTRAP signo=%d code=%d\n", sig, si->si_code);
	write(1, buf, (size_t)n);
	_exit(0);
}

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTRAP, &sa, NULL);
	__asm__ volatile("brk #0x77");
	write(1, "L2-BRK77 no signal\n", 19);
	return 1;
}
