//! A pure stage-1 translation walker for the AArch64 EL1&0 regime, so that
//! guest memory can be read and written by virtual address.
//!
//! Arm ARM chapter "The AArch64 Virtual Memory System Architecture" (the
//! translation process, the translation table descriptor formats, memory
//! access control) and the pseudocode `AArch64.S1Walk()`. Supported: MMU off (identity), TTBR0 and TTBR1 halves
//! (with EPD0/EPD1 and TBI0/TBI1), 4K, 16K and 64K granules, start levels from
//! TxSZ including level -1 (4K, 52-bit), 48-bit and 52-bit VAs, the 52-bit
//! output-address formats of FEAT_LPA (64K, OA[51:48] in descriptor bits
//! 15:12) and FEAT_LPA2 (TCR_EL1.DS = 1, OA[51:50] in bits 9:8), tables,
//! blocks and pages, descriptors in either endianness (SCTLR_EL1.EE).
//!
//! Simplifications, documented rather than guessed:
//! * Reserved TG0/TG1 encodings are taken as 4K; TxSZ is clamped to the
//!   architectural range, as `AArch64.S1MinTxSZ`/`MaxTxSZ` do (min 12 for 64K
//!   or DS = 1, else 16; max 48, or 47 for 64K).
//! * IPS = 0b111 (56 bits, FEAT_D128) is taken as 52; 128-bit descriptors
//!   (TCR2_EL1.D128) and FEAT_THE/PIE permission indirection are not modelled.
//! * The access flag and dirty state are reported, not faulted on: a debugger
//!   may read a page the guest has not touched yet.
//! * With the MMU off, the VA is the PA; VAs with bits above 52 set get an
//!   address-size fault (PAMax is not known here; 52 is its largest value).

use core::fmt;

/// Reads guest-physical memory for the walker.
pub trait PhysRead {
    /// The 8 bytes at guest-physical `pa` as `u64::from_le_bytes`, or `None`
    /// if `pa` is outside guest memory. The walker itself byte-swaps when
    /// SCTLR_EL1.EE says descriptors are big-endian.
    fn read_u64(&self, pa: u64) -> Option<u64>;
}

/// The system registers that control a stage-1 EL1&0 walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stage1Regs {
    /// SCTLR_EL1 (M, EE, WXN are used).
    pub sctlr_el1: u64,
    /// TCR_EL1.
    pub tcr_el1: u64,
    /// TTBR0_EL1.
    pub ttbr0_el1: u64,
    /// TTBR1_EL1.
    pub ttbr1_el1: u64,
}

/// SCTLR_EL1.M, bit 0: stage-1 translation enabled. Arm ARM D24.2 SCTLR_EL1.
pub const SCTLR_M: u64 = 1 << 0;
/// SCTLR_EL1.WXN, bit 19: writable memory is execute-never.
pub const SCTLR_WXN: u64 = 1 << 19;
/// SCTLR_EL1.EE, bit 25: EL1 data accesses and stage-1 walks are big-endian.
pub const SCTLR_EE: u64 = 1 << 25;

/// TCR_EL1.T0SZ, bits 5:0. Arm ARM D24.2 TCR_EL1.
const TCR_T0SZ_SHIFT: u32 = 0;
/// TCR_EL1.EPD0, bit 7: no walks for the TTBR0 range.
pub const TCR_EPD0: u64 = 1 << 7;
/// TCR_EL1.TG0, bits 15:14 (0b00 4K, 0b01 64K, 0b10 16K).
const TCR_TG0_SHIFT: u32 = 14;
/// TCR_EL1.T1SZ, bits 21:16.
const TCR_T1SZ_SHIFT: u32 = 16;
/// TCR_EL1.EPD1, bit 23: no walks for the TTBR1 range.
pub const TCR_EPD1: u64 = 1 << 23;
/// TCR_EL1.TG1, bits 31:30 (0b01 16K, 0b10 4K, 0b11 64K: not TG0's encoding).
const TCR_TG1_SHIFT: u32 = 30;
/// TCR_EL1.IPS, bits 34:32: intermediate physical address size.
const TCR_IPS_SHIFT: u32 = 32;
/// TCR_EL1.TBI0, bit 37: top byte ignored for the TTBR0 range.
pub const TCR_TBI0: u64 = 1 << 37;
/// TCR_EL1.TBI1, bit 38.
pub const TCR_TBI1: u64 = 1 << 38;
/// TCR_EL1.HPD0, bit 41: hierarchical permissions disabled, TTBR0 range.
pub const TCR_HPD0: u64 = 1 << 41;
/// TCR_EL1.HPD1, bit 42.
pub const TCR_HPD1: u64 = 1 << 42;
/// TCR_EL1.DS, bit 59: FEAT_LPA2 52-bit formats for 4K and 16K.
pub const TCR_DS: u64 = 1 << 59;

