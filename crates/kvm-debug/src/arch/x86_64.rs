//! x86_64 (and every host other than aarch64): capabilities only.
//!
//! The capability probe works here ([`crate::caps::probe`] reads this host's
//! own /dev/kvm). Everything that would create or drive a VM returns
//! [`Error::Unsupported`] naming the architecture: this crate debugs arm64
//! guests on arm64 KVM and never falls back silently to something else.

use crate::error::Error;

/// The typed refusal for `what` on this host.
pub fn unsupported(what: &'static str) -> Error {
    Error::Unsupported {
        arch: std::env::consts::ARCH,
        what,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vm_creation_is_refused_naming_the_arch() {
        let e = crate::Vm::create(crate::VmConfig::default()).err().unwrap();
        assert_eq!(e.code(), "ERR_UNSUPPORTED_ARCH");
        assert!(e.to_string().contains(std::env::consts::ARCH), "{e}");
    }
}
