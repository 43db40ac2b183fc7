//! One vCPU: its KVM fd (arm64 only), the raw exit of one `KVM_RUN`, and the
//! registers by KVM id.
//!
//! Everything architecture-specific about ioctls lives in [`HwVcpu`]; on
//! hosts other than aarch64 `HwVcpu` is an empty enum (no value can exist),
//! so the VM code above it builds and is unit-tested everywhere while every
//! entry point that would create one returns [`Error::Unsupported`].

use crate::arch::aarch64::{Reg, RegSize};
use crate::error::{Error, Result};

/// `kvm_guest_debug_arch` for arm64: DBGBCR/DBGBVR/DBGWCR/DBGWVR values (16 slots each).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HwDebugRegs {
    /// DBGBCR<n>_EL1 values.
    pub bcr: [u64; 16],
    /// DBGBVR<n>_EL1 values.
    pub bvr: [u64; 16],
    /// DBGWCR<n>_EL1 values.
    pub wcr: [u64; 16],
    /// DBGWVR<n>_EL1 values.
    pub wvr: [u64; 16],
}

/// What one `KVM_RUN` returned, copied out of `struct kvm_run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawExit {
    /// KVM_EXIT_DEBUG: `debug.arch` and `kvm_run.flags`.
    Debug {
        /// ESR_EL2 bits 31:0.
        hsr: u32,
        /// ESR_EL2 bits 63:32.
        hsr_high: u32,
        /// FAR_EL2 (meaningful for watchpoints).
        far: u64,
        /// `kvm_run.flags` (bit 0: KVM_DEBUG_ARCH_HSR_HIGH_VALID).
        flags: u16,
    },
    /// KVM_EXIT_MMIO.
    Mmio {
        /// Guest-physical address.
        addr: u64,
        /// Access size, 1..=8.
        len: u32,
        /// Store (true) or load.
        is_write: bool,
        /// Store data (little-endian in the low `len` bytes).
        data: [u8; 8],
    },
    /// KVM_EXIT_SYSTEM_EVENT.
    SystemEvent {
        /// KVM_SYSTEM_EVENT_* type.
        kind: u32,
        /// `data[0..ndata]`.
        data: Vec<u64>,
    },
    /// KVM_EXIT_INTERNAL_ERROR.
    InternalError {
        /// `internal.suberror`.
        suberror: u32,
    },
    /// KVM_EXIT_FAIL_ENTRY.
    FailEntry {
        /// `hardware_entry_failure_reason`.
        reason: u64,
        /// The physical CPU.
        cpu: u32,
    },
    /// `KVM_RUN` returned EINTR (a signal or immediate_exit).
    Interrupted,
    /// Any other exit reason, by number.
    Unknown(u32),
}

#[cfg(target_arch = "aarch64")]
pub use aarch64_impl::HwVcpu;

#[cfg(target_arch = "aarch64")]
mod aarch64_impl {
    use super::*;
    use kvm_bindings::{kvm_guest_debug, kvm_guest_debug_arch, kvm_run, kvm_vcpu_init};
    use kvm_ioctls::{VcpuExit, VcpuFd, VmFd};

    /// A KVM vCPU fd with its mapped `kvm_run`.
    pub struct HwVcpu {
        fd: VcpuFd,
        run: *mut kvm_run,
    }

    // SAFETY: the VcpuFd is a file descriptor; `run` points into its mapping,
    // which lives as long as `fd`. Access is serialised by the owner's Mutex,
    // except `immediate_exit`, which other threads touch only atomically.
    unsafe impl Send for HwVcpu {}

    impl HwVcpu {
        /// KVM_CREATE_VCPU + KVM_ARM_VCPU_INIT with `init` (the preferred
        /// target from KVM_ARM_PREFERRED_TARGET, plus features).
        pub fn create(vm: &VmFd, index: u64, init: &kvm_vcpu_init) -> Result<Self> {
            let mut fd = vm
                .create_vcpu(index)
                .map_err(|e| Error::ioctl("KVM_CREATE_VCPU", e.errno(), format!("vCPU {index}")))?;
            fd.vcpu_init(init).map_err(|e| {
                Error::ioctl("KVM_ARM_VCPU_INIT", e.errno(), format!("vCPU {index}"))
            })?;
            let run = fd.get_kvm_run() as *mut kvm_run;
            Ok(HwVcpu { fd, run })
        }

