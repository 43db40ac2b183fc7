//! EC 0x3D: PMU exception (FEAT_EBEP, Arm ARM issue K.a onwards; Linux lists
//! 0x3D as unallocated). The ISS is not decoded further here.

use super::num;
use crate::field::Field;

/// ISS [24:0], reported whole.
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![num(esr, "ISS", 24, 0).meaning("PMU exception syndrome (not decoded further)")]
}
