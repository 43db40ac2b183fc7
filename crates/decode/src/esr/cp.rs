//! AArch32 coprocessor traps: EC 0x03, 0x05, 0x08 (MCR/MRC, VMRS), EC 0x04,
//! 0x0C (MCRR/MRRC), EC 0x06 (LDC/STC). Arm ARM D24.2.40, "ISS encoding for an
//! exception from an MCR or MRC access", "... MCRR or MRRC access", "... LDC or
//! STC instruction".

use super::{cv_cond, enumerated, flag, num, reg, res0};
use crate::field::Field;

fn direction(esr: u64) -> Field {
    flag(
        esr,
        "Direction",
        0,
        "Write to System register space (MCR/MCRR)",
        "Read from System register space (MRC/MRRC/VMRS)",
    )
}

/// MCR/MRC: CV, COND, Opc2 \[19:17\], Opc1 \[16:14\], CRn \[13:10\], Rt \[9:5\],
/// CRm \[4:1\], Direction \[0\].
pub(super) fn iss_mcr(esr: u64) -> Vec<Field> {
    let mut v = cv_cond(esr, 6);
    v.extend([
        num(esr, "Opc2", 19, 17),
        num(esr, "Opc1", 16, 14),
        num(esr, "CRn", 13, 10),
        reg(esr, "Rt", 9, 5),
        num(esr, "CRm", 4, 1),
        direction(esr),
    ]);
    v
}

/// MCRR/MRRC: CV, COND, Opc1 \[19:16\], RES0 \[15\], Rt2 \[14:10\], Rt \[9:5\],
/// CRm \[4:1\], Direction \[0\].
pub(super) fn iss_mcrr(esr: u64) -> Vec<Field> {
    let mut v = cv_cond(esr, 6);
    v.extend([
        num(esr, "Opc1", 19, 16),
        res0(esr, 15, 15),
        reg(esr, "Rt2", 14, 10),
        reg(esr, "Rt", 9, 5),
        num(esr, "CRm", 4, 1),
        direction(esr),
    ]);
    v
}

/// LDC/STC: CV, COND, imm8 \[19:12\], RES0 \[11:10\], Rn \[9:5\], Offset \[4\],
/// AM \[3:1\], Direction \[0\].
pub(super) fn iss_ldc(esr: u64) -> Vec<Field> {
    let mut v = cv_cond(esr, 6);
    v.extend([
        num(esr, "imm8", 19, 12),
        res0(esr, 11, 10),
        reg(esr, "Rn", 9, 5),
        flag(esr, "Offset", 4, "Subtract offset", "Add offset"),
        enumerated(
            esr,
            "AM",
            3,
            1,
            &[
                (0b000, "Immediate unindexed"),
                (0b001, "Immediate post-indexed"),
                (0b010, "Immediate offset"),
                (0b011, "Immediate pre-indexed"),
                (0b100, "Literal unindexed (Reserved for trapped T32)"),
                (0b110, "Literal offset"),
            ],
            "Reserved",
        ),
        flag(
            esr,
            "Direction",
            0,
            "Write to memory (STC)",
            "Read from memory (LDC)",
        ),
    ]);
    v
}
