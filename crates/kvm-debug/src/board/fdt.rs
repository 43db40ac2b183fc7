//! The board's device tree, written with rust-vmm's `vm-fdt`. Nodes and
//! bindings as Linux reads them (Documentation/devicetree/bindings): `cpus`
//! (arm/cpus.yaml, enable-method "psci"), `memory`, `chosen` (bootargs,
//! stdout-path, linux,initrd-start/end, and a kaslr-seed only when asked),
//! the interrupt controller (interrupt-controller/arm,gic-v3.yaml or
//! arm,gic.yaml), the architected timer (timer/arm,arch_timer.yaml), PSCI
//! (arm/psci.yaml, method "hvc": KVM's), the APB clock and the PL011
//! (serial/pl011.yaml). Pure: no KVM.

use super::{GicVersion, MemoryMap};
use crate::error::{Error, Result};
use vm_fdt::FdtWriter;

/// phandle of the interrupt controller.
const PHANDLE_GIC: u32 = 1;
/// phandle of the APB clock.
const PHANDLE_CLK: u32 = 2;
/// GIC interrupt specifier, first cell: 0 = SPI, 1 = PPI (arm,gic.yaml).
const GIC_SPI: u32 = 0;
/// PPI.
const GIC_PPI: u32 = 1;
/// Third cell: IRQ_TYPE_LEVEL_HIGH (include/dt-bindings/interrupt-controller/irq.h).
const IRQ_TYPE_LEVEL_HIGH: u32 = 4;
/// The architected timer's PPIs (arm,arch_timer.yaml order: secure physical,
/// non-secure physical, virtual, hypervisor), as the Arm BSA numbers them: INTID 29, 30, 27, 26.
const TIMER_PPIS: [u32; 4] = [13, 14, 11, 10];
/// The APB clock the PL011 binding asks for (QEMU virt uses the same 24 MHz).
const APB_CLOCK_HZ: u32 = 24_000_000;

/// What the device tree describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FdtConfig {
    /// Where the devices and RAM are.
    pub map: MemoryMap,
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Each vCPU's MPIDR_EL1 affinity (the `reg` of its cpu node).
    pub mpidrs: Vec<u64>,
    /// The interrupt controller KVM created.
    pub gic: GicVersion,
    /// The kernel command line.
    pub cmdline: String,
    /// The initrd's guest-physical range.
    pub initrd: Option<(u64, u64)>,
    /// A KASLR seed, only when the user asked for one (Linux randomizes then).
    pub kaslr_seed: Option<u64>,
}

fn fdt_err(e: vm_fdt::Error) -> Error {
    Error::BadArgument {
        why: format!("writing the device tree: {e}"),
    }
}

/// The device tree blob for `cfg`.
pub fn build(cfg: &FdtConfig) -> Result<Vec<u8>> {
    write(cfg).map_err(fdt_err)
}