/// Descriptor bit 0: valid. Arm ARM "Translation table descriptor formats".
pub const DESC_VALID: u64 = 1 << 0;
/// Descriptor bit 1: table (levels < 3) or page (level 3); 0 = block.
pub const DESC_TABLE_OR_PAGE: u64 = 1 << 1;
/// Block/page AP[1], bit 6: EL0 access.
pub const DESC_AP_EL0: u64 = 1 << 6;
/// Block/page AP[2], bit 7: read-only.
pub const DESC_AP_RO: u64 = 1 << 7;
/// Block/page AF, bit 10: access flag.
pub const DESC_AF: u64 = 1 << 10;
/// Block/page PXN, bit 53.
pub const DESC_PXN: u64 = 1 << 53;
/// Block/page UXN, bit 54.
pub const DESC_UXN: u64 = 1 << 54;
/// Table PXNTable, bit 59.
pub const TABLE_PXN: u64 = 1 << 59;
/// Table UXNTable, bit 60.
pub const TABLE_UXN: u64 = 1 << 60;
/// Table APTable[0], bit 61: no EL0 access below.
pub const TABLE_AP_NO_EL0: u64 = 1 << 61;
/// Table APTable[1], bit 62: no write access below.
pub const TABLE_AP_RO: u64 = 1 << 62;

/// The largest physical address size: 52 bits (FEAT_LPA/FEAT_LPA2).
pub const PA_BITS_MAX: u32 = 52;

/// A translation granule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granule {
    /// 4 KiB pages, 512-entry tables.
    K4,
    /// 16 KiB pages, 2048-entry tables.
    K16,
    /// 64 KiB pages, 8192-entry tables.
    K64,
}

impl Granule {
    /// From TCR_EL1.TG0 (reserved 0b11 taken as 4K).
    pub fn from_tg0(tg0: u64) -> Granule {
        match tg0 & 0b11 {
            0b01 => Granule::K64,
            0b10 => Granule::K16,
            _ => Granule::K4,
        }
    }

    /// From TCR_EL1.TG1, whose encoding differs from TG0's (reserved 0b00 taken as 4K).
    pub fn from_tg1(tg1: u64) -> Granule {
        match tg1 & 0b11 {
            0b01 => Granule::K16,
            0b11 => Granule::K64,
            _ => Granule::K4,
        }
    }

    /// log2 of the page size: 12, 14 or 16.
    pub fn page_shift(self) -> u32 {
        match self {
            Granule::K4 => 12,
            Granule::K16 => 14,
            Granule::K64 => 16,
        }
    }

    /// VA bits resolved per level: page_shift - 3.
    pub fn stride(self) -> u32 {
        self.page_shift() - 3
    }

    /// The page size in bytes.
    pub fn page_size(self) -> u64 {
        1 << self.page_shift()
    }
}

impl fmt::Display for Granule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Granule::K4 => "4K",
            Granule::K16 => "16K",
            Granule::K64 => "64K",
        })
    }
}

/// A page-table dump: guest-physical memory from `base`, for walking tables
/// saved from a machine (a crash dump, a `dump binary memory`) on any OS.
#[derive(Debug, Clone, Copy)]
pub struct PhysDump<'a> {
    /// The guest-physical address of `bytes[0]`.
    pub base: u64,
    /// The memory.
    pub bytes: &'a [u8],
}

impl PhysRead for PhysDump<'_> {
    fn read_u64(&self, pa: u64) -> Option<u64> {
        let off = usize::try_from(pa.checked_sub(self.base)?).ok()?;
        let b = self.bytes.get(off..off.checked_add(8)?)?;
        Some(u64::from_le_bytes(b.try_into().ok()?))
    }
}

/// A successful translation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Translation {
    /// The virtual address translated.
    pub va: u64,
    /// Its physical address.
    pub pa: u64,
    /// The level of the final descriptor, or `None` with the MMU off.
    pub level: Option<i8>,
    /// The size of the page or block that maps `va` (4 KiB with the MMU off).
    pub page_size: u64,
    /// The final (page or block) descriptor, as read (0 with the MMU off).
    pub descriptor: u64,
    /// Its physical address (0 with the MMU off).
    pub descriptor_addr: u64,
    /// Which TTBR was used (0 or 1; 0 with the MMU off).
    pub ttbr: u8,
    /// EL1 may write (AP[2] and APTable[1]).
    pub writable: bool,
    /// EL1 may execute (PXN, PXNTable, WXN, and no EL1 execution of
    /// EL0-writable memory, Arm ARM "Memory access control").
    pub executable: bool,
    /// EL0 may access (AP[1] and APTable[0]).
    pub user: bool,
    /// The access flag (AF) is set; a guest access would fault if not.
    pub accessed: bool,
}

impl Translation {
    /// As one JSON object, 64-bit values as `0x` hex strings (as `Field::to_json`).
    pub fn to_json(&self) -> String {
        let hex = |v: u64| serde_json::Value::String(format!("{v:#x}"));
        let mut v = serde_json::to_value(self).expect("a Translation always serialises");
        let o = v.as_object_mut().expect("an object");
        for (k, x) in [
            ("va", self.va),
            ("pa", self.pa),
            ("pageSize", self.page_size),
            ("descriptor", self.descriptor),
            ("descriptorAddr", self.descriptor_addr),
        ] {
            o.insert(k.into(), hex(x));
        }
        v.to_string()
    }

