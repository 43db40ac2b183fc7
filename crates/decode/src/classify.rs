//! The allocation-free fast path: ESR_ELx -> EC, class name, IL, ISS, ISS2 and
//! the debug facts a run loop needs (Arm ARM D24.2.40; Linux `esr.h`).
//!
//! [`classify`] returns a [`Classification`]; [`classify_batch`] writes the
//! packed `u32` form of [`Classification::pack`] for many values, with no
//! branches on the hot path beyond table look-ups.

use crate::esr::ec;

/// Short class name per EC (Linux `ESR_ELx_EC_*` names; "Unallocated" for
/// values the architecture does not allocate). Index with the 6-bit EC.
pub const CLASS_NAMES: [&str; 64] = {
    let mut t = ["Unallocated"; 64];
    t[ec::UNKNOWN as usize] = "UNKNOWN";
    t[ec::WFX as usize] = "WFx";
    t[ec::CP15_32 as usize] = "CP15_32";
    t[ec::CP15_64 as usize] = "CP15_64";
    t[ec::CP14_MR as usize] = "CP14_MR";
    t[ec::CP14_LS as usize] = "CP14_LS";
    t[ec::FP_ASIMD as usize] = "FP_ASIMD";
    t[ec::CP10_ID as usize] = "CP10_ID";
    t[ec::PAC as usize] = "PAC";
    t[ec::OTHER as usize] = "OTHER";
    t[ec::CP14_64 as usize] = "CP14_64";
    t[ec::BTI as usize] = "BTI";
    t[ec::ILL as usize] = "ILL";
    t[ec::SVC32 as usize] = "SVC32";
    t[ec::HVC32 as usize] = "HVC32";
    t[ec::SMC32 as usize] = "SMC32";
    t[ec::SYS128 as usize] = "SYS128";
    t[ec::SVC64 as usize] = "SVC64";
    t[ec::HVC64 as usize] = "HVC64";
    t[ec::SMC64 as usize] = "SMC64";
    t[ec::SYS64 as usize] = "SYS64";
    t[ec::SVE as usize] = "SVE";
    t[ec::ERET as usize] = "ERET";
    t[ec::TSTART as usize] = "TSTART";
    t[ec::FPAC as usize] = "FPAC";
    t[ec::SME as usize] = "SME";
    t[ec::IMP_DEF as usize] = "IMP_DEF";
    t[ec::IABT_LOW as usize] = "IABT_LOW";
    t[ec::IABT_CUR as usize] = "IABT_CUR";
    t[ec::PC_ALIGN as usize] = "PC_ALIGN";
    t[ec::DABT_LOW as usize] = "DABT_LOW";
    t[ec::DABT_CUR as usize] = "DABT_CUR";
    t[ec::SP_ALIGN as usize] = "SP_ALIGN";
    t[ec::MOPS as usize] = "MOPS";
    t[ec::FP_EXC32 as usize] = "FP_EXC32";
    t[ec::FP_EXC64 as usize] = "FP_EXC64";
    t[ec::GCS as usize] = "GCS";
    t[ec::SERROR as usize] = "SERROR";
    t[ec::BREAKPT_LOW as usize] = "BREAKPT_LOW";
    t[ec::BREAKPT_CUR as usize] = "BREAKPT_CUR";
    t[ec::SOFTSTP_LOW as usize] = "SOFTSTP_LOW";
    t[ec::SOFTSTP_CUR as usize] = "SOFTSTP_CUR";
    t[ec::WATCHPT_LOW as usize] = "WATCHPT_LOW";
    t[ec::WATCHPT_CUR as usize] = "WATCHPT_CUR";
    t[ec::BKPT32 as usize] = "BKPT32";
    t[ec::VECTOR32 as usize] = "VECTOR32";
    t[ec::BRK64 as usize] = "BRK64";
    t[ec::PMU as usize] = "PMU";
    t
};

/// The short class name of an EC (only its low 6 bits are used).
#[inline]
pub fn class_name(ec: u8) -> &'static str {
    CLASS_NAMES[(ec & 0x3f) as usize]
}

