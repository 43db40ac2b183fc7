/**
 * State and memory: `?`, g/G, p/P, m/M, X, x. Register packets take LLDB's `;thread:` suffix.
 *
 * Every request is validated completely (hex, lengths, register numbers) before
 * the target is called, so a rejected request never touches the guest.
 */

import { AARCH64_REGISTERS, G_PACKET_BYTES } from '../aarch64';
import { ESCAPE, PACKET_END, PACKET_START, RLE, fromHex, parseHexBig, parseHexInt, toHex } from '../packet';
import { stopReplyFor } from '../stop';
import { Errno, errnoFor, errorReply, ok, registerTarget, splitPair, type Command, type Reply, type ServerContext } from './common';

/** Largest address + length we accept: the 64-bit address space. */
const ADDR_LIMIT = 1n << 64n;

function memoryRange(text: string, ctx: ServerContext): { addr: bigint; len: number } | undefined {
  const pair = splitPair(text);
  if (!pair) return undefined;
  const addr = parseHexBig(pair[0]);
  const len = parseHexInt(pair[1]);
  if (addr === undefined || len === undefined || addr + BigInt(len) > ADDR_LIMIT) return undefined;
  if (len > ctx.maxPacket) return undefined;
  return { addr, len };
}

function guard(fn: () => Reply): Reply {
  try {
    return fn();
  } catch (e) {
    return errorReply(errnoFor(e));
  }
}

const status: Command = {
  name: '?',
  handle: (_args, ctx) => {
    const ev = ctx.lastStop ?? { vcpu: ctx.generalVcpu, reason: { kind: 'step' as const }, pc: 0n };
    return ok(stopReplyFor(ctx.target, ev, ctx.listThreadsInStopReply));
  },
};

const readAll: Command = {
  name: 'g',
  handle: (args, ctx) => {
    const reg = registerTarget(args, ctx);
    if (!reg || reg.text.length !== 0) return errorReply(Errno.EINVAL);
    return guard(() => {
      const parts = AARCH64_REGISTERS.map((r) => ctx.target.readRegister(reg.vcpu, r.regnum));
      return ok(toHex(Buffer.concat(parts)));
    });
  },
};

const writeAll: Command = {
  name: 'G',
  handle: (args, ctx) => {
    const reg = registerTarget(args, ctx);
    const bytes = reg ? fromHex(reg.text) : undefined;
    if (!reg || !bytes || bytes.length !== G_PACKET_BYTES) return errorReply(Errno.EINVAL);
    return guard(() => {
      let off = 0;
      for (const r of AARCH64_REGISTERS) {
        const n = r.bitsize / 8;
        ctx.target.writeRegister(reg.vcpu, r.regnum, bytes.subarray(off, off + n));
        off += n;
      }
      return ok();
    });
  },
};

const readOne: Command = {
  name: 'p',
  handle: (args, ctx) => {
    const reg = registerTarget(args, ctx);
    const n = reg ? parseHexInt(reg.text) : undefined;
    const r = n === undefined ? undefined : AARCH64_REGISTERS[n];
    if (!reg || !r) return errorReply(Errno.EINVAL);
    return guard(() => ok(toHex(ctx.target.readRegister(reg.vcpu, r.regnum))));
  },
};

const writeOne: Command = {
  name: 'P',
  handle: (args, ctx) => {
    const reg = registerTarget(args, ctx);
    const pair = reg ? splitPair(reg.text, '=') : undefined;
    const n = pair ? parseHexInt(pair[0]) : undefined;
    const r = n === undefined ? undefined : AARCH64_REGISTERS[n];
    const bytes = pair ? fromHex(pair[1]) : undefined;
    if (!reg || !r || !bytes || bytes.length !== r.bitsize / 8) return errorReply(Errno.EINVAL);
    return guard(() => {
      ctx.target.writeRegister(reg.vcpu, r.regnum, bytes);
      return ok();
    });
  },
};

const readMem: Command = {
  name: 'm',
  handle: (args, ctx) => {
    const range = memoryRange(args.toString('latin1'), ctx);
    if (!range) return errorReply(Errno.EINVAL);
    // The hex reply must fit PacketSize: answer with fewer bytes, as the protocol allows.
    const len = Math.min(range.len, Math.floor(ctx.maxPacket / 2));
    const t = ctx.target;
    return guard(() =>
      t.readMemoryReply
        ? { kind: 'frame', frame: t.readMemoryReply(ctx.generalVcpu, range.addr, len) }
        : ok(toHex(t.readMemory(ctx.generalVcpu, range.addr, len))),
    );
  },
};

/** Leading byte of an `x` reply's data (gdb docs "Packets": `x addr,length` -> `b XX...`). */
const BINARY_REPLY = 'b';

/** How many leading bytes of `data` fit `room` payload bytes once `$ # } *` are escaped (2 bytes each). */
export function escapedPrefix(data: Buffer, room: number): number {
  let used = 0;
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number;
    const cost = c === PACKET_START || c === PACKET_END || c === ESCAPE || c === RLE ? 2 : 1;
    if (used + cost > room) return i;
    used += cost;
  }
  return data.length;
}

const readMemBinary: Command = {
  name: 'x',
  // GDB 16+ uses `x` instead of `m` when the stub advertises it (gdb docs "General Query Packets").
  features: ['binary-upload+'],
  handle: (args, ctx) => {
    const range = memoryRange(args.toString('latin1'), ctx);
    if (!range) return errorReply(Errno.EINVAL);
    // Escaped data plus the 'b' must fit PacketSize: answer with fewer bytes, as the protocol allows.
    const room = ctx.maxPacket - BINARY_REPLY.length;
    const len = Math.min(range.len, room);
    return guard(() => {
      const data = len > 0 ? ctx.target.readMemory(ctx.generalVcpu, range.addr, len) : Buffer.alloc(0);
      const fit = data.subarray(0, escapedPrefix(data, room));
      return ok(Buffer.concat([Buffer.from(BINARY_REPLY, 'latin1'), fit]));
    });
  },
};

const writeMemHex: Command = {
  name: 'M',
  handle: (args, ctx) => {
    const text = args.toString('latin1');
    const colon = text.indexOf(':');
    if (colon < 0) return errorReply(Errno.EINVAL);
    const range = memoryRange(text.slice(0, colon), ctx);
    const data = fromHex(text.slice(colon + 1));
    if (!range || !data || data.length !== range.len) return errorReply(Errno.EINVAL);
    return guard(() => {
      if (data.length > 0) ctx.target.writeMemory(ctx.generalVcpu, range.addr, data);
      return ok();
    });
  },
};

const writeMemBinary: Command = {
  name: 'X',
  handle: (args, ctx) => {
    // Binary-safe: the header is ASCII up to the first ':'; the rest is raw bytes.
    const colon = args.indexOf(0x3a);
    if (colon < 0) return errorReply(Errno.EINVAL);
    const range = memoryRange(args.subarray(0, colon).toString('latin1'), ctx);
    const data = args.subarray(colon + 1);
    if (!range || data.length !== range.len) return errorReply(Errno.EINVAL);
    return guard(() => {
      if (data.length > 0) ctx.target.writeMemory(ctx.generalVcpu, range.addr, Buffer.from(data));
      return ok();
    });
  },
};

/** The base command family. */
export const baseCommands: Command[] = [status, readAll, writeAll, readOne, writeOne, readMem, readMemBinary, writeMemHex, writeMemBinary];
