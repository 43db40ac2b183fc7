//! Golden test: the WHOLE decoded tree, the summary and the text of each value
//! below must equal `fixtures/esr/golden.json`, which the jest suites also run
//! against both JS backends.
//!
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p kvm-debug-decode --test
//! esr_golden`, then read the diff against the Arm ARM before committing.

use decode::esr::{decode, summary};
use serde_json::{json, Value};
use std::path::PathBuf;

/// (value, why it is here). The first five were observed on real KVM/arm64
/// (/work/shared/lab/arm64-kvm/results-example.txt).
const VALUES: &[(u64, &str)] = &[
    (0xf200_0000, "KVM: host SW breakpoint, BRK #0 (EC 0x3c)"),
    (0xf200_0123, "KVM: guest's own BRK #0x123"),
    (0xcb00_0022, "KVM: software step, lower EL, ISV=1 EX=0"),
    (
        0xca00_0022,
        "KVM: software step after an MMIO completion, ISV=0",
    ),
    (0xc200_0022, "KVM: hardware breakpoint, lower EL"),
    (0x0000_0000, "EC 0x00 unknown reason, all zero"),
    (0x0200_0000, "EC 0x00 with IL=1"),
    (0x07e0_0000, "WFI trapped, CV=1 COND=AL"),
    (0x07e0_0001, "WFE trapped"),
    (0x0600_0046, "WFIT with RV=1, RN=2"),
    (0x0fe0_0041, "MRC p15 (CP15_32), Rt=2, read"),
    (0x13e0_0c45, "MRRC p15 (CP15_64), Rt=2 Rt2=3 CRm=2"),
    (0x17e0_0001, "MRC p14 (CP14_MR), read"),
    (
        0x1be0_4035,
        "LDC (CP14_LS) imm8=4 Rn=1 add, immediate offset",
    ),
    (0x1e00_0000, "FP/ASIMD access trapped from AArch64 (CV=0)"),
    (0x23e1_c021, "VMRS from the ID group (CP10_ID), Opc1=7 Rt=1"),
    (0x2600_0000, "PAC instruction trapped (EC 0x09)"),
    (0x2a00_0002, "LD64B or ST64B trapped (EC 0x0a)"),
    (0x2a00_0003, "TSB CSYNC trapped (EC 0x0a, Linux OTHER)"),
    (0x2a00_0004, "PSB CSYNC trapped (EC 0x0a, Linux OTHER)"),
    (0x2a00_0005, "EC 0x0a ISS 5: reserved"),
    (0x33e0_0001, "MRRC p14 (CP14_64), read"),
    (0x3600_0001, "BTI exception, BTYPE=0b01"),
    (0x3a00_0000, "Illegal Execution state"),
    (0x4600_0012, "SVC #0x12 in AArch32"),
    (0x4a00_0000, "HVC #0 in AArch32 (EC 0x12)"),
    (
        0x4fe8_0000,
        "SMC in AArch32 (EC 0x13), CV=1 COND=AL CCKNOWNPASS=1",
    ),
    (
        0x5230_0061,
        "EC 0x14 MRRS (FEAT_SYSREG128), provisional layout",
    ),
    (0x5600_0000, "SVC #0 in AArch64"),
    (0x5a00_0000, "HVC #0 in AArch64 (PSCI call)"),
    (0x5e00_0000, "SMC #0 in AArch64"),
    (0x6230_0061, "MRS X3, MIDR_EL1 trapped"),
    (0x6230_0400, "MSR SCTLR_EL1, X0 trapped"),
    (0x6234_f801, "MRS X0, CNTVCT_EL0 trapped"),
    (0x6600_0000, "SVE access trapped"),
    (0x6a00_0003, "ERETAB trapped (EC 0x1a)"),
    (0x6e00_0060, "TSTART trapped (EC 0x1b), Rd=3"),
    (0x7200_0001, "FPAC: instruction key B"),
    (
        0x7600_0002,
        "SME instruction trapped because PSTATE.SM is 0 (EC 0x1d)",
    ),
    (
        0x7e00_1234,
        "IMPLEMENTATION DEFINED exception to EL3 (EC 0x1f)",
    ),
    (0x8200_0006, "IABT lower EL, translation fault level 2"),
    (
        0x8200_0086,
        "IABT lower EL, S1PTW=1, translation fault level 2",
    ),
    (0x8600_000f, "IABT same EL, permission fault level 3"),
    (
        0x8200_5410,
        "IABT sync external abort, PFV=1 SET=0b10 FnV=1",
    ),
    (0x8a00_0000, "PC alignment fault"),
    (
        0x93c1_8047,
        "DABT lower EL, ISV=1: 64-bit STR X1, doubleword, translation fault L3 (MMIO)",
    ),
    (
        0x9300_0007,
        "DABT lower EL, ISV=1 LDRB W0, translation fault L3",
    ),
    (
        0x9600_0045,
        "DABT same EL, ISV=0, write, translation fault level 1",
    ),
    (
        0x9600_0004,
        "DABT same EL, ISV=0, read, translation fault level 0",
    ),
    (
        0x9200_1410,
        "DABT sync external abort, SET=0b10 (UC), FnV=1",
    ),
    (
        0x9203_4015,
        "DABT external abort on walk level 1, WU=0b11, PFV=1",
    ),
    (
        0x0000_0100_9600_004f,
        "DABT with ISS2 GCS=1: GCS data access, permission fault L3",
    ),
    (
        0x0000_0005_9200_0835,
        "DABT with ISS2 Xs=5: ST64BV (LST=0b01), unsupported exclusive/atomic",
    ),
    (
        0x0000_06a0_9600_004f,
        "DABT with ISS2 TnD, TagAccess, AssuredOnly, DirtyBit",
    ),
    (0x9a00_0000, "SP alignment fault"),
    (
        0x9e03_0443,
        "MOPS: CPY* wrong option, option A, Xd=1 Xs=2 Xn=3",
    ),
    (0xa280_0002, "Trapped FP exception from AArch32, TFV=1 DZF"),
    (
        0xb280_0701,
        "Trapped FP exception from AArch64, TFV=1 IOF, VECITR RES1",
    ),
    (0xb600_03c0, "GCS data check exception on RET, Rn=30"),
    (0xb610_0000, "GCS EXLOCK exception"),
    (0xbe00_0000, "SError, uncategorized, AET UC"),
    (0xbe00_2c11, "SError: IESB=1, AET UER, asynchronous SError"),
    (0xbf00_0001, "SError with IDS=1 (IMPLEMENTATION DEFINED)"),
    (0xc600_0022, "Hardware breakpoint, same EL"),
    (0xcf00_0062, "Software step, same EL, ISV=1 EX=1"),
    (0xd200_0062, "Watchpoint, lower EL, WnR=1"),
    (0xd60a_0122, "Watchpoint, same EL, WPTV=1 WPT=2 CM=1"),
    (0xe000_0005, "BKPT #5 in T32 (IL=0)"),
    (0xea00_0022, "Vector catch (EC 0x3a)"),
    (0xf600_0000, "PMU exception (EC 0x3d, FEAT_EBEP)"),
    (0x0a00_0000, "Unallocated EC 0x02"),
    (0xba00_0000, "Unallocated EC 0x2e"),
    (0xfe00_0123, "Unallocated EC 0x3f"),
    (
        0xbe00_2000,
        "RES0 violated: SError IESB set, DFSC not 0b010001",
    ),
    (
        0xbe00_0c00,
        "RES0 violated: SError AET set, DFSC not 0b010001",
    ),
    (
        0xbe00_0200,
        "RES0 violated: SError EA set, DFSC not 0b010001",
    ),
    (0xbe00_2e11, "SError, Asynchronous: IESB, AET=UER, EA"),
    (
        0x8600_0407,
        "RES0 violated: IABT FnV set, IFSC not 0b010000",
    ),
    (0x8600_0410, "IABT synchronous External abort, FnV=1"),
    (
        0x8600_0021,
        "IABT IFSC 0x21: reserved (alignment is data only)",
    ),
    (0xf201_0000, "RES0 violated: BRK with ISS[16] set"),
    (0x56ff_0000, "RES0 violated: SVC with ISS[23:16] set"),
    (0x0000_0001_f200_0000, "RES0 violated: ISS2 nonzero for BRK"),
    (0xff00_0000_f200_0000, "RES0 violated: ESR_ELx[63:56] set"),
    (
        0xffff_ffff_ffff_ffff,
        "all ones: unallocated EC, RES0 and ISS2 violated",
    ),
];

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/esr/golden.json")
}

