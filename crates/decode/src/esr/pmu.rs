//! EC 0x3D: PMU exception (FEAT_EBEP, Arm ARM issue K.a onwards; Linux lists
//! 0x3D as unallocated). The ISS is reported whole, not decoded further.

use std::borrow::Cow;

/// The meaning of the ISS.
pub(super) fn iss_meaning(_esr: u64) -> Cow<'static, str> {
    Cow::Borrowed("PMU exception syndrome (not decoded further)")
}
