//! The run loop's typed exits and the race-free "stop a running vCPU" kick.
//!
//! Stopping: another thread sets the vCPU's stop flag, stores 1 into
//! `kvm_run.immediate_exit`, then sends [`kick_signal`] to the thread inside
//! KVM_RUN. If the vCPU thread is between its flag check and the ioctl, KVM
//! sees immediate_exit=1 and returns EINTR at once; if it is in the guest, the
//! signal forces the exit (KVM checks pending signals on every guest entry).
//! Either way KVM_RUN returns EINTR and the loop reports [`VmExit::Interrupted`].
//! The handler itself does nothing: its only job is to make the signal
//! non-fatal and to interrupt the ioctl.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Once;

/// What ended a debug exit, as seen by the run loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugCause {
    /// A BRK at one of our software breakpoints (EC 0x3c).
    SwBreakpoint,
    /// A single-step we asked for (EC 0x32/0x33).
    Step,
    /// A hardware breakpoint we set (EC 0x30/0x31).
    HwBreakpoint,
    /// A watchpoint we set (EC 0x34/0x35).
    Watchpoint,
    /// Any other debug syndrome (reported, not re-injected).
    Other,
}

impl DebugCause {
    /// Stable name for bindings: "swbp", "step", "hwbp", "watch", "other".
    pub fn name(self) -> &'static str {
        match self {
            DebugCause::SwBreakpoint => "swbp",
            DebugCause::Step => "step",
            DebugCause::HwBreakpoint => "hwbp",
            DebugCause::Watchpoint => "watch",
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
