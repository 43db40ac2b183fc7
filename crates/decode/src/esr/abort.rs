//! Instruction and Data Aborts: EC 0x20, 0x21 (Instruction Abort), 0x24,
//! 0x25 (Data Abort). Arm ARM D24.2.40, "ISS encoding for an exception from an
//! Instruction Abort" / "... from a Data Abort"; Linux `esr.h` (ESR_ELx_ISV,
//! ESR_ELx_SAS, ..., and the ISS2 field definitions for Data Aborts).

use super::{enumerated, flag, num, reg, res0, res0_because};
use crate::field::{extract, Field};

/// FSC 0b010000: synchronous External abort, not on a translation table walk.
pub(crate) const FSC_SEA: u64 = 0x10;
/// FSC 0b110101: unsupported Exclusive or Atomic access (LST is valid).
pub(crate) const FSC_UNSUPPORTED_EXCL_ATOMIC: u64 = 0x35;

/// The fault status code table shared by DFSC and IFSC (Arm ARM D24.2.40,
/// DFSC/IFSC; levels -2..3 per FEAT_LPA2 / FEAT_D128). Other values are
/// reserved.
pub(crate) fn fsc_meaning(fsc: u64) -> &'static str {
    match fsc {
        0x00 => "Address size fault, level 0 of translation or translation table base register",
        0x01 => "Address size fault, level 1",
        0x02 => "Address size fault, level 2",
        0x03 => "Address size fault, level 3",
        0x04 => "Translation fault, level 0",
        0x05 => "Translation fault, level 1",
        0x06 => "Translation fault, level 2",
        0x07 => "Translation fault, level 3",
        0x08 => "Access flag fault, level 0",
        0x09 => "Access flag fault, level 1",
        0x0A => "Access flag fault, level 2",
        0x0B => "Access flag fault, level 3",
        0x0C => "Permission fault, level 0",
        0x0D => "Permission fault, level 1",
        0x0E => "Permission fault, level 2",
        0x0F => "Permission fault, level 3",
        0x10 => {
            "Synchronous External abort, not on translation table walk or hardware update \
             of translation table"
        }
        0x11 => "Synchronous Tag Check Fault",
        0x12 => {
            "Synchronous External abort on translation table walk or hardware update of \
             translation table, level -2"
        }
        0x13 => {
            "Synchronous External abort on translation table walk or hardware update of \
             translation table, level -1"
        }
        0x14 => {
            "Synchronous External abort on translation table walk or hardware update of \
             translation table, level 0"
        }
        0x15 => {
            "Synchronous External abort on translation table walk or hardware update of \
             translation table, level 1"
        }
        0x16 => {
            "Synchronous External abort on translation table walk or hardware update of \
             translation table, level 2"
        }
        0x17 => {
            "Synchronous External abort on translation table walk or hardware update of \
             translation table, level 3"
        }
        0x18 => "Synchronous parity or ECC error on memory access, not on translation table walk",
        0x1B => {
            "Synchronous parity or ECC error on memory access on translation table walk or \
             hardware update of translation table, level -1"
        }
        0x1C => {
            "Synchronous parity or ECC error on memory access on translation table walk or \
             hardware update of translation table, level 0"
        }
        0x1D => {
            "Synchronous parity or ECC error on memory access on translation table walk or \
             hardware update of translation table, level 1"
        }
        0x1E => {
            "Synchronous parity or ECC error on memory access on translation table walk or \
             hardware update of translation table, level 2"
        }
        0x1F => {
            "Synchronous parity or ECC error on memory access on translation table walk or \
             hardware update of translation table, level 3"
        }
        0x21 => "Alignment fault",
        0x22 => {
            "Granule Protection Fault on translation table walk or hardware update of \
             translation table, level -2"
        }
        0x23 => {
            "Granule Protection Fault on translation table walk or hardware update of \
             translation table, level -1"
        }
        0x24 => {
            "Granule Protection Fault on translation table walk or hardware update of \
             translation table, level 0"
        }
        0x25 => {
            "Granule Protection Fault on translation table walk or hardware update of \
             translation table, level 1"
        }
        0x26 => {
            "Granule Protection Fault on translation table walk or hardware update of \
             translation table, level 2"
        }
        0x27 => {
            "Granule Protection Fault on translation table walk or hardware update of \
             translation table, level 3"
        }
        0x28 => {
            "Granule Protection Fault, not on translation table walk or hardware update of \
             translation table"
        }
        0x29 => "Address size fault, level -1",
        0x2A => "Translation fault, level -2",
        0x2B => "Translation fault, level -1",
        0x2C => "Address size fault, level -2",
        0x30 => "TLB conflict abort",
        0x31 => "Unsupported atomic hardware update fault",
        0x34 => "IMPLEMENTATION DEFINED fault (Lockdown)",
        0x35 => "IMPLEMENTATION DEFINED fault (Unsupported Exclusive or Atomic access)",
        _ => "Reserved fault status code",
    }
}

