//! EC 0x0A: trapped LD64B, ST64B, ST64BV or ST64BV0 (FEAT_LS64; Linux
//! ESR_ELx_EC_OTHER). Arm ARM D24.2.40, "ISS encoding for an exception from
//! an LD64B or ST64B* instruction".

use super::enumerated;
use crate::field::Field;

/// ISS [24:0]: which instruction was trapped; other values are reserved.
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![enumerated(
        esr,
        "ISS",
        24,
        0,
        &[
            (0x0, "ST64BV instruction trapped"),
            (0x1, "ST64BV0 instruction trapped"),
            (0x2, "LD64B or ST64B instruction trapped"),
        ],
        "Reserved",
    )]
}
