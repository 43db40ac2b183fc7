//! The arm64 Linux `Image` header and where the kernel, initrd and device
//! tree go in guest RAM (Documentation/arch/arm64/booting.rst, "Call the
//! kernel image" and "Setup the device tree"). Pure: no KVM.

use crate::error::{Error, Result};

/// `magic` of the header, "ARM\x64" little-endian (booting.rst: 0x644d5241).
pub const IMAGE_MAGIC: u32 = 0x644d_5241;
/// Offset of `magic` in the header.
const MAGIC_OFFSET: usize = 56;
/// Size of the header (booting.rst: 64 bytes).
pub const HEADER_BYTES: usize = 64;
/// The kernel must sit `text_offset` bytes above a 2 MiB-aligned base (booting.rst).
pub const IMAGE_ALIGN: u64 = 2 << 20;
/// `text_offset` of kernels before 3.17, whose `image_size` is 0 (booting.rst).
pub const LEGACY_TEXT_OFFSET: u64 = 0x8_0000;
/// `flags` bit 0: kernel endianness, 1 = big-endian.
pub const FLAG_BE: u64 = 1 << 0;
/// `flags` bits 2:1: kernel page size (1 = 4K, 2 = 16K, 3 = 64K, 0 = unspecified).
const FLAG_PAGE_SHIFT: u32 = 1;
/// The device tree blob may not exceed 2 MiB and must be 8-byte aligned (booting.rst).
pub const DTB_MAX: u64 = 2 << 20;

/// A parsed `Image` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Where the kernel goes above a 2 MiB-aligned base.
    pub text_offset: u64,
    /// Bytes the kernel occupies from its load address, BSS included
    /// (the file's length for kernels that leave it 0).
    pub image_size: u64,
    /// The header's flags.
    pub flags: u64,
}

impl ImageHeader {
    /// Parses the header of `image`. Not an arm64 Image (short, no magic) or a
    /// big-endian kernel is refused, naming what was found.
    pub fn parse(image: &[u8]) -> Result<ImageHeader> {
        let not = |why: String| Error::BadImage { why };
        if image.len() < HEADER_BYTES {
            return Err(not(format!(
                "{} bytes is shorter than the {HEADER_BYTES}-byte arm64 Image header",
                image.len()
            )));
        }
        let u64_at = |o: usize| u64::from_le_bytes(image[o..o + 8].try_into().expect("8 bytes"));
        let magic = u32::from_le_bytes(
            image[MAGIC_OFFSET..MAGIC_OFFSET + 4]
                .try_into()
                .expect("4 bytes"),
        );
        if magic != IMAGE_MAGIC {
            return Err(not(format!(
                "magic {magic:#010x} at offset {MAGIC_OFFSET} is not {IMAGE_MAGIC:#010x} (\"ARM\\x64\"): \
                 not an arm64 Image (a compressed vmlinuz.gz, or a vmlinux ELF, must be unpacked first)"
            )));
        }
        let flags = u64_at(24);
        if flags & FLAG_BE != 0 {
            return Err(not(format!(
                "flags {flags:#x}: a big-endian kernel (only little-endian is supported)"
            )));
        }
        let (text_offset, image_size) = match u64_at(16) {
            0 => (LEGACY_TEXT_OFFSET, image.len() as u64),
            size => (u64_at(8), size),
        };
        Ok(ImageHeader {
            text_offset,
            image_size: image_size.max(image.len() as u64),
            flags,
        })
    }

    /// The kernel's page size from the flags, in bytes (None when unspecified).
    pub fn page_size(&self) -> Option<u64> {
        match (self.flags >> FLAG_PAGE_SHIFT) & 0b11 {
            1 => Some(4 << 10),
            2 => Some(16 << 10),
            3 => Some(64 << 10),
            _ => None,
        }
    }
}

/// Where everything goes in guest RAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// The kernel's load address (its entry point): base + text_offset.
    pub kernel: u64,
    /// End of the kernel's `image_size`.
    pub kernel_end: u64,
    /// The initrd's range, when there is one.
    pub initrd: Option<(u64, u64)>,
    /// The device tree's address (8-byte aligned, within its 2 MiB window).
    pub dtb: u64,
}

fn align_down(v: u64, a: u64) -> u64 {
    v & !(a - 1)
}

fn align_up(v: u64, a: u64) -> u64 {
    v.div_ceil(a) * a
}

