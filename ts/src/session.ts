/**
 * Session: run control of one VM and its vCPUs, under the capability policy.
 *
 * - States: `running`, `stopped` (with a reason) and `exited` (with a code); every
 *   change is an event ('running', 'stop', 'exit').
 * - All-stop: the first vCPU that stops stops the others (vm.stop on each running
 *   one, then its run settles). A second stop that raced in is kept and reported at
 *   the next resume of that vCPU instead of being lost (if it still applies).
 * - MMIO exits are served by the VMM and the vCPU resumes without a stop; PSCI
 *   SYSTEM_OFF ends the session (`exited`, code 0). Guest exceptions the addon
 *   re-injected continue the run; they are counted and emitted ('reinjected').
 * - An unknown debug exit, an internal error, a failed entry or an unknown exit
 *   reason stops with the decoded syndrome / the exit's numbers: never ignored.
 * - Breakpoints go through a BreakpointTable (reference counts, policy, step-over)
 *   over {@link KvmTarget}; the GDB server gets the same table.
 * - Cleanup (remove-all, guest debug off) runs on detach, exit, kill, error and
 *   close; `cleanup()` is idempotent and never throws.
 */

import { EventEmitter } from 'events';
import { BreakpointTable, type RemoveAllReport } from './breakpoints';
import { KvmTarget } from './kvm-target';
import {
  capabilityPolicy,
  isRefusal,
  type DebugMode,
  type PolicyCapabilities,
  type SessionPlan,
} from './policy';
import {
  TargetError,
  TargetErrorCode,
  errorCode,
  type ResumeAction,
  type StopEvent,
  type StopReason,
  type TargetBreakpoint,
  type WatchKind,
} from './target';
import type { GuestDebugOptions, KvmCapabilities, KvmVm, VmExit } from './vmm/native-vm';
import { Vmm, describeUnknownMmio, type UnknownMmio } from './vmm/vmm';

/** gdb signal numbers (gdb/signals.def). */
const SIGINT = 2;
const SIGTRAP = 5;
const SIGSEGV = 11;
/** ESR_ELx.ISS bit 6 for watchpoints: WnR, 1 = write (Arm ARM D17.2.37, ISS for EC 0x34). */
const ESR_WNR = 1n << 6n;
/** Exit code of a guest that powered off with PSCI SYSTEM_OFF (it carries no status). */
export const EXIT_POWER_OFF = 0;
/** Exit code when the guest crashed (PSCI/KVM crash event) or the VM failed. */
export const EXIT_GUEST_FAILURE = 1;

/** A stop as the session reports it: the target's StopEvent plus what explains it. */
export interface SessionStop extends StopEvent {
  /** The syndrome of a debug exit (ESR_EL2 as KVM gave it). */
  esr?: bigint;
  /** Its one-line decode. */
  summary?: string;
  /** Why, in words, for stops that are not a breakpoint/step/watch/interrupt. */
  detail?: string;
}

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
  /** Why it is off (policy reason or the kernel's refusal). */
  reason?: string;
}

/** A re-injected guest exception (event 'reinjected'). */
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
  /** Decoder for stop summaries (ESR -> one line); default: the addon's `summary` field. */
  summarize?: (esr: bigint) => string;
}

/** Result of one vCPU's run loop. */
type LoopResult =
  | { kind: 'stop'; stop: SessionStop }
  | { kind: 'exit'; vcpu: number; code: number; detail: string }
  | { kind: 'interrupted'; vcpu: number };

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** An error with a stable code for refusals of the session itself. */
export class SessionError extends Error {
  /** Stable code (ERR_DEBUG_UNAVAILABLE, ERR_BAD_STATE, ...). */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SessionError';
    this.code = code;
  }
}

/** The table the session and the GDB server share: it reports accounted stops to the session. */
class SessionTable extends BreakpointTable {
  constructor(
    private readonly session: Session,
    target: KvmTarget,
    caps: PolicyCapabilities,
    debugEnabled: boolean,
  ) {
    super(target, { capabilities: caps, debugEnabled });
  }

  override async resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    const ev = await super.resume(actions);
    this.session.reportStop(ev);
    return ev;
  }
}

