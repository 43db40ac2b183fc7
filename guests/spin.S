// guests/spin.S - counts in x0 forever: the run-loop benches single-step it.
.include "common.inc"

	.section .text.boot
	.global _start
_start:
	mov	x0, #0
	.global spin
spin:
	add	x0, x0, #1
	b	spin
