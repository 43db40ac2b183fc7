//! EC 0x1D: access to SME functionality trapped (FEAT_SME). Arm ARM D24.2.40,
//! "ISS encoding for an exception due to SME functionality".

use super::{enumerated, res0};
use crate::field::Field;

/// RES0 \[24:3\], SMTC \[2:0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 3),
        enumerated(
            esr,
            "SMTC",
            2,
            0,
            &[
                (0b000, "SME functionality trapped by CPACR_EL1.SMEN, CPTR_EL2.SMEN, CPTR_EL2.TSM or CPTR_EL3.ESM"),
                (0b001, "Advanced SIMD, SVE or SVE2 instruction trapped because PSTATE.SM is 1"),
                (0b010, "SME instruction trapped because PSTATE.SM is 0"),
                (0b011, "SME instruction trapped because PSTATE.ZA is 0"),
                (0b100, "ZT0 access trapped because SMCR_ELx.EZT0 is 0 (FEAT_SME2)"),
            ],
            "Reserved",
        ),
    ]
}
