//! The plain Rust loop: the baseline the native addon, the wasm build and the
//! TS baseline are compared against (bench/bench.ts runs this binary).
//!
//! It builds the SAME inputs as bench/inputs.ts (splitmix64, same seeds, same
//! mix), times each workload and prints ns/op. Every result is checked inside
//! the timed loop against an expected value computed once; a mismatch exits
//! non-zero. `--json` prints one JSON object instead of text.

use std::hint::black_box;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use decode::esr::ec;
use decode::{classify, classify_batch, decode as decode_tree, render_many, Rendering};

/// The syndromes observed on real KVM/arm64 (../shared/lab/arm64-kvm results):
/// BRK #0, BRK #0x123, software step (lower EL), and two hardware breakpoints.
const KVM_SYNDROMES: [u64; 5] = [
    0xf200_0000,
    0xf200_0123,
    0xcb00_0022,
    0xca00_0022,
    0xc200_0022,
];

/// Common exception classes of the "realistic" third of the random mix.
const COMMON_ECS: [u8; 8] = [
    ec::DABT_LOW,
    ec::IABT_LOW,
    ec::HVC64,
    ec::SYS64,
    ec::WATCHPT_LOW,
    ec::SOFTSTP_LOW,
    ec::SVC64,
    ec::SERROR,
];

/// Seed of the single-decode ring ("kvm-debg" in ASCII).
const SEED_RING: u64 = 0x6b76_6d2d_6465_6267;
/// Seed of the batch array.
const SEED_BATCH: u64 = SEED_RING ^ 1;
/// Values in the single-decode ring (a power of two: index with a mask).
const RING: usize = 1024;
/// Values in the batch workload.
const BATCH: usize = 1_000_000;
/// ESR_ELx.EC position (Arm ARM D24.2.40: EC is bits 31:26).
const EC_SHIFT: u32 = 26;
/// ESR_ELx bits 25:0: IL and ISS.
const IL_ISS_MASK: u64 = 0x3ff_ffff;
/// Batch results checked per call (positions rotate between calls).
const BATCH_CHECKS: usize = 257;
/// Stride between checked batch positions (odd, so positions spread out).
const BATCH_CHECK_STRIDE: usize = 3_889;

/// splitmix64 (Steele, Lea, Flood 2014); bench/inputs.ts has the same one.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// `n` values: 3/8 real KVM syndromes, 3/8 common classes with random IL and
/// ISS (ISS2 zero), 2/8 fully random 64-bit values (RES0 violations included).
fn gen_values(seed: u64, n: usize) -> Vec<u64> {
    let mut rng = SplitMix64(seed);
    (0..n)
        .map(|_| {
            let r = rng.next();
            match r >> 61 {
                0..=2 => KVM_SYNDROMES[((r >> 32) % 5) as usize],
                3..=5 => {
                    let e = COMMON_ECS[((r >> 40) % 8) as usize];
                    (u64::from(e) << EC_SHIFT) | (r & IL_ISS_MASK)
                }
                _ => rng.next(),
            }
        })
        .collect()
}

/// The single-decode ring: the five KVM syndromes, then the seeded mix.
fn ring_values() -> Vec<u64> {
    let mut v = KVM_SYNDROMES.to_vec();
    v.extend(gen_values(SEED_RING, RING - KVM_SYNDROMES.len()));
    v
}

/// Wrapping sum of the values: printed so the JS side can prove it used the same inputs.
fn checksum(v: &[u64]) -> u64 {
    v.iter().fold(0u64, |a, &x| a.wrapping_add(x))
}

/// A result that differs from the one computed before timing.
#[derive(Debug)]
struct Mismatch {
    workload: &'static str,
    value: u64,
}

/// Runs `op` (which performs `ops_per_call` operations) in rounds of about
/// `round` and returns the median round's ns per operation.
fn time_ns<F: FnMut() -> Result<(), Mismatch>>(
    ops_per_call: usize,
    round: Duration,
    rounds: usize,
    mut op: F,
) -> Result<f64, Mismatch> {
    // Warm up and size a round.
    let t = Instant::now();
    let mut calls = 0u64;
    while t.elapsed() < round / 4 {
        op()?;
        calls += 1;
    }
    let per_call = t.elapsed().as_secs_f64() / calls as f64;
    let calls_per_round = ((round.as_secs_f64() / per_call) as u64).max(1);
    let mut results = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..calls_per_round {
            op()?;
        }
        let ns = t.elapsed().as_nanos() as f64;
        results.push(ns / (calls_per_round as f64 * ops_per_call as f64));
    }
    results.sort_by(f64::total_cmp);
    Ok(results[rounds / 2])
}

/// One measured workload.
struct Row {
    key: &'static str,
    what: &'static str,
    ns_per_op: f64,
}

