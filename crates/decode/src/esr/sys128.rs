//! EC 0x14: "Trapped MSRR, MRRS or System instruction execution in AArch64
//! state" (when FEAT_SYSREG128 or FEAT_SYSINSTR128 is implemented; Linux lists
//! 0x14 as unallocated). Its ISS is "ISS encoding for an exception from MSRR,
//! MRRS, or 128-bit System instruction execution in AArch64 state"; we could
//! not check that table, so this decodes it with the EC 0x18 layout, Rt
//! naming the first register of the pair. Treat as provisional.

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
