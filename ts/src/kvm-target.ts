/**
 * KvmTarget: the DebugTarget (ts/src/target.ts) over the addon's Vm. It owns no
 * guest-debug state: the Rust VM holds our BRKs and the bytes under them, the
 * hardware breakpoints and watchpoints, and refuses everything once debugging is off.
 *
 * - Registers by GDB regnum map to the addon's names (ts/src/gdb/aarch64.ts kvmName).
 * - Memory is by guest-virtual address through the vCPU's stage 1; the VM shows the
 *   guest's own instructions under our BRKs and keeps a BRK under a write.
 * - A software breakpoint is translated and patched in one call (insertSwBreakpointVirt).
 * - resume() is the all-stop run of the vCPUs: each runs on its own thread in Rust;
 *   MMIO exits are served by the VMM and the vCPU runs on; the first stop stops the
 *   others (vm.stop, then their runs settle). A second stop that raced in is kept
 *   and reported at the next resume of its vCPU, if it still applies. What an exit
 *   means is exitToStop's (ts/src/exit-to-stop.ts) to say.
 *
 * Nothing here knows the Session: what the session wants to hear (re-injections,
 * unknown MMIO) comes back through the callbacks of {@link KvmTargetOptions}.
 */

import { ErrorCode, codedError, errorCode, messageOf } from './errors';
import { SIGINT, SIGSEGV, exitToStop } from './exit-to-stop';
import { decodeRegister, encodeRegister, registerByNumber, type RegisterDef } from './gdb/aarch64';
import type {
  CapabilitySummary,
  DebugTarget,
  ResumeAction,
  StopEvent,
  TargetBreakpoint,
  WatchKind,
} from './target';
import type { KvmCapabilities, KvmVm, NativeWatchpoint, VmExit } from './vmm/native-vm';
import { Vmm, type UnknownMmio } from './vmm/vmm';

/** A re-injected guest exception (the VM sent a guest's own debug exception to its vector). */
export interface ReinjectionEvent {
  /** vCPU. */
  vcpu: number;
  /** ESR_EL1 given to the guest. */
  esr: bigint;
  /** Vector entered. */
  vector: bigint;
  /** ELR_EL1 given to the guest. */
  elr: bigint | undefined;
}

/** Options of a KvmTarget. */
export interface KvmTargetOptions {
  /** kvmCapabilities() of the addon. */
  capabilities: KvmCapabilities;
  /** The VMM serving MMIO. */
  vmm: Vmm;
  /** Stop (reason `reinjected`) when a guest exception is re-injected; default: count and go on. */
  stopOnReinjection?: boolean;
  /** What `monitor caps` adds about debugging (the session's decision). */
  debugStatus?: () => { debugEnabled: boolean; debugMode?: string; reason?: string };
  /** Each re-injection. */
  onReinjection?: (ev: ReinjectionEvent) => void;
  /** Each MMIO access no device took. */
  onUnknownMmio?: (u: UnknownMmio) => void;
}

/** Result of one vCPU's run loop. */
type LoopResult =
  | { kind: 'stop'; stop: StopEvent }
  | { kind: 'exit'; vcpu: number; code: number; detail: string }
  | { kind: 'interrupted'; vcpu: number };

function nativeWatch(bp: TargetBreakpoint): NativeWatchpoint {
  const kind: WatchKind = bp.kind === 'watch-write' ? 'write' : bp.kind === 'watch-read' ? 'read' : 'access';
  return { addr: bp.addr, len: bp.length, kind };
}

/** The DebugTarget of a VM. */
export class KvmTarget implements DebugTarget {
  readonly arch = 'aarch64' as const;
  private readonly pending: StopEvent[] = [];
  private syndrome: bigint | undefined;
  private reinjectionCount = 0;
  private running = false;
  private stopRequested = false;

  constructor(
    readonly vm: KvmVm,
    private readonly opts: KvmTargetOptions,
  ) {}

  vcpuCount(): number {
    return this.vm.vcpuCount;
  }

  private reg(regnum: number): RegisterDef {
    const def = registerByNumber(regnum);
    if (!def) throw codedError(ErrorCode.BadArgument, `no register number ${regnum}`);
    return def;
  }

  readRegister(vcpu: number, regnum: number): Buffer {
    const def = this.reg(regnum);
    return encodeRegister(def, this.vm.getReg(vcpu, def.kvmName));
  }

