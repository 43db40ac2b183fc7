// guests/brk_vector.S - a guest with its own EL1 vector table that handles its own
// `brk #0x123`: the handler records ESR_EL1 and ELR_EL1, skips the BRK and returns.
// Layout of `record` (.bss): +0 ESR_EL1, +8 ELR_EL1, +16 sync count, +24 "continued"
// marker (CONTINUED once execution got past the BRK), +32 offset of an unexpected vector.
.include "common.inc"

.equ CONTINUED, 0xc0de
.equ VEC_CUR_SPX_SYNC, 0x200	// Arm ARM D1.3.1 (table "Vector offsets"): current EL, SPx, sync

	.section .text.boot
	.global _start
_start:
	set_stack
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	.global brk_site
brk_site:
	brk	#0x123
	adr	x1, record
	mov	x2, #CONTINUED
	str	x2, [x1, #24]
	psci_off

sync_handler:
	mrs	x9, esr_el1
	mrs	x10, elr_el1
	adr	x11, record
	str	x9, [x11, #0]
	str	x10, [x11, #8]
	ldr	x12, [x11, #16]
	add	x12, x12, #1
	str	x12, [x11, #16]
	add	x10, x10, #4		// BRK: ELR is the BRK itself (Arm ARM D1.3.1); skip it
	msr	elr_el1, x10
	eret

// Any other vector: record its offset and power off, so the suite sees what happened.
.macro unexpected off
	.balign	0x80
	mov	x9, #\off
	b	unexpected_vector
.endm

	.balign	2048			// VBAR_EL1 bits [10:0] are RES0
	.global vectors
vectors:
	unexpected 0x000
	unexpected 0x080
	unexpected 0x100
	unexpected 0x180
	.balign	0x80			// VEC_CUR_SPX_SYNC
	b	sync_handler
	unexpected 0x280
	unexpected 0x300
	unexpected 0x380
	unexpected 0x400
	unexpected 0x480
	unexpected 0x500
	unexpected 0x580
	unexpected 0x600
	unexpected 0x680
	unexpected 0x700
	unexpected 0x780

unexpected_vector:
	adr	x11, record
	add	x9, x9, #1		// +1: offset 0 must still read as "set"
	str	x9, [x11, #32]
	psci_off

	.section .bss
	.balign 8
	.global record
record:	.skip	40
	stack_area
