//! The Linux KVM path of kvm-debug (arm64 first).
//!
//! * [`caps`]: the capability probe, as data.
//! * [`vm`]: a VM with RAM and vCPUs: loading, registers by name, guest
//!   memory by physical and virtual address, guest debug, software
//!   breakpoints, the run loop with typed exits ([`run`]) and stop.
//! * [`swbp`] (our BRKs through decode's patch plans), [`reinject`] (guest
//!   exceptions that are not ours go back to the guest), [`step`] (single-step
//!   with IRQs masked), [`walk`] (stage-1 walker), [`hwdebug`] (DBGBCR/DBGWCR).
//! * [`arch`]: register ids and cache maintenance (aarch64); on x86_64 only
//!   the capability probe works and VM operations return
//!   [`Error::Unsupported`] naming the architecture.
#![deny(missing_docs)]
#![cfg(target_os = "linux")]

pub mod arch;
pub mod caps;
pub mod elf;
pub mod error;
pub mod hwdebug;
pub mod memory;
pub mod reinject;
pub mod run;
pub mod step;
pub mod swbp;
pub mod vcpu;
pub mod vm;
pub mod walk;

pub use caps::{probe, Capabilities};
pub use error::{Error, Result};
pub use run::{DebugCause, DebugExit, Reinjection, RunOptions, SystemEventKind, VmExit};
pub use swbp::RemoveAllReport;
pub use vm::{GuestDebug, VirtTranslation, Vm, VmConfig, WatchKind, Watchpoint, DEFAULT_RAM_BASE};