        /// The kvm-ioctls fd (see `Vm::with_raw_vcpu`).
        pub fn raw(&mut self) -> &mut VcpuFd {
            &mut self.fd
        }

        /// KVM_ARM_VCPU_INIT again: resets every register to its reset value.
        pub fn reinit(&mut self, init: &kvm_vcpu_init) -> Result<()> {
            self.fd
                .vcpu_init(init)
                .map_err(|e| Error::ioctl("KVM_ARM_VCPU_INIT", e.errno(), "reset"))
        }

        /// The address of `kvm_run.immediate_exit`, for [`crate::run::Kicker`].
        pub fn immediate_exit_ptr(&self) -> *mut u8 {
            // SAFETY: `run` is the live kvm_run mapping; addr_of_mut! makes no reference.
            unsafe { core::ptr::addr_of_mut!((*self.run).immediate_exit) }
        }

        /// KVM_GET_ONE_REG (KVM_CAP_ONE_REG).
        pub fn get(&self, reg: Reg) -> Result<u128> {
            let mut b = [0u8; 16];
            let n = reg.size.bytes();
            self.fd.get_one_reg(reg.id, &mut b[..n]).map_err(|e| {
                Error::ioctl("KVM_GET_ONE_REG", e.errno(), format!("{:#x}", reg.id))
            })?;
            Ok(u128::from_le_bytes(b))
        }

        /// KVM_SET_ONE_REG (KVM_CAP_ONE_REG).
        pub fn set(&self, reg: Reg, value: u128) -> Result<()> {
            let b = value.to_le_bytes();
            self.fd
                .set_one_reg(reg.id, &b[..reg.size.bytes()])
                .map_err(|e| {
                    Error::ioctl("KVM_SET_ONE_REG", e.errno(), format!("{:#x}", reg.id))
                })?;
            Ok(())
        }

        /// KVM_SET_GUEST_DEBUG (KVM_CAP_SET_GUEST_DEBUG; the bits the kernel
        /// accepts are KVM_CAP_SET_GUEST_DEBUG2's mask).
        pub fn set_guest_debug(&self, control: u32, hw: &HwDebugRegs) -> Result<()> {
            let dbg = kvm_guest_debug {
                control,
                pad: 0,
                arch: kvm_guest_debug_arch {
                    dbg_bcr: hw.bcr,
                    dbg_bvr: hw.bvr,
                    dbg_wcr: hw.wcr,
                    dbg_wvr: hw.wvr,
                },
            };
            self.fd.set_guest_debug(&dbg).map_err(|e| {
                Error::ioctl(
                    "KVM_SET_GUEST_DEBUG",
                    e.errno(),
                    format!("control {control:#x}"),
                )
            })
        }

        /// Maps the VM's coalesced-MMIO ring through this vCPU's fd
        /// (KVM_CAP_COALESCED_MMIO; Documentation/virt/kvm/api.rst, KVM_REGISTER_COALESCED_MMIO).
        pub fn map_coalesced_ring(&mut self) -> Result<()> {
            self.fd
                .map_coalesced_mmio_ring()
                .map_err(|e| Error::ioctl("mmap of the coalesced MMIO ring", e.errno(), ""))
        }

        /// The oldest store in the coalesced-MMIO ring, taken off it: (address,
        /// value of its `len` bytes, little-endian); None when the ring is empty.
        pub fn take_coalesced(&mut self) -> Option<(u64, u64)> {
            let e = self.fd.coalesced_mmio_read().ok()??;
            let n = (e.len as usize).min(8);
            let mut b = [0u8; 8];
            b[..n].copy_from_slice(&e.data[..n]);
            Some((e.phys_addr, u64::from_le_bytes(b)))
        }

