//! The decode functions that both JavaScript shims expose, each declared
//! once: its JS name, its doc comment, its signature and its body.
//! `crates/node` (napi-rs) and `crates/wasm` (wasm-bindgen) each expand
//! [`decode_functions!`] with their own attribute and their own spellings of
//! the few types that differ, so the two builds cannot drift apart.
//!
//! What a shim passes:
//! * `attr`: the binding attribute, `napi` or `wasm_bindgen`;
//! * `str`, `bytes`, `u64s`, `u32s_mut`: its argument types for a string, a
//!   byte array, a `BigUint64Array` and a writable `Uint32Array`;
//! * `out_bytes`: its return type for a byte array (built with `.into()` from `Vec<u8>`);
//! * `err`: its error type, made from a `decode::Error` by its own `to_js`;
//! * `classify_into`: its fastest `fn(values, out)` for `classifyBatch`.
//!
//! Types arrive as raw token trees (never `ty` fragments), so the attribute
//! macros see them exactly as if written by hand.
#![no_std]
#![deny(missing_docs)]

/// Expands to every shared decode function (see the crate docs).
#[macro_export]
macro_rules! decode_functions {
    (
        attr = $attr:ident,
        str = [$($str:tt)*],
        bytes = [$($bytes:tt)*],
        u64s = [$($u64s:tt)*],
        u32s_mut = [$($u32s:tt)*],
        out_bytes = [$($out:tt)*],
        err = [$($err:tt)*],
        classify_into = $classify_into:path $(,)?
    ) => {
        #[inline]
        fn join(lo: u32, hi: u32) -> u64 {
            (u64::from(hi) << 32) | u64::from(lo)
        }

        fn kind(name: &str) -> Result<decode::BreakpointKind, $($err)*> {
            decode::BreakpointKind::parse(name).map_err(to_js)
        }

        /// The field tree of ESR_ELx `hi:lo` as JSON (see `Field::to_json`).
        #[$attr(js_name = "decodeJson")]
        pub fn decode_json(lo: u32, hi: u32) -> String {
            decode::decode(join(lo, hi)).to_json()
        }

        /// The field tree of ESR_ELx `hi:lo` as indented multi-line text.
        /// (Not `decodeText`: wasm-bindgen 0.2.130 glue has its own `decodeText`
        /// helper that would shadow it, so both builds use this name.)
        #[$attr(js_name = "decodeTextTree")]
        pub fn decode_text(lo: u32, hi: u32) -> String {
            decode::decode(join(lo, hi)).to_text()
        }

        /// `kvm-debug decode`'s output for `values` (`decode::render_many`) as
        /// UTF-8 bytes: per value its summary and text tree, or with `json` its
        /// JSON tree on one line; `continued` when earlier output precedes it.
        /// Bytes, not a string: they go to stdout as they are, where a string
        /// was converted twice (into JS, then back to UTF-8 to be written).
        #[$attr(js_name = "renderMany")]
        pub fn render_many(values: $($u64s)*, json: bool, continued: bool) -> $($out)* {
            let rendering = if json { decode::Rendering::Json } else { decode::Rendering::Text };
            decode::render_many(&values, rendering, continued).into_bytes().into()
        }

        /// One-line summary of ESR_ELx `hi:lo`.
        #[$attr(js_name = "summary")]
        pub fn summary(lo: u32, hi: u32) -> String {
            decode::summary(join(lo, hi))
        }

        /// Short class names indexed by EC (`classify::CLASS_NAMES`).
        #[$attr(js_name = "classNames")]
        pub fn class_names() -> Vec<String> {
            decode::classify::CLASS_NAMES.iter().map(|s| s.to_string()).collect()
        }

        /// Joins KVM's debug-exit pair (`hsr`, `hsr_high`, flag) into one ESR.
        #[$attr(js_name = "esrFromKvmDebugExit")]
        pub fn esr_from_kvm_debug_exit(hsr: u32, hsr_high: u32, high_valid: bool) -> u64 {
            decode::esr_from_kvm_debug_exit(hsr, hsr_high, high_valid)
        }

        /// Batch classification: `out[i]` = packed classification of `values[i]`.
        /// Fails with ERR_WRONG_LENGTH when `out` is shorter than `values`.
        #[$attr(js_name = "classifyBatch")]
        pub fn classify_batch(values: $($u64s)*, out: $($u32s)*) -> Result<(), $($err)*> {
            if out.len() < values.len() {
                return Err(to_js(decode::Error::WrongLength {
                    len: out.len(),
                    expected: values.len(),
                }));
            }
            $classify_into(&values, out);
            Ok(())
        }

        /// The breakpoint instruction `kind` (`brk64`, `hlt64`, `bkpt32`, `bkpt16`)
        /// with immediate `imm`, as a word (T32: the low halfword).
        #[$attr(js_name = "encodeBreakpoint")]
        pub fn encode_breakpoint(kind_name: $($str)*, imm: u32) -> Result<u32, $($err)*> {
            kind(&kind_name)?.encode(imm).map_err(to_js)
        }

        /// The instruction's bytes in memory order (always little-endian).
        #[$attr(js_name = "breakpointBytes")]
        pub fn breakpoint_bytes(kind_name: $($str)*, imm: u32) -> Result<$($out)*, $($err)*> {
            Ok(kind(&kind_name)?.to_le_bytes(imm).map_err(to_js)?.into())
        }

        /// The immediate if `insn` is a `kind` instruction, else -1 (-1 rather than
        /// null/undefined so that both builds return the same JS value).
        #[$attr(js_name = "recogniseBreakpoint")]
        pub fn recognise_breakpoint(kind_name: $($str)*, insn: u32) -> Result<i32, $($err)*> {
            Ok(kind(&kind_name)?.recognise(insn).map_or(-1, i32::from))
        }

        /// Plans inserting our breakpoint at `addrHi:addrLo` whose bytes are now
        /// `current`; returns the bytes to write (the bytes to save are `current`).
        #[$attr(js_name = "planInsert")]
        pub fn plan_insert(
            kind_name: $($str)*,
            addr_lo: u32,
            addr_hi: u32,
            current: $($bytes)*,
        ) -> Result<$($out)*, $($err)*> {
            let plan = decode::patch::plan_insert(kind(&kind_name)?, join(addr_lo, addr_hi), &current)
                .map_err(to_js)?;
            Ok(plan.patch.into())
        }

        /// Plans removing our breakpoint at `addrHi:addrLo`: returns the bytes to
        /// write back, or an empty array when `current` already equals `saved`.
        /// A guest that rewrote our instruction is an ERR_PATCH_CONFLICT error.
        #[$attr(js_name = "planRemove")]
        pub fn plan_remove(
            kind_name: $($str)*,
            addr_lo: u32,
            addr_hi: u32,
            saved: $($bytes)*,
            current: $($bytes)*,
        ) -> Result<$($out)*, $($err)*> {
            let plan = decode::patch::plan_remove(kind(&kind_name)?, join(addr_lo, addr_hi), &saved, &current)
                .map_err(to_js)?;
            Ok(plan.write().map_or_else(Vec::new, |(_, b)| b.to_vec()).into())
        }

        /// The kernel symbol table recovered from an arm64 Linux `Image` (its own
        /// kallsyms, `decode::kallsyms`), as an ELF symbol file gdb loads with
        /// `symbol-file`. ERR_NO_KALLSYMS says what was missing.
        #[$attr(js_name = "kallsymsElf")]
        pub fn kallsyms_elf(image: $($bytes)*) -> Result<$($out)*, $($err)*> {
            Ok(decode::kallsyms::recover(&image).map_err(to_js)?.to_elf().into())
        }

        /// The same table as `nm` text, "address type name" per line (as /proc/kallsyms).
        #[$attr(js_name = "kallsymsNm")]
        pub fn kallsyms_nm(image: $($bytes)*) -> Result<String, $($err)*> {
            Ok(decode::kallsyms::recover(&image).map_err(to_js)?.to_nm())
        }

        /// Where a running kernel's KASLR slide is read (`decode::kaslr`), found in its
        /// arm64 `Image`, as JSON: `link` (the link address of `_text`), `kimageVaddr`
        /// (the file offset of `kimage_vaddr`) and `relocatable`. ERR_NO_KASLR_ANCHOR
        /// says what was missing.
        #[$attr(js_name = "kaslrAnchor")]
        pub fn kaslr_anchor(image: $($bytes)*) -> Result<String, $($err)*> {
            Ok(decode::kaslr::anchor(&image).map_err(to_js)?.to_json())
        }

        /// Walks stage-1 EL1&0 page tables in a memory dump (`dump` at guest-physical
        /// `baseHi:baseLo`) for `vaHi:vaLo`, with `regs` = [SCTLR_EL1, TCR_EL1,
        /// TTBR0_EL1, TTBR1_EL1]; returns the translation as JSON
        /// (`Translation::to_json`). A failed walk is an error whose code is the
        /// walker's (ERR_WALK_NOT_VALID, ...) and whose message names the level and
        /// the descriptor; fewer than 4 registers is ERR_WRONG_LENGTH.
        #[$attr(js_name = "walkStage1")]
        pub fn walk_stage1(
            regs: $($u64s)*,
            va_lo: u32,
            va_hi: u32,
            base_lo: u32,
            base_hi: u32,
            dump: $($bytes)*,
        ) -> Result<String, $($err)*> {
            let r: &[u64] = &regs;
            let [sctlr_el1, tcr_el1, ttbr0_el1, ttbr1_el1] = *r else {
                return Err(to_js(decode::Error::WrongLength { len: r.len(), expected: 4 }));
            };
            let regs = decode::walk::Stage1Regs { sctlr_el1, tcr_el1, ttbr0_el1, ttbr1_el1 };
            let mem = decode::walk::PhysDump { base: join(base_lo, base_hi), bytes: &dump };
            decode::walk::translate(&mem, &regs, join(va_lo, va_hi))
                .map(|t| t.to_json())
                .map_err(|e| to_js(decode::Error::Walk(e)))
        }
    };
}
