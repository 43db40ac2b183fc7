//! The board's PL011 UART, modelled in Rust and served on the vCPU thread
//! (Arm PrimeCell UART (PL011) Technical Reference Manual, DDI 0183G): data,
//! flags, line control, interrupt mask/status/clear, the PrimeCell ID
//! registers Linux's AMBA bus probes, a receive FIFO fed from the host, and
//! the interrupt level the board drives through KVM_IRQ_LINE. Pure: no KVM.

use std::collections::VecDeque;

/// UARTDR, data (DDI 0183G 3.3.1).
pub const DR: u64 = 0x000;
/// UARTDR's width: Linux stores to it 16 or 32 bits at a time, both inside.
pub const DR_BYTES: u32 = 4;
/// UARTRSR/UARTECR, receive status / error clear (3.3.2).
pub const RSR: u64 = 0x004;
/// UARTFR, flags (3.3.3).
pub const FR: u64 = 0x018;
/// UARTILPR, IrDA low-power counter (3.3.4).
pub const ILPR: u64 = 0x020;
/// UARTIBRD, integer baud rate divisor (3.3.5).
pub const IBRD: u64 = 0x024;
/// UARTFBRD, fractional baud rate divisor (3.3.6).
pub const FBRD: u64 = 0x028;
/// UARTLCR_H, line control (3.3.7).
pub const LCR_H: u64 = 0x02c;
/// UARTCR, control (3.3.8).
pub const CR: u64 = 0x030;
/// UARTIFLS, FIFO interrupt level select (3.3.9).
pub const IFLS: u64 = 0x034;
/// UARTIMSC, interrupt mask set/clear (3.3.10).
pub const IMSC: u64 = 0x038;
/// UARTRIS, raw interrupt status (3.3.11).
pub const RIS: u64 = 0x03c;
/// UARTMIS, masked interrupt status (3.3.12).
pub const MIS: u64 = 0x040;
/// UARTICR, interrupt clear (3.3.13).
pub const ICR: u64 = 0x044;
/// UARTDMACR, DMA control (3.3.14).
pub const DMACR: u64 = 0x048;
/// UARTPeriphID0..3 and UARTPCellID0..3 (3.3.15-3.3.22), from 0xfe0.
pub const ID_BASE: u64 = 0xfe0;
/// The ID registers' values: PL011 r1p5 part 0x011, designer Arm (0x41), and
/// the PrimeCell ID 0xb105f00d (3.3.15-3.3.22; what QEMU's pl011 reports too).
pub const ID: [u32; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];

/// UARTFR.RXFE (bit 4), RXFF (6), TXFE (7).
pub const FR_RXFE: u32 = 1 << 4;
/// Receive FIFO full.
pub const FR_RXFF: u32 = 1 << 6;
/// Transmit FIFO empty.
pub const FR_TXFE: u32 = 1 << 7;
/// UARTLCR_H.FEN (bit 4): FIFOs enabled (16 entries), else one-character holding registers.
pub const LCR_H_FEN: u32 = 1 << 4;
/// Interrupt bits of RIS/MIS/IMSC/ICR: RX (bit 4), TX (5), receive timeout RT (6).
pub const INT_RX: u32 = 1 << 4;
/// Transmit interrupt.
pub const INT_TX: u32 = 1 << 5;
/// Receive timeout interrupt.
pub const INT_RT: u32 = 1 << 6;
/// The 11 interrupt bits (RIS bits 10:0).
const INT_ALL: u32 = 0x7ff;
/// The FIFO depth with FEN set (DDI 0183G 2.4.3).
const FIFO_DEPTH: usize = 16;

/// The UART's registers and receive FIFO.
#[derive(Debug, Clone)]
pub struct Pl011 {
    lcr_h: u32,
    cr: u32,
    ibrd: u32,
    fbrd: u32,
    ifls: u32,
    imsc: u32,
    ris: u32,
    dmacr: u32,
    ilpr: u32,
    rx: VecDeque<u8>,
}

impl Default for Pl011 {
    fn default() -> Self {
        // Reset values (DDI 0183G 3.2, table 3-1): UARTCR 0x300 (TXE, RXE), IFLS 0x12.
        Pl011 {
            lcr_h: 0,
            cr: 0x300,
            ibrd: 0,
            fbrd: 0,
            ifls: 0x12,
            imsc: 0,
            ris: 0,
            dmacr: 0,
            ilpr: 0,
            rx: VecDeque::new(),
        }
    }
}

impl Pl011 {
    fn depth(&self) -> usize {
        if self.lcr_h & LCR_H_FEN != 0 {
            FIFO_DEPTH
        } else {
            1
        }
    }

