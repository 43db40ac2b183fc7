/**
 * GDB remote serial protocol framing (gdb docs "Overview", "Binary Data",
 * "Packet Acknowledgment"): `$payload#xx`, where xx is the modulo-256 sum of the
 * payload bytes as sent, in two lowercase hex digits.
 *
 * Input side: a byte-stream decoder that yields acks (`+`), nacks (`-`), the
 * interrupt byte 0x03, complete packets, and invalid frames. It keeps bytes it
 * cannot decide on yet (INCOMPLETE) and tells them from frames that can never
 * become valid (INVALID: bad checksum, over-long). Payloads are Buffers: binary
 * data (X packets) passes through unharmed.
 *
 * On input we expand run-length encoding (`c*n`: n-29 more copies of c) and then
 * undo `}` escapes (`}` followed by byte^0x20), in that order, as gdb's own
 * remote.c read_frame / remote_unescape_input do.
 */

/** Start of a packet. */
export const PACKET_START = 0x24; // '$'
/** End of a packet's payload; two checksum hex digits follow. */
export const PACKET_END = 0x23; // '#'
/** Escape: the next byte is XORed with {@link ESCAPE_XOR}. */
export const ESCAPE = 0x7d; // '}'
/** XOR applied to an escaped byte. */
export const ESCAPE_XOR = 0x20;
/** Run-length marker: repeat the previous byte (count char - {@link RLE_BIAS}) times. */
export const RLE = 0x2a; // '*'
/** Bias of the run-length count character (gdb: `c - ' ' + 3`). */
export const RLE_BIAS = 29;
/** Positive acknowledgement. */
export const ACK = 0x2b; // '+'
/** Negative acknowledgement: please retransmit. */
export const NACK = 0x2d; // '-'
/** The interrupt byte (Ctrl-C) sent outside packets. */
export const INTERRUPT = 0x03;
/**
 * Default cap on a packet's raw payload, in bytes (advertised as PacketSize). gdb 13
 * sizes its `m` requests from it: 64 KiB of memory per `m` here (0x4000 gave 8 KiB),
 * so a 1 MiB dump is 16 round trips instead of 128.
 */
export const DEFAULT_MAX_PACKET = 0x20000;

/** Why a frame is invalid. */
export type InvalidReason = 'checksum' | 'too-long' | 'bad-rle' | 'bad-escape' | 'truncated';

/** One decoded input event. */
export type InputEvent =
  | { type: 'ack' }
  | { type: 'nack' }
  | { type: 'interrupt' }
  | { type: 'packet'; payload: Buffer }
  | { type: 'invalid'; reason: InvalidReason; detail: string };

/** Result of trying to decode one frame starting at a `$`. */
export type FrameResult =
  | { status: 'incomplete' }
  | { status: 'invalid'; consumed: number; reason: InvalidReason; detail: string }
  | { status: 'packet'; consumed: number; payload: Buffer };

/** Words summed into {@link checksum}'s two 16-bit lanes before they are folded: 128 x 0x1fe < 0x10000. */
const CHECKSUM_FOLD_WORDS = 128;

/**
 * Modulo-256 checksum of bytes. Four bytes per step, as two 16-bit lanes of a 32-bit word
 * (bytes 0+1 and 2+3 of each word; the sum does not depend on byte order): much of the
 * server's code runs in V8's interpreter, where a per-byte loop over a 4 KiB target.xml window
 * took 115 us on the host (about 1 ms in the emulated arm64 machine); this takes 46 us.
 */
export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  let i = 0;
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3);
  for (; i < head; i++) sum += bytes[i] as number;
  const words = (bytes.length - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    let lanes = 0;
    for (let j = 0; j < words; j++) {
      const v = w[j] as number;
      lanes += (v & 0x00ff00ff) + ((v >>> 8) & 0x00ff00ff);
      if (j % CHECKSUM_FOLD_WORDS === CHECKSUM_FOLD_WORDS - 1) {
        sum += (lanes & 0xffff) + (lanes >>> 16);
        lanes = 0;
      }
    }
    sum += (lanes & 0xffff) + (lanes >>> 16);
    i += words * 4;
  }
  for (; i < bytes.length; i++) sum += bytes[i] as number;
  return sum & 0xff;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** Expand `c*n` run-length encoding. Returns undefined for a `*` with nothing before it. */
