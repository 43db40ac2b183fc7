//! arm64 integration tests on real KVM. Each test builds a fresh VM; on a
//! host that is not aarch64 or has no usable /dev/kvm it prints why it skips
//! (the emulated arm64 lane runs them against the guest kernel's KVM).
//!
//! On other hosts they are `ignore`d (reported as such, never as passed);
//! on aarch64 without /dev/kvm they print SKIP with the reason, or fail when
//! KVM_DEBUG_REQUIRE_KVM=1 (the lane sets it, so a lost /dev/kvm is a failure).
//!
//! Guests are short instruction sequences from `common::a64` (encoders with
//! Arm ARM references) so nothing is assembled at build time.

mod common;

use common::a64::*;
use common::*;
use kvm_debug::arch::aarch64::{PSTATE_F, PSTATE_I};
use kvm_debug::{DebugCause, RunOptions, SystemEventKind, VmExit, WatchKind, Watchpoint};

fn debug(e: VmExit) -> kvm_debug::DebugExit {
    match e {
        VmExit::Debug(d) => d,
        other => panic!("wanted a debug exit, got {other:?}"),
    }
}

fn mmio(e: VmExit) -> (u64, bool, u64, u64) {
    match e {
        VmExit::Mmio {
            addr,
            is_write,
            data,
            pc,
            ..
        } => (addr, is_write, data, pc),
        other => panic!("wanted an MMIO exit, got {other:?}"),
    }
}

