//! Single-step without entering IRQ handlers.
//!
//! x86 KVM has KVM_GUESTDBG_BLOCKIRQ; arm64 KVM has nothing like it, so a
//! step with interrupts unmasked usually lands in the guest's IRQ vector (the
//! timer is pending by the time we come back). We mask PSTATE.I and F for the
//! step and then restore the guest's own two bits exactly: PSTATE.A and D are
//! never touched. While the mask is on, the guest's view of PSTATE (reads
//! and writes through `get_reg`/`set_reg`) is kept separately.
//!
//! The stepped instruction may itself change DAIF, and then the value to put
//! back is not the old one:
//! * `MSR DAIFSet, #imm` / `MSR DAIFClr, #imm`: the guest's bits, with imm's I/F bits set/cleared;
//! * `MSR DAIF, Xt`: Xt's I/F bits (Xt is unchanged by the MSR);
//! * `ERET` / `ERETAA` / `ERETAB`: PSTATE came from SPSR_EL1, our mask is already gone: leave it;
//! * an exception taken by the instruction (SVC, an abort...): entry masked
//!   I and F itself (PC is exactly on a vector entry): leave it.
//!
//! Not covered: `MRS Xt, DAIF` stepped under the mask reads I=F=1; a guest
//! that single-steps its own code with MDSCR_EL1.SS is not affected (KVM owns
//! the debug registers while we debug).

use crate::arch::aarch64::{PSTATE_F, PSTATE_I};

/// The two bits we mask.
pub const IF: u64 = PSTATE_I | PSTATE_F;
/// `MSR DAIFSet, #imm` (Arm ARM C6.2.229 MSR (immediate), op1=3 CRn=4 op2=6; imm in CRm 11:8).
pub const MSR_DAIFSET: u32 = 0xd503_40df;
/// `MSR DAIFClr, #imm` (op2=7).
pub const MSR_DAIFCLR: u32 = 0xd503_40ff;
/// Mask that leaves out CRm of MSR (immediate).
pub const MSR_IMM_MASK: u32 = 0xffff_f0ff;
/// `MSR DAIF, Xt` (C6.2.230 MSR (register): op0=3 op1=3 CRn=4 CRm=2 op2=1; Rt in 4:0).
pub const MSR_DAIF_REG: u32 = 0xd51b_4220;
/// Mask that leaves out Rt.
pub const RT_MASK: u32 = 0xffff_ffe0;
/// `ERET` (C6.2.106).
pub const ERET: u32 = 0xd69f_03e0;
/// `ERETAA` (C6.2.107, FEAT_PAuth).
pub const ERETAA: u32 = 0xd69f_0bff;
/// `ERETAB`.
pub const ERETAB: u32 = 0xd69f_0fff;
/// The 16 vector entries are 0x80 apart in a 0x800 table (Arm ARM D1.3.1).
const VECTOR_ENTRY: u64 = 0x80;
/// Size of the vector table.
const VECTOR_TABLE: u64 = 0x800;

/// MSR (register) class: `1101 0101 0001 ...` (Arm ARM C6.2.230), any system register.
pub const MSR_REG_MASK: u32 = 0xfff0_0000;
/// Its fixed bits.
pub const MSR_REG: u32 = 0xd510_0000;

/// Whether `insn` writes a system register (it may change the translation regime).
pub fn is_msr_register(insn: u32) -> bool {
    insn & MSR_REG_MASK == MSR_REG
}

/// Whether stepping `insn` may clear PSTATE.I or F: `MSR DAIFClr` with I or
/// F in its immediate, `MSR DAIF, Xt`, or an exception return.
pub fn may_unmask(insn: u32) -> bool {
    (insn & MSR_IMM_MASK == MSR_DAIFCLR && crm_to_if(insn) != 0)
        || msr_daif_rt(insn).is_some()
        || matches!(insn, ERET | ERETAA | ERETAB)
}

/// If `insn` is `MSR DAIF, Xt`: Rt.
pub fn msr_daif_rt(insn: u32) -> Option<u8> {
    (insn & RT_MASK == MSR_DAIF_REG).then_some((insn & 0x1f) as u8)
}

/// CRm D,A,I,F (bits 3..0) -> PSTATE I (7) and F (6).
fn crm_to_if(insn: u32) -> u64 {
    (((insn >> 8) & 0b11) as u64) << 6
}

/// A step under our I/F mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepMask {
    /// The guest's own I and F bits.
    pub guest_if: u64,
    /// The instruction being stepped, if it could be read.
    pub insn: Option<u32>,
}

impl StepMask {
    /// Before the step: `pstate` is the guest's, `insn` the word at PC.
    pub fn new(pstate: u64, insn: Option<u32>) -> Self {
        StepMask {
            guest_if: pstate & IF,
            insn,
        }
    }

    /// PSTATE as the guest should see it while masked.
    pub fn guest_view(&self, real: u64) -> u64 {
        (real & !IF) | self.guest_if
    }

    /// The guest's PSTATE was written while masked: remember its I/F, return the value to load.
    pub fn guest_wrote(&mut self, v: u64) -> u64 {
        self.guest_if = v & IF;
        v | IF
    }

