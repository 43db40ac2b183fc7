//! ESR_ELx syndrome decoding (Arm ARM D24.2.40 ESR_EL1, D24.2.41 ESR_EL2,
//! D24.2.42 ESR_EL3; ISS encodings in D24.2.40 and Linux
//! `arch/arm64/include/asm/esr.h`).
//!
//! One `match` on the EC (`iss_fields`) dispatches to one file per
//! exception-class family. The result is one uniform [`Field`] tree that the
//! text printer, the one-line [`summary`], JSON and both bindings render.
//!
//! Total: [`decode`] and [`summary`] accept every `u64`. Unallocated ECs,
//! reserved field values and nonzero RES0 bits are named in the tree, never
//! reported as an error.
//!
//! All sub-fields carry absolute bit positions within the 64-bit register, so
//! `field.value == extract(esr, field.hi, field.lo)` holds for every node.

mod abort;
mod align;
mod bti;
mod cp;
mod debug;
mod eret;
mod fp;
mod gcs;
mod impdef;
mod ls64;
mod mops;
mod pauth;
mod pmu;
mod serror;
mod sme;
mod svc;
mod sys128;
mod sys64;
mod tstart;
mod unknown;
mod wfx;

use crate::classify::{class_name, CLASS_NAMES};
use crate::field::Field;
use std::borrow::Cow;

/// Bit in `kvm_run.flags` saying `debug.arch.hsr_high` is valid
/// (Linux `arch/arm64/include/uapi/asm/kvm.h`, KVM_DEBUG_ARCH_HSR_HIGH_VALID).
pub const KVM_DEBUG_ARCH_HSR_HIGH_VALID: u16 = 1 << 0;

/// Joins KVM's debug-exit pair into one 64-bit ESR: `hsr` is bits 31:0 and
/// `hsr_high` bits 63:32, the latter only when `high_valid`.
pub fn esr_from_kvm_debug_exit(hsr: u32, hsr_high: u32, high_valid: bool) -> u64 {
    let high = if high_valid { hsr_high as u64 } else { 0 };
    (high << 32) | hsr as u64
}

/// Exception class values (Arm ARM D24.2.40, ESR_ELx.EC; Linux `ESR_ELx_EC_*`).
#[allow(missing_docs)]
pub mod ec {
    pub const UNKNOWN: u8 = 0x00;
    pub const WFX: u8 = 0x01;
    pub const CP15_32: u8 = 0x03;
    pub const CP15_64: u8 = 0x04;
    pub const CP14_MR: u8 = 0x05;
    pub const CP14_LS: u8 = 0x06;
    pub const FP_ASIMD: u8 = 0x07;
    pub const CP10_ID: u8 = 0x08;
    pub const PAC: u8 = 0x09;
    pub const OTHER: u8 = 0x0A;
    pub const CP14_64: u8 = 0x0C;
    pub const BTI: u8 = 0x0D;
    pub const ILL: u8 = 0x0E;
    pub const SVC32: u8 = 0x11;
    pub const HVC32: u8 = 0x12;
    pub const SMC32: u8 = 0x13;
    pub const SYS128: u8 = 0x14;
    pub const SVC64: u8 = 0x15;
    pub const HVC64: u8 = 0x16;
    pub const SMC64: u8 = 0x17;
    pub const SYS64: u8 = 0x18;
    pub const SVE: u8 = 0x19;
    pub const ERET: u8 = 0x1A;
    pub const TSTART: u8 = 0x1B;
    pub const FPAC: u8 = 0x1C;
    pub const SME: u8 = 0x1D;
    pub const IMP_DEF: u8 = 0x1F;
    pub const IABT_LOW: u8 = 0x20;
    pub const IABT_CUR: u8 = 0x21;
    pub const PC_ALIGN: u8 = 0x22;
    pub const DABT_LOW: u8 = 0x24;
    pub const DABT_CUR: u8 = 0x25;
    pub const SP_ALIGN: u8 = 0x26;
    pub const MOPS: u8 = 0x27;
    pub const FP_EXC32: u8 = 0x28;
    pub const FP_EXC64: u8 = 0x2C;
    pub const GCS: u8 = 0x2D;
    pub const SERROR: u8 = 0x2F;
    pub const BREAKPT_LOW: u8 = 0x30;
    pub const BREAKPT_CUR: u8 = 0x31;
    pub const SOFTSTP_LOW: u8 = 0x32;
    pub const SOFTSTP_CUR: u8 = 0x33;
    pub const WATCHPT_LOW: u8 = 0x34;
    pub const WATCHPT_CUR: u8 = 0x35;
    pub const BKPT32: u8 = 0x38;
    pub const VECTOR32: u8 = 0x3A;
    pub const BRK64: u8 = 0x3C;
    pub const PMU: u8 = 0x3D;
}

