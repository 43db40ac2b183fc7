//! The run loop: one vCPU's KVM_RUN loop, the classification of its exits
//! (ours, the guest's to re-inject, or an exit for the caller), its typed
//! exits, and the race-free "stop a running vCPU" kick.
//!
//! Classifying a debug exit ([`Shared::cause`]): a BRK is ours when its
//! address holds one of our software breakpoints; a hardware breakpoint,
//! watchpoint or step exit is ours while we have one set (or asked for the
//! step). Anything else that is a guest's own debug exception (its BRK,
//! an AArch32 BKPT) is re-injected into its EL1 vector ([`crate::reinject`]);
//! any other syndrome is reported as [`DebugCause::Other`], never ignored.
//!
//! Stopping: another thread sets the vCPU's stop flag, stores 1 into
//! `kvm_run.immediate_exit`, then sends [`kick_signal`] to the thread inside
//! KVM_RUN. If the vCPU thread is between its flag check and the ioctl, KVM
//! sees immediate_exit=1 and returns EINTR at once; if it is in the guest, the
//! signal forces the exit (KVM checks pending signals on every guest entry).
//! Either way KVM_RUN returns EINTR and the loop reports [`VmExit::Interrupted`].
//! The handler itself does nothing: its only job is to make the signal
//! non-fatal and to interrupt the ioctl.

use crate::arch::aarch64::{
    self as a64, PSTATE_F, PSTATE_I, REG_PC, REG_PSTATE, REG_SCTLR_EL1, REG_VBAR_EL1,
};
use crate::debug::Watchpoint;
use crate::error::Result;
use crate::regs::{Known, VcpuState};
use crate::step::{self, StepMask};
use crate::vcpu::RawExit;
use crate::vm::{lock, Shared, VcpuSlot};
use decode::walk;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Once;

/// What ended a debug exit, as seen by the run loop. Its [`name`](Self::name)
/// is the stop reason's name all the way to gdb's stop reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCause {
    /// A BRK at one of our software breakpoints (EC 0x3c).
    SwBreak,
    /// A single-step we asked for (EC 0x32/0x33).
    Step,
    /// A hardware breakpoint we set (EC 0x30/0x31).
    HwBreak,
    /// A watchpoint we set (EC 0x34/0x35).
    Watch,
    /// Any other debug syndrome (reported, not re-injected).
    Other,
}

impl DebugCause {
    /// Stable name, as gdb's stop reply spells the reason (gdb docs "Stop
    /// Reply Packets"): "swbreak", "hwbreak", "watch", "step", "other".
    pub fn name(self) -> &'static str {
        match self {
            DebugCause::SwBreak => "swbreak",
            DebugCause::Step => "step",
            DebugCause::HwBreak => "hwbreak",
            DebugCause::Watch => "watch",
            DebugCause::Other => "other",
        }
    }
}

/// A KVM_EXIT_DEBUG that is ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugExit {
    /// The 64-bit ESR_EL2 (bits 63:32 only when `hsr_high_valid`).
    pub esr: u64,
    /// Whether KVM set KVM_DEBUG_ARCH_HSR_HIGH_VALID.
    pub hsr_high_valid: bool,
    /// ESR.EC.
    pub ec: u8,
    /// `decode::summary(esr)`.
    pub summary: String,
    /// The guest PC (for a BRK, the BRK's address; for a step, the next instruction).
    pub pc: u64,
    /// FAR: the accessed address, for watchpoints only.
    pub far: Option<u64>,
    /// The watchpoint that fired (the one holding FAR, else the nearest), for watchpoints only.
    pub watch: Option<Watchpoint>,
    /// Why we stopped.
    pub cause: DebugCause,
}

/// A guest exception that was not ours and went back to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reinjection {
    /// The syndrome written to ESR_EL1.
    pub esr: u64,
    /// The address of the instruction (ELR_EL1).
    pub elr: u64,
    /// The guest vector the PC was set to.
    pub vector: u64,
}

/// KVM_SYSTEM_EVENT_* types (include/uapi/linux/kvm.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemEventKind {
    /// KVM_SYSTEM_EVENT_SHUTDOWN (1): PSCI SYSTEM_OFF.
    Shutdown,
    /// KVM_SYSTEM_EVENT_RESET (2): PSCI SYSTEM_RESET.
    Reset,
    /// KVM_SYSTEM_EVENT_CRASH (3).
    Crash,
    /// Any other type, by number.
    Other(u32),
}

