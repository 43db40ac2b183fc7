//! A VM: RAM slots, N vCPUs, loading, registers by name, guest memory by
//! physical and virtual address, guest debug, software breakpoints and the
//! run loop (one dedicated thread per vCPU for [`Vm::run_async`]).
//!
//! Locking: each vCPU's state sits in a `Mutex` that the run loop holds for
//! the whole run. Accessors first look at the vCPU's `running` flag and
//! answer [`Error::VcpuRunning`] instead of blocking; only [`Vm::stop`]
//! touches a running vCPU (lock-free, see [`crate::run`]).

use crate::arch::aarch64::{
    self as a64, current_sp, reg_by_name, Reg, RegSize, ENTRY_PSTATE, PSTATE_F, PSTATE_I, REG_PC,
    REG_PSTATE, REG_SCTLR_EL1, REG_SP_CURRENT, REG_TCR_EL1, REG_TTBR0_EL1, REG_TTBR1_EL1,
    REG_VBAR_EL1,
};
use crate::caps::Capabilities;
use crate::error::{Error, Result};
use crate::memory::GuestMemory;
use crate::run::{
    prepare_thread_for_kicks, DebugCause, DebugExit, Kicker, Reinjection, RunOptions,
    SystemEventKind, VmExit,
};
use crate::step::{self, StepMask};
use crate::swbp::{RemoveAllReport, SwBreakpoints};
use crate::vcpu::{fit, guestdbg, HwDebugRegs, HwVcpu, RawExit};
use crate::walk::{self, PhysRead, Stage1Regs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Default guest-physical RAM base, as on QEMU's `virt` machine.
pub const DEFAULT_RAM_BASE: u64 = 0x4000_0000;

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
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            mem_size: 64 << 20,
            vcpus: 1,
            ram_base: DEFAULT_RAM_BASE,
        }
    }
}

pub use crate::hwdebug::WatchKind;

/// A hardware watchpoint request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watchpoint {
    /// Virtual address of the first byte watched.
    pub addr: u64,
    /// Bytes watched.
    pub len: u64,
    /// What it fires on.
    pub kind: WatchKind,
}

/// The debug state wanted on one vCPU (`KVM_SET_GUEST_DEBUG`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestDebug {
    /// Single-step (KVM_GUESTDBG_SINGLESTEP), with PSTATE.I/F masked per step.
    pub single_step: bool,
    /// Hardware breakpoints by virtual address (KVM_GUESTDBG_USE_HW).
    pub hw_breakpoints: Vec<u64>,
    /// Hardware watchpoints.
    pub watchpoints: Vec<Watchpoint>,
}

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

struct VcpuState {
    hw: HwVcpu,
    /// The last exit was MMIO and KVM has not completed it yet.
    pending_mmio: bool,
    want: GuestDebug,
    hw_regs: HwDebugRegs,
    /// The control word last given to KVM_SET_GUEST_DEBUG.
    applied: u32,
    step_mask: Option<StepMask>,
    reinjections: u64,
    known: Known,
    /// The last debug exit's (ESR, `decode::summary`): a step loop sees one syndrome
    /// over and over, and building the summary (a whole decode tree) costs ~5 us
    /// per exit in the emulated lane.
    last_summary: Option<(u64, String)>,
}

/// What the run loop knows about the vCPU without asking KVM: every question
/// is an ioctl (KVM_GET_ONE_REG costs ~50 us in the emulated lane, as much
/// as a fifth of a step). Valid only across our own single-steps; any
/// register write, reset, MMIO completion, re-injection or other exit clears it.
#[derive(Debug, Default, Clone, Copy)]
struct Known {
    /// PC after the last step exit.
    pc: Option<u64>,
    /// Stage-1 registers (cleared when a stepped MSR may have changed them).
    stage1: Option<Stage1Regs>,
    /// The guest's PSTATE.I and F were both set, and nothing stepped since could clear them.
    if_masked: bool,
}

struct VcpuSlot {
    kicker: Kicker,
    state: Mutex<VcpuState>,
}