/** A debug session over one VM. Events: running, stop, exit, reinjected, mmio-unknown, cleanup. */
export class Session extends EventEmitter {
  /** The VM. */
  readonly vm: KvmVm;
  /** The VMM. */
  readonly vmm: Vmm;
  /** The DebugTarget view of this session (for the GDB server). */
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
  private syndrome: bigint | undefined;
  private readonly pending: SessionStop[] = [];
  private inFlight: Promise<StopEvent> | undefined;
  private stopRequested = false;
  private interruptRequested = false;
  private debugDetached = false;
  private killPending = false;
  private cleanedUp: CleanupReport | undefined;
  private reinjectionCount = 0;
  private readonly stopOnReinjection: boolean;
  private readonly summarize: ((esr: bigint) => string) | undefined;
  /** Hardware breakpoints (VA) and watchpoints installed through the target, applied at each resume. */
  readonly hw: TargetBreakpoint[] = [];
  /** Watchpoints installed through the target. */
  readonly watch: TargetBreakpoint[] = [];

  /**
   * Apply the capability policy and open a session. Throws ERR_DEBUG_UNAVAILABLE
   * (with the reason) when `debug` is 'require' and debugging cannot be had.
   * With 'auto' a missing capability, or a kernel that rejects the control flags
   * (probed here with one KVM_SET_GUEST_DEBUG), leaves debugging off with the reason.
   * With 'off' guest debug is never touched.
   */
  constructor(opts: SessionOptions) {
    super();
    this.vm = opts.vm;
    this.vmm = opts.vmm ?? new Vmm();
    this.capabilities = opts.capabilities;
    this.stopOnReinjection = opts.stopOnReinjection ?? false;
    this.summarize = opts.summarize;
    const mode = opts.debug ?? 'auto';
    const caps = opts.capabilities;
    let plan = capabilityPolicy(caps, { type: 'session', debug: mode });
    if (!isRefusal(plan) && plan.debug) {
      const rejected = this.probeGuestDebug();
      if (rejected !== undefined) plan = capabilityPolicy(caps, { type: 'session', debug: mode, controlRejected: rejected });
    }
    if (isRefusal(plan)) throw new SessionError(plan.code, plan.reason);
    this.plan = plan;
    this.debug = { mode, enabled: plan.debug };
    if (plan.reason !== undefined) this.debug.reason = plan.reason;
    this.target = new KvmTarget(this);
    this.table = new SessionTable(this, this.target, caps, plan.debug);
    this.st = { state: 'stopped', stop: { vcpu: 0, reason: { kind: 'signal', signal: SIGTRAP }, pc: this.pc(0) } };
  }

