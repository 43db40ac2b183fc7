//! EC 0x1F: IMPLEMENTATION DEFINED exception to EL3 (Arm ARM D24.2.42).

use super::num;
use crate::field::Field;

/// ISS \[24:0\] IMPLEMENTATION DEFINED.
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![num(esr, "IMPDEF", 24, 0).meaning("IMPLEMENTATION DEFINED syndrome")]
}
