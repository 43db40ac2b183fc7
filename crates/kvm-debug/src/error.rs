//! Errors of the KVM path. Each carries the offending value and a stable
//! [`Error::code`] string that the addon copies into a JS `Error.code`.

use core::fmt;
use decode::walk::WalkError;

/// An error from the KVM path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// `/dev/kvm` does not exist (no KVM in this kernel, or not in a VM host).
    NoKvm {
        /// The device path tried.
        path: &'static str,
    },
    /// `/dev/kvm` exists but this process may not open it.
    KvmPermission {
        /// The device path tried.
        path: &'static str,
        /// The errno (EACCES or EPERM).
        errno: i32,
    },
    /// The operation is not implemented for this host architecture.
    Unsupported {
        /// The host architecture (`std::env::consts::ARCH`).
        arch: &'static str,
        /// What was asked for.
        what: &'static str,
    },
    /// A KVM ioctl failed.
    Ioctl {
        /// The ioctl's name, e.g. `KVM_SET_ONE_REG`.
        ioctl: &'static str,
        /// The errno it returned.
        errno: i32,
        /// What it was about (register name, address...).
        detail: String,
    },
    /// A register name we do not know.
    UnknownRegister {
        /// The name as given.
        name: String,
    },
    /// A vCPU index outside the VM.
    BadVcpu {
        /// The index given.
        index: u32,
        /// How many vCPUs the VM has.
        count: u32,
    },
    /// The vCPU is inside KVM_RUN: registers and debug state cannot be touched.
    VcpuRunning {
        /// The vCPU index.
        vcpu: u32,
    },
    /// A guest-physical range is not entirely inside one RAM slot.
    OutsideRam {
        /// The first address of the range.
        addr: u64,
        /// Its length in bytes.
        len: u64,
    },
    /// The ELF image could not be parsed.
    BadElf {
        /// Why.
        why: String,
    },
    /// A PT_LOAD segment does not fit in guest RAM.
    ElfSegmentOutsideRam {
        /// The segment's physical load address.
        paddr: u64,
        /// Its size in memory.
        memsz: u64,
    },
    /// Every hardware breakpoint (or watchpoint) slot is in use.
    HwSlots {
        /// `"breakpoint"` or `"watchpoint"`.
        what: &'static str,
        /// The address asked for.
        addr: u64,
        /// How many slots KVM offers (KVM_CAP_GUEST_DEBUG_HW_BPS / _WPS).
        slots: usize,
    },
    /// That hardware breakpoint or watchpoint is already set.
    AlreadySet {
        /// `"hardware breakpoint"` or `"watchpoint"`.
        what: &'static str,
        /// Its address.
        addr: u64,
    },
    /// No breakpoint of ours of that kind at this address.
    NoBreakpoint {
        /// `"software breakpoint"`, `"hardware breakpoint"` or `"watchpoint"`.
        what: &'static str,
        /// The address (guest-physical for software breakpoints, else virtual).
        addr: u64,
    },
    /// A virtual address could not be translated: the walker's error, whose
    /// own code ([`decode::walk::WalkError::code`]) is [`Error::fault_code`].
    Translation(WalkError),
    /// A bad argument (e.g. a zero-sized VM).
    BadArgument {
        /// What was wrong, naming the value.
        why: String,
    },
    /// Guest debugging is off (no KVM_CAP_SET_GUEST_DEBUG, `--debug off`, or
    /// the debugger detached): the guest runs, breakpoints and steps are refused.
    DebugOff {
        /// Why it is off.
        reason: String,
    },
    /// A vCPU's run thread could not be started.
    Thread {
        /// The vCPU.
        vcpu: u32,
        /// The OS error.
        why: String,
    },
    /// Completing a pending MMIO access (one KVM_RUN with immediate_exit) did
    /// not return EINTR as KVM documents (Documentation/virt/kvm/api.rst, immediate_exit).
    MmioCompletion {
        /// The vCPU.
        vcpu: u32,
        /// What KVM_RUN returned instead.
        got: String,
    },
    /// Not an arm64 Linux `Image` the board can boot.
    BadImage {
        /// What was found, naming the value.
        why: String,
    },
    /// Something does not fit in guest RAM.
    DoesNotFit {
        /// What, with its size.
        what: String,
        /// The RAM size in MiB (`--mem`).
        mem_mib: u64,
    },
    /// Neither vGICv3 nor vGICv2 could be created.
    NoGic {
        /// What KVM said to each.
        why: String,
    },
    /// The VM was closed.
    Closed,
    /// An error of the pure decode core (breakpoint codec, patch plans).
    Decode(decode::Error),
}

