//! The field tree as numbers, for the JS bindings: JSON text cost about 8 µs a
//! tree to build and parse, most of the time of a `decodeTree` call. Here a
//! tree is a run of `u32` words in preorder, and its names and meanings are
//! ids into a table of interned strings that JS caches and tops up only when
//! a string it has not seen appears.
//!
//! Words: a header of [`HEADER_WORDS`] (the table's generation, how many
//! strings it holds, how many nodes follow), then [`NODE_WORDS`] per node:
//! name id; `hi << 8 | lo`; the value's low and high 32 bits; the meaning's
//! id + 1 (0: none); the number of direct sub-fields. The table never holds
//! more than [`MAX_STRINGS`]: it is cleared when full and its generation
//! changes, which tells JS to clear its copy.

use crate::field::Field;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

/// The table's hasher: FxHash's multiply-rotate (rustc's own), a word at a
/// time. SipHash, the default, cost more than the rest of a tree; the keys
/// are our own field names and meanings, not attacker-chosen.
#[derive(Default)]
struct FxHasher(u64);

/// FxHash's multiplier (rustc_hash: `0x51_7c_c1_b7_27_22_0a_95`).
const FX_SEED: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(FX_SEED);
        }
    }

    fn write_usize(&mut self, v: usize) {
        self.0 = (self.0.rotate_left(5) ^ v as u64).wrapping_mul(FX_SEED);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Words before the first node.
pub const HEADER_WORDS: usize = 3;
/// Words per node.
pub const NODE_WORDS: usize = 6;
/// Most strings the table holds before it starts over (meanings can carry
/// values, so the set of strings is not fixed).
pub const MAX_STRINGS: usize = 1 << 16;

#[derive(Default)]
struct Table {
    generation: u32,
    ids: FxMap<String, u32>,
    /// Ids of `&'static str`s by address and length: most names and meanings
    /// are literals, and two words hash faster than their text (packing a
    /// tree took 105 ns on top of its decode, not 220).
    static_ids: FxMap<(usize, usize), u32>,
    strings: Vec<String>,
}

impl Table {
    // Not `&str`: whether it is `Borrowed` (so `'static`) is the point.
    #[allow(clippy::ptr_arg)]
    fn id_of(&mut self, s: &Cow<'static, str>) -> u32 {
        match s {
            Cow::Borrowed(text) => {
                let key = (text.as_ptr() as usize, text.len());
                if let Some(&id) = self.static_ids.get(&key) {
                    return id;
                }
                let id = self.id(text);
                self.static_ids.insert(key, id);
                id
            }
            Cow::Owned(text) => self.id(text),
        }
    }

    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(s.to_owned());
        self.ids.insert(s.to_owned(), id);
        id
    }
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

fn count(f: &Field) -> usize {
    1 + f.fields.iter().map(count).sum::<usize>()
}

fn write(f: &Field, t: &mut Table, out: &mut [u32], at: &mut usize) {
    let node = &mut out[*at..*at + NODE_WORDS];
    node[0] = t.id_of(&f.name);
    node[1] = (u32::from(f.hi) << 8) | u32::from(f.lo);
    node[2] = f.value as u32;
    node[3] = (f.value >> 32) as u32;
    node[4] = f.meaning.as_ref().map_or(0, |m| t.id_of(m) + 1);
    node[5] = f.fields.len() as u32;
    *at += NODE_WORDS;
    for sub in &f.fields {
        write(sub, t, out, at);
    }
}

/// Writes the tree of ESR_ELx `value` into `out` and returns the words it
/// takes. When `out` is shorter, nothing is written and the return value is
/// the length it needs.
pub fn decode_packed(value: u64, out: &mut [u32]) -> usize {
    let tree = crate::decode(value);
    let nodes = count(&tree);
    let need = HEADER_WORDS + NODE_WORDS * nodes;
    if out.len() < need {
        return need;
    }
    let mut guard = TABLE.lock().unwrap_or_else(|p| p.into_inner());
    let t = guard.get_or_insert_with(Table::default);
    // Room for every string of this tree, so that its ids stay valid.
    if t.strings.len() + 2 * nodes > MAX_STRINGS {
        *t = Table {
            generation: t.generation.wrapping_add(1),
            ..Table::default()
        };
    }
    let mut at = HEADER_WORDS;
    write(&tree, t, out, &mut at);
    out[0] = t.generation;
    out[1] = t.strings.len() as u32;
    out[2] = ((at - HEADER_WORDS) / NODE_WORDS) as u32;
    need
}

/// The interned strings from id `from` on, if the table is still at
/// `generation` (otherwise none: the caller decodes again and sees the new one).
pub fn strings_from(generation: u32, from: u32) -> Vec<String> {
    let guard = TABLE.lock().unwrap_or_else(|p| p.into_inner());
    match guard.as_ref() {
        Some(t) if t.generation == generation => t
            .strings
            .get(from as usize..)
            .map(<[String]>::to_vec)
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rebuilds the tree from the words and the table, as the JS side does.
    fn unpack(words: &[u32]) -> Field {
        let strings = strings_from(words[0], 0);
        fn node(words: &[u32], at: &mut usize, s: &[String]) -> Field {
            let w = &words[*at..*at + NODE_WORDS];
            *at += NODE_WORDS;
            let mut f = Field {
                name: s[w[0] as usize].clone().into(),
                hi: (w[1] >> 8) as u8,
                lo: w[1] as u8,
                value: u64::from(w[2]) | (u64::from(w[3]) << 32),
                meaning: (w[4] != 0).then(|| s[w[4] as usize - 1].clone().into()),
                fields: Vec::new(),
            };
            for _ in 0..w[5] {
                let sub = node(words, at, s);
                f.fields.push(sub);
            }
            f
        }
        let mut at = HEADER_WORDS;
        node(words, &mut at, &strings)
    }

    #[test]
    fn the_words_and_strings_give_back_the_tree() {
        for v in [
            0x9600_0045u64,
            0xf200_0123,
            0xbe00_2000,
            0x8600_0407,
            0xffff_ffff_ffff_ffff,
            0,
        ] {
            let mut small = [0u32; 4];
            let need = decode_packed(v, &mut small);
            assert_eq!(small, [0; 4], "a short buffer is left alone");
            let mut out = vec![0u32; need];
            assert_eq!(decode_packed(v, &mut out), need);
            assert_eq!(unpack(&out), crate::decode(v), "{v:#x}");
            assert_eq!(out[2] as usize, (need - HEADER_WORDS) / NODE_WORDS);
        }
    }
}