/// The debug-relevant facts of a syndrome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DebugEvent {
    /// Not a debug exception.
    None,
    /// BRK #imm16 in AArch64 (EC 0x3C); `comment` is ISS\[15:0\].
    Brk64 {
        /// The instruction's imm16.
        comment: u16,
    },
    /// BKPT #imm16 in AArch32 (EC 0x38); `comment` is ISS\[15:0\].
    Bkpt32 {
        /// The instruction's imm16.
        comment: u16,
    },
    /// Hardware breakpoint (EC 0x30 lower EL, 0x31 same EL).
    HardwareBreakpoint {
        /// Taken without a change of Exception level (EC 0x31).
        same_el: bool,
    },
    /// Software step (EC 0x32 lower EL, 0x33 same EL).
    SoftwareStep {
        /// ISS\[24\] ISV: EX is valid.
        isv: bool,
        /// ISS\[6\] EX: a Load-Exclusive was stepped (false when ISV is 0).
        ex: bool,
        /// Taken without a change of Exception level (EC 0x33).
        same_el: bool,
    },
    /// Watchpoint (EC 0x34 lower EL, 0x35 same EL).
    Watchpoint {
        /// ISS\[6\] WnR: caused by a write.
        wnr: bool,
        /// ISS\[8\] CM: caused by a cache maintenance instruction.
        cm: bool,
        /// ISS\[23:18\] WPT, when ISS\[17\] WPTV says it is valid.
        wpt: Option<u8>,
        /// Taken without a change of Exception level (EC 0x35).
        same_el: bool,
    },
    /// AArch32 Vector Catch (EC 0x3A).
    VectorCatch,
}

impl DebugEvent {
    /// The 4-bit kind stored in bits 11:8 of [`Classification::pack`].
    #[inline]
    pub const fn kind(&self) -> u8 {
        match self {
            DebugEvent::None => KIND_NONE,
            DebugEvent::Brk64 { .. } => KIND_BRK64,
            DebugEvent::Bkpt32 { .. } => KIND_BKPT32,
            DebugEvent::HardwareBreakpoint { .. } => KIND_HW_BREAKPOINT,
            DebugEvent::SoftwareStep { .. } => KIND_SOFTWARE_STEP,
            DebugEvent::Watchpoint { .. } => KIND_WATCHPOINT,
            DebugEvent::VectorCatch => KIND_VECTOR_CATCH,
        }
    }
}

/// Packed debug kind: not a debug exception.
pub const KIND_NONE: u8 = 0;
/// Packed debug kind: BRK (EC 0x3C).
pub const KIND_BRK64: u8 = 1;
/// Packed debug kind: BKPT (EC 0x38).
pub const KIND_BKPT32: u8 = 2;
/// Packed debug kind: hardware breakpoint (EC 0x30/0x31).
pub const KIND_HW_BREAKPOINT: u8 = 3;
/// Packed debug kind: software step (EC 0x32/0x33).
pub const KIND_SOFTWARE_STEP: u8 = 4;
/// Packed debug kind: watchpoint (EC 0x34/0x35).
pub const KIND_WATCHPOINT: u8 = 5;
/// Packed debug kind: vector catch (EC 0x3A).
pub const KIND_VECTOR_CATCH: u8 = 6;

/// ECs whose ISS\[6\] is WnR and ISS\[8\] is CM: data aborts and watchpoints.
const WNR_CM_ECS: u64 =
    (1 << ec::DABT_LOW) | (1 << ec::DABT_CUR) | (1 << ec::WATCHPT_LOW) | (1 << ec::WATCHPT_CUR);

/// Result of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// ESR_ELx.EC, bits 31:26.
    pub ec: u8,
    /// ESR_ELx.IL, bit 25.
    pub il: bool,
    /// ESR_ELx.ISS, bits 24:0.
    pub iss: u32,
    /// ESR_ELx.ISS2, bits 55:32.
    pub iss2: u32,
    /// Short class name, as [`class_name`].
    pub class: &'static str,
    /// Debug facts.
    pub debug: DebugEvent,
}

/// ISS bit 24: ISV for data aborts and software step (CV or IDS elsewhere).
const ISS_BIT24: u32 = 1 << 24;
/// ISS bit 6: WnR (data aborts, watchpoints) or EX (software step).
const ISS_BIT6: u32 = 1 << 6;
/// ISS bit 8: CM (data aborts, watchpoints).
const ISS_BIT8: u32 = 1 << 8;
/// Watchpoint ISS bit 17: WPTV.
const WPTV_BIT: u32 = 1 << 17;
/// Watchpoint ISS \[23:18\]: WPT.
const WPT_SHIFT: u32 = 18;