    /// Bytes from `va` to the end of its page or block: how much may be
    /// accessed contiguously in physical memory.
    pub fn bytes_to_page_end(&self) -> u64 {
        self.page_size - (self.va & (self.page_size - 1))
    }
}

/// Why a walk failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkFault {
    /// The descriptor's valid bit is 0 (translation fault).
    NotValid,
    /// A block descriptor at a level that does not allow blocks, or a
    /// level-3 descriptor with bit 1 clear (translation fault).
    Reserved {
        /// The granule in use.
        granule: Granule,
    },
    /// An output or table address beyond the physical address size
    /// (address size fault).
    AddressSize {
        /// The physical address size in bits from TCR_EL1.IPS.
        pa_bits: u32,
    },
    /// The VA is in neither translation range (translation fault, level 0).
    VaOutOfRange {
        /// The size of the VA range that bit 55 selected, in bits.
        va_bits: u32,
    },
    /// TCR_EL1.EPD0/EPD1 disables walks for the range (translation fault).
    WalkDisabled,
    /// A descriptor address is outside guest memory.
    Unreadable,
    /// The MMU is off (SCTLR_EL1.M = 0), so the VA is used as a physical
    /// address, and it is beyond the largest physical address size (address size fault).
    MmuOff {
        /// The physical address size in bits it exceeds.
        pa_bits: u32,
    },
}

/// A failed translation, naming the level and descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkError {
    /// The virtual address being translated.
    pub va: u64,
    /// The level at which the walk stopped.
    pub level: i8,
    /// The TTBR in use (0 or 1).
    pub ttbr: u8,
    /// The descriptor's physical address, if one was fetched or addressed.
    pub descriptor_addr: Option<u64>,
    /// The descriptor, if one was read.
    pub descriptor: Option<u64>,
    /// Why.
    pub reason: WalkFault,
}

impl WalkError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self.reason {
            WalkFault::NotValid => "ERR_WALK_NOT_VALID",
            WalkFault::Reserved { .. } => "ERR_WALK_RESERVED",
            WalkFault::AddressSize { .. } | WalkFault::MmuOff { .. } => "ERR_WALK_ADDRESS_SIZE",
            WalkFault::VaOutOfRange { .. } => "ERR_WALK_VA_RANGE",
            WalkFault::WalkDisabled => "ERR_WALK_DISABLED",
            WalkFault::Unreadable => "ERR_WALK_UNREADABLE",
        }
    }
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (va, level, ttbr) = (self.va, self.level, self.ttbr);
        match (self.reason, self.descriptor_addr, self.descriptor) {
            (WalkFault::MmuOff { pa_bits }, ..) => write!(
                f,
                "the MMU is off (SCTLR_EL1.M = 0), so VA {va:#x} is a physical address, and it is \
                 beyond the {pa_bits}-bit physical address space"
            ),
            (WalkFault::VaOutOfRange { va_bits }, ..) => write!(
                f,
                "VA {va:#x} is outside the {va_bits}-bit TTBR{ttbr} range (translation fault)"
            ),
            (WalkFault::WalkDisabled, ..) => write!(
                f,
                "VA {va:#x} is in the TTBR{ttbr} range, whose walks TCR_EL1.EPD{ttbr} disables"
            ),
            (WalkFault::AddressSize { pa_bits }, None, _) => write!(
                f,
                "TTBR{ttbr}_EL1 table address exceeds the {pa_bits}-bit physical address size \
                 (translating VA {va:#x})"
            ),
            (WalkFault::Unreadable, Some(at), _) => write!(
                f,
                "level {level} descriptor at {at:#x} is outside guest memory \
                 (translating VA {va:#x})"
            ),
            (reason, Some(at), Some(desc)) => {
                write!(f, "level {level} descriptor {desc:#x} at {at:#x} ")?;
                match reason {
                    WalkFault::NotValid => f.write_str("is invalid")?,
                    WalkFault::Reserved { granule } => write!(
                        f,
                        "is reserved: no block at level {level} with the {granule} granule"
                    )?,
                    WalkFault::AddressSize { pa_bits } => write!(
                        f,
                        "has an address beyond the {pa_bits}-bit physical address size"
                    )?,
                    _ => write!(f, "failed: {reason:?}")?,
                }
                write!(f, " (translating VA {va:#x} through TTBR{ttbr})")
            }
            (reason, ..) => write!(f, "level {level}: {reason:?} (translating VA {va:#x})"),
        }
    }
}

impl std::error::Error for WalkError {}

/// Sign-extend `value` from bit `bit` (0..=63): bits above it become copies.
pub fn sign_extend(value: u64, bit: u32) -> u64 {
    let shift = 63 - bit.min(63);
    (((value << shift) as i64) >> shift) as u64
}

