//! Where a running arm64 kernel's KASLR slide can be read, found in its `Image` alone.
//!
//! arm64 Linux keeps its own base in `kimage_vaddr` (arch/arm64/kernel/head.S:
//! `.quad _text`, exported), and `kaslr_offset()` is `kimage_vaddr - KIMAGE_VADDR`
//! (arch/arm64/include/asm/memory.h). A relocatable Image (arm64's default) is linked
//! with `--no-apply-dynamic-relocs`, so the quad reads 0 in the file. Early in boot,
//! before `start_kernel`, the kernel applies its own R_AARCH64_RELATIVE entries with the
//! slide (head.S `__relocate_kernel`); from then on the quad holds `_text + slide`.
//!
//! The variable is found with two scans and no symbol table:
//! - its `__ksymtab` entry (`struct kernel_symbol` with PREL32 offsets,
//!   include/linux/export.h) whose name is "kimage_vaddr": the value offset gives the
//!   variable's file offset;
//! - the R_AARCH64_RELATIVE entry that fills it: its addend is the link address of
//!   `_text`, which is file offset 0, so `r_offset - addend` must equal that file offset.

use crate::Error;

/// The exported variable that holds the kernel's running base.
const KIMAGE_VADDR: &[u8] = b"kimage_vaddr\0";
/// R_AARCH64_RELATIVE (ELF for the Arm 64-bit Architecture, table "Dynamic relocations").
const R_AARCH64_RELATIVE: u64 = 1027;
/// One `struct kernel_symbol` with PREL32 offsets: value, name, namespace (i32 each).
const KSYMTAB_ENTRY: usize = 12;
/// The kernel image is linked at a 2 MiB-aligned address (arm64 KIMAGE_VADDR, booting.rst).
const LINK_ALIGN: u64 = 2 << 20;

/// Where to read the slide, and what to subtract: the little-endian quad at the
/// kernel's load address + `kimage_vaddr` reads 0 until the kernel has relocated
/// itself, then `link + slide` (ts/src/kaslr.ts reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KaslrAnchor {
    /// The link address of `_text`, the Image's first byte (KASLR off).
    pub link: u64,
    /// The file offset of `kimage_vaddr`: in guest memory at the kernel's load
    /// address plus this.
    pub kimage_vaddr: u64,
    /// The Image relocates itself (CONFIG_RELOCATABLE); a fixed one never slides.
    pub relocatable: bool,
}

impl KaslrAnchor {
    /// As one JSON object, 64-bit values as `0x` hex strings (as `Field::to_json`).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "link": format!("{:#x}", self.link),
            "kimageVaddr": format!("{:#x}", self.kimage_vaddr),
            "relocatable": self.relocatable,
        })
        .to_string()
    }
}

fn no(why: impl Into<String>) -> Error {
    Error::NoKaslrAnchor { why: why.into() }
}

fn i32_at(d: &[u8], o: usize) -> Option<i64> {
    Some(i64::from(i32::from_le_bytes(
        d.get(o..o + 4)?.try_into().ok()?,
    )))
}

fn u64_at(d: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(o..o + 8)?.try_into().ok()?))
}

/// File offsets of `kimage_vaddr` named by a `__ksymtab` entry. The linker tail-merges
/// strings, so the name may end a longer one: any occurrence counts.
fn exported_at(d: &[u8]) -> Vec<usize> {
    let names: Vec<i64> = d
        .windows(KIMAGE_VADDR.len())
        .enumerate()
        .filter(|(_, w)| *w == KIMAGE_VADDR)
        .map(|(i, _)| i as i64)
        .collect();
    let mut out = Vec::new();
    if names.is_empty() {
        return out;
    }
    let mut e = 0;
    while e + KSYMTAB_ENTRY <= d.len() {
        if let (Some(v), Some(n)) = (i32_at(d, e), i32_at(d, e + 4)) {
            if names.contains(&(e as i64 + 4 + n)) {
                if let Ok(at) = usize::try_from(e as i64 + v) {
                    if at.is_multiple_of(8) && at + 8 <= d.len() && !out.contains(&at) {
                        out.push(at);
                    }
                }
            }
        }
        e += 4;
    }
    out
}

