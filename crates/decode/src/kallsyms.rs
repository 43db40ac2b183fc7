//! The kernel's own symbol table, recovered from an arm64 `Image` alone.
//!
//! Distribution kernels ship a placeholder `System.map`; the real one and
//! vmlinux are only in the large `-dbg` package. But every kernel built with
//! CONFIG_KALLSYMS carries its symbols for `/proc/kallsyms`, compressed, in
//! its read-only data. The tables are what `scripts/kallsyms.c` writes
//! (Linux 6.1, CONFIG_KALLSYMS_BASE_RELATIVE), each 8-byte aligned:
//!
//! ```text
//! kallsyms_offsets        u32[num]   symbol address - relative_base
//! kallsyms_relative_base  u64        the lowest symbol address
//! kallsyms_num_syms       u32
//! kallsyms_names          num x (len, len token indices); len > 127 takes two bytes
//! kallsyms_markers        u32[ceil(num/256)]  offset of every 256th name
//! kallsyms_seqs_of_names  3 x num bytes (kernels that have it: 6.2, and 6.1 stable)
//! kallsyms_token_table    256 NUL-terminated strings
//! kallsyms_token_index    u16[256]   offset of each string
//! ```
//!
//! Finding them: the single-character tokens keep their own byte value as
//! index, so "0\0" .. "9\0" appear in order in the token table; the token
//! index that follows it must point at each string. Going back from there,
//! `num_syms` is the one value whose names decode to exactly the markers.
//! A relocatable Image (arm64's default) is linked with
//! `--no-apply-dynamic-relocs`, so `relative_base` reads 0 in the file: its
//! value is the addend of the R_AARCH64_RELATIVE entry that relocates it.

use crate::Error;

/// A recovered symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// Its address as linked (before any KASLR slide).
    pub addr: u64,
    /// The `nm` type letter (`T` global text, `t` local text, `D`, `d`, `B`, `R`, ...).
    pub kind: char,
    /// Its name.
    pub name: String,
}

/// The recovered table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kallsyms {
    /// Every kallsyms symbol, in the kernel's order (by address), then the
    /// exported symbols kallsyms does not have (data, without CONFIG_KALLSYMS_ALL).
    pub symbols: Vec<Symbol>,
    /// How many of `symbols` come from kallsyms (the rest from `__ksymtab`).
    pub from_kallsyms: usize,
    /// `kallsyms_relative_base`.
    pub relative_base: u64,
    /// Where `relative_base` came from: "image" (stored) or "rela" (its relocation).
    pub base_from: &'static str,
    /// File offsets of the tables found: (offsets, names, token table).
    pub tables: (usize, usize, usize),
}

/// R_AARCH64_RELATIVE (ELF for the Arm 64-bit Architecture, table "Dynamic relocations").
const R_AARCH64_RELATIVE: u64 = 1027;
/// One Elf64_Rela entry: r_offset, r_info, r_addend.
const RELA_BYTES: usize = 24;
/// The kernel image is linked at a 2 MiB-aligned address (arm64 KIMAGE_VADDR, booting.rst).
const LINK_ALIGN: u64 = 2 << 20;
/// Names are compressed to at most this many token bytes (KSYM_NAME_LEN 512, two length bytes).
const MAX_NAME_TOKENS: usize = 0x3fff;
/// KSYM_NAME_LEN (include/linux/kallsyms.h, 512 since 6.1).
const KSYM_NAME_MAX: usize = 512;
/// One `struct kernel_symbol` with PREL32 offsets.
const KSYMTAB_ENTRY: usize = 12;
/// Entries in a row, names rising, before a run counts as an export table.
const MIN_KSYMTAB_RUN: usize = 64;

fn no(why: impl Into<String>) -> Error {
    Error::NoKallsyms { why: why.into() }
}

fn u16_at(d: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(d: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(d: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(o..o + 8)?.try_into().ok()?))
}
fn align8(v: usize) -> usize {
    (v + 7) & !7
}

