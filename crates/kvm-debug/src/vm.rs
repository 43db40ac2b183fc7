//! A VM: the facade over RAM slots, N vCPUs, loading, registers by name,
//! guest memory by physical and virtual address, and the guest-debug state
//! ([`crate::debug`]: software and hardware breakpoints, watchpoints). The run
//! loop is [`crate::run`] (one dedicated thread per vCPU for [`Vm::run_async`]);
//! register access with the step-time masking is [`crate::regs`].
//!
//! Guest memory as the debugger sees it: reads show the guest's own
//! instructions where our BRKs sit, and writes under a BRK update the bytes
//! saved under it and keep the BRK ([`crate::swbp`]).
//!
//! Locking: each vCPU's state sits in a `Mutex` that the run loop holds for
//! the whole run. Accessors first look at the vCPU's `running` flag and
//! answer [`Error::VcpuRunning`] instead of blocking; only [`Vm::stop`]
//! touches a running vCPU (lock-free, see [`crate::run`]).

use crate::arch::aarch64::{self as a64, reg_by_name, ENTRY_PSTATE, REG_PC, REG_PSTATE};
#[cfg(target_arch = "aarch64")]
use crate::board::MemoryMap;
use crate::board::{Board, BoardConfig, GicVersion, Served};
use crate::caps::Capabilities;
use crate::debug::{DebugState, Watchpoint};
use crate::error::{Error, Result};
use crate::memory::GuestMemory;
use crate::regs::{Known, VcpuState};
use crate::run::{prepare_thread_for_kicks, Kicker, RunOptions, VmExit};
use crate::swbp::RemoveAllReport;
use crate::vcpu::{fit, HwDebugRegs};
use decode::walk::{self, PhysRead};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

#[cfg(target_arch = "aarch64")]
use crate::{arch::aarch64::Reg, vcpu::HwVcpu};

/// Default guest-physical RAM base, as on QEMU's `virt` machine.
pub const DEFAULT_RAM_BASE: u64 = 0x4000_0000;

/// What guest debugging is refused with when the kernel cannot do it.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
const NO_GUEST_DEBUG: &str = "this kernel has no KVM_CAP_SET_GUEST_DEBUG: the guest runs, \
                              but breakpoints and single-step are unavailable";
/// What guest debugging is refused with after a detach.
const DETACHED: &str = "the debugger detached";

/// How to build a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmConfig {
    /// RAM size in bytes (a multiple of 64 KiB).
    pub mem_size: u64,
    /// Number of vCPUs (>= 1). vCPU 0 starts runnable; the others start
    /// powered off (KVM_ARM_VCPU_POWER_OFF) until PSCI CPU_ON, like on hardware.
    pub vcpus: u32,
    /// Guest-physical RAM base.
    pub ram_base: u64,
    /// The Linux board (in-kernel vGIC, a PL011 served in Rust): `None` for
    /// bare-metal guests, whose MMIO all goes to the caller.
    pub board: Option<BoardConfig>,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            mem_size: 64 << 20,
            vcpus: 1,
            ram_base: DEFAULT_RAM_BASE,
            board: None,
        }
    }
}

/// A Linux kernel to boot on the board.
#[derive(Debug, Clone, Copy)]
pub struct LinuxBoot<'a> {
    /// The arm64 `Image`.
    pub kernel: &'a [u8],
    /// The initramfs, if any.
    pub initrd: Option<&'a [u8]>,
    /// The kernel command line.
    pub cmdline: &'a str,
    /// A `kaslr-seed` for the device tree; None (the default) keeps KASLR off.
    pub kaslr_seed: Option<u64>,
}

/// Where the boot put everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxBootInfo {
    /// Guest-physical placement of kernel, initrd and device tree.
    pub layout: crate::board::image::Layout,
    /// The device tree blob written at `layout.dtb`.
    pub dtb: Vec<u8>,
    /// The interrupt controller KVM gave the board.
    pub gic: GicVersion,
}

pub use crate::hwdebug::WatchKind;

/// A translated virtual address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtTranslation {
    /// The virtual address.
    pub va: u64,
    /// The physical address.
    pub pa: u64,
    /// Level of the final descriptor (None with the MMU off).
    pub level: Option<i8>,
    /// Size of the page or block (with the MMU off: the distance to the next 4 KiB boundary's page).
    pub page_size: u64,
    /// SCTLR_EL1.M.
    pub mmu_on: bool,
    /// Writable at EL1.
    pub writable: bool,
}

pub(crate) struct VcpuSlot {
    pub(crate) kicker: Kicker,
    pub(crate) state: Mutex<VcpuState>,
}