/// Finds `kimage_vaddr` in an arm64 Linux `Image` and the link address of `_text`.
pub fn anchor(d: &[u8]) -> Result<KaslrAnchor, Error> {
    let candidates = exported_at(d);
    if candidates.is_empty() {
        return Err(no(
            "no __ksymtab entry names kimage_vaddr: not an arm64 Linux Image, or a compressed one",
        ));
    }
    // A fixed (non-relocatable) kernel stores its base in place.
    for &at in &candidates {
        let stored = u64_at(d, at).unwrap_or(0);
        if stored != 0 && stored.is_multiple_of(LINK_ALIGN) {
            return Ok(KaslrAnchor {
                link: stored,
                kimage_vaddr: at as u64,
                relocatable: false,
            });
        }
    }
    let info = R_AARCH64_RELATIVE.to_le_bytes();
    let mut s = 8;
    while s + 16 <= d.len() {
        if d[s..s + 8] == info {
            let e = s - 8;
            if let (Some(r_offset), Some(addend)) = (u64_at(d, e), u64_at(d, e + 16)) {
                let at = r_offset.wrapping_sub(addend);
                if addend.is_multiple_of(LINK_ALIGN) && candidates.iter().any(|&c| c as u64 == at) {
                    return Ok(KaslrAnchor {
                        link: addend,
                        kimage_vaddr: at,
                        relocatable: true,
                    });
                }
            }
        }
        s += 8;
    }
    Err(no(format!(
        "kimage_vaddr (file offset {:#x}) reads 0 and no R_AARCH64_RELATIVE entry fills it",
        candidates[0]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: u64 = 0xffff_8000_0800_0000;

    /// A synthetic Image: code, a ksymtab entry for kimage_vaddr (tail-merged into a
    /// longer name), the quad, and a .rela.dyn with a decoy entry before the real one.
    fn image(stored: u64, rela: bool) -> (Vec<u8>, usize) {
        let mut d = vec![0xeeu8; 0x1000];
        let var = 0x800;
        d[var..var + 8].copy_from_slice(&stored.to_le_bytes());
        let name = d.len();
        d.extend_from_slice(b"__x_kimage_vaddr\0");
        d.resize(0x1100, 0);
        let e = d.len();
        d.extend_from_slice(&((var as i64 - e as i64) as i32).to_le_bytes());
        let name_at = name + 4; // "kimage_vaddr" inside "__x_kimage_vaddr"
        d.extend_from_slice(&((name_at as i64 - (e + 4) as i64) as i32).to_le_bytes());
        d.extend_from_slice(&0i32.to_le_bytes());
        d.resize(0x1200, 0);
        if rela {
            for (r_offset, addend) in [(LINK + 0x900, LINK + 0x10000), (LINK + var as u64, LINK)] {
                d.extend_from_slice(&r_offset.to_le_bytes());
                d.extend_from_slice(&R_AARCH64_RELATIVE.to_le_bytes());
                d.extend_from_slice(&addend.to_le_bytes());
            }
        }
        (d, var)
    }

    #[test]
    fn relocatable_image_gives_link_and_offset() {
        let (d, var) = image(0, true);
        let a = anchor(&d).unwrap();
        assert_eq!(
            a,
            KaslrAnchor {
                link: LINK,
                kimage_vaddr: var as u64,
                relocatable: true
            }
        );
        assert_eq!(
            a.to_json(),
            r#"{"kimageVaddr":"0x800","link":"0xffff800008000000","relocatable":true}"#
        );
    }

    #[test]
    fn fixed_image_stores_its_base() {
        let (d, var) = image(LINK, false);
        let a = anchor(&d).unwrap();
        assert_eq!(
            (a.link, a.kimage_vaddr, a.relocatable),
            (LINK, var as u64, false)
        );
    }

    #[test]
    fn refusals_say_what_is_missing() {
        let e = anchor(&[0u8; 4096]).unwrap_err();
        assert_eq!(e.code(), "ERR_NO_KASLR_ANCHOR");
        assert!(
            e.to_string()
                .contains("no __ksymtab entry names kimage_vaddr"),
            "{e}"
        );
        let (d, _) = image(0, false);
        let e = anchor(&d).unwrap_err();
        assert!(
            e.to_string()
                .contains("no R_AARCH64_RELATIVE entry fills it"),
            "{e}"
        );
    }
}
