//! Breakpoint instruction codec: A64 `BRK`/`HLT`, A32 and T32 `BKPT`.
//!
//! # Byte order
//!
//! All byte conversions here are explicitly little-endian, never the host's:
//!
//! * A64: instruction fetches are always little-endian, whatever
//!   `SCTLR_ELx.EE`/`E0E` say; those bits affect data accesses (and
//!   translation-table walks) only. Arm ARM (DDI 0487) B2 "Endian support",
//!   "Instruction endianness"; also Arm DEN0024A 4.4 "Endianness".
//! * A32/T32 under BE-8 (`CPSR.E`/`SCTLR.EE == 1`): data is big-endian but
//!   instructions stay little-endian. Arm ARM E2 "Endian support",
//!   "Instruction endianness" (AArch32).
//! * BE-32 (the Armv6/v7 word-invariant big-endian of `SCTLR.B == 1`) does
//!   not exist in Armv8 AArch32: `SCTLR.B` was removed (bit 7 is now `ITD`,
//!   the AArch32 SCTLR register description), so it is not supported here.
//!
//! T32 `BKPT` is a 16-bit instruction: it is two little-endian bytes.

use crate::error::Error;
use core::str::FromStr;

/// A64 `BRK #imm16`: `0xd420_0000 | imm16 << 5`. Arm ARM C6.2 "BRK".
pub const BRK64: u32 = 0xd420_0000;
/// A64 `HLT #imm16`: `0xd440_0000 | imm16 << 5`. Arm ARM C6.2 "HLT".
pub const HLT64: u32 = 0xd440_0000;
/// Mask of the fixed bits of A64 `BRK`/`HLT` (all but imm16 at bits 20:5).
pub const A64_EXCEPTION_MASK: u32 = 0xffe0_001f;
/// Bit position of imm16 in A64 `BRK`/`HLT`. Arm ARM C6.2 "BRK".
pub const A64_IMM16_SHIFT: u32 = 5;
/// A32 `BKPT #imm16`, cond = AL (0b1110): `0xe120_0070 | imm12 << 8 | imm4`.
/// Arm ARM "BKPT" (T32 and A32 base instruction descriptions), encoding A1. Any cond other than AL is UNPREDICTABLE.
pub const BKPT32: u32 = 0xe120_0070;
/// Mask of the fixed bits of A32 `BKPT` (cond included; imm12 at 19:8, imm4 at 3:0).
pub const BKPT32_MASK: u32 = 0xfff0_00f0;
/// T32 `BKPT #imm8`: `0xbe00 | imm8`. Arm ARM "BKPT", encoding T1.
pub const BKPT16: u16 = 0xbe00;
/// Mask of the fixed bits of T32 `BKPT`.
pub const BKPT16_MASK: u16 = 0xff00;

/// The immediate of our own A64 breakpoints: `BRK #0` (0xd420_0000).
///
/// It is what GDB (`aarch64_default_breakpoint`) and QEMU's KVM gdbstub
/// (`target/arm/kvm64.c` `brk_insn`) write, and Linux assigns no meaning to it
/// (see the `LINUX_*_BRK_IMM` constants), so a guest kernel's own BRKs stay
/// distinguishable. A BRK #0 that the guest wrote itself is told apart from
/// ours by address (the breakpoint table), never by immediate alone.
pub const BRK64_DEFAULT_IMM: u16 = 0;

/// Linux `KPROBES_BRK_IMM` (arch/arm64/include/asm/brk-imm.h): kprobes.
pub const LINUX_KPROBES_BRK_IMM: u16 = 0x004;
/// Linux `UPROBES_BRK_IMM`: uprobes.
pub const LINUX_UPROBES_BRK_IMM: u16 = 0x005;
/// Linux `KPROBES_BRK_SS_IMM`: kprobes software single-step.
pub const LINUX_KPROBES_BRK_SS_IMM: u16 = 0x006;
/// Linux `FAULT_BRK_IMM`: a fault on purpose.
pub const LINUX_FAULT_BRK_IMM: u16 = 0x100;
/// Linux `KGDB_DYN_DBG_BRK_IMM`: kgdb dynamic breakpoints (kgdb owns 0x400-0x7ff).
pub const LINUX_KGDB_DYN_DBG_BRK_IMM: u16 = 0x400;
/// Linux `KGDB_COMPILED_DBG_BRK_IMM`: kgdb compiled-in breakpoint.
pub const LINUX_KGDB_COMPILED_DBG_BRK_IMM: u16 = 0x401;
/// Linux `BUG_BRK_IMM`: kernel BUG() and WARN().
pub const LINUX_BUG_BRK_IMM: u16 = 0x800;
/// Linux `KASAN_BRK_IMM`: tag-based KASAN reports (0x900-0x9ff, `KASAN_BRK_MASK` 0xff).
pub const LINUX_KASAN_BRK_IMM: u16 = 0x900;
/// Linux `UBSAN_BRK_IMM`: UBSAN traps (0x5500-0x55ff).
pub const LINUX_UBSAN_BRK_IMM: u16 = 0x5500;
/// Linux `CFI_BRK_IMM_BASE`: kCFI traps (0x8000-0x83ff).
pub const LINUX_CFI_BRK_IMM_BASE: u16 = 0x8000;

