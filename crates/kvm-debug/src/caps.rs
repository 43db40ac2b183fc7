//! The capability probe, returned as data (never a panic, never an `Err`).
//!
//! Every field comes from `KVM_CHECK_EXTENSION` on the system fd, named per
//! field; an absent capability reads as 0/false (the kernel's own answer).

use crate::error::Error;

/// The KVM device node.
pub const KVM_DEVICE: &str = "/dev/kvm";

/// What this host's KVM offers for debugging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// `/dev/kvm` opened and answered `KVM_GET_API_VERSION`.
    pub available: bool,
    /// When not available: the stable error code (`ERR_NO_KVM`, `ERR_KVM_PERMISSION`, ...).
    pub code: Option<&'static str>,
    /// When not available: what happened and what to do.
    pub reason: Option<String>,
    /// The host architecture (`std::env::consts::ARCH`).
    pub arch: &'static str,
    /// Whether this crate can create VMs on this architecture (aarch64 only).
    pub vm_supported: bool,
    /// `KVM_GET_API_VERSION` (12 on every kernel since 2.6.22); 0 when unavailable.
    pub api_version: i32,
    /// `KVM_CAP_SET_GUEST_DEBUG`: the `KVM_SET_GUEST_DEBUG` ioctl exists.
    pub set_guest_debug: bool,
    /// `KVM_CAP_SET_GUEST_DEBUG2`: the mask of `KVM_GUESTDBG_*` control bits the
    /// kernel accepts. Fallback when 0 (kernels before 5.7): assume
    /// ENABLE|SINGLESTEP|USE_SW_BP|USE_HW if `set_guest_debug` is true and let
    /// `KVM_SET_GUEST_DEBUG` refuse what it does not know (EINVAL).
    pub guest_debug_control_mask: u32,
    /// `KVM_CAP_GUEST_DEBUG_HW_BPS`: hardware breakpoint slots (0 = none).
    pub hw_breakpoints: u32,
    /// `KVM_CAP_GUEST_DEBUG_HW_WPS`: hardware watchpoint slots (0 = none).
    pub hw_watchpoints: u32,
    /// `KVM_CAP_ARM_VM_IPA_SIZE`: the largest IPA size in bits; 0 means the
    /// capability is absent and VMs get the default 40 bits.
    pub ipa_size: u32,
    /// `KVM_CAP_ONE_REG`: `KVM_GET/SET_ONE_REG` exist.
    pub one_reg: bool,
    /// `KVM_CAP_ARM_PSCI_0_2`: the PSCI 0.2 vCPU feature exists.
    pub psci_0_2: bool,
    /// Why guest debugging cannot work on this kernel, or None when it can:
    /// no KVM_CAP_SET_GUEST_DEBUG, or a KVM_CAP_SET_GUEST_DEBUG2 mask without
    /// the control bits a session needs ([`crate::debug::DebugState::probe_control`]).
    pub debug_unavailable: Option<String>,
}

impl Capabilities {
    /// The verdict of [`Capabilities::debug_unavailable`] for these fields.
    fn debug_verdict(&self) -> Option<String> {
        if !self.available {
            return None;
        }
        if !self.set_guest_debug {
            return Some("the kernel lacks KVM_CAP_SET_GUEST_DEBUG".into());
        }
        let need = crate::debug::DebugState::probe_control();
        let mask = self.guest_debug_control_mask;
        // A mask of 0 is a kernel before 5.7: KVM_SET_GUEST_DEBUG itself says (probe_guest_debug).
        if mask != 0 && mask & need != need {
            return Some(format!(
                "the kernel rejects guest-debug control flags {:#x} (KVM_CAP_SET_GUEST_DEBUG2 \
                 mask {mask:#x})",
                need & !mask
            ));
        }
        None
    }
}

impl Capabilities {
    fn unavailable(err: &Error) -> Self {
        Capabilities {
            available: false,
            code: Some(err.code()),
            reason: Some(err.to_string()),
            arch: std::env::consts::ARCH,
            vm_supported: cfg!(target_arch = "aarch64"),
            api_version: 0,
            set_guest_debug: false,
            guest_debug_control_mask: 0,
            hw_breakpoints: 0,
            hw_watchpoints: 0,
            ipa_size: 0,
            one_reg: false,
            psci_0_2: false,
            debug_unavailable: None,
        }
    }
}

/// Maps an `open(/dev/kvm)` errno to the typed answer.
pub fn open_error(path: &'static str, errno: i32) -> Error {
    match errno {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => Error::NoKvm { path },
        libc::EACCES | libc::EPERM => Error::KvmPermission { path, errno },
        _ => Error::ioctl("open", errno, path),
    }
}

