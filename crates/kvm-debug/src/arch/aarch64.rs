//! arm64: KVM register ids by name, the entry state, and the host cache
//! maintenance needed after writing guest code.
//!
//! The id arithmetic is pure (it builds and is tested on every host); on
//! aarch64 a test checks it against kvm-bindings' `kvm_regs` layout.
//! References: Linux `arch/arm64/include/uapi/asm/kvm.h` (KVM_REG_ARM_CORE,
//! ARM64_SYS_REG), `include/uapi/linux/kvm.h` (KVM_REG_SIZE_*), Arm ARM
//! D24.2 (system register encodings).

use crate::error::{Error, Result};

/// `KVM_REG_ARM64` (include/uapi/linux/kvm.h).
pub const KVM_REG_ARM64: u64 = 0x6000_0000_0000_0000;
/// `KVM_REG_SIZE_U32`: size field = log2(4) << 52.
pub const KVM_REG_SIZE_U32: u64 = 0x0020_0000_0000_0000;
/// `KVM_REG_SIZE_U64`: size field = log2(8) << 52.
pub const KVM_REG_SIZE_U64: u64 = 0x0030_0000_0000_0000;
/// `KVM_REG_SIZE_U128`: size field = log2(16) << 52.
pub const KVM_REG_SIZE_U128: u64 = 0x0040_0000_0000_0000;
/// `KVM_REG_ARM_CORE` (0x0010 << KVM_REG_ARM_COPROC_SHIFT 16): `struct kvm_regs`, indexed in u32 words.
pub const KVM_REG_ARM_CORE: u64 = 0x0010 << 16;
/// `KVM_REG_ARM64_SYSREG` (0x0013 << 16): system registers by (op0, op1, CRn, CRm, op2).
pub const KVM_REG_ARM64_SYSREG: u64 = 0x0013 << 16;

/// Byte offsets in `struct kvm_regs` (arch/arm64/include/uapi/asm/kvm.h):
/// `user_pt_regs regs { u64 regs[31]; sp; pc; pstate }`, then `sp_el1`, `elr_el1`,
/// `spsr[5]`, then 16-byte aligned `user_fpsimd_state { __uint128_t vregs[32]; u32 fpsr; u32 fpcr; }`.
mod off {
    pub const X0: u64 = 0;
    pub const SP: u64 = 31 * 8;
    pub const PC: u64 = 32 * 8;
    pub const PSTATE: u64 = 33 * 8;
    pub const SP_EL1: u64 = 34 * 8;
    pub const ELR_EL1: u64 = 35 * 8;
    /// spsr[KVM_SPSR_EL1 = 0].
    pub const SPSR_EL1: u64 = 36 * 8;
    /// After spsr[5] (ends at 328), aligned up to 16 for `__uint128_t`.
    pub const V0: u64 = 336;
    pub const FPSR: u64 = V0 + 32 * 16;
    pub const FPCR: u64 = FPSR + 4;
}

/// `KVM_REG_ARM_CORE_REG(name)` = byte offset / 4, with the size of the field.
pub const fn core_reg(byte_offset: u64, size: u64) -> u64 {
    KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | (byte_offset / 4)
}

/// `ARM64_SYS_REG(op0, op1, crn, crm, op2)` (arch/arm64/include/uapi/asm/kvm.h).
pub const fn sys_reg(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64) -> u64 {
    KVM_REG_ARM64
        | KVM_REG_SIZE_U64
        | KVM_REG_ARM64_SYSREG
        | (op0 << 14)
        | (op1 << 11)
        | (crn << 7)
        | (crm << 3)
        | op2
}

