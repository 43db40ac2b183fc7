//! EC 0x0D: Branch Target Exception (FEAT_BTI). Arm ARM D24.2.40, "ISS
//! encoding for an exception from Branch Target Identification instruction".

use super::{enumerated, res0};
use crate::field::Field;

/// RES0 \[24:2\], BTYPE \[1:0\] (PSTATE.BTYPE that caused the exception). What
/// sets each value: QEMU target/arm/tcg/translate-a64.c `set_btype_for_br()`
/// (X16/X17 or not guarded -> 1, else 3) and `set_btype_for_blr()` (always 2);
/// BR-type and BLR-type include the pointer-authenticating forms (BRAA,
/// BLRAA, ...).
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
                    "PSTATE.BTYPE 0b01: BR-type branch from X16 or X17, or from any register \
                     in a page that is not guarded",
                ),
                (
                    0b10,
                    "PSTATE.BTYPE 0b10: BLR-type branch, from any register",
                ),
                (
                    0b11,
                    "PSTATE.BTYPE 0b11: BR-type branch from a register other than X16 or \
                     X17, in a guarded page",
                ),
            ],
            "Reserved",
        ),
    ]
}
