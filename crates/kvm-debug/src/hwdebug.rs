//! Pure encoders for the hardware breakpoint and watchpoint registers that
//! KVM_SET_GUEST_DEBUG loads (`struct kvm_guest_debug_arch { dbg_bcr[16],
//! dbg_bvr[16], dbg_wcr[16], dbg_wvr[16] }`, with `KVM_GUESTDBG_USE_HW`).
//!
//! KVM copies these values into the hardware registers while the vCPU runs
//! (arch/arm64/kvm/debug.c, `external_debug_state`) without checking them,
//! so they must be right here. Register layouts: the Arm ARM's debug register
//! descriptions DBGBCR<n>_EL1, DBGBVR<n>_EL1, DBGWCR<n>_EL1, DBGWVR<n>_EL1;
//! matching rules: chapter D2 (AArch64 self-hosted debug), sections
//! "Breakpoint exceptions" and "Watchpoint exceptions". Field positions
//! checked against QEMU's `DBGBCR`/`DBGWCR` fields and its
//! `insert_hw_breakpoint()`/`insert_hw_watchpoint()` (target/arm/kvm64.c),
//! which make the same choices.
//!
//! Our choices, as QEMU's KVM gdbstub (target/arm/kvm64.c) makes them:
//! enabled, unlinked, matching at EL1 and EL0 (PMC/PAC = 0b11, HMC = 0,
//! SSC = 0b00), A64 instructions (BAS = 0b1111).

use decode::Error;

/// The number of breakpoint and of watchpoint slots in
/// `struct kvm_guest_debug_arch` (`KVM_ARM_MAX_DBG_REGS`).
pub const KVM_ARM_MAX_DBG_REGS: usize = 16;

/// DBGBCR/DBGWCR.E, bit 0: enabled.
pub const DBGXCR_E: u64 = 1 << 0;
/// DBGBCR.PMC / DBGWCR.PAC, bits 2:1 = 0b11: EL1 and EL0 (with HMC = 0,
/// SSC = 0b00). Arm ARM table "Summary of breakpoint HMC, SSC, and PxC
/// controls".
pub const DBGXCR_EL1_EL0: u64 = 0b11 << 1;
/// DBGBCR.BAS, bits 8:5 = 0b1111: match an A64 instruction (A64 requires
/// all four bytes).
pub const DBGBCR_BAS_A64: u64 = 0b1111 << 5;
/// DBGBCR.BT, bits 23:20 = 0b0000: unlinked instruction address match.
pub const DBGBCR_BT_UNLINKED_ADDR: u64 = 0b0000 << 20;
/// DBGWCR.LSC shift, bits 4:3: 0b01 load, 0b10 store, 0b11 both.
pub const DBGWCR_LSC_SHIFT: u32 = 3;
/// DBGWCR.BAS shift, bits 12:5: byte address select within a doubleword.
pub const DBGWCR_BAS_SHIFT: u32 = 5;
/// DBGWCR.MASK shift, bits 28:24: number of low address bits masked.
pub const DBGWCR_MASK_SHIFT: u32 = 24;
/// The smallest usable MASK value: 0b00001 and 0b00010 are reserved, so
/// masked regions start at 8 bytes.
pub const DBGWCR_MASK_MIN: u32 = 3;
/// The largest MASK value: 31 bits, a 2 GiB region.
pub const DBGWCR_MASK_MAX: u32 = 31;
/// DBGBVR/DBGWVR bits 1:0 are RES0.
const DBGXVR_RES0_LOW: u64 = 0b11;
/// DBGBVR/DBGWVR hold VA[48:2] (or VA[52:2] with FEAT_LVA); the bits above
/// are RESS: copies of the top VA bit.
pub const DBGXVR_TOP_BIT: u32 = 48;
/// The top VA bit with FEAT_LVA (52-bit VAs).
pub const DBGXVR_TOP_BIT_LVA: u32 = 52;

/// Which accesses a watchpoint matches (DBGWCR.LSC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum WatchKind {
    /// Loads (LSC = 0b01).
    Load = 0b01,
    /// Stores (LSC = 0b10).
    Store = 0b10,
    /// Loads and stores (LSC = 0b11).
    Access = 0b11,
}

/// A breakpoint register pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwBreakpoint {
    /// DBGBCR<n>_EL1 (`dbg_bcr[n]`).
    pub bcr: u64,
    /// DBGBVR<n>_EL1 (`dbg_bvr[n]`).
    pub bvr: u64,
}