/// The VM state shared with the vCPU threads.
pub(crate) struct Shared {
    /// Kept open: the VM (its memory slots, vCPUs) lives as long as this fd.
    #[cfg(target_arch = "aarch64")]
    #[allow(dead_code)]
    vm_fd: kvm_ioctls::VmFd,
    #[cfg(target_arch = "aarch64")]
    init: kvm_bindings::kvm_vcpu_init,
    pub(crate) mem: GuestMemory,
    ram_base: u64,
    ram_size: u64,
    /// Every breakpoint, watchpoint and the on/off of guest debugging.
    pub(crate) debug: Mutex<DebugState>,
    pub(crate) vcpus: Vec<VcpuSlot>,
    /// The Linux board's devices, when the VM has them.
    pub(crate) board: Option<Board>,
    caps: Capabilities,
    closed: AtomicBool,
}

type Job = Box<dyn FnOnce() + Send>;

struct Worker {
    tx: mpsc::Sender<Job>,
    handle: JoinHandle<()>,
}

/// A KVM VM for debugging. `Sync`: share it with `Arc`.
pub struct Vm {
    shared: Arc<Shared>,
    workers: Mutex<Vec<Option<Worker>>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves plain data; keep going.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PhysRead for GuestMemory {
    fn read_u64(&self, pa: u64) -> Option<u64> {
        self.read_u64_le(pa).ok()
    }
}

impl Vm {
    /// Creates the VM: KVM_CREATE_VM (IPA size from KVM_CAP_ARM_VM_IPA_SIZE),
    /// one RAM slot (KVM_SET_USER_MEMORY_REGION), and `vcpus` vCPUs with
    /// KVM_ARM_VCPU_INIT (KVM_ARM_PREFERRED_TARGET + the PSCI 0.2 feature),
    /// each at the entry state. On hosts other than aarch64: [`Error::Unsupported`].
    /// Without KVM_CAP_SET_GUEST_DEBUG the VM runs with debugging off.
    pub fn create(cfg: VmConfig) -> Result<Vm> {
        if cfg.vcpus == 0 || cfg.mem_size == 0 {
            return Err(Error::BadArgument {
                why: format!(
                    "a VM needs >= 1 vCPU and some RAM (vcpus {}, mem {:#x})",
                    cfg.vcpus, cfg.mem_size
                ),
            });
        }
        Self::create_arch(cfg)
    }

    #[cfg(not(target_arch = "aarch64"))]
    fn create_arch(_cfg: VmConfig) -> Result<Vm> {
        Err(crate::arch::x86_64::unsupported("creating a VM"))
    }

    #[cfg(target_arch = "aarch64")]
    fn create_arch(cfg: VmConfig) -> Result<Vm> {
        use kvm_bindings::{kvm_userspace_memory_region, kvm_vcpu_init};
        let caps = crate::caps::probe();
        let kvm = crate::caps::open_kvm(crate::caps::KVM_DEVICE)?;
        let vm_fd = retry_interrupted(|| kvm.create_vm().map_err(|e| e.errno()))
            .map_err(|errno| Error::ioctl("KVM_CREATE_VM", errno, "arm64 VM"))?;
        let mem = GuestMemory::new(&[(cfg.ram_base, cfg.mem_size)])?;
        for (i, s) in mem.slots().iter().enumerate() {
            let region = kvm_userspace_memory_region {
                slot: i as u32,
                flags: 0,
                guest_phys_addr: s.gpa,
                memory_size: s.size,
                userspace_addr: s.host_addr(),
            };
            // SAFETY: the region is our own mapping, which lives in `Shared` as long as `vm_fd`.
            unsafe { vm_fd.set_user_memory_region(region) }.map_err(|e| {
                Error::ioctl(
                    "KVM_SET_USER_MEMORY_REGION",
                    e.errno(),
                    format!("slot {i} at {:#x}", s.gpa),
                )
            })?;
        }
        let mut init = kvm_vcpu_init::default();
        vm_fd
            .get_preferred_target(&mut init)
            .map_err(|e| Error::ioctl("KVM_ARM_PREFERRED_TARGET", e.errno(), ""))?;
        init.features[0] |= 1 << a64::KVM_ARM_VCPU_PSCI_0_2;
        let mut vcpus = Vec::with_capacity(cfg.vcpus as usize);
        for i in 0..cfg.vcpus {
            let mut vi = init;
            if i > 0 {
                vi.features[0] |= 1 << a64::KVM_ARM_VCPU_POWER_OFF;
            }
            let hw = HwVcpu::create(&vm_fd, i as u64, &vi)?;
            hw.set(Reg::u64(REG_PSTATE), ENTRY_PSTATE as u128)?;
            hw.set(Reg::u64(REG_PC), cfg.ram_base as u128)?;
            vcpus.push(VcpuSlot {
                kicker: Kicker::new(hw.immediate_exit_ptr()),
                state: Mutex::new(VcpuState::new(hw, i)),
            });
        }
        let debug = DebugState::new(
            caps.hw_breakpoints,
            caps.hw_watchpoints,
            (!caps.set_guest_debug).then(|| NO_GUEST_DEBUG.to_string()),
        );
        // The vGIC comes after every vCPU and before any runs (arm-vgic-v3.rst).
        let board = match cfg.board {
            None => None,
            Some(b) => {
                let map = MemoryMap {
                    ram: cfg.ram_base,
                    ..MemoryMap::VIRT
                };
                let (gic, gic_fd) = crate::board::gic::create(&vm_fd, &map, cfg.vcpus as usize)?;
                // The ring is mapped through every vCPU before the zone exists: a store
                // must never land in a ring that some vCPU cannot drain.
                let coalesced_dr = vcpus.iter_mut().all(|s| {
                    s.state
                        .get_mut()
                        .is_ok_and(|st| st.hw.map_coalesced_ring().is_ok())
                }) && vm_fd
                    .register_coalesced_mmio(
                        kvm_ioctls::IoEventAddress::Mmio(map.uart + crate::board::pl011::DR),
                        crate::board::pl011::DR_BYTES,
                    )
                    .is_ok();
                Some(Board {
                    map,
                    gic,
                    gic_fd,
                    console_fd: b.console_fd,
                    uart: Mutex::new(Default::default()),
                    coalesced_dr,
                })
            }
        };
        Ok(Vm::from_shared(Shared {
            vm_fd,
            init,
            mem,
            ram_base: cfg.ram_base,
            ram_size: cfg.mem_size,
            debug: Mutex::new(debug),
            vcpus,
            board,
            caps,
            closed: AtomicBool::new(false),
        }))
    }

    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    fn from_shared(s: Shared) -> Vm {
        let n = s.vcpus.len();
        Vm {
            shared: Arc::new(s),
            workers: Mutex::new((0..n).map(|_| None).collect()),
        }
    }