fn write(cfg: &FdtConfig) -> std::result::Result<Vec<u8>, vm_fdt::Error> {
    let m = &cfg.map;
    let mut f = FdtWriter::new()?;
    let root = f.begin_node("")?;
    f.property_string("compatible", "linux,dummy-virt")?;
    f.property_string("model", "kvm-debug")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 2)?;
    f.property_u32("interrupt-parent", PHANDLE_GIC)?;

    let chosen = f.begin_node("chosen")?;
    f.property_string("bootargs", &cfg.cmdline)?;
    f.property_string("stdout-path", &format!("/pl011@{:x}", m.uart))?;
    if let Some((start, end)) = cfg.initrd {
        f.property_u64("linux,initrd-start", start)?;
        f.property_u64("linux,initrd-end", end)?;
    }
    if let Some(seed) = cfg.kaslr_seed {
        f.property_u64("kaslr-seed", seed)?;
    }
    f.end_node(chosen)?;

    let memory = f.begin_node(&format!("memory@{:x}", m.ram))?;
    f.property_string("device_type", "memory")?;
    f.property_array_u64("reg", &[m.ram, cfg.ram_size])?;
    f.end_node(memory)?;

    let cpus = f.begin_node("cpus")?;
    f.property_u32("#address-cells", 2)?;
    f.property_u32("#size-cells", 0)?;
    for (i, &mpidr) in cfg.mpidrs.iter().enumerate() {
        let cpu = f.begin_node(&format!("cpu@{i}"))?;
        f.property_string("device_type", "cpu")?;
        f.property_string("compatible", "arm,arm-v8")?;
        f.property_string("enable-method", "psci")?;
        f.property_u64("reg", mpidr)?;
        f.end_node(cpu)?;
    }
    f.end_node(cpus)?;

    let psci = f.begin_node("psci")?;
    f.property_string_list("compatible", vec!["arm,psci-0.2".into(), "arm,psci".into()])?;
    f.property_string("method", "hvc")?;
    f.end_node(psci)?;

    let (gic_name, gic_compat, gic_reg) = match cfg.gic {
        GicVersion::V3 => (
            format!("intc@{:x}", m.gic_dist),
            "arm,gic-v3",
            vec![
                m.gic_dist,
                MemoryMap::GIC_DIST_SIZE,
                m.gic_redist,
                m.redist_size(cfg.mpidrs.len()),
            ],
        ),
        GicVersion::V2 => (
            format!("intc@{:x}", m.gic_dist),
            "arm,cortex-a15-gic",
            vec![
                m.gic_dist,
                MemoryMap::GICV2_DIST_SIZE,
                m.gic_cpu,
                MemoryMap::GICV2_CPU_SIZE,
            ],
        ),
    };
    let gic = f.begin_node(&gic_name)?;
    f.property_string("compatible", gic_compat)?;
    f.property_u32("#interrupt-cells", 3)?;
    f.property_null("interrupt-controller")?;
    f.property_array_u64("reg", &gic_reg)?;
    f.property_phandle(PHANDLE_GIC)?;
    f.end_node(gic)?;

    // GICv2 PPI specifiers carry the CPU mask in bits 15:8 (arm,gic.yaml).
    let ppi_flags = match cfg.gic {
        GicVersion::V3 => IRQ_TYPE_LEVEL_HIGH,
        GicVersion::V2 => IRQ_TYPE_LEVEL_HIGH | (((1u32 << cfg.mpidrs.len().min(8)) - 1) << 8),
    };
    let timer = f.begin_node("timer")?;
    f.property_string("compatible", "arm,armv8-timer")?;
    let ints: Vec<u32> = TIMER_PPIS
        .iter()
        .flat_map(|&p| [GIC_PPI, p, ppi_flags])
        .collect();
    f.property_array_u32("interrupts", &ints)?;
    f.property_null("always-on")?;
    f.end_node(timer)?;

    let clk = f.begin_node("apb-pclk")?;
    f.property_string("compatible", "fixed-clock")?;
    f.property_u32("#clock-cells", 0)?;
    f.property_u32("clock-frequency", APB_CLOCK_HZ)?;
    f.property_string("clock-output-names", "clk24mhz")?;
    f.property_phandle(PHANDLE_CLK)?;
    f.end_node(clk)?;

    let uart = f.begin_node(&format!("pl011@{:x}", m.uart))?;
    f.property_string_list(
        "compatible",
        vec!["arm,pl011".into(), "arm,primecell".into()],
    )?;
    f.property_array_u64("reg", &[m.uart, MemoryMap::UART_SIZE])?;
    f.property_array_u32("interrupts", &[GIC_SPI, m.uart_spi, IRQ_TYPE_LEVEL_HIGH])?;
    f.property_array_u32("clocks", &[PHANDLE_CLK, PHANDLE_CLK])?;
    f.property_string_list("clock-names", vec!["uartclk".into(), "apb_pclk".into()])?;
    f.end_node(uart)?;

    f.end_node(root)?;
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(gic: GicVersion) -> FdtConfig {
        FdtConfig {
            map: MemoryMap::VIRT,
            ram_size: 256 << 20,
            mpidrs: vec![0, 1],
            gic,
            cmdline: "console=ttyAMA0 rdinit=/init".into(),
            initrd: Some((0x4f00_0000, 0x4f40_0000)),
            kaslr_seed: None,
        }
    }

    fn u32s(p: &[u8]) -> Vec<u32> {
        p.chunks(4)
            .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
            .collect()
    }

    #[test]
    fn the_tree_reads_back_as_linux_reads_it() {
        let blob = build(&cfg(GicVersion::V3)).unwrap();
        let t = fdt::Fdt::new(&blob).expect("a valid DTB");
        assert_eq!(t.chosen().bootargs(), Some("console=ttyAMA0 rdinit=/init"));
        assert_eq!(t.chosen().stdout().map(|n| n.name), Some("pl011@9000000"));
        let mem: Vec<_> = t
            .memory()
            .regions()
            .map(|r| (r.starting_address as u64, r.size))
            .collect();
        assert_eq!(mem, vec![(0x4000_0000, Some(256 << 20))]);
        let cpus: Vec<_> = t.cpus().map(|c| c.ids().first()).collect();
        assert_eq!(cpus, vec![0, 1]);
        for c in t.cpus() {
            assert_eq!(
                c.property("enable-method").and_then(|p| p.as_str()),
                Some("psci")
            );
        }
        let chosen = t.find_node("/chosen").unwrap();
        let be64 =
            |n: &str| u64::from_be_bytes(chosen.property(n).unwrap().value.try_into().unwrap());
        assert_eq!(
            (be64("linux,initrd-start"), be64("linux,initrd-end")),
            (0x4f00_0000, 0x4f40_0000)
        );
        assert!(
            chosen.property("kaslr-seed").is_none(),
            "no KASLR unless asked"
        );
        let gic = t.find_compatible(&["arm,gic-v3"]).unwrap();
        let reg: Vec<_> = gic
            .reg()
            .unwrap()
            .map(|r| (r.starting_address as u64, r.size))
            .collect();
        assert_eq!(
            reg,
            vec![
                (0x0800_0000, Some(0x1_0000)),
                (0x080a_0000, Some(2 * 0x2_0000))
            ]
        );
        let uart = t.find_compatible(&["arm,pl011"]).unwrap();
        assert_eq!(
            u32s(uart.property("interrupts").unwrap().value),
            vec![0, 1, 4]
        );
        // The UART inherits the root's interrupt-parent (devicetree spec 2.4.1): the GIC.
        let parent = t
            .root()
            .property("interrupt-parent")
            .and_then(|p| p.as_usize())
            .unwrap();
        assert_eq!(
            t.find_phandle(parent as u32).map(|n| n.name),
            Some("intc@8000000")
        );
        assert!(uart.property("interrupt-parent").is_none());
        let timer = t.find_compatible(&["arm,armv8-timer"]).unwrap();
        assert_eq!(
            u32s(timer.property("interrupts").unwrap().value),
            vec![1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4]
        );
        let psci = t.find_node("/psci").unwrap();
        assert_eq!(
            psci.property("method").and_then(|p| p.as_str()),
            Some("hvc")
        );
        assert!(t.find_compatible(&["arm,psci-0.2"]).is_some());
    }

    #[test]
    fn gic_v2_and_a_requested_kaslr_seed() {
        let mut c = cfg(GicVersion::V2);
        c.kaslr_seed = Some(0x1234);
        let blob = build(&c).unwrap();
        let t = fdt::Fdt::new(&blob).unwrap();
        let gic = t.find_compatible(&["arm,cortex-a15-gic"]).unwrap();
        let reg: Vec<_> = gic
            .reg()
            .unwrap()
            .map(|r| r.starting_address as u64)
            .collect();
        assert_eq!(reg, vec![0x0800_0000, 0x0801_0000]);
        let timer = t.find_compatible(&["arm,armv8-timer"]).unwrap();
        assert_eq!(
            u32s(timer.property("interrupts").unwrap().value)[2],
            0x304,
            "CPU mask of 2 CPUs"
        );
        let seed = t
            .find_node("/chosen")
            .unwrap()
            .property("kaslr-seed")
            .unwrap()
            .value;
        assert_eq!(u64::from_be_bytes(seed.try_into().unwrap()), 0x1234);
    }
}