/// ESR_ELx.EC, bits \[31:26\].
pub const EC_HI: u8 = 31;
/// ESR_ELx.EC low bit.
pub const EC_LO: u8 = 26;
/// ESR_ELx.IL, bit \[25\].
pub const IL_BIT: u8 = 25;
/// ESR_ELx.ISS, bits \[24:0\].
pub const ISS_HI: u8 = 24;
/// ESR_ELx.ISS2, bits \[55:32\] (FEAT_LS64, FEAT_S1PIE, FEAT_GCS, ...).
pub const ISS2_HI: u8 = 55;
/// ESR_ELx.ISS2 low bit.
pub const ISS2_LO: u8 = 32;
/// ESR_ELx bits \[63:56\] are RES0.
pub const RES0_HI: u8 = 63;
/// ESR_ELx RES0 low bit.
pub const RES0_LO: u8 = 56;

/// The Arm ARM's wording of each exception class (D24.2.40, EC field).
pub fn class_description(ec: u8) -> &'static str {
    match ec & 0x3f {
        ec::UNKNOWN => "Unknown reason",
        ec::WFX => "Trapped WF* instruction execution (WFI, WFE, WFIT, WFET)",
        ec::CP15_32 => "Trapped MCR or MRC access with (coproc==0b1111) (AArch32)",
        ec::CP15_64 => "Trapped MCRR or MRRC access with (coproc==0b1111) (AArch32)",
        ec::CP14_MR => "Trapped MCR or MRC access with (coproc==0b1110) (AArch32)",
        ec::CP14_LS => "Trapped LDC or STC access (AArch32)",
        ec::FP_ASIMD => {
            "Access to SME, SVE, Advanced SIMD or floating-point functionality trapped by \
             CPACR_EL1.FPEN, CPTR_EL2.FPEN, CPTR_EL2.TFP, or CPTR_EL3.TFP"
        }
        ec::CP10_ID => "Trapped VMRS access, from ID group trap (AArch32)",
        ec::PAC => {
            "Trapped use of a Pointer authentication instruction because HCR_EL2.API == 0 \
             || SCR_EL3.API == 0"
        }
        ec::OTHER => "Other: a trapped LD64B, ST64B, ST64BV, ST64BV0, TSB CSYNC or PSB CSYNC (Linux ESR_ELx_EC_OTHER)",
        ec::CP14_64 => "Trapped MRRC access with (coproc==0b1110) (AArch32)",
        ec::BTI => "Branch Target Exception",
        ec::ILL => "Illegal Execution state",
        ec::SVC32 => "SVC instruction execution in AArch32 state",
        ec::HVC32 => "HVC instruction execution in AArch32 state",
        ec::SMC32 => "SMC instruction execution in AArch32 state",
        ec::SYS128 => {
            "Trapped MSRR, MRRS or System instruction execution in AArch64 state \
             (FEAT_SYSREG128)"
        }
        ec::SVC64 => "SVC instruction execution in AArch64 state",
        ec::HVC64 => "HVC instruction execution in AArch64 state",
        ec::SMC64 => "SMC instruction execution in AArch64 state",
        ec::SYS64 => "Trapped MSR, MRS or System instruction execution in AArch64 state",
        ec::SVE => {
            "Access to SVE functionality trapped as a result of CPACR_EL1.ZEN, CPTR_EL2.ZEN, \
             CPTR_EL2.TZ, or CPTR_EL3.EZ"
        }
        ec::ERET => "Trapped ERET, ERETAA, or ERETAB instruction execution",
        ec::TSTART => {
            "Exception from an access to a TSTART instruction (FEAT_TME, since withdrawn \
             from the architecture)"
        }
        ec::FPAC => "Exception from a Pointer Authentication instruction authentication failure",
        ec::SME => "Access to SME functionality trapped",
        ec::IMP_DEF => "IMPLEMENTATION DEFINED exception taken to EL3",
        ec::IABT_LOW => "Instruction Abort from a lower Exception level",
        ec::IABT_CUR => "Instruction Abort taken without a change in Exception level",
        ec::PC_ALIGN => "PC alignment fault exception",
        ec::DABT_LOW => "Data Abort from a lower Exception level",
        ec::DABT_CUR => "Data Abort taken without a change in Exception level",
        ec::SP_ALIGN => "SP alignment fault exception",
        ec::MOPS => "Memory Operation Exception (FEAT_MOPS)",
        ec::FP_EXC32 => "Trapped floating-point exception taken from AArch32 state",
        ec::FP_EXC64 => "Trapped floating-point exception taken from AArch64 state",
        ec::GCS => "GCS exception (FEAT_GCS)",
        ec::SERROR => "SError exception",
        ec::BREAKPT_LOW => "Breakpoint exception from a lower Exception level",
        ec::BREAKPT_CUR => "Breakpoint exception taken without a change in Exception level",
        ec::SOFTSTP_LOW => "Software Step exception from a lower Exception level",
        ec::SOFTSTP_CUR => "Software Step exception taken without a change in Exception level",
        ec::WATCHPT_LOW => "Watchpoint exception from a lower Exception level",
        ec::WATCHPT_CUR => "Watchpoint exception taken without a change in Exception level",
        ec::BKPT32 => "BKPT instruction execution in AArch32 state",
        ec::VECTOR32 => "Vector Catch exception (AArch32)",
        ec::BRK64 => "BRK instruction execution in AArch64 state",
        ec::PMU => "PMU exception (FEAT_EBEP)",
        _ => "Unallocated EC",
    }
}

