//! Guest RAM: anonymous host mappings, one per KVM memory slot, with
//! bounds-checked access by guest-physical address.
//!
//! Every access checks the whole range first: a range that is not entirely
//! inside one slot is refused (naming its first address) and nothing is
//! written. Guest RAM is shared with running vCPUs, so copies go through raw
//! pointers and never create Rust references to guest memory.

use crate::error::{Error, Result};
use std::ptr::NonNull;

/// The host page size assumed for slot alignment (KVM requires page-aligned
/// slots; 64 KiB covers 4K, 16K and 64K host pages).
pub const SLOT_ALIGN: u64 = 0x1_0000;

/// One RAM slot: guest-physical `gpa..gpa+size` backed by a host mapping.
#[derive(Debug)]
pub struct RamSlot {
    /// Guest-physical base.
    pub gpa: u64,
    /// Size in bytes.
    pub size: u64,
    host: NonNull<u8>,
}

impl RamSlot {
    /// The host address of the mapping (for KVM_SET_USER_MEMORY_REGION).
    pub fn host_addr(&self) -> u64 {
        self.host.as_ptr() as u64
    }

    fn contains(&self, gpa: u64, len: u64) -> bool {
        gpa >= self.gpa
            && gpa
                .checked_add(len)
                .is_some_and(|end| end <= self.gpa + self.size)
    }
}

/// Guest RAM.
#[derive(Debug)]
pub struct GuestMemory {
    slots: Vec<RamSlot>,
}

// SAFETY: the mappings are owned by GuestMemory for its whole life and only
// accessed through raw-pointer copies; the guest writes them concurrently
// anyway, exactly like another thread would.
unsafe impl Send for GuestMemory {}
// SAFETY: as above; no method hands out references into guest RAM.
unsafe impl Sync for GuestMemory {}

