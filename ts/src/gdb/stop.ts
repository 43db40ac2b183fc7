/**
 * Stop replies (gdb docs "Stop Reply Packets"): `T05thread:<id>;swbreak:;`,
 * `hwbreak:;`, `watch:<addr>;`, `rwatch:`/`awatch:`, `T02` for an interrupt, and
 * `W<code>` for an exit. `T` replies end with expedited registers `<regnum>:<le hex>;`
 * (x29, sp, pc of the stopping vCPU), as gdbserver sends them: gdb's remote.c seeds
 * its register cache from them and needs no register read to find the frame.
 */

import type { DebugTarget, StopEvent } from '../target';
import { REG_PC, REG_SP } from './aarch64';
import { GDB_SIGTRAP, threadId } from './commands/common';

/** Regnum of x29, the frame pointer (AAPCS64 5.1.1; gdb's aarch64 core feature numbers x0..x30 as 0..30). */
export const REG_FP = 29;

/** Registers sent in every `T` stop reply, in the order sent (gdbserver's aarch64 expedite_regs: x29, sp, pc). */
export const EXPEDITED_REGS: readonly number[] = [REG_FP, REG_SP, REG_PC];

/** One expedited register: its regnum and its little-endian bytes. */
export interface ExpeditedRegister {
  /** GDB regnum. */
  regnum: number;
  /** Little-endian value bytes, as readRegister returns them. */
  bytes: Buffer;
}

/**
 * Read the expedited registers of `vcpu` once. A register whose read fails is
 * left out (a stop is never failed for it); none for an exit.
 */
export function readExpedited(target: DebugTarget, ev: StopEvent): ExpeditedRegister[] {
  if (ev.reason.kind === 'exited') return [];
  const out: ExpeditedRegister[] = [];
  for (const regnum of EXPEDITED_REGS) {
    try {
      out.push({ regnum, bytes: target.readRegister(ev.vcpu, regnum) });
    } catch {
      // omitted: gdb reads it with p/g if it needs it
    }
  }
  return out;
}

function sig(n: number): string {
  return (n & 0xff).toString(16).padStart(2, '0');
}

/** The stop-reply payload for an event, with the given expedited registers appended to a `T` reply. */
export function stopReply(ev: StopEvent, regs: readonly ExpeditedRegister[] = []): string {
  const base = stopFields(ev);
  if (base.startsWith('W')) return base;
  return base + regs.map((r) => `${r.regnum.toString(16).padStart(2, '0')}:${r.bytes.toString('hex')};`).join('');
}

function stopFields(ev: StopEvent): string {
  const r = ev.reason;
  const thread = `thread:${threadId(ev.vcpu)};`;
  switch (r.kind) {
    case 'exited':
      return `W${sig(r.code)}`;
    case 'signal':
      return `T${sig(r.signal)}${thread}`;
    case 'swbreak':
      return `T${sig(GDB_SIGTRAP)}${thread}swbreak:;`;
    case 'hwbreak':
      return `T${sig(GDB_SIGTRAP)}${thread}hwbreak:;`;
    case 'watch': {
      const name = r.watch === 'write' ? 'watch' : r.watch === 'read' ? 'rwatch' : 'awatch';
      return `T${sig(GDB_SIGTRAP)}${thread}${name}:${r.addr.toString(16)};`;
    }
    case 'step':
    case 'reinjected':
      return `T${sig(GDB_SIGTRAP)}${thread}`;
  }
}

/**
 * LLDB's `threads:` and `thread-pcs:` stop-reply keys (lldb docs "lldb-gdb-remote.txt",
 * QListThreadsInStopReply): every thread id, and each one's pc in the same order, so lldb needs
 * no qfThreadInfo/qsThreadInfo and no pc read per thread after a stop. A pc that cannot be
 * read leaves `thread-pcs` out (lldb reads it then).
 */
export function threadListFields(target: DebugTarget): string {
  const ids: string[] = [];
  const pcs: string[] = [];
  for (let v = 0; v < target.vcpuCount(); v++) {
    ids.push(threadId(v));
    try {
      pcs.push(target.readRegister(v, REG_PC).readBigUInt64LE().toString(16));
    } catch {
      pcs.length = 0;
      break;
    }
  }
  const threads = `threads:${ids.join(',')};`;
  return pcs.length === ids.length ? `${threads}thread-pcs:${pcs.join(',')};` : threads;
}

/**
 * The whole reply to a stop, as `?` and a resume send it: the stop fields, the expedited
 * registers, and the thread list when the client asked for it (QListThreadsInStopReply).
 */
export function stopReplyFor(target: DebugTarget, ev: StopEvent, listThreads: boolean): string {
  const reply = stopReply(ev, readExpedited(target, ev));
  return listThreads && reply.startsWith('T') ? reply + threadListFields(target) : reply;
}

/** Console text for events gdb has no stop-reason field for (sent as an `O` packet first). */
export function stopConsoleNote(ev: StopEvent): string | undefined {
  const r = ev.reason;
  if (r.kind !== 'reinjected') return undefined;
  return `kvm-debug: guest exception re-injected on vCPU ${ev.vcpu}: ESR 0x${r.esr.toString(16)} -> vector 0x${r.vector.toString(16)}\n`;
}
