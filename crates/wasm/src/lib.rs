//! wasm-bindgen shim over `kvm-debug-decode`, built by wasm-pack
//! (scripts/build-wasm.sh). It exposes the same functions, with the same
//! names and semantics, as the native addon (crates/node/src/decode.rs):
//! each converts its arguments, calls one core function, converts the result.
//!
//! A 64-bit value crosses as two u32 halves (`lo` = bits 31:0, `hi` = bits
//! 63:32). Core errors become a JS `Error` whose `.code` is the core's stable
//! `Error::code()` and whose message is the core's `Display` text.
#![deny(missing_docs)]

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The JS global `Error`.
    #[wasm_bindgen(js_name = Error)]
    type JsError;

    #[wasm_bindgen(constructor, js_class = "Error")]
    fn new(message: &str) -> JsError;

    #[wasm_bindgen(method, setter = code, js_class = "Error")]
    fn set_code(this: &JsError, code: &str);
}

/// Maps a core error into a JS `Error` with `.code`, like the native addon.
fn to_js(e: decode::Error) -> JsValue {
    let err = JsError::new(&e.to_string());
    err.set_code(e.code());
    err.into()
}

#[inline]
fn join(lo: u32, hi: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}

/// The field tree of ESR_ELx `hi:lo` as JSON (see `Field::to_json`).
#[wasm_bindgen(js_name = decodeJson)]
pub fn decode_json(lo: u32, hi: u32) -> String {
    decode::decode(join(lo, hi)).to_json()
}

/// The field tree of ESR_ELx `hi:lo` as indented multi-line text.
/// (Not `decodeText`: wasm-bindgen 0.2.130 glue has its own `decodeText`
/// helper that would shadow it, so both builds use this name.)
#[wasm_bindgen(js_name = decodeTextTree)]
pub fn decode_text(lo: u32, hi: u32) -> String {
    decode::decode(join(lo, hi)).to_text()
}

/// One-line summary of ESR_ELx `hi:lo`.
#[wasm_bindgen]
pub fn summary(lo: u32, hi: u32) -> String {
    decode::summary(join(lo, hi))
}

/// The packed classification of ESR_ELx `hi:lo` (`Classification::pack`).
#[wasm_bindgen]
pub fn classify(lo: u32, hi: u32) -> u32 {
    decode::classify(join(lo, hi)).pack()
}

