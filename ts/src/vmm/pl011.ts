/**
 * A write-only PL011 UART model (Arm PrimeCell UART PL011 TRM, DDI 0183): bytes
 * stored to UARTDR go to the sink; UARTFR reads "transmit FIFO empty, receive FIFO
 * empty" so polling guests never wait; every other register reads 0 and ignores
 * writes (the guest sees a UART that is always ready and never receives).
 */

/** UARTDR, data register offset (DDI 0183 3.3.1). */
export const UARTDR = 0x000;
/** UARTFR, flag register offset (DDI 0183 3.3.3). */
export const UARTFR = 0x018;
/** UARTFR.RXFE, receive FIFO empty (bit 4). */
export const UARTFR_RXFE = 1 << 4;
/** UARTFR.TXFE, transmit FIFO empty (bit 7). */
export const UARTFR_TXFE = 1 << 7;
/** UARTDR bits 7:0 carry the character. */
const DATA_MASK = 0xffn;

/** The UART device. */
export class Pl011 {
  /** Bytes written so far (also handed to the sink as they arrive). */
  written = 0;

  constructor(private readonly sink: (bytes: Buffer) => void) {}

  /** A store of `data` at register `offset`. */
  write(offset: number, data: bigint): void {
    if (offset !== UARTDR) return;
    this.written++;
    this.sink(Buffer.from([Number(data & DATA_MASK)]));
  }

  /** A load at register `offset`. */
  read(offset: number): bigint {
    return offset === UARTFR ? BigInt(UARTFR_TXFE | UARTFR_RXFE) : 0n;
  }
}