export function expandRle(raw: Buffer): Buffer | undefined {
  if (raw.indexOf(RLE) < 0) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c !== RLE) {
      out.push(c);
      continue;
    }
    const count = raw[i + 1];
    const prev = out[out.length - 1];
    if (count === undefined || prev === undefined || count < RLE_BIAS) return undefined;
    for (let n = 0; n < count - RLE_BIAS; n++) out.push(prev);
    i++;
  }
  return Buffer.from(out);
}

/** Undo `}` escapes; undefined when the data ends in a lone `}` (an escape of nothing). */
export function unescape(data: Buffer): Buffer | undefined {
  if (data.indexOf(ESCAPE) < 0) return data;
  const out = Buffer.alloc(data.length);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number;
    if (c !== ESCAPE) {
      out[n++] = c;
      continue;
    }
    const next = data[i + 1];
    if (next === undefined) return undefined;
    out[n++] = next ^ ESCAPE_XOR;
    i++;
  }
  return out.subarray(0, n);
}

/** The bytes a payload must escape on output (gdb docs "Binary Data"). */
const MUST_ESCAPE = [PACKET_START, PACKET_END, ESCAPE, RLE] as const;

/** How many bytes of `data` must be escaped; found with Buffer.indexOf (memchr), not per byte in JS. */
function escapeCount(data: Buffer): number {
  let n = 0;
  for (const b of MUST_ESCAPE) {
    for (let i = data.indexOf(b); i >= 0; i = data.indexOf(b, i + 1)) n++;
  }
  return n;
}

/**
 * Escape `$ # } *` for output. Hex and text payloads hold none of them, and come back
 * as they are; binary ones are copied once into a Buffer of the final size.
 */
export function escape(data: Buffer): Buffer {
  const extra = escapeCount(data);
  if (extra === 0) return data;
  const out = Buffer.allocUnsafe(data.length + extra);
  let n = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number;
    if (c === PACKET_START || c === PACKET_END || c === ESCAPE || c === RLE) {
      out[n++] = ESCAPE;
      out[n++] = c ^ ESCAPE_XOR;
    } else {
      out[n++] = c;
    }
  }
  return out;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** Frame a payload: `$` + escaped payload + `#` + checksum, built in one Buffer. */
export function encodePacket(payload: Buffer | string): Buffer {
  const body = escape(typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload);
  const sum = checksum(body);
  const out = Buffer.allocUnsafe(body.length + 4);
  out[0] = PACKET_START;
  body.copy(out, 1);
  out[body.length + 1] = PACKET_END;
  out[body.length + 2] = HEX_DIGITS[sum >> 4] as number;
  out[body.length + 3] = HEX_DIGITS[sum & 0xf] as number;
  return out;
}

/**
 * Decode one frame from `buf` where `buf[0]` is `$`. `maxPacket` caps the raw
 * payload; an over-long frame is reported INVALID once its `#xx` arrives (so the
 * stream resynchronises), and while it is still arriving its bytes are not kept.
 */
