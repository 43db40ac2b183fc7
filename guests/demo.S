// guests/demo.S - several small functions, for breakpoint demos and tests.
// Computes sum(square(i), i = 1..10) = 385 through add(), stores it in `result`,
// prints it in decimal on the UART, then PSCI SYSTEM_OFF with x19 = 385.
.include "common.inc"

.equ LAST_I, 10

	.section .text.boot
	.global _start
_start:
	set_stack
	mov	x19, #0			// running sum
	mov	x20, #1			// i
loop:
	mov	x0, x20
	bl	square
	mov	x1, x0
	mov	x0, x19
	bl	add
	mov	x19, x0
	add	x20, x20, #1
	cmp	x20, #LAST_I
	b.le	loop
	adr	x1, result
	str	x19, [x1]
	mov	x0, x19
	bl	print_u64
	mov	x0, #'\n'
	bl	putc
	psci_off

	.text
	.global square
square:					// x0 = x0 * x0
	mul	x0, x0, x0
	ret

	.global add
add:					// x0 = x0 + x1
	add	x0, x0, x1
	ret

	.global putc
putc:					// UART <- w0
	mov	x9, #UART_BASE
	strb	w0, [x9, #UART_DR]
	ret

	.global print_u64
print_u64:				// decimal x0 on the UART
	stp	x29, x30, [sp, #-48]!
	mov	x29, sp
	add	x10, sp, #40		// digits are written backwards from here
	mov	x11, #10
1:	udiv	x12, x0, x11
	msub	x13, x12, x11, x0
	add	w13, w13, #'0'
	sub	x10, x10, #1
	strb	w13, [x10]
	mov	x0, x12
	cbnz	x0, 1b
	add	x14, sp, #40
2:	ldrb	w0, [x10], #1
	bl	putc
	cmp	x10, x14
	b.ne	2b
	ldp	x29, x30, [sp], #48
	ret

	.section .bss
	.balign 8
	.global result
result:	.quad	0
	stack_area