    /// Guest-physical RAM base.
    pub fn ram_base(&self) -> u64 {
        self.shared.ram_base
    }
    /// RAM size in bytes.
    pub fn ram_size(&self) -> u64 {
        self.shared.ram_size
    }
    /// Number of vCPUs.
    pub fn vcpu_count(&self) -> u32 {
        self.shared.vcpus.len() as u32
    }
    /// The capabilities probed when the VM was created.
    pub fn capabilities(&self) -> &Capabilities {
        &self.shared.caps
    }

    /// The board's interrupt controller, when the VM has a board.
    pub fn gic(&self) -> Option<GicVersion> {
        self.shared.board.as_ref().map(|b| b.gic)
    }

    // ---- the Linux board ----

    /// Loads a Linux kernel on the board and points vCPU 0 at it: the `Image`
    /// at the 2 MiB-aligned RAM base plus its text_offset, the initrd and the
    /// device tree at the top of RAM, x0 = the device tree, x1..x3 = 0, PC =
    /// the kernel, EL1h with DAIF masked and the MMU off (booting.rst). The
    /// other vCPUs stay powered off until the kernel's PSCI CPU_ON.
    pub fn boot_linux(&self, boot: &LinuxBoot<'_>) -> Result<LinuxBootInfo> {
        use crate::board::{fdt, image};
        self.shared.all_idle()?;
        let board = self
            .shared
            .board
            .as_ref()
            .ok_or_else(|| Error::BadArgument {
                why: "this VM has no board: create it with a board to boot Linux".into(),
            })?;
        let header = image::ImageHeader::parse(boot.kernel)?;
        let layout = image::layout(
            self.ram_base(),
            self.ram_size(),
            &header,
            boot.initrd.map(|i| i.len() as u64),
        )?;
        let mut mpidrs = Vec::with_capacity(self.vcpu_count() as usize);
        for v in 0..self.vcpu_count() {
            let (_slot, st) = self.shared.idle(v)?;
            mpidrs.push(st.get64(a64::REG_MPIDR_EL1)? & a64::MPIDR_AFFINITY);
        }
        let dtb = fdt::build(&fdt::FdtConfig {
            map: board.map,
            ram_size: self.ram_size(),
            mpidrs,
            gic: board.gic,
            cmdline: boot.cmdline.to_string(),
            initrd: layout.initrd,
            kaslr_seed: boot.kaslr_seed,
        })?;
        if dtb.len() as u64 > image::DTB_MAX {
            return Err(Error::DoesNotFit {
                what: format!("the device tree ({} bytes, at most 2 MiB)", dtb.len()),
                mem_mib: self.ram_size() >> 20,
            });
        }
        self.write_phys(layout.kernel, boot.kernel)?;
        if let (Some(bytes), Some((start, _))) = (boot.initrd, layout.initrd) {
            self.write_phys(start, bytes)?;
        }
        self.write_phys(layout.dtb, &dtb)?;
        self.reset_vcpu(0, layout.kernel)?;
        let (_slot, mut st) = self.shared.idle(0)?;
        st.set64(a64::x_reg(0), layout.dtb)?;
        for r in 1..=3 {
            st.set64(a64::x_reg(r), 0)?;
        }
        Ok(LinuxBootInfo {
            layout,
            dtb,
            gic: board.gic,
        })
    }

