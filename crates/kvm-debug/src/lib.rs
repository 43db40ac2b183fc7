//! The Linux KVM path of kvm-debug (arm64 first).
//!
//! * [`caps`]: the capability probe, as data.
//! * [`vm`]: the facade of a VM with RAM and vCPUs: loading, registers by
//!   name, guest memory by physical and virtual address, breakpoints,
//!   running and stopping.
//! * [`debug`]: the one owner of the guest-debug state (software and
//!   hardware breakpoints, watchpoints, the control word); [`run`]: the run
//!   loop, exit classification and typed exits; [`regs`]: register access
//!   with the step-time IRQ masking.
//! * [`swbp`] (our BRKs through decode's patch plans), [`reinject`] (guest
//!   exceptions that are not ours go back to the guest), [`step`] (single-step
//!   with IRQs masked), `decode::walk` (the pure stage-1 walker), [`hwdebug`] (DBGBCR/DBGWCR).
//! * [`arch`]: register ids and cache maintenance (aarch64); on x86_64 only
//!   the capability probe works and VM operations return
//!   [`Error::Unsupported`] naming the architecture.
#![deny(missing_docs)]
#![cfg(target_os = "linux")]

pub mod arch;
pub mod board;
pub mod caps;
pub mod debug;
pub mod elf;
pub mod error;
pub mod hwdebug;
pub mod memory;
pub mod regs;
pub mod reinject;
pub mod run;
pub mod step;
pub mod swbp;
pub mod vcpu;
pub mod vm;

pub use caps::{probe, Capabilities};
pub use debug::Watchpoint;
pub use error::{Error, Result};
pub use run::{DebugCause, DebugExit, Reinjection, RunOptions, SystemEventKind, VmExit};
pub use swbp::RemoveAllReport;
pub use vm::{
    LinuxBoot, LinuxBootInfo, VirtTranslation, Vm, VmConfig, WatchKind, DEFAULT_RAM_BASE,
};
