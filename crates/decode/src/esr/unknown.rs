//! EC 0x00 (Unknown reason) and EC 0x0E (Illegal Execution state): the ISS
//! is RES0 (Arm ARM D24.2.40).

use super::iss_res0;
use crate::field::Field;

/// ISS \[24:0\] RES0.
pub(super) fn iss(esr: u64) -> Vec<Field> {
    iss_res0(esr)
}