impl SystemEventKind {
    /// From the raw type.
    pub fn from_raw(t: u32) -> Self {
        match t {
            1 => SystemEventKind::Shutdown,
            2 => SystemEventKind::Reset,
            3 => SystemEventKind::Crash,
            n => SystemEventKind::Other(n),
        }
    }
    /// Stable name: "shutdown", "reset", "crash", "other".
    pub fn name(self) -> &'static str {
        match self {
            SystemEventKind::Shutdown => "shutdown",
            SystemEventKind::Reset => "reset",
            SystemEventKind::Crash => "crash",
            SystemEventKind::Other(_) => "other",
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmExit {
    /// A debug exit of ours.
    Debug(DebugExit),
    /// An MMIO access outside RAM. For a load, give the data with
    /// `Vm::set_mmio_read_data` before the next run (0 otherwise).
    Mmio {
        /// Guest-physical address.
        addr: u64,
        /// Access size in bytes.
        len: u32,
        /// Store (true) or load.
        is_write: bool,
        /// Store data, little-endian in the low `len` bytes (0 for loads).
        data: u64,
        /// PC of the access instruction (not yet completed).
        pc: u64,
    },
    /// KVM_EXIT_SYSTEM_EVENT (PSCI SYSTEM_OFF -> shutdown, SYSTEM_RESET -> reset).
    SystemEvent {
        /// The event.
        kind: SystemEventKind,
        /// Its data words.
        data: Vec<u64>,
    },
    /// KVM_EXIT_INTERNAL_ERROR.
    InternalError {
        /// The suberror.
        suberror: u32,
    },
    /// KVM_EXIT_FAIL_ENTRY.
    FailEntry {
        /// hardware_entry_failure_reason.
        reason: u64,
        /// The physical CPU.
        cpu: u32,
    },
    /// stop() interrupted the run.
    Interrupted,
    /// A re-injection, reported because `RunOptions::report_reinjections` was set.
    Reinjected(Reinjection),
    /// An exit reason this crate does not know, with its number.
    Unknown {
        /// `kvm_run.exit_reason`.
        reason: u32,
    },
}

/// Options of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Single-step: the run ends after one instruction (KVM_GUESTDBG_SINGLESTEP),
    /// with PSTATE.I/F masked for the step ([`crate::step`]). Refused with
    /// `ERR_DEBUG_OFF` when guest debugging is off.
    pub single_step: bool,
    /// Report each re-injected guest exception as a [`VmExit::Reinjected`]
    /// (the guest state is already at its vector). Default: continue transparently.
    pub report_reinjections: bool,
}

/// The signal that kicks a vCPU thread out of KVM_RUN: SIGRTMIN()+1.
/// SIGRTMIN() already skips glibc's internal real-time signals; +1 leaves
/// SIGRTMIN itself to embedders that assume it is free.
pub fn kick_signal() -> i32 {
    vmm_sys_util::signal::SIGRTMIN() + 1
}

extern "C" fn on_kick(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {}

thread_local! {
    /// This thread already unblocked [`kick_signal`].
    static KICK_UNBLOCKED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the no-op handler for [`kick_signal`] once per process, and
/// unblocks it in the calling thread (threads inherit a blocked mask) once
/// per thread: `Vm::run` calls this on every run, and the rt_sigprocmask
/// syscall is not free on a nested (emulated EL2) host. A thread that blocks
/// [`kick_signal`] again itself after its first run loses stop()'s signal
/// (immediate_exit still stops it at its next entry).
pub fn prepare_thread_for_kicks() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // A failure leaves the default action (terminate) in place; stop() then
        // relies on immediate_exit alone, so report it loudly.
        if let Err(e) = vmm_sys_util::signal::register_signal_handler(kick_signal(), on_kick) {
            eprintln!("kvm-debug: cannot install the vCPU kick handler: {e}");
        }
    });
    if KICK_UNBLOCKED.get() {
        return;
    }
    // SAFETY: sigset operations on a local set; pthread_sigmask changes only this thread's mask.
    let rc = unsafe {
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, kick_signal());
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut())
    };
    // Only a success is remembered: a failed call is retried on the next run.
    KICK_UNBLOCKED.set(rc == 0);
}

