//! ESR_ELx syndrome decoding (Arm ARM D24.2.40 ESR_EL1, D24.2.41 ESR_EL2).
//! (Skeleton: the decoder issue fills it in.)

use crate::field::Field;

/// Bit in `kvm_run.flags` saying `debug.arch.hsr_high` is valid
/// (Linux `arch/arm64/include/uapi/asm/kvm.h`, KVM_DEBUG_ARCH_HSR_HIGH_VALID).
pub const KVM_DEBUG_ARCH_HSR_HIGH_VALID: u16 = 1 << 0;

/// Joins KVM's debug-exit pair into one 64-bit ESR: `hsr` is bits 31:0 and
/// `hsr_high` bits 63:32, the latter only when `high_valid`.
pub fn esr_from_kvm_debug_exit(hsr: u32, hsr_high: u32, high_valid: bool) -> u64 {
    let high = if high_valid { hsr_high as u64 } else { 0 };
    (high << 32) | hsr as u64
}

/// Decodes a 64-bit ESR_ELx value into its field tree. Never fails.
pub fn decode(esr: u64) -> Field {
    Field::of("ESR_ELx", esr, 63, 0)
}

/// One-line summary, e.g. `EC 0x3c BRK64 (AArch64) comment 0x123`.
pub fn summary(esr: u64) -> String {
    format!("EC {:#x}", (esr >> 26) & 0x3f)
}