/// The canonical form of a `va_bits`-bit VA: sign-extended from bit
/// `va_bits - 1`, so TTBR1 addresses have all top bits set.
pub fn canonicalise(va: u64, va_bits: u32) -> u64 {
    sign_extend(va, va_bits.clamp(1, 64) - 1)
}

/// The bits `hi..=lo` of `v`, in place (not shifted down).
fn bits(v: u64, hi: u32, lo: u32) -> u64 {
    let width = hi - lo + 1;
    let mask = if width >= 64 {
        u64::MAX
    } else {
        ((1u64 << width) - 1) << lo
    };
    v & mask
}

/// The physical address size from TCR_EL1.IPS, capped at 48 bits unless a
/// 52-bit output format is in use (`AArch64.PAMax` and `S1OAOutOfRange`).
fn pa_bits(tcr: u64, granule: Granule) -> u32 {
    let ips = match (tcr >> TCR_IPS_SHIFT) & 0b111 {
        0b000 => 32,
        0b001 => 36,
        0b010 => 40,
        0b011 => 42,
        0b100 => 44,
        0b101 => 48,
        _ => 52,
    };
    let fmt52 = granule == Granule::K64 || tcr & TCR_DS != 0;
    if fmt52 {
        ips
    } else {
        ips.min(48)
    }
}

/// The output (or next-table) address in a descriptor whose address field
/// starts at bit `lo`, in the format the granule, DS and PA size select.
fn descriptor_oa(desc: u64, lo: u32, granule: Granule, ds: bool, pa_bits: u32) -> u64 {
    if granule == Granule::K64 {
        let oa = bits(desc, 47, lo);
        if pa_bits == 52 {
            // FEAT_LPA: OA[51:48] in descriptor bits 15:12.
            oa | ((desc >> 12) & 0xf) << 48
        } else {
            oa
        }
    } else if ds {
        // FEAT_LPA2: OA[49:lo] in place, OA[51:50] in descriptor bits 9:8.
        bits(desc, 49, lo) | ((desc >> 8) & 0b11) << 50
    } else {
        bits(desc, 47, lo)
    }
}

/// Whether a block descriptor is allowed at `level` (Arm ARM "Translation
/// table descriptor formats", and `AArch64.BlockDescSupported`).
fn block_allowed(granule: Granule, level: i8, ds: bool, pa_bits: u32) -> bool {
    match granule {
        Granule::K4 => level == 1 || level == 2 || (level == 0 && ds),
        Granule::K16 => level == 2 || (level == 1 && ds),
        Granule::K64 => level == 2 || (level == 1 && pa_bits == 52),
    }
}

