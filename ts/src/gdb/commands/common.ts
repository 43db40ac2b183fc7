/**
 * What every packet-family parser shares: the server context it works on, the
 * result it returns, errno-style error replies, and thread-id helpers.
 */

import type { BreakpointTable } from '../../breakpoints';
import { ErrorCode, errorCode } from '../../errors';
import type { DebugTarget, ResumeAction, StopEvent } from '../../target';

/** errno values used in `Exx` replies (Linux asm-generic/errno-base.h), as gdbserver does. */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EIO: 5,
  EFAULT: 14,
  EEXIST: 17,
  EINVAL: 22,
  ENOSPC: 28,
  ENOSYS: 38,
} as const;

/** gdb signal numbers (gdb/signals.def): SIGINT. */
export const GDB_SIGINT = 2;
/** gdb signal numbers (gdb/signals.def): SIGTRAP. */
export const GDB_SIGTRAP = 5;

/** `Exx` with two hex digits. */
export function errorReply(errno: number): Reply {
  return { kind: 'reply', data: `E${errno.toString(16).padStart(2, '0')}` };
}

/** Map a target or policy error code to an errno. */
export function errnoFor(e: unknown): number {
  switch (errorCode(e)) {
    case ErrorCode.OutsideRam:
    case ErrorCode.Translation:
    case ErrorCode.NotWritable:
      return Errno.EFAULT;
    case ErrorCode.HwSlots:
      return Errno.ENOSPC;
    case ErrorCode.AlreadyPatched:
      return Errno.EEXIST;
    case ErrorCode.PatchConflict:
      return Errno.EIO;
    case ErrorCode.DebugOff:
    case ErrorCode.DebugUnavailable:
      return Errno.EPERM;
    default:
      return Errno.EINVAL;
  }
}

/** Decoder of ESR values used by `monitor esr` (the API of ts/src/decode.ts). */
export interface EsrDecoder {
  /** One-line summary of a syndrome. */
  summary(value: bigint): string;
  /** Multi-line decoded field tree as text. */
  decodeText(value: bigint): string;
}

/** Mutable per-connection state plus what the parsers may call. */
export interface ServerContext {
  /** The target. */
  readonly target: DebugTarget;
  /** Breakpoint bookkeeping over the target. */
  readonly table: BreakpointTable;
  /** Largest raw packet accepted and advertised (PacketSize). */
  readonly maxPacket: number;
  /** ESR decoder for `monitor esr`, when available. */
  readonly decoder: EsrDecoder | undefined;
  /** vCPU for g/G/p/P/m/M/X/Z (set by Hg). */
  generalVcpu: number;
  /** vCPU for c/s (set by Hc), or every vCPU. */
  continueVcpu: number | 'all';
  /** The last stop, for `?`. */
  lastStop: StopEvent | undefined;
  /** No-ack mode (QStartNoAckMode): no `+`/`-` from here on, either way. */
  noAck: boolean;
  /** LLDB's QThreadSuffixSupported: g/G/p/P may name their vCPU in a `;thread:<id>;` suffix. */
  threadSuffix: boolean;
  /** LLDB's QListThreadsInStopReply: `T` stop replies carry `threads:` and `thread-pcs:`. */
  listThreadsInStopReply: boolean;
  /** Policy notes (e.g. a sw breakpoint placed in a hw slot), newest last; see {@link keepNote}. */
  notes: string[];
  /** Notes not yet shown on gdb's console: the next stop reply is preceded by them. */
  unannounced: string[];
  /** The guest kernel's KASLR slide once known, when the guest is a kernel. */
  readonly kernelSlide: (() => bigint | undefined) | undefined;
  /** The qSupported reply: the command table's features, joined once when the server is built. */
  supported: string;
}

/** What a parser asks the server to do. */
export type Reply =
  /** Send this payload (empty string = the "unsupported" empty reply). */
  | { kind: 'reply'; data: string | Buffer }
  /** Send this frame as it is: a reply the target framed itself (DebugTarget.readMemoryReply). */
  | { kind: 'frame'; frame: Buffer }
  /** Resume; the stop reply follows asynchronously. */
  | { kind: 'resume'; actions: ResumeAction[] }
  /** Detach: reply OK, then the session ends. */
  | { kind: 'detach' }
  /** Kill: no reply; the session ends. */
  | { kind: 'kill' };

