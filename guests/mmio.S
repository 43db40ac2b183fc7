// guests/mmio.S - straight-line code with a store to MMIO, for single-step, and a second
// entry `alt_target` for the pending-MMIO rule (complete the MMIO exit before moving PC).
//   _start .. step_end: x0 = 1, +2 -> store 3 to TEST_MMIO, +3, +4 -> store 10 to TEST_MMIO+16
//   alt_target: stores ALT_VALUE to TEST_MMIO+8; the value proves its first instruction ran.
.include "common.inc"

.equ ALT_VALUE, 0xa1

	.section .text.boot
	.global _start
_start:
	mov	x2, #TEST_MMIO
	add	x7, x2, #8
	mov	x5, #0
	mov	x0, #1
	add	x0, x0, #2
	.global mmio_store
mmio_store:
	str	x0, [x2]
	add	x0, x0, #3
	add	x0, x0, #4
	.global step_end
step_end:
	str	x0, [x2, #16]
	psci_off

	.global alt_target
alt_target:
	mov	x5, #ALT_VALUE
	str	x5, [x7]
	psci_off