/// Whether `fsc` is a synchronous External abort (0b010000, 0b01001x,
/// 0b0101xx), for which PFV and WU are defined.
pub(crate) fn is_sea(fsc: u64) -> bool {
    fsc == FSC_SEA || fsc & 0x3e == 0x12 || fsc & 0x3c == 0x14
}

fn fsc(esr: u64, name: &'static str) -> Field {
    let f = num(esr, name, 5, 0);
    let m = fsc_meaning(f.value);
    f.meaning(m)
}

/// Codes of the shared table that only a Data Abort can report (Arm ARM, IFSC):
/// Synchronous Tag Check Fault, Alignment fault, Unsupported Exclusive or Atomic access.
const DATA_ONLY_FSC: [u64; 3] = [0x11, 0x21, FSC_UNSUPPORTED_EXCL_ATOMIC];

/// IFSC: the shared table, without the data-only codes (reserved for an Instruction Abort).
fn ifsc(esr: u64) -> Field {
    let f = num(esr, "IFSC", 5, 0);
    if DATA_ONLY_FSC.contains(&f.value) {
        return f.meaning("Reserved fault status code (this code is defined for Data Aborts only)");
    }
    let m = fsc_meaning(f.value);
    f.meaning(m)
}

const SET_VALUES: &[(u64, &str)] = &[
    (0b00, "Recoverable state (UER)"),
    (0b10, "Uncontainable (UC)"),
    (0b11, "Restartable state (UEO)"),
];

/// ISS \[12:11\]: SET for a synchronous External abort, LST for an unsupported
/// LD64B/ST64B access, else RES0.
fn set_lst(esr: u64, fscv: u64, data: bool) -> Field {
    if fscv == FSC_SEA {
        enumerated(esr, "SET", 12, 11, SET_VALUES, "Reserved")
    } else if data && fscv == FSC_UNSUPPORTED_EXCL_ATOMIC {
        enumerated(
            esr,
            "LST",
            12,
            11,
            &[
                (0b00, "Unsupported Exclusive or Atomic access"),
                (0b01, "ST64BV"),
                (0b10, "LD64B or ST64B"),
                (0b11, "ST64BV0"),
            ],
            "Reserved",
        )
    } else {
        res0(esr, 12, 11)
    }
}

fn fnv(esr: u64) -> Field {
    flag(
        esr,
        "FnV",
        10,
        "FAR is valid",
        "FAR is not valid, and holds an UNKNOWN value",
    )
}

fn pfv_or_res0(esr: u64, fscv: u64) -> Field {
    if is_sea(fscv) {
        flag(
            esr,
            "PFV",
            14,
            "PFAR_ELx is UNKNOWN",
            "PFAR_ELx is valid (FEAT_PFAR)",
        )
    } else {
        res0(esr, 14, 14)
    }
}

/// Instruction Abort ISS (EC 0x20, 0x21).
pub(super) fn iss_instruction(esr: u64) -> Vec<Field> {
    let fscv = extract(esr, 5, 0);
    vec![
        res0(esr, 24, 15),
        pfv_or_res0(esr, fscv),
        res0(esr, 13, 13),
        set_lst(esr, fscv, false),
        // An Instruction Abort defines FnV only for a synchronous External abort.
        if fscv == FSC_SEA {
            fnv(esr)
        } else {
            res0_because(
                esr,
                "FnV",
                10,
                10,
                "defined only when IFSC is 0b010000 (synchronous External abort)",
            )
        },
        flag(
            esr,
            "EA",
            9,
            "External abort type 0",
            "External abort type 1 (IMPLEMENTATION DEFINED classification)",
        ),
        res0(esr, 8, 8),
        flag(
            esr,
            "S1PTW",
            7,
            "Fault not on a stage 2 translation for a stage 1 translation table walk",
            "Fault on the stage 2 translation of an access for a stage 1 translation table walk",
        ),
        res0(esr, 6, 6),
        ifsc(esr),
    ]
}

const SAS_VALUES: &[(u64, &str)] = &[
    (0b00, "Byte"),
    (0b01, "Halfword"),
    (0b10, "Word"),
    (0b11, "Doubleword"),
];

