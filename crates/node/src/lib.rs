//! napi-rs addon: a thin shim over `kvm-debug-decode` and `kvm-debug`.
#![deny(clippy::all)]

mod decode;
mod kvm;