/// Translate `va` through the guest's stage-1 EL1&0 tables.
pub fn translate(
    mem: &impl PhysRead,
    regs: &Stage1Regs,
    va: u64,
) -> Result<Translation, WalkError> {
    let tcr = regs.tcr_el1;
    if regs.sctlr_el1 & SCTLR_M == 0 {
        if va >> PA_BITS_MAX != 0 {
            return Err(WalkError {
                va,
                level: 0,
                ttbr: 0,
                descriptor_addr: None,
                descriptor: None,
                reason: WalkFault::MmuOff {
                    pa_bits: PA_BITS_MAX,
                },
            });
        }
        return Ok(Translation {
            va,
            pa: va,
            level: None,
            page_size: Granule::K4.page_size(),
            descriptor: 0,
            descriptor_addr: 0,
            ttbr: 0,
            writable: true,
            executable: true,
            user: true,
            accessed: true,
        });
    }

    // AArch64.GetVARange: bit 55 selects the range, whatever TBI says.
    let upper = (va >> 55) & 1 == 1;
    let ttbr: u8 = upper.into();
    let (tsz, granule, epd, tbi, hpd, ttbr_val) = if upper {
        (
            (tcr >> TCR_T1SZ_SHIFT) & 0x3f,
            Granule::from_tg1(tcr >> TCR_TG1_SHIFT),
            tcr & TCR_EPD1 != 0,
            tcr & TCR_TBI1 != 0,
            tcr & TCR_HPD1 != 0,
            regs.ttbr1_el1,
        )
    } else {
        (
            (tcr >> TCR_T0SZ_SHIFT) & 0x3f,
            Granule::from_tg0(tcr >> TCR_TG0_SHIFT),
            tcr & TCR_EPD0 != 0,
            tcr & TCR_TBI0 != 0,
            tcr & TCR_HPD0 != 0,
            regs.ttbr0_el1,
        )
    };
    let ds = tcr & TCR_DS != 0 && granule != Granule::K64;
    let min_tsz = if granule == Granule::K64 || ds {
        12
    } else {
        16
    };
    let max_tsz = if granule == Granule::K64 { 47 } else { 48 };
    let va_bits = 64 - (tsz as u32).clamp(min_tsz, max_tsz);
    let pa_bits = pa_bits(tcr, granule);
    let fault = |level: i8, at: Option<u64>, desc: Option<u64>, reason| WalkError {
        va,
        level,
        ttbr,
        descriptor_addr: at,
        descriptor: desc,
        reason,
    };

    // The bits above the range, up to 63 (or 55 with TBI), must all equal
    // the range's sign: 0 for TTBR0, 1 for TTBR1.
    let top = if tbi { 55 } else { 63 };
    let high = bits(va, top, va_bits);
    let expect = if upper {
        bits(u64::MAX, top, va_bits)
    } else {
        0
    };
    if high != expect {
        return Err(fault(0, None, None, WalkFault::VaOutOfRange { va_bits }));
    }

    let shift = granule.page_shift();
    let stride = granule.stride();
    let levels = (va_bits - shift).div_ceil(stride);
    let start: i8 = 4 - levels as i8;
    if epd {
        return Err(fault(start, None, None, WalkFault::WalkDisabled));
    }

    // TTBR BADDR: bits 47:1, with BADDR[51:48] in bits 5:2 for 52-bit formats
    // (Arm ARM D24.2 TTBR0_EL1). The table is aligned to its size (>= 64
    // bytes when 52-bit), so the low bits are dropped.
    let fmt52 = pa_bits == 52;
    let start_lsb = shift + (3 - start) as u32 * stride;
    let start_table_bytes = 8u64 << (va_bits - start_lsb);
    let mut table = if fmt52 {
        bits(ttbr_val, 47, 6) | ((ttbr_val >> 2) & 0xf) << 48
    } else {
        bits(ttbr_val, 47, 1)
    } & !(start_table_bytes - 1);
    if table >> pa_bits != 0 {
        return Err(fault(start, None, None, WalkFault::AddressSize { pa_bits }));
    }

    let big_endian = regs.sctlr_el1 & SCTLR_EE != 0;
    let (mut no_write, mut no_el0, mut pxn) = (false, false, false);
    let mut level = start;
    loop {
        let lsb = shift + (3 - level) as u32 * stride;
        let width = if level == start {
            va_bits - lsb
        } else {
            stride
        };
        let index = (va >> lsb) & ((1 << width) - 1);
        let at = table + index * 8;
        let raw = mem
            .read_u64(at)
            .ok_or_else(|| fault(level, Some(at), None, WalkFault::Unreadable))?;
        let desc = if big_endian { raw.swap_bytes() } else { raw };
        let err = |reason| fault(level, Some(at), Some(desc), reason);
        if desc & DESC_VALID == 0 {
            return Err(err(WalkFault::NotValid));
        }
        let is_table_or_page = desc & DESC_TABLE_OR_PAGE != 0;
        if level < 3 && is_table_or_page {
            table = descriptor_oa(desc, shift, granule, ds, pa_bits);
            if table >> pa_bits != 0 {
                return Err(err(WalkFault::AddressSize { pa_bits }));
            }
            if !hpd {
                no_write |= desc & TABLE_AP_RO != 0;
                no_el0 |= desc & TABLE_AP_NO_EL0 != 0;
                pxn |= desc & TABLE_PXN != 0;
            }
            level += 1;
            continue;
        }
        if level == 3 && !is_table_or_page
            || level < 3 && !block_allowed(granule, level, ds, pa_bits)
        {
            return Err(err(WalkFault::Reserved { granule }));
        }
        let oa = descriptor_oa(desc, lsb, granule, ds, pa_bits);
        if oa >> pa_bits != 0 {
            return Err(err(WalkFault::AddressSize { pa_bits }));
        }
        let page_size = 1u64 << lsb;
        let writable = desc & DESC_AP_RO == 0 && !no_write;
        let user = desc & DESC_AP_EL0 != 0 && !no_el0;
        let el0_writable = user && writable;
        let wxn = regs.sctlr_el1 & SCTLR_WXN != 0 && writable;
        return Ok(Translation {
            va,
            pa: oa | (va & (page_size - 1)),
            level: Some(level),
            page_size,
            descriptor: desc,
            descriptor_addr: at,
            ttbr,
            writable,
            executable: desc & DESC_PXN == 0 && !pxn && !el0_writable && !wxn,
            user,
            accessed: desc & DESC_AF != 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Guest memory of 8-byte words; `be` stores descriptors big-endian.
    #[derive(Default)]
    struct Mem {
        words: HashMap<u64, u64>,
        be: bool,
    }

    impl Mem {
        fn set(&mut self, table: u64, index: u64, desc: u64) {
            let v = if self.be { desc.swap_bytes() } else { desc };
            self.words.insert(table + index * 8, v);
        }
    }

    impl PhysRead for Mem {
        fn read_u64(&self, pa: u64) -> Option<u64> {
            // Unpopulated words read as 0 (invalid); "RAM" ends at 0xc << 48.
            if pa >= OUTSIDE_RAM {
                return None;
            }
            Some(self.words.get(&pa).copied().unwrap_or(0))
        }
    }

    const OUTSIDE_RAM: u64 = 0x000c_0000_0000_0000;
    const TABLE: u64 = 0b11;
    const PAGE: u64 = 0b11 | DESC_AF;
    const BLOCK: u64 = 0b01 | DESC_AF;
    const TG0_16K: u64 = 0b10 << 14;
    const TG0_64K: u64 = 0b01 << 14;
    const TG1_4K: u64 = 0b10 << 30;
    const IPS_48: u64 = 0b101 << 32;
    const IPS_52: u64 = 0b110 << 32;

    fn regs(tcr: u64, ttbr0: u64, ttbr1: u64) -> Stage1Regs {
        Stage1Regs {
            sctlr_el1: SCTLR_M,
            tcr_el1: tcr,
            ttbr0_el1: ttbr0,
            ttbr1_el1: ttbr1,
        }
    }

    #[test]
    fn a_dump_is_walked_and_a_translation_renders_as_json() {
        // T0SZ = 25 (39-bit VAs), 4K: level 1 table -> level 2 table -> level 3 page.
        let base = 0x4000_0000u64;
        let mut bytes = vec![0u8; 0x4000];
        let mut put = |table: u64, index: u64, desc: u64| {
            let at = (table - base + index * 8) as usize;
            bytes[at..at + 8].copy_from_slice(&desc.to_le_bytes());
        };
        put(base, 1, (base + 0x1000) | TABLE);
        put(base + 0x1000, 0, (base + 0x2000) | TABLE);
        put(base + 0x2000, 5, (base + 0x3000) | PAGE);
        let dump = PhysDump {
            base,
            bytes: &bytes,
        };
        let r = regs(25 | TG1_4K, base, 0);
        let t = translate(&dump, &r, 0x4000_5123).unwrap();
        assert_eq!((t.pa, t.level), (base + 0x3123, Some(3)));
        let j: serde_json::Value = serde_json::from_str(&t.to_json()).unwrap();
        assert_eq!(j["pa"], "0x40003123");
        assert_eq!(j["pageSize"], "0x1000");
        assert_eq!(j["level"], 3);
        assert_eq!(j["writable"], true);
        // A table outside the dump is unreadable, named with its address.
        let e = translate(&dump, &regs(25 | TG1_4K, base + 0x10_0000, 0), 0).unwrap_err();
        assert_eq!(e.code(), "ERR_WALK_UNREADABLE");
        let e = crate::Error::Walk(e);
        assert_eq!(e.code(), "ERR_WALK_UNREADABLE");
        assert!(e.to_string().contains("0x40100000"), "{e}");
    }

    #[test]
    fn mmu_off_is_identity() {
        let r = Stage1Regs::default();
        let t = translate(&Mem::default(), &r, 0x4008_1234).unwrap();
        assert_eq!((t.pa, t.level), (0x4008_1234, None));
        let e = translate(&Mem::default(), &r, 1 << 60).unwrap_err();
        assert_eq!(e.code(), "ERR_WALK_ADDRESS_SIZE");
        assert!(e.to_string().starts_with("the MMU is off"), "{e}");
    }

    #[test]
    fn k4_48bit_four_levels_to_a_page() {
        let mut m = Mem::default();
        m.set(0x1000, 1, 0x2000 | TABLE);
        m.set(0x2000, 2, 0x3000 | TABLE);
        m.set(0x3000, 3, 0x4000 | TABLE);
        m.set(0x4000, 4, 0x8000_0000 | PAGE);
        let va = (1 << 39) | (2 << 30) | (3 << 21) | (4 << 12) | 0x567;
        let t = translate(&m, &regs(16 | IPS_48, 0x1000, 0), va).unwrap();
        assert_eq!(t.pa, 0x8000_0567);
        assert_eq!((t.level, t.page_size, t.ttbr), (Some(3), 4096, 0));
        assert_eq!(
            (t.descriptor_addr, t.descriptor),
            (0x4020, 0x8000_0000 | PAGE)
        );
        assert!(t.writable && t.executable && !t.user && t.accessed);
        assert_eq!(t.bytes_to_page_end(), 4096 - 0x567);
    }

    #[test]
    fn k4_ttbr1_39bit_2m_block() {
        // T1SZ = 25: 39-bit range, start level 1.
        let mut m = Mem::default();
        m.set(0x10_0000, 5, 0x11_0000 | TABLE);
        m.set(0x11_0000, 7, 0x4020_0000 | BLOCK | DESC_AP_RO);
        let va = 0xffff_ff80_0000_0000 | (5 << 30) | (7 << 21) | 0x1_2345;
        let t = translate(&m, &regs((25 << 16) | TG1_4K | IPS_48, 0, 0x10_0000), va).unwrap();
        assert_eq!(t.pa, 0x4021_2345);
        assert_eq!((t.level, t.page_size, t.ttbr), (Some(2), 2 << 20, 1));
        assert!(!t.writable);
        // The same VA with a hole in bit 40 is outside the 39-bit range.
        let e = translate(
            &m,
            &regs((25 << 16) | TG1_4K, 0, 0x10_0000),
            va & !(1 << 40),
        )
        .unwrap_err();
        assert_eq!(e.reason, WalkFault::VaOutOfRange { va_bits: 39 });
    }

    #[test]
    fn k16_48bit_starts_with_a_two_entry_level0() {
        let mut m = Mem::default();
        m.set(0x4000, 1, 0x8000 | TABLE);
        m.set(0x8000, 3, 0xc000 | TABLE);
        m.set(0xc000, 5, 0x1_0000 | TABLE);
        m.set(0x1_0000, 7, 0x9000_4000 | PAGE);
        let va = (1 << 47) | (3 << 36) | (5 << 25) | (7 << 14) | 0x1abc;
        let t = translate(&m, &regs(16 | TG0_16K | IPS_48, 0x4000, 0), va).unwrap();
        assert_eq!(t.pa, 0x9000_5abc);
        assert_eq!((t.level, t.page_size), (Some(3), 16 << 10));
    }

    #[test]
    fn k64_48bit_three_levels() {
        let mut m = Mem::default();
        m.set(0x1_0000, 2, 0x2_0000 | TABLE);
        m.set(0x2_0000, 3, 0x3_0000 | TABLE);
        m.set(0x3_0000, 4, 0x7_0000 | PAGE);
        let va = (2 << 42) | (3 << 29) | (4 << 16) | 0xbeef;
        let t = translate(&m, &regs(16 | TG0_64K | IPS_48, 0x1_0000, 0), va).unwrap();
        assert_eq!(t.pa, 0x7_beef);
        assert_eq!((t.level, t.page_size), (Some(3), 64 << 10));
    }

    #[test]
    fn k64_52bit_va_and_lpa_output() {
        // T0SZ = 12, IPS = 52 bits: start level 1 indexes VA[51:42];
        // TTBR0 BADDR[51:48] = 0xa in bits 5:2; page OA[51:48] in bits 15:12.
        let l1 = 0x000a_0000_0004_0000;
        let mut m = Mem::default();
        m.set(l1, 0x201, 0x2_0000 | TABLE);
        m.set(0x2_0000, 1, 0x3_0000 | TABLE);
        m.set(0x3_0000, 1, 0x0000_0000_0001_0000 | (0xf << 12) | PAGE);
        let va = (0x201 << 42) | (1 << 29) | (1 << 16) | 0x10;
        let ttbr0 = 0x4_0000 | (0xa << 2);
        let t = translate(&m, &regs(12 | TG0_64K | IPS_52, ttbr0, 0), va).unwrap();
        assert_eq!(t.pa, 0x000f_0000_0001_0010);
        assert_eq!(t.descriptor_addr, 0x3_0008);
    }

    #[test]
    fn k4_lpa2_52bit_level_minus_one_and_1g_block() {
        // DS = 1, T0SZ = 12: five levels from -1 (VA[51:48]).
        let mut m = Mem::default();
        m.set(0x1000, 0x9, 0x2000 | TABLE);
        m.set(0x2000, 0x1, 0x3000 | TABLE);
        // 1 GiB block, OA = 0xf_0000_4000_0000: OA[49:48] in place, OA[51:50] in 9:8.
        m.set(0x3000, 0x2, 0x0003_0000_4000_0000 | (0b11 << 8) | BLOCK);
        let va = (0x9 << 48) | (1 << 39) | (2 << 30) | 0x123_4567;
        let t = translate(&m, &regs(12 | IPS_52 | TCR_DS, 0x1000, 0), va).unwrap();
        assert_eq!(t.pa, 0x000f_0000_4123_4567);
        assert_eq!((t.level, t.page_size), (Some(1), 1 << 30));
        // The same descriptor at level 0 (512 GiB) is also allowed with DS.
        m.set(0x2000, 0x1, 0x0003_0000_0000_0000 | BLOCK);
        let t = translate(&m, &regs(12 | IPS_52 | TCR_DS, 0x1000, 0), va).unwrap();
        assert_eq!((t.level, t.pa), (Some(0), 0x0003_0000_8123_4567));
    }

    #[test]
    fn invalid_descriptor_names_level_and_address() {
        let mut m = Mem::default();
        m.set(0x1000, 0, 0x2000 | TABLE);
        m.set(0x2000, 0, 0x3000 | TABLE);
        let e = translate(&m, &regs(16 | IPS_48, 0x1000, 0), 0x12_3000).unwrap_err();
        assert_eq!(e.reason, WalkFault::NotValid);
        assert_eq!(
            (e.level, e.descriptor_addr, e.descriptor),
            (2, Some(0x3000), Some(0))
        );
        assert_eq!(e.code(), "ERR_WALK_NOT_VALID");
        let text = e.to_string();
        assert!(
            text.starts_with("level 2 descriptor 0x0 at 0x3000 is invalid"),
            "{text}"
        );
    }

    #[test]
    fn tbi_ignores_the_top_byte_and_epd_disables() {
        let mut m = Mem::default();
        m.set(0x1000, 0, 0x2000 | TABLE);
        m.set(0x2000, 0, 0x3000 | TABLE);
        m.set(0x3000, 0, 0x4000_0000 | BLOCK);
        let tagged = 0x5a00_0000_0000_1234;
        let e = translate(&m, &regs(16 | IPS_48, 0x1000, 0), tagged).unwrap_err();
        assert_eq!(e.code(), "ERR_WALK_VA_RANGE");
        let t = translate(&m, &regs(16 | IPS_48 | TCR_TBI0, 0x1000, 0), tagged).unwrap();
        assert_eq!(t.pa, 0x4000_1234);
        let e = translate(&m, &regs(16 | TCR_EPD1, 0, 0x1000), u64::MAX).unwrap_err();
        assert_eq!((e.reason, e.ttbr), (WalkFault::WalkDisabled, 1));
    }

    #[test]
    fn big_endian_descriptors_with_ee() {
        let mut m = Mem {
            be: true,
            ..Mem::default()
        };
        m.set(0x1000, 0, 0x2000 | TABLE);
        m.set(0x2000, 0, 0x3000 | TABLE);
        m.set(0x3000, 0, 0x4000_0000 | BLOCK);
        let mut r = regs(16 | IPS_48, 0x1000, 0);
        assert!(translate(&m, &r, 0x1234).is_err());
        r.sctlr_el1 |= SCTLR_EE;
        assert_eq!(translate(&m, &r, 0x1234).unwrap().pa, 0x4000_1234);
    }

    #[test]
    fn reserved_blocks_and_address_size() {
        let mut m = Mem::default();
        // 64K granule, 48-bit OA: no level-1 block.
        m.set(0x1_0000, 0, 0x4000_0000 | BLOCK);
        let e = translate(&m, &regs(16 | TG0_64K | IPS_48, 0x1_0000, 0), 0x1000).unwrap_err();
        assert_eq!(
            e.reason,
            WalkFault::Reserved {
                granule: Granule::K64
            }
        );
        assert!(e.to_string().contains("level 1"), "{e}");
        // 4K, level-3 entry with bit 1 clear is reserved.
        let mut m = Mem::default();
        m.set(0x1000, 0, 0x2000 | TABLE);
        m.set(0x2000, 0, 0x3000 | TABLE);
        m.set(0x3000, 0, 0x4000 | TABLE);
        m.set(0x4000, 0, 0x5000 | BLOCK);
        let e = translate(&m, &regs(16 | IPS_48, 0x1000, 0), 0x10).unwrap_err();
        assert_eq!(e.code(), "ERR_WALK_RESERVED");
        // IPS = 32 bits: a page at 4 GiB is an address size fault.
        m.set(0x4000, 0, 0x1_0000_0000 | PAGE);
        let e = translate(&m, &regs(16, 0x1000, 0), 0x10).unwrap_err();
        assert_eq!(
            (e.reason, e.level),
            (WalkFault::AddressSize { pa_bits: 32 }, 3)
        );
    }

    #[test]
    fn table_outside_memory_is_unreadable() {
        // BADDR[51:48] = 0xd (TTBR bits 5:2): above the end of "RAM".
        let ttbr0 = 0x1_0000 | (0xd << 2);
        let e = translate(&Mem::default(), &regs(16 | IPS_52 | TG0_64K, ttbr0, 0), 0).unwrap_err();
        assert_eq!(e.reason, WalkFault::Unreadable, "{e}");
        assert_eq!(e.descriptor_addr, Some(0x000d_0000_0001_0000));
        assert!(e.to_string().contains("outside guest memory"), "{e}");
    }

    #[test]
    fn hierarchical_permissions() {
        let mut m = Mem::default();
        m.set(0x1000, 0, 0x2000 | TABLE | TABLE_AP_RO | TABLE_PXN);
        m.set(0x2000, 0, 0x3000 | TABLE);
        m.set(0x3000, 0, 0x4000_0000 | BLOCK | DESC_AP_EL0);
        let t = translate(&m, &regs(16 | IPS_48, 0x1000, 0), 0).unwrap();
        assert!(!t.writable && !t.executable && t.user);
        // HPD0 disables the table attributes; EL0-writable is then not EL1-executable.
        let t = translate(&m, &regs(16 | IPS_48 | TCR_HPD0, 0x1000, 0), 0).unwrap();
        assert!(t.writable && !t.executable && t.user);
    }

    #[test]
    fn canonical_vas() {
        assert_eq!(
            canonicalise(0x0000_8000_0000_0000, 48),
            0xffff_8000_0000_0000
        );
        assert_eq!(
            canonicalise(0x0000_7fff_ffff_f000, 48),
            0x0000_7fff_ffff_f000
        );
        assert_eq!(canonicalise(0x000f_ffff_ffff_ffff, 52), u64::MAX);
        assert_eq!(sign_extend(0x1_0000_0000_0000, 48), 0xffff_0000_0000_0000);
    }
}
