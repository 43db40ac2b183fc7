//! EC 0x2F: SError exception. Arm ARM D24.2.40, "ISS encoding for an SError
//! exception" (FEAT_RAS: IESB, AET, EA, DFSC).

use super::{enumerated, flag, num, res0};
use crate::field::{extract, Field};

/// IDS \[24\]; when IDS is 1, ISS \[23:0\] is IMPLEMENTATION DEFINED; else RES0
/// \[23:14\], IESB \[13\], AET \[12:10\], EA \[9\], RES0 \[8:6\], DFSC \[5:0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    let ids = flag(
        esr,
        "IDS",
        24,
        "Architecturally-defined syndrome",
        "IMPLEMENTATION DEFINED syndrome",
    );
    if extract(esr, 24, 24) == 1 {
        return vec![
            ids,
            num(esr, "IMPDEF", 23, 0).meaning("IMPLEMENTATION DEFINED syndrome"),
        ];
    }
    vec![
        ids,
        res0(esr, 23, 14),
        flag(
            esr,
            "IESB",
            13,
            "Not synchronized by an implicit error synchronization event",
            "Synchronized by an implicit error synchronization event",
        ),
        enumerated(
            esr,
            "AET",
            12,
            10,
            &[
                (0b000, "Uncontainable (UC)"),
                (0b001, "Unrecoverable state (UEU)"),
                (0b010, "Restartable state (UEO)"),
                (0b011, "Recoverable state (UER)"),
                (0b110, "Corrected (CE)"),
            ],
            "Reserved",
        ),
        flag(
            esr,
            "EA",
            9,
            "External abort type 0",
            "External abort type 1 (IMPLEMENTATION DEFINED classification)",
        ),
        res0(esr, 8, 6),
        enumerated(
            esr,
            "DFSC",
            5,
            0,
            &[
                (0x00, "Uncategorized error"),
                (0x11, "Asynchronous SError exception"),
            ],
            "Reserved",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use crate::esr::decode;

    #[test]
    fn ids_switches_to_impdef() {
        let t = decode(0xbe00_2c11);
        assert_eq!(
            t.find("AET").unwrap().meaning.as_deref(),
            Some("Recoverable state (UER)")
        );
        assert_eq!(t.find("IESB").unwrap().value, 1);
        let t = decode(0xbf00_2c11);
        assert!(t.find("AET").is_none());
        assert_eq!(t.find("IMPDEF").unwrap().value, 0x2c11);
    }
}
