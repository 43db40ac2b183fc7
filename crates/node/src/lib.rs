//! napi-rs addon: a thin shim over `kvm-debug-decode` and `kvm-debug`.
//! Decoding lives in [`decode`] (and its hottest call, `classify`, in
//! `fast`), the KVM path in `kvm`, and the GDB reply frames it builds in `rsp`.
#![deny(clippy::all)]

pub mod decode;
mod fast;
mod kvm;
mod rsp;