  writeRegister(vcpu: number, regnum: number, bytes: Buffer): void {
    const def = this.reg(regnum);
    if (bytes.length !== def.bitsize / 8) {
      throw codedError(ErrorCode.BadArgument, `register ${def.name} takes ${def.bitsize / 8} bytes, got ${bytes.length}`);
    }
    this.vm.setReg(vcpu, def.kvmName, decodeRegister(bytes));
  }

  readMemory(vcpu: number, addr: bigint, length: number): Buffer {
    return this.vm.readVirt(vcpu, addr, length);
  }

  readMemoryReply(vcpu: number, addr: bigint, length: number): Buffer {
    return this.vm.readVirtReply(vcpu, addr, length);
  }

  writeMemory(vcpu: number, addr: bigint, data: Buffer): void {
    this.vm.writeVirt(vcpu, addr, data);
  }

  insertBreakpoint(bp: TargetBreakpoint): bigint | undefined {
    switch (bp.kind) {
      case 'sw':
        if (bp.pa === undefined) return this.vm.insertSwBreakpointVirt(bp.vcpu ?? 0, bp.addr);
        this.vm.insertSwBreakpoint(bp.pa);
        return bp.pa;
      case 'hw':
        this.vm.insertHwBreakpoint(bp.addr);
        return undefined;
      default:
        this.vm.insertWatchpoint(nativeWatch(bp));
        return undefined;
    }
  }

  removeBreakpoint(bp: TargetBreakpoint): void {
    switch (bp.kind) {
      case 'sw':
        if (bp.pa === undefined) throw codedError(ErrorCode.BadArgument, 'software breakpoint without the address it patched', bp.addr);
        this.vm.removeSwBreakpoint(bp.pa);
        return;
      case 'hw':
        this.vm.removeHwBreakpoint(bp.addr);
        return;
      default:
        this.vm.removeWatchpoint(nativeWatch(bp));
    }
  }

  capabilities(): CapabilitySummary {
    const c = this.opts.capabilities;
    const status: { debugEnabled: boolean; debugMode?: string; reason?: string } = this.opts.debugStatus?.() ?? {
      debugEnabled: c.debugUnavailable === undefined,
    };
    const out: CapabilitySummary = {
      available: c.available,
      setGuestDebug: c.setGuestDebug,
      guestDebugControlMask: c.guestDebugControlMask,
      hwBreakpoints: c.hwBreakpoints,
      hwWatchpoints: c.hwWatchpoints,
      arch: c.arch,
      apiVersion: c.apiVersion,
      ipaSize: c.ipaSize,
      reinjections: this.reinjectionCount,
      ...status,
    };
    const reason = status.reason ?? c.debugUnavailable ?? c.reason;
    if (reason !== undefined) out.reason = reason;
    return out;
  }

  lastSyndrome(): bigint | undefined {
    return this.syndrome;
  }

  /** Guest exceptions re-injected so far (all vCPUs). */
  get reinjections(): number {
    return this.reinjectionCount;
  }

  /** Stops that raced with the reported one and wait for their vCPU's next resume. */
  get pendingStops(): readonly StopEvent[] {
    return this.pending;
  }

  /** Forget raced stops (the guest ended). */
  forgetPendingStops(): void {
    this.pending.length = 0;
  }

  // ---- all-stop run control ----

  /** Ask every running vCPU to stop; the pending resume resolves with SIGINT. */
  interrupt(): void {
    if (!this.running) return;
    this.stopRequested = true;
    for (let v = 0; v < this.vm.vcpuCount; v++) this.safeStop(v);
  }

