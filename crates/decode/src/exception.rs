//! Exception-entry arithmetic: what the PE does when it takes a synchronous
//! exception (or an interrupt) to EL1, so that a debugger can re-inject an
//! exception that was not its own (a guest `BRK`, an unrequested step).
//!
//! Follows the Arm ARM pseudocode `AArch64.TakeException()` and the section
//! "Exception entry"; the vector offsets are those of the table in "Exception
//! vectors" (section numbers differ between issues of DDI 0487, so none are
//! given). Cross-checked against Linux's KVM, which does the same re-injection
//! (arch/arm64/kvm/hyp/exception.c `enter_exception64()`), and QEMU's
//! `arm_cpu_do_interrupt_aarch64()` (target/arm/helper.c).
//!
//! Simplifications, all for features a KVM guest of ours does not have or
//! that do not change the result for EL1 targets:
//! * FEAT_MTE absent: `PSTATE.TCO` is not set (KVM exposes MTE only when the
//!   VMM enables `KVM_CAP_ARM_MTE`, which we do not).
//! * FEAT_NMI absent: `PSTATE.ALLINT` is left as it was.
//! * FEAT_GCS/FEAT_EBEP absent: `PSTATE.EXLOCK`/`PSTATE.PM` are not modelled.
//! * `SCTLR_EL1.SPINTMASK`, `SCTLR_EL1.EnIA`-style pointer auth state: not
//!   involved in entry.

use crate::error::Error;

/// PSTATE/SPSR `M[3:0]`: exception level and stack pointer. Arm ARM SPSR_EL1
/// register description.
pub const PSTATE_M_MASK: u64 = 0xf;
/// PSTATE/SPSR `M[4]` (nRW): 1 = the state was AArch32.
pub const PSTATE_NRW: u64 = 1 << 4;
/// `M[0]`: SPSel in AArch64 (0 = SP_EL0 "t", 1 = SP_ELx "h").
pub const PSTATE_SP: u64 = 1 << 0;
/// `M[3:2]` shift: the exception level.
pub const PSTATE_EL_SHIFT: u32 = 2;
/// `M[3:0]` = EL1h: EL1 using SP_EL1.
pub const PSTATE_MODE_EL1H: u64 = 0b0101;
/// `M[3:0]` = EL1t: EL1 using SP_EL0.
pub const PSTATE_MODE_EL1T: u64 = 0b0100;
/// `M[3:0]` = EL0t.
pub const PSTATE_MODE_EL0T: u64 = 0b0000;
/// PSTATE.F: FIQ masked (bit 6).
pub const PSTATE_F: u64 = 1 << 6;
/// PSTATE.I: IRQ masked (bit 7).
pub const PSTATE_I: u64 = 1 << 7;
/// PSTATE.A: SError masked (bit 8).
pub const PSTATE_A: u64 = 1 << 8;
/// PSTATE.D: debug exceptions masked (bit 9).
pub const PSTATE_D: u64 = 1 << 9;
/// PSTATE.{N,Z,C,V}, bits 31:28: the condition flags (same bits in the
/// AArch32 SPSR format). Unchanged by exception entry.
pub const PSTATE_NZCV: u64 = 0xf << 28;
/// All four DAIF mask bits.
pub const PSTATE_DAIF: u64 = PSTATE_D | PSTATE_A | PSTATE_I | PSTATE_F;
/// PSTATE.BTYPE, bits 11:10 (FEAT_BTI).
pub const PSTATE_BTYPE: u64 = 0b11 << 10;
/// PSTATE.SSBS in AArch64 SPSR format, bit 12 (FEAT_SSBS).
pub const PSTATE_SSBS: u64 = 1 << 12;
/// PSTATE.ALLINT, bit 13 (FEAT_NMI).
pub const PSTATE_ALLINT: u64 = 1 << 13;
/// PSTATE.IL: illegal execution state, bit 20.
pub const PSTATE_IL: u64 = 1 << 20;
/// PSTATE.SS: software step, bit 21 (AArch64 SPSR format).
pub const PSTATE_SS: u64 = 1 << 21;
/// PSTATE.PAN: privileged access never, bit 22 (FEAT_PAN; same bit in the
/// AArch32 SPSR format).
pub const PSTATE_PAN: u64 = 1 << 22;
/// PSTATE.UAO: user access override, bit 23 (FEAT_UAO).
pub const PSTATE_UAO: u64 = 1 << 23;
/// PSTATE.DIT: data-independent timing, bit 24 (FEAT_DIT; same bit in the
/// AArch32 SPSR format).
pub const PSTATE_DIT: u64 = 1 << 24;
/// PSTATE.TCO: tag check override, bit 25 (FEAT_MTE).
pub const PSTATE_TCO: u64 = 1 << 25;