/// x1 = MMIO; x0 = 0; x2 = 2; loop: x0 += 1; x2 -= 1; b.ne loop; [x1] = x0; b .
fn twice_program(base: u64) -> (Vec<u32>, u64) {
    let p = vec![
        movz(1, (MMIO >> 16) as u32, 16),
        movz(0, 0, 0),
        movz(2, 2, 0),
        add(0, 0, 1), // loop (index 3)
        subs(2, 2, 1),
        b_ne(-2),
        str(0, 1, 0),
        b(0),
    ];
    (p, base + 3 * 4)
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn host_breakpoint_hit_step_over_hit_again_and_ram_restored() {
    let Some(vm) = vm_or_skip("host_breakpoint", 0) else {
        return;
    };
    let base = vm.ram_base();
    let (p, bp) = twice_program(base);
    load(&vm, base, &p);
    let image_len = p.len() * 4;
    let before = ram_hash(&vm, base, image_len);
    vm.insert_sw_breakpoint(bp).unwrap();
    assert_eq!(vm.sw_breakpoints(), vec![bp], "the BRK is recorded");
    assert_eq!(
        ram_hash(&vm, base, image_len),
        before,
        "the debugger's reads hide it"
    );
    for hit in 1..=2 {
        let d = debug(run(&vm));
        assert_eq!(
            (d.ec, d.pc, d.cause),
            (0x3c, bp, DebugCause::SwBreak),
            "hit {hit}"
        );
        assert_eq!(d.esr, 0xf200_0000, "BRK #0, IL=1");
        assert!(d.far.is_none());
        // Step over: remove, step, re-insert.
        vm.remove_sw_breakpoint(bp).unwrap();
        let s = debug(step(&vm));
        assert_eq!((s.ec, s.pc, s.cause), (0x32, bp + 4, DebugCause::Step));
        vm.insert_sw_breakpoint(bp).unwrap();
    }
    let (addr, w, data, _) = mmio(run(&vm));
    assert_eq!((addr, w, data), (MMIO, true, 2), "the loop ran twice");
    let rep = vm.detach().unwrap();
    assert_eq!(rep.removed, vec![bp]);
    assert_eq!(
        ram_hash(&vm, base, image_len),
        before,
        "RAM equals the image"
    );
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn debugger_reads_hide_our_brk_and_a_write_over_it_keeps_it() {
    let Some(vm) = vm_or_skip("brk_shadow", 10) else {
        return;
    };
    let base = vm.ram_base();
    let p = [
        movz(1, (MMIO >> 16) as u32, 16),
        movz(0, 1, 0),
        add(0, 0, 2), // index 2: our breakpoint
        str(0, 1, 0),
        b(0),
    ];
    load(&vm, base, &p);
    let bp = base + 8;
    let original = add(0, 0, 2).to_le_bytes();
    vm.insert_sw_breakpoint(bp).unwrap();
    // Reads through the debugger show the guest's instruction, by PA and by VA,
    // also when they cover only part of the BRK.
    assert_eq!(vm.read_phys(bp, 4).unwrap(), original);
    assert_eq!(vm.read_virt(0, bp, 4).unwrap(), original);
    assert_eq!(vm.read_phys(bp + 2, 2).unwrap(), original[2..4]);
    let whole = vm.read_phys(base, 20).unwrap();
    assert_eq!(whole, bytes(&p));
    // A write over our BRK replaces the guest's instruction under it; the BRK stays.
    let replaced = add(0, 0, 40);
    vm.write_virt(0, bp, &replaced.to_le_bytes()).unwrap();
    assert_eq!(vm.read_phys(bp, 4).unwrap(), replaced.to_le_bytes());
    let d = debug(run(&vm));
    assert_eq!((d.pc, d.cause), (bp, DebugCause::SwBreak), "still armed");
    vm.remove_sw_breakpoint(bp).unwrap();
    let (_, _, data, _) = mmio(run(&vm));
    assert_eq!(data, 41, "the written instruction ran after the remove");
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn guest_brk_is_reinjected_to_its_own_vector_and_continues() {
    let Some(vm) = vm_or_skip("guest_brk_reinjected", 1) else {
        return;
    };
    let base = vm.ram_base();
    // Vector table at base (2 KiB aligned): every entry branches to the handler at +0x800.
    for entry in 0..16u64 {
        let off = entry * 0x80;
        let delta = ((0x800 - off) / 4) as i32;
        vm.load_image(base + off, &bytes(&[b(delta)])).unwrap();
    }
    let record: u64 = base + 0x1000;
    // Handler: record ESR_EL1 and ELR_EL1 in RAM, return past the BRK.
    let (e1, e2, e3, e4) = ESR_EL1;
    let (l1, l2, l3, l4) = ELR_EL1;
    let handler = [
        movz(9, (record >> 16) as u32, 16),
        movk(9, (record & 0xffff) as u32, 0),
        mrs(10, e1, e2, e3, e4),
        str(10, 9, 0),
        mrs(10, l1, l2, l3, l4),
        str(10, 9, 8),
        add(10, 10, 4),
        msr(l1, l2, l3, l4, 10),
        ERET,
    ];
    vm.load_image(base + 0x800, &bytes(&handler)).unwrap();
    let main_at: u64 = base + 0x900;
    let main = [
        movz(1, (MMIO >> 16) as u32, 16),
        movz(0, 5, 0),
        brk(0x123), // main_at + 8
        add(0, 0, 1),
        str(0, 1, 0),
        b(0),
        NOP, // main_at + 24: where our (never reached) breakpoint sits
    ];
    load(&vm, main_at, &main);
    vm.set_reg(0, "vbar_el1", base as u128).unwrap();
    // One breakpoint of ours anywhere turns on USE_SW_BP: every guest BRK now traps to us.
    vm.insert_sw_breakpoint(main_at + 24).unwrap();
    let (addr, _, data, _) = mmio(run(&vm));
    assert_eq!((addr, data), (MMIO, 6), "the guest continued past its BRK");
    let rec = vm.read_phys(record, 16).unwrap();
    let esr = u64::from_le_bytes(rec[0..8].try_into().unwrap());
    let elr = u64::from_le_bytes(rec[8..16].try_into().unwrap());
    assert_eq!(esr, 0xf200_0123, "the guest's vector saw ESR_EL1");
    assert_eq!(elr, main_at + 8, "ELR_EL1 = the BRK");
    assert_eq!(vm.reinjections(0).unwrap(), 1);

    // Again, reported: the run ends at the guest's vector with what was delivered.
    vm.reset_vcpu(0, main_at).unwrap();
    vm.set_reg(0, "vbar_el1", base as u128).unwrap();
    match vm
        .run(
            0,
            RunOptions {
                report_reinjections: true,
                ..Default::default()
            },
        )
        .unwrap()
    {
        VmExit::Reinjected(r) => {
            assert_eq!(
                (r.esr, r.elr, r.vector),
                (0xf200_0123, main_at + 8, base + 0x200)
            );
        }
        other => panic!("wanted a reinjection report, got {other:?}"),
    }
    assert_eq!(vm.get_reg(0, "pc").unwrap(), (base + 0x200) as u128);
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn single_step_one_exit_per_instruction_with_irqs_masked_and_restored() {
    let Some(vm) = vm_or_skip("single_step", 2) else {
        return;
    };
    let base = vm.ram_base();
    let p = [
        movz(1, (MMIO >> 16) as u32, 16),
        movz(0, 1, 0),
        add(0, 0, 2),
        str(0, 1, 0), // index 3: MMIO store
        add(0, 0, 4),
        b(0),
    ];
    load(&vm, base, &p);
    // EL1h with I and F clear: the step must mask them and give them back.
    vm.set_reg(0, "pstate", 0b0101 | (1 << 9) | (1 << 8))
        .unwrap();
    for i in 1..=3u64 {
        let d = debug(step(&vm));
        assert_eq!((d.ec, d.pc), (0x32, base + 4 * i), "step {i}");
        let ps = vm.get_reg(0, "pstate").unwrap() as u64;
        assert_eq!(
            ps & (PSTATE_I | PSTATE_F),
            0,
            "guest I/F restored after step {i}"
        );
    }
    let (addr, w, data, pc) = mmio(step(&vm));
    assert_eq!(
        (addr, w, data, pc),
        (MMIO, true, 3, base + 12),
        "the store's MMIO exit"
    );
    let d = debug(step(&vm));
    assert_eq!(
        (d.ec, d.pc),
        (0x32, base + 16),
        "then the store's step exit"
    );
    let d = debug(step(&vm));
    assert_eq!(d.pc, base + 20);
    assert_eq!(vm.get_reg(0, "x0").unwrap(), 7);
    let ps = vm.get_reg(0, "pstate").unwrap() as u64;
    assert_eq!(ps & (PSTATE_I | PSTATE_F), 0);
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn hardware_breakpoint_fires_and_the_guest_gets_past_it() {
    let Some(vm) = vm_or_skip("hw_breakpoint", 3) else {
        return;
    };
    let base = vm.ram_base();
    let caps = vm.capabilities().clone();
    let p = [
        movz(1, (MMIO >> 16) as u32, 16),
        movz(0, 1, 0),
        add(0, 0, 2), // index 2: HW breakpoint
        add(0, 0, 4),
        str(0, 1, 0),
        b(0),
    ];
    load(&vm, base, &p);
    let at = base + 8;
    // Every slot but one elsewhere, then ours: one more is refused with the count.
    for i in 1..caps.hw_breakpoints as u64 {
        vm.insert_hw_breakpoint(base + 0x100 + 4 * i).unwrap();
    }
    vm.insert_hw_breakpoint(at).unwrap();
    let e = vm.insert_hw_breakpoint(base + 0x100).unwrap_err();
    assert_eq!(e.code(), "ERR_HW_SLOTS");
    assert!(e.to_string().contains(&format!(
        "all {} hardware breakpoint slots",
        caps.hw_breakpoints
    )));
    assert_eq!(vm.hw_breakpoints().len(), caps.hw_breakpoints as usize);
    let d = debug(run(&vm));
    assert_eq!((d.ec, d.pc, d.cause), (0x30, at, DebugCause::HwBreak));
    // Past it: step with the breakpoint off, then re-arm and continue.
    vm.remove_hw_breakpoint(at).unwrap();
    assert_eq!(debug(step(&vm)).pc, at + 4);
    vm.insert_hw_breakpoint(at).unwrap();
    let (_, _, data, _) = mmio(run(&vm));
    assert_eq!(data, 7);
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn watchpoints_on_write_and_read_report_far() {
    let Some(vm) = vm_or_skip("watchpoints", 4) else {
        return;
    };
    let base = vm.ram_base();
    let data_gpa: u64 = base + 0x1000;
    let p = [
        movz(1, (MMIO >> 16) as u32, 16),
        movz(3, (data_gpa >> 16) as u32, 16),
        movk(3, (data_gpa & 0xffff) as u32, 0),
        movz(0, 0x55, 0),
        str(0, 3, 0), // index 4: write data_gpa
        ldr(4, 3, 8), // index 5: read data_gpa+8
        str(4, 1, 0),
        b(0),
    ];
    load(&vm, base, &p);
    vm.write_phys(data_gpa + 8, &0x77u64.to_le_bytes()).unwrap();
    let watch = |addr, kind| Watchpoint { addr, len: 8, kind };
    vm.insert_watchpoint(watch(data_gpa, WatchKind::Store))
        .unwrap();
    let d = debug(run(&vm));
    assert_eq!(
        (d.ec, d.pc, d.far),
        (0x34, base + 16, Some(data_gpa)),
        "write"
    );
    assert_eq!(d.cause, DebugCause::Watch);
    assert_eq!(d.watch, Some(watch(data_gpa, WatchKind::Store)));
    // Step the store with the watchpoint off, then watch the load.
    vm.remove_watchpoint(watch(data_gpa, WatchKind::Store))
        .unwrap();
    assert_eq!(debug(step(&vm)).pc, base + 20);
    vm.insert_watchpoint(watch(data_gpa + 8, WatchKind::Load))
        .unwrap();
    let d = debug(run(&vm));
    assert_eq!(
        (d.ec, d.pc, d.far),
        (0x34, base + 20, Some(data_gpa + 8)),
        "read"
    );
    assert_eq!(d.watch.map(|w| w.kind), Some(WatchKind::Load));
    vm.remove_watchpoint(watch(data_gpa + 8, WatchKind::Load))
        .unwrap();
    debug(step(&vm));
    assert_eq!(mmio(run(&vm)).2, 0x77);
    assert_eq!(vm.read_phys(data_gpa, 8).unwrap(), 0x55u64.to_le_bytes());
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn mmu_on_with_test_built_tables_breakpoint_by_va() {
    let Some(vm) = vm_or_skip("mmu_on", 5) else {
        return;
    };
    let base = vm.ram_base();
    // 4K granule, T0SZ = 25 (39-bit VAs): the walk starts at level 1, 1 GiB blocks.
    let table: u64 = base + 0x10_0000;
    const GIB: u64 = 1 << 30;
    assert!(base >= GIB && base + vm.ram_size() <= 2 * GIB);
    let alias = base + GIB; // VA alias of RAM
    const BLOCK: u64 = 0b01; // level-1 block descriptor (Arm ARM D8.3.1)
    const AF: u64 = 1 << 10;
    const SH_INNER: u64 = 3 << 8;
    const ATTR_NORMAL: u64 = 0 << 2; // MAIR attr0
    const ATTR_DEVICE: u64 = 1 << 2; // MAIR attr1
    let l1 = [
        BLOCK | AF | ATTR_DEVICE,                   // VA 0..1G -> PA 0 (MMIO)
        base | BLOCK | AF | SH_INNER | ATTR_NORMAL, // VA 1G..2G -> RAM (identity)
        base | BLOCK | AF | SH_INNER | ATTR_NORMAL, // VA 2G..3G -> RAM (alias)
    ];
    let t: Vec<u8> = l1.iter().flat_map(|d| d.to_le_bytes()).collect();
    vm.write_phys(table, &t).unwrap();
    let p = [
        movz(1, (MMIO >> 16) as u32, 16),
        movz(0, 7, 0),
        add(0, 0, 1), // index 2: breakpoint by VA
        str(0, 1, 0),
        b(0),
    ];
    vm.load_image(base, &bytes(&p)).unwrap();
    vm.reset_vcpu(0, alias).unwrap();
    // MAIR: attr0 = 0xff (normal WB), attr1 = 0x00 (Device-nGnRnE).
    vm.set_reg(0, "mair_el1", 0x00ff).unwrap();
    // TCR: T0SZ=25, IRGN0=ORGN0=WB (1), SH0=inner (3), TG0=4K (0), EPD1=1, IPS=36 bits (1).
    let tcr: u64 = 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1 << 23) | (1 << 32);
    vm.set_reg(0, "tcr_el1", tcr as u128).unwrap();
    vm.set_reg(0, "ttbr0_el1", table as u128).unwrap();
    let sctlr = vm.get_reg(0, "sctlr_el1").unwrap() | 1; // M
    vm.set_reg(0, "sctlr_el1", sctlr).unwrap();
    let va = alias + 8;
    let t = vm.translate(0, va).unwrap();
    assert_eq!((t.pa, t.level, t.mmu_on), (base + 8, Some(1), true));
    let before = ram_hash(&vm, base, p.len() * 4);
    vm.insert_sw_breakpoint(t.pa).unwrap();
    let d = debug(run(&vm));
    assert_eq!((d.ec, d.pc, d.cause), (0x3c, va, DebugCause::SwBreak));
    // Through the alias VA the debugger sees the guest's instruction, not our BRK.
    assert_eq!(vm.read_virt(0, va, 4).unwrap(), p[2].to_le_bytes());
    vm.remove_all_sw_breakpoints();
    // Nothing recorded any more, so this read is raw RAM: a BRK left behind would show.
    assert!(vm.sw_breakpoints().is_empty());
    assert_eq!(ram_hash(&vm, base, p.len() * 4), before);
    assert_eq!(mmio(run(&vm)).2, 8);
    let e = vm.translate(0, 0x40_0000_0000 - 0x1000).unwrap_err();
    assert_eq!(e.code(), "ERR_TRANSLATION");
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn pending_mmio_is_completed_before_a_register_change() {
    let Some(vm) = vm_or_skip("pending_mmio", 6) else {
        return;
    };
    let base = vm.ram_base();
    let p = [
        movz(1, (MMIO >> 16) as u32, 16),
        str(0, 1, 0),
        b(0),
        movz(0, 0xa1, 0), // index 3: alt target
        str(0, 1, 8),
        b(0),
    ];
    load(&vm, base, &p);
    assert_eq!(mmio(run(&vm)).0, MMIO);
    // Without the rule KVM would complete the store after this and skip the movz.
    vm.set_reg(0, "pc", (base + 12) as u128).unwrap();
    let (addr, _, data, pc) = mmio(run(&vm));
    assert_eq!((addr, data, pc), (MMIO + 8, 0xa1, base + 16));
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn psci_system_off_is_a_shutdown_event() {
    let Some(vm) = vm_or_skip("psci_off", 7) else {
        return;
    };
    let base = vm.ram_base();
    let [a, bb] = mov32(0, 0x8400_0008); // PSCI SYSTEM_OFF (Arm DEN0022 5.1.9)
    load(&vm, base, &[a, bb, HVC0, b(0)]);
    match run(&vm) {
        VmExit::SystemEvent { kind, .. } => assert_eq!(kind, SystemEventKind::Shutdown),
        other => panic!("wanted a shutdown event, got {other:?}"),
    }
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn stop_interrupts_a_running_vcpu_and_access_while_running_is_refused() {
    let Some(vm) = vm_or_skip("stop", 8) else {
        return;
    };
    let base = vm.ram_base();
    load(&vm, base, &[b(0)]);
    let (tx, rx) = std::sync::mpsc::channel();
    vm.run_async(
        0,
        RunOptions::default(),
        Box::new(move |r| tx.send(r).unwrap()),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(vm.get_reg(0, "pc").unwrap_err().code(), "ERR_VCPU_RUNNING");
    assert_eq!(
        vm.write_phys(base, &[0; 4]).unwrap_err().code(),
        "ERR_VCPU_RUNNING"
    );
    assert_eq!(
        vm.read_phys(base, 4).unwrap(),
        b(0).to_le_bytes(),
        "reads are allowed"
    );
    assert_eq!(
        vm.run(0, RunOptions::default()).unwrap_err().code(),
        "ERR_VCPU_RUNNING"
    );
    vm.stop(0).unwrap();
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("stop ended the run")
        .unwrap();
    assert_eq!(r, VmExit::Interrupted);
    assert_eq!(vm.get_reg(0, "pc").unwrap(), base as u128);
    // A stop with nothing running is a no-op: the next run still runs.
    vm.stop(0).unwrap();
    vm.load_image(
        base,
        &bytes(&[movz(1, (MMIO >> 16) as u32, 16), str(0, 1, 0)]),
    )
    .unwrap();
    assert_eq!(mmio(run(&vm)).0, MMIO);
}

#[test]
#[cfg_attr(
    not(target_arch = "aarch64"),
    ignore = "needs arm64 KVM (the arm64 lane runs it)"
)]
fn registers_by_name_round_trip() {
    let Some(vm) = vm_or_skip("registers", 9) else {
        return;
    };
    let base = vm.ram_base();
    load(&vm, base, &[b(0)]);
    assert_eq!(vm.get_reg(0, "pstate").unwrap(), 0x3c5, "EL1h, DAIF masked");
    assert_eq!(vm.get_reg(0, "sctlr_el1").unwrap() & 1, 0, "MMU off");
    vm.set_reg(0, "v7", u128::MAX - 5).unwrap();
    assert_eq!(vm.get_reg(0, "V7").unwrap(), u128::MAX - 5);
    vm.set_reg(0, "fpcr", 0x0300_0000).unwrap();
    assert_eq!(vm.get_reg(0, "fpcr").unwrap(), 0x0300_0000);
    assert_eq!(
        vm.set_reg(0, "fpsr", 1 << 40).unwrap_err().code(),
        "ERR_BAD_ARGUMENT"
    );
    vm.set_reg(0, "sp", 0x4010_0000).unwrap();
    assert_eq!(
        vm.get_reg(0, "sp_el1").unwrap(),
        0x4010_0000,
        "sp is SP_EL1 in EL1h"
    );
    for name in kvm_debug::arch::aarch64::reg_names() {
        vm.get_reg(0, &name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(
        vm.get_reg(0, "x31").unwrap_err().code(),
        "ERR_UNKNOWN_REGISTER"
    );
    assert_eq!(vm.get_reg(1, "pc").unwrap_err().code(), "ERR_BAD_VCPU");
    assert_eq!(
        vm.write_phys(base + (2 << 20) - 2, &[0; 4])
            .unwrap_err()
            .code(),
        "ERR_OUTSIDE_RAM"
    );
}
