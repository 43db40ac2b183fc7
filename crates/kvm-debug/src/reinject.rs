//! Debug exceptions that are not ours go back to the guest.
//!
//! With KVM_GUESTDBG_USE_SW_BP every BRK the guest executes traps to us, not
//! only ours. Linux guests use BRK themselves: kprobes
//! ([`decode::insn::LINUX_KPROBES_BRK_IMM`] 0x004), uprobes (0x005), BUG/WARN
//! ([`decode::insn::LINUX_BUG_BRK_IMM`] 0x800), KASAN
//! ([`decode::insn::LINUX_KASAN_BRK_IMM`] 0x900), kgdb
//! ([`decode::insn::LINUX_KGDB_DYN_DBG_BRK_IMM`] 0x400 / 0x401), UBSAN (0x5500)
//! and CFI (0x8000 + ...). Swallowing or skipping those would change the
//! guest's behaviour (a WARN would no longer print; a kprobe would not fire),
//! and returning to the BRK unchanged would trap forever (the 2015 review's
//! question). So we deliver the exception as the hardware would have, per
//! `AArch64.TakeException()` ([`decode::exception::take_exception_to_el1`]):
//! ESR_EL1 = the syndrome, ELR_EL1 = the preferred return address, SPSR_EL1 =
//! the old PSTATE, PSTATE = EL1h with DAIF masked, PC = VBAR_EL1 + the vector
//! offset for current/lower EL, SP0/SPx, AArch64/AArch32.
//!
//! The same holds for a hardware breakpoint, step or watchpoint exit that we
//! did not ask for. KVM reports those with the "lower EL" EC (the guest runs
//! below EL2); seen from the guest's EL1 the exception comes from the current
//! EL when the guest was at EL1, so the EC is adjusted (0x30 -> 0x31,
//! 0x32 -> 0x33, 0x34 -> 0x35). BRK's EC 0x3c has no such pair. An AArch32
//! EL0 task's BKPT (EC 0x38) is never ours and goes back the same way.

use decode::exception::{take_exception_to_el1, CpuState, ExceptionEntry, VectorKind};

use decode::esr::ec;

/// ESR.EC of a BRK instruction in AArch64 state (Arm ARM D24.2.40), from the decoder's table.
pub const EC_BRK64: u8 = ec::BRK64;
/// ESR.EC: BKPT instruction execution in AArch32 state (only from EL0 under an AArch64 EL1).
pub const EC_BKPT32: u8 = ec::BKPT32;
/// ESR.EC: Breakpoint exception from a lower EL.
pub const EC_HW_BP_LOWER: u8 = ec::BREAKPT_LOW;
/// ESR.EC: Breakpoint exception taken without a change in EL.
pub const EC_HW_BP_CURRENT: u8 = ec::BREAKPT_CUR;
/// ESR.EC: Software Step exception from a lower EL.
pub const EC_STEP_LOWER: u8 = ec::SOFTSTP_LOW;
/// ESR.EC: Software Step exception taken without a change in EL.
pub const EC_STEP_CURRENT: u8 = ec::SOFTSTP_CUR;
/// ESR.EC: Watchpoint exception from a lower EL.
pub const EC_WATCH_LOWER: u8 = ec::WATCHPT_LOW;
/// ESR.EC: Watchpoint exception taken without a change in EL.
pub const EC_WATCH_CURRENT: u8 = ec::WATCHPT_CUR;
/// ESR.EC field shift.
const EC_SHIFT: u8 = decode::esr::EC_LO;
/// ESR.EC field mask (6 bits).
const EC_MASK: u64 = 0x3f;
/// ESR.IL, bit 25: a 32-bit instruction.
pub const ESR_IL: u64 = 1 << 25;
/// PSTATE.EL field, bits 3:2.
const PSTATE_EL_SHIFT: u32 = 2;

/// The guest's view of what to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuestDelivery {
    /// The register values after entry.
    pub entry: ExceptionEntry,
    /// FAR_EL1 to write (watchpoints only).
    pub far: Option<u64>,
}