/// The shared, lock-free part of a vCPU that stop() uses.
#[derive(Debug)]
pub struct Kicker {
    /// Set by stop(), consumed by the run loop.
    pub stop: AtomicBool,
    /// A run was requested and has not returned yet.
    pub running: AtomicBool,
    /// pthread_t of the thread inside the run loop (0 = none).
    pub thread: AtomicU64,
    /// `&kvm_run.immediate_exit` (null when there is no vCPU fd).
    immediate_exit: *mut u8,
}

// SAFETY: `immediate_exit` is only accessed through AtomicU8::from_ptr; the
// mapping it points to outlives the Kicker (both are owned by the VM's vCPU slot).
unsafe impl Send for Kicker {}
// SAFETY: as above.
unsafe impl Sync for Kicker {}

impl Kicker {
    /// A kicker for a vCPU whose `kvm_run.immediate_exit` is at `immediate_exit`.
    pub fn new(immediate_exit: *mut u8) -> Self {
        Kicker {
            stop: AtomicBool::new(false),
            running: AtomicBool::new(false),
            thread: AtomicU64::new(0),
            immediate_exit,
        }
    }

    /// Sets `kvm_run.immediate_exit`.
    pub fn set_immediate_exit(&self, v: u8) {
        if self.immediate_exit.is_null() {
            return;
        }
        // SAFETY: points into the live kvm_run mapping; every Rust access to this byte is atomic.
        unsafe { AtomicU8::from_ptr(self.immediate_exit) }.store(v, Ordering::SeqCst);
    }

    /// Requests a stop; a no-op when no run is in progress.
    pub fn kick(&self) {
        if !self.running.load(Ordering::SeqCst) {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        self.set_immediate_exit(1);
        let t = self.thread.load(Ordering::SeqCst);
        if t != 0 {
            // SAFETY: `t` is the pthread_t of the live run-loop thread (cleared before it leaves
            // the loop); a stale id is impossible while `running` is set by that run.
            unsafe { libc::pthread_kill(t as libc::pthread_t, kick_signal()) };
        }
    }
}

impl Shared {
    /// Marks the vCPU running (refusing a second run, or a step while
    /// debugging is off): synchronous, before any thread is involved.
    pub(crate) fn begin_run(&self, vcpu: u32, opts: RunOptions) -> Result<()> {
        let slot = self.slot(vcpu)?;
        if opts.single_step {
            lock(&self.debug).check_on()?;
        }
        if slot.kicker.running.swap(true, Ordering::SeqCst) {
            return Err(crate::Error::VcpuRunning { vcpu });
        }
        slot.kicker.stop.store(false, Ordering::SeqCst);
        slot.kicker.set_immediate_exit(0);
        Ok(())
    }

    /// One run of `vcpu` on the calling thread, after [`Self::begin_run`].
    pub(crate) fn run_loop(&self, vcpu: u32, opts: RunOptions) -> Result<VmExit> {
        let slot = &self.vcpus[vcpu as usize];
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as u64;
        slot.kicker.thread.store(me, Ordering::SeqCst);
        let r = {
            let mut st = lock(&slot.state);
            self.run_locked(slot, &mut st, opts)
        };
        slot.kicker.thread.store(0, Ordering::SeqCst);
        slot.kicker.running.store(false, Ordering::SeqCst);
        r
    }

    /// Gives KVM this run's control word and debug registers when they changed.
    /// Both 0 before and after: nothing to say (and a kernel without
    /// KVM_CAP_SET_GUEST_DEBUG is never asked).
    fn apply_guest_debug(&self, st: &mut VcpuState, step: bool) -> Result<()> {
        let d = lock(&self.debug);
        let want = (d.control(step), d.generation());
        if want != st.applied {
            if want.0 != 0 || st.applied.0 != 0 {
                st.hw.set_guest_debug(want.0, d.regs())?;
            }
            st.applied = want;
        }
        Ok(())
    }