    /// Bytes from the host's console into the board's UART (its receive FIFO
    /// and interrupt). Allowed while vCPUs run. A VM without a board refuses.
    pub fn console_input(&self, bytes: &[u8]) -> Result<()> {
        self.shared.open()?;
        let board = self
            .shared
            .board
            .as_ref()
            .ok_or_else(|| Error::BadArgument {
                why: "this VM has no board, so no UART to take console input".into(),
            })?;
        match board.input(bytes) {
            Some(level) => self.shared.set_irq_line(board.uart_irq_line(), level),
            None => Ok(()),
        }
    }

    fn debug(&self) -> MutexGuard<'_, DebugState> {
        lock(&self.shared.debug)
    }

    // ---- loading and guest memory ----

    /// Copies `bytes` into RAM at `gpa` (all or nothing), with I-cache maintenance.
    pub fn load_image(&self, gpa: u64, bytes: &[u8]) -> Result<()> {
        self.write_phys(gpa, bytes)
    }

    /// Loads an ELF64 little-endian AArch64 image: each PT_LOAD segment's file
    /// bytes at its physical address, the rest of `p_memsz` zeroed. Every
    /// segment is checked before anything is written. Returns the entry point.
    pub fn load_elf(&self, bytes: &[u8]) -> Result<u64> {
        self.shared.all_idle()?;
        let segs = crate::elf::load_segments(bytes)?;
        for s in &segs.segments {
            if !self.shared.mem.is_ram(s.paddr, s.memsz.max(1)) {
                return Err(Error::ElfSegmentOutsideRam {
                    paddr: s.paddr,
                    memsz: s.memsz,
                });
            }
        }
        for s in &segs.segments {
            let mut data = s.data.clone();
            data.resize(s.memsz as usize, 0);
            self.write_phys(s.paddr, &data)?;
        }
        Ok(segs.entry)
    }

    /// Reads `len` bytes of RAM at `gpa`, showing the guest's own bytes under our BRKs.
    pub fn read_phys(&self, gpa: u64, len: usize) -> Result<Vec<u8>> {
        self.shared.open()?;
        let mut v = vec![0u8; len];
        self.shared.mem.read(gpa, &mut v)?;
        self.debug().sw.shadow(gpa, &mut v);
        Ok(v)
    }

    /// Writes RAM at `gpa`: all or nothing, with I-cache maintenance (it may
    /// be code). Under one of our BRKs the saved bytes take the new values
    /// and the BRK stays. Refused while any vCPU runs (reads are allowed).
    pub fn write_phys(&self, gpa: u64, bytes: &[u8]) -> Result<()> {
        self.shared.all_idle()?;
        self.debug().sw.write_through(&self.shared.mem, gpa, bytes)
    }

    /// Translates `va` with the vCPU's stage-1 registers (identity with the MMU off).
    pub fn translate(&self, vcpu: u32, va: u64) -> Result<VirtTranslation> {
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        st.translate_known(&self.shared.mem, va)
    }

    /// Reads `len` bytes at virtual `va`, page by page, showing the guest's
    /// own bytes under our BRKs.
    pub fn read_virt(&self, vcpu: u32, va: u64, len: usize) -> Result<Vec<u8>> {
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        let pieces = st.pieces(&self.shared.mem, va, len as u64)?;
        let mut out = Vec::with_capacity(len);
        let debug = self.debug();
        for (pa, n) in pieces {
            let mut b = vec![0u8; n as usize];
            self.shared.mem.read(pa, &mut b)?;
            debug.sw.shadow(pa, &mut b);
            out.extend_from_slice(&b);
        }
        Ok(out)
    }

    /// Writes `bytes` at virtual `va`. Every page is translated and checked
    /// (mapped, RAM) before the first byte is written; under our BRKs, as
    /// [`Vm::write_phys`].
    pub fn write_virt(&self, vcpu: u32, va: u64, bytes: &[u8]) -> Result<()> {
        self.shared.all_idle()?;
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        let pieces = st.pieces(&self.shared.mem, va, bytes.len() as u64)?;
        let mut debug = self.debug();
        let mut off = 0usize;
        for (pa, n) in pieces {
            debug
                .sw
                .write_through(&self.shared.mem, pa, &bytes[off..off + n as usize])?;
            off += n as usize;
        }
        Ok(())
    }