  /**
   * Resume per actions and resolve at the first stop with every vCPU stopped.
   * A refusal of the VM (a step with debugging off, a vCPU already running)
   * rejects; a run that fails in KVM is a stop (SIGSEGV with the error).
   */
  async resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    if (this.running) throw codedError(ErrorCode.BadState, 'the guest is already running');
    const plan: { vcpu: number; step: boolean }[] = [];
    for (let v = 0; v < this.vm.vcpuCount; v++) {
      const a = actions.find((x) => x.vcpu === v || x.vcpu === 'all');
      if (a) plan.push({ vcpu: v, step: a.step });
    }
    if (plan.length === 0) {
      throw codedError(ErrorCode.BadArgument, `no vCPU to resume in ${JSON.stringify(actions.map((a) => a.vcpu))}`);
    }
    // A stop that raced with the last one is reported now, if its vCPU resumes and it still applies.
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i] as StopEvent;
      if (!plan.some((x) => x.vcpu === p.vcpu)) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      if (this.stillApplies(p)) return p;
    }
    this.running = true;
    try {
      return await this.runAll(plan);
    } finally {
      this.running = false;
    }
  }

  /** Whether a stop kept from an earlier race still applies (its breakpoint is still there). */
  private stillApplies(s: StopEvent): boolean {
    const r = s.reason;
    const atPc = (): boolean => this.pc(s.vcpu) === s.pc;
    if (r.kind === 'swbreak') {
      try {
        return this.vm.swBreakpoints().includes(this.vm.translate(s.vcpu, s.pc).pa) && atPc();
      } catch {
        return false;
      }
    }
    if (r.kind === 'hwbreak') return this.vm.hwBreakpoints().includes(s.pc) && atPc();
    if (r.kind === 'watch') return this.vm.watchpoints().some((w) => r.addr >= w.addr && r.addr < w.addr + BigInt(w.len));
    return true;
  }

  private pc(vcpu: number): bigint {
    try {
      return this.vm.getReg(vcpu, 'pc');
    } catch {
      return 0n;
    }
  }

  private async runAll(plan: { vcpu: number; step: boolean }[]): Promise<StopEvent> {
    this.stopRequested = false;
    type Settled = { ok: LoopResult } | { err: unknown };
    const order: Settled[] = [];
    const tracked = plan.map(({ vcpu, step }) =>
      this.vcpuLoop(vcpu, step).then(
        (ok): Settled => {
          const s = { ok };
          order.push(s);
          return s;
        },
        (err: unknown): Settled => {
          const s = { err };
          order.push(s);
          return s;
        },
      ),
    );
    await Promise.race(tracked);
    // All-stop: stop every other vCPU and let its run settle.
    this.stopRequested = true;
    for (const { vcpu } of plan) this.safeStop(vcpu);
    await Promise.all(tracked);
    const refused = order.find((s): s is { err: unknown } => 'err' in s);
    if (refused) throw refused.err;
    const results = order.map((s) => (s as { ok: LoopResult }).ok);
    const exit = results.find((r): r is Extract<LoopResult, { kind: 'exit' }> => r.kind === 'exit');
    if (exit) {
      this.pending.length = 0;
      return { vcpu: exit.vcpu, reason: { kind: 'exited', code: exit.code }, pc: 0n, detail: exit.detail };
    }
    const stops = results.filter((r): r is Extract<LoopResult, { kind: 'stop' }> => r.kind === 'stop').map((r) => r.stop);
    const [report, ...raced] = stops;
    this.pending.push(...raced);
    if (report) return report;
    // Everyone was interrupted: an interrupt (or a stop request) with nothing else to say.
    const v = (plan[0] as { vcpu: number }).vcpu;
    return { vcpu: v, reason: { kind: 'signal', signal: SIGINT }, pc: this.pc(v) };
  }

  private safeStop(v: number): void {
    try {
      this.vm.stop(v);
    } catch {
      // a closed VM has nothing running
    }
  }

  private async vcpuLoop(v: number, step: boolean): Promise<LoopResult> {
    for (;;) {
      if (this.stopRequested) return { kind: 'interrupted', vcpu: v };
      // A synchronous throw is the VM refusing the run (ERR_DEBUG_OFF, ...): the caller's error.
      const run = this.vm.run(v, { singleStep: step, reportReinjections: true });
      let exit: VmExit;
      try {
        exit = await run;
      } catch (e) {
        const code = errorCode(e);
        const detail = `vCPU ${v}: run failed: ${messageOf(e)}${code ? ` [${code}]` : ''}`;
        return { kind: 'stop', stop: { vcpu: v, reason: { kind: 'signal', signal: SIGSEGV }, pc: this.pc(v), detail } };
      }
      const out = exitToStop(exit);
      switch (out.kind) {
        case 'mmio': {
          const unknown = this.opts.vmm.mmio(this.vm, exit);
          if (unknown) this.opts.onUnknownMmio?.(unknown);
          continue;
        }
        case 'interrupted':
          return { kind: 'interrupted', vcpu: v };
        case 'reinjected': {
          this.reinjectionCount++;
          this.opts.onReinjection?.({ vcpu: v, esr: out.esr, vector: out.vector, elr: out.elr });
          if (this.opts.stopOnReinjection) {
            return { kind: 'stop', stop: { vcpu: v, reason: { kind: 'reinjected', esr: out.esr, vector: out.vector }, pc: this.pc(v) } };
          }
          continue;
        }
        case 'exit':
          return { kind: 'exit', vcpu: v, code: out.code, detail: out.detail };
        case 'stop':
          if (out.stop.esr !== undefined) this.syndrome = out.stop.esr;
          return { kind: 'stop', stop: { ...out.stop, pc: out.stop.pc ?? this.pc(v) } };
      }
    }
  }
}