impl GuestMemory {
    /// Maps `regions` (guest-physical base, size) as anonymous zeroed memory.
    /// Bases and sizes must be multiples of [`SLOT_ALIGN`], non-empty and not overlapping.
    pub fn new(regions: &[(u64, u64)]) -> Result<Self> {
        let mut slots: Vec<RamSlot> = Vec::with_capacity(regions.len());
        for &(gpa, size) in regions {
            if size == 0 || !gpa.is_multiple_of(SLOT_ALIGN) || !size.is_multiple_of(SLOT_ALIGN) {
                return Err(Error::BadArgument {
                    why: format!(
                        "RAM slot {gpa:#x} size {size:#x}: base and size must be non-zero \
                         multiples of {SLOT_ALIGN:#x}"
                    ),
                });
            }
            let end = gpa.checked_add(size).ok_or(Error::OutsideRam {
                addr: gpa,
                len: size,
            })?;
            if let Some(s) = slots.iter().find(|s| gpa < s.gpa + s.size && s.gpa < end) {
                return Err(Error::BadArgument {
                    why: format!("RAM slot {gpa:#x} overlaps the slot at {:#x}", s.gpa),
                });
            }
            // SAFETY: a fresh private anonymous mapping; the result is checked below.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    size as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return Err(Error::ioctl(
                    "mmap",
                    std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
                    format!("{size:#x} bytes of guest RAM"),
                ));
            }
            slots.push(RamSlot {
                gpa,
                size,
                host: NonNull::new(p as *mut u8).expect("mmap returned a non-null address"),
            });
        }
        Ok(GuestMemory { slots })
    }

    /// The slots, in creation order (slot number = index).
    pub fn slots(&self) -> &[RamSlot] {
        &self.slots
    }

    /// Host pointer of `gpa..gpa+len`, which must be inside one slot.
    pub fn host_ptr(&self, gpa: u64, len: u64) -> Result<*mut u8> {
        let s = self
            .slots
            .iter()
            .find(|s| s.contains(gpa, len))
            .ok_or(Error::OutsideRam { addr: gpa, len })?;
        // SAFETY: contains() proved gpa - s.gpa + len <= s.size, inside the mapping.
        Ok(unsafe { s.host.as_ptr().add((gpa - s.gpa) as usize) })
    }

    /// Whether `gpa..gpa+len` is RAM.
    pub fn is_ram(&self, gpa: u64, len: u64) -> bool {
        self.slots.iter().any(|s| s.contains(gpa, len))
    }

    /// Reads `buf.len()` bytes at `gpa`.
    pub fn read(&self, gpa: u64, buf: &mut [u8]) -> Result<()> {
        let p = self.host_ptr(gpa, buf.len() as u64)?;
        // SAFETY: host_ptr checked the whole range; buf is ours and does not overlap guest RAM.
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Writes `data` at `gpa`: all or nothing (the range is checked first).
    pub fn write(&self, gpa: u64, data: &[u8]) -> Result<()> {
        let p = self.host_ptr(gpa, data.len() as u64)?;
        // SAFETY: host_ptr checked the whole range; data is ours and does not overlap guest RAM.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) };
        Ok(())
    }

    /// Writes instruction bytes and makes them visible to guest instruction
    /// fetch (see [`crate::arch::aarch64::sync_icache`]).
    pub fn write_code(&self, gpa: u64, data: &[u8]) -> Result<()> {
        self.write(gpa, data)?;
        let p = self.host_ptr(gpa, data.len() as u64)?;
        crate::arch::aarch64::sync_icache(p, data.len());
        Ok(())
    }

    /// Reads a little-endian u64 (page-table descriptors, data).
    pub fn read_u64_le(&self, gpa: u64) -> Result<u64> {
        let mut b = [0u8; 8];
        self.read(gpa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

impl Drop for GuestMemory {
    fn drop(&mut self) {
        for s in &self.slots {
            // SAFETY: unmapping our own mapping once; no pointer into it outlives self.
            unsafe { libc::munmap(s.host.as_ptr() as *mut libc::c_void, s.size as usize) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x4000_0000;

    #[test]
    fn read_write_inside_and_refusal_outside() {
        let m = GuestMemory::new(&[(BASE, 0x2_0000)]).unwrap();
        m.write(BASE + 0x10, &[1, 2, 3, 4]).unwrap();
        let mut b = [0u8; 4];
        m.read(BASE + 0x10, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        // Last byte in, one past out.
        m.write(BASE + 0x1_ffff, &[9]).unwrap();
        let e = m.write(BASE + 0x1_ffff, &[9, 9]).unwrap_err();
        assert_eq!(e.code(), "ERR_OUTSIDE_RAM");
        assert!(e.to_string().contains("0x4001ffff"), "{e}");
        assert!(m.read(BASE - 1, &mut b).is_err());
        assert!(m.read(u64::MAX - 1, &mut b).is_err(), "overflowing range");
    }

    #[test]
    fn never_a_partial_write() {
        let m = GuestMemory::new(&[(BASE, 0x1_0000)]).unwrap();
        let end = BASE + 0x1_0000;
        m.write(end - 4, &[0xaa; 4]).unwrap();
        assert!(m.write(end - 4, &[0x55; 8]).is_err());
        let mut b = [0u8; 4];
        m.read(end - 4, &mut b).unwrap();
        assert_eq!(b, [0xaa; 4], "the in-range half was not written");
    }

    #[test]
    fn a_range_across_two_slots_is_refused() {
        let m = GuestMemory::new(&[(BASE, 0x1_0000), (BASE + 0x1_0000, 0x1_0000)]).unwrap();
        assert!(m.is_ram(BASE + 0xfffc, 4));
        assert!(!m.is_ram(BASE + 0xfffc, 8));
        assert_eq!(m.slots().len(), 2);
    }

    #[test]
    fn bad_slots_are_refused() {
        assert!(GuestMemory::new(&[(BASE + 1, 0x1_0000)]).is_err());
        assert!(GuestMemory::new(&[(BASE, 0)]).is_err());
        let e = GuestMemory::new(&[(BASE, 0x2_0000), (BASE + 0x1_0000, 0x1_0000)]).unwrap_err();
        assert!(e.to_string().contains("overlaps"));
    }

    #[test]
    fn little_endian_explicitly() {
        let m = GuestMemory::new(&[(BASE, 0x1_0000)]).unwrap();
        m.write(BASE, &0x1122_3344_5566_7788u64.to_le_bytes())
            .unwrap();
        assert_eq!(m.read_u64_le(BASE).unwrap(), 0x1122_3344_5566_7788);
        let mut b = [0u8; 1];
        m.read(BASE, &mut b).unwrap();
        assert_eq!(b[0], 0x88);
    }
}
