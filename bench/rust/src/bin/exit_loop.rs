//! In-lane run-loop bench (arm64 KVM): the cost per exit handled by
//! kvm-debug's run loop against raw kvm-ioctls loops, on the same VM and vCPU,
//! 2,000 single-step exits each. Loops:
//! - raw: KVM_RUN only (the baseline);
//! - floor: KVM_RUN + one KVM_GET_ONE_REG(PC) per exit. arm64's debug exit
//!   (`kvm_debug_exit_arch`: hsr, hsr_high, far) carries no PC, so this is the
//!   least any loop that reports the stop PC can do;
//! - ours: `Vm::run`.
//!
//! It also times KVM_GET_ONE_REG(PC) alone and `decode::summary` (one per
//! exit of ours) alone. Prints ns/exit, ours/raw (target
//! <= 1.25x) and ours/floor. Every exit is checked inside the loop (EC 0x32,
//! and where the PC is read, the PC at the add or the b); a wrong exit fails.
//!
//! The guest is `loop: add x0, x0, #1; b loop` with DAIF masked (entry state),
//! so after the first step our loop's per-step work is: the debug-control
//! check, the next instruction from the known PC (no ioctl: I/F known masked),
//! KVM_RUN, one PC read, the syndrome classification and summary.
//! `--json` prints one JSON object. Elsewhere than aarch64 with /dev/kvm it
//! prints why it skips and exits 0.

#![cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]

use std::process::ExitCode;

/// Single-step exits per loop.
const EXITS: u32 = 2_000;
/// Timed rounds per loop (EXITS / ROUNDS exits each).
const ROUNDS: u32 = 8;
/// Warm-up exits before each timed loop.
const WARMUP: u32 = 50;
/// ESR.EC of a software step from a lower EL (Arm ARM D24.2.40), from the decoder's table.
const EC_STEP_LOWER: u32 = decode::esr::ec::SOFTSTP_LOW as u32;
/// `add x0, x0, #1` (Arm ARM C6.2.4).
const ADD_X0_1: u32 = 0x9100_0400;
/// `b .-4` (Arm ARM C6.2.25: imm26 = -1).
const B_BACK_1: u32 = 0x17ff_ffff;
/// The target ratio from the issue.
const TARGET: f64 = 1.25;

/// ns per exit (or per read) of each loop.
struct Figures {
    /// `Vm::run`.
    ours: f64,
    /// KVM_RUN only.
    raw: f64,
    /// KVM_RUN + KVM_GET_ONE_REG(PC).
    floor: f64,
    /// KVM_GET_ONE_REG(PC) alone.
    get_reg: f64,
    /// `decode::summary` of the step syndrome alone (our loop builds one per exit).
    summary: f64,
}

