// guests/watch.S - one store to `wvar` (at write_site) and one load from `rvar` (at
// read_site), for write and read watchpoints; the loaded value is copied to `result`.
.include "common.inc"

.equ STORED, 0x5a

	.section .text.boot
	.global _start
_start:
	set_stack
	adr	x1, wvar
	adr	x2, rvar
	mov	x3, #STORED
	.global write_site
write_site:
	str	x3, [x1]
	nop
	.global read_site
read_site:
	ldr	x4, [x2]
	nop
	adr	x5, result
	str	x4, [x5]
	psci_off

	.section .bss
	.balign	64			// one watched doubleword per cache line, apart
	.global wvar
wvar:	.quad	0
	.balign	64
	.global rvar
rvar:	.quad	0
	.balign	64
	.global result
result:	.quad	0
	stack_area
