/**
 * What a listener rehearses before its port opens (listen in tcp.ts): the packets gdb and lldb
 * send when they connect, through a loopback connection to a second listener over a stand-in
 * target. V8 compiles a function the first time it runs, and Debian's Node has no code cache
 * for its own net and stream modules; in the emulated arm64 machine that first run made each
 * packet of the first `target remote` cost 5 to 80 ms instead of about 3, and the whole 2.4x
 * QEMU's (294 vs 124 ms). The rehearsal never changes the real target: its target is an
 * in-memory stand-in with one stopped vCPU. Only gdb's first reads are made on the real target,
 * once (rehearseTargetReads): the stand-in cannot compile the real target's read path.
 */

import { BreakpointTable } from '../breakpoints';
import type { CapabilitySummary, DebugTarget, StopEvent } from '../target';
import { REG_PC, registerByNumber } from './aarch64';
import { encodePacket, toHex } from './packet';
import { GdbServer, type GdbServerOptions } from './server';

/** The stand-in's RAM: where gdb looks first at `target remote` on a kernel under --wait. */
const STAND_IN_BASE = 0x4000_0000n;
const STAND_IN_BYTES = 0x1000;

/** gdb 13's and lldb 14's connect, as they send it (from `set debug remote 1` and lldb's packet log). */
export const REHEARSED_PACKETS: readonly string[] = [
  'qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+',
  'vMustReplyEmpty',
  'QStartNoAckMode',
  'Hg0',
  'qXfer:features:read:target.xml:0,1000',
  'qXfer:features:read:target.xml:1000,1000',
  'qTStatus',
  '?',
  'qXfer:threads:read::0,1000',
  'qAttached',
  'Hc-1',
  'qOffsets',
  `m${STAND_IN_BASE.toString(16)},4`,
  `m${(STAND_IN_BASE - 4n).toString(16)},4`,
  'qSymbol::',
  'g',
  'p20',
  'Z0,40000010,4',
  'z0,40000010,4',
  'QThreadSuffixSupported',
  'QListThreadsInStopReply',
  'qHostInfo',
  'vCont?',
  'qProcessInfo',
  'qC',
  'qfThreadInfo',
  'qsThreadInfo',
  'qWatchpointSupportInfo:',
  'p0;thread:0001;',
  `x${STAND_IN_BASE.toString(16)},0`,
];

/** One stopped vCPU over a page of zeros; refuses nothing the rehearsal sends. */
function standIn(caps: CapabilitySummary): DebugTarget {
  const ram = Buffer.alloc(STAND_IN_BYTES);
  const readMemory = (_vcpu: number, addr: bigint, length: number): Buffer => {
    const off = Number(addr - STAND_IN_BASE);
    if (off < 0 || off + length > ram.length) throw Object.assign(new Error('outside the stand-in'), { code: 'ERR_OUTSIDE_RAM' });
    return ram.subarray(off, off + length);
  };
  const stop: StopEvent = { vcpu: 0, reason: { kind: 'step' }, pc: STAND_IN_BASE };
  const target: Partial<DebugTarget> = {
    vcpuCount: () => 1,
    capabilities: () => caps,
    readRegister: (_vcpu, regnum) => Buffer.alloc((registerByNumber(regnum)?.bitsize ?? 64) / 8),
    writeRegister: () => undefined,
    readMemory,
    readMemoryReply: (vcpu, addr, length) => encodePacket(toHex(readMemory(vcpu, addr, length))),
    writeMemory: () => undefined,
    insertBreakpoint: () => undefined,
    removeBreakpoint: () => undefined,
    resume: () => Promise.resolve(stop),
    lastSyndrome: () => undefined,
  };
  return target as DebugTarget;
}

/** The stand-in's server options: its own table, and a run control that never runs anything. */
export function rehearsalServerOptions(caps: CapabilitySummary): { target: DebugTarget; server: GdbServerOptions } {
  const target = standIn(caps);
  return {
    target,
    server: {
      decoder: null,
      table: new BreakpointTable(target, { capabilities: caps }),
      control: {
        resume: () => Promise.reject(new Error('the rehearsal never resumes')),
        interrupt: () => undefined,
        detach: () => undefined,
        kill: () => undefined,
      },
    },
  };
}

/**
 * gdb's first reads of the real target, made once before gdb connects through a throwaway
 * server that has the stand-in's table and run control (so only reads reach the real target):
 * `?` (the expedited registers of vCPU 0), then 4 bytes at that pc and just before it (gdb's
 * prologue analysis; before a kernel's entry there is no RAM, so the error path runs too).
 * The replies are dropped: V8 compiles the target's read path and the addon's error path here,
 * not while gdb waits (in the arm64 lane those first calls took 4-6 ms each of the first
 * `target remote`). A read that fails (a running vCPU) is fine.
 */
export function rehearseTargetReads(target: DebugTarget): void {
  const server = new GdbServer(target, rehearsalServerOptions(target.capabilities()).server);
  const ask = (packet: string): void => void server.receive(encodePacket(packet));
  ask('?');
  let pc: bigint;
  try {
    pc = target.readRegister(0, REG_PC).readBigUInt64LE();
  } catch {
    return;
  }
  ask(`m${pc.toString(16)},4`);
  if (pc >= 4n) ask(`m${(pc - 4n).toString(16)},4`);
}