/// Decodes a 64-bit ESR_ELx value into its field tree. Never fails, never
/// panics: every `u64` has a tree.
pub fn decode(esr: u64) -> Field {
    let ecv = ec_of(esr);
    let (iss, iss_meaning) = iss_fields(ecv, esr);
    let mut issf = Field::of("ISS", esr, ISS_HI, 0).with(iss);
    if let Some(m) = iss_meaning {
        issf = issf.meaning(m);
    }
    let res0 = res0(esr, RES0_HI, RES0_LO);
    Field::of("ESR_ELx", esr, 63, 0)
        .meaning(class_name(ecv))
        .with(vec![
            res0,
            iss2(ecv, esr),
            Field::of("EC", esr, EC_HI, EC_LO).meaning(class_description(ecv)),
            flag(
                esr,
                "IL",
                IL_BIT,
                "16-bit instruction trapped",
                "32-bit instruction trapped",
            ),
            issf,
        ])
}

/// ESR_ELx.EC of a value.
#[inline]
pub const fn ec_of(esr: u64) -> u8 {
    ((esr >> EC_LO) & 0x3f) as u8
}

/// The one match on the EC: ISS sub-fields per exception-class family, and an
/// optional meaning for the ISS field as a whole.
fn iss_fields(ecv: u8, esr: u64) -> (Vec<Field>, Option<Cow<'static, str>>) {
    let fields = match ecv {
        ec::UNKNOWN => unknown::iss(esr),
        ec::WFX => wfx::iss(esr),
        ec::CP15_32 | ec::CP14_MR | ec::CP10_ID => cp::iss_mcr(esr),
        ec::CP15_64 | ec::CP14_64 => cp::iss_mcrr(esr),
        ec::CP14_LS => cp::iss_ldc(esr),
        ec::FP_ASIMD => fp::iss_access(esr),
        ec::PAC => pauth::iss_pac_trap(esr),
        ec::OTHER => return (Vec::new(), Some(ls64::iss_meaning(esr))),
        ec::BTI => bti::iss(esr),
        ec::ILL => unknown::iss(esr),
        ec::SVC32 | ec::HVC32 | ec::SVC64 | ec::HVC64 | ec::SMC64 => svc::iss_imm16(esr),
        ec::SMC32 => svc::iss_smc32(esr),
        ec::SYS128 => return (sys128::iss(esr), Some(sys128::iss_meaning(esr))),
        ec::SYS64 => return (sys64::iss(esr), Some(sys64::iss_meaning(esr))),
        ec::SVE => fp::iss_sve(esr),
        ec::ERET => eret::iss(esr),
        ec::TSTART => tstart::iss(esr),
        ec::FPAC => pauth::iss_fpac(esr),
        ec::SME => sme::iss(esr),
        ec::IMP_DEF => impdef::iss(esr),
        ec::IABT_LOW | ec::IABT_CUR => abort::iss_instruction(esr),
        ec::PC_ALIGN | ec::SP_ALIGN => align::iss(esr),
        ec::DABT_LOW | ec::DABT_CUR => abort::iss_data(esr),
        ec::MOPS => mops::iss(esr),
        ec::FP_EXC32 | ec::FP_EXC64 => fp::iss_exception(esr),
        ec::GCS => gcs::iss(esr),
        ec::SERROR => serror::iss(esr),
        ec::BREAKPT_LOW | ec::BREAKPT_CUR | ec::VECTOR32 => debug::iss_breakpoint(esr),
        ec::SOFTSTP_LOW | ec::SOFTSTP_CUR => debug::iss_software_step(esr),
        ec::WATCHPT_LOW | ec::WATCHPT_CUR => debug::iss_watchpoint(esr),
        ec::BKPT32 | ec::BRK64 => debug::iss_comment(esr),
        ec::PMU => return (Vec::new(), Some(pmu::iss_meaning(esr))),
        _ => {
            return (
                Vec::new(),
                Some(Cow::Borrowed(
                    "Unallocated EC: ISS not defined by the architecture",
                )),
            )
        }
    };
    (fields, None)
}