/// Plans the delivery of a debug exception KVM gave us (syndrome `esr`,
/// guest `pstate` and `pc` at the exit) to the guest's EL1 vectors.
///
/// `pc` is the preferred return address in every case: the BRK or the
/// breakpointed/watchpointed instruction itself, or for a step the next
/// instruction to be stepped.
pub fn plan(
    esr: u64,
    pstate: u64,
    pc: u64,
    far: u64,
    vbar_el1: u64,
    sctlr_el1: u64,
) -> Result<GuestDelivery, decode::Error> {
    let ec = decode::esr::ec_of(esr);
    let from_el1 =
        pstate & decode::exception::PSTATE_NRW == 0 && (pstate >> PSTATE_EL_SHIFT) & 3 == 1;
    let new_ec = match ec {
        EC_HW_BP_LOWER | EC_STEP_LOWER | EC_WATCH_LOWER if from_el1 => ec + 1,
        _ => ec,
    };
    let esr_el1 = (esr & !(EC_MASK << EC_SHIFT)) | ((new_ec as u64) << EC_SHIFT);
    let entry = take_exception_to_el1(
        CpuState { pstate, pc },
        esr_el1,
        vbar_el1,
        VectorKind::Synchronous,
        sctlr_el1,
    )?;
    let far = matches!(new_ec, EC_WATCH_LOWER | EC_WATCH_CURRENT).then_some(far);
    Ok(GuestDelivery { entry, far })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::aarch64::ENTRY_PSTATE;

    const VBAR: u64 = 0x4000_0800;

    #[test]
    fn guest_brk_0x123_goes_to_current_el_spx_sync_vector() {
        let d = plan(0xf200_0123, ENTRY_PSTATE, 0x4000_1008, 0, VBAR, 0).unwrap();
        assert_eq!(d.entry.esr_el1, 0xf200_0123, "EC 0x3c, IL=1, comment 0x123");
        assert_eq!(d.entry.elr_el1, 0x4000_1008);
        assert_eq!(d.entry.spsr_el1, ENTRY_PSTATE);
        assert_eq!(d.entry.pc, VBAR + 0x200);
        assert_eq!(d.entry.pstate & 0xf, 0b0101, "EL1h");
        assert_eq!(d.far, None);
    }

    #[test]
    fn from_el0_uses_the_lower_el_vector() {
        let d = plan(0xf200_0800, 0, 0x1000, 0, VBAR, 0).unwrap();
        assert_eq!(d.entry.pc, VBAR + 0x400);
        assert_eq!(d.entry.esr_el1 >> 26, 0x3c);
    }

    #[test]
    fn aarch32_el0_bkpt_goes_to_the_lower_el_aarch32_vector_unchanged() {
        use decode::exception::{PSTATE_NRW, VECTOR_LOWER_A32};
        // BKPT #0x12 in A32 (EC 0x38, IL=1, comment 0x12) from AArch32 User mode.
        let esr = (u64::from(EC_BKPT32) << 26) | ESR_IL | 0x12;
        let d = plan(esr, PSTATE_NRW, 0x8000, 0, VBAR, 0).unwrap();
        assert_eq!(d.entry.pc, VBAR + VECTOR_LOWER_A32);
        assert_eq!(d.entry.esr_el1, esr);
        assert_eq!(d.entry.elr_el1, 0x8000);
        assert_eq!(d.far, None);
    }

    #[test]
    fn el1t_uses_the_sp0_vector() {
        let d = plan(0xf200_0004, 0b0100, 0x1000, 0, VBAR, 0).unwrap();
        assert_eq!(d.entry.pc, VBAR);
    }

    #[test]
    fn hw_exits_get_the_current_el_ec_from_el1_and_far_for_watchpoints() {
        // KVM's watchpoint syndrome (EC 0x34, WnR=1) at EL1.
        let esr = (0x34u64 << 26) | ESR_IL | (1 << 6) | 0x22;
        let d = plan(esr, ENTRY_PSTATE, 0x4000_0010, 0x4000_2000, VBAR, 0).unwrap();
        assert_eq!(d.entry.esr_el1 >> 26, 0x35);
        assert_eq!(d.entry.esr_el1 & 0x1ff_ffff, esr & 0x1ff_ffff, "ISS kept");
        assert_eq!(d.far, Some(0x4000_2000));
        // The same from EL0 keeps the lower-EL class.
        let d = plan(esr, 0, 0x10, 0x20, VBAR, 0).unwrap();
        assert_eq!(d.entry.esr_el1 >> 26, 0x34);
        let step = plan(0xcb00_0022, ENTRY_PSTATE, 0x4000_0004, 0, VBAR, 0).unwrap();
        assert_eq!(step.entry.esr_el1 >> 26, 0x33);
        assert_eq!(step.far, None);
    }
}