/// Classifies one value without allocating. Total over every `u64`.
#[inline]
pub fn classify(esr: u64) -> Classification {
    let ecv = ((esr >> 26) & 0x3f) as u8;
    let iss = (esr & 0x1ff_ffff) as u32;
    let same_el = ecv & 1 == 1;
    let debug = match ecv {
        ec::BRK64 => DebugEvent::Brk64 {
            comment: iss as u16,
        },
        ec::BKPT32 => DebugEvent::Bkpt32 {
            comment: iss as u16,
        },
        ec::BREAKPT_LOW | ec::BREAKPT_CUR => DebugEvent::HardwareBreakpoint { same_el },
        ec::SOFTSTP_LOW | ec::SOFTSTP_CUR => {
            let isv = iss & ISS_BIT24 != 0;
            DebugEvent::SoftwareStep {
                isv,
                ex: isv && iss & ISS_BIT6 != 0,
                same_el,
            }
        }
        ec::WATCHPT_LOW | ec::WATCHPT_CUR => DebugEvent::Watchpoint {
            wnr: iss & ISS_BIT6 != 0,
            cm: iss & ISS_BIT8 != 0,
            wpt: if iss & WPTV_BIT != 0 {
                Some(((iss >> WPT_SHIFT) & 0x3f) as u8)
            } else {
                None
            },
            same_el,
        },
        ec::VECTOR32 => DebugEvent::VectorCatch,
        _ => DebugEvent::None,
    };
    Classification {
        ec: ecv,
        il: (esr >> 25) & 1 == 1,
        iss,
        iss2: ((esr >> 32) & 0xff_ffff) as u32,
        class: CLASS_NAMES[ecv as usize],
        debug,
    }
}

impl Classification {
    /// The packed `u32` form used by [`classify_batch`]:
    ///
    /// | bits  | content |
    /// |-------|---------|
    /// | 5:0   | EC |
    /// | 6     | IL |
    /// | 7     | ISS\[24\] (ISV for data aborts and software step; CV/IDS elsewhere) |
    /// | 11:8  | debug kind: 0 none, 1 BRK64, 2 BKPT32, 3 hardware breakpoint, 4 software step, 5 watchpoint, 6 vector catch ([`KIND_NONE`]..) |
    /// | 12    | WnR (ISS\[6\]) for data aborts and watchpoints, else 0 |
    /// | 13    | CM (ISS\[8\]) for data aborts and watchpoints, else 0 |
    /// | 14    | EX for software step (ISS\[6\] when ISV is 1), else 0 |
    /// | 15    | WPTV for watchpoints (ISS\[17\]), else 0 |
    /// | 31:16 | watchpoints: WPT (ISS\[23:18\]) when WPTV, else 0; all other classes: ISS\[15:0\] (the BRK/BKPT comment, the SVC/HVC/SMC imm16, ...) |
    ///
    /// ISS2 and ISS\[23:16\] of non-watchpoint classes are not packed.
    #[inline]
    pub fn pack(&self) -> u32 {
        let mut p = self.ec as u32 | (self.il as u32) << 6 | ((self.iss >> 24) & 1) << 7;
        p |= (self.debug.kind() as u32) << 8;
        if (WNR_CM_ECS >> self.ec) & 1 == 1 {
            p |= ((self.iss >> 6) & 1) << 12 | ((self.iss >> 8) & 1) << 13;
        }
        match self.debug {
            DebugEvent::SoftwareStep { ex, .. } => {
                p |= (ex as u32) << 14 | (self.iss & 0xffff) << 16
            }
            DebugEvent::Watchpoint { wpt, .. } => {
                if let Some(n) = wpt {
                    p |= 1 << 15 | (n as u32) << 16;
                }
            }
            _ => p |= (self.iss & 0xffff) << 16,
        }
        p
    }
}

/// All ones when `c` is true, else zero.
#[inline(always)]
const fn mask(c: bool) -> u32 {
    0u32.wrapping_sub(c as u32)
}