/// ISS2 per class: decoded where the architecture defines it, else RES0.
fn iss2(ecv: u8, esr: u64) -> Field {
    let f = Field::of("ISS2", esr, ISS2_HI, ISS2_LO);
    match ecv {
        ec::DABT_LOW | ec::DABT_CUR => f.with(abort::iss2_data(esr)),
        ec::IABT_LOW | ec::IABT_CUR => f.with(abort::iss2_instruction(esr)),
        ec::WATCHPT_LOW | ec::WATCHPT_CUR => f.with(debug::iss2_watchpoint(esr)),
        _ => {
            if f.value == 0 {
                f.meaning("RES0 for this exception class")
            } else {
                f.meaning("RES0 violated: ISS2 is RES0 for this exception class")
            }
        }
    }
}

/// One-line summary, e.g. `EC 0x3c BRK64 (AArch64) comment 0x123` or
/// `EC 0x24 DABT_LOW WnR=1 DFSC 0x07 translation fault, level 3`.
/// Derived from the [`decode`] tree so it never disagrees with it.
pub fn summary(esr: u64) -> String {
    summary_of(esr, &decode(esr))
}

/// [`summary`] from `tree`, the [`decode`] of `esr` (when the caller has it already).
pub fn summary_of(esr: u64, tree: &Field) -> String {
    let ecv = ec_of(esr);
    let mut s = format!("EC {:#04x} {}", ecv, CLASS_NAMES[ecv as usize]);
    let get = |name: &str| tree.find(name).map(|f| f.value).unwrap_or(0);
    let meaning = |name: &str| -> String {
        tree.find(name)
            .and_then(|f| f.meaning.as_deref())
            .map(lower_first)
            .unwrap_or_default()
    };
    let facts = match ecv {
        ec::BRK64 => format!("(AArch64) comment {:#x}", get("Comment")),
        ec::BKPT32 => format!("(AArch32) comment {:#x}", get("Comment")),
        ec::SVC32 | ec::HVC32 | ec::SVC64 | ec::HVC64 | ec::SMC64 => {
            format!("imm16 {:#x}", get("imm16"))
        }
        ec::DABT_LOW | ec::DABT_CUR => {
            let mut d = format!(
                "WnR={} DFSC {:#04x} {}",
                get("WnR"),
                get("DFSC"),
                meaning("DFSC")
            );
            if get("ISV") == 1 {
                d.push_str(&format!(
                    "; ISV=1 {}-byte access SRT={}",
                    1u32 << get("SAS"),
                    get("SRT")
                ));
            }
            d
        }
        ec::IABT_LOW | ec::IABT_CUR => {
            format!("IFSC {:#04x} {}", get("IFSC"), meaning("IFSC"))
        }
        ec::SYS64 | ec::SYS128 => meaning("ISS"),
        ec::WATCHPT_LOW | ec::WATCHPT_CUR => {
            let mut d = format!("WnR={} CM={}", get("WnR"), get("CM"));
            if get("WPTV") == 1 {
                d.push_str(&format!(" WPT={}", get("WPT")));
            }
            d
        }
        ec::SOFTSTP_LOW | ec::SOFTSTP_CUR => {
            format!("ISV={} EX={}", get("ISV"), get("EX"))
        }
        ec::BREAKPT_LOW | ec::BREAKPT_CUR | ec::VECTOR32 => {
            format!("IFSC {:#04x} {}", get("IFSC"), meaning("IFSC"))
        }
        ec::WFX => meaning("TI"),
        ec::SERROR => {
            if get("IDS") == 1 {
                "IDS=1 IMPLEMENTATION DEFINED syndrome".to_string()
            } else if get("DFSC") != serror::DFSC_ASYNC_SERROR {
                // AET is RES0 here: nothing to say about it.
                format!("DFSC {:#04x} {}", get("DFSC"), meaning("DFSC"))
            } else {
                format!(
                    "AET {} DFSC {:#04x} {}",
                    meaning("AET"),
                    get("DFSC"),
                    meaning("DFSC")
                )
            }
        }
        ec::GCS => match tree.find("IT") {
            Some(_) => format!("{} on {}", meaning("ExType"), meaning("IT")),
            None => meaning("ExType"),
        },
        ec::MOPS => {
            let which = if get("MemInst") == 1 { "SET*" } else { "CPY*" };
            format!(
                "{which} Xd={} Xs={} Xn={}",
                get("DestReg"),
                get("SrcReg"),
                get("SizeReg")
            )
        }
        ec::OTHER => meaning("ISS"),
        ec::SME => meaning("SMTC"),
        ec::BTI => format!("BTYPE {}", get("BTYPE")),
        ec::CP15_32 | ec::CP14_MR => {
            let (op, p) = (
                if get("Direction") == 1 { "MRC" } else { "MCR" },
                if ecv == ec::CP15_32 { 15 } else { 14 },
            );
            format!(
                "{op} p{p}, {}, R{}, c{}, c{}, {}",
                get("Opc1"),
                get("Rt"),
                get("CRn"),
                get("CRm"),
                get("Opc2")
            )
        }
        ec::CP10_ID => format!(
            "VMRS R{}, c{} (Opc1 {})",
            get("Rt"),
            get("CRn"),
            get("Opc1")
        ),
        ec::CP15_64 | ec::CP14_64 => {
            let (op, p) = (
                if get("Direction") == 1 {
                    "MRRC"
                } else {
                    "MCRR"
                },
                if ecv == ec::CP15_64 { 15 } else { 14 },
            );
            format!(
                "{op} p{p}, {}, R{}, R{}, c{}",
                get("Opc1"),
                get("Rt"),
                get("Rt2"),
                get("CRm")
            )
        }
        ec::CP14_LS => {
            let op = if get("Direction") == 1 { "LDC" } else { "STC" };
            format!(
                "{op} Rn=R{} imm8 {:#x} ({})",
                get("Rn"),
                get("imm8"),
                meaning("AM")
            )
        }
        ec::SMC32 => format!("CCKNOWNPASS={}", get("CCKNOWNPASS")),
        ec::ERET => match (get("ERET"), get("ERETA")) {
            (0, _) => "ERET".to_string(),
            (_, 0) => "ERETAA".to_string(),
            _ => "ERETAB".to_string(),
        },
        ec::FPAC => format!("{}, {}", meaning("IorD"), meaning("AorB")),
        ec::TSTART => format!("Rd=X{}", get("Rd")),
        ec::IMP_DEF | ec::PMU => format!("ISS {:#x}", get("ISS")),
        ec::FP_EXC32 | ec::FP_EXC64 => {
            let mut d = format!("TFV={}", get("TFV"));
            for n in ["IDF", "IXF", "UFF", "OFF", "DZF", "IOF"] {
                if get(n) == 1 {
                    d.push(' ');
                    d.push_str(n);
                }
            }
            d
        }
        _ => {
            if CLASS_NAMES[ecv as usize] == "Unallocated" {
                format!("ISS {:#x}", get("ISS"))
            } else {
                String::new()
            }
        }
    };
    if !facts.is_empty() {
        s.push(' ');
        s.push_str(&facts);
    }
    if violates_res0(tree) {
        s.push_str(" (RES0 violated)");
    }
    s
}