fn run(round: Duration, rounds: usize) -> Result<(Vec<Row>, u64, u64), Mismatch> {
    let ring = ring_values();
    let batch = gen_values(SEED_BATCH, BATCH);
    // Expected values, computed once before timing.
    let exp_pack: Vec<u32> = ring.iter().map(|&v| classify(v).pack()).collect();
    let exp_children: Vec<usize> = ring.iter().map(|&v| decode_tree(v).fields.len()).collect();
    let exp_json_len: Vec<usize> = ring
        .iter()
        .map(|&v| decode_tree(v).to_json().len())
        .collect();
    let mut exp_batch = vec![0u32; BATCH];
    for (o, &v) in exp_batch.iter_mut().zip(&batch) {
        *o = classify(v).pack();
    }

    let mut rows = Vec::new();
    let mut i = 0usize;
    let ns = time_ns(1, round, rounds, || {
        i = (i + 1) & (RING - 1);
        let v = black_box(ring[i]);
        let c = classify(v);
        if black_box(c).pack() != exp_pack[i] {
            return Err(Mismatch {
                workload: "classify",
                value: v,
            });
        }
        Ok(())
    })?;
    rows.push(Row {
        key: "classify",
        what: "fast structured classification: classify(v) -> Classification",
        ns_per_op: ns,
    });

    let ns = time_ns(1, round, rounds, || {
        i = (i + 1) & (RING - 1);
        let v = black_box(ring[i]);
        let t = decode_tree(v);
        if t.value != v || t.fields.len() != exp_children[i] {
            return Err(Mismatch {
                workload: "tree",
                value: v,
            });
        }
        Ok(())
    })?;
    rows.push(Row {
        key: "tree",
        what: "full field tree: decode(v) -> Field",
        ns_per_op: ns,
    });

    let ns = time_ns(1, round, rounds, || {
        i = (i + 1) & (RING - 1);
        let v = black_box(ring[i]);
        let j = decode_tree(v).to_json();
        if j.len() != exp_json_len[i] {
            return Err(Mismatch {
                workload: "treeJson",
                value: v,
            });
        }
        Ok(())
    })?;
    rows.push(Row {
        key: "treeJson",
        what: "full field tree as JSON: decode(v).to_json()",
        ns_per_op: ns,
    });

    let exp_render_len = render_many(&ring, Rendering::Text, false).len();
    let ns = time_ns(RING, round, rounds, || {
        let text = render_many(black_box(&ring), Rendering::Text, false);
        if text.len() != exp_render_len {
            return Err(Mismatch {
                workload: "render",
                value: ring[0],
            });
        }
        Ok(())
    })?;
    rows.push(Row {
        key: "render",
        what: "kvm-debug decode's text output: render_many over the ring (ns per value)",
        ns_per_op: ns,
    });

    let mut out = vec![0u32; BATCH];
    let mut start = 0usize;
    let ns = time_ns(BATCH, round, rounds, || {
        classify_batch(black_box(&batch), &mut out);
        start = (start + 1) % BATCH;
        for k in 0..BATCH_CHECKS {
            let p = (start + k * BATCH_CHECK_STRIDE) % BATCH;
            if out[p] != exp_batch[p] {
                return Err(Mismatch {
                    workload: "batch",
                    value: batch[p],
                });
            }
        }
        Ok(())
    })?;
    if out != exp_batch {
        return Err(Mismatch {
            workload: "batch (full check)",
            value: 0,
        });
    }
    rows.push(Row {
        key: "batch",
        what: "classify_batch over 1,000,000 u64 -> packed u32 (ns per value)",
        ns_per_op: ns,
    });
    Ok((rows, checksum(&ring), checksum(&batch)))
}

fn main() -> ExitCode {
    let json = std::env::args().any(|a| a == "--json");
    let quick = std::env::args().any(|a| a == "--quick");
    let (round, rounds) = if quick {
        (Duration::from_millis(50), 3)
    } else {
        (Duration::from_millis(250), 5)
    };
    let (rows, ring_sum, batch_sum) = match run(round, rounds) {
        Ok(r) => r,
        Err(m) => {
            eprintln!(
                "rust bench: wrong result in {} for {:#x}",
                m.workload, m.value
            );
            return ExitCode::FAILURE;
        }
    };
    if json {
        let body: Vec<String> = rows
            .iter()
            .map(|r| format!("\"{}\":{:.3}", r.key, r.ns_per_op))
            .collect();
        println!(
            "{{\"ringChecksum\":\"{ring_sum:#x}\",\"batchChecksum\":\"{batch_sum:#x}\",\"nsPerOp\":{{{}}}}}",
            body.join(",")
        );
    } else {
        println!("inputs: ring checksum {ring_sum:#x}, batch checksum {batch_sum:#x}");
        for r in &rows {
            println!("{:>10.2} ns/op  {} ({})", r.ns_per_op, r.key, r.what);
        }
    }
    ExitCode::SUCCESS
}
