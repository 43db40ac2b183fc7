//! Decode bindings: each function converts its arguments, calls one core
//! function of `kvm-debug-decode`, and converts the result. The wasm build
//! (crates/wasm/src/lib.rs) exposes the same names with the same semantics.
//!
//! A 64-bit value crosses as two u32 halves (`lo` = bits 31:0, `hi` = bits
//! 63:32): two JS numbers are cheaper than one BigInt on the hot path.
//!
//! `classify(lo, hi)` is not here: it is a raw Node-API callback in fast.rs
//! (napi-rs's per-call bookkeeping cost more than the classification).

use napi::bindgen_prelude::{
    BigUint64ArraySlice, Error, Result, Uint32ArraySlice, Uint8Array, Uint8ArraySlice,
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

#[inline]
fn join(lo: u32, hi: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The field tree of ESR_ELx `hi:lo` as JSON (see `Field::to_json`).
#[napi(js_name = "decodeJson")]
pub fn decode_json(lo: u32, hi: u32) -> String {
    decode::decode(join(lo, hi)).to_json()
}

/// The field tree of ESR_ELx `hi:lo` as indented multi-line text.
/// (Not `decodeText`: wasm-bindgen 0.2.130 glue has its own `decodeText`
/// helper that would shadow it, so both builds use this name.)
#[napi(js_name = "decodeTextTree")]
pub fn decode_text(lo: u32, hi: u32) -> String {
    decode::decode(join(lo, hi)).to_text()
}

/// One-line summary of ESR_ELx `hi:lo`.
#[napi]
pub fn summary(lo: u32, hi: u32) -> String {
    decode::summary(join(lo, hi))
}

/// Short class names indexed by EC (`classify::CLASS_NAMES`).
#[napi(js_name = "classNames")]
pub fn class_names() -> Vec<&'static str> {
    decode::classify::CLASS_NAMES.to_vec()
}

/// Joins KVM's debug-exit pair (`hsr`, `hsr_high`, flag) into one ESR.
#[napi(js_name = "esrFromKvmDebugExit")]
pub fn esr_from_kvm_debug_exit(hsr: u32, hsr_high: u32, high_valid: bool) -> u64 {
    decode::esr_from_kvm_debug_exit(hsr, hsr_high, high_valid)
}

/// Batch classification: `out[i]` = packed classification of `values[i]`.
/// Fails with ERR_WRONG_LENGTH when `out` is shorter than `values`. Views over
/// the same memory give what the wasm build gives (it copies the values in
/// before writing `out`): the values are copied first.
#[napi(js_name = "classifyBatch")]
pub fn classify_batch(
    values: BigUint64ArraySlice<'_>,
    mut out: Uint32ArraySlice<'_>,
) -> Result<(), Code> {
    let values: &[u64] = &values;
    if out.len() < values.len() {
        return Err(to_js(decode::Error::WrongLength {
            len: out.len(),
            expected: values.len(),
        }));
    }
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
    Ok(())
}

fn kind(name: &str) -> Result<decode::BreakpointKind, Code> {
    decode::BreakpointKind::parse(name).map_err(to_js)
}

/// The breakpoint instruction `kind` (`brk64`, `hlt64`, `bkpt32`, `bkpt16`)
/// with immediate `imm`, as a word (T32: the low halfword).
#[napi(js_name = "encodeBreakpoint")]
pub fn encode_breakpoint(kind_name: String, imm: u32) -> Result<u32, Code> {
    kind(&kind_name)?.encode(imm).map_err(to_js)
}

/// The instruction's bytes in memory order (always little-endian).
#[napi(js_name = "breakpointBytes")]
pub fn breakpoint_bytes(kind_name: String, imm: u32) -> Result<Uint8Array, Code> {
    Ok(kind(&kind_name)?.to_le_bytes(imm).map_err(to_js)?.into())
}

/// The immediate if `insn` is a `kind` instruction, else -1 (-1 rather than
/// null/undefined so that both builds return the same JS value).
#[napi(js_name = "recogniseBreakpoint")]
pub fn recognise_breakpoint(kind_name: String, insn: u32) -> Result<i32, Code> {
    Ok(kind(&kind_name)?.recognise(insn).map_or(-1, i32::from))
}

/// Plans inserting our breakpoint at `addrHi:addrLo` whose bytes are now
/// `current`; returns the bytes to write (the bytes to save are `current`).
#[napi(js_name = "planInsert")]
pub fn plan_insert(
    kind_name: String,
    addr_lo: u32,
    addr_hi: u32,
    current: Uint8ArraySlice<'_>,
) -> Result<Uint8Array, Code> {
    let plan = decode::patch::plan_insert(kind(&kind_name)?, join(addr_lo, addr_hi), &current)
        .map_err(to_js)?;
    Ok(plan.patch.into())
}

/// Plans removing our breakpoint at `addrHi:addrLo`: returns the bytes to
/// write back, or an empty array when `current` already equals `saved`.
/// A guest that rewrote our instruction is an ERR_PATCH_CONFLICT error.
#[napi(js_name = "planRemove")]
pub fn plan_remove(
    kind_name: String,
    addr_lo: u32,
    addr_hi: u32,
    saved: Uint8ArraySlice<'_>,
    current: Uint8ArraySlice<'_>,
) -> Result<Uint8Array, Code> {
    let plan =
        decode::patch::plan_remove(kind(&kind_name)?, join(addr_lo, addr_hi), &saved, &current)
            .map_err(to_js)?;
    Ok(plan
        .write()
        .map_or_else(Vec::new, |(_, b)| b.to_vec())
        .into())
}