    // ---- registers ----

    /// Resets a vCPU (KVM_ARM_VCPU_INIT again: all registers to their reset
    /// values, MMU off) and sets PC = `entry`, PSTATE = EL1h with DAIF masked.
    pub fn reset_vcpu(&self, vcpu: u32, entry: u64) -> Result<()> {
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        st.complete_pending_mmio(&self.shared.vcpus[vcpu as usize].kicker)?;
        self.shared.reinit(&mut st, vcpu)?;
        st.step_mask = None;
        st.known = Known::default();
        st.set64(REG_PSTATE, ENTRY_PSTATE)?;
        st.set64(REG_PC, entry)
    }

    /// Reads a register by name (see [`crate::arch::aarch64::reg_names`]).
    /// During a masked single-step, PSTATE shows the guest's own I/F bits.
    pub fn get_reg(&self, vcpu: u32, name: &str) -> Result<u128> {
        let reg = reg_by_name(name)?;
        let (_slot, st) = self.shared.idle(vcpu)?;
        st.get(reg)
    }

    /// Writes a register by name. A pending MMIO is completed first (KVM
    /// would otherwise advance the new PC past the access when it completes it).
    pub fn set_reg(&self, vcpu: u32, name: &str, value: u128) -> Result<()> {
        let reg = reg_by_name(name)?;
        let value = fit(name, reg, value)?;
        let (slot, mut st) = self.shared.idle(vcpu)?;
        st.complete_pending_mmio(&slot.kicker)?;
        st.set(reg, value)
    }

    // ---- guest debug: breakpoints and watchpoints (crate::debug owns them) ----

    /// Inserts a software breakpoint at guest-physical `gpa` (BRK, via decode's patch plan).
    /// Applies to every vCPU; USE_SW_BP is switched on at each vCPU's next run.
    /// Refused while any vCPU runs: a vCPU inside KVM_RUN without USE_SW_BP would
    /// deliver our BRK to the guest. `ERR_DEBUG_OFF` while debugging is off.
    pub fn insert_sw_breakpoint(&self, gpa: u64) -> Result<()> {
        self.shared.all_idle()?;
        let mut d = self.debug();
        d.check_on()?;
        d.sw.insert(&self.shared.mem, gpa)
    }

    /// Inserts a software breakpoint at virtual `va` of `vcpu`: translates it
    /// and patches the physical address, which it returns. A VA that is not
    /// mapped (`ERR_TRANSLATION`) or not in RAM (`ERR_OUTSIDE_RAM`) is refused.
    pub fn insert_sw_breakpoint_virt(&self, vcpu: u32, va: u64) -> Result<u64> {
        let pa = self.translate(vcpu, va)?.pa;
        self.insert_sw_breakpoint(pa)?;
        Ok(pa)
    }

    /// Removes ours at `gpa`, restoring the original bytes (a Conflict if the guest rewrote it).
    pub fn remove_sw_breakpoint(&self, gpa: u64) -> Result<()> {
        self.shared.all_idle()?;
        self.debug().sw.remove(&self.shared.mem, gpa)
    }

    /// Removes every software breakpoint; conflicts are reported, not fatal.
    /// Works even while vCPUs run (emergency paths: SIGINT, a lost client):
    /// restoring the bytes is always better than leaving BRKs behind.
    pub fn remove_all_sw_breakpoints(&self) -> RemoveAllReport {
        self.debug().sw.remove_all(&self.shared.mem)
    }

    /// Our software breakpoints (guest-physical), ascending.
    pub fn sw_breakpoints(&self) -> Vec<u64> {
        self.debug().sw.addresses()
    }

    /// Adds a hardware breakpoint at virtual `va`, on every vCPU from its next
    /// run. `ERR_HW_SLOTS` names the count when every slot
    /// (KVM_CAP_GUEST_DEBUG_HW_BPS) is in use.
    pub fn insert_hw_breakpoint(&self, va: u64) -> Result<()> {
        self.shared.all_idle()?;
        self.debug().insert_hw(va)
    }

    /// Removes the hardware breakpoint at `va`.
    pub fn remove_hw_breakpoint(&self, va: u64) -> Result<()> {
        self.shared.all_idle()?;
        self.debug().remove_hw(va)
    }

    /// Hardware breakpoints (virtual addresses), in insertion order.
    pub fn hw_breakpoints(&self) -> Vec<u64> {
        self.debug().hw_breakpoints().to_vec()
    }

