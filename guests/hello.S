// guests/hello.S - prints a line on the PL011 UART, then PSCI SYSTEM_OFF.
.include "common.inc"

	.section .text.boot
	.global _start
_start:
	adr	x1, msg
	mov	x2, #UART_BASE
1:	ldrb	w3, [x1], #1
	cbz	w3, 2f
	// A plain store without writeback: ESR_EL2.ISV=1, so KVM can report it as an MMIO exit.
	strb	w3, [x2, #UART_DR]
	b	1b
2:	psci_off

	.section .rodata
msg:	.asciz	"Hello from a kvm-debug arm64 guest!\n"
