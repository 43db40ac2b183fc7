//! The shared breakpoint-codec and patch-plan fixtures (fixtures/insn/*.json),
//! run through the Rust core. The jest suites run the same files through both
//! bindings. The vectors were derived from the Arm ARM encodings and checked
//! with GNU as/objdump (aarch64 and arm), independently of this crate.

use decode::patch::{plan_insert, plan_remove, RemovePlan};
use decode::BreakpointKind;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/insn")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex_bytes(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s:?}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex_u64(v: &Value) -> u64 {
    let s = v.as_str().expect("hex string");
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn kind(v: &Value) -> BreakpointKind {
    v["kind"].as_str().unwrap().parse().unwrap()
}

fn list<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    let l = doc[key].as_array().unwrap_or_else(|| panic!("no {key}"));
    assert!(!l.is_empty(), "{key} is empty");
    l
}

#[test]
fn golden_vectors_encode_recognise_and_bytes() {
    let doc = fixture("breakpoints.json");
    let vectors = list(&doc, "vectors");
    for v in vectors {
        let k = kind(v);
        let imm = v["imm"].as_u64().unwrap() as u32;
        let word = hex_u64(&v["word"]) as u32;
        let le = hex_bytes(v["le"].as_str().unwrap());
        assert_eq!(k.encode(imm), Ok(word), "{v}");
        assert_eq!(k.recognise(word), Some(imm as u16), "{v}");
        assert_eq!(k.to_le_bytes(imm).unwrap(), le, "{v}");
        assert_eq!(k.recognise_bytes(&le), Ok(Some(imm as u16)), "{v}");
    }
    // Every kind is covered.
    for k in BreakpointKind::ALL {
        assert!(vectors.iter().any(|v| kind(v) == k), "no vector for {k}");
    }
}

#[test]
fn out_of_range_immediates_are_refused() {
    let doc = fixture("breakpoints.json");
    for v in list(&doc, "out_of_range") {
        let imm = v["imm"].as_u64().unwrap();
        let e = kind(v).encode(imm as u32).unwrap_err();
        assert_eq!(e.code(), v["code"].as_str().unwrap(), "{v}");
        assert!(e.to_string().contains(&format!("{imm:#x}")), "{e}");
    }
}

#[test]
fn near_misses_are_not_recognised() {
    let doc = fixture("breakpoints.json");
    for v in list(&doc, "not_this_kind") {
        assert_eq!(kind(v).recognise(hex_u64(&v["word"]) as u32), None, "{v}");
    }
}

#[test]
fn patch_plan_insert_scenarios() {
    let doc = fixture("patch-plans.json");
    for v in list(&doc, "insert") {
        let current = hex_bytes(v["current"].as_str().unwrap());
        let got = plan_insert(kind(v), hex_u64(&v["addr"]), &current);
        match v["code"].as_str() {
            Some(code) => {
                let e = got.unwrap_err();
                assert_eq!(e.code(), code, "{v}");
                if code == "ERR_MISALIGNED" {
                    let addr = v["addr"].as_str().unwrap();
                    assert!(e.to_string().contains(addr), "{e} should name {addr}");
                }
            }
            None => {
                let plan = got.unwrap_or_else(|e| panic!("{v}: {e}"));
                assert_eq!(plan.saved, hex_bytes(v["saved"].as_str().unwrap()), "{v}");
                assert_eq!(plan.patch, hex_bytes(v["write"].as_str().unwrap()), "{v}");
                // The plan's own remove undoes it exactly.
                assert_eq!(
                    plan.plan_remove(&plan.patch).unwrap().write(),
                    Some((plan.addr, plan.saved.as_slice()))
                );
            }
        }
    }
}

#[test]
fn patch_plan_remove_scenarios() {
    let doc = fixture("patch-plans.json");
    for v in list(&doc, "remove") {
        let saved = hex_bytes(v["saved"].as_str().unwrap());
        let current = hex_bytes(v["current"].as_str().unwrap());
        let addr = hex_u64(&v["addr"]);
        let got = plan_remove(kind(v), addr, &saved, &current);
        match (v["code"].as_str(), &v["write"]) {
            (Some(code), _) => assert_eq!(got.unwrap_err().code(), code, "{v}"),
            (None, Value::Null) => {
                assert_eq!(got, Ok(RemovePlan::AlreadyRestored { addr }), "{v}")
            }
            (None, w) => assert_eq!(
                got,
                Ok(RemovePlan::Restore {
                    addr,
                    restore: hex_bytes(w.as_str().unwrap())
                }),
                "{v}"
            ),
        }
    }
}
