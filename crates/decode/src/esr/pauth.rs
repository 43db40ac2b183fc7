//! Pointer authentication: EC 0x09 (PAC instruction trapped by HCR_EL2.API or
//! SCR_EL3.API) and EC 0x1C (FPAC, authentication failure). Arm ARM D24.2.40.

use super::{flag, iss_res0, res0};
use crate::field::Field;

/// EC 0x09: ISS RES0.
pub(super) fn iss_pac_trap(esr: u64) -> Vec<Field> {
    iss_res0(esr)
}

/// EC 0x1C ("ISS encoding for a PAC Fail exception"): RES0 \[24:2\], bit \[1\]
/// instruction (0) or data (1) key, bit \[0\] A (0) or B (1) key; as QEMU's
/// `syn_pacfail()`. The names IorD/AorB are google/aarch64-esr-decoder's (QEMU
/// calls them DnI/BnA); we found no Arm name for these two bits.
pub(super) fn iss_fpac(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 2),
        flag(
            esr,
            "IorD",
            1,
            "Instruction key (IA/IB)",
            "Data key (DA/DB)",
        ),
        flag(esr, "AorB", 0, "A key", "B key"),
    ]
}
