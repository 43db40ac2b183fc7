//! ELF loading for guests: PT_LOAD segments of an ELF64 little-endian
//! AArch64 image, parsed read-only with the `object` crate.

use crate::error::{Error, Result};
use object::elf::{FileHeader64, EM_AARCH64, ET_EXEC, PT_LOAD};
use object::read::elf::{FileHeader, ProgramHeader};
use object::LittleEndian;

/// One PT_LOAD segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Physical load address (p_paddr).
    pub paddr: u64,
    /// Size in memory (p_memsz >= data.len(); the rest is zero).
    pub memsz: u64,
    /// The file bytes (p_filesz).
    pub data: Vec<u8>,
}

/// A parsed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// e_entry.
    pub entry: u64,
    /// The PT_LOAD segments in file order.
    pub segments: Vec<Segment>,
}

fn bad(why: impl Into<String>) -> Error {
    Error::BadElf { why: why.into() }
}

/// Parses `bytes` and returns its entry and PT_LOAD segments.
pub fn load_segments(bytes: &[u8]) -> Result<Image> {
    let hdr = FileHeader64::<LittleEndian>::parse(bytes)
        .map_err(|e| bad(format!("not an ELF64 little-endian file: {e}")))?;
    let endian = hdr
        .endian()
        .map_err(|e| bad(format!("bad byte order: {e}")))?;
    // Segments are copied to p_paddr unrelocated, so only a fixed-address
    // executable loads correctly (gABI "ELF Header": ET_EXEC = 2); a PIE
    // (ET_DYN) would silently run at the wrong addresses.
    let kind = hdr.e_type(endian);
    if kind != ET_EXEC {
        return Err(bad(format!("e_type is {kind}, not ET_EXEC ({ET_EXEC})")));
    }
    let machine = hdr.e_machine(endian);
    if machine != EM_AARCH64 {
        return Err(bad(format!(
            "e_machine is {machine}, not EM_AARCH64 ({EM_AARCH64})"
        )));
    }
    let phdrs = hdr
        .program_headers(endian, bytes)
        .map_err(|e| bad(format!("bad program headers: {e}")))?;
    let mut segments = Vec::new();
    for ph in phdrs {
        if ph.p_type(endian) != PT_LOAD {
            continue;
        }
        let paddr = ph.p_paddr(endian);
        let memsz = ph.p_memsz(endian);
        let data = ph
            .data(endian, bytes)
            .map_err(|_| bad(format!("segment at {paddr:#x}: file data out of bounds")))?;
        if (data.len() as u64) > memsz {
            return Err(bad(format!(
                "segment at {paddr:#x}: p_filesz {:#x} > p_memsz {memsz:#x}",
                data.len()
            )));
        }
        segments.push(Segment {
            paddr,
            memsz,
            data: data.to_vec(),
        });
    }
    if segments.is_empty() {
        return Err(bad("no PT_LOAD segment"));
    }
    Ok(Image {
        entry: hdr.e_entry(endian),
        segments,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal ELF64 LE AArch64 executable with one PT_LOAD of `code` at
    /// `paddr` (and `extra` bytes of .bss), built field by field (ELF spec,
    /// System V gABI "ELF Header" and "Program Header").
    pub fn tiny_elf(paddr: u64, code: &[u8], extra: u64) -> Vec<u8> {
        const EHDR: usize = 64;
        const PHDR: usize = 56;
        let mut f = Vec::new();
        f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]); // ELFCLASS64, LSB, EV_CURRENT
        f.extend_from_slice(&[0; 8]);
        f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        f.extend_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
        f.extend_from_slice(&1u32.to_le_bytes()); // e_version
        f.extend_from_slice(&paddr.to_le_bytes()); // e_entry
        f.extend_from_slice(&(EHDR as u64).to_le_bytes()); // e_phoff
        f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
        f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
        f.extend_from_slice(&(EHDR as u16).to_le_bytes());
        f.extend_from_slice(&(PHDR as u16).to_le_bytes());
        f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
        f.extend_from_slice(&0u16.to_le_bytes()); // e_shentsize
        f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
        f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
        assert_eq!(f.len(), EHDR);
        let off = (EHDR + PHDR) as u64;
        f.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        f.extend_from_slice(&5u32.to_le_bytes()); // PF_R|PF_X
        f.extend_from_slice(&off.to_le_bytes());
        f.extend_from_slice(&paddr.to_le_bytes()); // p_vaddr
        f.extend_from_slice(&paddr.to_le_bytes()); // p_paddr
        f.extend_from_slice(&(code.len() as u64).to_le_bytes());
        f.extend_from_slice(&(code.len() as u64 + extra).to_le_bytes());
        f.extend_from_slice(&8u64.to_le_bytes());
        f.extend_from_slice(code);
        f
    }

    #[test]
    fn parses_entry_and_segments() {
        let img = load_segments(&tiny_elf(0x4000_0000, &[1, 2, 3, 4], 12)).unwrap();
        assert_eq!(img.entry, 0x4000_0000);
        assert_eq!(img.segments.len(), 1);
        assert_eq!(img.segments[0].memsz, 16);
        assert_eq!(img.segments[0].data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn hostile_images_are_refused_with_a_reason() {
        assert_eq!(load_segments(b"not elf").unwrap_err().code(), "ERR_BAD_ELF");
        let mut e = tiny_elf(0x4000_0000, &[0; 4], 0);
        e[18] = 62; // EM_X86_64
        assert!(load_segments(&e)
            .unwrap_err()
            .to_string()
            .contains("EM_AARCH64"));
        let mut e = tiny_elf(0x4000_0000, &[0; 4], 0);
        e[16] = 3; // ET_DYN: a PIE would need relocation
        assert!(load_segments(&e)
            .unwrap_err()
            .to_string()
            .contains("ET_EXEC"));
        let mut e = tiny_elf(0x4000_0000, &[0; 4], 0);
        e.truncate(e.len() - 2); // file data cut short
        assert!(load_segments(&e).is_err());
    }
}
