//! EC 0x22 (PC alignment fault) and EC 0x26 (SP alignment fault): the ISS is
//! RES0 (Arm ARM D24.2.40); the faulting address is in FAR_ELx / ELR_ELx.

use super::iss_res0;
use crate::field::Field;

/// ISS \[24:0\] RES0.
pub(super) fn iss(esr: u64) -> Vec<Field> {
    iss_res0(esr)
}