fn main() -> ExitCode {
    let json = std::env::args().any(|a| a == "--json");
    match bench() {
        Ok(Some(f)) => {
            let ratio = f.ours / f.raw;
            let vs_floor = f.ours / f.floor;
            if json {
                println!(
                    "{{\"bench\":\"exit_loop\",\"exits\":{EXITS},\"ours_ns\":{:.0},\"raw_ns\":{:.0},\"floor_ns\":{:.0},\"get_one_reg_ns\":{:.0},\"summary_ns\":{:.0},\"ratio\":{ratio:.3},\"ratio_floor\":{vs_floor:.3},\"target\":{TARGET}}}",
                    f.ours, f.raw, f.floor, f.get_reg, f.summary
                );
            } else {
                println!("exit_loop: {EXITS} single-step exits each, same VM");
                println!("  raw KVM_RUN loop             : {:>10.0} ns/exit", f.raw);
                println!(
                    "  raw KVM_RUN + GET_ONE_REG(PC): {:>10.0} ns/exit (floor)",
                    f.floor
                );
                println!("  kvm-debug run loop           : {:>10.0} ns/exit", f.ours);
                println!("  one KVM_GET_ONE_REG(PC) alone: {:>10.0} ns", f.get_reg);
                println!("  one decode::summary alone    : {:>10.0} ns", f.summary);
                println!(
                    "  ratio ours/raw               : {ratio:>10.3}x (target <= {TARGET}x) {}",
                    if ratio <= TARGET { "OK" } else { "OVER TARGET" }
                );
                println!("  ratio ours/floor             : {vs_floor:>10.3}x");
                println!(
                    "  ours - floor                 : {:>10.0} ns/exit (our bookkeeping)",
                    f.ours - f.floor
                );
            }
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("exit_loop: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "aarch64"))]
fn bench() -> Result<Option<Figures>, String> {
    println!(
        "exit_loop: SKIP: needs arm64 KVM, this host is {} (the arm64 lane runs it)",
        std::env::consts::ARCH
    );
    Ok(None)
}

#[cfg(target_arch = "aarch64")]
fn bench() -> Result<Option<Figures>, String> {
    use kvm_debug::arch::aarch64::REG_PC;
    use kvm_debug::{RunOptions, Vm, VmConfig, VmExit};
    use kvm_ioctls::VcpuExit;
    use std::time::Instant;

    let caps = kvm_debug::probe();
    if !caps.available {
        println!("exit_loop: SKIP: {}", caps.reason.unwrap_or_default());
        return Ok(None);
    }
    let vm = Vm::create(VmConfig {
        mem_size: 1 << 20,
        ..VmConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let base = vm.ram_base();
    let code: Vec<u8> = [ADD_X0_1, B_BACK_1]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    vm.load_image(base, &code).map_err(|e| e.to_string())?;
    vm.reset_vcpu(0, base).map_err(|e| e.to_string())?;
    let step = RunOptions {
        single_step: true,
        ..Default::default()
    };
    // One step of ours first: it gives KVM the SINGLESTEP control word, which the
    // raw loops below (KVM_RUN on the same vCPU fd) then run under too.
    vm.run(0, step).map_err(|e| e.to_string())?;

    let ours_loop = |n: u32| -> Result<f64, String> {
        let t = Instant::now();
        for i in 0..n {
            match vm.run(0, step).map_err(|e| e.to_string())? {
                VmExit::Debug(d)
                    if d.ec as u32 == EC_STEP_LOWER && (d.pc == base || d.pc == base + 4) => {}
                other => return Err(format!("our loop, exit {i}: unexpected {other:?}")),
            }
        }
        Ok(t.elapsed().as_nanos() as f64 / n as f64)
    };
    let raw_loop = |n: u32| -> Result<f64, String> {
        vm.with_raw_vcpu(0, |fd| {
            let t = Instant::now();
            for i in 0..n {
                match fd.run() {
                    Ok(VcpuExit::Debug(a)) if a.hsr >> 26 == EC_STEP_LOWER => {}
                    Ok(other) => return Err(format!("raw loop, exit {i}: unexpected {other:?}")),
                    Err(e) => return Err(format!("raw loop, exit {i}: KVM_RUN: {e}")),
                }
            }
            Ok(t.elapsed().as_nanos() as f64 / n as f64)
        })
        .map_err(|e| e.to_string())?
    };
    let floor_loop = |n: u32| -> Result<f64, String> {
        vm.with_raw_vcpu(0, |fd| {
            let mut b = [0u8; 8];
            let t = Instant::now();
            for i in 0..n {
                match fd.run() {
                    Ok(VcpuExit::Debug(a)) if a.hsr >> 26 == EC_STEP_LOWER => {}
                    Ok(other) => return Err(format!("floor loop, exit {i}: unexpected {other:?}")),
                    Err(e) => return Err(format!("floor loop, exit {i}: KVM_RUN: {e}")),
                }
                fd.get_one_reg(REG_PC, &mut b)
                    .map_err(|e| format!("floor loop, exit {i}: KVM_GET_ONE_REG(PC): {e}"))?;
                let pc = u64::from_le_bytes(b);
                if pc != base && pc != base + 4 {
                    return Err(format!("floor loop, exit {i}: PC {pc:#x} outside the loop"));
                }
            }
            Ok(t.elapsed().as_nanos() as f64 / n as f64)
        })
        .map_err(|e| e.to_string())?
    };
    // KVM_GET_ONE_REG(PC) alone, on the stopped vCPU: its vcpu_load/vcpu_put included.
    let get_reg_loop = |n: u32| -> Result<f64, String> {
        vm.with_raw_vcpu(0, |fd| {
            let mut b = [0u8; 8];
            let t = Instant::now();
            for i in 0..n {
                fd.get_one_reg(REG_PC, &mut b)
                    .map_err(|e| format!("get_one_reg loop, read {i}: {e}"))?;
                let pc = u64::from_le_bytes(b);
                if pc != base && pc != base + 4 {
                    return Err(format!(
                        "get_one_reg loop, read {i}: PC {pc:#x} outside the loop"
                    ));
                }
            }
            Ok(t.elapsed().as_nanos() as f64 / n as f64)
        })
        .map_err(|e| e.to_string())?
    };
    // decode::summary alone, on the syndrome of a real step exit.
    let step_esr = match vm.run(0, step).map_err(|e| e.to_string())? {
        VmExit::Debug(d) if d.ec as u32 == EC_STEP_LOWER => d.esr,
        other => return Err(format!("step for the summary loop: unexpected {other:?}")),
    };
    let prefix = format!("EC {EC_STEP_LOWER:#04x} ");
    let summary_loop = |n: u32| -> Result<f64, String> {
        let t = Instant::now();
        for i in 0..n {
            let s = decode::summary(std::hint::black_box(step_esr));
            if !s.starts_with(&prefix) {
                return Err(format!("summary {i}: {s:?} does not start with {prefix:?}"));
            }
        }
        Ok(t.elapsed().as_nanos() as f64 / n as f64)
    };
    ours_loop(WARMUP)?;
    raw_loop(WARMUP)?;
    floor_loop(WARMUP)?;
    get_reg_loop(WARMUP)?;
    // ROUNDS short rounds each, every other one in reverse order, so drift on the shared
    // machine (2 cores, other lanes) hits all loops alike; the sums make 2,000 per loop.
    let n = EXITS / ROUNDS;
    let (mut o, mut r, mut f, mut g) = (0.0, 0.0, 0.0, 0.0);
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            r += raw_loop(n)?;
            f += floor_loop(n)?;
            o += ours_loop(n)?;
            g += get_reg_loop(n)?;
        } else {
            g += get_reg_loop(n)?;
            o += ours_loop(n)?;
            f += floor_loop(n)?;
            r += raw_loop(n)?;
        }
    }
    let s1 = summary_loop(EXITS)?;
    let rounds = ROUNDS as f64;
    Ok(Some(Figures {
        ours: o / rounds,
        raw: r / rounds,
        floor: f / rounds,
        get_reg: g / rounds,
        summary: s1,
    }))
}