    fn run_locked(&self, slot: &VcpuSlot, st: &mut VcpuState, opts: RunOptions) -> Result<VmExit> {
        loop {
            if slot.kicker.stop.swap(false, Ordering::SeqCst) {
                self.finish_step(st)?;
                return Ok(VmExit::Interrupted);
            }
            self.apply_guest_debug(st, opts.single_step)?;
            let mut stepped: Option<u32> = None;
            if !opts.single_step {
                st.known = Known::default();
            } else if st.step_mask.is_none() {
                // Fast path: I and F known to be masked by the guest itself and the
                // next instruction cannot unmask them: nothing to do, no ioctl.
                stepped = self.known_insn(st);
                let fast = st.known.if_masked && stepped.is_some_and(|i| !step::may_unmask(i));
                if !fast {
                    let p = st.get64(REG_PSTATE)?;
                    if p & (PSTATE_I | PSTATE_F) == PSTATE_I | PSTATE_F {
                        st.known.if_masked = true;
                    } else {
                        let pc = st.get64(REG_PC)?;
                        let insn = self.fetch_insn(st, pc);
                        st.set64(REG_PSTATE, p | PSTATE_I | PSTATE_F)?;
                        st.step_mask = Some(StepMask::new(p, insn));
                    }
                }
            }
            st.pending_mmio = false;
            let raw = st.hw.run()?;
            slot.kicker.set_immediate_exit(0);
            self.board_coalesced(st)?;
            match raw {
                RawExit::Interrupted => {
                    st.known = Known::default();
                    continue;
                }
                RawExit::Mmio {
                    addr,
                    len,
                    is_write,
                    data,
                } => {
                    // The access is not finished: the step mask stays until it is.
                    st.pending_mmio = true;
                    st.known = Known::default();
                    let value = if is_write {
                        u64::from_le_bytes(data)
                    } else {
                        0
                    };
                    // The board's devices need no decision: served here, and the run goes on
                    // (the next KVM_RUN completes the access).
                    if self.board_mmio(st, addr, is_write, value)? {
                        continue;
                    }
                    return Ok(VmExit::Mmio {
                        addr,
                        len,
                        is_write,
                        data: if is_write {
                            u64::from_le_bytes(data)
                        } else {
                            0
                        },
                        pc: st.get64(REG_PC)?,
                    });
                }
                RawExit::Debug {
                    hsr,
                    hsr_high,
                    far,
                    flags,
                } => {
                    self.finish_step(st)?;
                    let valid = flags & decode::esr::KVM_DEBUG_ARCH_HSR_HIGH_VALID != 0;
                    let esr = decode::esr_from_kvm_debug_exit(hsr, hsr_high, valid);
                    let pc = st.get64(REG_PC)?;
                    let ec = decode::esr::ec_of(esr);
                    let cause = self.cause(st, ec, pc, opts);
                    if cause == Some(DebugCause::Step) && st.step_mask.is_none() {
                        st.known.pc = Some(pc);
                        if stepped.is_none_or(step::is_msr_register) {
                            st.known.stage1 = None;
                        }
                        if stepped.is_none() {
                            st.known.if_masked = false;
                        }
                    } else {
                        st.known = Known::default();
                    }
                    let Some(cause) = cause else {
                        let r = self.reinject(st, esr, pc, far)?;
                        st.reinjections += 1;
                        if opts.report_reinjections {
                            return Ok(VmExit::Reinjected(r));
                        }
                        continue;
                    };
                    let watch = (cause == DebugCause::Watch)
                        .then(|| lock(&self.debug).watch_hit(far))
                        .flatten();
                    return Ok(VmExit::Debug(DebugExit {
                        esr,
                        hsr_high_valid: valid,
                        ec,
                        summary: st.summary(esr),
                        pc,
                        far: (cause == DebugCause::Watch).then_some(far),
                        watch,
                        cause,
                    }));
                }
                other => {
                    st.known = Known::default();
                    self.finish_step(st)?;
                    return Ok(match other {
                        RawExit::SystemEvent { kind, data } => VmExit::SystemEvent {
                            kind: SystemEventKind::from_raw(kind),
                            data,
                        },
                        RawExit::InternalError { suberror } => VmExit::InternalError { suberror },
                        RawExit::FailEntry { reason, cpu } => VmExit::FailEntry { reason, cpu },
                        RawExit::Unknown(reason) => VmExit::Unknown { reason },
                        _ => unreachable!("handled above"),
                    });
                }
            }
        }
    }

