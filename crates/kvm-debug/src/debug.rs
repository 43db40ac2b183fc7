//! The guest-debug state of one VM, with one owner.
//!
//! Everything the guest's debug registers and memory hold for us lives here:
//! our software breakpoints (the BRKs in RAM and the bytes under them,
//! [`SwBreakpoints`]), the hardware breakpoints and watchpoints (shared by
//! every vCPU, within the slot counts KVM reports), and whether debugging is
//! on at all. The `KVM_SET_GUEST_DEBUG` control word and debug registers of
//! a run are computed here, once ([`DebugState::control`], [`DebugState::regs`]).
//!
//! Control bits: `include/uapi/linux/kvm.h` (ENABLE, SINGLESTEP) and
//! `arch/arm64/include/uapi/asm/kvm.h` (USE_SW_BP, USE_HW), from kvm-bindings.

use crate::error::{Error, Result};
use crate::hwdebug::{self, WatchKind, KVM_ARM_MAX_DBG_REGS};
use crate::swbp::SwBreakpoints;
use crate::vcpu::HwDebugRegs;
use kvm_bindings::{KVM_GUESTDBG_ENABLE, KVM_GUESTDBG_SINGLESTEP, KVM_GUESTDBG_USE_SW_BP};

/// `KVM_GUESTDBG_USE_HW` (arm64 uapi, bit 17): load the dbg_* registers.
#[cfg(target_arch = "aarch64")]
use kvm_bindings::KVM_GUESTDBG_USE_HW;
/// x86's name for the same bit (bit 17), so the control word is unit-tested on x86_64 hosts.
#[cfg(not(target_arch = "aarch64"))]
use kvm_bindings::KVM_GUESTDBG_USE_HW_BP as KVM_GUESTDBG_USE_HW;

/// A hardware watchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchpoint {
    /// Virtual address of the first byte watched.
    pub addr: u64,
    /// Bytes watched.
    pub len: u64,
    /// What it fires on.
    pub kind: WatchKind,
}

impl Watchpoint {
    fn contains(&self, far: u64) -> bool {
        far.wrapping_sub(self.addr) < self.len
    }

    /// Distance from `far` to the watched bytes (0 inside).
    fn distance(&self, far: u64) -> u64 {
        if far < self.addr {
            self.addr - far
        } else {
            far.saturating_sub(self.addr + self.len - 1)
        }
    }
}

/// The guest-debug state of a VM.
#[derive(Debug)]
pub struct DebugState {
    /// Why debugging is off (None: on).
    off: Option<String>,
    /// Our BRKs in guest RAM.
    pub(crate) sw: SwBreakpoints,
    hw: Vec<u64>,
    watch: Vec<Watchpoint>,
    hw_slots: usize,
    watch_slots: usize,
    /// `hw` and `watch` encoded for KVM.
    regs: HwDebugRegs,
    /// Bumped at every change of `hw`/`watch`: a vCPU re-applies when its copy is older.
    generation: u64,
}

impl DebugState {
    /// Debug state for a VM with these slot counts (KVM_CAP_GUEST_DEBUG_HW_BPS
    /// / _WPS, at most 16 each); `off` says why debugging is unavailable.
    pub fn new(hw_slots: u32, watch_slots: u32, off: Option<String>) -> Self {
        DebugState {
            off,
            sw: SwBreakpoints::default(),
            hw: Vec::new(),
            watch: Vec::new(),
            hw_slots: (hw_slots as usize).min(KVM_ARM_MAX_DBG_REGS),
            watch_slots: (watch_slots as usize).min(KVM_ARM_MAX_DBG_REGS),
            regs: HwDebugRegs::default(),
            generation: 0,
        }
    }

    /// Ok while debugging is on; else [`Error::DebugOff`] with the reason.
    pub fn check_on(&self) -> Result<()> {
        match &self.off {
            None => Ok(()),
            Some(reason) => Err(Error::DebugOff {
                reason: reason.clone(),
            }),
        }
    }

    /// Turns debugging off for good, with the reason every later request gets.
    /// The caller removes what is installed.
    pub fn turn_off(&mut self, reason: impl Into<String>) {
        self.off.get_or_insert_with(|| reason.into());
    }

