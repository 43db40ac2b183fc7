//! EC 0x01: trapped WFI, WFE, WFIT, WFET (Arm ARM D24.2.40, "ISS encoding for
//! an exception from a WF* instruction"; Linux ESR_ELx_WFx_ISS_*).

use super::{cv_cond, enumerated, flag, reg, res0};
use crate::field::Field;

/// CV \[24\], COND \[23:20\], RES0 \[19:10\], RN \[9:5\], RES0 \[4:3\], RV \[2\], TI \[1:0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    let mut v = cv_cond(esr, 5);
    v.extend([
        res0(esr, 19, 10),
        reg(esr, "RN", 9, 5),
        res0(esr, 4, 3),
        flag(
            esr,
            "RV",
            2,
            "RN is not valid",
            "RN holds the timeout register (WFIT/WFET)",
        ),
        enumerated(
            esr,
            "TI",
            1,
            0,
            &[
                (0b00, "WFI trapped"),
                (0b01, "WFE trapped"),
                (0b10, "WFIT trapped"),
                (0b11, "WFET trapped"),
            ],
            "Reserved",
        ),
    ]);
    v
}

#[cfg(test)]
mod tests {
    use crate::esr::decode;

    #[test]
    fn ti_and_timeout_register() {
        let t = decode(0x0600_0046);
        assert_eq!(
            t.find("TI").unwrap().meaning.as_deref(),
            Some("WFIT trapped")
        );
        assert_eq!(t.find("RV").unwrap().value, 1);
        assert_eq!(t.find("RN").unwrap().value, 2);
        assert_eq!(
            t.find("COND").unwrap().meaning.as_deref(),
            Some("UNKNOWN (CV is 0)")
        );
        assert_eq!(
            decode(0x07e0_0000).find("COND").unwrap().meaning.as_deref(),
            Some("AL")
        );
    }
}