    /// After the step: PSTATE `now`, PC `pc`, VBAR_EL1, and for `MSR DAIF, Xt`
    /// the value of Xt. Returns the PSTATE to load, or None to leave it.
    pub fn restore(&self, now: u64, pc: u64, vbar_el1: u64, xt: Option<u64>) -> Option<u64> {
        let insn = self.insn.unwrap_or(0);
        if matches!(insn, ERET | ERETAA | ERETAB) {
            return None;
        }
        let base = vbar_el1 & !(VECTOR_TABLE - 1);
        let off = pc.wrapping_sub(base);
        if off < VECTOR_TABLE && off.is_multiple_of(VECTOR_ENTRY) {
            return None;
        }
        let guest = if insn & MSR_IMM_MASK == MSR_DAIFSET {
            self.guest_if | crm_to_if(insn)
        } else if insn & MSR_IMM_MASK == MSR_DAIFCLR {
            self.guest_if & !crm_to_if(insn)
        } else if msr_daif_rt(insn).is_some() {
            xt.unwrap_or(now) & IF
        } else {
            self.guest_if
        };
        Some((now & !IF) | guest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::aarch64::{PSTATE_A, PSTATE_D};

    const EL1H: u64 = 0b0101;
    const VBAR: u64 = 0x4000_0800;
    /// `add x0, x0, #1`.
    const ADD: u32 = 0x9100_0400;

    #[test]
    fn plain_instruction_gets_the_guest_bits_back_exactly() {
        let guest = EL1H | PSTATE_D; // I, F clear, D set
        let m = StepMask::new(guest, Some(ADD));
        let after = guest | IF | (1 << 30); // Z flag set by the step
        assert_eq!(m.guest_view(after), EL1H | PSTATE_D | (1 << 30));
        assert_eq!(
            m.restore(after, 0x4000_1004, VBAR, None),
            Some(EL1H | PSTATE_D | (1 << 30))
        );
        // F alone set in the guest stays set.
        let m = StepMask::new(EL1H | PSTATE_F, Some(ADD));
        assert_eq!(
            m.restore(EL1H | IF, 0x4000_1004, VBAR, None),
            Some(EL1H | PSTATE_F)
        );
    }

    #[test]
    fn daifset_and_daifclr_apply_on_top_of_the_guest_bits() {
        // msr daifset, #2 (I) -- as assembled by aarch64-linux-gnu-as: 0xd50342df.
        let m = StepMask::new(EL1H, Some(MSR_DAIFSET | (2 << 8)));
        assert_eq!(MSR_DAIFSET | (2 << 8), 0xd503_42df);
        assert_eq!(
            m.restore(EL1H | IF, 0x10, VBAR, None),
            Some(EL1H | PSTATE_I)
        );
        // msr daifclr, #3 (I and F) from I|F|A masked: A stays.
        let m = StepMask::new(EL1H | IF | PSTATE_A, Some(MSR_DAIFCLR | (3 << 8)));
        assert_eq!(
            m.restore(EL1H | IF | PSTATE_A, 0x10, VBAR, None),
            Some(EL1H | PSTATE_A)
        );
    }

    #[test]
    fn msr_daif_register_takes_xt() {
        let insn = MSR_DAIF_REG | 3; // msr daif, x3
        assert_eq!(msr_daif_rt(insn), Some(3));
        assert_eq!(msr_daif_rt(ADD), None);
        let m = StepMask::new(EL1H, Some(insn));
        assert_eq!(
            m.restore(EL1H | IF, 0x10, VBAR, Some(PSTATE_I)),
            Some(EL1H | PSTATE_I)
        );
    }

    #[test]
    fn eret_and_exception_entry_are_left_alone() {
        let m = StepMask::new(EL1H, Some(ERET));
        assert_eq!(m.restore(0, 0x10, VBAR, None), None);
        let m = StepMask::new(EL1H, Some(0xd400_0001)); // svc #0
        assert_eq!(m.restore(EL1H | IF, VBAR + 0x200, VBAR, None), None);
        // Inside the table but not on an entry: a normal step of handler code.
        let m = StepMask::new(EL1H, Some(ADD));
        assert_eq!(m.restore(EL1H | IF, VBAR + 0x204, VBAR, None), Some(EL1H));
    }

    #[test]
    fn what_may_unmask_and_what_writes_sysregs() {
        assert!(may_unmask(MSR_DAIFCLR | (2 << 8)), "daifclr #2 clears I");
        assert!(
            !may_unmask(MSR_DAIFCLR | (8 << 8)),
            "daifclr #8 clears D only"
        );
        assert!(!may_unmask(MSR_DAIFSET | (3 << 8)));
        assert!(may_unmask(MSR_DAIF_REG | 5));
        assert!(may_unmask(ERET) && may_unmask(ERETAA));
        assert!(!may_unmask(ADD));
        // msr sctlr_el1, x0 = 0xd5181000; msr ttbr0_el1, x1 = 0xd5182001.
        assert!(is_msr_register(0xd518_1000) && is_msr_register(0xd518_2001));
        assert!(!is_msr_register(0xd538_1000), "mrs");
        assert!(!is_msr_register(ADD));
    }

    #[test]
    fn guest_writes_while_masked_are_kept() {
        let mut m = StepMask::new(EL1H, Some(ADD));
        assert_eq!(m.guest_wrote(EL1H | PSTATE_I), EL1H | IF);
        assert_eq!(
            m.restore(EL1H | IF, 0x10, VBAR, None),
            Some(EL1H | PSTATE_I)
        );
    }
}