    /// Adds a hardware breakpoint at virtual `va` (every vCPU, next run).
    pub fn insert_hw(&mut self, va: u64) -> Result<()> {
        self.check_on()?;
        if self.hw.contains(&va) {
            return Err(Error::AlreadySet {
                what: "hardware breakpoint",
                addr: va,
            });
        }
        if self.hw.len() >= self.hw_slots {
            return Err(Error::HwSlots {
                what: "breakpoint",
                addr: va,
                slots: self.hw_slots,
            });
        }
        hwdebug::breakpoint(va, false)?;
        self.hw.push(va);
        self.encode()
    }

    /// Removes the hardware breakpoint at `va`.
    pub fn remove_hw(&mut self, va: u64) -> Result<()> {
        let i = self
            .hw
            .iter()
            .position(|&a| a == va)
            .ok_or(Error::NoBreakpoint {
                what: "hardware breakpoint",
                addr: va,
            })?;
        self.hw.remove(i);
        self.encode()
    }

    /// Adds a watchpoint (every vCPU, next run). Ranges the DBGWCR encoding
    /// cannot express are refused with `ERR_HW_DEBUG`.
    pub fn insert_watch(&mut self, w: Watchpoint) -> Result<()> {
        self.check_on()?;
        if self.watch.contains(&w) {
            return Err(Error::AlreadySet {
                what: "watchpoint",
                addr: w.addr,
            });
        }
        if self.watch.len() >= self.watch_slots {
            return Err(Error::HwSlots {
                what: "watchpoint",
                addr: w.addr,
                slots: self.watch_slots,
            });
        }
        hwdebug::watchpoint(w.addr, w.len, w.kind, false)?;
        self.watch.push(w);
        self.encode()
    }

    /// Removes a watchpoint (same address, length and kind).
    pub fn remove_watch(&mut self, w: Watchpoint) -> Result<()> {
        let i = self
            .watch
            .iter()
            .position(|x| *x == w)
            .ok_or(Error::NoBreakpoint {
                what: "watchpoint",
                addr: w.addr,
            })?;
        self.watch.remove(i);
        self.encode()
    }

    /// Hardware breakpoints, in insertion order.
    pub fn hw_breakpoints(&self) -> &[u64] {
        &self.hw
    }

    /// Watchpoints, in insertion order.
    pub fn watchpoints(&self) -> &[Watchpoint] {
        &self.watch
    }

    /// The watchpoint a hit at `far` belongs to: the one containing it, else
    /// the nearest (FAR can lie outside the watched bytes for an access that
    /// only overlaps them, or DC ZVA: Arm ARM D2.10.5 "Watchpoint exceptions";
    /// Linux's `watchpoint_handler` takes the nearest one the same way).
    pub fn watch_hit(&self, far: u64) -> Option<Watchpoint> {
        self.watch
            .iter()
            .find(|w| w.contains(far))
            .or_else(|| self.watch.iter().min_by_key(|w| w.distance(far)))
            .copied()
    }

    /// Forgets every hardware breakpoint and watchpoint.
    pub fn clear_hw(&mut self) {
        self.hw.clear();
        self.watch.clear();
        self.regs = HwDebugRegs::default();
        self.generation += 1;
    }

    /// The control word for a run: ENABLE plus SINGLESTEP when `step`, USE_HW
    /// while hardware breakpoints or watchpoints exist, USE_SW_BP while BRKs
    /// of ours are in RAM; 0 (debugging off for the vCPU) when none applies.
    pub fn control(&self, step: bool) -> u32 {
        if self.off.is_some() {
            return 0;
        }
        let mut c = 0;
        if step {
            c |= KVM_GUESTDBG_SINGLESTEP;
        }
        if !self.hw.is_empty() || !self.watch.is_empty() {
            c |= KVM_GUESTDBG_USE_HW;
        }
        if !self.sw.is_empty() {
            c |= KVM_GUESTDBG_USE_SW_BP;
        }
        if c != 0 {
            c |= KVM_GUESTDBG_ENABLE;
        }
        c
    }

    /// The control word the capability probe tries once (ENABLE|SINGLESTEP|USE_SW_BP):
    /// what every debugging session needs.
    pub fn probe_control() -> u32 {
        KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP
    }

    /// The debug registers of the hardware breakpoints and watchpoints.
    pub fn regs(&self) -> &HwDebugRegs {
        &self.regs
    }