struct Shared {
    /// Kept open: the VM (its memory slots, vCPUs) lives as long as this fd.
    #[cfg(target_arch = "aarch64")]
    #[allow(dead_code)]
    vm_fd: kvm_ioctls::VmFd,
    #[cfg(target_arch = "aarch64")]
    init: kvm_bindings::kvm_vcpu_init,
    mem: GuestMemory,
    ram_base: u64,
    ram_size: u64,
    swbps: Mutex<SwBreakpoints>,
    vcpus: Vec<VcpuSlot>,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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
        let vm_fd = kvm
            .create_vm()
            .map_err(|e| Error::ioctl("KVM_CREATE_VM", e.errno(), "arm64 VM"))?;
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
                state: Mutex::new(VcpuState::new(hw)),
            });
        }
        Ok(Vm::from_shared(Shared {
            vm_fd,
            init,
            mem,
            ram_base: cfg.ram_base,
            ram_size: cfg.mem_size,
            swbps: Mutex::new(SwBreakpoints::default()),
            vcpus,
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

    /// Copies `bytes` into RAM at `gpa` (all or nothing), with I-cache maintenance.
    pub fn load_image(&self, gpa: u64, bytes: &[u8]) -> Result<()> {
        self.shared.all_idle()?;
        self.shared.mem.write_code(gpa, bytes)
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
            self.shared.mem.write_code(s.paddr, &data)?;
        }
        Ok(segs.entry)
    }

    /// Resets a vCPU (KVM_ARM_VCPU_INIT again: all registers to their reset
    /// values, MMU off) and sets PC = `entry`, PSTATE = EL1h with DAIF masked.
    pub fn reset_vcpu(&self, vcpu: u32, entry: u64) -> Result<()> {
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        st.complete_pending_mmio(&self.shared.vcpus[vcpu as usize].kicker)?;
        self.shared.reinit(&mut st, vcpu)?;
        st.step_mask = None;
        st.known = Known::default();
        st.hw.set(Reg::u64(REG_PSTATE), ENTRY_PSTATE as u128)?;
        st.hw.set(Reg::u64(REG_PC), entry as u128)
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

    /// Reads `len` bytes of RAM at `gpa`.
    pub fn read_phys(&self, gpa: u64, len: usize) -> Result<Vec<u8>> {
        self.shared.open()?;
        let mut v = vec![0u8; len];
        self.shared.mem.read(gpa, &mut v)?;
        Ok(v)
    }

    /// Writes RAM at `gpa`: all or nothing, with I-cache maintenance (it may be code).
    /// Refused while any vCPU runs (reads are allowed: RAM is shared anyway).
    pub fn write_phys(&self, gpa: u64, bytes: &[u8]) -> Result<()> {
        self.shared.all_idle()?;
        self.shared.mem.write_code(gpa, bytes)
    }

    /// Translates `va` with the vCPU's stage-1 registers (identity with the MMU off).
    pub fn translate(&self, vcpu: u32, va: u64) -> Result<VirtTranslation> {
        let (_slot, st) = self.shared.idle(vcpu)?;
        st.translate(&self.shared.mem, va)
    }

    /// Reads `len` bytes at virtual `va`, page by page.
    pub fn read_virt(&self, vcpu: u32, va: u64, len: usize) -> Result<Vec<u8>> {
        let (_slot, st) = self.shared.idle(vcpu)?;
        let pieces = st.pieces(&self.shared.mem, va, len as u64)?;
        let mut out = Vec::with_capacity(len);
        for (pa, n) in pieces {
            let mut b = vec![0u8; n as usize];
            self.shared.mem.read(pa, &mut b)?;
            out.extend_from_slice(&b);
        }
        Ok(out)
    }

    /// Writes `bytes` at virtual `va`. Every page is translated and checked
    /// (mapped, RAM) before the first byte is written.
    pub fn write_virt(&self, vcpu: u32, va: u64, bytes: &[u8]) -> Result<()> {
        let (_slot, st) = self.shared.idle(vcpu)?;
        let pieces = st.pieces(&self.shared.mem, va, bytes.len() as u64)?;
        let mut off = 0usize;
        for (pa, n) in pieces {
            self.shared
                .mem
                .write_code(pa, &bytes[off..off + n as usize])?;
            off += n as usize;
        }
        Ok(())
    }

    /// Sets the debug state of one vCPU with KVM_SET_GUEST_DEBUG (ENABLE plus
    /// SINGLESTEP / USE_HW / USE_SW_BP as needed; USE_SW_BP whenever we have
    /// software breakpoints). More breakpoints or watchpoints than
    /// KVM_CAP_GUEST_DEBUG_HW_BPS / _WPS are refused with the count.
    pub fn set_guest_debug(&self, vcpu: u32, want: GuestDebug) -> Result<()> {
        let caps = &self.shared.caps;
        if want != GuestDebug::default() && !caps.set_guest_debug {
            return Err(Error::NoGuestDebug);
        }
        if want.hw_breakpoints.len() > caps.hw_breakpoints as usize {
            return Err(Error::TooManyHw {
                what: "breakpoints",
                requested: want.hw_breakpoints.len(),
                available: caps.hw_breakpoints as usize,
            });
        }
        if want.watchpoints.len() > caps.hw_watchpoints as usize {
            return Err(Error::TooManyHw {
                what: "watchpoints",
                requested: want.watchpoints.len(),
                available: caps.hw_watchpoints as usize,
            });
        }
        let hw_regs = encode_hw(&want)?;
        let (_slot, mut st) = self.shared.idle(vcpu)?;
        let sw = !lock(&self.shared.swbps).is_empty();
        let control = control_word(&want, sw);
        st.hw.set_guest_debug(control, &hw_regs)?;
        st.applied = control;
        st.hw_regs = hw_regs;
        st.want = want;
        Ok(())
    }

    /// Inserts a software breakpoint at guest-physical `gpa` (BRK, via decode's patch plan).
    /// Applies to every vCPU; USE_SW_BP is switched on at each vCPU's next run.
    /// Without KVM_CAP_SET_GUEST_DEBUG: [`Error::NoGuestDebug`] (the guest still runs).
    /// Refused while any vCPU runs: a vCPU inside KVM_RUN without USE_SW_BP would
    /// deliver our BRK to the guest.
    pub fn insert_sw_breakpoint(&self, gpa: u64) -> Result<()> {
        self.shared.all_idle()?;
        if !self.shared.caps.set_guest_debug {
            return Err(Error::NoGuestDebug);
        }
        lock(&self.shared.swbps).insert(&self.shared.mem, gpa)
    }

    /// Removes ours at `gpa`, restoring the original bytes (a Conflict if the guest rewrote it).
    pub fn remove_sw_breakpoint(&self, gpa: u64) -> Result<()> {
        self.shared.all_idle()?;
        lock(&self.shared.swbps).remove(&self.shared.mem, gpa)
    }

    /// Removes every software breakpoint; conflicts are reported, not fatal.
    /// Works even while vCPUs run (emergency paths: SIGINT, a lost client):
    /// restoring the bytes is always better than leaving BRKs behind.
    pub fn remove_all_sw_breakpoints(&self) -> RemoveAllReport {
        lock(&self.shared.swbps).remove_all(&self.shared.mem)
    }

    /// Our software breakpoints (guest-physical), ascending.
    pub fn sw_breakpoints(&self) -> Vec<u64> {
        lock(&self.shared.swbps).addresses()
    }

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
        self.shared.begin_run(vcpu)?;
        prepare_thread_for_kicks();
        self.shared.run_loop(vcpu, opts)
    }

    /// Runs a vCPU on its dedicated thread; `done` gets the result there.
    /// Never blocks the caller. The vCPU counts as running from this call on.
    pub fn run_async(
        &self,
        vcpu: u32,
        opts: RunOptions,
        done: Box<dyn FnOnce(Result<VmExit>) + Send>,
    ) -> Result<()> {
        self.shared.begin_run(vcpu)?;
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
                    Error::BadArgument {
                        why: format!("cannot start the vCPU {vcpu} thread: {e}"),
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

    /// Detach: removes every software breakpoint (restoring bytes) and sets
    /// guest debug back to control=0 on every vCPU. vCPUs must be stopped.
    pub fn detach(&self) -> Result<RemoveAllReport> {
        let rep = self.remove_all_sw_breakpoints();
        // Every vCPU gets control=0 even when an earlier one fails; the first error is returned.
        let mut first_err = None;
        for i in 0..self.vcpu_count() {
            let r = self.shared.idle(i).and_then(|(_slot, mut st)| {
                st.hw.set_guest_debug(0, &HwDebugRegs::default())?;
                st.applied = 0;
                st.want = GuestDebug::default();
                st.hw_regs = HwDebugRegs::default();
                Ok(())
            });
            if let Err(e) = r {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(rep), Err)
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

/// Encodes the hardware requests with [`crate::hwdebug`] into slots 0..n.
/// Addresses are taken as 48-bit VAs (sign-extended from bit 48); FEAT_LVA
/// guests using 52-bit VAs are not detected yet.
pub fn encode_hw(want: &GuestDebug) -> Result<HwDebugRegs> {
    let mut r = HwDebugRegs::default();
    for (i, &a) in want.hw_breakpoints.iter().enumerate().take(16) {
        let b = crate::hwdebug::breakpoint(a, false)?;
        r.bcr[i] = b.bcr;
        r.bvr[i] = b.bvr;
    }
    for (i, w) in want.watchpoints.iter().enumerate().take(16) {
        let e = crate::hwdebug::watchpoint(w.addr, w.len, w.kind, false)?;
        r.wcr[i] = e.wcr;
        r.wvr[i] = e.wvr;
    }
    Ok(r)
}

/// The KVM_SET_GUEST_DEBUG control word for `want` (+ USE_SW_BP when `sw`).
pub fn control_word(want: &GuestDebug, sw: bool) -> u32 {
    let mut c = 0;
    if want.single_step {
        c |= guestdbg::SINGLESTEP;
    }
    if !want.hw_breakpoints.is_empty() || !want.watchpoints.is_empty() {
        c |= guestdbg::USE_HW;
    }
    if sw {
        c |= guestdbg::USE_SW_BP;
    }
    if c != 0 {
        c |= guestdbg::ENABLE;
    }
    c
}

impl Reg {
    fn u64(id: u64) -> Reg {
        Reg {
            id,
            size: RegSize::U64,
        }
    }
}

impl VcpuState {
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    fn new(hw: HwVcpu) -> Self {
        VcpuState {
            hw,
            pending_mmio: false,
            want: GuestDebug::default(),
            hw_regs: HwDebugRegs::default(),
            applied: 0,
            step_mask: None,
            reinjections: 0,
            known: Known::default(),
            last_summary: None,
        }
    }

    /// `decode::summary(esr)`, reused while the syndrome repeats (a pure function of it).
    fn summary(&mut self, esr: u64) -> String {
        match &self.last_summary {
            Some((e, s)) if *e == esr => s.clone(),
            _ => {
                let s = decode::summary(esr);
                self.last_summary = Some((esr, s.clone()));
                s
            }
        }
    }

    fn get64(&self, id: u64) -> Result<u64> {
        Ok(self.hw.get(Reg::u64(id))? as u64)
    }

    fn set64(&mut self, id: u64, v: u64) -> Result<()> {
        self.known = Known::default();
        self.hw.set(Reg::u64(id), v as u128)
    }

    fn get(&self, reg: Reg) -> Result<u128> {
        match reg.id {
            REG_SP_CURRENT => {
                let p = self.get64(REG_PSTATE)?;
                self.hw.get(Reg::u64(current_sp(p)))
            }
            REG_PSTATE => {
                let p = self.get64(REG_PSTATE)?;
                Ok(match &self.step_mask {
                    Some(m) => m.guest_view(p),
                    None => p,
                } as u128)
            }
            _ => self.hw.get(reg),
        }
    }

    fn set(&mut self, reg: Reg, v: u128) -> Result<()> {
        self.known = Known::default();
        match reg.id {
            REG_SP_CURRENT => {
                let p = self.get64(REG_PSTATE)?;
                self.hw.set(Reg::u64(current_sp(p)), v)
            }
            REG_PSTATE => {
                let v = match &mut self.step_mask {
                    Some(m) => m.guest_wrote(v as u64),
                    None => v as u64,
                };
                self.set64(REG_PSTATE, v)
            }
            _ => self.hw.set(reg, v),
        }
    }

    /// The pending-MMIO rule: KVM completes an MMIO access (writes the load
    /// data, advances PC) at the start of the next KVM_RUN. A register write
    /// before that would be overtaken (the new PC advanced by 4). So: one
    /// KVM_RUN with immediate_exit=1 completes it and returns EINTR at once.
    fn complete_pending_mmio(&mut self, kicker: &Kicker) -> Result<()> {
        if !self.pending_mmio {
            return Ok(());
        }
        self.known = Known::default();
        kicker.set_immediate_exit(1);
        let r = self.hw.run();
        kicker.set_immediate_exit(0);
        self.pending_mmio = false;
        match r? {
            RawExit::Interrupted => Ok(()),
            other => Err(Error::BadArgument {
                why: format!("completing a pending MMIO gave {other:?}, not EINTR"),
            }),
        }
    }

    fn stage1(&self) -> Result<Stage1Regs> {
        Ok(Stage1Regs {
            sctlr_el1: self.get64(REG_SCTLR_EL1)?,
            tcr_el1: self.get64(REG_TCR_EL1)?,
            ttbr0_el1: self.get64(REG_TTBR0_EL1)?,
            ttbr1_el1: self.get64(REG_TTBR1_EL1)?,
        })
    }

    fn translate(&self, mem: &GuestMemory, va: u64) -> Result<VirtTranslation> {
        let regs = self.stage1()?;
        let t = walk::translate(mem, &regs, va).map_err(|e| Error::Translation {
            va,
            why: e.to_string(),
        })?;
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
    fn pieces(&self, mem: &GuestMemory, va: u64, len: u64) -> Result<Vec<(u64, u64)>> {
        let regs = self.stage1()?;
        let mut out = Vec::new();
        let mut done = 0u64;
        while done < len {
            let cur = va.wrapping_add(done);
            let t = walk::translate(mem, &regs, cur).map_err(|e| Error::Translation {
                va: cur,
                why: e.to_string(),
            })?;
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
    fn open(&self) -> Result<()> {
        if self.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn slot(&self, vcpu: u32) -> Result<&VcpuSlot> {
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

    fn begin_run(&self, vcpu: u32) -> Result<()> {
        let slot = self.slot(vcpu)?;
        if slot.kicker.running.swap(true, Ordering::SeqCst) {
            return Err(Error::VcpuRunning { vcpu });
        }
        slot.kicker.stop.store(false, Ordering::SeqCst);
        slot.kicker.set_immediate_exit(0);
        Ok(())
    }

    fn run_loop(&self, vcpu: u32, opts: RunOptions) -> Result<VmExit> {
        let slot = &self.vcpus[vcpu as usize];
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() } as u64;
        slot.kicker.thread.store(me, Ordering::SeqCst);
        let r = {
            let mut st = lock(&slot.state);
            self.run_locked(slot, &mut st, opts)
        };
        slot.kicker.thread.store(0, Ordering::SeqCst);
        slot.kicker.running.store(false, Ordering::SeqCst);
        r
    }

    fn run_locked(&self, slot: &VcpuSlot, st: &mut VcpuState, opts: RunOptions) -> Result<VmExit> {
        loop {
            if slot.kicker.stop.swap(false, Ordering::SeqCst) {
                self.finish_step(st)?;
                return Ok(VmExit::Interrupted);
            }
            let sw = !lock(&self.swbps).is_empty();
            let control = control_word(&st.want, sw);
            if control != st.applied {
                st.hw.set_guest_debug(control, &st.hw_regs)?;
                st.applied = control;
            }
            let mut stepped: Option<u32> = None;
            if !st.want.single_step {
                st.known = Known::default();
            } else if st.step_mask.is_none() {
                // Fast path: I and F known to be masked by the guest itself and the
                // next instruction cannot unmask them: nothing to do, no ioctl.
                stepped = self.known_insn(st);
                let fast = st.known.if_masked && stepped.is_some_and(|i| !step::may_unmask(i));
                if !fast {
                    let p = st.get64(REG_PSTATE)?;
                    if p & (PSTATE_I | PSTATE_F) == PSTATE_I | PSTATE_F {
                        st.known.if_masked = true;
                    } else {
                        let pc = st.get64(REG_PC)?;
                        let insn = self.fetch_insn(st, pc);
                        st.set64(REG_PSTATE, p | PSTATE_I | PSTATE_F)?;
                        st.step_mask = Some(StepMask::new(p, insn));
                    }
                }
            }
            st.pending_mmio = false;
            let raw = st.hw.run()?;
            slot.kicker.set_immediate_exit(0);
            match raw {
                RawExit::Interrupted => {
                    st.known = Known::default();
                    continue;
                }
                RawExit::Mmio {
                    addr,
                    len,
                    is_write,
                    data,
                } => {
                    // The access is not finished: the step mask stays until it is.
                    st.pending_mmio = true;
                    st.known = Known::default();
                    return Ok(VmExit::Mmio {
                        addr,
                        len,
                        is_write,
                        data: if is_write {
                            u64::from_le_bytes(data)
                        } else {
                            0
                        },
                        pc: st.get64(REG_PC)?,
                    });
                }
                RawExit::Debug {
                    hsr,
                    hsr_high,
                    far,
                    flags,
                } => {
                    self.finish_step(st)?;
                    let valid = flags & decode::esr::KVM_DEBUG_ARCH_HSR_HIGH_VALID != 0;
                    let esr = decode::esr_from_kvm_debug_exit(hsr, hsr_high, valid);
                    let pc = st.get64(REG_PC)?;
                    let ec = decode::esr::ec_of(esr);
                    let cause = self.cause(st, ec, pc);
                    if cause == Some(DebugCause::Step) && st.step_mask.is_none() {
                        st.known.pc = Some(pc);
                        if stepped.is_none_or(step::is_msr_register) {
                            st.known.stage1 = None;
                        }
                        if stepped.is_none() {
                            st.known.if_masked = false;
                        }
                    } else {
                        st.known = Known::default();
                    }
                    let Some(cause) = cause else {
                        let r = self.reinject(st, esr, pc, far)?;
                        st.reinjections += 1;
                        if opts.report_reinjections {
                            return Ok(VmExit::Reinjected(r));
                        }
                        continue;
                    };
                    return Ok(VmExit::Debug(DebugExit {
                        esr,
                        hsr_high_valid: valid,
                        ec,
                        summary: st.summary(esr),
                        pc,
                        far: (cause == DebugCause::Watchpoint).then_some(far),
                        cause,
                    }));
                }
                other => {
                    st.known = Known::default();
                    self.finish_step(st)?;
                    return Ok(match other {
                        RawExit::SystemEvent { kind, data } => VmExit::SystemEvent {
                            kind: SystemEventKind::from_raw(kind),
                            data,
                        },
                        RawExit::InternalError { suberror } => VmExit::InternalError { suberror },
                        RawExit::FailEntry { reason, cpu } => VmExit::FailEntry { reason, cpu },
                        RawExit::Unknown(reason) => VmExit::Unknown { reason },
                        _ => unreachable!("handled above"),
                    });
                }
            }
        }
    }

    /// Ours or not: None means "re-inject into the guest".
    fn cause(&self, st: &VcpuState, ec: u8, pc: u64) -> Option<DebugCause> {
        use crate::reinject::*;
        match ec {
            EC_BRK64 => {
                let pa = st.translate(&self.mem, pc).ok()?.pa;
                lock(&self.swbps)
                    .contains(pa)
                    .then_some(DebugCause::SwBreakpoint)
            }
            EC_HW_BP_LOWER | EC_HW_BP_CURRENT => {
                (!st.want.hw_breakpoints.is_empty()).then_some(DebugCause::HwBreakpoint)
            }
            EC_STEP_LOWER | EC_STEP_CURRENT => st.want.single_step.then_some(DebugCause::Step),
            EC_WATCH_LOWER | EC_WATCH_CURRENT => {
                (!st.want.watchpoints.is_empty()).then_some(DebugCause::Watchpoint)
            }
            // We never insert A32/T32 BKPT: an AArch32 EL0 task's own BKPT goes back to
            // the guest (its SIGTRAP), else every continue would stop on it again.
            EC_BKPT32 => None,
            _ => Some(DebugCause::Other),
        }
    }

    fn reinject(&self, st: &mut VcpuState, esr: u64, pc: u64, far: u64) -> Result<Reinjection> {
        let pstate = st.get64(REG_PSTATE)?;
        let vbar = st.get64(REG_VBAR_EL1)?;
        let sctlr = st.get64(REG_SCTLR_EL1)?;
        let d = crate::reinject::plan(esr, pstate, pc, far, vbar, sctlr)?;
        st.set64(a64::REG_ESR_EL1, d.entry.esr_el1)?;
        st.set64(a64::REG_ELR_EL1, d.entry.elr_el1)?;
        st.set64(a64::REG_SPSR_EL1, d.entry.spsr_el1)?;
        if let Some(f) = d.far {
            st.set64(a64::REG_FAR_EL1, f)?;
        }
        st.set64(REG_PSTATE, d.entry.pstate)?;
        st.set64(REG_PC, d.entry.pc)?;
        Ok(Reinjection {
            esr: d.entry.esr_el1,
            elr: d.entry.elr_el1,
            vector: d.entry.pc,
        })
    }

    /// The instruction at the known PC, through the known (or freshly read
    /// and then kept) stage-1 registers; None when PC is not known.
    fn known_insn(&self, st: &mut VcpuState) -> Option<u32> {
        let pc = st.known.pc?;
        let regs = match st.known.stage1 {
            Some(r) => r,
            None => {
                let r = st.stage1().ok()?;
                st.known.stage1 = Some(r);
                r
            }
        };
        let pa = walk::translate(&self.mem, &regs, pc).ok()?.pa;
        let mut b = [0u8; 4];
        self.mem.read(pa, &mut b).ok()?;
        Some(u32::from_le_bytes(b))
    }

    fn fetch_insn(&self, st: &VcpuState, pc: u64) -> Option<u32> {
        let pa = st.translate(&self.mem, pc).ok()?.pa;
        let mut b = [0u8; 4];
        self.mem.read(pa, &mut b).ok()?;
        Some(u32::from_le_bytes(b))
    }

    /// Ends a masked single-step: restores the guest's own I/F bits, or what
    /// the stepped instruction made of them (see [`crate::step`]).
    fn finish_step(&self, st: &mut VcpuState) -> Result<()> {
        let Some(m) = st.step_mask.take() else {
            return Ok(());
        };
        let p = st.get64(REG_PSTATE)?;
        let pc = st.get64(REG_PC)?;
        let vbar = st.get64(REG_VBAR_EL1)?;
        let xt = match m.insn.and_then(step::msr_daif_rt) {
            Some(31) => Some(0),
            Some(rt) => Some(st.get64(a64::x_reg(rt))?),
            None => None,
        };
        if let Some(np) = m.restore(p, pc, vbar, xt) {
            st.set64(REG_PSTATE, np)?;
        }
        Ok(())
    }
}