/// A breakpoint instruction kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BreakpointKind {
    /// A64 `BRK #imm16`.
    Brk64,
    /// A64 `HLT #imm16`.
    Hlt64,
    /// A32 `BKPT #imm16`.
    Bkpt32,
    /// T32 `BKPT #imm8`.
    Bkpt16,
}

impl BreakpointKind {
    /// Every kind, in declaration order.
    pub const ALL: [BreakpointKind; 4] = [
        BreakpointKind::Brk64,
        BreakpointKind::Hlt64,
        BreakpointKind::Bkpt32,
        BreakpointKind::Bkpt16,
    ];

    /// The kind's name as [`BreakpointKind::parse`] accepts it.
    pub fn name(self) -> &'static str {
        match self {
            BreakpointKind::Brk64 => "brk64",
            BreakpointKind::Hlt64 => "hlt64",
            BreakpointKind::Bkpt32 => "bkpt32",
            BreakpointKind::Bkpt16 => "bkpt16",
        }
    }

    /// Parse a kind from its name: `brk64`, `hlt64`, `bkpt32`, `bkpt16`.
    pub fn parse(name: &str) -> Result<BreakpointKind, Error> {
        BreakpointKind::ALL
            .into_iter()
            .find(|k| k.name() == name)
            .ok_or_else(|| Error::UnknownKind {
                name: name.to_owned(),
            })
    }

    /// The instruction's size in bytes (4, or 2 for T32).
    pub fn size(self) -> usize {
        match self {
            BreakpointKind::Bkpt16 => 2,
            _ => 4,
        }
    }

    /// The alignment an instruction address must have: 4 for A64 and A32,
    /// 2 for T32 (Arm ARM "PC alignment checking", AArch64 and AArch32).
    pub fn alignment(self) -> u64 {
        self.size() as u64
    }

    /// The largest immediate the instruction holds.
    pub fn max_imm(self) -> u16 {
        match self {
            BreakpointKind::Bkpt16 => 0xff,
            _ => 0xffff,
        }
    }

    /// The immediate of the breakpoints we insert ourselves:
    /// [`BRK64_DEFAULT_IMM`] for A64, 0 for the others (as GDB writes them).
    pub fn default_imm(self) -> u16 {
        match self {
            BreakpointKind::Brk64 => BRK64_DEFAULT_IMM,
            _ => 0,
        }
    }

    /// Encode the instruction with immediate `imm`, as a word (T32: in the low
    /// halfword). An immediate that does not fit is an error naming it.
    pub fn encode(self, imm: u32) -> Result<u32, Error> {
        if imm > u32::from(self.max_imm()) {
            return Err(Error::ImmediateOutOfRange {
                imm: u64::from(imm),
                max: u64::from(self.max_imm()),
                kind: self.name(),
            });
        }
        Ok(match self {
            BreakpointKind::Brk64 => BRK64 | imm << A64_IMM16_SHIFT,
            BreakpointKind::Hlt64 => HLT64 | imm << A64_IMM16_SHIFT,
            BreakpointKind::Bkpt32 => BKPT32 | (imm >> 4) << 8 | (imm & 0xf),
            BreakpointKind::Bkpt16 => u32::from(BKPT16) | imm,
        })
    }

    /// If `insn` is this kind of instruction, its immediate. For T32, bits
    /// 31:16 must be zero (a halfword).
    pub fn recognise(self, insn: u32) -> Option<u16> {
        match self {
            BreakpointKind::Brk64 | BreakpointKind::Hlt64 => {
                let base = if self == BreakpointKind::Brk64 {
                    BRK64
                } else {
                    HLT64
                };
                (insn & A64_EXCEPTION_MASK == base).then_some((insn >> A64_IMM16_SHIFT) as u16)
            }
            BreakpointKind::Bkpt32 => (insn & BKPT32_MASK == BKPT32)
                .then_some((((insn >> 8) & 0xfff) << 4 | (insn & 0xf)) as u16),
            BreakpointKind::Bkpt16 => {
                let half = insn as u16;
                (insn >> 16 == 0 && half & BKPT16_MASK == BKPT16).then_some(half & !BKPT16_MASK)
            }
        }
    }

    /// The instruction's bytes in memory: always little-endian (see the module
    /// documentation); 4 bytes, or 2 for T32.
    pub fn to_le_bytes(self, imm: u32) -> Result<Vec<u8>, Error> {
        let word = self.encode(imm)?;
        Ok(word.to_le_bytes()[..self.size()].to_vec())
    }

    /// Read an instruction of this kind's size from little-endian `bytes`.
    /// Wrong length is an error naming it.
    pub fn word_from_le_bytes(self, bytes: &[u8]) -> Result<u32, Error> {
        match (self.size(), bytes) {
            (4, [a, b, c, d]) => Ok(u32::from_le_bytes([*a, *b, *c, *d])),
            (2, [a, b]) => Ok(u32::from(u16::from_le_bytes([*a, *b]))),
            (expected, _) => Err(Error::WrongLength {
                len: bytes.len(),
                expected,
            }),
        }
    }

    /// If little-endian `bytes` hold this kind of instruction, its immediate.
    pub fn recognise_bytes(self, bytes: &[u8]) -> Result<Option<u16>, Error> {
        Ok(self.recognise(self.word_from_le_bytes(bytes)?))
    }
}