/// Opens `path` as the KVM system fd, with a typed error.
#[cfg(target_os = "linux")]
pub(crate) fn open_kvm(path: &'static str) -> Result<kvm_ioctls::Kvm, Error> {
    let c = std::ffi::CString::new(path).map_err(|_| Error::BadArgument {
        why: format!("device path {path:?} has a NUL byte"),
    })?;
    kvm_ioctls::Kvm::new_with_path(&c).map_err(|e| open_error(path, e.errno()))
}

/// Probes `/dev/kvm`. See [`probe_path`].
pub fn probe() -> Capabilities {
    probe_path(KVM_DEVICE)
}

/// Probes the KVM device at `path` with `KVM_GET_API_VERSION` and
/// `KVM_CHECK_EXTENSION` for each field of [`Capabilities`]. A missing device
/// or a permission error is an answer (`available: false` with its code and
/// what to do), not an error.
#[cfg(target_os = "linux")]
pub fn probe_path(path: &'static str) -> Capabilities {
    use kvm_bindings::{
        KVM_CAP_ARM_PSCI_0_2, KVM_CAP_ARM_VM_IPA_SIZE, KVM_CAP_GUEST_DEBUG_HW_BPS,
        KVM_CAP_GUEST_DEBUG_HW_WPS, KVM_CAP_ONE_REG, KVM_CAP_SET_GUEST_DEBUG,
        KVM_CAP_SET_GUEST_DEBUG2,
    };
    let kvm = match open_kvm(path) {
        Ok(k) => k,
        Err(e) => return Capabilities::unavailable(&e),
    };
    // KVM_CHECK_EXTENSION returns 0 when absent and -1 on error; both read as "none".
    let ext = |cap: u32| kvm.check_extension_raw(cap.into()).max(0);
    let mut c = Capabilities {
        available: true,
        code: None,
        reason: None,
        arch: std::env::consts::ARCH,
        vm_supported: cfg!(target_arch = "aarch64"),
        api_version: kvm.get_api_version(),
        set_guest_debug: ext(KVM_CAP_SET_GUEST_DEBUG) > 0,
        guest_debug_control_mask: ext(KVM_CAP_SET_GUEST_DEBUG2) as u32,
        hw_breakpoints: ext(KVM_CAP_GUEST_DEBUG_HW_BPS) as u32,
        hw_watchpoints: ext(KVM_CAP_GUEST_DEBUG_HW_WPS) as u32,
        ipa_size: ext(KVM_CAP_ARM_VM_IPA_SIZE) as u32,
        one_reg: ext(KVM_CAP_ONE_REG) > 0,
        psci_0_2: ext(KVM_CAP_ARM_PSCI_0_2) > 0,
        debug_unavailable: None,
    };
    c.debug_unavailable = c.debug_verdict();
    c
}

/// Not Linux: there is no KVM; the answer says so.
#[cfg(not(target_os = "linux"))]
pub fn probe_path(path: &'static str) -> Capabilities {
    Capabilities::unavailable(&Error::NoKvm { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_device_is_a_typed_answer() {
        let c = probe_path("/nonexistent/kvm");
        assert!(!c.available);
        assert_eq!(c.code, Some("ERR_NO_KVM"));
        assert!(c.reason.unwrap().contains("/nonexistent/kvm"));
        assert_eq!(c.hw_breakpoints, 0);
    }

    #[test]
    fn the_debug_verdict_names_what_the_kernel_lacks() {
        let mut c = probe_path("/nonexistent/kvm");
        c.available = true;
        assert_eq!(
            c.debug_verdict().as_deref(),
            Some("the kernel lacks KVM_CAP_SET_GUEST_DEBUG")
        );
        c.set_guest_debug = true;
        assert_eq!(
            c.debug_verdict(),
            None,
            "no SET_GUEST_DEBUG2 mask: the ioctl decides"
        );
        c.guest_debug_control_mask = 0x3; // ENABLE|SINGLESTEP, no USE_SW_BP
        let why = c.debug_verdict().unwrap();
        assert!(
            why.contains("flags 0x10000") && why.contains("mask 0x3"),
            "{why}"
        );
        c.guest_debug_control_mask = 0x3_0003;
        assert_eq!(c.debug_verdict(), None);
    }

    #[test]
    fn permission_error_is_typed() {
        assert_eq!(
            open_error(KVM_DEVICE, libc::EACCES).code(),
            "ERR_KVM_PERMISSION"
        );
        assert_eq!(open_error(KVM_DEVICE, libc::ENOENT).code(), "ERR_NO_KVM");
        assert_eq!(open_error(KVM_DEVICE, libc::EIO).code(), "ERR_KVM_IOCTL");
    }

    #[test]
    fn real_probe_never_panics_and_is_consistent() {
        let c = probe();
        println!("probe on this host: {c:?}");
        if c.available {
            assert_eq!(c.api_version, 12, "KVM_API_VERSION is 12 since 2.6.22");
            assert!(c.code.is_none());
        } else {
            assert!(c.code.is_some() && c.reason.is_some());
        }
    }
}
