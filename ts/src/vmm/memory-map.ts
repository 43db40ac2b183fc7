/**
 * The built-in VMM's machine: one memory map, shared with guests/common.inc and
 * guests/README.md (QEMU `virt` addresses, so the same guests run there too).
 */

/** RAM base: every guest is linked here (guests/link.ld; the addon's default ramBase). */
export const RAM_BASE = 0x4000_0000n;
/** PL011 UART base, as on QEMU virt (hw/arm/virt.c VIRT_UART); guests/common.inc UART_BASE. */
export const UART_BASE = 0x0900_0000n;
/** Size of the PL011's MMIO window (one 4 KiB page, PL011 TRM DDI 0183 3.2). */
export const UART_SIZE = 0x1000n;
/** Default guest RAM in MiB for `kvm-debug run`. */
export const DEFAULT_MEM_MIB = 64;

/** PSCI function ids (Arm DEN0022D 5.1): SYSTEM_OFF, SMC32/HVC32 convention. */
export const PSCI_SYSTEM_OFF = 0x8400_0008n;
