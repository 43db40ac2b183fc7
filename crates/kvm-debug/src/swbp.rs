//! Our software breakpoints: `BRK #BRK64_DEFAULT_IMM` words written into guest
//! RAM through the decode crate's patch plans, keyed by guest-physical address.
//!
//! The plans keep us honest: inserting over a BRK that is already there is
//! refused (we never save our own BRK as the "original"), and removing after
//! the guest rewrote the word leaves the guest's bytes alone (a Conflict).
//! Every write goes through [`GuestMemory::write_code`], which does the host
//! cache maintenance the guest needs to fetch the new word.

use crate::error::{Error, Result};
use crate::memory::GuestMemory;
use decode::insn::BreakpointKind;
use decode::patch::{plan_insert, InsertPlan};
use std::collections::BTreeMap;

/// The instruction we plant: A64 BRK (4 bytes, little-endian).
pub const KIND: BreakpointKind = BreakpointKind::Brk64;

/// Result of removing every breakpoint.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RemoveAllReport {
    /// Addresses restored (or found already restored).
    pub removed: Vec<u64>,
    /// Addresses the guest rewrote: left alone, with the error saying what was found.
    pub conflicts: Vec<(u64, Error)>,
}

/// The table of our software breakpoints.
#[derive(Debug, Default)]
pub struct SwBreakpoints {
    map: BTreeMap<u64, InsertPlan>,
}

impl SwBreakpoints {
    /// Inserts a breakpoint at guest-physical `gpa`.
    pub fn insert(&mut self, mem: &GuestMemory, gpa: u64) -> Result<()> {
        let mut cur = [0u8; 4];
        mem.read(gpa, &mut cur)?;
        let plan = plan_insert(KIND, gpa, &cur)?;
        mem.write_code(gpa, &plan.patch)?;
        self.map.insert(gpa, plan);
        Ok(())
    }

    /// Removes ours at `gpa`. A Conflict (the guest rewrote the word) still
    /// forgets the breakpoint and leaves the guest's bytes; it is returned as the error.
    pub fn remove(&mut self, mem: &GuestMemory, gpa: u64) -> Result<()> {
        let plan = self
            .map
            .get(&gpa)
            .ok_or(Error::NoBreakpoint { addr: gpa })?;
        let mut cur = [0u8; 4];
        mem.read(gpa, &mut cur)?;
        let r = plan.plan_remove(&cur);
        self.map.remove(&gpa);
        if let Some((addr, bytes)) = r?.write() {
            mem.write_code(addr, bytes)?;
        }
        Ok(())
    }

    /// Removes all, restoring bytes; never stops at the first conflict.
    pub fn remove_all(&mut self, mem: &GuestMemory) -> RemoveAllReport {
        let mut rep = RemoveAllReport::default();
        let addrs: Vec<u64> = self.map.keys().copied().collect();
        for a in addrs {
            match self.remove(mem, a) {
                Ok(()) => rep.removed.push(a),
                Err(e) => rep.conflicts.push((a, e)),
            }
        }
        rep
    }

    /// Whether `gpa` holds one of ours.
    pub fn contains(&self, gpa: u64) -> bool {
        self.map.contains_key(&gpa)
    }

    /// Our addresses, ascending.
    pub fn addresses(&self) -> Vec<u64> {
        self.map.keys().copied().collect()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// None set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 0x4000_0000;
    /// `add x0, x0, #2` (Arm ARM C6.2.4 ADD (immediate)).
    const ADD_X0_2: u32 = 0x9100_0800;
    /// `nop` (Arm ARM C6.2.238).
    const NOP: u32 = 0xd503_201f;

    fn mem() -> GuestMemory {
        let m = GuestMemory::new(&[(BASE, 0x1_0000)]).unwrap();
        m.write(BASE + 8, &ADD_X0_2.to_le_bytes()).unwrap();
        m
    }

    fn word(m: &GuestMemory, a: u64) -> u32 {
        let mut b = [0u8; 4];
        m.read(a, &mut b).unwrap();
        u32::from_le_bytes(b)
    }

    #[test]
    fn insert_writes_brk_and_remove_restores() {
        let m = mem();
        let mut t = SwBreakpoints::default();
        t.insert(&m, BASE + 8).unwrap();
        assert_eq!(word(&m, BASE + 8), decode::insn::BRK64);
        assert!(t.contains(BASE + 8));
        t.remove(&m, BASE + 8).unwrap();
        assert_eq!(word(&m, BASE + 8), ADD_X0_2);
        assert!(t.is_empty());
    }

    #[test]
    fn double_insert_is_refused_and_keeps_the_original() {
        let m = mem();
        let mut t = SwBreakpoints::default();
        t.insert(&m, BASE + 8).unwrap();
        let e = t.insert(&m, BASE + 8).unwrap_err();
        assert_eq!(e.code(), "ERR_ALREADY_PATCHED");
        t.remove(&m, BASE + 8).unwrap();
        assert_eq!(word(&m, BASE + 8), ADD_X0_2);
    }

    #[test]
    fn guest_rewrote_our_brk_is_a_conflict_and_its_bytes_stay() {
        let m = mem();
        let mut t = SwBreakpoints::default();
        t.insert(&m, BASE + 8).unwrap();
        t.insert(&m, BASE + 16).unwrap();
        m.write(BASE + 8, &NOP.to_le_bytes()).unwrap();
        let rep = t.remove_all(&m);
        assert_eq!(rep.removed, vec![BASE + 16]);
        assert_eq!(rep.conflicts.len(), 1);
        assert_eq!(rep.conflicts[0].1.code(), "ERR_PATCH_CONFLICT");
        assert_eq!(word(&m, BASE + 8), NOP);
        assert!(t.is_empty());
    }

    #[test]
    fn hostile_addresses() {
        let m = mem();
        let mut t = SwBreakpoints::default();
        assert_eq!(t.insert(&m, BASE + 2).unwrap_err().code(), "ERR_MISALIGNED");
        assert_eq!(
            t.insert(&m, BASE + 0x1_0000).unwrap_err().code(),
            "ERR_OUTSIDE_RAM"
        );
        assert_eq!(t.remove(&m, BASE).unwrap_err().code(), "ERR_NO_BREAKPOINT");
    }
}
