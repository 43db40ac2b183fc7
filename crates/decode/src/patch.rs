//! Patch plans for software breakpoints: pure decisions about which bytes to
//! save and write, made before anything touches guest memory.
//!
//! * [`plan_insert`] checks alignment and length, refuses an address that
//!   already holds our breakpoint (so a double insert never saves our own
//!   `BRK` as the "original"), and returns the bytes to save and to write.
//! * [`plan_remove`] checks that our instruction is still there before
//!   restoring; if the guest rewrote it, it reports [`Error::Conflict`] and
//!   the guest's bytes are left alone.
//!
//! All bytes are in memory order: little-endian (see [`crate::insn`]).

use crate::error::Error;
use crate::insn::BreakpointKind;

/// What to do to insert a breakpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertPlan {
    /// The instruction address.
    pub addr: u64,
    /// The breakpoint instruction kind.
    pub kind: BreakpointKind,
    /// The original bytes at `addr`, to keep for the remove.
    pub saved: Vec<u8>,
    /// The bytes to write at `addr`: our breakpoint instruction.
    pub patch: Vec<u8>,
}

/// What to do to remove a breakpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemovePlan {
    /// Our instruction is still there: write `restore` at `addr`.
    Restore {
        /// The instruction address.
        addr: u64,
        /// The original bytes to write back.
        restore: Vec<u8>,
    },
    /// The original bytes are already there (someone restored them):
    /// nothing to write.
    AlreadyRestored {
        /// The instruction address.
        addr: u64,
    },
}

impl RemovePlan {
    /// The bytes to write and where, or `None` for a no-op plan.
    pub fn write(&self) -> Option<(u64, &[u8])> {
        match self {
            RemovePlan::Restore { addr, restore } => Some((*addr, restore)),
            RemovePlan::AlreadyRestored { .. } => None,
        }
    }
}

fn check_addr_and_len(kind: BreakpointKind, addr: u64, bytes: &[u8]) -> Result<(), Error> {
    if !addr.is_multiple_of(kind.alignment()) {
        return Err(Error::Misaligned {
            addr,
            align: kind.alignment(),
            kind: kind.name(),
        });
    }
    if bytes.len() != kind.size() {
        return Err(Error::WrongLength {
            len: bytes.len(),
            expected: kind.size(),
        });
    }
    Ok(())
}

/// Plan inserting our breakpoint (immediate [`BreakpointKind::default_imm`])
/// at `addr`, whose bytes are now `current` (exactly [`BreakpointKind::size`]
/// bytes).
///
/// Errors: [`Error::Misaligned`], [`Error::WrongLength`], and
/// [`Error::AlreadyPatched`] when `current` already is our instruction. A
/// breakpoint instruction of the guest's own (e.g. Linux's `BRK #0x800`) is
/// not refused: it is saved and restored like any other instruction.
pub fn plan_insert(kind: BreakpointKind, addr: u64, current: &[u8]) -> Result<InsertPlan, Error> {
    plan_insert_with_imm(kind, u32::from(kind.default_imm()), addr, current)
}

/// [`plan_insert`] with an explicit immediate for our instruction.
pub fn plan_insert_with_imm(
    kind: BreakpointKind,
    imm: u32,
    addr: u64,
    current: &[u8],
) -> Result<InsertPlan, Error> {
    check_addr_and_len(kind, addr, current)?;
    let patch = kind.to_le_bytes(imm)?;
    if current == patch.as_slice() {
        return Err(Error::AlreadyPatched {
            addr,
            found: kind.word_from_le_bytes(current)?,
        });
    }
    Ok(InsertPlan {
        addr,
        kind,
        saved: current.to_vec(),
        patch,
    })
}

/// Plan removing our breakpoint (immediate [`BreakpointKind::default_imm`])
/// from `addr`, given the `saved` original bytes and the `current` bytes.
///
/// * `current` is our instruction: [`RemovePlan::Restore`] with `saved`;
/// * `current` equals `saved`: [`RemovePlan::AlreadyRestored`] (no-op);
/// * otherwise the guest rewrote it: [`Error::Conflict`] naming the address,
///   our instruction and what was found; nothing is to be written.
pub fn plan_remove(
    kind: BreakpointKind,
    addr: u64,
    saved: &[u8],
    current: &[u8],
) -> Result<RemovePlan, Error> {
    let patch = kind.to_le_bytes(u32::from(kind.default_imm()))?;
    remove_with_patch(kind, addr, &patch, saved, current)
}

