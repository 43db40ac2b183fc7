/**
 * Breakpoints and watchpoints: Z0-Z4 / z0-z4 (`Ztype,addr,kind`).
 *
 * Z0 software, Z1 hardware (kind = 4, one A64 instruction), Z2 write, Z3 read,
 * Z4 access watchpoints (kind = length in bytes). They go through the
 * BreakpointTable, so repeated inserts are reference-counted and the policy
 * may place a software breakpoint in a hardware slot.
 */

import { A64_INSN_BYTES } from '../../policy';
import { BREAKPOINT_KINDS, type BreakpointKind } from '../../target';
import { parseHexBig, parseHexInt } from '../packet';
import { Errno, errnoFor, errorReply, keepNote, ok, type Command, type Reply, type ServerContext } from './common';

interface ZRequest {
  kind: BreakpointKind;
  addr: bigint;
  length: number;
}

/** Parse `type,addr,kind[;cond...]`; undefined when malformed. */
export function parseZ(text: string): ZRequest | undefined {
  const head = text.split(';')[0] ?? '';
  const parts = head.split(',');
  if (parts.length !== 3) return undefined;
  const type = parseHexInt(parts[0] ?? '');
  const addr = parseHexBig(parts[1] ?? '');
  const length = parseHexInt(parts[2] ?? '');
  const kind = type === undefined ? undefined : BREAKPOINT_KINDS[type];
  if (!kind || addr === undefined || addr >= 1n << 64n || length === undefined) return undefined;
  // Code breakpoints cover one A64 instruction (gdb's aarch64 breakpoint kind is 4).
  if ((kind === 'sw' || kind === 'hw') && length !== A64_INSN_BYTES) return undefined;
  // ... on an instruction boundary (the table checks again, for callers other than this parser).
  if ((kind === 'sw' || kind === 'hw') && addr % BigInt(A64_INSN_BYTES) !== 0n) return undefined;
  if (length === 0) return undefined;
  return { kind, addr, length };
}

function insert(args: Buffer, ctx: ServerContext): Reply {
  const z = parseZ(args.toString('latin1'));
  if (!z) return errorReply(Errno.EINVAL);
  try {
    const r = ctx.table.insert({ kind: z.kind, addr: z.addr, length: z.length, vcpu: ctx.generalVcpu });
    if (r.note !== undefined) keepNote(ctx, r.note, true);
    return ok();
  } catch (e) {
    if (e instanceof Error) keepNote(ctx, e.message);
    return errorReply(errnoFor(e));
  }
}

function remove(args: Buffer, ctx: ServerContext): Reply {
  const z = parseZ(args.toString('latin1'));
  if (!z) return errorReply(Errno.EINVAL);
  try {
    return ctx.table.remove(z.kind, z.addr, z.length) ? ok() : errorReply(Errno.ENOENT);
  } catch (e) {
    if (e instanceof Error) keepNote(ctx, e.message);
    return errorReply(errnoFor(e));
  }
}

/** The breakpoint command family. */
export const breakpointCommands: Command[] = [
  {
    name: 'Z',
    // Stop reasons are reported only when the target can debug at all.
    features: (t) => (t.capabilities().debugEnabled === false ? [] : ['swbreak+', 'hwbreak+']),
    handle: insert,
  },
  { name: 'z', handle: remove },
];