/// Short class names indexed by EC (`classify::CLASS_NAMES`).
#[wasm_bindgen(js_name = classNames)]
pub fn class_names() -> Vec<String> {
    decode::classify::CLASS_NAMES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Joins KVM's debug-exit pair (`hsr`, `hsr_high`, flag) into one ESR.
#[wasm_bindgen(js_name = esrFromKvmDebugExit)]
pub fn esr_from_kvm_debug_exit(hsr: u32, hsr_high: u32, high_valid: bool) -> u64 {
    decode::esr_from_kvm_debug_exit(hsr, hsr_high, high_valid)
}

/// Batch classification: `out[i]` = packed classification of `values[i]`.
/// Fails with ERR_WRONG_LENGTH when `out` is shorter than `values`.
/// (`&mut [u32]` is copied back into the caller's Uint32Array on return.)
#[wasm_bindgen(js_name = classifyBatch)]
pub fn classify_batch(values: &[u64], out: &mut [u32]) -> Result<(), JsValue> {
    if out.len() < values.len() {
        return Err(to_js(decode::Error::WrongLength {
            len: out.len(),
            expected: values.len(),
        }));
    }
    classify_batch_simd(values, out);
    Ok(())
}

fn kind(name: &str) -> Result<decode::BreakpointKind, JsValue> {
    decode::BreakpointKind::parse(name).map_err(to_js)
}

/// The breakpoint instruction `kind` (`brk64`, `hlt64`, `bkpt32`, `bkpt16`)
/// with immediate `imm`, as a word (T32: the low halfword).
#[wasm_bindgen(js_name = encodeBreakpoint)]
pub fn encode_breakpoint(kind_name: &str, imm: u32) -> Result<u32, JsValue> {
    kind(kind_name)?.encode(imm).map_err(to_js)
}

/// The instruction's bytes in memory order (always little-endian).
#[wasm_bindgen(js_name = breakpointBytes)]
pub fn breakpoint_bytes(kind_name: &str, imm: u32) -> Result<Vec<u8>, JsValue> {
    kind(kind_name)?.to_le_bytes(imm).map_err(to_js)
}

/// The immediate if `insn` is a `kind` instruction, else -1 (-1 rather than
/// null/undefined so that both builds return the same JS value).
#[wasm_bindgen(js_name = recogniseBreakpoint)]
pub fn recognise_breakpoint(kind_name: &str, insn: u32) -> Result<i32, JsValue> {
    Ok(kind(kind_name)?.recognise(insn).map_or(-1, i32::from))
}

/// Plans inserting our breakpoint at `addrHi:addrLo` whose bytes are now
/// `current`; returns the bytes to write (the bytes to save are `current`).
#[wasm_bindgen(js_name = planInsert)]
pub fn plan_insert(
    kind_name: &str,
    addr_lo: u32,
    addr_hi: u32,
    current: &[u8],
) -> Result<Vec<u8>, JsValue> {
    let plan = decode::patch::plan_insert(kind(kind_name)?, join(addr_lo, addr_hi), current)
        .map_err(to_js)?;
    Ok(plan.patch)
}

/// Plans removing our breakpoint at `addrHi:addrLo`: returns the bytes to
/// write back, or an empty array when `current` already equals `saved`.
/// A guest that rewrote our instruction is an ERR_PATCH_CONFLICT error.
#[wasm_bindgen(js_name = planRemove)]
pub fn plan_remove(
    kind_name: &str,
    addr_lo: u32,
    addr_hi: u32,
    saved: &[u8],
    current: &[u8],
) -> Result<Vec<u8>, JsValue> {
    let plan = decode::patch::plan_remove(kind(kind_name)?, join(addr_lo, addr_hi), saved, current)
        .map_err(to_js)?;
    Ok(plan.write().map_or_else(Vec::new, |(_, b)| b.to_vec()))
}

/// The zero-copy batch path (added for bench/): a workspace of `capacity`
/// values and `capacity` packed words that lives in wasm linear memory. JS
/// writes values straight into it (a BigUint64Array over `wasmMemory().buffer`
/// at `valuesPtr()`) and reads the words straight out (a Uint32Array at
/// `outPtr()`), so `classify` copies nothing across the boundary, whereas
/// `classifyBatch` copies 8 bytes in and 4 + 4 bytes in and out per value.
/// Any wasm allocation may grow the memory and detach such views: take them
/// again after creating a buffer or calling a function that allocates.
#[wasm_bindgen]
pub struct BatchBuffer {
    values: Vec<u64>,
    out: Vec<u32>,
}

#[wasm_bindgen]
impl BatchBuffer {
    /// A zeroed workspace for up to `capacity` values.
    #[wasm_bindgen(constructor)]
    pub fn new(capacity: usize) -> BatchBuffer {
        BatchBuffer {
            values: vec![0; capacity],
            out: vec![0; capacity],
        }
    }

    /// How many values the workspace holds.
    #[wasm_bindgen(getter)]
    pub fn capacity(&self) -> usize {
        self.values.len()
    }

    /// Byte offset of the values (u64, 8-aligned) in wasm memory.
    #[wasm_bindgen(js_name = valuesPtr)]
    pub fn values_ptr(&self) -> usize {
        self.values.as_ptr() as usize
    }

    /// Byte offset of the packed words (u32, 4-aligned) in wasm memory.
    #[wasm_bindgen(js_name = outPtr)]
    pub fn out_ptr(&self) -> usize {
        self.out.as_ptr() as usize
    }

    /// Classifies the first `len` values into the first `len` words.
    /// Fails with ERR_WRONG_LENGTH when `len` exceeds the capacity.
    pub fn classify(&mut self, len: usize) -> Result<(), JsValue> {
        if len > self.values.len() {
            return Err(to_js(decode::Error::WrongLength {
                len: self.values.len(),
                expected: len,
            }));
        }
        classify_batch_simd(&self.values[..len], &mut self.out[..len]);
        Ok(())
    }
}

/// `decode::classify_batch` compiled with wasm SIMD (simd128, supported by
/// Node >= 16.4 and current browsers), so that LLVM vectorises the
/// branch-free `pack_value` loop as it does on x86-64; the rest of the module
/// stays scalar. Same results as the core (the bench checks every batch).
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
fn classify_batch_simd(values: &[u64], out: &mut [u32]) {
    for (o, v) in out.iter_mut().zip(values) {
        *o = decode::classify::pack_value(*v);
    }
}

/// The module's `WebAssembly.Memory`, for views over a [`BatchBuffer`].
#[wasm_bindgen(js_name = wasmMemory)]
pub fn wasm_memory() -> JsValue {
    wasm_bindgen::memory()
}
