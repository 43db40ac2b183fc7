//! EC 0x18: trapped MSR, MRS or System instruction in AArch64 state. Arm ARM
//! D24.2.40, "ISS encoding for an exception from MSR, MRS, or System
//! instruction execution in AArch64 state"; encodings from the Arm ARM's System register descriptions.

use super::{flag, num, reg, res0};
use crate::field::{extract, Field};
use std::borrow::Cow;
use std::fmt::Write as _;

/// A System register or instruction encoding: (Op0, Op1, CRn, CRm, Op2).
type Enc = (u8, u8, u8, u8, u8);

/// Well-known encodings (Arm ARM System register descriptions; the SYS
/// instruction aliases). Not exhaustive: others print as `S<op0>_<op1>_C<n>_C<m>_<op2>`.
const NAMES: &[(Enc, &str)] = &[
    ((3, 0, 0, 0, 0), "MIDR_EL1"),
    ((3, 0, 0, 0, 5), "MPIDR_EL1"),
    ((3, 0, 0, 0, 6), "REVIDR_EL1"),
    ((3, 0, 0, 4, 0), "ID_AA64PFR0_EL1"),
    ((3, 0, 0, 4, 1), "ID_AA64PFR1_EL1"),
    ((3, 0, 0, 5, 0), "ID_AA64DFR0_EL1"),
    ((3, 0, 0, 6, 0), "ID_AA64ISAR0_EL1"),
    ((3, 0, 0, 6, 1), "ID_AA64ISAR1_EL1"),
    ((3, 0, 0, 7, 0), "ID_AA64MMFR0_EL1"),
    ((3, 0, 0, 7, 1), "ID_AA64MMFR1_EL1"),
    ((3, 0, 0, 7, 2), "ID_AA64MMFR2_EL1"),
    ((3, 0, 1, 0, 0), "SCTLR_EL1"),
    ((3, 0, 1, 0, 1), "ACTLR_EL1"),
    ((3, 0, 1, 0, 2), "CPACR_EL1"),
    ((3, 0, 2, 0, 0), "TTBR0_EL1"),
    ((3, 0, 2, 0, 1), "TTBR1_EL1"),
    ((3, 0, 2, 0, 2), "TCR_EL1"),
    ((3, 0, 4, 6, 0), "ICC_PMR_EL1"),
    ((3, 0, 5, 1, 0), "AFSR0_EL1"),
    ((3, 0, 5, 1, 1), "AFSR1_EL1"),
    ((3, 0, 5, 2, 0), "ESR_EL1"),
    ((3, 0, 6, 0, 0), "FAR_EL1"),
    ((3, 0, 7, 4, 0), "PAR_EL1"),
    ((3, 0, 10, 2, 0), "MAIR_EL1"),
    ((3, 0, 12, 0, 0), "VBAR_EL1"),
    ((3, 0, 12, 11, 5), "ICC_SGI1R_EL1"),
    ((3, 0, 12, 12, 0), "ICC_IAR1_EL1"),
    ((3, 0, 12, 12, 1), "ICC_EOIR1_EL1"),
    ((3, 0, 12, 12, 5), "ICC_SRE_EL1"),
    ((3, 0, 13, 0, 1), "CONTEXTIDR_EL1"),
    ((3, 0, 13, 0, 4), "TPIDR_EL1"),
    ((3, 0, 14, 1, 0), "CNTKCTL_EL1"),
    ((3, 3, 0, 0, 1), "CTR_EL0"),
    ((3, 3, 0, 0, 7), "DCZID_EL0"),
    ((3, 3, 4, 2, 0), "NZCV"),
    ((3, 3, 4, 2, 1), "DAIF"),
    ((3, 3, 4, 4, 0), "FPCR"),
    ((3, 3, 4, 4, 1), "FPSR"),
    ((3, 3, 9, 12, 0), "PMCR_EL0"),
    ((3, 3, 9, 13, 0), "PMCCNTR_EL0"),
    ((3, 3, 13, 0, 2), "TPIDR_EL0"),
    ((3, 3, 13, 0, 3), "TPIDRRO_EL0"),
    ((3, 3, 14, 0, 0), "CNTFRQ_EL0"),
    ((3, 3, 14, 0, 1), "CNTPCT_EL0"),
    ((3, 3, 14, 0, 2), "CNTVCT_EL0"),
    ((3, 3, 14, 2, 0), "CNTP_TVAL_EL0"),
    ((3, 3, 14, 2, 1), "CNTP_CTL_EL0"),
    ((3, 3, 14, 2, 2), "CNTP_CVAL_EL0"),
    ((3, 3, 14, 3, 0), "CNTV_TVAL_EL0"),
    ((3, 3, 14, 3, 1), "CNTV_CTL_EL0"),
    ((3, 3, 14, 3, 2), "CNTV_CVAL_EL0"),
    ((2, 0, 0, 2, 2), "MDSCR_EL1"),
    ((2, 0, 1, 0, 4), "OSLAR_EL1"),
    ((2, 0, 1, 1, 4), "OSLSR_EL1"),
    ((2, 0, 1, 3, 4), "OSDLR_EL1"),
    ((2, 3, 0, 1, 0), "MDCCSR_EL0"),
    ((1, 0, 7, 1, 0), "IC IALLUIS"),
    ((1, 0, 7, 5, 0), "IC IALLU"),
    ((1, 0, 7, 6, 1), "DC IVAC"),
    ((1, 0, 7, 6, 2), "DC ISW"),
    ((1, 0, 7, 10, 2), "DC CSW"),
    ((1, 0, 7, 14, 2), "DC CISW"),
    ((1, 0, 8, 3, 0), "TLBI VMALLE1IS"),
    ((1, 0, 8, 7, 0), "TLBI VMALLE1"),
    ((1, 3, 7, 4, 1), "DC ZVA"),
    ((1, 3, 7, 5, 1), "IC IVAU"),
    ((1, 3, 7, 10, 1), "DC CVAC"),
    ((1, 3, 7, 11, 1), "DC CVAU"),
    ((1, 3, 7, 14, 1), "DC CIVAC"),
];

