//! Our software breakpoints: `BRK #BRK64_DEFAULT_IMM` words written into guest
//! RAM through the decode crate's patch plans, keyed by guest-physical address.
//!
//! The plans keep us honest: inserting over a BRK that is already there is
//! refused (we never save our own BRK as the "original"), and removing after
//! the guest rewrote the word leaves the guest's bytes alone (a Conflict).
//! Every write goes through [`GuestMemory::write_code`], which does the host
//! cache maintenance the guest needs to fetch the new word.
//!
//! The saved bytes live here and nowhere else, so the debugger's own view of
//! memory goes through this table too, as gdbserver shadows its breakpoints:
//! [`SwBreakpoints::shadow`] puts the guest's instruction back into a read,
//! and [`SwBreakpoints::write_through`] lets a write land under our BRK (the
//! saved bytes take the new instruction; the BRK stays).

use crate::error::{Error, Result};
use crate::memory::GuestMemory;
use decode::insn::BreakpointKind;
use decode::patch::{plan_insert, InsertPlan};
use std::collections::BTreeMap;

/// The instruction we plant: A64 BRK (4 bytes, little-endian).
pub const KIND: BreakpointKind = BreakpointKind::Brk64;
/// Its size: one A64 instruction (Arm ARM C6.2.38 BRK).
const INSN_BYTES: u64 = 4;

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
        let plan = self.map.get(&gpa).ok_or(Error::NoBreakpoint {
            what: "software breakpoint",
            addr: gpa,
        })?;
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

    /// Our breakpoints whose 4 bytes overlap `gpa..gpa+len`, with their plans.
    fn overlapping(&self, gpa: u64, len: u64) -> impl Iterator<Item = (&u64, &InsertPlan)> {
        let first = gpa.saturating_sub(INSN_BYTES - 1);
        let end = gpa.saturating_add(len);
        self.map.range(first..end)
    }

    /// Replaces our BRK bytes in `buf` (the raw RAM at `gpa`) with the
    /// guest's own bytes saved under them.
    pub fn shadow(&self, gpa: u64, buf: &mut [u8]) {
        for (&at, plan) in self.overlapping(gpa, buf.len() as u64) {
            for (i, &b) in plan.saved.iter().enumerate() {
                let a = at + i as u64;
                if a >= gpa && a - gpa < buf.len() as u64 {
                    buf[(a - gpa) as usize] = b;
                }
            }
        }
    }

    /// Writes `data` at `gpa` as the debugger's write: where it overlaps one
    /// of our BRKs, the saved bytes take the new values and the BRK stays in
    /// RAM. All or nothing: the range is checked before anything is written.
    pub fn write_through(&mut self, mem: &GuestMemory, gpa: u64, data: &[u8]) -> Result<()> {
        let len = data.len() as u64;
        if !mem.is_ram(gpa, len.max(1)) {
            return Err(Error::OutsideRam { addr: gpa, len });
        }
        mem.write_code(gpa, data)?;
        let first = gpa.saturating_sub(INSN_BYTES - 1);
        for (&at, plan) in self.map.range_mut(first..gpa.saturating_add(len)) {
            for i in 0..plan.saved.len() {
                let a = at + i as u64;
                if a >= gpa && a - gpa < len {
                    plan.saved[i] = data[(a - gpa) as usize];
                }
            }
            mem.write_code(at, &plan.patch)?;
        }
        Ok(())
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
    fn shadow_hides_our_brk_from_reads_that_overlap_it() {
        let m = mem();
        let mut t = SwBreakpoints::default();
        t.insert(&m, BASE + 8).unwrap();
        let mut buf = [0u8; 6];
        m.read(BASE + 6, &mut buf).unwrap();
        t.shadow(BASE + 6, &mut buf);
        assert_eq!(&buf[2..6], &ADD_X0_2.to_le_bytes());
        // A read that covers only the BRK's last two bytes.
        let mut tail = [0u8; 2];
        m.read(BASE + 10, &mut tail).unwrap();
        t.shadow(BASE + 10, &mut tail);
        assert_eq!(tail, ADD_X0_2.to_le_bytes()[2..4]);
    }

    #[test]
    fn write_through_updates_the_saved_bytes_and_keeps_the_brk() {
        let m = mem();
        let mut t = SwBreakpoints::default();
        t.insert(&m, BASE + 8).unwrap();
        // Two bytes before the BRK and its first two bytes.
        let nop = NOP.to_le_bytes();
        t.write_through(&m, BASE + 6, &[0xaa, 0xbb, nop[0], nop[1]])
            .unwrap();
        assert_eq!(word(&m, BASE + 8), decode::insn::BRK64);
        t.remove(&m, BASE + 8).unwrap();
        let want = u32::from_le_bytes([
            nop[0],
            nop[1],
            ADD_X0_2.to_le_bytes()[2],
            ADD_X0_2.to_le_bytes()[3],
        ]);
        assert_eq!(word(&m, BASE + 8), want);
        let e = t.write_through(&m, BASE + 0xfffe, &[0; 4]).unwrap_err();
        assert_eq!(e.code(), "ERR_OUTSIDE_RAM");
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
