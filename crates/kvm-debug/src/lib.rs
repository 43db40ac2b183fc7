//! The Linux KVM path of kvm-debug. (Skeleton: filled in by the KVM issue.)
#![deny(missing_docs)]

pub mod walk;
pub mod hwdebug;
