/**
 * Session: run control of one VM under the capability policy, and its endings.
 *
 * - It applies the policy's plan: debugging on, or off in the VM with the reason
 *   (the Rust VM then refuses breakpoints and steps with ERR_DEBUG_OFF).
 * - It owns the session state: `running`, `stopped` (with a reason) and `exited`
 *   (with a code); every change is an event ('running', 'stop', 'exit').
 * - Every resume goes through the BreakpointTable (step-over, hit counts, one-shots)
 *   to the KvmTarget, whose all-stop run stops every vCPU at the first stop.
 * - It is the GDB server's RunControl (ts/src/gdb/server.ts): resume, interrupt,
 *   detach, kill.
 * - Cleanup (remove-all, guest debug off) runs on detach, exit, kill, error and
 *   close; `cleanup()` is idempotent and never throws.
 *
 * Layers, one way: server -> session/table -> KvmTarget -> addon. What the target
 * sees that the session reports (re-injections, unknown MMIO) comes up through
 * callbacks, as events.
 */

import { EventEmitter } from 'events';
import { BreakpointTable, type RemoveAllReport } from './breakpoints';
import { ErrorCode, codedError, messageOf } from './errors';
import { EXIT_GUEST_FAILURE, EXIT_POWER_OFF, SIGINT, SIGTRAP } from './exit-to-stop';
import { KvmTarget, type ReinjectionEvent } from './kvm-target';
import { capabilityPolicy, isRefusal, type DebugMode, type SessionPlan } from './policy';
import type { ResumeAction, StopEvent } from './target';
import type { KvmCapabilities, KvmVm } from './vmm/native-vm';
import { Vmm, describeUnknownMmio } from './vmm/vmm';

export { EXIT_GUEST_FAILURE, EXIT_POWER_OFF };
export type { ReinjectionEvent };

/** A stop as the session reports it (the target's StopEvent: it carries the syndrome and detail). */
export type SessionStop = StopEvent;

/** The session state. */
export type SessionState =
  | { state: 'running' }
  | { state: 'stopped'; stop: SessionStop }
  | { state: 'exited'; code: number; detail: string };

/** Debugging as the policy decided it. */
export interface DebugStatus {
  /** The user's request. */
  mode: DebugMode;
  /** Guest debugging is on. */
  enabled: boolean;
  /** Why it is off (policy reason, the kernel's refusal, or a detach). */
  reason?: string;
}

/** What a cleanup did (event 'cleanup'). */
export interface CleanupReport {
  /** Why it ran. */
  why: string;
  /** The table's removeAll. */
  table: RemoveAllReport;
  /** Software breakpoints the addon still had (should be none), restored by vm.detach(). */
  leftovers: bigint[];
  /** Errors met (cleanup goes on). */
  errors: string[];
}