/// PC.
pub const REG_PC: u64 = core_reg(off::PC, KVM_REG_SIZE_U64);
/// PSTATE (as SPSR-format bits).
pub const REG_PSTATE: u64 = core_reg(off::PSTATE, KVM_REG_SIZE_U64);
/// SP_EL0: KVM keeps it in the core register `regs.sp` (not as a system register).
pub const REG_SP_EL0: u64 = core_reg(off::SP, KVM_REG_SIZE_U64);
/// Not a KVM id: the name "sp" means the current stack pointer, SP_EL1 when
/// PSTATE.SPSel (M[0]) is 1 and SP_EL0 otherwise; see [`current_sp`].
pub const REG_SP_CURRENT: u64 = 0;
/// SP_EL1 (core register `sp_el1`).
pub const REG_SP_EL1: u64 = core_reg(off::SP_EL1, KVM_REG_SIZE_U64);
/// ELR_EL1 (core register `elr_el1`).
pub const REG_ELR_EL1: u64 = core_reg(off::ELR_EL1, KVM_REG_SIZE_U64);
/// SPSR_EL1 (core register `spsr[KVM_SPSR_EL1]`).
pub const REG_SPSR_EL1: u64 = core_reg(off::SPSR_EL1, KVM_REG_SIZE_U64);
/// SCTLR_EL1: Arm ARM D24.2.161, (3, 0, 1, 0, 0).
pub const REG_SCTLR_EL1: u64 = sys_reg(3, 0, 1, 0, 0);
/// TTBR0_EL1: Arm ARM D24.2.178, (3, 0, 2, 0, 0).
pub const REG_TTBR0_EL1: u64 = sys_reg(3, 0, 2, 0, 0);
/// TTBR1_EL1: Arm ARM D24.2.181, (3, 0, 2, 0, 1).
pub const REG_TTBR1_EL1: u64 = sys_reg(3, 0, 2, 0, 1);
/// TCR_EL1: Arm ARM D24.2.172, (3, 0, 2, 0, 2).
pub const REG_TCR_EL1: u64 = sys_reg(3, 0, 2, 0, 2);
/// ESR_EL1: Arm ARM D24.2.40, (3, 0, 5, 2, 0).
pub const REG_ESR_EL1: u64 = sys_reg(3, 0, 5, 2, 0);
/// FAR_EL1: Arm ARM D24.2.45, (3, 0, 6, 0, 0).
pub const REG_FAR_EL1: u64 = sys_reg(3, 0, 6, 0, 0);
/// MAIR_EL1: Arm ARM D24.2.106, (3, 0, 10, 2, 0).
pub const REG_MAIR_EL1: u64 = sys_reg(3, 0, 10, 2, 0);
/// VBAR_EL1: Arm ARM D24.2.192, (3, 0, 12, 0, 0).
pub const REG_VBAR_EL1: u64 = sys_reg(3, 0, 12, 0, 0);
/// ID_AA64ISAR0_EL1: Arm ARM, its register description, (3, 0, 0, 6, 0); its RNDR field (bits 63:60)
/// says whether the guest has FEAT_RNG, which seeds KASLR without a kaslr-seed.
pub const REG_ID_AA64ISAR0_EL1: u64 = sys_reg(3, 0, 0, 6, 0);
/// MPIDR_EL1: Arm ARM D24.2.118, (3, 0, 0, 0, 5); KVM derives it from the vCPU index.
pub const REG_MPIDR_EL1: u64 = sys_reg(3, 0, 0, 0, 5);
/// MPIDR_EL1 affinity fields Aff3 (39:32) and Aff2..Aff0 (23:0): a cpu node's `reg`.
pub const MPIDR_AFFINITY: u64 = 0xff_00ff_ffff;

/// The width of a register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegSize {
    /// 32 bits (FPSR, FPCR).
    U32,
    /// 64 bits.
    U64,
    /// 128 bits (V0-V31).
    U128,
}

impl RegSize {
    /// Bytes.
    pub fn bytes(self) -> usize {
        match self {
            RegSize::U32 => 4,
            RegSize::U64 => 8,
            RegSize::U128 => 16,
        }
    }
}

/// A register KVM can get/set with `KVM_GET_ONE_REG` / `KVM_SET_ONE_REG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg {
    /// The KVM register id.
    pub id: u64,
    /// Its width.
    pub size: RegSize,
}

const fn r64(id: u64) -> Reg {
    Reg {
        id,
        size: RegSize::U64,
    }
}