  /** One KVM_SET_GUEST_DEBUG with ENABLE|SINGLESTEP on vCPU 0, then off: the kernel's error text, if any. */
  private probeGuestDebug(): string | undefined {
    try {
      this.vm.setGuestDebug(0, { singleStep: true });
      this.vm.setGuestDebug(0, {});
      return undefined;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
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
    return this.syndrome;
  }

  /** Guest exceptions re-injected so far (all vCPUs). */
  get reinjections(): number {
    return this.reinjectionCount;
  }

  /** Stops that raced with the reported one and wait for their vCPU's next resume. */
  get pendingStops(): readonly SessionStop[] {
    return this.pending;
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

  // ---- public run control (through the table: step-over, hit counts, one-shots) ----

  /** Continue every vCPU until the next stop. */
  cont(): Promise<StopEvent> {
    return this.table.resume([{ vcpu: 'all', step: false }]);
  }

  /** Single-step one vCPU (the others stay stopped). */
  step(vcpu = 0): Promise<StopEvent> {
    return this.table.resume([{ vcpu, step: true }]);
  }

  /** Resume per actions (gdb vCont semantics). */
  resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    return this.table.resume(actions);
  }

  /** Stop a running guest promptly (Ctrl-C, gdb 0x03); the resume resolves with SIGINT. */
  interrupt(): void {
    this.table.interrupt();
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

  /** Called by the table with each accounted stop: state and events. */
  reportStop(ev: StopEvent): void {
    if (ev.reason.kind === 'exited') return; // 'exit' was emitted when it happened
    this.emit('stop', this.st.state === 'stopped' ? this.st.stop : ev);
  }

  // ---- the DebugTarget side (KvmTarget calls these) ----

  /** Guest-debug options for one vCPU's next run: its step flag plus every hw breakpoint/watchpoint. */
  private guestDebugFor(step: boolean): GuestDebugOptions {
    const opts: GuestDebugOptions = {};
    if (step) opts.singleStep = true;
    if (this.hw.length > 0) opts.hwBreakpoints = this.hw.map((b) => ({ addr: b.addr }));
    if (this.watch.length > 0) {
      opts.watchpoints = this.watch.map((w) => ({
        addr: w.addr,
        len: w.length,
        kind: w.kind === 'watch-write' ? 'write' : w.kind === 'watch-read' ? 'read' : 'access',
      }));
    }
    return opts;
  }

  /** Whether a stop kept from an earlier race still applies (its breakpoint is still there). */
  private stillApplies(s: SessionStop): boolean {
    const r = s.reason;
    if (r.kind === 'swbreak') return this.target.hasSwBreakpoint(s.pc) && this.pc(s.vcpu) === s.pc;
    if (r.kind === 'hwbreak') return this.hw.some((b) => b.addr === s.pc) && this.pc(s.vcpu) === s.pc;
    if (r.kind === 'watch') {
      const a = r.addr;
      return this.watch.some((w) => a >= w.addr && a < w.addr + BigInt(w.length));
    }
    return true;
  }

  /**
   * Resume per actions without breakpoint accounting (the table's step-over uses
   * this). All-stop: resolves at the first stop with every vCPU stopped.
   */
  async resumeRaw(actions: readonly ResumeAction[]): Promise<StopEvent> {
    if (this.st.state === 'exited') return { vcpu: 0, reason: { kind: 'exited', code: this.st.code }, pc: 0n };
    if (this.inFlight) throw new TargetError(TargetErrorCode.BadState, 'the guest is already running');
    const plan: { vcpu: number; step: boolean }[] = [];
    for (let v = 0; v < this.vm.vcpuCount; v++) {
      const a = actions.find((x) => x.vcpu === v || x.vcpu === 'all');
      if (a) plan.push({ vcpu: v, step: a.step });
    }
    if (plan.length === 0) {
      throw new TargetError(TargetErrorCode.BadArgument, `no vCPU to resume in ${JSON.stringify(actions.map((a) => a.vcpu))}`);
    }
    const debugOn = this.debug.enabled && !this.debugDetached;
    if (plan.some((p) => p.step) && !debugOn) {
      throw new TargetError(TargetErrorCode.Unsupported, `cannot single-step: debugging is off (${this.debugOffReason()})`);
    }
    // A stop that raced with the last one is reported now, if its vCPU resumes and it still applies.
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i] as SessionStop;
      if (!plan.some((x) => x.vcpu === p.vcpu)) {
        i++;
        continue;
      }
      this.pending.splice(i, 1);
      if (this.stillApplies(p)) {
        this.st = { state: 'stopped', stop: p };
        return p;
      }
    }
    if (debugOn) {
      for (let v = 0; v < this.vm.vcpuCount; v++) {
        const step = plan.some((p) => p.vcpu === v && p.step);
        this.vm.setGuestDebug(v, this.guestDebugFor(step));
      }
    }
    const p = this.runAll(plan.map((x) => x.vcpu));
    this.inFlight = p;
    try {
      return await p;
    } finally {
      this.inFlight = undefined;
    }
  }

  private debugOffReason(): string {
    if (this.debugDetached) return 'the debugger detached';
    return this.debug.reason ?? 'debugging is off';
  }