impl Error {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoKvm { .. } => "ERR_NO_KVM",
            Error::KvmPermission { .. } => "ERR_KVM_PERMISSION",
            Error::Unsupported { .. } => "ERR_UNSUPPORTED_ARCH",
            Error::Ioctl { .. } => "ERR_KVM_IOCTL",
            Error::UnknownRegister { .. } => "ERR_UNKNOWN_REGISTER",
            Error::BadVcpu { .. } => "ERR_BAD_VCPU",
            Error::VcpuRunning { .. } => "ERR_VCPU_RUNNING",
            Error::OutsideRam { .. } => "ERR_OUTSIDE_RAM",
            Error::BadElf { .. } => "ERR_BAD_ELF",
            Error::ElfSegmentOutsideRam { .. } => "ERR_ELF_SEGMENT_OUTSIDE_RAM",
            Error::HwSlots { .. } => "ERR_HW_SLOTS",
            Error::AlreadySet { .. } => "ERR_ALREADY_SET",
            Error::NoBreakpoint { .. } => "ERR_NO_BREAKPOINT",
            Error::Translation(_) => "ERR_TRANSLATION",
            Error::BadArgument { .. } => "ERR_BAD_ARGUMENT",
            Error::DebugOff { .. } => "ERR_DEBUG_OFF",
            Error::Thread { .. } => "ERR_THREAD",
            Error::MmioCompletion { .. } => "ERR_MMIO_COMPLETION",
            Error::BadImage { .. } => "ERR_BAD_IMAGE",
            Error::DoesNotFit { .. } => "ERR_DOES_NOT_FIT",
            Error::NoGic { .. } => "ERR_NO_GIC",
            Error::Closed => "ERR_VM_CLOSED",
            Error::Decode(e) => e.code(),
        }
    }

    /// The finer code of a translation failure (`ERR_WALK_NOT_VALID`, ...),
    /// which the bindings pass on as the JS error's `.fault`.
    pub fn fault_code(&self) -> Option<&'static str> {
        match self {
            Error::Translation(w) => Some(w.code()),
            _ => None,
        }
    }

    /// Builds an [`Error::Ioctl`] from the last OS error.
    pub(crate) fn ioctl(ioctl: &'static str, errno: i32, detail: impl Into<String>) -> Self {
        Error::Ioctl {
            ioctl,
            errno,
            detail: detail.into(),
        }
    }
}

impl From<WalkError> for Error {
    fn from(e: WalkError) -> Self {
        Error::Translation(e)
    }
}

impl From<decode::Error> for Error {
    fn from(e: decode::Error) -> Self {
        Error::Decode(e)
    }
}