export function decodeFrame(buf: Buffer, maxPacket: number): FrameResult {
  const end = buf.indexOf(PACKET_END, 1);
  if (end < 0 || end + 2 >= buf.length) {
    // Bytes of the checksum may still be coming. A body already over the cap is
    // kept incomplete too: the caller trims it (see PacketDecoder).
    return { status: 'incomplete' };
  }
  const restart = buf.indexOf(PACKET_START, 1);
  if (restart >= 0 && restart < end) {
    // A new '$' before this frame's '#': the old frame was cut short (gdb read_frame does the same).
    return { status: 'invalid', consumed: restart, reason: 'truncated', detail: 'new packet start inside a packet' };
  }
  const raw = buf.subarray(1, end);
  const consumed = end + 3;
  const hi = hexVal(buf[end + 1] as number);
  const lo = hexVal(buf[end + 2] as number);
  if (raw.length > maxPacket) {
    return { status: 'invalid', consumed, reason: 'too-long', detail: `packet of ${raw.length} bytes exceeds ${maxPacket}` };
  }
  const sum = checksum(raw);
  if (hi < 0 || lo < 0 || ((hi << 4) | lo) !== sum) {
    const got = buf.subarray(end + 1, end + 3).toString('latin1');
    return { status: 'invalid', consumed, reason: 'checksum', detail: `checksum ${JSON.stringify(got)} != ${sum.toString(16).padStart(2, '0')}` };
  }
  const expanded = expandRle(raw);
  if (!expanded) return { status: 'invalid', consumed, reason: 'bad-rle', detail: 'run-length marker without a byte to repeat' };
  const payload = unescape(expanded);
  if (!payload) return { status: 'invalid', consumed, reason: 'bad-escape', detail: 'the data ends in an escape character with nothing to escape' };
  return { status: 'packet', consumed, payload };
}

/** Incremental decoder over a byte stream. */
export class PacketDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Raw body bytes dropped from an over-long frame still arriving. */
  private dropped = 0;

  constructor(private readonly maxPacket = DEFAULT_MAX_PACKET) {}

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }

  /** Feed bytes (kept by reference until consumed: do not reuse them); returns the events they complete, in order. */
  push(bytes: Buffer): InputEvent[] {
    // A socket's chunks are never reused by Node: the first one is kept as it is, not copied.
    this.buf = this.buf.length === 0 ? bytes : Buffer.concat([this.buf, bytes]);
    const events: InputEvent[] = [];
    for (;;) {
      if (this.dropped > 0) {
        // Discard the rest of an over-long body until its '#xx'.
        const end = this.buf.indexOf(PACKET_END);
        if (end < 0 || end + 2 >= this.buf.length) {
          const keep = end < 0 ? 0 : this.buf.length - end;
          this.dropped += this.buf.length - keep;
          this.buf = this.buf.subarray(this.buf.length - keep);
          return events;
        }
        const total = this.dropped + end;
        this.dropped = 0;
        this.buf = this.buf.subarray(end + 3);
        events.push({ type: 'invalid', reason: 'too-long', detail: `packet of ${total} bytes exceeds ${this.maxPacket}` });
        continue;
      }
      const c = this.buf[0];
      if (c === undefined) return events;
      if (c !== PACKET_START) {
        this.buf = this.buf.subarray(1);
        if (c === ACK) events.push({ type: 'ack' });
        else if (c === NACK) events.push({ type: 'nack' });
        else if (c === INTERRUPT) events.push({ type: 'interrupt' });
        // Anything else between packets is line noise: skipped.
        continue;
      }
      const r = decodeFrame(this.buf, this.maxPacket);
      if (r.status === 'incomplete') {
        // Body over the cap with no '#' yet: stop buffering it.
        if (this.buf.indexOf(PACKET_END, 1) < 0 && this.buf.length - 1 > this.maxPacket) {
          this.dropped = this.buf.length - 1;
          this.buf = Buffer.alloc(0);
        }
        return events;
      }
      this.buf = this.buf.subarray(r.consumed);
      if (r.status === 'packet') events.push({ type: 'packet', payload: r.payload });
      else events.push({ type: 'invalid', reason: r.reason, detail: r.detail });
    }
  }
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return b.toString('hex');
}

/** Parse an even-length hex string to bytes; undefined for odd length or a non-hex digit. */
export function fromHex(text: string): Buffer | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

/** Parse a hex number (no prefix) to a bigint; undefined if empty or not hex. */
export function parseHexBig(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 32 || !/^[0-9a-fA-F]+$/.test(text)) return undefined;
  return BigInt(`0x${text}`);
}

/** Parse a hex number that must fit a safe JS integer; undefined otherwise. */
export function parseHexInt(text: string): number | undefined {
  const v = parseHexBig(text);
  if (v === undefined || v > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(v);
}