    /// Adds a watchpoint on every vCPU from its next run. `ERR_HW_SLOTS` names
    /// the count (KVM_CAP_GUEST_DEBUG_HW_WPS); `ERR_HW_DEBUG` an unencodable range.
    pub fn insert_watchpoint(&self, w: Watchpoint) -> Result<()> {
        self.shared.all_idle()?;
        self.debug().insert_watch(w)
    }

    /// Removes a watchpoint (same address, length and kind).
    pub fn remove_watchpoint(&self, w: Watchpoint) -> Result<()> {
        self.shared.all_idle()?;
        self.debug().remove_watch(w)
    }

    /// Watchpoints, in insertion order.
    pub fn watchpoints(&self) -> Vec<Watchpoint> {
        self.debug().watchpoints().to_vec()
    }

    /// Tries the control word every debugging session needs
    /// (ENABLE|SINGLESTEP|USE_SW_BP) on vCPU 0, then clears it: the kernel's
    /// refusal (EINVAL from an older KVM) as an error, before any breakpoint exists.
    pub fn probe_guest_debug(&self) -> Result<()> {
        self.debug().check_on()?;
        let (_slot, mut st) = self.shared.idle(0)?;
        let none = HwDebugRegs::default();
        let r = st.hw.set_guest_debug(DebugState::probe_control(), &none);
        st.hw.set_guest_debug(0, &none)?;
        st.applied = (0, 0);
        r
    }

    /// Turns guest debugging off for good with `reason` (the capability
    /// policy's, or a detach): every breakpoint is removed (bytes restored),
    /// every vCPU's guest debug goes back to 0, and later breakpoint or step
    /// requests are refused with `ERR_DEBUG_OFF` naming the reason.
    /// vCPUs must be stopped.
    pub fn turn_debug_off(&self, reason: &str) -> Result<RemoveAllReport> {
        let rep = {
            let mut d = self.debug();
            d.turn_off(reason);
            d.clear_hw();
            d.sw.remove_all(&self.shared.mem)
        };
        // Every vCPU gets control=0 even when an earlier one fails; the first error is returned.
        let mut first_err = None;
        for i in 0..self.vcpu_count() {
            let r = self.shared.idle(i).and_then(|(_slot, mut st)| {
                if st.applied.0 != 0 {
                    st.hw.set_guest_debug(0, &HwDebugRegs::default())?;
                }
                st.applied = (0, lock(&self.shared.debug).generation());
                Ok(())
            });
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(rep), Err)
    }

    /// Detach: [`Vm::turn_debug_off`] with the reason "the debugger detached".
    pub fn detach(&self) -> Result<RemoveAllReport> {
        self.turn_debug_off(DETACHED)
    }

    // ---- running ----

    /// The data a pending MMIO load returns (little-endian, low `len` bytes).
    pub fn set_mmio_read_data(&self, vcpu: u32, data: u64) -> Result<()> {
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        if st.pending_mmio {
            st.hw.set_mmio_read_data(data);
        }
        Ok(())
    }

    /// How many guest exceptions this vCPU's runs re-injected.
    pub fn reinjections(&self, vcpu: u32) -> Result<u64> {
        let (_slot, st) = self.shared.idle(vcpu)?;
        Ok(st.reinjections)
    }

    /// Runs a vCPU on the calling thread until an exit for the caller.
    pub fn run(&self, vcpu: u32, opts: RunOptions) -> Result<VmExit> {
        self.shared.begin_run(vcpu, opts)?;
        prepare_thread_for_kicks();
        self.shared.run_loop(vcpu, opts)
    }

