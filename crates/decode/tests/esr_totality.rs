//! Totality: the fast classifier over all 2^32 low halves (release only), and
//! the full tree, summary and JSON over a seeded random sample of 64-bit
//! values, with structural invariants. CI runs `cargo test --release`.

use decode::classify::{
    classify, classify_batch, DebugEvent, KIND_BKPT32, KIND_BRK64, KIND_HW_BREAKPOINT, KIND_NONE,
    KIND_SOFTWARE_STEP, KIND_VECTOR_CATCH, KIND_WATCHPOINT,
};
use decode::esr::{decode, summary};
use decode::field::{extract, Field};
use serde_json::Value;

const RELEASE: bool = !cfg!(debug_assertions);

/// Values per EC in the low 32 bits: IL and ISS, 26 bits.
const PER_EC_FULL: u64 = 1 << 26;

struct Tally {
    ec_hist: [u64; 64],
    kind_hist: [u64; 16],
    brk_comment_sum: u64,
    wpt_valid: u64,
    wnr_set: u64,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            ec_hist: [0; 64],
            kind_hist: [0; 16],
            brk_comment_sum: 0,
            wpt_valid: 0,
            wnr_set: 0,
        }
    }
}

/// Classifies every `step`th low half of each EC in `ecs`: every batch word
/// must equal `classify(v).pack()`, and every 61st must agree field by field
/// with the structured `Classification`.
fn tally(ecs: impl Iterator<Item = u64>, step: u64) -> Tally {
    const CHUNK: usize = 1 << 16;
    let mut t = Tally::default();
    let mut vals = vec![0u64; CHUNK];
    let mut out = vec![0u32; CHUNK];
    for e in ecs {
        let mut low = 0u64;
        while low < PER_EC_FULL {
            let mut n = 0;
            while n < CHUNK && low < PER_EC_FULL {
                vals[n] = (e << 26) | low;
                n += 1;
                low += step;
            }
            classify_batch(&vals[..n], &mut out[..n]);
            // Branch-free agreement check over the whole chunk; find the
            // offender only when something differs.
            let mut diff = 0u32;
            for (&v, &p) in vals[..n].iter().zip(&out[..n]) {
                diff |= classify(v).pack() ^ p;
            }
            if diff != 0 {
                for (&v, &p) in vals[..n].iter().zip(&out[..n]) {
                    let c = classify(v);
                    assert_eq!(c.pack(), p, "{v:#x}: pack() != batch word, {c:?}");
                }
            }
            for &p in &out[..n] {
                let kind = (p >> 8) & 0xf;
                t.ec_hist[(p & 0x3f) as usize] += 1;
                t.kind_hist[kind as usize] += 1;
                t.wnr_set += ((p >> 12) & 1) as u64;
                t.wpt_valid += ((p >> 15) & 1) as u64;
                let is_brk = 0u32.wrapping_sub((kind == KIND_BRK64 as u32) as u32);
                t.brk_comment_sum += ((p >> 16) & is_brk) as u64;
            }
            // The structured form against the packed word, every 61st value.
            for (&v, &p) in vals[..n].iter().zip(&out[..n]).step_by(61) {
                let c = classify(v);
                assert_eq!(
                    (c.ec as u32, c.il as u32),
                    (p & 0x3f, (p >> 6) & 1),
                    "{v:#x}"
                );
                assert_eq!(c.debug.kind() as u32, (p >> 8) & 0xf, "{v:#x}");
                assert_eq!(c.iss, v as u32 & 0x1ff_ffff);
                match c.debug {
                    DebugEvent::Brk64 { comment } | DebugEvent::Bkpt32 { comment } => {
                        assert_eq!(p >> 16, comment as u32, "{v:#x}")
                    }
                    DebugEvent::Watchpoint { wpt, wnr, .. } => {
                        assert_eq!(
                            wpt.map(|n| n as u32),
                            ((p >> 15) & 1 == 1).then_some(p >> 16)
                        );
                        assert_eq!(wnr as u32, (p >> 12) & 1, "{v:#x}");
                    }
                    DebugEvent::SoftwareStep { ex, .. } => {
                        assert_eq!(ex as u32, (p >> 14) & 1, "{v:#x}")
                    }
                    _ => {}
                }
            }
        }
    }
    t
}