/// Data Abort ISS (EC 0x24, 0x25).
pub(super) fn iss_data(esr: u64) -> Vec<Field> {
    let fscv = extract(esr, 5, 0);
    let isv = extract(esr, 24, 24) == 1;
    // ISV, five syndrome fields (or four when ISV is 0), then nine more.
    let mut v = Vec::with_capacity(15);
    v.push(flag(
        esr,
        "ISV",
        24,
        "No valid instruction syndrome: ISS[23:14] hold other information",
        "Valid instruction syndrome: ISS[23:14] hold SAS, SSE, SRT, SF, AR",
    ));
    if isv {
        v.push(enumerated(esr, "SAS", 23, 22, SAS_VALUES, "Reserved"));
        v.push(flag(
            esr,
            "SSE",
            21,
            "Sign-extension not required",
            "Data item must be sign-extended",
        ));
        v.push(reg(esr, "SRT", 20, 16));
        v.push(flag(
            esr,
            "SF",
            15,
            "Instruction loads/stores a 32-bit wide register",
            "Instruction loads/stores a 64-bit wide register",
        ));
        v.push(flag(
            esr,
            "AR",
            14,
            "Instruction did not have acquire/release semantics",
            "Instruction did have acquire/release semantics",
        ));
    } else {
        v.push(res0(esr, 23, 18));
        if is_sea(fscv) {
            v.push(enumerated(
                esr,
                "WU",
                17,
                16,
                &[
                    (
                        0b00,
                        "Not a store instruction or translation table update, or the location \
                         might have been updated",
                    ),
                    (0b10, "Store instruction or translation table update that did not update the location"),
                    (0b11, "Store instruction or translation table update that updated the location"),
                ],
                "Reserved",
            ));
        } else {
            v.push(res0(esr, 17, 16));
        }
        v.push(flag(
            esr,
            "FnP",
            15,
            "FAR holds the faulting virtual address (if FnV is 0)",
            "FAR holds any address within the naturally-aligned granule that contains the \
             faulting address",
        ));
        v.push(pfv_or_res0(esr, fscv));
    }
    v.push(flag(
        esr,
        "VNCR",
        13,
        "Fault not generated by the use of VNCR_EL2",
        "Fault generated by the use of VNCR_EL2 by an MRS or MSR at EL1 (FEAT_NV2)",
    ));
    v.push(set_lst(esr, fscv, true));
    v.push(fnv(esr));
    v.push(flag(
        esr,
        "EA",
        9,
        "External abort type 0",
        "External abort type 1 (IMPLEMENTATION DEFINED classification)",
    ));
    v.push(flag(
        esr,
        "CM",
        8,
        "Not from a cache maintenance or address translation instruction",
        "From a cache maintenance or address translation instruction",
    ));
    v.push(flag(
        esr,
        "S1PTW",
        7,
        "Fault not on a stage 2 translation for a stage 1 translation table walk",
        "Fault on the stage 2 translation of an access for a stage 1 translation table walk",
    ));
    v.push(flag(
        esr,
        "WnR",
        6,
        "Abort caused by an instruction reading from memory",
        "Abort caused by an instruction writing to memory",
    ));
    v.push(fsc(esr, "DFSC"));
    v
}

/// Instruction Abort ISS2 sub-fields (bits 55:32): RES0 but for AssuredOnly
/// \[7\] and Overlay \[6\], relative to bit 32 ("ISS2 encoding for an
/// exception from an Instruction Abort").
pub(super) fn iss2_instruction(esr: u64) -> Vec<Field> {
    const B: u8 = 32;
    vec![
        res0(esr, 55, B + 8),
        flag(
            esr,
            "AssuredOnly",
            B + 7,
            "Not an AssuredOnly permission fault",
            "Permission fault due to AssuredOnly (FEAT_THE)",
        ),
        flag(
            esr,
            "Overlay",
            B + 6,
            "Not an overlay permission fault",
            "Permission fault due to Overlay permissions (FEAT_S1POE/FEAT_S2POE)",
        ),
        res0(esr, B + 5, B),
    ]
}

/// Data Abort ISS2 sub-fields (bits 55:32; Linux `esr.h` "ISS2 field
/// definitions for Data Aborts": HDBSSF 11, TnD 10, TagAccess 9, GCS 8,
/// AssuredOnly 7, Overlay 6, DirtyBit 5, Xs 4:0, all relative to bit 32).
/// Xs holds the status register specifier when an ST64BV/ST64BV0 access takes
/// a Translation, Access flag or Permission fault (FEAT_LS64_V); else RES0.
pub(super) fn iss2_data(esr: u64) -> Vec<Field> {
    const B: u8 = 32;
    let xs = reg(esr, "Xs", B + 4, B);
    vec![
        res0(esr, 55, B + 12),
        flag(
            esr,
            "HDBSSF",
            B + 11,
            "Not a HDBSS fault",
            "Fault from the hardware dirty state tracking structure (FEAT_HDBSS)",
        ),
        flag(
            esr,
            "TnD",
            B + 10,
            "Permission fault is not due to a write of an Allocation Tag to Canonically \
             Tagged memory",
            "Permission fault is due to a write of an Allocation Tag to Canonically Tagged \
             memory (FEAT_MTE_CANONICAL_TAGS)",
        ),
        flag(
            esr,
            "TagAccess",
            B + 9,
            "Not a NoTagAccess fault",
            "Fault due to the NoTagAccess memory attribute (FEAT_MTE_PERM; RES0 in ESR_EL3)",
        ),
        flag(
            esr,
            "GCS",
            B + 8,
            "Not a Guarded Control Stack access",
            "Fault from a Guarded Control Stack data access (FEAT_GCS)",
        ),
        flag(
            esr,
            "AssuredOnly",
            B + 7,
            "Not an AssuredOnly permission fault",
            "Permission fault due to AssuredOnly (FEAT_THE)",
        ),
        flag(
            esr,
            "Overlay",
            B + 6,
            "Not an overlay permission fault",
            "Permission fault due to Overlay permissions (FEAT_S1POE/FEAT_S2POE)",
        ),
        flag(
            esr,
            "DirtyBit",
            B + 5,
            "Not a dirty state fault",
            "Permission fault due to dirty state (FEAT_S1PIE/FEAT_S2PIE)",
        ),
        xs,
    ]
}

