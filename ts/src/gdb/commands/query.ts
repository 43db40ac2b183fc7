/**
 * General queries: qSupported, qXfer:features:read, qXfer:threads:read, QStartNoAckMode,
 * qOffsets, qSymbol.
 */

import { TARGET_XML } from '../aarch64';
import { parseHexInt } from '../packet';
import { Errno, errorReply, ok, threadId, UNSUPPORTED, type Command, type Reply, type ServerContext } from './common';

const supported: Command = {
  name: 'qSupported',
  handle: (_args, ctx) => ok(ctx.supported),
};

/** Serve `annex` of a document in `offset,length` windows: `m` more follows, `l` last. */
export function xferWindow(doc: Buffer, text: string, ctx: ServerContext): Reply {
  const [off, len] = text.split(',');
  const offset = parseHexInt(off ?? '');
  const length = parseHexInt(len ?? '');
  if (offset === undefined || length === undefined) return errorReply(Errno.EINVAL);
  // Room for the 'm'/'l' prefix and escapes (each byte may double).
  const max = Math.min(length, Math.floor((ctx.maxPacket - 1) / 2));
  const chunk = doc.subarray(offset, offset + max);
  const last = offset + chunk.length >= doc.length;
  return ok(Buffer.concat([Buffer.from(last ? 'l' : 'm'), chunk]));
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
    return xferWindow(TARGET_XML_WIRE, m[3] ?? '', ctx);
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
