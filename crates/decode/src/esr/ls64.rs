//! EC 0x0A: trapped LD64B, ST64B, ST64BV or ST64BV0 (FEAT_LS64; Linux
//! ESR_ELx_EC_OTHER). Arm ARM D24.2.40, "ISS encoding for an exception from
//! an LD64B or ST64B* instruction": the whole ISS \[24:0\] says which
//! instruction was trapped, so it is the ISS field's meaning, not a sub-field.

use crate::field::extract;
use std::borrow::Cow;

/// ISS \[24:0\] value for a trapped ST64BV.
const ISS_ST64BV: u64 = 0x0;
/// ISS \[24:0\] value for a trapped ST64BV0.
const ISS_ST64BV0: u64 = 0x1;
/// ISS \[24:0\] value for a trapped LD64B or ST64B.
const ISS_LD64B_ST64B: u64 = 0x2;

/// The meaning of the ISS; other values are reserved.
pub(super) fn iss_meaning(esr: u64) -> Cow<'static, str> {
    Cow::Borrowed(match extract(esr, 24, 0) {
        ISS_ST64BV => "ST64BV instruction trapped",
        ISS_ST64BV0 => "ST64BV0 instruction trapped",
        ISS_LD64B_ST64B => "LD64B or ST64B instruction trapped",
        _ => "Reserved",
    })
}
