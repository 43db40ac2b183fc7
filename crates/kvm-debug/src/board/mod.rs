//! A Linux-capable board: what `kvm-debug run --kernel` boots.
//!
//! * [`image`]: the arm64 `Image` header and where kernel, initrd and device tree go;
//! * [`fdt`]: the device tree (rust-vmm `vm-fdt`);
//! * [`pl011`]: the UART model, served on the vCPU thread with its interrupt
//!   through KVM_IRQ_LINE;
//! * [`gic`]: the in-kernel vGICv3 (vGICv2 where v3 is refused), created
//!   with KVM_CREATE_DEVICE after every vCPU exists.
//!
//! The architected timer and PSCI 0.2 are KVM's: secondary vCPUs start
//! powered off and come up through PSCI CPU_ON; SYSTEM_OFF and SYSTEM_RESET
//! arrive as system events. The board lives in this crate, not beside it,
//! because it needs the VM fd (KVM_CREATE_DEVICE, KVM_IRQ_LINE) and the run
//! loop (MMIO to its devices never leaves the vCPU thread).

pub mod fdt;
pub mod gic;
pub mod image;
pub mod pl011;

use std::sync::Mutex;

/// The interrupt controller KVM gave the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GicVersion {
    /// vGICv3 (KVM_DEV_TYPE_ARM_VGIC_V3).
    V3,
    /// vGICv2 (KVM_DEV_TYPE_ARM_VGIC_V2): where the host cannot offer v3.
    V2,
}

impl GicVersion {
    /// "v3" or "v2".
    pub fn name(self) -> &'static str {
        match self {
            GicVersion::V3 => "v3",
            GicVersion::V2 => "v2",
        }
    }
}

/// Guest-physical addresses of the board, as QEMU's `virt` machine places
/// them (hw/arm/virt.c `base_memmap`), so a kernel's view matches QEMU's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryMap {
    /// GIC distributor.
    pub gic_dist: u64,
    /// GICv2 CPU interface.
    pub gic_cpu: u64,
    /// GICv3 redistributors, one 128 KiB frame pair per vCPU.
    pub gic_redist: u64,
    /// The PL011.
    pub uart: u64,
    /// The PL011's SPI number (INTID 32 + this).
    pub uart_spi: u32,
    /// RAM.
    pub ram: u64,
}

impl MemoryMap {
    /// QEMU virt's map.
    pub const VIRT: MemoryMap = MemoryMap {
        gic_dist: 0x0800_0000,
        gic_cpu: 0x0801_0000,
        gic_redist: 0x080a_0000,
        uart: 0x0900_0000,
        uart_spi: 1,
        ram: 0x4000_0000,
    };
    /// GICv3 distributor size (arm-vgic-v3.rst: 64 KiB).
    pub const GIC_DIST_SIZE: u64 = 0x1_0000;
    /// One vCPU's redistributor (RD_base + SGI_base frames, 2 x 64 KiB).
    pub const GIC_REDIST_PER_CPU: u64 = 0x2_0000;
    /// GICv2 distributor and CPU interface sizes (arm-vgic.rst: 4 KiB and 8 KiB).
    pub const GICV2_DIST_SIZE: u64 = 0x1000;
    /// GICv2 CPU interface size.
    pub const GICV2_CPU_SIZE: u64 = 0x2000;
    /// The PL011's register window (DDI 0183G: 4 KiB).
    pub const UART_SIZE: u64 = 0x1000;

    /// The redistributor region for `vcpus` vCPUs.
    pub fn redist_size(&self, vcpus: usize) -> u64 {
        Self::GIC_REDIST_PER_CPU * vcpus as u64
    }

    /// How many vCPUs fit below the UART with their redistributors.
    pub fn max_vcpus(&self) -> usize {
        ((self.uart - self.gic_redist) / Self::GIC_REDIST_PER_CPU) as usize
    }
}

/// How to build the board's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoardConfig {
    /// Where the UART's output goes (a file descriptor the VM does not own; 1 = stdout).
    pub console_fd: i32,
}

/// The devices the run loop serves, and the interrupt controller behind them.
pub(crate) struct Board {
    pub(crate) map: MemoryMap,
    pub(crate) gic: GicVersion,
    /// Kept open: the vGIC lives as long as its device fd.
    #[cfg(target_arch = "aarch64")]
    #[allow(dead_code)]
    pub(crate) gic_fd: kvm_ioctls::DeviceFd,
    pub(crate) console_fd: i32,
    /// The UART and the interrupt level last given to KVM_IRQ_LINE.
    pub(crate) uart: Mutex<(pl011::Pl011, bool)>,
    /// Stores to the UART's data register go to KVM's coalesced-MMIO ring instead of
    /// exiting (see [`Board::coalesced_stores`]).
    pub(crate) coalesced_dr: bool,
}

