//! EC 0x1B: TSTART access trapped (FEAT_TME, since withdrawn from the Arm ARM;
//! Linux lists 0x1B as unallocated). ISS per Arm ARM DDI 0487 G.a, "ISS
//! encoding for an exception from a TSTART instruction".

use super::{reg, res0};
use crate::field::Field;

/// RES0 \[24:10\], Rd \[9:5\], RES0 \[4:0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![res0(esr, 24, 10), reg(esr, "Rd", 9, 5), res0(esr, 4, 0)]
}
