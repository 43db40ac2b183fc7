//! The in-kernel interrupt controller: vGICv3, or vGICv2 where KVM refuses
//! v3, created with KVM_CREATE_DEVICE once every vCPU exists and before any
//! runs (Documentation/virt/kvm/devices/arm-vgic-v3.rst and arm-vgic.rst).

#[cfg(target_arch = "aarch64")]
use super::{GicVersion, MemoryMap};

/// Shared peripheral interrupts start at INTID 32 (GIC architecture, IHI 0069 2.2).
pub const SPI_BASE: u32 = 32;
/// Interrupts the vGIC implements: 32 private + 96 SPIs (KVM_DEV_ARM_VGIC_GRP_NR_IRQS:
/// a multiple of 32 between 64 and 1024).
pub const NR_IRQS: u32 = 128;
/// KVM_IRQ_LINE's `irq` for arm64: type in bits 27:24 (api.rst).
pub const KVM_ARM_IRQ_TYPE_SHIFT: u32 = 24;
/// Type SPI: an interrupt to the distributor.
pub const KVM_ARM_IRQ_TYPE_SPI: u32 = 1;

#[cfg(target_arch = "aarch64")]
pub use imp::create;

#[cfg(target_arch = "aarch64")]
mod imp {
    use super::*;
    use crate::error::{Error, Result};
    use kvm_bindings::{
        kvm_create_device, kvm_device_attr, kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_V2,
        kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_V3, KVM_DEV_ARM_VGIC_CTRL_INIT,
        KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_GRP_NR_IRQS,
        KVM_VGIC_V2_ADDR_TYPE_CPU, KVM_VGIC_V2_ADDR_TYPE_DIST, KVM_VGIC_V3_ADDR_TYPE_DIST,
        KVM_VGIC_V3_ADDR_TYPE_REDIST,
    };
    use kvm_ioctls::{DeviceFd, VmFd};

    fn attr(
        fd: &DeviceFd,
        group: u32,
        attr: u32,
        addr: u64,
        what: &str,
    ) -> std::result::Result<(), String> {
        let a = kvm_device_attr {
            group,
            attr: attr.into(),
            addr,
            flags: 0,
        };
        fd.set_device_attr(&a)
            .map_err(|e| format!("KVM_SET_DEVICE_ATTR ({what}): {e}"))
    }

    fn set_u64(
        fd: &DeviceFd,
        group: u32,
        a: u32,
        v: u64,
        what: &str,
    ) -> std::result::Result<(), String> {
        // The kernel reads the value through `addr` during the ioctl; `v` outlives it.
        attr(fd, group, a, std::ptr::addr_of!(v) as u64, what)
    }

    fn set_u32(
        fd: &DeviceFd,
        group: u32,
        a: u32,
        v: u32,
        what: &str,
    ) -> std::result::Result<(), String> {
        attr(fd, group, a, std::ptr::addr_of!(v) as u64, what)
    }

    fn device(vm: &VmFd, type_: u32) -> std::result::Result<DeviceFd, String> {
        let mut d = kvm_create_device {
            type_,
            fd: 0,
            flags: 0,
        };
        vm.create_device(&mut d)
            .map_err(|e| format!("KVM_CREATE_DEVICE: {e}"))
    }

    /// A vGIC of `type_` with its register frames at `frames` (KVM_VGIC_*_ADDR_TYPE_*,
    /// address, what), NR_IRQS interrupts, then initialised.
    fn vgic(
        vm: &VmFd,
        type_: u32,
        frames: &[(u32, u64, &str)],
    ) -> std::result::Result<DeviceFd, String> {
        let fd = device(vm, type_)?;
        for &(kind, addr, what) in frames {
            set_u64(&fd, KVM_DEV_ARM_VGIC_GRP_ADDR, kind, addr, what)?;
        }
        set_u32(&fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, NR_IRQS, "NR_IRQS")?;
        attr(
            &fd,
            KVM_DEV_ARM_VGIC_GRP_CTRL,
            KVM_DEV_ARM_VGIC_CTRL_INIT,
            0,
            "CTRL_INIT",
        )?;
        Ok(fd)
    }

    fn v3(vm: &VmFd, m: &MemoryMap) -> std::result::Result<DeviceFd, String> {
        let frames = [
            (KVM_VGIC_V3_ADDR_TYPE_DIST, m.gic_dist, "distributor"),
            (KVM_VGIC_V3_ADDR_TYPE_REDIST, m.gic_redist, "redistributors"),
        ];
        vgic(vm, kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_V3, &frames)
    }

    fn v2(vm: &VmFd, m: &MemoryMap) -> std::result::Result<DeviceFd, String> {
        let frames = [
            (KVM_VGIC_V2_ADDR_TYPE_DIST, m.gic_dist, "distributor"),
            (KVM_VGIC_V2_ADDR_TYPE_CPU, m.gic_cpu, "CPU interface"),
        ];
        vgic(vm, kvm_device_type_KVM_DEV_TYPE_ARM_VGIC_V2, &frames)
    }

    /// Creates the vGIC for `vcpus` vCPUs (all created already): v3, else v2.
    /// Both refused is [`Error::NoGic`] with what KVM said to each.
    pub fn create(vm: &VmFd, m: &MemoryMap, vcpus: usize) -> Result<(GicVersion, DeviceFd)> {
        if vcpus > m.max_vcpus() {
            return Err(Error::BadArgument {
                why: format!(
                    "{vcpus} vCPUs: the board's redistributors fit {}",
                    m.max_vcpus()
                ),
            });
        }
        let e3 = match v3(vm, m) {
            Ok(fd) => return Ok((GicVersion::V3, fd)),
            Err(e) => e,
        };
        match v2(vm, m) {
            Ok(fd) => Ok((GicVersion::V2, fd)),
            Err(e2) => Err(Error::NoGic {
                why: format!("vGICv3 refused ({e3}); vGICv2 refused ({e2})"),
            }),
        }
    }
}
