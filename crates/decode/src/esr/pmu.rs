//! EC 0x3D: "PMU exception", when FEAT_EBEP is implemented (the ESR_ELx EC
//! table; Linux lists 0x3D as unallocated). Its ISS is "ISS encoding for a PMU
//! exception", which we could not check, so the ISS is reported whole, not
//! decoded further.

use std::borrow::Cow;

/// The meaning of the ISS.
pub(super) fn iss_meaning(_esr: u64) -> Cow<'static, str> {
    Cow::Borrowed("PMU exception syndrome (not decoded further)")
}
