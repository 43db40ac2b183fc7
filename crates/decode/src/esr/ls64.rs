//! EC 0x0A: Linux ESR_ELx_EC_OTHER. Arm ARM D24.2.40: a trapped LD64B, ST64B,
//! ST64BV or ST64BV0 (FEAT_LS64, "ISS encoding for an exception from an LD64B or
//! ST64B* instruction"), and Linux asm/esr.h ESR_ELx_ISS_OTHER_TSBCSYNC (3) and
//! ESR_ELx_ISS_OTHER_PSBCSYNC (4), a trapped TSB CSYNC or PSB CSYNC, which KVM
//! handles. The whole ISS \[24:0\] says which, so it is the ISS field's meaning.

use crate::field::extract;
use std::borrow::Cow;

/// ISS \[24:0\] value for a trapped ST64BV.
const ISS_ST64BV: u64 = 0x0;
/// ISS \[24:0\] value for a trapped ST64BV0.
const ISS_ST64BV0: u64 = 0x1;
/// ISS \[24:0\] value for a trapped LD64B or ST64B.
const ISS_LD64B_ST64B: u64 = 0x2;
/// ISS \[24:0\] value for a trapped TSB CSYNC (Linux ESR_ELx_ISS_OTHER_TSBCSYNC).
const ISS_TSBCSYNC: u64 = 0x3;
/// ISS \[24:0\] value for a trapped PSB CSYNC (Linux ESR_ELx_ISS_OTHER_PSBCSYNC).
const ISS_PSBCSYNC: u64 = 0x4;

/// The meaning of the ISS; other values are reserved.
pub(super) fn iss_meaning(esr: u64) -> Cow<'static, str> {
    Cow::Borrowed(match extract(esr, 24, 0) {
        ISS_ST64BV => "ST64BV instruction trapped",
        ISS_ST64BV0 => "ST64BV0 instruction trapped",
        ISS_LD64B_ST64B => "LD64B or ST64B instruction trapped",
        ISS_TSBCSYNC => "TSB CSYNC instruction trapped",
        ISS_PSBCSYNC => "PSB CSYNC instruction trapped",
        _ => "Reserved",
    })
}