/// The named registers other than x<n> and v<n> (lower case).
const NAMED: &[(&str, Reg)] = &[
    ("sp", r64(REG_SP_CURRENT)),
    ("pc", r64(REG_PC)),
    ("pstate", r64(REG_PSTATE)),
    ("sp_el0", r64(REG_SP_EL0)),
    ("sp_el1", r64(REG_SP_EL1)),
    ("elr_el1", r64(REG_ELR_EL1)),
    ("spsr_el1", r64(REG_SPSR_EL1)),
    ("esr_el1", r64(REG_ESR_EL1)),
    ("far_el1", r64(REG_FAR_EL1)),
    ("vbar_el1", r64(REG_VBAR_EL1)),
    ("sctlr_el1", r64(REG_SCTLR_EL1)),
    ("tcr_el1", r64(REG_TCR_EL1)),
    ("ttbr0_el1", r64(REG_TTBR0_EL1)),
    ("ttbr1_el1", r64(REG_TTBR1_EL1)),
    ("mair_el1", r64(REG_MAIR_EL1)),
    ("id_aa64isar0_el1", r64(REG_ID_AA64ISAR0_EL1)),
    (
        "fpsr",
        Reg {
            id: core_reg(off::FPSR, KVM_REG_SIZE_U32),
            size: RegSize::U32,
        },
    ),
    (
        "fpcr",
        Reg {
            id: core_reg(off::FPCR, KVM_REG_SIZE_U32),
            size: RegSize::U32,
        },
    ),
];

/// The KVM id of X<n> (n < 31).
pub const fn x_reg(n: u8) -> u64 {
    core_reg(off::X0 + 8 * n as u64, KVM_REG_SIZE_U64)
}

/// Every register name [`reg_by_name`] accepts, in a stable order (x0-x30, sp,
/// pc, pstate, the EL1 system registers, v0-v31, fpsr, fpcr).
pub fn reg_names() -> Vec<String> {
    let mut v: Vec<String> = (0..31).map(|n| format!("x{n}")).collect();
    v.extend(
        NAMED
            .iter()
            .filter(|(n, _)| !n.starts_with("fp"))
            .map(|(n, _)| n.to_string()),
    );
    v.extend((0..32).map(|n| format!("v{n}")));
    v.extend(["fpsr".to_string(), "fpcr".to_string()]);
    v
}

fn indexed(name: &str, prefix: char, count: u64) -> Option<u64> {
    let digits = name.strip_prefix(prefix)?;
    if digits.is_empty() || digits.len() > 2 || (digits.len() == 2 && digits.starts_with('0')) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    (n < count).then_some(n)
}

/// Looks a register up by name (case-insensitive). Unknown -> an error naming it.
pub fn reg_by_name(name: &str) -> Result<Reg> {
    let lower = name.to_ascii_lowercase();
    if let Some(n) = indexed(&lower, 'x', 31) {
        return Ok(r64(core_reg(off::X0 + 8 * n, KVM_REG_SIZE_U64)));
    }
    if let Some(n) = indexed(&lower, 'v', 32) {
        return Ok(Reg {
            id: core_reg(off::V0 + 16 * n, KVM_REG_SIZE_U128),
            size: RegSize::U128,
        });
    }
    NAMED
        .iter()
        .find(|(n, _)| *n == lower)
        .map(|(_, r)| *r)
        .ok_or_else(|| Error::UnknownRegister {
            name: name.to_string(),
        })
}

/// PSTATE.M[3:0] = EL1h (EL1 with SP_EL1): Arm ARM C5.2.19 SPSR_EL1.M.
pub const PSTATE_MODE_EL1H: u64 = 0b0101;
/// PSTATE.F (FIQ mask), bit 6: Arm ARM C5.2.19.
pub const PSTATE_F: u64 = 1 << 6;
/// PSTATE.I (IRQ mask), bit 7.
pub const PSTATE_I: u64 = 1 << 7;
/// PSTATE.A (SError mask), bit 8.
pub const PSTATE_A: u64 = 1 << 8;
/// PSTATE.D (debug mask), bit 9.
pub const PSTATE_D: u64 = 1 << 9;
/// The entry state: EL1h with D, A, I and F masked (like Linux's boot protocol
/// and KVM's own vCPU reset state).
pub const ENTRY_PSTATE: u64 = PSTATE_MODE_EL1H | PSTATE_D | PSTATE_A | PSTATE_I | PSTATE_F;
/// SCTLR_EL1.M (bit 0): stage-1 MMU enable, Arm ARM D24.2.161. Zero at reset.
pub const SCTLR_M: u64 = 1 << 0;

/// PSTATE.M[0] (SPSel at EL1/EL2): 1 = SP_ELx, 0 = SP_EL0 (Arm ARM C5.2.19).
pub const PSTATE_SPSEL: u64 = 1 << 0;
/// PSTATE.M[4] (nRW): 1 = AArch32.
pub const PSTATE_NRW: u64 = 1 << 4;

