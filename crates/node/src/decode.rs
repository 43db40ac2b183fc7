//! Decode bindings: the functions are declared once, in `js_api::decode_functions!`
//! (crates/js-api), which this shim and the wasm one (crates/wasm/src/lib.rs)
//! both expand; each converts its arguments, calls one core function of
//! `kvm-debug-decode`, and converts the result. Here: napi's types and errors.
//!
//! A 64-bit value crosses as two u32 halves (`lo` = bits 31:0, `hi` = bits
//! 63:32): two JS numbers are cheaper than one BigInt on the hot path.
//!
//! `classify(lo, hi)` is not here: it is a raw Node-API callback in fast.rs
//! (napi-rs's per-call bookkeeping cost more than the classification).

use napi::bindgen_prelude::{
    BigUint64ArraySlice, Error, Uint32ArraySlice, Uint8Array, Uint8ArraySlice,
};
use napi_derive::napi;

/// The JS `Error.code` of a failed call: the core's stable `Error::code()`.
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// Maps a core error into a JS `Error` whose `.code` is `code()` and whose
/// message is the core's `Display` text (which names the offending value).
pub fn to_js(e: decode::Error) -> Error<Code> {
    Error::new(Code(e.code()), e.to_string())
}

/// napi's fastest batch: the values are copied first when the two JS views
/// overlap, which gives what the wasm build gives (it copies the values in
/// before writing `out`).
fn classify_into(values: &[u64], mut out: Uint32ArraySlice<'_>) {
    let (v_start, v_end) = (values.as_ptr() as usize, values.as_ptr_range().end as usize);
    let (o_start, o_end) = (out.as_ptr() as usize, out.as_ptr_range().end as usize);
    let overlap = !values.is_empty() && v_start < o_end && o_start < v_end;
    let copy;
    let values = if overlap {
        copy = values.to_vec();
        &copy[..]
    } else {
        values
    };
    // SAFETY: the call is synchronous on the JS thread, so nothing else
    // touches `out` meanwhile; if the JS views overlap, `values` is now a copy
    // and the shared view of the JS memory is not used again.
    decode::classify_batch(values, unsafe { out.as_mut() });
}

js_api::decode_functions! {
    attr = napi,
    str = [String],
    bytes = [Uint8ArraySlice<'_>],
    u64s = [BigUint64ArraySlice<'_>],
    u32s_mut = [Uint32ArraySlice<'_>],
    out_bytes = [Uint8Array],
    err = [Error<Code>],
    classify_into = classify_into,
}

// `decodeTreePacked` is a raw Node-API callback: crates/node/src/fast.rs.

/// The tree strings from id `from` on, while the table is at `generation`.
#[napi(js_name = "treeStrings")]
pub fn tree_strings(generation: u32, from: u32) -> Vec<String> {
    decode::packed::strings_from(generation, from)
}
