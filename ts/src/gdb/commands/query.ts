/**
 * General queries: qSupported, qXfer:features:read, qXfer:threads:read, QStartNoAckMode,
 * qOffsets, qSymbol.
 */

import { TARGET_XML } from '../aarch64';
import { encodePacket, parseHexInt } from '../packet';
import { Errno, errorReply, ok, threadId, UNSUPPORTED, type Command, type Reply, type ServerContext } from './common';

const supported: Command = {
  name: 'qSupported',
  handle: (_args, ctx) => ok(ctx.supported),
};

/** An `offset,length` qXfer window, parsed; undefined when either is not hex. */
function parseWindow(text: string): { offset: number; length: number } | undefined {
  const [off, len] = text.split(',');
  const offset = parseHexInt(off ?? '');
  const length = parseHexInt(len ?? '');
  return offset === undefined || length === undefined ? undefined : { offset, length };
}

/** `m` (more follows) or `l` (last) and the window's bytes of `doc`. */
function windowOf(doc: Buffer, w: { offset: number; length: number }, maxPacket: number): Buffer {
  // Room for the 'm'/'l' prefix and escapes (each byte may double).
  const max = Math.min(w.length, Math.floor((maxPacket - 1) / 2));
  const chunk = doc.subarray(w.offset, w.offset + max);
  const last = w.offset + chunk.length >= doc.length;
  return Buffer.concat([Buffer.from(last ? 'l' : 'm'), chunk]);
}

/** Serve `annex` of a document in `offset,length` windows: `m` more follows, `l` last. */
export function xferWindow(doc: Buffer, text: string, ctx: ServerContext): Reply {
  const w = parseWindow(text);
  return w === undefined ? errorReply(Errno.EINVAL) : ok(windowOf(doc, w, ctx.maxPacket));
}

/** At most this many target.xml windows are kept framed (a client asking for others gets them framed anew). */
export const TARGET_XML_FRAMES_MAX = 16;
/** Framed target.xml windows by offset, length and PacketSize. */
const targetXmlFrames = new Map<string, Buffer>();

/**
 * A window of target.xml, framed once per process: the document never changes, and gdb asks
 * for the same two 4 KiB windows at every connect, each a copy, an escape scan and a checksum
 * in V8's interpreter (the connect rehearsal frames them before the port opens).
 */
export function targetXmlWindow(text: string, ctx: ServerContext): Reply {
  const w = parseWindow(text);
  if (w === undefined) return errorReply(Errno.EINVAL);
  const key = `${w.offset},${w.length},${ctx.maxPacket}`;
  let frame = targetXmlFrames.get(key);
  if (frame === undefined) {
    frame = encodePacket(windowOf(TARGET_XML_WIRE, w, ctx.maxPacket));
    if (targetXmlFrames.size < TARGET_XML_FRAMES_MAX) targetXmlFrames.set(key, frame);
  }
  return { kind: 'frame', frame };
}

/**
 * The thread list in one document (gdb docs "Thread List Format"): gdb reads it with one
 * `qXfer:threads:read` after every stop instead of `qfThreadInfo` + `qsThreadInfo`.
 */
export function threadsXml(vcpuCount: number): string {
  const rows: string[] = [];
  for (let v = 0; v < vcpuCount; v++) rows.push(`<thread id="${threadId(v)}" core="${v}">vCPU ${v}</thread>`);
  return `<?xml version="1.0"?>\n<threads>${rows.join('')}</threads>\n`;
}

/**
 * target.xml as it goes on the wire: without the whitespace between tags. gdb 13 reads a
 * qXfer object in 4 KiB windows, so the indented 8.4 KB took three round trips and this
 * 7.7 KB takes two.
 */
export const TARGET_XML_WIRE = Buffer.from(TARGET_XML.replace(/>\s+</g, '><'), 'utf8');

const xfer: Command = {
  name: 'qXfer',
  features: ['qXfer:features:read+', 'qXfer:threads:read+'],
  handle: (args, ctx) => {
    // args: ':features:read:target.xml:offset,length' or ':threads:read::offset,length'
    const m = /^:(features|threads):read:([^:]*):(.*)$/.exec(args.toString('latin1'));
    if (!m) return UNSUPPORTED;
    if (m[1] === 'threads') {
      if (m[2] !== '') return errorReply(Errno.ENOENT);
      return xferWindow(Buffer.from(threadsXml(ctx.target.vcpuCount()), 'utf8'), m[3] ?? '', ctx);
    }
    if (m[2] !== 'target.xml') return errorReply(Errno.ENOENT);
    return targetXmlWindow(m[3] ?? '', ctx);
  },
};

const noAck: Command = {
  name: 'QStartNoAckMode',
  features: ['QStartNoAckMode+'],
  // The packet was acked before it was dispatched; this OK is the last frame that
  // expects an ack (gdb docs "Packet Acknowledgment").
  handle: (_args, ctx) => {
    ctx.noAck = true;
    return ok();
  },
};

/**
 * Section offsets gdb adds to the symbol file it has when it connects: the kernel's KASLR
 * slide once the kernel has relocated itself (before that, and for other guests, 0).
 */
const offsets: Command = {
  name: 'qOffsets',
  handle: (_args, ctx) => {
    const s = (ctx.kernelSlide?.() ?? 0n).toString(16);
    return ok(`Text=${s};Data=${s};Bss=${s}`);
  },
};

const symbol: Command = { name: 'qSymbol', handle: () => ok() };

/** The query command family. */
export const queryCommands: Command[] = [supported, xfer, noAck, offsets, symbol];
