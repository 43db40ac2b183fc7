//! EC 0x2D: Guarded Control Stack exception (FEAT_GCS). Arm ARM D24.2.40,
//! "ISS encoding for a GCS exception"; Linux ESR_ELx_ExType_*, ESR_ELx_Raddr,
//! ESR_ELx_Rn, ESR_ELx_Rvalue, ESR_ELx_IT_*.

use super::{enumerated, num, reg, res0};
use crate::field::{extract, Field};

/// ExType 0: GCS data check exception.
const EXTYPE_DATA_CHECK: u64 = 0;
/// ExType 1: EXLOCK exception.
const EXTYPE_EXLOCK: u64 = 1;
/// ExType 2: trapped GCSSTR or GCSSTTR.
const EXTYPE_STR: u64 = 2;

/// RES0 \[24\], ExType \[23:20\], then per ExType:
/// data check: RES0 \[19:10\], Rn \[9:5\], IT \[4:0\] (Raddr is defined only
/// for the GCSSTR trap: QEMU target/arm/syndrome.h `GCS_ISS` and
/// `syn_gcs_data_check()`, which sets Rn and IT only);
/// EXLOCK: RES0 \[19:0\];
/// GCSSTR trap: RES0 \[19:15\], Raddr \[14:10\], Rvalue \[9:5\], RES0 \[4:0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    let mut v = vec![
        res0(esr, 24, 24),
        enumerated(
            esr,
            "ExType",
            23,
            20,
            &[
                (EXTYPE_DATA_CHECK, "GCS data check exception"),
                (EXTYPE_EXLOCK, "EXLOCK exception"),
                (EXTYPE_STR, "Trapped GCSSTR or GCSSTTR instruction"),
            ],
            "Reserved",
        ),
    ];
    match extract(esr, 23, 20) {
        EXTYPE_DATA_CHECK => v.extend([
            res0(esr, 19, 10),
            reg(esr, "Rn", 9, 5),
            // IT values as QEMU's GCSInstructionType (GCSPOPCX 0b01000,
            // GCSPOPX 0b01001). Linux esr.h has ESR_ELx_IT_GCSPOPCX 6 and
            // ESR_ELx_IT_GCSPOPX 7 instead; we could not check the Arm ARM
            // table itself, so 6 and 7 stay "Reserved" here.
            enumerated(
                esr,
                "IT",
                4,
                0,
                &[
                    (0, "RET"),
                    (1, "GCSPOPM"),
                    (2, "RETAA"),
                    (3, "RETAB"),
                    (4, "GCSSS1"),
                    (5, "GCSSS2"),
                    (8, "GCSPOPCX"),
                    (9, "GCSPOPX"),
                ],
                "Reserved",
            ),
        ]),
        EXTYPE_EXLOCK => v.push(res0(esr, 19, 0)),
        EXTYPE_STR => v.extend([
            res0(esr, 19, 15),
            reg(esr, "Raddr", 14, 10),
            reg(esr, "Rvalue", 9, 5),
            res0(esr, 4, 0),
        ]),
        _ => v.push(num(esr, "Syndrome", 19, 0).meaning("Not decoded: ExType is reserved")),
    }
    v
}

#[cfg(test)]
mod tests {
    use crate::esr::{decode, summary};

    #[test]
    fn fields_follow_extype() {
        // ExType 0, Rn=30, IT=RET: a data check on RET.
        let t = decode(0xb600_03c0);
        assert_eq!(t.find("Rn").unwrap().value, 30);
        assert_eq!(t.find("IT").unwrap().meaning.as_deref(), Some("RET"));
        assert_eq!(
            summary(0xb600_03c0),
            "EC 0x2d GCS GCS data check exception on RET"
        );
        // ExType 2 (GCSSTR trap): Rvalue instead of Rn, no IT.
        let t = decode(0xb620_0000 | (4 << 10) | (7 << 5));
        assert_eq!(t.find("Raddr").unwrap().value, 4);
        assert_eq!(t.find("Rvalue").unwrap().value, 7);
        assert!(t.find("IT").is_none());
        // A data check has no Raddr: bits 19:10 are RES0.
        assert!(decode(0xb600_03c0).find("Raddr").is_none());
        assert!(crate::esr::violates_res0(&decode(0xb600_03c0 | (4 << 10))));
        // ExType 1 (EXLOCK): bits 19:0 are RES0.
        assert!(crate::esr::violates_res0(&decode(0xb610_0001)));
    }
}
