//! In-lane run-loop bench (arm64 KVM): the cost per exit handled by
//! kvm-debug's run loop against a raw kvm-ioctls KVM_RUN loop, on the same VM
//! and vCPU, 2,000 single-step exits each. Prints ns/exit for both and the
//! ratio (target <= 1.25x). Every exit is checked inside the loop (EC 0x32 and,
//! for our loop, PC advancing by 4 then wrapping); a wrong exit fails the run.
//!
//! The guest is `loop: add x0, x0, #1; b loop` with DAIF masked (entry state),
//! so our loop's per-step work is: the debug-control check, one PSTATE read
//! (the IRQ-mask rule), KVM_RUN, one PC read, the syndrome classification.
//! `--json` prints one JSON object. Elsewhere than aarch64 with /dev/kvm it
//! prints why it skips and exits 0.

#![cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]

use std::process::ExitCode;

/// Single-step exits per loop.
const EXITS: u32 = 2_000;
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

fn main() -> ExitCode {
    let json = std::env::args().any(|a| a == "--json");
    match bench() {
        Ok(Some((ours, raw))) => {
            let ratio = ours / raw;
            if json {
                println!(
                    "{{\"bench\":\"exit_loop\",\"exits\":{EXITS},\"ours_ns\":{ours:.0},\"raw_ns\":{raw:.0},\"ratio\":{ratio:.3},\"target\":{TARGET}}}"
                );
            } else {
                println!("exit_loop: {EXITS} single-step exits each, same VM");
                println!("  raw kvm-ioctls KVM_RUN loop : {:>10.0} ns/exit", raw);
                println!("  kvm-debug run loop          : {:>10.0} ns/exit", ours);
                println!(
                    "  ratio ours/raw              : {ratio:>10.3}x (target <= {TARGET}x) {}",
                    if ratio <= TARGET { "OK" } else { "OVER TARGET" }
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
fn bench() -> Result<Option<(f64, f64)>, String> {
    println!(
        "exit_loop: SKIP: needs arm64 KVM, this host is {} (the arm64 lane runs it)",
        std::env::consts::ARCH
    );
    Ok(None)
}

#[cfg(target_arch = "aarch64")]
fn bench() -> Result<Option<(f64, f64)>, String> {
    use kvm_debug::{GuestDebug, RunOptions, Vm, VmConfig, VmExit};
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
    vm.set_guest_debug(
        0,
        GuestDebug {
            single_step: true,
            ..Default::default()
        },
    )
    .map_err(|e| e.to_string())?;

    let ours_loop = |n: u32| -> Result<f64, String> {
        let t = Instant::now();
        for i in 0..n {
            match vm
                .run(0, RunOptions::default())
                .map_err(|e| e.to_string())?
            {
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
    ours_loop(WARMUP)?;
    raw_loop(WARMUP)?;
    // Interleave two rounds each so drift on the shared machine hits both.
    let r1 = raw_loop(EXITS / 2)?;
    let o1 = ours_loop(EXITS / 2)?;
    let o2 = ours_loop(EXITS / 2)?;
    let r2 = raw_loop(EXITS / 2)?;
    Ok(Some(((o1 + o2) / 2.0, (r1 + r2) / 2.0)))
}