#[cfg(test)]
mod tests {
    use crate::esr::decode;

    #[test]
    fn isv_selects_the_syndrome_fields() {
        // DABT_CUR, ISV=1, SAS=0b10 (word), SRT=3, WnR=1, DFSC 0x07.
        let v = (0x25u64 << 26) | (1 << 25) | (1 << 24) | (0b10 << 22) | (3 << 16) | (1 << 6) | 7;
        let t = decode(v);
        assert_eq!(t.find("SAS").unwrap().meaning.as_deref(), Some("Word"));
        assert_eq!(t.find("SRT").unwrap().value, 3);
        assert!(t.find("FnP").is_none());
        // ISV=0: FnP appears and SAS does not.
        let t = decode(v & !(1 << 24) & !(0xff << 14));
        assert!(t.find("SAS").is_none());
        assert!(t.find("FnP").is_some());
    }

    #[test]
    fn set_only_for_sea() {
        let sea = (0x24u64 << 26) | (0b11 << 11) | 0x10;
        assert_eq!(
            decode(sea).find("SET").unwrap().meaning.as_deref(),
            Some("Restartable state (UEO)")
        );
        assert!(decode((0x24u64 << 26) | 0x07).find("SET").is_none());
    }

    #[test]
    fn iss2_data_fields() {
        let v = (1u64 << 40) | (5u64 << 32) | (0x24 << 26);
        let t = decode(v);
        assert_eq!(t.find("GCS").unwrap().value, 1);
        assert_eq!(t.find("Xs").unwrap().value, 5);
        assert_eq!(t.find("TnD").unwrap().value, 0);
    }

    #[test]
    fn instruction_abort_fnv_is_res0_unless_sea_and_data_only_codes_are_reserved() {
        use crate::esr::{summary, violates_res0};
        // IABT_CUR, FnV set, IFSC 0x07 (translation fault, level 3): FnV is RES0 there.
        let t = decode(0x8600_0407);
        assert!(violates_res0(t.find("FnV").unwrap()), "FnV is RES0 here");
        assert!(summary(0x8600_0407).ends_with("(RES0 violated)"));
        // IFSC 0b010000 (synchronous External abort): FnV is defined.
        let t = decode(0x8600_0410);
        assert_eq!(
            t.find("FnV").unwrap().meaning.as_deref(),
            Some("FAR is not valid, and holds an UNKNOWN value")
        );
        assert!(!violates_res0(&t));
        for code in [0x11u64, 0x21, 0x35] {
            let ia = decode(0x8600_0000 | code);
            assert!(
                ia.find("IFSC")
                    .unwrap()
                    .meaning
                    .as_deref()
                    .unwrap()
                    .starts_with("Reserved"),
                "IA {code:#x}"
            );
            let da = decode(0x9600_0000 | code);
            assert!(
                !da.find("DFSC")
                    .unwrap()
                    .meaning
                    .as_deref()
                    .unwrap()
                    .starts_with("Reserved"),
                "DA {code:#x}"
            );
        }
    }

    #[test]
    fn iss2_instruction_fields() {
        // IABT_CUR, IFSC 0x0f (permission fault, level 3), ISS2 Overlay.
        let v = (1u64 << 38) | (0x21 << 26) | (1 << 25) | 0x0f;
        let t = decode(v);
        assert_eq!(t.find("Overlay").unwrap().value, 1);
        assert_eq!(t.find("AssuredOnly").unwrap().value, 0);
        assert!(!crate::esr::violates_res0(&t));
        // ISS2 bit 8 (ESR bit 40) is GCS for data aborts only: RES0 here.
        assert!(crate::esr::violates_res0(&decode(v | 1 << 40)));
    }
}