  private async runAll(vcpus: number[]): Promise<StopEvent> {
    this.stopRequested = false;
    this.interruptRequested = false;
    this.st = { state: 'running' };
    this.emit('running');
    const loops = vcpus.map((v) => this.vcpuLoop(v));
    const settled: (LoopResult | undefined)[] = vcpus.map(() => undefined);
    const order: number[] = [];
    const tracked = loops.map((l, i) =>
      l.then((r) => {
        settled[i] = r;
        order.push(i);
        return r;
      }),
    );
    const first = await Promise.race(tracked);
    // All-stop: stop every other vCPU and let its run settle.
    this.stopRequested = true;
    for (const v of vcpus) this.safeStop(v);
    await Promise.all(tracked);
    void first;
    const now = this.st as SessionState; // kill() ended it meanwhile: clean up now that nothing runs
    if (now.state === 'exited') {
      this.finishKill();
      return { vcpu: vcpus[0] as number, reason: { kind: 'exited', code: now.code }, pc: 0n };
    }
    const results = order.map((i) => settled[i] as LoopResult);
    const exit = results.find((r): r is Extract<LoopResult, { kind: 'exit' }> => r.kind === 'exit');
    if (exit) return this.exited(exit.vcpu, exit.code, exit.detail);
    const stops = results.filter((r): r is Extract<LoopResult, { kind: 'stop' }> => r.kind === 'stop').map((r) => r.stop);
    const [report, ...raced] = stops;
    this.pending.push(...raced);
    if (report) {
      this.st = { state: 'stopped', stop: report };
      return report;
    }
    // Everyone was interrupted: an interrupt (or a stop request) with nothing else to say.
    const v = vcpus[0] as number;
    const stop: SessionStop = { vcpu: v, reason: { kind: 'signal', signal: SIGINT }, pc: this.pc(v) };
    this.st = { state: 'stopped', stop };
    return stop;
  }

  private safeStop(v: number): void {
    try {
      this.vm.stop(v);
    } catch {
      // a closed VM has nothing running
    }
  }

  private exited(vcpu: number, code: number, detail: string): StopEvent {
    this.pending.length = 0;
    this.st = { state: 'exited', code, detail };
    this.cleanup(`guest exit (${detail})`);
    this.emit('exit', { code, detail });
    return { vcpu, reason: { kind: 'exited', code }, pc: 0n };
  }

  /** Ask every running vCPU to stop (the interrupt path of the target). */
  interruptRaw(): void {
    if (!this.inFlight) return;
    this.interruptRequested = true;
    this.stopRequested = true;
    for (let v = 0; v < this.vm.vcpuCount; v++) this.safeStop(v);
  }

  /** True when the last stop request was an interrupt (Ctrl-C). */
  get interrupted(): boolean {
    return this.interruptRequested;
  }

  private async vcpuLoop(v: number): Promise<LoopResult> {
    for (;;) {
      if (this.stopRequested) return { kind: 'interrupted', vcpu: v };
      let exit: VmExit;
      try {
        exit = await this.vm.run(v, { reportReinjections: true });
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const stop: SessionStop = {
          vcpu: v,
          reason: { kind: 'signal', signal: SIGSEGV },
          pc: this.pc(v),
          detail: `vCPU ${v}: run failed: ${msg}${errorCode(e) ? ` [${errorCode(e)}]` : ''}`,
        };
        return { kind: 'stop', stop };
      }
      switch (exit.kind) {
        case 'mmio': {
          const unknown = this.vmm.mmio(this.vm, exit);
          if (unknown) this.onUnknownMmio(unknown);
          continue;
        }
        case 'interrupted':
          return { kind: 'interrupted', vcpu: v };
        case 'reinjected': {
          this.reinjectionCount++;
          const ev: ReinjectionEvent = { vcpu: v, esr: exit.esr ?? 0n, vector: exit.vector ?? 0n, elr: exit.elr };
          this.emit('reinjected', ev);
          if (this.stopOnReinjection) {
            const reason: StopReason = { kind: 'reinjected', esr: ev.esr, vector: ev.vector };
            return { kind: 'stop', stop: { vcpu: v, reason, pc: this.pc(v) } };
          }
          continue;
        }
        case 'systemEvent':
          return this.systemEvent(v, exit);
        case 'debug':
          return { kind: 'stop', stop: this.debugStop(v, exit) };
        case 'internalError':
          return this.fault(v, `KVM internal error, suberror ${exit.suberror ?? '?'}`);
        case 'failEntry':
          return this.fault(
            v,
            `KVM_RUN entry failed: hardware_entry_failure_reason ${hex(exit.hardwareReason ?? 0n)} on cpu ${exit.cpu ?? '?'}`,
          );
        default:
          return this.fault(v, `unknown KVM exit reason ${exit.exitReason ?? '?'} (kind ${exit.kind})`);
      }
    }
  }

  private onUnknownMmio(u: UnknownMmio): void {
    this.emit('mmio-unknown', u, describeUnknownMmio(u));
  }

