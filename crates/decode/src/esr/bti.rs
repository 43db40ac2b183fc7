//! EC 0x0D: Branch Target Exception (FEAT_BTI). Arm ARM D24.2.40, "ISS
//! encoding for an exception from Branch Target Identification instruction".

use super::{enumerated, res0};
use crate::field::Field;

/// RES0 \[24:2\], BTYPE \[1:0\] (PSTATE.BTYPE that caused the exception).
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 2),
        enumerated(
            esr,
            "BTYPE",
            1,
            0,
            &[
                (0b00, "PSTATE.BTYPE 0b00"),
                (
                    0b01,
                    "PSTATE.BTYPE 0b01: BR/BLR with any register, or BR from X16/X17",
                ),
                (
                    0b10,
                    "PSTATE.BTYPE 0b10: BLR, or BR from X16/X17 in a guarded page",
                ),
                (
                    0b11,
                    "PSTATE.BTYPE 0b11: BR from a register other than X16/X17",
                ),
            ],
            "Reserved",
        ),
    ]
}