    /// Changes with every change of [`Self::regs`].
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn encode(&mut self) -> Result<()> {
        let mut r = HwDebugRegs::default();
        for (i, &a) in self.hw.iter().enumerate() {
            let b = hwdebug::breakpoint(a, false)?;
            r.bcr[i] = b.bcr;
            r.bvr[i] = b.bvr;
        }
        for (i, w) in self.watch.iter().enumerate() {
            let e = hwdebug::watchpoint(w.addr, w.len, w.kind, false)?;
            r.wcr[i] = e.wcr;
            r.wvr[i] = e.wvr;
        }
        self.regs = r;
        self.generation += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> DebugState {
        DebugState::new(2, 1, None)
    }

    #[test]
    fn hardware_slots_are_refused_with_the_count() {
        let mut d = state();
        d.insert_hw(0x4000_0000).unwrap();
        d.insert_hw(0x4000_0004).unwrap();
        let e = d.insert_hw(0x4000_0008).unwrap_err();
        assert_eq!(e.code(), "ERR_HW_SLOTS");
        assert!(e.to_string().contains("all 2"), "{e}");
        assert!(e.to_string().contains("0x40000008"), "{e}");
        let w = Watchpoint {
            addr: 0x5000,
            len: 8,
            kind: WatchKind::Store,
        };
        d.insert_watch(w).unwrap();
        let e = d
            .insert_watch(Watchpoint { addr: 0x6000, ..w })
            .unwrap_err();
        assert_eq!(e.code(), "ERR_HW_SLOTS");
        assert!(e.to_string().contains("all 1 hardware watchpoint"), "{e}");
        assert_eq!(d.insert_watch(w).unwrap_err().code(), "ERR_ALREADY_SET");
        d.remove_hw(0x4000_0000).unwrap();
        d.insert_hw(0x4000_0008).unwrap();
        assert_eq!(d.hw_breakpoints(), &[0x4000_0004, 0x4000_0008]);
        assert_eq!(
            d.remove_hw(0x4000_0000).unwrap_err().code(),
            "ERR_NO_BREAKPOINT"
        );
    }

    #[test]
    fn registers_and_control_follow_the_state() {
        let mut d = state();
        assert_eq!(d.control(false), 0);
        assert_eq!(
            d.control(true),
            KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP
        );
        let g = d.generation();
        d.insert_hw(0x4000_0010).unwrap();
        assert_ne!(d.generation(), g);
        assert_eq!(d.regs().bvr[0], 0x4000_0010);
        assert_ne!(d.regs().bcr[0] & hwdebug::DBGXCR_E, 0);
        assert_eq!(d.control(false), KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW);
        d.remove_hw(0x4000_0010).unwrap();
        assert_eq!(d.regs(), &HwDebugRegs::default());
        assert_eq!(d.control(false), 0);
    }

    #[test]
    fn off_refuses_with_the_reason_and_clears_the_control_word() {
        let mut d = state();
        d.insert_hw(0x4000_0000).unwrap();
        d.turn_off("the debugger detached");
        let e = d.insert_hw(0x4000_0004).unwrap_err();
        assert_eq!(e.code(), "ERR_DEBUG_OFF");
        assert!(e.to_string().contains("the debugger detached"), "{e}");
        assert_eq!(d.control(true), 0);
    }

    #[test]
    fn unencodable_watchpoints_are_refused() {
        let mut d = state();
        let e = d
            .insert_watch(Watchpoint {
                addr: 0x5003,
                len: 8,
                kind: WatchKind::Load,
            })
            .unwrap_err();
        assert_eq!(e.code(), "ERR_HW_DEBUG");
        assert!(d.watchpoints().is_empty());
    }

    #[test]
    fn a_watch_hit_names_the_containing_or_the_nearest_watchpoint() {
        let mut d = DebugState::new(2, 2, None);
        let a = Watchpoint {
            addr: 0x1000,
            len: 8,
            kind: WatchKind::Store,
        };
        let b = Watchpoint {
            addr: 0x2000,
            len: 4,
            kind: WatchKind::Load,
        };
        d.insert_watch(a).unwrap();
        d.insert_watch(b).unwrap();
        assert_eq!(d.watch_hit(0x2002), Some(b));
        assert_eq!(d.watch_hit(0x0ff8), Some(a));
        assert_eq!(d.watch_hit(0x1ff0), Some(b));
    }
}