    /// Runs a vCPU on its dedicated thread; `done` gets the result there.
    /// Never blocks the caller. The vCPU counts as running from this call on;
    /// a refusal (already running, a step with debugging off) is returned here.
    pub fn run_async(
        &self,
        vcpu: u32,
        opts: RunOptions,
        done: Box<dyn FnOnce(Result<VmExit>) + Send>,
    ) -> Result<()> {
        self.shared.begin_run(vcpu, opts)?;
        let shared = Arc::clone(&self.shared);
        let job: Job = Box::new(move || {
            let r = shared.run_loop(vcpu, opts);
            done(r)
        });
        let mut w = lock(&self.workers);
        let slot = &mut w[vcpu as usize];
        if slot.is_none() {
            let (tx, rx) = mpsc::channel::<Job>();
            let handle = std::thread::Builder::new()
                .name(format!("kvm-vcpu{vcpu}"))
                .spawn(move || {
                    prepare_thread_for_kicks();
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .map_err(|e| {
                    self.shared.vcpus[vcpu as usize]
                        .kicker
                        .running
                        .store(false, Ordering::SeqCst);
                    Error::Thread {
                        vcpu,
                        why: e.to_string(),
                    }
                })?;
            *slot = Some(Worker { tx, handle });
        }
        let worker = slot.as_ref().expect("worker just created");
        if let Err(mpsc::SendError(job)) = worker.tx.send(job) {
            drop(job);
            self.shared.vcpus[vcpu as usize]
                .kicker
                .running
                .store(false, Ordering::SeqCst);
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Escape hatch for benchmarks and experiments: `f` gets the vCPU's raw
    /// kvm-ioctls fd (a pending MMIO is completed first). Whatever `f` does to
    /// the vCPU is not tracked by this crate (debug state, step masks).
    #[cfg(target_arch = "aarch64")]
    pub fn with_raw_vcpu<R>(
        &self,
        vcpu: u32,
        f: impl FnOnce(&mut kvm_ioctls::VcpuFd) -> R,
    ) -> Result<R> {
        let (slot, mut st) = self.shared.idle(vcpu)?;
        st.complete_pending_mmio(&slot.kicker)?;
        // `f` may run or write the vCPU: what the run loop knew (PC, stage 1) is stale.
        st.known = Known::default();
        Ok(f(st.hw.raw()))
    }

    /// Stops a running vCPU: its run returns [`VmExit::Interrupted`] promptly.
    /// A no-op when it is not running.
    pub fn stop(&self, vcpu: u32) -> Result<()> {
        self.shared.slot(vcpu)?.kicker.kick();
        Ok(())
    }

    /// Whether a run of this vCPU is in progress.
    pub fn is_running(&self, vcpu: u32) -> Result<bool> {
        Ok(self
            .shared
            .slot(vcpu)?
            .kicker
            .running
            .load(Ordering::SeqCst))
    }

    /// Stops every vCPU, ends their threads, detaches. Idempotent; later
    /// calls other than this one fail with [`Error::Closed`].
    pub fn close(&self) -> Result<RemoveAllReport> {
        if self.shared.closed.load(Ordering::SeqCst) {
            return Ok(RemoveAllReport::default());
        }
        for s in &self.shared.vcpus {
            s.kicker.kick();
        }
        let workers: Vec<Worker> = lock(&self.workers)
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for w in workers {
            drop(w.tx);
            // A run in progress was kicked above; its thread exits when the queue is empty.
            for s in &self.shared.vcpus {
                s.kicker.kick();
            }
            let _ = w.handle.join();
        }
        let rep = self.detach();
        self.shared.closed.store(true, Ordering::SeqCst);
        rep
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// Guest memory by virtual address (the facade's translations).
impl VcpuState {
    /// Translates with freshly read stage-1 registers (the run loop, right after an exit).
    pub(crate) fn translate(&self, mem: &GuestMemory, va: u64) -> Result<VirtTranslation> {
        self.translate_with(mem, self.stage1()?, va)
    }

    /// Translates for the debugger while the vCPU is stopped, with the stage-1 registers
    /// the run loop left known ([`VcpuState::stage1_known`]).
    pub(crate) fn translate_known(
        &mut self,
        mem: &GuestMemory,
        va: u64,
    ) -> Result<VirtTranslation> {
        let regs = self.stage1_known()?;
        self.translate_with(mem, regs, va)
    }

    fn translate_with(
        &self,
        mem: &GuestMemory,
        regs: walk::Stage1Regs,
        va: u64,
    ) -> Result<VirtTranslation> {
        let t = walk::translate(mem, &regs, va)?;
        Ok(VirtTranslation {
            va,
            pa: t.pa,
            level: t.level,
            page_size: t.page_size,
            mmu_on: regs.sctlr_el1 & a64::SCTLR_M != 0,
            writable: t.writable,
        })
    }

    /// Splits va..va+len into (pa, len) pieces, one per page, all checked as RAM.
    fn pieces(&mut self, mem: &GuestMemory, va: u64, len: u64) -> Result<Vec<(u64, u64)>> {
        let regs = self.stage1_known()?;
        let mut out = Vec::new();
        let mut done = 0u64;
        while done < len {
            let cur = va.wrapping_add(done);
            let t = walk::translate(mem, &regs, cur)?;
            let n = t.bytes_to_page_end().min(len - done).max(1);
            if !mem.is_ram(t.pa, n) {
                return Err(Error::OutsideRam { addr: t.pa, len: n });
            }
            out.push((t.pa, n));
            done += n;
        }
        Ok(out)
    }
}

impl Shared {
    /// KVM_IRQ_LINE: drives an interrupt line of the in-kernel vGIC.
    #[cfg(target_arch = "aarch64")]
    pub(crate) fn set_irq_line(&self, irq: u32, level: bool) -> Result<()> {
        self.vm_fd.set_irq_line(irq, level).map_err(|e| {
            Error::ioctl(
                "KVM_IRQ_LINE",
                e.errno(),
                format!("irq {irq:#x} level {level}"),
            )
        })
    }

    #[cfg(not(target_arch = "aarch64"))]
    pub(crate) fn set_irq_line(&self, _irq: u32, _level: bool) -> Result<()> {
        Err(crate::arch::x86_64::unsupported("KVM_IRQ_LINE"))
    }

    /// Serves an MMIO exit on the board's devices, on the vCPU thread: true
    /// when it was theirs (a load's value is given to KVM for the next KVM_RUN).
    /// Serves the UART stores KVM queued without an exit (board with coalesced
    /// MMIO): called after every exit, before the exit itself is served.
    pub(crate) fn board_coalesced(&self, st: &mut VcpuState) -> Result<()> {
        let Some(board) = self.board.as_ref().filter(|b| b.coalesced_dr) else {
            return Ok(());
        };
        if let Some(level) = board.coalesced_stores(|| st.hw.take_coalesced()) {
            self.set_irq_line(board.uart_irq_line(), level)?;
        }
        Ok(())
    }

    pub(crate) fn board_mmio(
        &self,
        st: &mut VcpuState,
        addr: u64,
        is_write: bool,
        data: u64,
    ) -> Result<bool> {
        let Some(board) = &self.board else {
            return Ok(false);
        };
        let (served, irq) = board.mmio(addr, is_write, data);
        if let Some(level) = irq {
            self.set_irq_line(board.uart_irq_line(), level)?;
        }
        match served {
            Served::No => Ok(false),
            Served::Stored => Ok(true),
            Served::Loaded(v) => {
                st.hw.set_mmio_read_data(v);
                Ok(true)
            }
        }
    }

    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    pub(crate) fn slot(&self, vcpu: u32) -> Result<&VcpuSlot> {
        self.open()?;
        self.vcpus.get(vcpu as usize).ok_or(Error::BadVcpu {
            index: vcpu,
            count: self.vcpus.len() as u32,
        })
    }

    /// Ok if no vCPU is running.
    fn all_idle(&self) -> Result<()> {
        self.open()?;
        match self
            .vcpus
            .iter()
            .position(|v| v.kicker.running.load(Ordering::SeqCst))
        {
            Some(i) => Err(Error::VcpuRunning { vcpu: i as u32 }),
            None => Ok(()),
        }
    }

    /// The vCPU's state, if it is not running.
    fn idle(&self, vcpu: u32) -> Result<(&VcpuSlot, MutexGuard<'_, VcpuState>)> {
        let slot = self.slot(vcpu)?;
        if slot.kicker.running.load(Ordering::SeqCst) {
            return Err(Error::VcpuRunning { vcpu });
        }
        match slot.state.try_lock() {
            Ok(g) => Ok((slot, g)),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok((slot, p.into_inner())),
            // Another accessor holds it for a moment: wait for it.
            Err(std::sync::TryLockError::WouldBlock) => Ok((slot, lock(&slot.state))),
        }
    }

    #[cfg(target_arch = "aarch64")]
    fn reinit(&self, st: &mut VcpuState, vcpu: u32) -> Result<()> {
        let mut vi = self.init;
        if vcpu > 0 {
            vi.features[0] |= 1 << a64::KVM_ARM_VCPU_POWER_OFF;
        }
        st.hw.reinit(&vi)
    }

    #[cfg(not(target_arch = "aarch64"))]
    fn reinit(&self, st: &mut VcpuState, _vcpu: u32) -> Result<()> {
        match st.hw {}
    }
}

/// Calls `ioctl` (which fails with an errno) again while it fails with EINTR. KVM_CREATE_VM
/// registers an MMU notifier, which gives up when a signal is pending (mm_take_all_locks in
/// Linux's mm/mmap.c returns -EINTR): a profiler's SIGPROF made `run` fail. QEMU's kvm_init
/// retries KVM_CREATE_VM the same way.
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
fn retry_interrupted<T>(
    mut ioctl: impl FnMut() -> std::result::Result<T, i32>,
) -> std::result::Result<T, i32> {
    loop {
        match ioctl() {
            Err(libc::EINTR) => continue,
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::retry_interrupted;

    #[test]
    fn an_interrupted_ioctl_is_retried_and_other_errors_are_not() {
        let mut calls = 0;
        let got = retry_interrupted(|| {
            calls += 1;
            if calls < 3 {
                Err(libc::EINTR)
            } else {
                Ok(7)
            }
        });
        assert_eq!((got, calls), (Ok(7), 3));
        let mut calls = 0;
        let got: std::result::Result<(), i32> = retry_interrupted(|| {
            calls += 1;
            Err(libc::ENOMEM)
        });
        assert_eq!((got, calls), (Err(libc::ENOMEM), 1));
    }
}