  private fault(v: number, detail: string): LoopResult {
    return { kind: 'stop', stop: { vcpu: v, reason: { kind: 'signal', signal: SIGSEGV }, pc: this.pc(v), detail } };
  }

  private systemEvent(v: number, exit: VmExit): LoopResult {
    switch (exit.event) {
      case 'shutdown':
        return { kind: 'exit', vcpu: v, code: EXIT_POWER_OFF, detail: `PSCI SYSTEM_OFF from vCPU ${v}` };
      case 'reset':
        return { kind: 'exit', vcpu: v, code: EXIT_POWER_OFF, detail: `PSCI SYSTEM_RESET from vCPU ${v} (not rebooted)` };
      case 'crash':
        return { kind: 'exit', vcpu: v, code: EXIT_GUEST_FAILURE, detail: `the guest crashed (system event crash, vCPU ${v})` };
      default:
        return this.fault(v, `unknown KVM system event type ${exit.eventType ?? '?'}`);
    }
  }

  private debugStop(v: number, exit: VmExit): SessionStop {
    const esr = exit.esr ?? 0n;
    this.syndrome = esr;
    const pc = exit.pc ?? this.pc(v);
    const summary = exit.summary ?? this.summarize?.(esr);
    const base = { vcpu: v, pc, esr, ...(summary !== undefined ? { summary } : {}) };
    switch (exit.cause) {
      case 'swbp':
        return { ...base, reason: { kind: 'swbreak' } };
      case 'hwbp':
        return { ...base, reason: { kind: 'hwbreak' } };
      case 'step':
        return { ...base, reason: { kind: 'step' } };
      case 'watch': {
        const far = exit.far ?? 0n;
        const w = this.watch.find((x) => far >= x.addr && far < x.addr + BigInt(x.length));
        const kind: WatchKind =
          w?.kind === 'watch-access' ? 'access' : w?.kind === 'watch-read' ? 'read' : w?.kind === 'watch-write' ? 'write' : (esr & ESR_WNR) !== 0n ? 'write' : 'read';
        return { ...base, reason: { kind: 'watch', watch: kind, addr: far } };
      }
      default:
        // Not a breakpoint, step or watchpoint of ours: report it, never ignore it.
        return {
          ...base,
          reason: { kind: 'signal', signal: SIGTRAP },
          detail: `unexpected debug exit on vCPU ${v}: ESR ${hex(esr)}${summary ? ` (${summary})` : ''}`,
        };
    }
  }

  // ---- endings ----

  /**
   * Stop debugging: remove every breakpoint (memory restored), guest debug off on
   * every vCPU. The guest stays as it is; `runToEnd()` lets it go on. If a resume
   * is in flight it is interrupted first. Idempotent.
   */
  async detach(): Promise<CleanupReport> {
    this.debugDetached = true;
    if (this.inFlight) {
      this.interruptRaw();
      await this.idle();
    }
    return this.cleanup('detach');
  }

  /** The synchronous part of detach for the GDB server (it already emptied the table). */
  detachDebug(): void {
    this.debugDetached = true;
    if (this.inFlight) {
      this.interruptRaw();
      void this.idle().then(() => this.cleanup('detach'));
    } else {
      this.cleanup('detach');
    }
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
    this.hw.length = 0;
    this.watch.length = 0;
    let leftovers: bigint[] = [];
    try {
      leftovers = this.vm.swBreakpoints();
      const r = this.vm.detach();
      this.target.forgetAll();
      for (const c of r.conflicts) errors.push(`${hex(c.addr)}: ${c.message}`);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
    this.debugDetached = true;
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
      const ev = await this.resumeRaw([{ vcpu: 'all', step: false }]);
      this.reportStop(ev);
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
      if (this.inFlight) this.interruptRaw();
      else this.finishKill();
    }
    return { code: this.st.code, detail: this.st.detail };
  }

  private finishKill(): void {
    if (!this.killPending || this.st.state !== 'exited') return;
    this.killPending = false;
    this.pending.length = 0;
    this.cleanup(this.st.detail);
    this.emit('exit', { code: this.st.code, detail: this.st.detail });
  }

  /** Clean up and close the VM (its threads end). */
  async close(): Promise<CleanupReport> {
    if (this.inFlight) {
      this.interruptRaw();
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
