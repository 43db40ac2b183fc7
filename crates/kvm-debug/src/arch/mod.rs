//! One file per architecture. arm64 is the one this crate drives; x86_64
//! answers the capability probe and refuses VM operations by name.

pub mod aarch64;
#[cfg(not(target_arch = "aarch64"))]
pub mod x86_64;
