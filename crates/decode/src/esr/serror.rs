//! EC 0x2F: SError exception. Arm ARM D24.2.40, "ISS encoding for an SError
//! exception" (FEAT_RAS: IESB, AET, EA, DFSC). IESB, AET and EA are RES0 unless
//! DFSC is 0b010001 (Linux asm/esr.h ESR_ELx_FSC_SERROR).

use super::{enumerated, flag, num, res0, res0_because};
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
    if extract(esr, 5, 0) != DFSC_ASYNC_SERROR {
        // IESB, AET and EA are defined only for an Asynchronous SError (DFSC 0b010001).
        const WHY: &str = "defined only when DFSC is 0b010001 (Asynchronous SError)";
        return vec![
            ids,
            res0(esr, 23, 14),
            res0_because(esr, "IESB", 13, 13, WHY),
            res0_because(esr, "AET", 12, 10, WHY),
            res0_because(esr, "EA", 9, 9, WHY),
            res0(esr, 8, 6),
            dfsc(esr),
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
        dfsc(esr),
    ]
}

/// DFSC 0b010001: Asynchronous SError exception (the only code with IESB, AET, EA).
pub(super) const DFSC_ASYNC_SERROR: u64 = 0b01_0001;

fn dfsc(esr: u64) -> Field {
    enumerated(
        esr,
        "DFSC",
        5,
        0,
        &[
            (0x00, "Uncategorized error"),
            (DFSC_ASYNC_SERROR, "Asynchronous SError exception"),
        ],
        "Reserved",
    )
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

    #[test]
    fn iesb_aet_ea_are_res0_unless_dfsc_is_async_serror() {
        use crate::esr::{summary, violates_res0};
        for v in [0xbe00_2000u64, 0xbe00_0c00, 0xbe00_0200] {
            assert!(violates_res0(&decode(v)), "{v:#x}");
            assert!(summary(v).ends_with("(RES0 violated)"), "{v:#x}");
        }
        assert!(!violates_res0(&decode(0xbe00_0000)));
        assert!(
            !violates_res0(&decode(0xbe00_2e11)),
            "DFSC 0b010001: IESB, AET, EA defined"
        );
        let t = decode(0xbe00_0c00);
        assert!(violates_res0(t.find("AET").unwrap()), "AET is RES0 here");
    }
}
