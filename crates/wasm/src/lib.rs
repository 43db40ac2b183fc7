//! wasm-bindgen shim. (Skeleton.)