impl FromStr for BreakpointKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        BreakpointKind::parse(s)
    }
}

impl core::fmt::Display for BreakpointKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_hand_assembled_words() {
        // brk #0x123 -> 0xd4202460 (0x123 << 5 = 0x2460).
        assert_eq!(BreakpointKind::Brk64.encode(0x123), Ok(0xd420_2460));
        assert_eq!(BreakpointKind::Hlt64.encode(0xf000), Ok(0xd45e_0000));
        // bkpt #0x1234 (A32) -> 0xe1212374.
        assert_eq!(BreakpointKind::Bkpt32.encode(0x1234), Ok(0xe121_2374));
        assert_eq!(BreakpointKind::Bkpt16.encode(0xab), Ok(0xbeab));
    }

    #[test]
    fn recognise_round_trips_every_edge_immediate() {
        for kind in BreakpointKind::ALL {
            for imm in [0u32, 1, 0x80, u32::from(kind.max_imm())] {
                let w = kind.encode(imm).unwrap();
                assert_eq!(kind.recognise(w), Some(imm as u16), "{kind} {imm:#x}");
            }
        }
    }

    #[test]
    fn recognise_rejects_neighbours() {
        assert_eq!(BreakpointKind::Brk64.recognise(HLT64), None);
        assert_eq!(BreakpointKind::Hlt64.recognise(BRK64), None);
        assert_eq!(BreakpointKind::Brk64.recognise(BRK64 | 1), None); // op2/LL != 0
        assert_eq!(BreakpointKind::Bkpt32.recognise(0x0120_0070), None); // cond EQ
        assert_eq!(BreakpointKind::Bkpt16.recognise(0x1_be00), None);
        assert_eq!(BreakpointKind::Bkpt16.recognise(0xbf00), None); // NOP-hint space
    }

    #[test]
    fn out_of_range_immediate_names_value() {
        let e = BreakpointKind::Bkpt16.encode(0x100).unwrap_err();
        assert_eq!(e.code(), "ERR_IMMEDIATE_RANGE");
        assert!(e.to_string().contains("0x100"), "{e}");
        assert!(BreakpointKind::Brk64.encode(0x1_0000).is_err());
    }

    #[test]
    fn bytes_are_little_endian() {
        assert_eq!(
            BreakpointKind::Brk64.to_le_bytes(0).unwrap(),
            vec![0x00, 0x00, 0x20, 0xd4]
        );
        assert_eq!(
            BreakpointKind::Bkpt16.to_le_bytes(1).unwrap(),
            vec![0x01, 0xbe]
        );
        assert_eq!(
            BreakpointKind::Brk64.recognise_bytes(&[0x60, 0x24, 0x20, 0xd4]),
            Ok(Some(0x123))
        );
        assert_eq!(
            BreakpointKind::Brk64.word_from_le_bytes(&[0; 2]),
            Err(Error::WrongLength {
                len: 2,
                expected: 4
            })
        );
    }

    #[test]
    fn parse_names() {
        for kind in BreakpointKind::ALL {
            assert_eq!(kind.name().parse::<BreakpointKind>(), Ok(kind));
        }
        let e = BreakpointKind::parse("brk").unwrap_err();
        assert_eq!(e.code(), "ERR_UNKNOWN_KIND");
        assert!(e.to_string().contains("\"brk\""));
    }
}