    /// Ours or not: None means "re-inject into the guest".
    fn cause(&self, st: &VcpuState, ec: u8, pc: u64, opts: RunOptions) -> Option<DebugCause> {
        use crate::reinject::*;
        match ec {
            EC_BRK64 => {
                let pa = st.translate(&self.mem, pc).ok()?.pa;
                lock(&self.debug)
                    .sw
                    .contains(pa)
                    .then_some(DebugCause::SwBreak)
            }
            EC_HW_BP_LOWER | EC_HW_BP_CURRENT => {
                (!lock(&self.debug).hw_breakpoints().is_empty()).then_some(DebugCause::HwBreak)
            }
            EC_STEP_LOWER | EC_STEP_CURRENT => opts.single_step.then_some(DebugCause::Step),
            EC_WATCH_LOWER | EC_WATCH_CURRENT => {
                (!lock(&self.debug).watchpoints().is_empty()).then_some(DebugCause::Watch)
            }
            // We never insert A32/T32 BKPT: an AArch32 EL0 task's own BKPT goes back to
            // the guest (its SIGTRAP), else every continue would stop on it again.
            EC_BKPT32 => None,
            _ => Some(DebugCause::Other),
        }
    }

    fn reinject(&self, st: &mut VcpuState, esr: u64, pc: u64, far: u64) -> Result<Reinjection> {
        let pstate = st.get64(REG_PSTATE)?;
        let vbar = st.get64(REG_VBAR_EL1)?;
        let sctlr = st.get64(REG_SCTLR_EL1)?;
        let d = crate::reinject::plan(esr, pstate, pc, far, vbar, sctlr)?;
        st.set64(a64::REG_ESR_EL1, d.entry.esr_el1)?;
        st.set64(a64::REG_ELR_EL1, d.entry.elr_el1)?;
        st.set64(a64::REG_SPSR_EL1, d.entry.spsr_el1)?;
        if let Some(f) = d.far {
            st.set64(a64::REG_FAR_EL1, f)?;
        }
        st.set64(REG_PSTATE, d.entry.pstate)?;
        st.set64(REG_PC, d.entry.pc)?;
        Ok(Reinjection {
            esr: d.entry.esr_el1,
            elr: d.entry.elr_el1,
            vector: d.entry.pc,
        })
    }

    /// The guest's own instruction at `pa` (under our BRK, if one is there).
    fn insn_at(&self, pa: u64) -> Option<u32> {
        let mut b = [0u8; 4];
        self.mem.read(pa, &mut b).ok()?;
        lock(&self.debug).sw.shadow(pa, &mut b);
        Some(u32::from_le_bytes(b))
    }

    /// The instruction at the known PC, through the known (or freshly read
    /// and then kept) stage-1 registers; None when PC is not known.
    fn known_insn(&self, st: &mut VcpuState) -> Option<u32> {
        let pc = st.known.pc?;
        let regs = st.stage1_known().ok()?;
        self.insn_at(walk::translate(&self.mem, &regs, pc).ok()?.pa)
    }

    fn fetch_insn(&self, st: &VcpuState, pc: u64) -> Option<u32> {
        self.insn_at(st.translate(&self.mem, pc).ok()?.pa)
    }

    /// Ends a masked single-step: restores the guest's own I/F bits, or what
    /// the stepped instruction made of them (see [`crate::step`]).
    pub(crate) fn finish_step(&self, st: &mut VcpuState) -> Result<()> {
        let Some(m) = st.step_mask.take() else {
            return Ok(());
        };
        let p = st.get64(REG_PSTATE)?;
        let pc = st.get64(REG_PC)?;
        let vbar = st.get64(REG_VBAR_EL1)?;
        let xt = match m.insn.and_then(step::msr_daif_rt) {
            Some(31) => Some(0),
            Some(rt) => Some(st.get64(a64::x_reg(rt))?),
            None => None,
        };
        if let Some(np) = m.restore(p, pc, vbar, xt) {
            st.set64(REG_PSTATE, np)?;
        }
        Ok(())
    }
}