/// A watchpoint register pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HwWatchpoint {
    /// DBGWCR<n>_EL1 (`dbg_wcr[n]`).
    pub wcr: u64,
    /// DBGWVR<n>_EL1 (`dbg_wvr[n]`).
    pub wvr: u64,
    /// The first watched address, as requested.
    pub addr: u64,
    /// The number of watched bytes, as requested.
    pub len: u64,
}

impl HwWatchpoint {
    /// Whether a fault address (FAR) reported for a watchpoint hit lies in
    /// the watched range.
    pub fn contains(&self, far: u64) -> bool {
        far.wrapping_sub(self.addr) < self.len
    }
}

/// Sign-extend from the top VA bit the value registers hold (bit 48, or 52
/// with `lva`), after checking the address is canonical for it (bits 55
/// down to the top bit equal; the top byte may be a TBI tag and is dropped).
fn value_register(addr: u64, len: u64, lva: bool) -> Result<u64, Error> {
    let top = if lva {
        DBGXVR_TOP_BIT_LVA
    } else {
        DBGXVR_TOP_BIT
    };
    let ext = decode::walk::sign_extend(addr, top);
    if ext != decode::walk::sign_extend(addr, 55) {
        return Err(Error::HwDebug {
            addr,
            len,
            why: if lva {
                "address is not canonical for 52-bit VAs (bits 55:52 differ)"
            } else {
                "address is not canonical for 48-bit VAs (bits 55:48 differ)"
            },
        });
    }
    Ok(ext & !DBGXVR_RES0_LOW)
}

/// Encode an unlinked A64 instruction-address breakpoint at `addr` matching
/// at EL1 and EL0. `lva`: the PE has FEAT_LVA (52-bit VAs).
///
/// Errors: a misaligned address ([`Error::Misaligned`]) or a non-canonical
/// one ([`Error::HwDebug`]).
pub fn breakpoint(addr: u64, lva: bool) -> Result<HwBreakpoint, Error> {
    const A64_INSN: u64 = 4;
    if !addr.is_multiple_of(A64_INSN) {
        return Err(Error::Misaligned {
            addr,
            align: A64_INSN,
            kind: "a hardware breakpoint on A64",
        });
    }
    Ok(HwBreakpoint {
        bcr: DBGXCR_E | DBGXCR_EL1_EL0 | DBGBCR_BAS_A64 | DBGBCR_BT_UNLINKED_ADDR,
        bvr: value_register(addr, A64_INSN, lva)?,
    })
}

