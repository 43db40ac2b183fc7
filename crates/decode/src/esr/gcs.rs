//! EC 0x2D: Guarded Control Stack exception (FEAT_GCS). Arm ARM D24.2.40,
//! "ISS encoding for a GCS exception"; Linux ESR_ELx_ExType_*, ESR_ELx_IT_*.

use super::{enumerated, reg, res0};
use crate::field::Field;

/// RES0 [24], ExType [23:20], RES0 [19:15], Raddr [14:10], Rn [9:5], IT [4:0].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 24),
        enumerated(
            esr,
            "ExType",
            23,
            20,
            &[
                (0, "GCS data check exception"),
                (1, "EXLOCK exception"),
                (2, "Trapped GCSSTR or GCSSTTR instruction"),
            ],
            "Reserved",
        ),
        res0(esr, 19, 15),
        reg(esr, "Raddr", 14, 10),
        reg(esr, "Rn", 9, 5),
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
    ]
}