fn lower_first(m: &str) -> String {
    let mut c = m.chars();
    match (c.next(), c.clone().next()) {
        // Keep acronyms such as "SME" or "ISS" upper case.
        (Some(a), Some(b)) if a.is_ascii_uppercase() && b.is_ascii_lowercase() => {
            a.to_ascii_lowercase().to_string() + c.as_str()
        }
        _ => m.to_string(),
    }
}

/// Whether any node of the tree reports a RES0 violation.
pub fn violates_res0(f: &Field) -> bool {
    f.meaning
        .as_deref()
        .is_some_and(|m| m.starts_with(RES0_VIOLATED))
        || f.fields.iter().any(violates_res0)
}

/// Meaning prefix of a RES0 field (or RES0 ISS2) whose bits are not all zero.
pub const RES0_VIOLATED: &str = "RES0 violated";

// ---- builders shared by the family files --------------------------------

/// A RES0 field: flagged when nonzero.
pub(crate) fn res0(esr: u64, hi: u8, lo: u8) -> Field {
    let f = Field::of("RES0", esr, hi, lo);
    if f.value == 0 {
        f.meaning("Reserved, RES0")
    } else {
        f.meaning(RES0_VIOLATED)
    }
}

/// A field the architecture makes RES0 in this context (`why` says which): named, and
/// flagged as a RES0 violation when nonzero.
pub(crate) fn res0_because(
    esr: u64,
    name: &'static str,
    hi: u8,
    lo: u8,
    why: &'static str,
) -> Field {
    let f = Field::of(name, esr, hi, lo);
    if f.value == 0 {
        f.meaning(format!("RES0: {why}"))
    } else {
        f.meaning(format!("{RES0_VIOLATED}: {why}"))
    }
}

