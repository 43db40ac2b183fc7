//! Floating-point, Advanced SIMD and SVE: EC 0x07 (access trap), EC 0x19 (SVE
//! access trap), EC 0x28/0x2C (trapped floating-point exception). Arm ARM
//! D24.2.40.

use super::{cv_cond, flag, iss_res0, num, res0};
use crate::field::Field;

/// EC 0x07: CV \[24\], COND \[23:20\] (AArch32 only), RES0 \[19:0\].
pub(super) fn iss_access(esr: u64) -> Vec<Field> {
    let mut v = cv_cond(esr, 1);
    v.push(res0(esr, 19, 0));
    v
}

/// EC 0x19: ISS RES0.
pub(super) fn iss_sve(esr: u64) -> Vec<Field> {
    iss_res0(esr)
}

/// EC 0x28/0x2C: RES0 \[24\], TFV \[23\], RES0 \[22:11\], VECITR \[10:8\], IDF \[7\],
/// RES0 \[6:5\], IXF \[4\], UFF \[3\], OFF \[2\], DZF \[1\], IOF \[0\].
pub(super) fn iss_exception(esr: u64) -> Vec<Field> {
    let not = "Not occurred (or UNKNOWN when TFV is 0)";
    vec![
        res0(esr, 24, 24),
        flag(
            esr,
            "TFV",
            23,
            "Trapped fault fields are not valid (UNKNOWN)",
            "Trapped fault fields hold exception information",
        ),
        res0(esr, 22, 11),
        num(esr, "VECITR", 10, 8)
            .meaning("Vector iteration that caused the exception (AArch32; else RES1)"),
        flag(
            esr,
            "IDF",
            7,
            not,
            "Input Denormal floating-point exception occurred",
        ),
        res0(esr, 6, 5),
        flag(
            esr,
            "IXF",
            4,
            not,
            "Inexact floating-point exception occurred",
        ),
        flag(
            esr,
            "UFF",
            3,
            not,
            "Underflow floating-point exception occurred",
        ),
        flag(
            esr,
            "OFF",
            2,
            not,
            "Overflow floating-point exception occurred",
        ),
        flag(
            esr,
            "DZF",
            1,
            not,
            "Divide by Zero floating-point exception occurred",
        ),
        flag(
            esr,
            "IOF",
            0,
            not,
            "Invalid Operation floating-point exception occurred",
        ),
    ]
}
