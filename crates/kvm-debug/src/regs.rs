//! One vCPU's registers as the debugger sees them: the vCPU's state behind
//! its lock, register reads and writes by KVM id, the step-time IRQ masking
//! (while a masked single-step is in flight, PSTATE shows and takes the
//! guest's own I/F bits, see [`crate::step`]), the pending-MMIO rule, and
//! what the run loop knows without asking KVM.

use crate::arch::aarch64::{
    current_sp, Reg, RegSize, REG_PSTATE, REG_SCTLR_EL1, REG_SP_CURRENT, REG_TCR_EL1,
    REG_TTBR0_EL1, REG_TTBR1_EL1,
};
use crate::error::{Error, Result};
use crate::run::Kicker;
use crate::step::StepMask;
use crate::vcpu::{HwVcpu, RawExit};
use decode::walk::Stage1Regs;

/// A vCPU's state; the run loop holds its lock for the whole run.
pub(crate) struct VcpuState {
    pub(crate) hw: HwVcpu,
    /// The vCPU index.
    pub(crate) index: u32,
    /// The last exit was MMIO and KVM has not completed it yet.
    pub(crate) pending_mmio: bool,
    /// The (control word, debug-register generation) last given to KVM_SET_GUEST_DEBUG.
    pub(crate) applied: (u32, u64),
    pub(crate) step_mask: Option<StepMask>,
    pub(crate) reinjections: u64,
    pub(crate) known: Known,
    /// The last debug exit's (ESR, `decode::summary`): a step loop sees one syndrome
    /// over and over, and building the summary (a whole decode tree) costs ~5 us
    /// per exit in the emulated lane.
    last_summary: Option<(u64, String)>,
}

/// What the run loop knows about the vCPU without asking KVM: every question
/// is an ioctl (KVM_GET_ONE_REG costs ~50 us in the emulated lane, as much
/// as a fifth of a step). Valid only across our own single-steps; any
/// register write, reset, MMIO completion, re-injection or other exit clears it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Known {
    /// PC after the last step exit.
    pub(crate) pc: Option<u64>,
    /// Stage-1 registers (cleared when a stepped MSR may have changed them).
    pub(crate) stage1: Option<Stage1Regs>,
    /// The guest's PSTATE.I and F were both set, and nothing stepped since could clear them.
    pub(crate) if_masked: bool,
}

impl Reg {
    /// A 64-bit register by KVM id.
    pub(crate) fn u64(id: u64) -> Reg {
        Reg {
            id,
            size: RegSize::U64,
        }
    }
}

impl VcpuState {
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    pub(crate) fn new(hw: HwVcpu, index: u32) -> Self {
        VcpuState {
            hw,
            index,
            pending_mmio: false,
            applied: (0, 0),
            step_mask: None,
            reinjections: 0,
            known: Known::default(),
            last_summary: None,
        }
    }

    /// `decode::summary(esr)`, reused while the syndrome repeats (a pure function of it).
    pub(crate) fn summary(&mut self, esr: u64) -> String {
        match &self.last_summary {
            Some((e, s)) if *e == esr => s.clone(),
            _ => {
                let s = decode::summary(esr);
                self.last_summary = Some((esr, s.clone()));
                s
            }
        }
    }

    pub(crate) fn get64(&self, id: u64) -> Result<u64> {
        Ok(self.hw.get(Reg::u64(id))? as u64)
    }

    pub(crate) fn set64(&mut self, id: u64, v: u64) -> Result<()> {
        self.known = Known::default();
        self.hw.set(Reg::u64(id), v as u128)
    }

    /// A register as the guest sees it: `sp` is the current SP, and PSTATE
    /// shows the guest's own I/F bits during a masked step.
    pub(crate) fn get(&self, reg: Reg) -> Result<u128> {
        match reg.id {
            REG_SP_CURRENT => {
                let p = self.get64(REG_PSTATE)?;
                self.hw.get(Reg::u64(current_sp(p)))
            }
            REG_PSTATE => {
                let p = self.get64(REG_PSTATE)?;
                Ok(match &self.step_mask {
                    Some(m) => m.guest_view(p),
                    None => p,
                } as u128)
            }
            _ => self.hw.get(reg),
        }
    }

    /// Writes a register; a PSTATE written during a masked step keeps the mask
    /// and sets the I/F bits the step will restore.
    pub(crate) fn set(&mut self, reg: Reg, v: u128) -> Result<()> {
        self.known = Known::default();
        match reg.id {
            REG_SP_CURRENT => {
                let p = self.get64(REG_PSTATE)?;
                self.hw.set(Reg::u64(current_sp(p)), v)
            }
            REG_PSTATE => {
                let v = match &mut self.step_mask {
                    Some(m) => m.guest_wrote(v as u64),
                    None => v as u64,
                };
                self.set64(REG_PSTATE, v)
            }
            _ => self.hw.set(reg, v),
        }
    }

    /// The pending-MMIO rule: KVM completes an MMIO access (writes the load
    /// data, advances PC) at the start of the next KVM_RUN. A register write
    /// before that would be overtaken (the new PC advanced by 4). So: one
    /// KVM_RUN with immediate_exit=1 completes it and returns EINTR at once.
    pub(crate) fn complete_pending_mmio(&mut self, kicker: &Kicker) -> Result<()> {
        if !self.pending_mmio {
            return Ok(());
        }
        self.known = Known::default();
        kicker.set_immediate_exit(1);
        let r = self.hw.run();
        kicker.set_immediate_exit(0);
        self.pending_mmio = false;
        match r? {
            RawExit::Interrupted => Ok(()),
            other => Err(Error::MmioCompletion {
                vcpu: self.index,
                got: format!("{other:?}"),
            }),
        }
    }

    /// The registers of a stage-1 walk.
    /// The stage-1 registers, read once (four KVM_GET_ONE_REG, ~50 us each in the
    /// emulated lane) and then kept in [`Known`] until something can change them: every
    /// debugger read by VA (each gdb `m`) would pay for them otherwise.
    pub(crate) fn stage1_known(&mut self) -> Result<Stage1Regs> {
        if let Some(r) = self.known.stage1 {
            return Ok(r);
        }
        let r = self.stage1()?;
        self.known.stage1 = Some(r);
        Ok(r)
    }

    pub(crate) fn stage1(&self) -> Result<Stage1Regs> {
        Ok(Stage1Regs {
            sctlr_el1: self.get64(REG_SCTLR_EL1)?,
            tcr_el1: self.get64(REG_TCR_EL1)?,
            ttbr0_el1: self.get64(REG_TTBR0_EL1)?,
            ttbr1_el1: self.get64(REG_TTBR1_EL1)?,
        })
    }
}
