//! EC 0x1A: trapped ERET, ERETAA or ERETAB (FEAT_NV, FEAT_PAuth). Arm ARM
//! D24.2.40, "ISS encoding for an exception from ERET, ERETAA or ERETAB".

use super::{flag, res0};
use crate::field::Field;

/// RES0 \[24:2\], ERET \[1\], ERETA \[0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 2),
        flag(
            esr,
            "ERET",
            1,
            "ERET instruction trapped",
            "ERETAA or ERETAB instruction trapped",
        ),
        flag(
            esr,
            "ERETA",
            0,
            "ERETAA (A key) if ERET is 1",
            "ERETAB (B key) if ERET is 1",
        ),
    ]
}