        /// Fills the data of a pending MMIO load (little-endian).
        pub fn set_mmio_read_data(&mut self, data: u64) {
            let run = self.fd.get_kvm_run();
            // Writing a union field is safe; the caller only does it after KVM_EXIT_MMIO,
            // when `mmio` is the member KVM reads back.
            run.__bindgen_anon_1.mmio.data = data.to_le_bytes();
        }

        /// KVM_RUN once.
        pub fn run(&mut self) -> Result<RawExit> {
            let exit = match self.fd.run() {
                Ok(VcpuExit::Debug(a)) => RawExit::Debug {
                    hsr: a.hsr,
                    hsr_high: a.hsr_high,
                    far: a.far,
                    flags: 0,
                },
                Ok(VcpuExit::MmioWrite(addr, d)) => {
                    let mut data = [0u8; 8];
                    let n = d.len().min(8);
                    data[..n].copy_from_slice(&d[..n]);
                    RawExit::Mmio {
                        addr,
                        len: n as u32,
                        is_write: true,
                        data,
                    }
                }
                Ok(VcpuExit::MmioRead(addr, d)) => RawExit::Mmio {
                    addr,
                    len: d.len() as u32,
                    is_write: false,
                    data: [0; 8],
                },
                Ok(VcpuExit::SystemEvent(kind, data)) => RawExit::SystemEvent {
                    kind,
                    data: data.to_vec(),
                },
                Ok(VcpuExit::InternalError) => RawExit::InternalError { suberror: 0 },
                Ok(VcpuExit::FailEntry(reason, cpu)) => RawExit::FailEntry { reason, cpu },
                Ok(VcpuExit::Intr) => RawExit::Interrupted,
                Ok(_) => RawExit::Unknown(self.fd.get_kvm_run().exit_reason),
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                    RawExit::Interrupted
                }
                Err(e) => return Err(Error::ioctl("KVM_RUN", e.errno(), "")),
            };
            Ok(match exit {
                RawExit::Debug {
                    hsr, hsr_high, far, ..
                } => RawExit::Debug {
                    hsr,
                    hsr_high,
                    far,
                    flags: self.fd.get_kvm_run().flags as u16,
                },
                RawExit::InternalError { .. } => RawExit::InternalError {
                    // SAFETY: exit_reason was KVM_EXIT_INTERNAL_ERROR, so `internal` is the live member.
                    suberror: unsafe { self.fd.get_kvm_run().__bindgen_anon_1.internal.suberror },
                },
                other => other,
            })
        }
    }
}

/// On hosts other than aarch64 no vCPU can exist: this enum has no values,
/// and every method is unreachable by construction.
#[cfg(not(target_arch = "aarch64"))]
pub enum HwVcpu {}

#[cfg(not(target_arch = "aarch64"))]
#[allow(missing_docs)]
impl HwVcpu {
    pub fn immediate_exit_ptr(&self) -> *mut u8 {
        match *self {}
    }
    pub fn get(&self, _reg: Reg) -> Result<u128> {
        match *self {}
    }
    pub fn set(&self, _reg: Reg, _value: u128) -> Result<()> {
        match *self {}
    }
    pub fn set_guest_debug(&self, _control: u32, _hw: &HwDebugRegs) -> Result<()> {
        match *self {}
    }
    pub fn set_mmio_read_data(&mut self, _data: u64) {
        match *self {}
    }
    pub fn map_coalesced_ring(&mut self) -> Result<()> {
        match *self {}
    }
    pub fn take_coalesced(&mut self) -> Option<(u64, u64)> {
        match *self {}
    }
    pub fn run(&mut self) -> Result<RawExit> {
        match *self {}
    }
}

/// Truncates a value to a register's width, refusing values that do not fit.
pub fn fit(name: &str, reg: Reg, value: u128) -> Result<u128> {
    let max: u128 = match reg.size {
        RegSize::U32 => u32::MAX.into(),
        RegSize::U64 => u64::MAX.into(),
        RegSize::U128 => u128::MAX,
    };
    if value > max {
        return Err(Error::BadArgument {
            why: format!(
                "value {value:#x} does not fit {}-bit register {name}",
                reg.size.bytes() * 8
            ),
        });
    }
    Ok(value)
}
