//! Supervisor, hypervisor and secure monitor calls: EC 0x11, 0x12, 0x13
//! (AArch32) and 0x15, 0x16, 0x17 (AArch64). Arm ARM D24.2.40, "ISS encoding
//! for an exception from HVC or SVC instruction execution", "... SMC ...".

use super::{cv_cond, flag, num, res0};
use crate::field::Field;

/// SVC/HVC (both states) and SMC64: RES0 \[24:16\], imm16 \[15:0\].
pub(super) fn iss_imm16(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 16),
        num(esr, "imm16", 15, 0).meaning("Value of the immediate field from the instruction"),
    ]
}

/// SMC32: CV \[24\], COND \[23:20\], CCKNOWNPASS \[19\], RES0 \[18:0\].
pub(super) fn iss_smc32(esr: u64) -> Vec<Field> {
    let mut v = cv_cond(esr, 2);
    v.push(flag(
        esr,
        "CCKNOWNPASS",
        19,
        "The instruction might have failed its condition code check",
        "The instruction was unconditional, or was conditional and passed its condition code check",
    ));
    v.push(res0(esr, 18, 0));
    v
}