/// Lays out a kernel at the bottom of RAM (the 2 MiB-aligned RAM base plus
/// `text_offset`), the device tree in the top 2 MiB and the initrd just below
/// it. What does not fit in RAM is refused, naming the sizes.
pub fn layout(
    ram_base: u64,
    ram_size: u64,
    h: &ImageHeader,
    initrd_len: Option<u64>,
) -> Result<Layout> {
    let mib = |v: u64| v.div_ceil(1 << 20);
    let ram_end = ram_base + ram_size;
    let kernel = align_up(ram_base, IMAGE_ALIGN) + h.text_offset;
    let kernel_end = kernel + h.image_size;
    let dtb = align_down(ram_end - DTB_MAX.min(ram_size), 8);
    if kernel_end > dtb {
        return Err(Error::DoesNotFit {
            what: format!(
                "the kernel ({} bytes to {kernel_end:#x}, and 2 MiB for the device tree)",
                h.image_size
            ),
            mem_mib: mib(ram_size),
        });
    }
    let initrd = match initrd_len {
        None => None,
        Some(len) => {
            let start = align_down(dtb.saturating_sub(len), 4096);
            if start < align_up(kernel_end, 4096) || dtb < len {
                return Err(Error::DoesNotFit {
                    what: format!(
                        "the initrd ({len} bytes) above the kernel (which ends at {kernel_end:#x})"
                    ),
                    mem_mib: mib(ram_size),
                });
            }
            Some((start, start + len))
        }
    };
    Ok(Layout {
        kernel,
        kernel_end,
        initrd,
        dtb,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header as the Linux 6.1 arm64 build writes it (arch/arm64/kernel/head.S, image.h).
    fn header(text_offset: u64, image_size: u64, flags: u64) -> Vec<u8> {
        let mut h = vec![0u8; 0x1000];
        h[0..4].copy_from_slice(&0xfa40_5a4du32.to_le_bytes()); // ccmp x18, #0, #0xd, pl (efi "MZ")
        h[8..16].copy_from_slice(&text_offset.to_le_bytes());
        h[16..24].copy_from_slice(&image_size.to_le_bytes());
        h[24..32].copy_from_slice(&flags.to_le_bytes());
        h[56..60].copy_from_slice(&IMAGE_MAGIC.to_le_bytes());
        h
    }

    #[test]
    fn a_6_1_header_parses() {
        let h = ImageHeader::parse(&header(0, 0x1c5_0000, 0xa)).unwrap();
        assert_eq!(
            h,
            ImageHeader {
                text_offset: 0,
                image_size: 0x1c5_0000,
                flags: 0xa
            }
        );
        assert_eq!(h.page_size(), Some(4096));
    }

    #[test]
    fn refusals_name_what_was_found() {
        let e = ImageHeader::parse(&[0u8; 10]).unwrap_err();
        assert_eq!(e.code(), "ERR_BAD_IMAGE");
        assert!(e.to_string().contains("10 bytes"), "{e}");
        let mut elf = header(0, 0x1000, 0);
        elf[56..60].copy_from_slice(b"\x7fELF");
        let e = ImageHeader::parse(&elf).unwrap_err();
        assert!(e.to_string().contains("magic 0x464c457f"), "{e}");
        let e = ImageHeader::parse(&header(0, 0x1000, FLAG_BE)).unwrap_err();
        assert!(e.to_string().contains("big-endian"), "{e}");
    }

    #[test]
    fn legacy_kernels_get_text_offset_0x80000() {
        let h = ImageHeader::parse(&header(0x1234, 0, 0)).unwrap();
        assert_eq!((h.text_offset, h.image_size), (LEGACY_TEXT_OFFSET, 0x1000));
    }

    #[test]
    fn layout_puts_the_kernel_low_the_dtb_high_and_the_initrd_below_it() {
        let h = ImageHeader::parse(&header(0, 0x1c5_0000, 0xa)).unwrap();
        let l = layout(0x4000_0000, 256 << 20, &h, Some(0x30_0001)).unwrap();
        assert_eq!(l.kernel, 0x4000_0000);
        assert_eq!(l.kernel_end, 0x41c5_0000);
        assert_eq!(l.dtb, 0x4fe0_0000);
        let (s, e) = l.initrd.unwrap();
        assert_eq!((s % 4096, e - s), (0, 0x30_0001));
        assert!(s >= l.kernel_end && e <= l.dtb);
    }

    #[test]
    fn what_does_not_fit_is_refused_with_the_sizes() {
        let h = ImageHeader::parse(&header(0, 0x1c5_0000, 0xa)).unwrap();
        let e = layout(0x4000_0000, 16 << 20, &h, None).unwrap_err();
        assert_eq!(e.code(), "ERR_DOES_NOT_FIT");
        assert!(e.to_string().contains("16 MiB"), "{e}");
        let e = layout(0x4000_0000, 64 << 20, &h, Some(60 << 20)).unwrap_err();
        assert!(e.to_string().contains("initrd (62914560 bytes)"), "{e}");
    }
}