/// Encode a watchpoint on `len` bytes at `addr`, matching `kind` accesses at
/// EL1 and EL0.
///
/// * 1..=8 bytes within one aligned doubleword: DBGWVR = the doubleword,
///   BAS selects the bytes, MASK = 0.
/// * A naturally aligned power of two from 8 bytes to 2 GiB: MASK =
///   log2(len), BAS = 0xff (all bytes, as MASK requires), DBGWVR = `addr`.
/// * Anything else (a small range straddling a doubleword, an unaligned or
///   non-power-of-two large range, 0 bytes) is [`Error::HwDebug`] naming
///   the address and length: the hardware would watch a different range.
pub fn watchpoint(addr: u64, len: u64, kind: WatchKind, lva: bool) -> Result<HwWatchpoint, Error> {
    let fail = |why| Err(Error::HwDebug { addr, len, why });
    if len == 0 {
        return fail("a watchpoint needs at least one byte");
    }
    let offset = addr & 7;
    let (bas, mask, base) = if offset + len <= 8 {
        (((1u64 << len) - 1) << offset, 0, addr & !7)
    } else if len.is_power_of_two() {
        let bits = len.trailing_zeros();
        if !(DBGWCR_MASK_MIN..=DBGWCR_MASK_MAX).contains(&bits) {
            return fail("a masked watchpoint covers 8 bytes to 2 GiB");
        }
        if !addr.is_multiple_of(len) {
            return fail("a watchpoint over 8 bytes must be aligned to its power-of-two length");
        }
        (0xff, u64::from(bits), addr)
    } else {
        return fail(
            "only 1-8 bytes within one aligned doubleword, or a naturally aligned power of \
             two from 8 bytes to 2 GiB, can be watched",
        );
    };
    Ok(HwWatchpoint {
        wcr: DBGXCR_E
            | DBGXCR_EL1_EL0
            | (kind as u64) << DBGWCR_LSC_SHIFT
            | bas << DBGWCR_BAS_SHIFT
            | mask << DBGWCR_MASK_SHIFT,
        wvr: value_register(base, len, lva)?,
        addr,
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakpoint_registers() {
        // E=1 (0x1) | PMC=0b11 (0x6) | BAS=0b1111 (0x1e0) = 0x1e7.
        let b = breakpoint(0xffff_8000_1000_0000, false).unwrap();
        assert_eq!(b.bcr, 0x1e7);
        assert_eq!(b.bvr, 0xffff_8000_1000_0000);
        assert_eq!(breakpoint(0x4000_1000, false).unwrap().bvr, 0x4000_1000);
    }

    #[test]
    fn breakpoint_hostile_addresses() {
        let e = breakpoint(0x4000_1002, false).unwrap_err();
        assert_eq!(e.code(), "ERR_MISALIGNED");
        assert!(e.to_string().contains("0x40001002"), "{e}");
        // Bit 48 set but bits 55:49 clear: not a 48-bit canonical VA ...
        let e = breakpoint(0x0001_0000_0000_0000, false).unwrap_err();
        assert_eq!(e.code(), "ERR_HW_DEBUG");
        // ... but a valid 52-bit one (bit 52 clear, so no sign extension).
        assert_eq!(
            breakpoint(0x0001_0000_0000_0000, true).unwrap().bvr,
            0x0001_0000_0000_0000
        );
        // A TBI tag in the top byte is dropped by sign extension.
        assert_eq!(
            breakpoint(0x5aff_8000_0000_0000, false).unwrap().bvr,
            0xffff_8000_0000_0000
        );
    }

    #[test]
    fn small_watchpoint_uses_bas() {
        // 4-byte store at 0x4000_1004: DBGWVR = 0x4000_1000, BAS = 0b1111_0000.
        // E (0x1) | PAC (0x6) | LSC=0b10 (0x10) | BAS 0xf0 << 5 (0x1e00) = 0x1e17.
        let w = watchpoint(0x4000_1004, 4, WatchKind::Store, false).unwrap();
        assert_eq!((w.wcr, w.wvr), (0x1e17, 0x4000_1000));
        assert!(w.contains(0x4000_1007) && !w.contains(0x4000_1008) && !w.contains(0x4000_1003));
        // 1-byte load at offset 7: BAS = 0x80 -> 0x1000; LSC 0b01 -> 0x08.
        let w = watchpoint(0x4000_0fff, 1, WatchKind::Load, false).unwrap();
        assert_eq!((w.wcr, w.wvr), (0x100f, 0x4000_0ff8));
        // 8 bytes aligned: BAS = 0xff, no MASK.
        let w = watchpoint(0x4000_0008, 8, WatchKind::Access, false).unwrap();
        assert_eq!((w.wcr, w.wvr), (0x1fff, 0x4000_0008));
    }

    #[test]
    fn large_watchpoint_uses_mask() {
        // 4 KiB, both: MASK = 12 (0x0c00_0000) | BAS 0xff (0x1fe0) | LSC 0x18 | 0x7.
        let w = watchpoint(0x4000_2000, 4096, WatchKind::Access, false).unwrap();
        assert_eq!((w.wcr, w.wvr), (0x0c00_1fff, 0x4000_2000));
        let w = watchpoint(0x8000_0000, 1 << 31, WatchKind::Store, false).unwrap();
        assert_eq!(w.wcr >> DBGWCR_MASK_SHIFT, 31);
        // Upper-half addresses are sign-extended.
        let w = watchpoint(0xffff_0000_0000_0000, 16, WatchKind::Load, false).unwrap();
        assert_eq!(w.wvr, 0xffff_0000_0000_0000);
    }

    #[test]
    fn inexpressible_watchpoints_name_address_and_length() {
        for (addr, len) in [
            (0x4000_1006, 4),  // straddles a doubleword
            (0x4000_1008, 12), // not a power of two
            (0x4000_1008, 16), // power of two, misaligned
            (0x4000_1000, 0),  // empty
            (0x0, 1u64 << 32), // beyond 2 GiB
        ] {
            let e = watchpoint(addr, len, WatchKind::Store, false).unwrap_err();
            assert_eq!(e.code(), "ERR_HW_DEBUG");
            let text = e.to_string();
            assert!(
                text.contains(&format!("{addr:#x}")) && text.contains(&format!("{len} byte")),
                "{text}"
            );
        }
    }
}
