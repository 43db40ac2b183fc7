//! EC 0x14: trapped MSRR, MRRS or 128-bit System instruction (FEAT_SYSREG128;
//! Linux lists 0x14 as unallocated). Decoded with the EC 0x18 layout, where Rt
//! names the first register of the pair; treat as provisional.

use crate::field::Field;
use std::borrow::Cow;

/// Same layout as EC 0x18.
pub(super) fn iss(esr: u64) -> Vec<Field> {
    super::sys64::iss(esr)
}

/// The access spelled out with the 128-bit mnemonics.
pub(super) fn iss_meaning(esr: u64) -> Cow<'static, str> {
    super::sys64::iss_meaning_as(esr, true)
}