/// The token table: its file offset and the 256 tokens.
fn token_table(d: &[u8]) -> Option<(usize, usize, Vec<&[u8]>)> {
    let digits: Vec<u8> = (b'0'..=b'9').flat_map(|c| [c, 0]).collect();
    let mut from = 0;
    while let Some(hit) = find(&d[from..], &digits).map(|p| p + from) {
        from = hit + 1;
        // Walk tokens '0'..0xff to the end of the table; the index follows, 8-aligned.
        let mut end = hit;
        for _ in b'0'..=0xff {
            end += d[end..].iter().position(|&b| b == 0)? + 1;
        }
        let index = align8(end);
        let Some(idx) = (0..256)
            .map(|i| u16_at(d, index + 2 * i))
            .collect::<Option<Vec<u16>>>()
        else {
            continue;
        };
        let Some(start) = hit.checked_sub(usize::from(idx[usize::from(b'0')])) else {
            continue;
        };
        let ok = idx[0] == 0
            && idx.windows(2).all(|w| w[0] < w[1])
            && idx
                .iter()
                .skip(1)
                .all(|&o| d.get(start + usize::from(o) - 1) == Some(&0));
        if ok {
            let tokens = idx
                .iter()
                .map(|&o| {
                    let s = start + usize::from(o);
                    &d[s..s + d[s..].iter().position(|&b| b == 0).unwrap_or(0)]
                })
                .collect();
            return Some((start, index, tokens));
        }
    }
    None
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `n` names from `start`: their (token lists' offset, length) and the end, or None
/// when they run past `limit`.
fn names(d: &[u8], start: usize, n: usize, limit: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    let mut o = start;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if o >= limit {
            return None;
        }
        let mut len = usize::from(*d.get(o)?);
        o += 1;
        if len & 0x80 != 0 {
            len = (len & 0x7f) | (usize::from(*d.get(o)?) << 7);
            o += 1;
        }
        if len == 0 || len > MAX_NAME_TOKENS {
            return None;
        }
        out.push((o, len));
        o += len;
    }
    (o <= limit).then_some((out, o))
}

/// `relative_base` from the relocation that fills it in, for an Image linked
/// with `--no-apply-dynamic-relocs`: the R_AARCH64_RELATIVE entry at `at`.
fn base_from_rela(d: &[u8], at: usize) -> Option<(u64, u64)> {
    let info = R_AARCH64_RELATIVE.to_le_bytes();
    // The .rela.dyn entries are 24 bytes apart; an entry's link base (r_offset - at)
    // is 2 MiB aligned and no relocation of the table lies below it.
    let mut found = None;
    let mut min_offset = u64::MAX;
    let mut s = 8;
    while s + 16 <= d.len() {
        if d[s..s + 8] == info && (s - 8) % 8 == 0 {
            let e = s - 8;
            let (Some(r_offset), Some(addend)) = (u64_at(d, e), u64_at(d, e + 16)) else {
                break;
            };
            let strided = u64_at(d, e + RELA_BYTES + 8) == Some(R_AARCH64_RELATIVE)
                || e >= RELA_BYTES && u64_at(d, e - RELA_BYTES + 8) == Some(R_AARCH64_RELATIVE);
            if strided {
                min_offset = min_offset.min(r_offset);
                let base = r_offset.wrapping_sub(at as u64);
                if base % LINK_ALIGN == 0 && found.is_none() {
                    found = Some((base, addend));
                }
            }
        }
        s += 8;
    }
    let (base, addend) = found?;
    (base <= min_offset).then_some((addend, base))
}

/// An exported name: an identifier the name offset lands on. The linker tail-merges
/// strings, so `jiffies` may be the end of `nsecs_to_jiffies`: no NUL is required before it.
fn export_name(d: &[u8], at: usize) -> Option<&str> {
    let rest = d.get(at..)?;
    let end = rest.iter().take(KSYM_NAME_MAX).position(|&b| b == 0)?;
    let name = &rest[..end];
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    (!name.is_empty() && !name[0].is_ascii_digit() && name.iter().all(|&c| ident(c)))
        .then(|| std::str::from_utf8(name).ok())
        .flatten()
}

/// Exported symbols from `__ksymtab` and `__ksymtab_gpl` (include/linux/export.h with
/// CONFIG_HAVE_ARCH_PREL32_RELOCATIONS: `struct kernel_symbol { int value_offset;
/// int name_offset; int namespace_offset; }`, each relative to its own field), found as
/// runs of entries whose names rise strictly. `link` is the address of file offset 0.
fn exports(d: &[u8], link: u64) -> Vec<(String, u64)> {
    let entry = |e: usize| -> Option<(&str, i64)> {
        let v = i64::from(i32::from_le_bytes(d.get(e..e + 4)?.try_into().ok()?));
        let n = i64::from(i32::from_le_bytes(d.get(e + 4..e + 8)?.try_into().ok()?));
        let name = export_name(d, usize::try_from(e as i64 + 4 + n).ok()?)?;
        Some((name, e as i64 + v))
    };
    let mut out = Vec::new();
    let mut e = 0;
    while e + KSYMTAB_ENTRY <= d.len() {
        let mut run = vec![];
        let mut at = e;
        while let Some((name, value)) = entry(at) {
            if run
                .last()
                .is_some_and(|(prev, _): &(&str, i64)| *prev >= name)
            {
                break;
            }
            run.push((name, value));
            at += KSYMTAB_ENTRY;
        }
        if run.len() >= MIN_KSYMTAB_RUN {
            out.extend(
                run.into_iter()
                    .map(|(n, v)| (n.to_string(), link.wrapping_add(v as u64))),
            );
            e = at;
        } else {
            e += 4;
        }
    }
    out
}

/// Recovers the symbol table of an arm64 Linux `Image`.
pub fn recover(d: &[u8]) -> Result<Kallsyms, Error> {
    let (tt, _ti, tokens) = token_table(d).ok_or_else(|| {
        no(
            "no kallsyms token table (\"0\\0\" .. \"9\\0\" with its index) in the image: \
            was it built without CONFIG_KALLSYMS, or is it compressed?",
        )
    })?;
    // num_syms: the one value, 8-aligned below the token table, whose names decode to the markers.
    let mut found = None;
    let lowest = tt.saturating_sub(64 << 20);
    let mut pos = tt & !7;
    while pos > lowest {
        pos -= 8;
        let Some(n) = u32_at(d, pos).map(|v| v as usize) else {
            continue;
        };
        if !(1..=1 << 22).contains(&n) {
            continue;
        }
        let start = align8(pos + 4);
        let Some((list, end)) = names(d, start, n, tt) else {
            continue;
        };
        let markers = align8(end);
        let m = n.div_ceil(256);
        let ok = (0..m).all(|k| {
            u32_at(d, markers + 4 * k).map(|v| v as usize)
                == Some(name_offset(start, list[k * 256]))
        });
        let after = align8(markers + 4 * m);
        // Then either the token table, or the 3-byte kallsyms_seqs_of_names before it.
        if ok && (after == tt || align8(after + 3 * n) == tt) {
            found = Some((pos, n, start, list));
            break;
        }
    }
    let (pos, n, names_at, list) = found.ok_or_else(|| {
        no("found the token table but no kallsyms_num_syms / names / markers before it")
    })?;
    let base_at = pos - 8;
    let offsets_at = base_at - align8(4 * n);
    let stored = u64_at(d, base_at).unwrap_or(0);
    let (relative_base, base_from, link) = if stored != 0 {
        // Not relocatable: the image starts at the 2 MiB-aligned base below its first symbol.
        (stored, "image", stored & !(LINK_ALIGN - 1))
    } else {
        let (b, link) = base_from_rela(d, base_at).ok_or_else(|| {
            no(format!(
                "kallsyms_relative_base at {base_at:#x} is 0 and no R_AARCH64_RELATIVE entry relocates it"
            ))
        })?;
        (b, "rela", link)
    };
    let mut symbols = Vec::with_capacity(n);
    for (k, &(at, len)) in list.iter().enumerate() {
        let mut text = Vec::with_capacity(32);
        for &t in &d[at..at + len] {
            text.extend_from_slice(tokens[usize::from(t)]);
        }
        let (&kind, name) = text
            .split_first()
            .ok_or_else(|| no(format!("symbol {k} expands to nothing")))?;
        let off = u32_at(d, offsets_at + 4 * k).ok_or_else(|| no("kallsyms_offsets runs out"))?;
        symbols.push(Symbol {
            addr: relative_base.wrapping_add(u64::from(off)),
            kind: char::from(kind),
            name: String::from_utf8_lossy(name).into_owned(),
        });
    }
    let from_kallsyms = symbols.len();
    let known: std::collections::HashSet<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
    let extra: Vec<Symbol> = exports(d, link)
        .into_iter()
        .filter(|(n, _)| !known.contains(n.as_str()))
        .map(|(name, addr)| Symbol {
            addr,
            kind: 'D',
            name,
        })
        .collect();
    symbols.extend(extra);
    Ok(Kallsyms {
        symbols,
        from_kallsyms,
        relative_base,
        base_from,
        tables: (offsets_at, names_at, tt),
    })
}

/// Offset, from the start of kallsyms_names, of a name's length byte (one byte, two above 127).
fn name_offset(start: usize, (tokens_at, len): (usize, usize)) -> usize {
    tokens_at - if len > 0x7f { 2 } else { 1 } - start
}

/// ELF constants (System V ABI, ELF-64 Object File Format; ELF for the Arm 64-bit Architecture).
mod elf {
    pub const ET_EXEC: u16 = 2;
    pub const EM_AARCH64: u16 = 183;
    pub const SHT_SYMTAB: u32 = 2;
    pub const SHT_STRTAB: u32 = 3;
    pub const SHT_NOBITS: u32 = 8;
    pub const SHF_ALLOC: u64 = 0x2;
    pub const SHF_EXECINSTR: u64 = 0x4;
    pub const SHF_WRITE: u64 = 0x1;
    pub const STB_LOCAL: u8 = 0;
    pub const STB_GLOBAL: u8 = 1;
    pub const STB_WEAK: u8 = 2;
    pub const STT_NOTYPE: u8 = 0;
    pub const STT_OBJECT: u8 = 1;
    pub const STT_FUNC: u8 = 2;
    pub const SHN_ABS: u16 = 0xfff1;
    pub const EHDR: usize = 64;
    pub const SHDR: usize = 64;
    pub const SYM: usize = 24;
}

/// Function sizes are the distance to the next symbol, at most this much.
const MAX_FUNC_SIZE: u64 = 1 << 20;

impl Kallsyms {
    /// The symbols as `nm` prints them: "addr type name". The kallsyms part is
    /// /proc/kallsyms line for line (without modules); the exports follow after a
    /// `# __ksymtab` comment line.
    pub fn to_nm(&self) -> String {
        let mut out = String::with_capacity(self.symbols.len() * 40);
        for (i, s) in self.symbols.iter().enumerate() {
            if i == self.from_kallsyms {
                out.push_str("# __ksymtab: exported symbols kallsyms does not have\n");
            }
            out.push_str(&format!("{:016x} {} {}\n", s.addr, s.kind, s.name));
        }
        out
    }

    /// An ELF file gdb loads with `symbol-file`: ET_EXEC for AArch64 with one
    /// NOBITS `.text` spanning the kernel and a `.symtab` of every symbol at its
    /// address (text as functions sized to the next symbol, data as objects,
    /// lower-case `nm` types local, `w`/`W` weak). No code or data is in it.
    pub fn to_elf(&self) -> Vec<u8> {
        use elf::*;
        let mut sorted: Vec<&Symbol> = self.symbols.iter().collect();
        sorted.sort_by_key(|s| s.addr);
        let next: std::collections::HashMap<u64, u64> = sorted
            .windows(2)
            .filter(|w| w[1].addr > w[0].addr)
            .map(|w| (w[0].addr, w[1].addr))
            .collect();
        // Text symbols in a NOBITS .text, the others in a NOBITS .data (gdb then calls
        // `jiffies` a data variable); each section spans its symbols.
        let is_text = |k: char| matches!(k.to_ascii_lowercase(), 't' | 'w');
        let span = |text: bool| -> (u64, u64) {
            let a: Vec<u64> = sorted
                .iter()
                .filter(|s| !matches!(s.kind, 'a' | 'A') && is_text(s.kind) == text)
                .map(|s| s.addr)
                .collect();
            (
                a.first().copied().unwrap_or(0),
                a.last().map_or(0, |x| x + 8),
            )
        };
        let (lo, hi) = span(true);
        let (dlo, dhi) = span(false);

        let mut strtab = vec![0u8];
        let mut syms: Vec<(bool, [u8; SYM])> = Vec::with_capacity(self.symbols.len());
        for s in &self.symbols {
            let name = strtab.len() as u32;
            strtab.extend_from_slice(s.name.as_bytes());
            strtab.push(0);
            let bind = match s.kind {
                'w' | 'W' | 'v' | 'V' => STB_WEAK,
                k if k.is_ascii_lowercase() => STB_LOCAL,
                _ => STB_GLOBAL,
            };
            let (typ, size) = match s.kind.to_ascii_lowercase() {
                't' | 'w' => (
                    STT_FUNC,
                    next.get(&s.addr)
                        .map_or(0, |n| (n - s.addr).min(MAX_FUNC_SIZE)),
                ),
                'a' => (STT_NOTYPE, 0),
                _ => (STT_OBJECT, 0),
            };
            let shndx = match s.kind {
                'a' | 'A' => SHN_ABS,
                k if is_text(k) => 1,
                _ => 2,
            };
            let mut e = [0u8; SYM];
            e[0..4].copy_from_slice(&name.to_le_bytes());
            e[4] = (bind << 4) | typ;
            e[6..8].copy_from_slice(&shndx.to_le_bytes());
            e[8..16].copy_from_slice(&s.addr.to_le_bytes());
            e[16..24].copy_from_slice(&size.to_le_bytes());
            syms.push((bind == STB_LOCAL, e));
        }
        // Locals first: sh_info of .symtab is the index of the first non-local symbol.
        syms.sort_by_key(|(local, _)| !*local);
        let first_global = 1 + syms.iter().take_while(|(local, _)| *local).count() as u32;
        let shstrtab = b"\0.text\0.data\0.symtab\0.strtab\0.shstrtab\0";
        let (n_text, n_data, n_symtab, n_strtab, n_shstrtab) = (1u32, 7u32, 13u32, 21u32, 29u32);

        let symtab_at = elf::EHDR;
        let symtab_len = SYM * (syms.len() + 1);
        let strtab_at = symtab_at + symtab_len;
        let shstrtab_at = strtab_at + strtab.len();
        let shdrs_at = (shstrtab_at + shstrtab.len() + 7) & !7;
        let mut f = Vec::with_capacity(shdrs_at + 6 * SHDR);
        // ELF header.
        f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&ET_EXEC.to_le_bytes());
        f.extend_from_slice(&EM_AARCH64.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes()); // e_version
        f.extend_from_slice(&lo.to_le_bytes()); // e_entry
        f.extend_from_slice(&0u64.to_le_bytes()); // e_phoff: no segments, symbols only
        f.extend_from_slice(&(shdrs_at as u64).to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        f.extend_from_slice(&(EHDR as u16).to_le_bytes());
        f.extend_from_slice(&0u16.to_le_bytes()); // e_phentsize
        f.extend_from_slice(&0u16.to_le_bytes()); // e_phnum
        f.extend_from_slice(&(SHDR as u16).to_le_bytes());
        f.extend_from_slice(&6u16.to_le_bytes()); // e_shnum
        f.extend_from_slice(&5u16.to_le_bytes()); // e_shstrndx
                                                  // .symtab, .strtab, .shstrtab.
        f.extend_from_slice(&[0u8; SYM]);
        for (_, e) in &syms {
            f.extend_from_slice(e);
        }
        f.extend_from_slice(&strtab);
        f.extend_from_slice(shstrtab);
        f.resize(shdrs_at, 0);
        // Section headers.
        let mut shdr = |name: u32,
                        typ: u32,
                        flags: u64,
                        addr: u64,
                        off: usize,
                        size: u64,
                        link: u32,
                        info: u32,
                        align: u64,
                        entsize: u64| {
            f.extend_from_slice(&name.to_le_bytes());
            f.extend_from_slice(&typ.to_le_bytes());
            f.extend_from_slice(&flags.to_le_bytes());
            f.extend_from_slice(&addr.to_le_bytes());
            f.extend_from_slice(&(off as u64).to_le_bytes());
            f.extend_from_slice(&size.to_le_bytes());
            f.extend_from_slice(&link.to_le_bytes());
            f.extend_from_slice(&info.to_le_bytes());
            f.extend_from_slice(&align.to_le_bytes());
            f.extend_from_slice(&entsize.to_le_bytes());
        };
        shdr(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        shdr(
            n_text,
            SHT_NOBITS,
            SHF_ALLOC | SHF_EXECINSTR,
            lo,
            shdrs_at,
            hi - lo,
            0,
            0,
            4,
            0,
        );
        shdr(
            n_data,
            SHT_NOBITS,
            SHF_ALLOC | SHF_WRITE,
            dlo,
            shdrs_at,
            dhi - dlo,
            0,
            0,
            8,
            0,
        );
        shdr(
            n_symtab,
            SHT_SYMTAB,
            0,
            0,
            symtab_at,
            symtab_len as u64,
            4,
            first_global,
            8,
            SYM as u64,
        );
        shdr(
            n_strtab,
            SHT_STRTAB,
            0,
            0,
            strtab_at,
            strtab.len() as u64,
            0,
            0,
            1,
            0,
        );
        shdr(
            n_shstrtab,
            SHT_STRTAB,
            0,
            0,
            shstrtab_at,
            shstrtab.len() as u64,
            0,
            0,
            1,
            0,
        );
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic Image region laid out as scripts/kallsyms.c writes it (6.1 with
    /// seqs_of_names), with `relative_base` left 0 and a .rela.dyn entry for it.
    fn image(syms: &[(u64, &str)], seqs: bool) -> Vec<u8> {
        let base = syms.iter().map(|s| s.0).min().unwrap();
        let link = base & !(LINK_ALIGN - 1);
        let mut d = vec![0xeeu8; 0x100]; // "code" before the tables
        let pad = |d: &mut Vec<u8>| d.resize(align8(d.len()), 0);
        pad(&mut d);
        for &(a, _) in syms {
            d.extend_from_slice(&((a - base) as u32).to_le_bytes());
        }
        pad(&mut d);
        let base_at = d.len();
        d.extend_from_slice(&0u64.to_le_bytes());
        d.extend_from_slice(&(syms.len() as u32).to_le_bytes());
        pad(&mut d);
        let names_at = d.len();
        // Tokens: every byte is its own token (no compression), plus "do_" at 0x80.
        let mut markers = vec![];
        for (k, &(_, name)) in syms.iter().enumerate() {
            if k % 256 == 0 {
                markers.push((d.len() - names_at) as u32);
            }
            let mut enc = vec![];
            let mut rest = name.as_bytes();
            while !rest.is_empty() {
                if rest.starts_with(b"do_") {
                    enc.push(0x80);
                    rest = &rest[3..];
                } else {
                    enc.push(rest[0]);
                    rest = &rest[1..];
                }
            }
            if enc.len() > 0x7f {
                d.push((enc.len() & 0x7f) as u8 | 0x80);
                d.push((enc.len() >> 7) as u8);
            } else {
                d.push(enc.len() as u8);
            }
            d.extend_from_slice(&enc);
        }
        pad(&mut d);
        for m in markers {
            d.extend_from_slice(&m.to_le_bytes());
        }
        pad(&mut d);
        if seqs {
            d.extend(std::iter::repeat_n(0u8, 3 * syms.len()));
            pad(&mut d);
        }
        let tt = d.len();
        let mut index = vec![];
        for i in 0..256u32 {
            index.push((d.len() - tt) as u16);
            match i {
                0x80 => d.extend_from_slice(b"do_"),
                0x20..=0x7e => d.push(i as u8),
                _ => {}
            }
            d.push(0);
        }
        pad(&mut d);
        for i in index {
            d.extend_from_slice(&i.to_le_bytes());
        }
        // __ksymtab: 64 exports with PREL32 offsets, names rising, pointing into a string
        // table where "jiffies_64" is the tail of "get_jiffies_64" (linker string merging).
        pad(&mut d);
        let mut strings = b"get_jiffies_64\0".to_vec();
        let mut names = vec![(String::from("jiffies_64"), 4usize)];
        for i in 0..63 {
            names.push((format!("zexport_{i:02}"), strings.len()));
            strings.extend_from_slice(format!("zexport_{i:02}\0").as_bytes());
        }
        let table = d.len();
        let strings_at = table + 12 * names.len();
        let data_at = 0x40usize; // "data" inside the image
        for (i, (_, off)) in names.iter().enumerate() {
            let e = table + 12 * i;
            d.extend_from_slice(&((data_at + 8 * i) as i32 - e as i32).to_le_bytes());
            d.extend_from_slice(&((strings_at + off) as i32 - (e + 4) as i32).to_le_bytes());
            d.extend_from_slice(&0i32.to_le_bytes());
        }
        d.extend_from_slice(&strings);
        // .rela.dyn: two entries, the second relocating kallsyms_relative_base.
        pad(&mut d);
        for (off, add) in [(link + 0x10, link + 0x40), (link + base_at as u64, base)] {
            d.extend_from_slice(&off.to_le_bytes());
            d.extend_from_slice(&R_AARCH64_RELATIVE.to_le_bytes());
            d.extend_from_slice(&add.to_le_bytes());
        }
        d
    }

    const SYMS: [(u64, &str); 4] = [
        (0xffff_8000_0801_0000, "T_text"),
        (0xffff_8000_0801_0040, "tdo_one_initcall"),
        (0xffff_8000_0839_dd90, "Tdo_sys_openat2"),
        (0xffff_8000_0a00_0010, "Djiffies"),
    ];

    #[test]
    fn a_laid_out_table_is_recovered_with_its_base_from_the_relocation() {
        for seqs in [true, false] {
            let k = recover(&image(&SYMS, seqs)).unwrap();
            assert_eq!(k.relative_base, 0xffff_8000_0801_0000);
            assert_eq!(k.base_from, "rela");
            let got: Vec<(u64, char, &str)> = k.symbols[..k.from_kallsyms]
                .iter()
                .map(|s| (s.addr, s.kind, s.name.as_str()))
                .collect();
            assert_eq!(
                got,
                vec![
                    (0xffff_8000_0801_0000, 'T', "_text"),
                    (0xffff_8000_0801_0040, 't', "do_one_initcall"),
                    (0xffff_8000_0839_dd90, 'T', "do_sys_openat2"),
                    (0xffff_8000_0a00_0010, 'D', "jiffies"),
                ]
            );
        }
    }

    #[test]
    fn exported_data_comes_from_ksymtab_with_tail_merged_names() {
        let k = recover(&image(&SYMS, true)).unwrap();
        assert_eq!(k.from_kallsyms, 4);
        assert_eq!(
            k.symbols.len(),
            4 + 64,
            "jiffies_64 and 63 more, none in kallsyms"
        );
        let link = 0xffff_8000_0800_0000u64; // the synthetic image's link base (2 MiB below _text)
        let j = &k.symbols[4];
        assert_eq!(
            (j.name.as_str(), j.kind, j.addr),
            ("jiffies_64", 'D', link + 0x40)
        );
        assert_eq!(k.symbols.last().unwrap().addr, link + 0x40 + 8 * 63);
        let nm = k.to_nm();
        let marker = nm.find("# __ksymtab").unwrap();
        assert!(
            nm[..marker].ends_with(" D jiffies\n"),
            "kallsyms part first, /proc/kallsyms order"
        );
        assert!(nm[marker..].contains("ffff800008000040 D jiffies_64\n"));
    }

    #[test]
    fn more_than_256_symbols_and_a_long_name_cross_markers() {
        let long = format!("T{}", "x".repeat(200));
        let mut syms: Vec<(u64, String)> = (0..600u64)
            .map(|i| (0xffff_8000_0801_0000 + 4 * i, format!("tf{i}")))
            .collect();
        syms[300].1 = long.clone();
        let refs: Vec<(u64, &str)> = syms.iter().map(|(a, n)| (*a, n.as_str())).collect();
        let k = recover(&image(&refs, true)).unwrap();
        assert_eq!(k.from_kallsyms, 600);
        assert_eq!(k.symbols[300].name, long[1..]);
        assert_eq!(k.symbols[599].name, "f599");
        assert_eq!(k.symbols[599].addr, 0xffff_8000_0801_0000 + 4 * 599);
    }

    #[test]
    fn the_symbol_file_is_an_elf_whose_symtab_reads_back() {
        use object::{Object, ObjectSymbol};
        let k = recover(&image(&SYMS, true)).unwrap();
        let bytes = k.to_elf();
        let f = object::File::parse(&*bytes).expect("a valid ELF");
        assert_eq!(f.architecture(), object::Architecture::Aarch64);
        let mut got: Vec<(String, u64, u64, object::SymbolKind, bool)> = f
            .symbols()
            .map(|s| {
                (
                    s.name().unwrap().to_string(),
                    s.address(),
                    s.size(),
                    s.kind(),
                    s.is_global(),
                )
            })
            .filter(|g: &(String, u64, u64, object::SymbolKind, bool)| {
                g.0 != "jiffies_64" && !g.0.starts_with("zexport_")
            })
            .collect();
        got.sort_by_key(|g| g.1);
        assert_eq!(
            got,
            vec![
                (
                    "_text".into(),
                    0xffff_8000_0801_0000,
                    0x40,
                    object::SymbolKind::Text,
                    true
                ),
                (
                    "do_one_initcall".into(),
                    0xffff_8000_0801_0040,
                    0x10_0000,
                    object::SymbolKind::Text,
                    false
                ),
                (
                    "do_sys_openat2".into(),
                    0xffff_8000_0839_dd90,
                    0x10_0000,
                    object::SymbolKind::Text,
                    true
                ),
                (
                    "jiffies".into(),
                    0xffff_8000_0a00_0010,
                    0,
                    object::SymbolKind::Data,
                    true
                ),
            ]
        );
        assert!(k.to_nm().contains("ffff80000839dd90 T do_sys_openat2\n"));
    }

    #[test]
    fn an_image_without_kallsyms_says_so() {
        let e = recover(&[0u8; 4096]).unwrap_err();
        assert_eq!(e.code(), "ERR_NO_KALLSYMS");
        assert!(e.to_string().contains("CONFIG_KALLSYMS"), "{e}");
    }
}
