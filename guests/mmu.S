// guests/mmu.S - turns the MMU on with page tables the test builds, then runs from a
// virtual alias of its own code. The test writes `mmu_params` before the first run:
//   +0 MAIR_EL1, +8 TCR_EL1, +16 TTBR0_EL1, +24 VA alias offset (alias VA - RAM_BASE).
// The tables must map RAM_BASE identically (this code runs on across the SCTLR write)
// and the alias. In the alias, va_target is called CALLS times; result = CALLS * STEP.
.include "common.inc"

.equ CALLS, 5
.equ STEP, 7
.equ SCTLR_M, (1 << 0)		// Arm ARM D17.2.118 SCTLR_EL1.M: stage 1 MMU enable
.equ SCTLR_C, (1 << 2)		// SCTLR_EL1.C: data cacheability
.equ SCTLR_I, (1 << 12)		// SCTLR_EL1.I: instruction cacheability

	.section .text.boot
	.global _start
_start:
	adr	x0, mmu_params
	ldp	x1, x2, [x0]
	ldp	x3, x4, [x0, #16]
	msr	mair_el1, x1
	msr	tcr_el1, x2
	msr	ttbr0_el1, x3
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	mrs	x5, sctlr_el1
	mov	x6, #(SCTLR_M | SCTLR_C | SCTLR_I)
	orr	x5, x5, x6
	msr	sctlr_el1, x5
	isb
	adr	x6, va_main
	add	x6, x6, x4
	br	x6			// continue in the alias

va_main:
	adr	x9, stack_top		// PC-relative: the stack is used through the alias too
	mov	sp, x9
	mov	x19, #0
	mov	x20, #CALLS
1:	bl	va_target
	subs	x20, x20, #1
	b.ne	1b
	adr	x1, result
	str	x19, [x1]
	psci_off

	.global va_target
va_target:
	add	x19, x19, #STEP
	ret

	.section .bss
	.balign	16
	.global mmu_params
mmu_params: .skip 32
	.global result
result:	.quad	0
	stack_area