/// The whole ISS is RES0.
pub(crate) fn iss_res0(esr: u64) -> Vec<Field> {
    vec![res0(esr, ISS_HI, 0)]
}

/// A one-bit field with the meaning of each value.
pub(crate) fn flag(
    esr: u64,
    name: &'static str,
    b: u8,
    if0: &'static str,
    if1: &'static str,
) -> Field {
    let f = Field::of(name, esr, b, b);
    let m = if f.value == 0 { if0 } else { if1 };
    f.meaning(m)
}

/// A plain numeric field.
pub(crate) fn num(esr: u64, name: &'static str, hi: u8, lo: u8) -> Field {
    Field::of(name, esr, hi, lo)
}

/// Meanings of a 5-bit register-number field, without allocating.
const REGISTER: [&str; 32] = [
    "register 0",
    "register 1",
    "register 2",
    "register 3",
    "register 4",
    "register 5",
    "register 6",
    "register 7",
    "register 8",
    "register 9",
    "register 10",
    "register 11",
    "register 12",
    "register 13",
    "register 14",
    "register 15",
    "register 16",
    "register 17",
    "register 18",
    "register 19",
    "register 20",
    "register 21",
    "register 22",
    "register 23",
    "register 24",
    "register 25",
    "register 26",
    "register 27",
    "register 28",
    "register 29",
    "register 30",
    "register 31",
];

/// A register-number field (5 bits): meaning `register <n>`; whether 31 is
/// XZR or SP depends on the instruction, so it is not guessed here.
pub(crate) fn reg(esr: u64, name: &'static str, hi: u8, lo: u8) -> Field {
    let f = Field::of(name, esr, hi, lo);
    let m = REGISTER[f.value as usize & 31];
    f.meaning(m)
}