/// The KVM id that "sp" stands for under `pstate`: SP_EL1 in EL1h (or EL2h), SP_EL0 in EL0 and EL1t.
pub fn current_sp(pstate: u64) -> u64 {
    let el = (pstate >> 2) & 3;
    if el >= 1 && pstate & PSTATE_SPSEL != 0 {
        REG_SP_EL1
    } else {
        REG_SP_EL0
    }
}

/// `KVM_ARM_VCPU_PSCI_0_2` feature bit index (arch/arm64/include/uapi/asm/kvm.h).
pub const KVM_ARM_VCPU_PSCI_0_2: u32 = 2;
/// `KVM_ARM_VCPU_POWER_OFF` feature bit index: secondary vCPUs start powered off.
pub const KVM_ARM_VCPU_POWER_OFF: u32 = 0;

/// CTR_EL0.IminLine, bits 3:0: log2 of the smallest I-cache line in words (Arm ARM D24.2.33).
const CTR_IMINLINE_SHIFT: u64 = 0;
/// CTR_EL0.DminLine, bits 19:16: log2 of the smallest D-cache line in words.
const CTR_DMINLINE_SHIFT: u64 = 16;
/// CTR_EL0.IDC, bit 28: D-cache clean to PoU not required for I/D coherence.
pub const CTR_IDC: u64 = 1 << 28;
/// CTR_EL0.DIC, bit 29: I-cache invalidation to PoU not required.
pub const CTR_DIC: u64 = 1 << 29;

/// Cache line sizes in bytes from a CTR_EL0 value: (D-cache, I-cache).
pub fn ctr_line_sizes(ctr: u64) -> (usize, usize) {
    let d = 4usize << ((ctr >> CTR_DMINLINE_SHIFT) & 0xf);
    let i = 4usize << ((ctr >> CTR_IMINLINE_SHIFT) & 0xf);
    (d, i)
}

/// Makes freshly written instructions at host address `start..start+len`
/// visible to instruction fetch by the guest.
///
/// Why: we write the BRK through the host's data side. The guest may fetch
/// from an I-cache line holding the old instruction, and with its MMU off its
/// fetches are Non-cacheable (they read memory, not the host's D-cache, where
/// the new word may still sit dirty). So, per Arm ARM B2.4.4 "Concurrent
/// modification and execution of instructions" / D7.5.9: DC CVAU each D-line
/// (clean to the Point of Unification), DSB ISH, IC IVAU each I-line
/// (invalidate to PoU, Inner Shareable so every CPU that runs a vCPU sees it),
/// DSB ISH, ISB. CTR_EL0.IDC/DIC let us skip the halves the CPU does not need.
/// Line sizes come from CTR_EL0 (readable at EL0 when SCTLR_EL1.UCT=1, which Linux sets).
#[cfg(target_arch = "aarch64")]
pub fn sync_icache(start: *const u8, len: usize) {
    use std::arch::asm;
    if len == 0 {
        return;
    }
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effects; Linux allows EL0 access (UCT=1) or traps and emulates it.
    unsafe { asm!("mrs {0}, ctr_el0", out(reg) ctr, options(nomem, nostack, preserves_flags)) };
    let (dline, iline) = ctr_line_sizes(ctr);
    let begin = start as usize;
    let end = begin + len;
    if ctr & CTR_IDC == 0 {
        let mut a = begin & !(dline - 1);
        while a < end {
            // SAFETY: DC CVAU on an address of our own mapped buffer only cleans a cache line.
            unsafe { asm!("dc cvau, {0}", in(reg) a, options(nostack, preserves_flags)) };
            a += dline;
        }
    }
    // SAFETY: a barrier instruction; no memory is accessed.
    unsafe { asm!("dsb ish", options(nostack, preserves_flags)) };
    if ctr & CTR_DIC == 0 {
        let mut a = begin & !(iline - 1);
        while a < end {
            // SAFETY: IC IVAU on an address of our own mapped buffer only invalidates a cache line.
            unsafe { asm!("ic ivau, {0}", in(reg) a, options(nostack, preserves_flags)) };
            a += iline;
        }
    }
    // SAFETY: barrier instructions; no memory is accessed.
    unsafe { asm!("dsb ish", "isb", options(nostack, preserves_flags)) };
}