    /// A load of register `offset`.
    pub fn read(&mut self, offset: u64) -> u32 {
        match offset {
            DR => {
                let c = self.rx.pop_front().map_or(0, u32::from);
                if self.rx.is_empty() {
                    self.ris &= !(INT_RX | INT_RT);
                }
                c
            }
            RSR => 0,
            FR => {
                let mut f = FR_TXFE;
                if self.rx.is_empty() {
                    f |= FR_RXFE;
                }
                if self.rx.len() >= self.depth() {
                    f |= FR_RXFF;
                }
                f
            }
            ILPR => self.ilpr,
            IBRD => self.ibrd,
            FBRD => self.fbrd,
            LCR_H => self.lcr_h,
            CR => self.cr,
            IFLS => self.ifls,
            IMSC => self.imsc,
            RIS => self.ris,
            MIS => self.ris & self.imsc,
            DMACR => self.dmacr,
            o if (ID_BASE..ID_BASE + 32).contains(&o) && o % 4 == 0 => {
                ID[((o - ID_BASE) / 4) as usize]
            }
            _ => 0,
        }
    }

    /// A store to register `offset`; a byte written to UARTDR is returned for
    /// the console. The transmit FIFO drains at once, so TX is raised after it.
    pub fn write(&mut self, offset: u64, value: u32) -> Option<u8> {
        match offset {
            DR => {
                self.ris |= INT_TX;
                return Some(value as u8);
            }
            RSR => {}
            ILPR => self.ilpr = value & 0xff,
            IBRD => self.ibrd = value & 0xffff,
            FBRD => self.fbrd = value & 0x3f,
            LCR_H => self.lcr_h = value & 0xff,
            CR => self.cr = value & 0xffff,
            IFLS => self.ifls = value & 0x3f,
            IMSC => self.imsc = value & INT_ALL,
            ICR => self.ris &= !value,
            DMACR => self.dmacr = value & 0x7,
            _ => {}
        }
        None
    }

    /// Bytes from the host's console: queued for UARTDR, with RX and RT raised.
    pub fn push_input(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.rx.extend(bytes);
        self.ris |= INT_RX | INT_RT;
    }

    /// The interrupt output (UARTINTR): any raised interrupt that is unmasked.
    pub fn irq(&self) -> bool {
        self.ris & self.imsc != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primecell_ids_are_what_linux_amba_probes() {
        let mut u = Pl011::default();
        let id: Vec<u32> = (0..8).map(|i| u.read(ID_BASE + 4 * i)).collect();
        assert_eq!(id, ID);
        // AMBA: periphid = 0x00141011 (part 0x011, designer 0x41), cid 0xb105f00d.
        let pid = id[0] | id[1] << 8 | id[2] << 16 | id[3] << 24;
        let cid = id[4] | id[5] << 8 | id[6] << 16 | id[7] << 24;
        assert_eq!((pid & 0x000f_ffff, cid), (0x0004_1011, 0xb105_f00d));
    }

    #[test]
    fn tx_goes_out_and_raises_tx_until_cleared() {
        let mut u = Pl011::default();
        assert_eq!(u.read(FR) & (FR_TXFE | FR_RXFE), FR_TXFE | FR_RXFE);
        u.write(IMSC, INT_TX);
        assert!(!u.irq());
        assert_eq!(u.write(DR, 0x141), Some(0x41));
        assert!(u.irq());
        assert_eq!(u.read(MIS), INT_TX);
        u.write(ICR, INT_TX);
        assert!(!u.irq());
    }

    #[test]
    fn rx_is_queued_read_in_order_and_clears_when_empty() {
        let mut u = Pl011::default();
        u.write(LCR_H, LCR_H_FEN);
        u.write(IMSC, INT_RX | INT_RT);
        u.push_input(b"ok");
        assert!(u.irq());
        assert_eq!(u.read(FR) & FR_RXFE, 0);
        assert_eq!(u.read(DR), u32::from(b'o'));
        assert!(u.irq(), "one byte left");
        assert_eq!(u.read(DR), u32::from(b'k'));
        assert!(!u.irq());
        assert_ne!(u.read(FR) & FR_RXFE, 0);
        assert_eq!(u.read(DR), 0, "an empty FIFO reads 0");
    }

    #[test]
    fn a_full_fifo_says_so_without_losing_input() {
        let mut u = Pl011::default();
        u.push_input(b"ab");
        assert_ne!(u.read(FR) & FR_RXFF, 0, "FIFOs off: one character is full");
        u.write(LCR_H, LCR_H_FEN);
        assert_eq!(u.read(FR) & FR_RXFF, 0);
        assert_eq!((u.read(DR), u.read(DR)), (u32::from(b'a'), u32::from(b'b')));
    }

    #[test]
    fn registers_keep_their_width() {
        let mut u = Pl011::default();
        assert_eq!(u.read(CR), 0x300, "reset value");
        u.write(IBRD, 0x1_0027);
        u.write(FBRD, 0xff);
        assert_eq!((u.read(IBRD), u.read(FBRD)), (0x27, 0x3f));
        u.write(IMSC, 0xffff);
        assert_eq!(u.read(IMSC), 0x7ff);
    }
}