/// The name of a System register or instruction encoding, or `None`.
pub fn sysreg_name(op0: u8, op1: u8, crn: u8, crm: u8, op2: u8) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(e, _)| *e == (op0, op1, crn, crm, op2))
        .map(|(_, n)| *n)
}

/// Debug breakpoint/watchpoint value and control registers: Op0 2, Op1 0,
/// CRn 0, CRm n, Op2 4..=7 (Arm ARM debug register descriptions DBGBVR<n>_EL1 ..
/// DBGWCR<n>_EL1).
const DBG_REGS: [&str; 4] = ["DBGBVR", "DBGBCR", "DBGWVR", "DBGWCR"];

/// `X<n>`, or `XZR` for 31.
fn write_x(s: &mut String, r: u8) {
    if r >= 31 {
        s.push_str("XZR");
    } else {
        let _ = write!(s, "X{r}");
    }
}

/// Text for the whole access, e.g. `MRS X3, S3_0_C0_C0_0 (MIDR_EL1)`;
/// `pair` selects the 128-bit forms (MRRS, MSRR, SYSP) whose Rt names the
/// first of two consecutive registers. One allocation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn describe_access_as(
    op0: u8,
    op1: u8,
    crn: u8,
    crm: u8,
    op2: u8,
    rt: u8,
    read: bool,
    pair: bool,
) -> String {
    let mut s = String::with_capacity(48);
    let name = |s: &mut String| {
        let _ = write!(s, "S{op0}_{op1}_C{crn}_C{crm}_{op2}");
        if let Some(n) = sysreg_name(op0, op1, crn, crm, op2) {
            let _ = write!(s, " ({n})");
        } else if op0 == 2 && op1 == 0 && crn == 0 && (4..=7).contains(&op2) {
            let _ = write!(s, " ({}{crm}_EL1)", DBG_REGS[(op2 - 4) as usize]);
        }
    };
    let regs = |s: &mut String| {
        write_x(s, rt);
        if pair {
            s.push_str(", ");
            write_x(s, rt.saturating_add(1));
        }
    };
    let mnemonic = match (op0, read, pair) {
        (1, _, true) => "SYSP",
        (1, false, false) => "SYS",
        (1, true, false) => "SYSL",
        (_, true, true) => "MRRS",
        (_, false, true) => "MSRR",
        (_, true, false) => "MRS",
        (_, false, false) => "MSR",
    };
    s.push_str(mnemonic);
    s.push(' ');
    if read {
        regs(&mut s);
        s.push_str(", ");
        name(&mut s);
    } else {
        name(&mut s);
        s.push_str(", ");
        regs(&mut s);
    }
    s
}

/// RES0 \[24:22\], Op0 \[21:20\], Op2 \[19:17\], Op1 \[16:14\], CRn \[13:10\], Rt \[9:5\],
/// CRm \[4:1\], Direction \[0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![
        res0(esr, 24, 22),
        num(esr, "Op0", 21, 20),
        num(esr, "Op2", 19, 17),
        num(esr, "Op1", 16, 14),
        num(esr, "CRn", 13, 10),
        reg(esr, "Rt", 9, 5),
        num(esr, "CRm", 4, 1),
        flag(
            esr,
            "Direction",
            0,
            "Write access, including MSR instructions",
            "Read access, including MRS instructions",
        ),
    ]
}

/// The meaning of the whole ISS: the trapped access spelled out.
pub(crate) fn iss_meaning(esr: u64) -> Cow<'static, str> {
    iss_meaning_as(esr, false)
}

/// As [`iss_meaning`]; `pair` for the EC 0x14 128-bit forms.
pub(crate) fn iss_meaning_as(esr: u64, pair: bool) -> Cow<'static, str> {
    let g = |hi, lo| extract(esr, hi, lo) as u8;
    Cow::Owned(describe_access_as(
        g(21, 20),
        g(16, 14),
        g(13, 10),
        g(4, 1),
        g(19, 17),
        g(9, 5),
        g(0, 0) == 1,
        pair,
    ))
}

#[cfg(test)]
mod tests {
    use crate::esr::decode;

    fn sys(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64, rt: u64, read: u64) -> u64 {
        (0x18 << 26)
            | (1 << 25)
            | (op0 << 20)
            | (op2 << 17)
            | (op1 << 14)
            | (crn << 10)
            | (rt << 5)
            | (crm << 1)
            | read
    }

    #[test]
    fn names_well_known_registers() {
        let t = decode(sys(3, 0, 0, 0, 0, 3, 1));
        assert_eq!(
            t.find("ISS").unwrap().meaning.as_deref(),
            Some("MRS X3, S3_0_C0_C0_0 (MIDR_EL1)")
        );
        let t = decode(sys(2, 0, 0, 1, 5, 0, 0));
        assert_eq!(
            t.find("ISS").unwrap().meaning.as_deref(),
            Some("MSR S2_0_C0_C1_5 (DBGBCR1_EL1), X0")
        );
        let t = decode(sys(3, 7, 15, 15, 7, 31, 1));
        assert_eq!(
            t.find("ISS").unwrap().meaning.as_deref(),
            Some("MRS XZR, S3_7_C15_C15_7")
        );
    }
}
