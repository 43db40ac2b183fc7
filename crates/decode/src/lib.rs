//! Pure core of kvm-debug: no JavaScript, no OS, no I/O.
//!
//! * [`esr`]: ESR_ELx syndrome decoding into one uniform [`field::Field`] tree,
//!   plus an allocation-free fast path ([`classify`](mod@classify)).
//! * [`insn`]: the breakpoint instruction codec (A64 BRK/HLT, A32/T32 BKPT).
//! * [`patch`]: patch plans for inserting and removing software breakpoints.
//! * [`exception`]: exception-entry arithmetic (vector offsets, SPSR, PSTATE).
//! * [`kallsyms`]: the kernel's symbol table recovered from an arm64 `Image`.
//! * [`kaslr`]: where a running kernel's KASLR slide is read, found in its `Image`.
//! * [`walk`]: the stage-1 EL1&0 page-table walker over any [`walk::PhysRead`]
//!   (guest RAM on KVM, or a page-table dump on any OS).
//!
//! References are to the Arm Architecture Reference Manual for A-profile
//! (Arm ARM, DDI 0487, issue L.a) unless stated otherwise.
#![deny(missing_docs)]

pub mod classify;
pub mod error;
pub mod esr;
pub mod exception;
pub mod field;
pub mod insn;
pub mod kallsyms;
pub mod kaslr;
pub mod packed;
pub mod patch;
pub mod walk;

pub use classify::{class_name, classify, classify_batch, Classification, DebugEvent, CLASS_NAMES};
pub use error::Error;
pub use esr::{decode, esr_from_kvm_debug_exit, summary};
pub use field::Field;
pub use insn::BreakpointKind;
