//! EC 0x27: Memory Operation Exception (FEAT_MOPS: CPY*, SET*). Arm ARM
//! D24.2.40, "ISS encoding for an exception from the Memory Copy and Memory
//! Set instructions"; Linux ESR_ELx_MOPS_ISS_*.

use super::{flag, num, reg, res0};
use crate::field::Field;

/// MemInst \[24\], isSETG \[23\], Options \[22:19\], FromEpilogue \[18\],
/// WrongOption \[17\], OptionA \[16\], RES0 \[15\], DestReg \[14:10\], SrcReg \[9:5\],
/// SizeReg \[4:0\].
pub(super) fn iss(esr: u64) -> Vec<Field> {
    vec![
        flag(esr, "MemInst", 24, "CPY* instruction", "SET* instruction"),
        flag(
            esr,
            "isSETG",
            23,
            "Not a SETG* instruction",
            "SETG* instruction",
        ),
        num(esr, "Options", 22, 19).meaning("Options field of the instruction"),
        flag(
            esr,
            "FromEpilogue",
            18,
            "From a prologue or main instruction",
            "From an epilogue instruction",
        ),
        flag(
            esr,
            "WrongOption",
            17,
            "Option is as expected",
            "Wrong option (PSTATE.C does not match the algorithm)",
        ),
        flag(
            esr,
            "OptionA",
            16,
            "Algorithm option B was in use",
            "Algorithm option A was in use",
        ),
        res0(esr, 15, 15),
        reg(esr, "DestReg", 14, 10),
        reg(esr, "SrcReg", 9, 5),
        reg(esr, "SizeReg", 4, 0),
    ]
}

#[cfg(test)]
mod tests {
    use crate::esr::{decode, summary};

    #[test]
    fn registers_and_options() {
        let v = 0x9e03_0443;
        let t = decode(v);
        assert_eq!(t.find("WrongOption").unwrap().value, 1);
        assert_eq!(t.find("DestReg").unwrap().value, 1);
        assert_eq!(summary(v), "EC 0x27 MOPS CPY* Xd=1 Xs=2 Xn=3");
        assert!(summary(v | 1 << 24).contains("SET*"));
    }
}
