//! wasm-bindgen shim over `kvm-debug-decode`, built by wasm-pack
//! (scripts/build-wasm.sh). Its functions are declared once, in
//! `js_api::decode_functions!` (crates/js-api), which the native addon
//! (crates/node/src/decode.rs) expands too: same names, same semantics.
//! Here: wasm-bindgen's types and errors.
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

js_api::decode_functions! {
    attr = wasm_bindgen,
    str = [&str],
    bytes = [&[u8]],
    u64s = [&[u64]],
    u32s_mut = [&mut [u32]],
    out_bytes = [Vec<u8>],
    err = [JsValue],
    classify_into = classify_batch_simd,
}

/// The packed classification of ESR_ELx `hi:lo` (`Classification::pack`).
/// (Native has its own raw Node-API callback for this one: crates/node/src/fast.rs.)
#[wasm_bindgen]
pub fn classify(lo: u32, hi: u32) -> u32 {
    decode::classify(join(lo, hi)).pack()
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

/// Where the last tree's words are (`decode::packed`), in wasm memory.
static TREE_WORDS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// The field tree of ESR_ELx `hi:lo` as words (`decode::packed`): returns
/// their byte offset in wasm memory, where JS reads them with a Uint32Array
/// over `wasmMemory().buffer` (the header says how many nodes follow). They
/// stay there until the next call. Nothing is copied across the boundary.
#[wasm_bindgen(js_name = decodeTreeWords)]
pub fn decode_tree_words(lo: u32, hi: u32) -> usize {
    let mut words = TREE_WORDS.lock().unwrap_or_else(|p| p.into_inner());
    let v = join(lo, hi);
    let need = decode::packed::decode_packed(v, &mut words);
    if need > words.len() {
        words.resize(need, 0);
        decode::packed::decode_packed(v, &mut words);
    }
    words.as_ptr() as usize
}

/// The tree strings from id `from` on, while the table is at `generation`.
#[wasm_bindgen(js_name = treeStrings)]
pub fn tree_strings(generation: u32, from: u32) -> Vec<String> {
    decode::packed::strings_from(generation, from)
}
