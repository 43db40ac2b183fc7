// guests/uart_flood.S - writes x0 characters to the PL011 as Linux's console does
// (pl011_console_putchar: load UARTFR until TXFF is clear, then store UARTDR), then PSCI
// SYSTEM_OFF. For the console bench (ts/test/arm64/bench.ts): the board's UART served in Rust
// on the vCPU thread, with the UARTDR stores coalesced by KVM (one exit per character, the
// UARTFR load), against the same exits returned to JavaScript (two per character).
.include "common.inc"

	.section .text.boot
	.global _start
_start:
	mov	x4, x0
	mov	x2, #UART_BASE
	mov	w3, #0x2e			// '.'
	cbz	x4, 2f
	// A plain store without writeback: ESR_EL2.ISV=1, so KVM reports it as an MMIO exit.
1:	ldr	w5, [x2, #UART_FR]
	tbnz	w5, #UART_FR_TXFF, 1b
	strb	w3, [x2, #UART_DR]
	subs	x4, x4, #1
	b.ne	1b
2:	psci_off