#[test]
fn classify_all_low_halves() {
    // Debug builds are ~50x slower: sample every 257th ISS value instead.
    let step: u64 = if RELEASE { 1 } else { 257 };
    if !RELEASE {
        println!(
            "debug build: classifying every {step}th value of the 2^32 low halves \
             (the full range runs under `cargo test --release`)"
        );
    }
    let per_ec = PER_EC_FULL.div_ceil(step);
    // Two threads (the CI machine has two cores), each a disjoint set of ECs.
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2u64)
            .map(|t| s.spawn(move || tally((0..64).filter(|e| e % 2 == t), step)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all = Tally::default();
    for t in &tallies {
        for i in 0..64 {
            all.ec_hist[i] += t.ec_hist[i];
        }
        for i in 0..16 {
            all.kind_hist[i] += t.kind_hist[i];
        }
        all.brk_comment_sum += t.brk_comment_sum;
        all.wpt_valid += t.wpt_valid;
        all.wnr_set += t.wnr_set;
    }
    let Tally {
        ec_hist,
        kind_hist,
        brk_comment_sum,
        wpt_valid,
        wnr_set,
    } = all;
    for (e, &n) in ec_hist.iter().enumerate() {
        assert_eq!(n, per_ec, "EC {e:#x} count");
    }
    let kinds = [
        (KIND_BRK64, 1),
        (KIND_BKPT32, 1),
        (KIND_HW_BREAKPOINT, 2),
        (KIND_SOFTWARE_STEP, 2),
        (KIND_WATCHPOINT, 2),
        (KIND_VECTOR_CATCH, 1),
        (KIND_NONE, 64 - 9),
    ];
    for (k, ecs) in kinds {
        assert_eq!(kind_hist[k as usize], ecs * per_ec, "debug kind {k}");
    }
    if RELEASE {
        // Every comment value appears 2^10 times (IL and ISS[24:16] vary).
        assert_eq!(brk_comment_sum, (1 << 10) * (0xffff * 0x10000 / 2));
        // WPTV (ISS[17]) is set in half of the two watchpoint classes.
        assert_eq!(wpt_valid, PER_EC_FULL);
        // WnR counted for data aborts and watchpoints only, half of each.
        assert_eq!(wnr_set, 4 * PER_EC_FULL / 2);
    } else {
        assert!(brk_comment_sum > 0 && wpt_valid > 0 && wnr_set > 0);
    }
}

/// xorshift64* (Vigna), seeded: no new dependencies.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Children lie inside the parent, most significant first, without overlap;
/// every value agrees with `extract`.
fn check_node(f: &Field, esr: u64) {
    assert!(f.lo <= f.hi && f.hi < 64, "{} [{}:{}]", f.name, f.hi, f.lo);
    assert_eq!(f.value, extract(esr, f.hi, f.lo), "{} of {esr:#x}", f.name);
    let mut next_hi = f.hi as i32;
    for c in &f.fields {
        assert!(
            (c.hi as i32) <= next_hi && c.lo >= f.lo,
            "{} [{}:{}] overlaps or leaves {} in {esr:#x}",
            c.name,
            c.hi,
            c.lo,
            f.name
        );
        next_hi = c.lo as i32 - 1;
        check_node(c, esr);
    }
}

/// The children of `f`, when present, cover every bit of it exactly.
fn covers(f: &Field) -> bool {
    let bits: u32 = f.fields.iter().map(|c| (c.hi - c.lo + 1) as u32).sum();
    f.fields.is_empty() || bits == (f.hi - f.lo + 1) as u32
}

fn check_json(j: &Value, f: &Field) {
    assert_eq!(j["name"], f.name.as_ref());
    assert_eq!(j["hi"], f.hi);
    assert_eq!(j["lo"], f.lo);
    assert_eq!(j["value"], format!("{:#x}", f.value));
    match &f.meaning {
        Some(m) => assert_eq!(j["meaning"], m.as_ref()),
        None => assert!(j["meaning"].is_null()),
    }
    let kids = j["fields"].as_array().expect("fields is an array");
    assert_eq!(kids.len(), f.fields.len());
    for (jk, fk) in kids.iter().zip(&f.fields) {
        check_json(jk, fk);
    }
}

#[test]
fn random_values_decode_totally() {
    let n = if RELEASE { 1_000_000 } else { 100_000 };
    if !RELEASE {
        println!("debug build: {n} random values (1,000,000 under --release)");
    }
    let mut rng = Rng(0x6b76_6d2d_6465_6275); // "kvm-debu"
    let mut unallocated = 0u32;
    for i in 0..n {
        let r = rng.next();
        // A third fully random, a third 32-bit, a third with ISS2 but RES0 clear.
        let v = match i % 3 {
            0 => r,
            1 => r & 0xffff_ffff,
            _ => r & 0x00ff_ffff_ffff_ffff,
        };
        let t = decode(v);
        assert_eq!((t.hi, t.lo, t.value), (63, 0, v));
        check_node(&t, v);
        let names: Vec<&str> = t.fields.iter().map(|f| f.name.as_ref()).collect();
        assert_eq!(names, ["RES0", "ISS2", "EC", "IL", "ISS"], "{v:#x}");
        assert!(covers(&t), "{v:#x}");
        for f in &t.fields {
            assert!(covers(f), "{} of {v:#x}", f.name);
        }
        if t.fields[2].meaning.as_deref() == Some("Unallocated EC") {
            unallocated += 1;
        }
        let s = summary(v);
        assert!(
            s.starts_with(&format!("EC {:#04x} ", extract(v, 31, 26))),
            "{s}"
        );
        assert_eq!(
            s.ends_with("(RES0 violated)"),
            v >> 56 != 0 || { decode::esr::violates_res0(&t) }
        );
        if i % 10 == 0 {
            let j: Value = serde_json::from_str(&t.to_json()).expect("JSON parses");
            check_json(&j, &t);
            assert!(!t.to_text().is_empty());
        }
    }
    // 16 of 64 ECs are unallocated: a uniform sample lands there about 25%.
    let frac = unallocated as f64 / n as f64;
    assert!((0.22..0.32).contains(&frac), "unallocated fraction {frac}");
}
