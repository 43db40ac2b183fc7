//! The shared stage-1 walk fixtures (fixtures/walk/stage1.json) through the
//! Rust core; ts/test/walk.test.ts runs the same file through both bindings.

use decode::walk::{translate, PhysDump, Stage1Regs};
use serde_json::Value;
use std::path::PathBuf;

fn hex(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("hex string, got {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn stage1_walks_over_a_dump_match_the_fixtures() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/walk/stage1.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let base = hex(&doc["dump"]["base"]);
    let mut bytes = vec![0u8; doc["dump"]["size"].as_u64().unwrap() as usize];
    for w in doc["dump"]["words"].as_array().unwrap() {
        let at = (hex(&w[0]) - base) as usize;
        bytes[at..at + 8].copy_from_slice(&hex(&w[1]).to_le_bytes());
    }
    let dump = PhysDump {
        base,
        bytes: &bytes,
    };
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 7, "the fixture lost cases");
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let reg = |k: &str| hex(c["regs"].get(k).unwrap_or(&doc["regs"][k]));
        let regs = Stage1Regs {
            sctlr_el1: reg("sctlr"),
            tcr_el1: reg("tcr"),
            ttbr0_el1: reg("ttbr0"),
            ttbr1_el1: reg("ttbr1"),
        };
        let r = translate(&dump, &regs, hex(&c["va"]));
        if let Some(want) = c.get("error") {
            let e = r.expect_err(name);
            assert_eq!(e.code(), want["code"].as_str().unwrap(), "{name}");
            let msg = e.to_string();
            assert!(
                msg.contains(want["message"].as_str().unwrap()),
                "{name}: {msg}"
            );
        } else {
            let t = r.unwrap_or_else(|e| panic!("{name}: {e}"));
            let want = &c["expect"];
            assert_eq!(t.pa, hex(&want["pa"]), "{name}: pa");
            assert_eq!(
                t.level.map(i64::from),
                want["level"].as_i64(),
                "{name}: level"
            );
            assert_eq!(t.page_size, hex(&want["pageSize"]), "{name}: page size");
            assert_eq!(
                t.writable,
                want["writable"].as_bool().unwrap(),
                "{name}: writable"
            );
        }
    }
}