/// What the board did with an MMIO access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// Not a board device.
    No,
    /// A store, done.
    Stored,
    /// A load, with its value.
    Loaded(u64),
}

impl Board {
    /// Serves an access to the board's devices: (what was done, the new UART
    /// interrupt level when it changed). Console output is written at once.
    pub(crate) fn mmio(&self, addr: u64, is_write: bool, data: u64) -> (Served, Option<bool>) {
        let m = &self.map;
        if !(m.uart..m.uart + MemoryMap::UART_SIZE).contains(&addr) {
            return (Served::No, None);
        }
        let off = addr - m.uart;
        let mut g = crate::vm::lock(&self.uart);
        let (uart, level) = &mut *g;
        let served = if is_write {
            if let Some(byte) = uart.write(off, data as u32) {
                self.console(&[byte]);
            }
            Served::Stored
        } else {
            Served::Loaded(u64::from(uart.read(off)))
        };
        let now = uart.irq();
        let change = (now != *level).then(|| {
            *level = now;
            now
        });
        (served, change)
    }

    /// Applies, in order, the stores to the data register that KVM queued in its
    /// coalesced-MMIO ring instead of exiting; the output goes out in one write.
    /// Linux's PL011 driver reads UARTFR before every character (and writes IMSC
    /// after a burst), so a queued store waits at most until that access exits,
    /// and every exit drains the ring before it is served. This halves the exits
    /// of console output: one per character instead of two.
    /// Returns the new interrupt level when it changed.
    pub(crate) fn coalesced_stores(
        &self,
        mut next: impl FnMut() -> Option<(u64, u64)>,
    ) -> Option<bool> {
        let mut g = crate::vm::lock(&self.uart);
        let (uart, level) = &mut *g;
        let mut out = Vec::new();
        while let Some((addr, data)) = next() {
            if let Some(byte) = uart.write(addr.wrapping_sub(self.map.uart), data as u32) {
                out.push(byte);
            }
        }
        if !out.is_empty() {
            self.console(&out);
        }
        let now = uart.irq();
        (now != *level).then(|| {
            *level = now;
            now
        })
    }

    /// Bytes from the host's console into the UART: the new interrupt level when it changed.
    pub(crate) fn input(&self, bytes: &[u8]) -> Option<bool> {
        let mut g = crate::vm::lock(&self.uart);
        let (uart, level) = &mut *g;
        uart.push_input(bytes);
        let now = uart.irq();
        (now != *level).then(|| {
            *level = now;
            now
        })
    }

    fn console(&self, bytes: &[u8]) {
        // SAFETY: writing a buffer we own to a descriptor the caller keeps open;
        // a failed or short write loses console output only, never guest state.
        let _ = unsafe { libc::write(self.console_fd, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// The KVM_IRQ_LINE number of the UART's SPI: type SPI in bits 27:24 and the
    /// INTID (32 + SPI) in bits 15:0 (Documentation/virt/kvm/api.rst, KVM_IRQ_LINE, arm64).
    pub(crate) fn uart_irq_line(&self) -> u32 {
        (gic::KVM_ARM_IRQ_TYPE_SPI << gic::KVM_ARM_IRQ_TYPE_SHIFT)
            | (gic::SPI_BASE + self.map.uart_spi)
    }
}

#[cfg(all(test, not(target_arch = "aarch64")))]
mod tests {
    use super::*;

    /// A board whose console is a pipe (no vGIC fd on this host).
    fn board() -> (Board, std::fs::File) {
        let mut fds = [0; 2];
        // SAFETY: pipe() fills two descriptors we then own.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: fds[0] is a fresh descriptor owned by nobody else.
        let read_end = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[0]) };
        let b = Board {
            map: MemoryMap::VIRT,
            gic: GicVersion::V3,
            console_fd: fds[1],
            uart: Mutex::new(Default::default()),
            coalesced_dr: true,
        };
        (b, read_end)
    }

    #[test]
    fn coalesced_stores_go_out_in_order_in_one_write_and_raise_tx() {
        use std::io::Read;
        let (b, mut console) = board();
        let dr = b.map.uart + pl011::DR;
        assert_eq!(
            b.mmio(b.map.uart + pl011::IMSC, true, u64::from(pl011::INT_TX)),
            (Served::Stored, None)
        );
        let mut queued =
            vec![(dr, u64::from(b'o')), (dr, 0x1234_0000 | u64::from(b'k'))].into_iter();
        assert_eq!(
            b.coalesced_stores(|| queued.next()),
            Some(true),
            "TX raised"
        );
        assert_eq!(
            b.coalesced_stores(|| None),
            None,
            "nothing queued: no change"
        );
        // SAFETY: closing the write end we own, so the read below ends.
        unsafe { libc::close(b.console_fd) };
        let mut out = String::new();
        console.read_to_string(&mut out).unwrap();
        assert_eq!(out, "ok");
    }
}