/// SCTLR_EL1.SPAN, bit 23: 0 = set PSTATE.PAN on exception entry to EL1.
/// Arm ARM SCTLR_EL1 register description.
pub const SCTLR_EL1_SPAN: u64 = 1 << 23;
/// SCTLR_EL1.DSSBS, bit 44: the PSTATE.SSBS value on exception entry to EL1.
pub const SCTLR_EL1_DSSBS: u64 = 1 << 44;

/// VBAR_EL1 bits 10:0 are RES0: the vector table is 2 KiB aligned.
pub const VBAR_ALIGN_MASK: u64 = 0x7ff;
/// Vector-table offset: exception from the current EL while using SP_EL0.
pub const VECTOR_CURRENT_SP0: u64 = 0x000;
/// Vector-table offset: exception from the current EL while using SP_ELx.
pub const VECTOR_CURRENT_SPX: u64 = 0x200;
/// Vector-table offset: exception from a lower EL, all of which are AArch64.
pub const VECTOR_LOWER_A64: u64 = 0x400;
/// Vector-table offset: exception from a lower EL in AArch32.
pub const VECTOR_LOWER_A32: u64 = 0x600;

/// The exception type, whose value is its offset within a vector group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum VectorKind {
    /// Synchronous exception (BRK, breakpoint, step, watchpoint, abort, SVC...).
    Synchronous = 0x0,
    /// IRQ or vIRQ.
    Irq = 0x80,
    /// FIQ or vFIQ.
    Fiq = 0x100,
    /// SError or vSError.
    SError = 0x180,
}

/// The PE state an exception is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuState {
    /// PSTATE in SPSR format (KVM's `regs.pstate`).
    pub pstate: u64,
    /// The preferred return address (for a BRK: the address of the BRK).
    pub pc: u64,
}

/// The register values after exception entry to EL1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExceptionEntry {
    /// ELR_EL1: the preferred return address (bits 63:32 zero from AArch32).
    pub elr_el1: u64,
    /// SPSR_EL1: the old PSTATE.
    pub spsr_el1: u64,
    /// ESR_EL1: the syndrome, as given.
    pub esr_el1: u64,
    /// The new PSTATE (SPSR format).
    pub pstate: u64,
    /// The new PC: VBAR_EL1 + vector offset.
    pub pc: u64,
}

/// The vector-table offset for an exception of `kind` taken to EL1 from
/// `pstate`, or an error if `pstate` is at EL2 or EL3 (which cannot take an
/// exception to EL1).
pub fn vector_offset(pstate: u64, kind: VectorKind) -> Result<u64, Error> {
    let group = if pstate & PSTATE_NRW != 0 {
        // Below an AArch64 EL1, AArch32 is only possible in User mode (EL0,
        // M[3:0] = 0b0000); any other AArch32 mode cannot be a source.
        if pstate & PSTATE_M_MASK != 0 {
            return Err(Error::ExceptionSource { pstate });
        }
        VECTOR_LOWER_A32
    } else {
        match (pstate & PSTATE_M_MASK) >> PSTATE_EL_SHIFT {
            0 => VECTOR_LOWER_A64,
            1 if pstate & PSTATE_SP == 0 => VECTOR_CURRENT_SP0,
            1 => VECTOR_CURRENT_SPX,
            _ => return Err(Error::ExceptionSource { pstate }),
        }
    };
    Ok(group + kind as u64)
}

