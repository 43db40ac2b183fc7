//! Shared helpers of the arm64 integration tests: the skip rule and an A64
//! encoder for the small guests (each instruction from its Arm ARM encoding,
//! so a test reads as assembly and needs no cross assembler at build time).
#![allow(dead_code)]

use kvm_debug::{Vm, VmConfig, DEFAULT_RAM_BASE};

/// RAM base of every test VM (QEMU virt's).
pub const BASE: u64 = DEFAULT_RAM_BASE;
/// An MMIO address outside RAM (the guests/ README's test MMIO).
pub const MMIO: u64 = 0x0a00_0000;

/// A fresh 2 MiB VM, or None with a printed reason when this host cannot run it.
///
/// Each test passes its own `slot`: its RAM (and code) sits at BASE + slot * 4 MiB.
/// Distinct guest addresses per test keep QEMU TCG (the emulated arm64 lane)
/// from running a translation cached for an earlier VM's code at the same
/// guest PC, which we observed once VMs are created one after another.
pub fn vm_or_skip(test: &str, slot: u64) -> Option<Vm> {
    if !cfg!(target_arch = "aarch64") {
        println!(
            "SKIP {test}: needs arm64 KVM; this host is {} (the arm64 lane runs it)",
            std::env::consts::ARCH
        );
        return None;
    }
    let caps = kvm_debug::probe();
    if !caps.available {
        if std::env::var_os("KVM_DEBUG_REQUIRE_KVM").is_some_and(|v| v == "1") {
            panic!(
                "{test}: KVM_DEBUG_REQUIRE_KVM=1 but {}",
                caps.reason.unwrap_or_default()
            );
        }
        println!(
            "SKIP {test}: {} ({})",
            caps.reason.unwrap_or_default(),
            caps.code.unwrap_or("")
        );
        return None;
    }
    Some(
        Vm::create(VmConfig {
            mem_size: 2 << 20,
            vcpus: 1,
            ram_base: BASE + slot * (4 << 20),
            ..VmConfig::default()
        })
        .expect("Vm::create on real KVM"),
    )
}

/// X registers by number.
pub type X = u32;

/// A64 encoders (Arm ARM C6.2.x), 64-bit forms.
pub mod a64 {
    use super::X;
    /// MOVZ Xd, #imm16, LSL #shift (C6.2.226).
    pub fn movz(rd: X, imm16: u32, shift: u32) -> u32 {
        0xd280_0000 | ((shift / 16) << 21) | (imm16 << 5) | rd
    }
    /// MOVK Xd, #imm16, LSL #shift (C6.2.225).
    pub fn movk(rd: X, imm16: u32, shift: u32) -> u32 {
        0xf280_0000 | ((shift / 16) << 21) | (imm16 << 5) | rd
    }
    /// ADD Xd, Xn, #imm12 (C6.2.4).
    pub fn add(rd: X, rn: X, imm12: u32) -> u32 {
        0x9100_0000 | (imm12 << 10) | (rn << 5) | rd
    }
    /// SUBS Xd, Xn, #imm12 (C6.2.362).
    pub fn subs(rd: X, rn: X, imm12: u32) -> u32 {
        0xf100_0000 | (imm12 << 10) | (rn << 5) | rd
    }
    /// STR Xt, [Xn, #off] (C6.2.321, unsigned offset, off multiple of 8).
    pub fn str(rt: X, rn: X, off: u32) -> u32 {
        0xf900_0000 | ((off / 8) << 10) | (rn << 5) | rt
    }
    /// LDR Xt, [Xn, #off] (C6.2.167, unsigned offset).
    pub fn ldr(rt: X, rn: X, off: u32) -> u32 {
        0xf940_0000 | ((off / 8) << 10) | (rn << 5) | rt
    }
    /// B.NE to `delta` instructions away (C6.2.26, cond 0001).
    pub fn b_ne(delta: i32) -> u32 {
        0x5400_0001 | (((delta as u32) & 0x7ffff) << 5)
    }
    /// B to `delta` instructions away (C6.2.25).
    pub fn b(delta: i32) -> u32 {
        0x1400_0000 | ((delta as u32) & 0x03ff_ffff)
    }
    /// BRK #imm16 (C6.2.38), via the decode crate's codec.
    pub fn brk(imm: u32) -> u32 {
        decode::insn::BreakpointKind::Brk64.encode(imm).unwrap()
    }
    /// HVC #0 (C6.2.115).
    pub const HVC0: u32 = 0xd400_0002;
    /// NOP (C6.2.238).
    pub const NOP: u32 = 0xd503_201f;
    /// ERET (C6.2.106).
    pub const ERET: u32 = 0xd69f_03e0;
    /// MRS Xt, <sysreg> with op0=3 (C6.2.228).
    pub fn mrs(rt: X, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
        0xd538_0000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt
    }
    /// MSR <sysreg>, Xt with op0=3 (C6.2.230).
    pub fn msr(op1: u32, crn: u32, crm: u32, op2: u32, rt: X) -> u32 {
        0xd518_0000 | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt
    }
    /// ESR_EL1 as (op1, CRn, CRm, op2).
    pub const ESR_EL1: (u32, u32, u32, u32) = (0, 5, 2, 0);
    /// ELR_EL1.
    pub const ELR_EL1: (u32, u32, u32, u32) = (0, 4, 0, 1);
    /// Loads a 32-bit constant into Xd (MOVZ + MOVK).
    pub fn mov32(rd: X, v: u32) -> [u32; 2] {
        [movz(rd, v & 0xffff, 0), movk(rd, v >> 16, 16)]
    }
}

/// Little-endian bytes of a program.
pub fn bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Loads `words` at `gpa` and points vCPU 0 at it.
pub fn load(vm: &Vm, gpa: u64, words: &[u32]) {
    vm.load_image(gpa, &bytes(words)).unwrap();
    vm.reset_vcpu(0, gpa).unwrap();
}

/// A stable hash of a RAM range (FNV-1a 64).
pub fn ram_hash(vm: &Vm, gpa: u64, len: usize) -> u64 {
    vm.read_phys(gpa, len)
        .unwrap()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ *b as u64).wrapping_mul(0x100_0000_01b3)
        })
}

/// Runs vCPU 0 once on this thread.
pub fn run(vm: &Vm) -> kvm_debug::VmExit {
    vm.run(0, kvm_debug::RunOptions::default()).expect("run")
}

/// One single-step run of vCPU 0.
pub fn step(vm: &Vm) -> kvm_debug::VmExit {
    let opts = kvm_debug::RunOptions {
        single_step: true,
        ..Default::default()
    };
    vm.run(0, opts).expect("step")
}