/** A reply with a payload. */
export function ok(data: string | Buffer = 'OK'): Reply {
  return { kind: 'reply', data };
}

/** The empty reply: "unsupported packet". */
export const UNSUPPORTED: Reply = { kind: 'reply', data: '' };

/** One entry of the dispatch table. */
export interface Command {
  /** Packet name: one letter, or a q/Q/v name such as `qSupported`, `vCont?`. */
  name: string;
  /** qSupported features this command contributes, if any (they may depend on the target). */
  features?: readonly string[] | ((target: DebugTarget) => readonly string[]);
  /** Parse and run. `args` is the payload after the name. */
  handle(args: Buffer, ctx: ServerContext): Reply;
}

/** gdb thread id of a vCPU (thread ids start at 1). */
export function threadId(vcpu: number): string {
  return (vcpu + 1).toString(16).padStart(2, '0');
}

/** A parsed thread id: a vCPU, all threads (-1) or any thread (0). */
export type ThreadSel = { vcpu: number } | 'all' | 'any';

/** Parse a thread id (`-1`, `0`, hex, or multiprocess `pP.T`); undefined if malformed or no such vCPU. */
export function parseThread(text: string, vcpuCount: number): ThreadSel | undefined {
  let t = text;
  if (t.startsWith('p')) {
    const dot = t.indexOf('.');
    if (dot < 0) return 'all';
    t = t.slice(dot + 1);
  }
  if (t === '-1') return 'all';
  if (!/^[0-9a-fA-F]{1,8}$/.test(t)) return undefined;
  const n = parseInt(t, 16);
  if (n === 0) return 'any';
  const vcpu = n - 1;
  return vcpu < vcpuCount ? { vcpu } : undefined;
}

/** The thread suffix LLDB appends to register packets once QThreadSuffixSupported is on. */
const THREAD_SUFFIX = /;thread:([0-9a-fA-F]{1,8});$/;

/**
 * The vCPU a register packet (g/G/p/P) is for, and its arguments without LLDB's
 * `;thread:<id>;` suffix (lldb docs "lldb-gdb-remote.txt", QThreadSuffixSupported). Without
 * a suffix: the vCPU of the last Hg. Undefined when the suffix names no vCPU, or comes
 * from a client that did not turn it on.
 */
export function registerTarget(args: Buffer, ctx: ServerContext): { text: string; vcpu: number } | undefined {
  const text = args.toString('latin1');
  const m = THREAD_SUFFIX.exec(text);
  if (!m) return { text, vcpu: ctx.generalVcpu };
  const sel = ctx.threadSuffix ? parseThread(m[1] as string, ctx.target.vcpuCount()) : undefined;
  if (typeof sel !== 'object') return undefined;
  return { text: text.slice(0, m.index), vcpu: sel.vcpu };
}

/** Split `a,b` into two parts; undefined unless exactly one comma. */
export function splitPair(text: string, sep = ','): [string, string] | undefined {
  const i = text.indexOf(sep);
  if (i < 0 || text.indexOf(sep, i + 1) >= 0) return undefined;
  return [text.slice(0, i), text.slice(i + 1)];
}

/** How many notes a connection keeps: `monitor breakpoints` shows the last 8. */
export const MAX_NOTES = 64;

/**
 * Records a policy note (and, with `announce`, queues it for gdb's console before the next
 * stop reply). Both lists keep only the newest {@link MAX_NOTES}: a client that sends a
 * million refused Z packets must not grow the server without bound.
 */
export function keepNote(ctx: ServerContext, text: string, announce = false): void {
  const lists = announce ? [ctx.notes, ctx.unannounced] : [ctx.notes];
  for (const list of lists) {
    list.push(text);
    if (list.length > MAX_NOTES) list.splice(0, list.length - MAX_NOTES);
  }
}