impl InsertPlan {
    /// Plan the matching remove, given the bytes now at [`InsertPlan::addr`].
    /// Same outcomes as [`plan_remove`], with this plan's own patch bytes.
    pub fn plan_remove(&self, current: &[u8]) -> Result<RemovePlan, Error> {
        remove_with_patch(self.kind, self.addr, &self.patch, &self.saved, current)
    }
}

fn remove_with_patch(
    kind: BreakpointKind,
    addr: u64,
    patch: &[u8],
    saved: &[u8],
    current: &[u8],
) -> Result<RemovePlan, Error> {
    check_addr_and_len(kind, addr, current)?;
    check_addr_and_len(kind, addr, saved)?;
    if current == patch {
        Ok(RemovePlan::Restore {
            addr,
            restore: saved.to_vec(),
        })
    } else if current == saved {
        Ok(RemovePlan::AlreadyRestored { addr })
    } else {
        Err(Error::Conflict {
            addr,
            expected: kind.word_from_le_bytes(patch)?,
            found: kind.word_from_le_bytes(current)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOP: [u8; 4] = 0xd503_201f_u32.to_le_bytes(); // A64 NOP

    #[test]
    fn insert_then_remove_restores_original() {
        let plan = plan_insert(BreakpointKind::Brk64, 0x4000_1000, &NOP).unwrap();
        assert_eq!(plan.saved, NOP);
        assert_eq!(plan.patch, [0x00, 0x00, 0x20, 0xd4]);
        let rm = plan_remove(BreakpointKind::Brk64, 0x4000_1000, &plan.saved, &plan.patch);
        assert_eq!(
            rm,
            Ok(RemovePlan::Restore {
                addr: 0x4000_1000,
                restore: NOP.to_vec()
            })
        );
        assert_eq!(plan.plan_remove(&plan.patch), rm);
    }

    #[test]
    fn misaligned_names_address() {
        let e = plan_insert(BreakpointKind::Brk64, 0x1002, &NOP).unwrap_err();
        assert_eq!(e.code(), "ERR_MISALIGNED");
        assert!(e.to_string().contains("0x1002"), "{e}");
        // T32 needs only 2-byte alignment.
        assert!(plan_insert(BreakpointKind::Bkpt16, 0x1002, &[0, 0xbf]).is_ok());
        assert!(plan_insert(BreakpointKind::Bkpt16, 0x1001, &[0, 0xbf]).is_err());
    }

    #[test]
    fn double_insert_is_refused() {
        let plan = plan_insert(BreakpointKind::Brk64, 0x1000, &NOP).unwrap();
        let e = plan_insert(BreakpointKind::Brk64, 0x1000, &plan.patch).unwrap_err();
        assert_eq!(
            e,
            Error::AlreadyPatched {
                addr: 0x1000,
                found: 0xd420_0000
            }
        );
    }

    #[test]
    fn guest_rewrote_our_brk_is_a_conflict() {
        let plan = plan_insert(BreakpointKind::Brk64, 0x1000, &NOP).unwrap();
        let guest = 0xaa01_03e0_u32.to_le_bytes(); // mov x0, x1
        let e = plan.plan_remove(&guest).unwrap_err();
        assert_eq!(
            e,
            Error::Conflict {
                addr: 0x1000,
                expected: 0xd420_0000,
                found: 0xaa01_03e0
            }
        );
        assert_eq!(e.code(), "ERR_PATCH_CONFLICT");
    }

    #[test]
    fn already_restored_is_a_no_op() {
        let rm = plan_remove(BreakpointKind::Brk64, 0x1000, &NOP, &NOP).unwrap();
        assert_eq!(rm, RemovePlan::AlreadyRestored { addr: 0x1000 });
        assert_eq!(rm.write(), None);
    }
}
