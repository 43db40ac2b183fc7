//! Errors of the decode core. Each carries the offending value and a stable
//! [`Error::code`] string that both bindings copy into a JS `Error.code`.

use core::fmt;

/// An error from the breakpoint codec, the patch planner or value parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The address is not aligned for the instruction set.
    Misaligned {
        /// The offending address.
        addr: u64,
        /// The alignment required, in bytes.
        align: u64,
        /// The breakpoint kind (its instruction set).
        kind: &'static str,
    },
    /// An immediate does not fit the instruction's field.
    ImmediateOutOfRange {
        /// The offending immediate.
        imm: u64,
        /// The largest value the field holds.
        max: u64,
        /// The breakpoint kind.
        kind: &'static str,
    },
    /// A buffer has the wrong length: bytes for an instruction, elements for
    /// a batch (its output array, or a batch buffer's capacity).
    WrongLength {
        /// The length given.
        len: usize,
        /// The length required.
        expected: usize,
    },
    /// The bytes at the address are already a breakpoint instruction.
    AlreadyPatched {
        /// The address.
        addr: u64,
        /// The instruction found there (little-endian word or halfword).
        found: u32,
    },
    /// On remove, our breakpoint instruction is no longer at the address:
    /// the guest rewrote it. The guest's bytes are left alone.
    Conflict {
        /// The address.
        addr: u64,
        /// The breakpoint instruction we wrote.
        expected: u32,
        /// What is there now.
        found: u32,
    },
    /// A textual value could not be parsed as a 64-bit number.
    BadValue {
        /// The text as given.
        text: String,
        /// Why it was refused.
        why: &'static str,
    },
    /// No kernel symbol table could be recovered from the image.
    NoKallsyms {
        /// What was missing.
        why: String,
    },
    /// No `kimage_vaddr` (where the KASLR slide is read) was found in the image.
    NoKaslrAnchor {
        /// What was missing.
        why: String,
    },
    /// A stage-1 walk failed; its code is the walker's (`ERR_WALK_*`).
    Walk(crate::walk::WalkError),
    /// An exception cannot be taken to EL1 from this PSTATE (EL2/EL3, or an
    /// AArch32 mode other than User).
    ExceptionSource {
        /// The PSTATE (SPSR format) given.
        pstate: u64,
    },
    /// A hardware breakpoint or watchpoint that DBGBCR/DBGWCR cannot express.
    HwDebug {
        /// The requested address.
        addr: u64,
        /// The requested length in bytes (4 for a breakpoint).
        len: u64,
        /// Why it cannot be expressed.
        why: &'static str,
    },
    /// An unknown breakpoint kind name.
    UnknownKind {
        /// The name as given.
        name: String,
    },
}

impl Error {
    /// A stable machine-readable code, identical in the native and wasm builds.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Misaligned { .. } => "ERR_MISALIGNED",
            Error::ImmediateOutOfRange { .. } => "ERR_IMMEDIATE_RANGE",
            Error::WrongLength { .. } => "ERR_WRONG_LENGTH",
            Error::AlreadyPatched { .. } => "ERR_ALREADY_PATCHED",
            Error::Conflict { .. } => "ERR_PATCH_CONFLICT",
            Error::BadValue { .. } => "ERR_BAD_VALUE",
            Error::UnknownKind { .. } => "ERR_UNKNOWN_KIND",
            Error::ExceptionSource { .. } => "ERR_EXCEPTION_SOURCE",
            Error::HwDebug { .. } => "ERR_HW_DEBUG",
            Error::Walk(w) => w.code(),
            Error::NoKallsyms { .. } => "ERR_NO_KALLSYMS",
            Error::NoKaslrAnchor { .. } => "ERR_NO_KASLR_ANCHOR",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Misaligned { addr, align, kind } => write!(
                f,
                "address {addr:#x} is not {align}-byte aligned, as {kind} requires"
            ),
            Error::ImmediateOutOfRange { imm, max, kind } => {
                write!(f, "immediate {imm:#x} does not fit {kind} (max {max:#x})")
            }
            Error::WrongLength { len, expected } => {
                write!(f, "length {len} given where {expected} is needed")
            }
            Error::AlreadyPatched { addr, found } => write!(
                f,
                "address {addr:#x} already holds a breakpoint instruction ({found:#x})"
            ),
            Error::Conflict {
                addr,
                expected,
                found,
            } => write!(
                f,
                "breakpoint at {addr:#x} was rewritten by the guest: expected {expected:#x}, \
                 found {found:#x}; the guest's bytes were left alone"
            ),
            Error::BadValue { text, why } => write!(f, "bad value {text:?}: {why}"),
            Error::Walk(w) => write!(f, "cannot translate VA {:#x}: {w}", w.va),
            Error::NoKallsyms { why } => write!(f, "no kernel symbols recovered: {why}"),
            Error::NoKaslrAnchor { why } => {
                write!(
                    f,
                    "cannot tell where the kernel reports its KASLR slide: {why}"
                )
            }
            Error::ExceptionSource { pstate } => write!(
                f,
                "PSTATE {pstate:#x} is not at EL0 or EL1 in AArch64, nor AArch32 User mode: \
                 an exception cannot be taken from it to EL1"
            ),
            Error::HwDebug { addr, len, why } => write!(
                f,
                "cannot set a hardware debug register for {len} byte(s) at {addr:#x}: {why}"
            ),
            Error::UnknownKind { name } => write!(
                f,
                "unknown breakpoint kind {name:?} (expected brk64, hlt64, bkpt32 or bkpt16)"
            ),
        }
    }
}

impl std::error::Error for Error {}