/// Branch-free, table-free equivalent of `classify(esr).pack()` for the batch
/// path: only shifts, compares and masks, so the loop in [`classify_batch`]
/// can be vectorised.
#[inline(always)]
pub fn pack_value(esr: u64) -> u32 {
    let lo = esr as u32;
    let e = (lo >> 26) & 0x3f;
    let iss = lo & 0x1ff_ffff;
    // EC 0x30..=0x35: breakpoint, step, watchpoint pairs -> kinds 3, 4, 5.
    let in_30 = mask(e >> 3 == 6) & mask(e & 7 < 6);
    let kind = ((KIND_HW_BREAKPOINT as u32 + ((e & 7) >> 1)) & in_30)
        | (KIND_BKPT32 as u32 & mask(e == ec::BKPT32 as u32))
        | (KIND_VECTOR_CATCH as u32 & mask(e == ec::VECTOR32 as u32))
        | (KIND_BRK64 as u32 & mask(e == ec::BRK64 as u32));
    // 0x24, 0x25, 0x34, 0x35 are exactly the ECs with (e & 0b101110) == 0b100100.
    let wnr_cm = (e & 0x2e == 0x24) as u32;
    let is_wp = mask(kind == KIND_WATCHPOINT as u32);
    let is_ss = (kind == KIND_SOFTWARE_STEP as u32) as u32;
    let b24 = (iss >> 24) & 1;
    let b6 = (iss >> 6) & 1;
    let wptv = (iss >> 17) & 1 & is_wp;
    let low16 = iss & 0xffff & !is_wp;
    let wpt = (iss >> WPT_SHIFT) & 0x3f & mask(wptv == 1);
    e | ((lo >> 25) & 1) << 6
        | b24 << 7
        | kind << 8
        | (b6 & wnr_cm) << 12
        | ((iss >> 8) & 1 & wnr_cm) << 13
        | (b6 & b24 & is_ss) << 14
        | wptv << 15
        | (low16 | wpt) << 16
}

/// Classifies `values` into `out`, one [`Classification::pack`] word per
/// value. Processes `min(values.len(), out.len())` values: extra values are
/// ignored and extra output words are left untouched. Never allocates.
pub fn classify_batch(values: &[u64], out: &mut [u32]) {
    for (o, v) in out.iter_mut().zip(values) {
        *o = pack_value(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvm_values() {
        let c = classify(0xf200_0123);
        assert_eq!(c.class, "BRK64");
        assert_eq!(c.debug, DebugEvent::Brk64 { comment: 0x123 });
        assert!(c.il);
        assert_eq!(
            classify(0xcb00_0022).debug,
            DebugEvent::SoftwareStep {
                isv: true,
                ex: false,
                same_el: false
            }
        );
        assert_eq!(
            classify(0xc200_0022).debug,
            DebugEvent::HardwareBreakpoint { same_el: false }
        );
    }

    #[test]
    fn watchpoint_facts() {
        let v = (0x35u64 << 26) | (5 << 18) | (1 << 17) | (1 << 8) | (1 << 6) | 0x22;
        let c = classify(v);
        assert_eq!(
            c.debug,
            DebugEvent::Watchpoint {
                wnr: true,
                cm: true,
                wpt: Some(5),
                same_el: true
            }
        );
        let p = c.pack();
        assert_eq!(p & 0x3f, 0x35);
        assert_eq!((p >> 8) & 0xf, KIND_WATCHPOINT as u32);
        assert_eq!((p >> 12) & 1, 1);
        assert_eq!((p >> 15) & 1, 1);
        assert_eq!(p >> 16, 5);
    }

    #[test]
    fn pack_value_matches_pack() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Force the debug ECs often.
            let v = if i % 2 == 0 {
                (x & !(0x3f << 26)) | ((0x30 + (i % 16)) << 26)
            } else {
                x
            };
            assert_eq!(pack_value(v), classify(v).pack(), "{v:#x}");
        }
    }

    #[test]
    fn batch_processes_the_shorter_length() {
        let vals = [0xf200_0123u64, 0xcb00_0022, 0x5600_0000];
        let mut out = [0xdead_beefu32; 2];
        classify_batch(&vals, &mut out);
        assert_eq!(out[0], classify(vals[0]).pack());
        assert_eq!(out[1], classify(vals[1]).pack());
        let mut out = [0xdead_beefu32; 4];
        classify_batch(&vals, &mut out);
        assert_eq!(out[3], 0xdead_beef);
        assert_eq!(out[2] & 0x3f, 0x15);
        assert_eq!(out[0] >> 16, 0x123);
    }
}
