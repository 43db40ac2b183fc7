// guests/uart_flood.S - stores x0 bytes to the PL011 data register, then PSCI SYSTEM_OFF: one
// MMIO exit per store, for the exits-per-second bench (ts/test/arm64/bench.ts): the board's
// UART served in Rust on the vCPU thread, against the same exits returned to JavaScript.
.include "common.inc"

	.section .text.boot
	.global _start
_start:
	mov	x4, x0
	mov	x2, #UART_BASE
	mov	w3, #0x2e			// '.'
	cbz	x4, 2f
	// A plain store without writeback: ESR_EL2.ISV=1, so KVM reports it as an MMIO exit.
1:	strb	w3, [x2, #UART_DR]
	subs	x4, x4, #1
	b.ne	1b
2:	psci_off