/// Other hosts never run arm64 guests natively (no VM exists there): nothing to do.
#[cfg(not(target_arch = "aarch64"))]
pub fn sync_icache(_start: *const u8, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_reg_ids_match_the_uapi_layout() {
        // Values as QEMU/kvmtool compute them with KVM_REG_ARM_CORE_REG().
        assert_eq!(reg_by_name("x0").unwrap().id, 0x6030_0000_0010_0000);
        assert_eq!(reg_by_name("X30").unwrap().id, 0x6030_0000_0010_003c);
        assert_eq!(REG_SP_EL0, 0x6030_0000_0010_003e);
        assert_eq!(current_sp(ENTRY_PSTATE), REG_SP_EL1);
        assert_eq!(current_sp(0b0100), REG_SP_EL0, "EL1t");
        assert_eq!(current_sp(0), REG_SP_EL0, "EL0t");
        assert_eq!(REG_PC, 0x6030_0000_0010_0040);
        assert_eq!(REG_PSTATE, 0x6030_0000_0010_0042);
        assert_eq!(REG_SP_EL1, 0x6030_0000_0010_0044);
        assert_eq!(REG_ELR_EL1, 0x6030_0000_0010_0046);
        assert_eq!(REG_SPSR_EL1, 0x6030_0000_0010_0048);
        let v0 = reg_by_name("v0").unwrap();
        assert_eq!((v0.id, v0.size), (0x6040_0000_0010_0054, RegSize::U128));
        assert_eq!(reg_by_name("v31").unwrap().id, 0x6040_0000_0010_00d0);
        assert_eq!(reg_by_name("fpsr").unwrap().id, 0x6020_0000_0010_00d4);
        assert_eq!(reg_by_name("fpcr").unwrap().id, 0x6020_0000_0010_00d5);
    }

    #[test]
    fn sysreg_ids_follow_arm64_sys_reg() {
        // ARM64_SYS_REG(3,0,12,0,0) as in QEMU's kvm64.c for VBAR_EL1.
        assert_eq!(REG_VBAR_EL1, 0x6030_0000_0013_c600);
        // ARM64_SYS_REG(3,0,0,6,0), as Linux's arch/arm64/include/asm/sysreg.h SYS_ID_AA64ISAR0_EL1.
        assert_eq!(REG_ID_AA64ISAR0_EL1, 0x6030_0000_0013_c030);
        assert_eq!(REG_ESR_EL1, 0x6030_0000_0013_c290);
        assert_eq!(REG_SCTLR_EL1, 0x6030_0000_0013_c080);
        assert_eq!(REG_TCR_EL1, 0x6030_0000_0013_c102);
    }

    #[test]
    fn unknown_names_are_refused_by_name() {
        for bad in ["x31", "x", "x01", "v32", "elr_el2", "", "x-1"] {
            let e = reg_by_name(bad).unwrap_err();
            assert_eq!(e.code(), "ERR_UNKNOWN_REGISTER", "{bad}");
            assert!(e.to_string().contains(&format!("{bad:?}")));
        }
    }

    #[test]
    fn every_listed_name_resolves_to_a_distinct_id() {
        let names = reg_names();
        assert_eq!(names.len(), 31 + 16 + 32 + 2);
        let mut ids: Vec<u64> = names.iter().map(|n| reg_by_name(n).unwrap().id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), names.len());
    }

    #[test]
    fn entry_state_is_el1h_daif_masked() {
        assert_eq!(ENTRY_PSTATE, 0x3c5);
        // CTR_EL0 of a Cortex-A72 (0x8444c004): 64-byte D and I lines.
        assert_eq!(ctr_line_sizes(0x8444_c004), (64, 64));
    }

    #[cfg(target_arch = "aarch64")]
    #[test]
    fn offsets_match_kvm_bindings() {
        use core::mem::offset_of;
        use kvm_bindings::{kvm_regs, user_fpsimd_state, user_pt_regs};
        assert_eq!(
            offset_of!(kvm_regs, regs) + offset_of!(user_pt_regs, pc),
            off::PC as usize
        );
        assert_eq!(offset_of!(kvm_regs, sp_el1), off::SP_EL1 as usize);
        assert_eq!(offset_of!(kvm_regs, elr_el1), off::ELR_EL1 as usize);
        assert_eq!(offset_of!(kvm_regs, spsr), off::SPSR_EL1 as usize);
        assert_eq!(offset_of!(kvm_regs, fp_regs), off::V0 as usize);
        assert_eq!(
            offset_of!(kvm_regs, fp_regs) + offset_of!(user_fpsimd_state, fpsr),
            off::FPSR as usize
        );
    }
}