fn errno_name(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoKvm { path } => write!(
                f,
                "{path} does not exist: this kernel has no KVM here. Run on a Linux host with \
                 KVM (arm64: a kernel with CONFIG_KVM=y booted at EL2), or use the emulated \
                 arm64 lane (npm run test:arm64)"
            ),
            Error::KvmPermission { path, errno } => write!(
                f,
                "cannot open {path}: {}. Add this user to the 'kvm' group \
                 (sudo usermod -aG kvm $USER, then log in again) or run as root",
                errno_name(*errno)
            ),
            Error::Unsupported { arch, what } => write!(
                f,
                "{what} is not supported on {arch} hosts: kvm-debug drives arm64 (aarch64) KVM \
                 only; on {arch} only the capability probe is available"
            ),
            Error::Ioctl {
                ioctl,
                errno,
                detail,
            } => write!(f, "{ioctl} failed ({detail}): {}", errno_name(*errno)),
            Error::UnknownRegister { name } => write!(
                f,
                "unknown register {name:?} (expected x0-x30, sp, pc, pstate, v0-v31, fpsr, fpcr \
                 or a named EL1 system register)"
            ),
            Error::BadVcpu { index, count } => {
                write!(f, "vCPU {index} does not exist (this VM has {count})")
            }
            Error::VcpuRunning { vcpu } => write!(
                f,
                "vCPU {vcpu} is running: stop it (stop({vcpu})) and wait for its run to end first"
            ),
            Error::OutsideRam { addr, len } => write!(
                f,
                "guest-physical range {addr:#x}..{:#x} ({len} bytes) is not inside guest RAM",
                addr.wrapping_add(*len)
            ),
            Error::BadElf { why } => write!(f, "bad ELF image: {why}"),
            Error::ElfSegmentOutsideRam { paddr, memsz } => write!(
                f,
                "ELF PT_LOAD segment at {paddr:#x} ({memsz:#x} bytes) is outside guest RAM"
            ),
            Error::HwSlots { what, addr, slots } => write!(
                f,
                "no hardware {what} at {addr:#x}: all {slots} hardware {what} slots are in use"
            ),
            Error::AlreadySet { what, addr } => write!(f, "a {what} is already set at {addr:#x}"),
            Error::NoBreakpoint { what, addr } => write!(f, "no {what} of ours at {addr:#x}"),
            Error::Translation(w) => write!(f, "cannot translate VA {:#x}: {w}", w.va),
            Error::BadArgument { why } => write!(f, "bad argument: {why}"),
            Error::DebugOff { reason } => write!(f, "guest debugging is off: {reason}"),
            Error::Thread { vcpu, why } => write!(f, "cannot start the vCPU {vcpu} thread: {why}"),
            Error::MmioCompletion { vcpu, got } => write!(
                f,
                "completing vCPU {vcpu}'s pending MMIO access gave {got}, not EINTR"
            ),
            Error::BadImage { why } => write!(f, "not a bootable arm64 Image: {why}"),
            Error::DoesNotFit { what, mem_mib } => write!(
                f,
                "{what} does not fit in {mem_mib} MiB of guest RAM: give more with --mem {}",
                mem_mib * 2
            ),
            Error::NoGic { why } => write!(f, "no interrupt controller: {why}"),
            Error::Closed => write!(f, "the VM was closed"),
            Error::Decode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

/// Result alias of this crate.
pub type Result<T> = core::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_messages_name_the_value() {
        let e = Error::OutsideRam {
            addr: 0x1234_5000,
            len: 8,
        };
        assert_eq!(e.code(), "ERR_OUTSIDE_RAM");
        assert!(e.to_string().contains("0x12345000"), "{e}");
        let e = Error::UnknownRegister { name: "x31".into() };
        assert_eq!(e.code(), "ERR_UNKNOWN_REGISTER");
        assert!(e.to_string().contains("\"x31\""));
        let e = Error::HwSlots {
            what: "watchpoint",
            addr: 0x1000,
            slots: 4,
        };
        assert_eq!(e.code(), "ERR_HW_SLOTS");
        assert!(e.to_string().contains("all 4"));
        let e = Error::KvmPermission {
            path: "/dev/kvm",
            errno: libc::EACCES,
        };
        assert_eq!(e.code(), "ERR_KVM_PERMISSION");
        assert!(e.to_string().contains("kvm' group"));
        assert_eq!(Error::NoKvm { path: "/dev/kvm" }.code(), "ERR_NO_KVM");
    }
}