/// An enumerated field: `table` names the defined values; any other value is
/// named by `other` (e.g. "Reserved").
pub(crate) fn enumerated(
    esr: u64,
    name: &'static str,
    hi: u8,
    lo: u8,
    table: &[(u64, &'static str)],
    other: &'static str,
) -> Field {
    let f = Field::of(name, esr, hi, lo);
    let m = table
        .iter()
        .find(|(v, _)| *v == f.value)
        .map(|(_, m)| *m)
        .unwrap_or(other);
    f.meaning(m)
}

/// AArch32 condition code names (Arm ARM, AArch32 "Condition codes").
const COND_NAMES: [&str; 16] = [
    "EQ",
    "NE",
    "CS",
    "CC",
    "MI",
    "PL",
    "VS",
    "VC",
    "HI",
    "LS",
    "GE",
    "LT",
    "GT",
    "LE",
    "AL",
    "unconditional (0b1111)",
];

/// CV \[24\] and COND \[23:20\], shared by the AArch32 trap classes, in a vector
/// with room for `more` further fields (one allocation per ISS).
pub(crate) fn cv_cond(esr: u64, more: usize) -> Vec<Field> {
    let cv = flag(
        esr,
        "CV",
        24,
        "Condition code not valid: COND is UNKNOWN",
        "Condition code valid",
    );
    let cond = Field::of("COND", esr, 23, 20);
    let name = if cv.value == 1 {
        Cow::Borrowed(COND_NAMES[cond.value as usize & 0xf])
    } else {
        Cow::Borrowed("UNKNOWN (CV is 0)")
    };
    let mut v = Vec::with_capacity(2 + more);
    v.push(cv);
    v.push(cond.meaning(name));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::extract;

    #[test]
    fn every_ec_has_a_description_and_a_name() {
        for e in 0u8..64 {
            let d = class_description(e);
            let n = class_name(e);
            assert_eq!(d == "Unallocated EC", n == "Unallocated", "EC {e:#x}");
        }
    }

    #[test]
    fn required_ecs_are_allocated() {
        for e in [
            0x08, 0x09, 0x0A, 0x12, 0x13, 0x1A, 0x1B, 0x1D, 0x1F, 0x27, 0x2D, 0x3A,
        ] {
            assert_ne!(class_name(e), "Unallocated", "EC {e:#x}");
        }
        for e in [
            0x02, 0x0B, 0x0F, 0x10, 0x1E, 0x23, 0x29, 0x2E, 0x36, 0x39, 0x3B, 0x3F,
        ] {
            assert_eq!(class_name(e), "Unallocated", "EC {e:#x}");
        }
    }

    #[test]
    fn brk_summary_and_tree() {
        let t = decode(0xf200_0123);
        assert_eq!(t.find("EC").unwrap().value, 0x3c);
        assert_eq!(t.find("Comment").unwrap().value, 0x123);
        assert_eq!(
            summary(0xf200_0123),
            "EC 0x3c BRK64 (AArch64) comment 0x123"
        );
    }

    #[test]
    fn res0_violation_is_reported() {
        let v = 0x0100_0000_f200_0000;
        assert!(violates_res0(&decode(v)));
        assert!(summary(v).ends_with("(RES0 violated)"));
        assert!(!violates_res0(&decode(0xf200_0000)));
        // BRK ISS[24:16] is RES0.
        assert!(violates_res0(&decode(0xf201_0000)));
    }

    #[test]
    fn data_abort_summary() {
        // DABT_LOW, IL=1, WnR=1, DFSC=0b000111 (translation fault, level 3).
        let v = (0x24u64 << 26) | (1 << 25) | (1 << 6) | 0x07;
        assert_eq!(
            summary(v),
            "EC 0x24 DABT_LOW WnR=1 DFSC 0x07 translation fault, level 3"
        );
    }

    #[test]
    fn kvm_pair_joins() {
        assert_eq!(
            esr_from_kvm_debug_exit(0xf200_0000, 0x1, false),
            0xf200_0000
        );
        assert_eq!(
            esr_from_kvm_debug_exit(0xf200_0000, 0x1, true),
            0x1_f200_0000
        );
    }

    fn check(f: &Field, esr: u64) {
        assert!(f.hi >= f.lo && f.hi < 64, "{}", f.name);
        assert_eq!(f.value, extract(esr, f.hi, f.lo), "{}", f.name);
        for c in &f.fields {
            assert!(c.hi <= f.hi && c.lo >= f.lo, "{} in {}", c.name, f.name);
            check(c, esr);
        }
    }

    #[test]
    fn every_class_tree_is_consistent() {
        for e in 0u64..64 {
            for iss in [0u64, 0x1ff_ffff, 0x155_5555, 0x0aa_aaaa, 0x100_0010] {
                let v = (e << 26) | iss | 0x00ff_ffff_0000_0000;
                check(&decode(v), v);
                let _ = summary(v);
            }
        }
    }
}