/** Options of a session. */
export interface SessionOptions {
  /** The VM (the addon's Vm, or a fake with its interface). */
  vm: KvmVm;
  /** kvmCapabilities() of the addon. */
  capabilities: KvmCapabilities;
  /** `--debug`: require | auto | off. Default auto. */
  debug?: DebugMode;
  /** The VMM serving MMIO; default a new one with the UART on stdout. */
  vmm?: Vmm;
  /** Stop (reason `reinjected`) when a guest exception is re-injected. Default false: count and go on. */
  stopOnReinjection?: boolean;
}

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** What a detach turns debugging off with (the Rust VM's own words for it). */
const DETACHED = 'the debugger detached';

/** A debug session over one VM. Events: running, stop, exit, reinjected, mmio-unknown, cleanup. */
export class Session extends EventEmitter {
  /** The VM. */
  readonly vm: KvmVm;
  /** The VMM. */
  readonly vmm: Vmm;
  /** The DebugTarget view of the VM (for the GDB server). */
  readonly target: KvmTarget;
  /** Breakpoint bookkeeping (shared with the GDB server). */
  readonly table: BreakpointTable;
  /** Debugging as decided by the policy. */
  readonly debug: DebugStatus;
  /** The capabilities the policy decided from. */
  readonly capabilities: KvmCapabilities;
  /** The policy plan applied. */
  readonly plan: SessionPlan;

  private st: SessionState;
  private inFlight: Promise<StopEvent> | undefined;
  private killPending = false;
  private cleanedUp: CleanupReport | undefined;

  /**
   * Apply the capability policy and open a session. Throws ERR_DEBUG_UNAVAILABLE
   * (with the reason) when `debug` is 'require' and debugging cannot be had.
   * With 'auto' a missing capability, or a kernel that rejects the control flags
   * (probed once by the VM), leaves debugging off with the reason.
   */
  constructor(opts: SessionOptions) {
    super();
    this.vm = opts.vm;
    this.vmm = opts.vmm ?? new Vmm();
    this.capabilities = opts.capabilities;
    const mode = opts.debug ?? 'auto';
    const caps = opts.capabilities;
    let plan = capabilityPolicy(caps, { type: 'session', debug: mode });
    if (!isRefusal(plan) && plan.debug) {
      try {
        this.vm.probeGuestDebug();
      } catch (e) {
        plan = capabilityPolicy(caps, { type: 'session', debug: mode, controlRejected: messageOf(e) });
      }
    }
    if (isRefusal(plan)) throw codedError(plan.code, plan.reason);
    this.plan = plan;
    this.debug = { mode, enabled: plan.debug };
    if (plan.reason !== undefined) {
      this.debug.reason = plan.reason;
      this.vm.turnDebugOff(plan.reason);
    }
    this.target = new KvmTarget(this.vm, {
      capabilities: caps,
      vmm: this.vmm,
      stopOnReinjection: opts.stopOnReinjection ?? false,
      debugStatus: () => ({
        debugEnabled: this.debug.enabled,
        debugMode: this.debug.mode,
        ...(this.debug.reason !== undefined ? { reason: this.debug.reason } : {}),
      }),
      onReinjection: (ev) => this.emit('reinjected', ev),
      onUnknownMmio: (u) => this.emit('mmio-unknown', u, describeUnknownMmio(u)),
    });
    this.table = new BreakpointTable(this.target, { capabilities: caps });
    this.st = { state: 'stopped', stop: { vcpu: 0, reason: { kind: 'signal', signal: SIGTRAP }, pc: this.pc(0) } };
  }

  /** The current state. */
  get state(): SessionState {
    return this.st;
  }

  /** True while a resume is in flight. */
  get running(): boolean {
    return this.inFlight !== undefined;
  }

  /** The last syndrome a debug exit reported (for `monitor esr`). */
  get lastSyndrome(): bigint | undefined {
    return this.target.lastSyndrome();
  }

  /** Guest exceptions re-injected so far (all vCPUs). */
  get reinjections(): number {
    return this.target.reinjections;
  }

  /** Stops that raced with the reported one and wait for their vCPU's next resume. */
  get pendingStops(): readonly SessionStop[] {
    return this.target.pendingStops;
  }

  /** Number of vCPUs. */
  get vcpuCount(): number {
    return this.vm.vcpuCount;
  }

  private pc(vcpu: number): bigint {
    try {
      return this.vm.getReg(vcpu, 'pc');
    } catch {
      return 0n;
    }
  }

  // ---- run control ----

  /** Continue every vCPU until the next stop. */
  cont(): Promise<StopEvent> {
    return this.resume([{ vcpu: 'all', step: false }]);
  }

  /** Single-step one vCPU (the others stay stopped). */
  step(vcpu = 0): Promise<StopEvent> {
    return this.resume([{ vcpu, step: true }]);
  }

  /**
   * Resume per actions (gdb vCont semantics) through the table and resolve at the
   * next stop, with the state and the events updated. After an exit it resolves
   * with the exit at once.
   */
  async resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    if (this.st.state === 'exited') return { vcpu: 0, reason: { kind: 'exited', code: this.st.code }, pc: 0n };
    if (this.inFlight) throw codedError(ErrorCode.BadState, 'the guest is already running');
    const before = this.st;
    const p = this.table.resume(actions);
    this.inFlight = p;
    this.st = { state: 'running' };
    this.emit('running');
    let ev: StopEvent;
    try {
      ev = await p;
    } catch (e) {
      // Refused (e.g. a step with debugging off): nothing ran, the guest is as it was.
      if (this.st.state === 'running') this.st = before;
      throw e;
    } finally {
      this.inFlight = undefined;
    }
    const now = this.st as SessionState;
    if (now.state === 'exited') {
      // kill() ended it meanwhile: clean up now that nothing runs.
      this.finishKill();
      return { vcpu: ev.vcpu, reason: { kind: 'exited', code: now.code }, pc: 0n };
    }
    if (ev.reason.kind === 'exited') return this.exited(ev);
    this.st = { state: 'stopped', stop: ev };
    this.emit('stop', ev);
    return ev;
  }

  /** Stop a running guest promptly (Ctrl-C, gdb 0x03); the resume resolves with SIGINT. */
  interrupt(): void {
    if (this.inFlight) this.table.interrupt();
  }

  /** Resolves when no resume is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight) {
      try {
        await this.inFlight;
      } catch {
        // the resume's own caller sees its error
      }
    }
  }

  private exited(ev: StopEvent): StopEvent {
    const code = ev.reason.kind === 'exited' ? ev.reason.code : EXIT_GUEST_FAILURE;
    const detail = ev.detail ?? `exited with code ${code}`;
    this.st = { state: 'exited', code, detail };
    this.cleanup(`guest exit (${detail})`);
    this.emit('exit', { code, detail });
    return ev;
  }

  // ---- endings ----

  /**
   * Stop debugging: remove every breakpoint (memory restored), guest debug off on
   * every vCPU for good. The guest stays as it is; `runToEnd()` lets it go on. If
   * a resume is in flight it is interrupted first. Idempotent.
   */
  async detach(): Promise<CleanupReport> {
    this.debug.enabled = false;
    this.debug.reason ??= DETACHED;
    if (this.inFlight) {
      this.interrupt();
      await this.idle();
    }
    return this.cleanup('detach');
  }

  /**
   * Remove all breakpoints (restoring memory) and turn guest debug off, whatever
   * state the session is in. Never throws; errors are in the report. Runs once.
   */
  cleanup(why: string): CleanupReport {
    if (this.cleanedUp) return this.cleanedUp;
    const errors: string[] = [];
    const table = this.table.removeAll();
    for (const c of table.conflicts) errors.push(`breakpoint at ${hex(c.entry.addr)}: ${c.message}`);
    let leftovers: bigint[] = [];
    try {
      leftovers = this.vm.swBreakpoints();
      const r = this.vm.detach();
      for (const c of r.conflicts) errors.push(`${hex(c.addr)}: ${c.message}`);
    } catch (e) {
      errors.push(messageOf(e));
    }
    const report: CleanupReport = { why, table, leftovers, errors };
    this.cleanedUp = report;
    this.emit('cleanup', report);
    return report;
  }

  /**
   * Run the guest until it exits (after a detach, or without a debugger). Stops
   * that are faults end it too: resolves with the exit code and why. An interrupt
   * makes it resolve undefined, with the guest stopped, when `pause()` says so
   * (a debugger takes over); otherwise the run goes on.
   */
  async runToEnd(pause?: () => boolean): Promise<{ code: number; detail: string } | undefined> {
    await this.idle();
    for (;;) {
      if (this.st.state === 'exited') return { code: this.st.code, detail: this.st.detail };
      await this.resume([{ vcpu: 'all', step: false }]);
      const s = this.st as SessionState;
      if (s.state === 'stopped') {
        if (s.stop.reason.kind === 'signal' && s.stop.reason.signal === SIGINT) {
          // Stopped on request: hand the stopped guest over (a debugger connected), or go on.
          if (pause?.()) return undefined;
          continue;
        }
        if (s.stop.reason.kind === 'signal') {
          return this.kill(s.stop.detail ?? `stopped with signal ${s.stop.reason.signal} at pc ${hex(s.stop.pc)}`, EXIT_GUEST_FAILURE);
        }
        // a stale breakpoint/watch stop after detach cannot recur (cleanup removed them): go on
      }
    }
  }

  /**
   * End the guest now (gdb `k`, a signal, an error): state exited at once; the
   * cleanup and the 'exit' event follow as soon as no vCPU runs (at once when
   * idle; otherwise before the interrupted resume resolves), so guest debug can
   * be turned off on every vCPU.
   */
  kill(detail = 'killed', code = EXIT_GUEST_FAILURE): { code: number; detail: string } {
    if (this.st.state !== 'exited') {
      this.st = { state: 'exited', code, detail };
      this.killPending = true;
      if (this.inFlight) this.table.interrupt();
      else this.finishKill();
    }
    return { code: this.st.code, detail: this.st.detail };
  }

  private finishKill(): void {
    if (!this.killPending || this.st.state !== 'exited') return;
    this.killPending = false;
    this.target.forgetPendingStops();
    this.cleanup(this.st.detail);
    this.emit('exit', { code: this.st.code, detail: this.st.detail });
  }

  /** Clean up and close the VM (its threads end). */
  async close(): Promise<CleanupReport> {
    if (this.inFlight) {
      this.interrupt();
      await this.idle();
    }
    const r = this.cleanup('close');
    try {
      this.vm.close();
    } catch {
      // already closed
    }
    return r;
  }
}