/// Take an exception of `kind` with syndrome `esr` to EL1, as
/// `AArch64.TakeException()` does, from `state`.
///
/// * SPSR_EL1 = the old PSTATE; ELR_EL1 = `state.pc` (upper half zeroed if
///   from AArch32); ESR_EL1 = `esr`.
/// * PSTATE: M = EL1h, nRW = 0; D, A, I, F set; N, Z, C, V kept; SS, IL,
///   BTYPE, UAO cleared; PAN set if SCTLR_EL1.SPAN is 0, else kept; SSBS =
///   SCTLR_EL1.DSSBS; DIT kept. See the module documentation for what is not modelled.
/// * PC = VBAR_EL1 (bits 10:0 ignored) + [`vector_offset`].
pub fn take_exception_to_el1(
    state: CpuState,
    esr: u64,
    vbar_el1: u64,
    kind: VectorKind,
    sctlr_el1: u64,
) -> Result<ExceptionEntry, Error> {
    let offset = vector_offset(state.pstate, kind)?;
    let from_a32 = state.pstate & PSTATE_NRW != 0;
    let old = state.pstate;

    let mut pstate = PSTATE_MODE_EL1H | PSTATE_DAIF;
    // NZCV, PAN and DIT sit at the same bits in both SPSR formats, and
    // exception entry leaves them alone (Linux `enter_exception64()` copies
    // N, Z, C, V from the old PSTATE too).
    pstate |= old & PSTATE_NZCV;
    if sctlr_el1 & SCTLR_EL1_SPAN == 0 {
        pstate |= PSTATE_PAN;
    } else {
        pstate |= old & PSTATE_PAN;
    }
    pstate |= old & PSTATE_DIT;
    if sctlr_el1 & SCTLR_EL1_DSSBS != 0 {
        pstate |= PSTATE_SSBS;
    }
    if !from_a32 {
        // ALLINT is an AArch64-only bit, unchanged without FEAT_NMI.
        pstate |= old & PSTATE_ALLINT;
    }

    Ok(ExceptionEntry {
        elr_el1: if from_a32 {
            state.pc & 0xffff_ffff
        } else {
            state.pc
        },
        spsr_el1: old,
        esr_el1: esr,
        pstate,
        pc: (vbar_el1 & !VBAR_ALIGN_MASK).wrapping_add(offset),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VBAR: u64 = 0xffff_8000_1001_0800;
    const ESR_BRK_123: u64 = 0xf200_0123;

    fn entry(pstate: u64, kind: VectorKind) -> ExceptionEntry {
        take_exception_to_el1(
            CpuState {
                pstate,
                pc: 0xffff_8000_1000_0abc,
            },
            ESR_BRK_123,
            VBAR,
            kind,
            0,
        )
        .unwrap()
    }

    #[test]
    fn every_vector_offset() {
        let kinds = [
            (VectorKind::Synchronous, 0x000),
            (VectorKind::Irq, 0x080),
            (VectorKind::Fiq, 0x100),
            (VectorKind::SError, 0x180),
        ];
        let sources = [
            (PSTATE_MODE_EL1T, 0x000),
            (PSTATE_MODE_EL1H, 0x200),
            (PSTATE_MODE_EL0T, 0x400),
            (PSTATE_NRW, 0x600), // AArch32 User mode (M[4:0] = 0b10000)
        ];
        for (src, group) in sources {
            for (kind, off) in kinds {
                assert_eq!(
                    entry(src | PSTATE_DAIF, kind).pc,
                    VBAR + group + off,
                    "{src:#x} {kind:?}"
                );
            }
        }
    }

    #[test]
    fn vbar_low_bits_are_ignored() {
        let e = take_exception_to_el1(
            CpuState {
                pstate: PSTATE_MODE_EL1H,
                pc: 0,
            },
            0,
            0x4000_07ff,
            VectorKind::Synchronous,
            0,
        )
        .unwrap();
        assert_eq!(e.pc, 0x4000_0200);
    }

    #[test]
    fn from_el2_is_refused() {
        let e = vector_offset(0b1001, VectorKind::Synchronous).unwrap_err();
        assert_eq!(e, Error::ExceptionSource { pstate: 0b1001 });
        assert_eq!(e.code(), "ERR_EXCEPTION_SOURCE");
        // AArch32 SVC mode (M = 0b10011) is EL1 in AArch32: not below our EL1.
        assert!(vector_offset(0b1_0011, VectorKind::Irq).is_err());
    }

    #[test]
    fn pstate_rules() {
        // EL1h, interrupts unmasked, SS, IL, BTYPE, UAO, DIT, PAN=0 set as given.
        let old = PSTATE_MODE_EL1H
            | PSTATE_SS
            | PSTATE_IL
            | PSTATE_BTYPE
            | PSTATE_UAO
            | PSTATE_DIT
            | (0b1010 << 28);
        let e = entry(old, VectorKind::Synchronous);
        assert_eq!(e.spsr_el1, old);
        assert_eq!(e.esr_el1, ESR_BRK_123);
        assert_eq!(e.elr_el1, 0xffff_8000_1000_0abc);
        // SPAN = 0 sets PAN; DIT and the flags (N, C) kept; the rest cleared.
        assert_eq!(
            e.pstate,
            PSTATE_MODE_EL1H | PSTATE_DAIF | PSTATE_PAN | PSTATE_DIT | (0b1010 << 28)
        );
    }

    #[test]
    fn span_and_dssbs() {
        let st = |pstate| CpuState { pstate, pc: 0x1000 };
        let sctlr = SCTLR_EL1_SPAN | SCTLR_EL1_DSSBS;
        let e = take_exception_to_el1(st(PSTATE_MODE_EL0T), 0, 0, VectorKind::Irq, sctlr).unwrap();
        assert_eq!(e.pstate, PSTATE_MODE_EL1H | PSTATE_DAIF | PSTATE_SSBS);
        let e = take_exception_to_el1(
            st(PSTATE_MODE_EL1H | PSTATE_PAN | PSTATE_SSBS),
            0,
            0,
            VectorKind::Irq,
            SCTLR_EL1_SPAN,
        )
        .unwrap();
        // SPAN = 1 keeps PAN; DSSBS = 0 clears SSBS.
        assert_eq!(e.pstate, PSTATE_MODE_EL1H | PSTATE_DAIF | PSTATE_PAN);
    }

    #[test]
    fn from_aarch32_zeroes_elr_high_half() {
        let e = take_exception_to_el1(
            CpuState {
                // T32 User mode, Z set, IT[1:0] (bits 26:25) and GE (19:16) set.
                pstate: PSTATE_NRW | (1 << 5) | (1 << 30) | (0b11 << 25) | (0xf << 16),
                pc: 0xdead_0000_8000_1002,
            },
            0,
            VBAR,
            VectorKind::Synchronous,
            SCTLR_EL1_SPAN,
        )
        .unwrap();
        assert_eq!(e.elr_el1, 0x8000_1002);
        assert_eq!(e.pc, VBAR + VECTOR_LOWER_A32);
        assert_eq!(e.pstate & PSTATE_NRW, 0);
        // Z carries over; the AArch32-only IT, GE and T bits do not.
        assert_eq!(e.pstate, PSTATE_MODE_EL1H | PSTATE_DAIF | (1 << 30));
    }
}