fn entry(v: u64, note: &str) -> Value {
    let tree = decode(v);
    json!({
        "esr": format!("{v:#x}"),
        "note": note,
        "summary": summary(v),
        "text": tree.to_text(),
        "tree": serde_json::from_str::<Value>(&tree.to_json()).expect("to_json is JSON"),
    })
}

#[test]
fn golden_trees_match_the_fixture() {
    let want: Vec<Value> = VALUES.iter().map(|(v, n)| entry(*v, n)).collect();
    let path = fixture_path();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let text = serde_json::to_string_pretty(&Value::Array(want)).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        println!("UPDATE_GOLDEN: wrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    let got: Vec<Value> = serde_json::from_str(&text).expect("golden.json parses");
    assert_eq!(got.len(), want.len(), "fixture and VALUES differ in length");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "ESR {} differs from the fixture", w["esr"]);
    }
}

/// Facts checked by hand against the Arm ARM, independent of the fixture.
#[test]
fn hand_checked_facts() {
    assert_eq!(
        summary(0xf200_0123),
        "EC 0x3c BRK64 (AArch64) comment 0x123"
    );
    assert_eq!(summary(0xf200_0000), "EC 0x3c BRK64 (AArch64) comment 0x0");
    assert_eq!(summary(0xcb00_0022), "EC 0x32 SOFTSTP_LOW ISV=1 EX=0");
    assert_eq!(
        summary(0xc200_0022),
        "EC 0x30 BREAKPT_LOW IFSC 0x22 debug exception"
    );
    assert_eq!(summary(0x5a00_0000), "EC 0x16 HVC64 imm16 0x0");
    assert_eq!(
        summary(0x9600_0045),
        "EC 0x25 DABT_CUR WnR=1 DFSC 0x05 translation fault, level 1"
    );
    let t = decode(0x93c1_8047);
    let get = |n: &str| t.find(n).unwrap_or_else(|| panic!("no {n}")).value;
    assert_eq!(
        (get("ISV"), get("SAS"), get("SRT"), get("SF")),
        (1, 3, 1, 1)
    );
    assert_eq!((get("WnR"), get("DFSC")), (1, 7));
    let t = decode(0xfe00_0123);
    assert_eq!(
        t.find("EC").unwrap().meaning.as_deref(),
        Some("Unallocated EC")
    );
}
