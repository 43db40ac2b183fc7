/**
 * BreakpointTable: the bookkeeping of breakpoints and watchpoints over a DebugTarget.
 *
 * - Reference-counted per (kind, address[, length for watchpoints]): the target
 *   sees one insert for the first reference and one remove for the last.
 * - Every entry applies to every vCPU (the target installs it on all of them).
 * - The CapabilityPolicy picks the mechanism: a software breakpoint on memory that
 *   cannot be patched becomes a hardware one when a slot is free.
 * - Virtual addresses are translated when inserted; both VA and PA are kept, so a
 *   later change of the guest's page tables cannot make us restore the wrong page.
 * - One-shot references and hit counts.
 * - Step-over on resume, all-stop: the vCPU that stopped on a breakpoint (or a
 *   watchpoint, which fires before the access) steps
 *   alone with that breakpoint removed while the others stay stopped, then the
 *   breakpoint goes back and the real resume proceeds.
 * - removeAll restores memory and reports conflicts without stopping at the first.
 */

import { capabilityPolicy, isRefusal, A64_INSN_BYTES, type MemoryState, type PolicyCapabilities } from './policy';
import {
  TargetError,
  TargetErrorCode,
  errorCode,
  isWatchKind,
  type BreakpointKind,
  type DebugTarget,
  type ResumeAction,
  type StopEvent,
  type TargetBreakpoint,
} from './target';

/** One table entry. */
export interface BreakpointEntry {
  /** Stable id, in insertion order. */
  readonly id: number;
  /** The kind asked for (the key). */
  readonly requested: BreakpointKind;
  /** The kind installed (differs from `requested` after a sw -> hw fallback). */
  readonly installed: BreakpointKind;
  /** Guest-virtual address. */
  readonly addr: bigint;
  /** Guest-physical address at insert time, when it translated. */
  readonly pa: bigint | undefined;
  /** Length in bytes. */
  readonly length: number;
  /** References held (including one-shot ones). */
  refs: number;
  /** How many of `refs` are one-shot (dropped at the first hit). */
  oneShotRefs: number;
  /** Times a stop was attributed to this entry. */
  hits: number;
  /** Why the installed kind differs from the requested one. */
  readonly note: string | undefined;
}

/** An insert request. */
export interface InsertRequest {
  /** Kind. */
  kind: BreakpointKind;
  /** Guest-virtual address. */
  addr: bigint;
  /** Bytes covered; defaults to 4 (one A64 instruction) for code breakpoints. */
  length?: number;
  /** Drop this reference at the first hit. */
  oneShot?: boolean;
  /** vCPU whose translation regime resolves `addr`; default 0. */
  vcpu?: number;
}

/** Result of an insert. */
export interface InsertResult {
  /** The entry (new or existing). */
  entry: BreakpointEntry;
  /** True when this insert reached the target (first reference). */
  installed: boolean;
  /** Set when the policy changed the kind. */
  note?: string;
}

/** A breakpoint whose removal failed, with the error. */
export interface RemoveConflict {
  /** The entry that could not be restored cleanly. */
  entry: BreakpointEntry;
  /** Stable code (ERR_PATCH_CONFLICT when the guest rewrote our BRK). */
  code: string;
  /** The error message. */
  message: string;
}

/** What removeAll did. */
export interface RemoveAllReport {
  /** Entries removed cleanly. */
  removed: BreakpointEntry[];
  /** Entries whose removal failed; the table forgot them anyway. */
  conflicts: RemoveConflict[];
}

/** Options of the table. */
export interface BreakpointTableOptions {
  /** Capabilities the policy decides from (hardware slot counts). */
  capabilities: PolicyCapabilities;
  /** Whether guest debugging is on (the session plan). Default true. */
  debugEnabled?: boolean;
}

/** gdb/Linux SIGINT: what an interrupted resume reports. */
const SIGINT = 2;

function key(kind: BreakpointKind, addr: bigint, length: number): string {
  return isWatchKind(kind) ? `${kind}:${addr.toString(16)}:${length}` : `${kind}:${addr.toString(16)}`;
}

function toTarget(e: BreakpointEntry): TargetBreakpoint {
  const bp: TargetBreakpoint = { kind: e.installed, addr: e.addr, length: e.length };
  if (e.pa !== undefined) bp.pa = e.pa;
  return bp;
}

function isCode(kind: BreakpointKind): boolean {
  return kind === 'sw' || kind === 'hw';
}

/** Reference-counted breakpoints and watchpoints over a target. */
export class BreakpointTable {
  private readonly entries = new Map<string, BreakpointEntry>();
  private nextId = 1;
  private readonly caps: PolicyCapabilities;
  private readonly debugEnabled: boolean;
  /** The vCPU of the last stop on entries of ours, and those entries, for step-over. */
  private stoppedOn: { vcpu: number; entries: BreakpointEntry[] } | undefined;
  /** An interrupt arrived during this resume (it may land on the step-over step). */
  private interruptRequested = false;

  constructor(
    private readonly target: DebugTarget,
    options: BreakpointTableOptions,
  ) {
    this.caps = options.capabilities;
    this.debugEnabled = options.debugEnabled ?? true;
  }

  /** Hardware breakpoint slots in use. */
  get hwBreakpointsInUse(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.installed === 'hw') n++;
    return n;
  }

  /** Hardware watchpoint slots in use. */
  get hwWatchpointsInUse(): number {
    let n = 0;
    for (const e of this.entries.values()) if (isWatchKind(e.installed)) n++;
    return n;
  }

  /** All entries, in insertion order. */
  list(): BreakpointEntry[] {
    return [...this.entries.values()].sort((a, b) => a.id - b.id);
  }

  /** The entry for (kind, addr[, length]), if any. */
  find(kind: BreakpointKind, addr: bigint, length = A64_INSN_BYTES): BreakpointEntry | undefined {
    return this.entries.get(key(kind, addr, length));
  }

  /** Add a reference; the first one installs it on the target. Throws TargetError on refusal. */
  insert(req: InsertRequest): InsertResult {
    const length = req.length ?? A64_INSN_BYTES;
    const k = key(req.kind, req.addr, length);
    const existing = this.entries.get(k);
    if (existing) {
      existing.refs++;
      if (req.oneShot) existing.oneShotRefs++;
      return { entry: existing, installed: false };
    }

    // Translate the VA now and keep both: the patch lives at this PA.
    let pa: bigint | undefined;
    let memory: MemoryState;
    try {
      const t = this.target.translate(req.vcpu ?? 0, req.addr);
      pa = t.pa;
      memory = t.ram
        ? { writable: true }
        : { writable: false, reason: `0x${req.addr.toString(16)} maps to 0x${t.pa.toString(16)}, which is not RAM` };
    } catch (e) {
      if (errorCode(e) !== TargetErrorCode.Translation) throw e;
      memory = { writable: false, reason: `unmapped virtual address: ${(e as Error).message}` };
    }

    const plan = capabilityPolicy(this.caps, {
      type: 'breakpoint',
      kind: req.kind,
      addr: req.addr,
      length,
      debugEnabled: this.debugEnabled,
      memory,
      hwBreakpointsInUse: this.hwBreakpointsInUse,
      hwWatchpointsInUse: this.hwWatchpointsInUse,
    });
    if (isRefusal(plan)) throw new TargetError(plan.code, plan.reason, req.addr);

    const entry: BreakpointEntry = {
      id: this.nextId++,
      requested: req.kind,
      installed: plan.kind,
      addr: req.addr,
      pa: plan.kind === 'sw' || pa !== undefined ? pa : undefined,
      length,
      refs: 1,
      oneShotRefs: req.oneShot ? 1 : 0,
      hits: 0,
      note: plan.note,
    };
    this.target.insertBreakpoint(toTarget(entry)); // throws before we record anything
    this.entries.set(k, entry);
    const result: InsertResult = { entry, installed: true };
    if (plan.note !== undefined) result.note = plan.note;
    return result;
  }

  /**
   * Drop a reference; the last one removes it from the target. Returns false when
   * there is no such entry. A removal conflict is thrown (the entry is forgotten).
   */
  remove(kind: BreakpointKind, addr: bigint, length = A64_INSN_BYTES): boolean {
    const k = key(kind, addr, length);
    const e = this.entries.get(k);
    if (!e) return false;
    e.refs--;
    if (e.oneShotRefs > e.refs) e.oneShotRefs = e.refs;
    if (e.refs > 0) return true;
    this.entries.delete(k);
    this.target.removeBreakpoint(toTarget(e));
    return true;
  }

  /** Remove everything from the target, restoring memory; collects conflicts and goes on. */
  removeAll(): RemoveAllReport {
    const report: RemoveAllReport = { removed: [], conflicts: [] };
    for (const e of this.list()) {
      this.entries.delete(key(e.requested, e.addr, e.length));
      try {
        this.target.removeBreakpoint(toTarget(e));
        report.removed.push(e);
      } catch (err) {
        report.conflicts.push({
          entry: e,
          code: errorCode(err) ?? 'ERR_UNKNOWN',
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
    this.stoppedOn = undefined;
    return report;
  }

  /** Code entries (sw or hw requested) at `pc`. */
  private codeAt(pc: bigint): BreakpointEntry[] {
    return this.list().filter((e) => isCode(e.requested) && e.addr === pc);
  }

  /**
   * Account a stop: count hits, drop one-shot references, remember a stop on a
   * breakpoint for the next step-over, and report the kind the user asked for
   * (a sw breakpoint placed in a hw slot still stops as `swbreak`; a watch stop whose
   * FAR lies outside every watched range names the nearest watchpoint's address).
   */
  onStop(event: StopEvent): StopEvent {
    this.stoppedOn = undefined;
    const r = event.reason;
    let hit: BreakpointEntry[] = [];
    if (r.kind === 'swbreak' || r.kind === 'hwbreak') {
      hit = this.codeAt(event.pc);
    } else if (r.kind === 'watch') {
      const want = `watch-${r.watch}`;
      const watches = this.list().filter((e) => isWatchKind(e.requested) && (e.requested === want || e.requested === 'watch-access'));
      hit = watches.filter((e) => r.addr >= e.addr && r.addr < e.addr + BigInt(e.length));
      if (hit.length === 0 && watches.length > 0) {
        // FAR can lie outside the watched bytes (an access that only overlaps them, DC ZVA;
        // Arm ARM D2.10.5): like Linux's watchpoint_handler, take the nearest one, else the
        // resume would not step over it and would stop here again forever.
        const dist = (e: BreakpointEntry): bigint => (r.addr < e.addr ? e.addr - r.addr : r.addr - (e.addr + BigInt(e.length) - 1n));
        const best = watches.reduce((a, b) => (dist(b) < dist(a) ? b : a));
        hit = watches.filter((e) => dist(e) === dist(best));
        // Report the watched address, as gdbserver's aarch64_stopped_data_address does:
        // gdb matches `watch:<addr>` against its watchpoint's range.
        event = { ...event, reason: { ...r, addr: best.addr } };
      }
    }
    // Breakpoints fire before the instruction and watchpoints before the access
    // (Arm ARM D2.9, D2.10): resuming with them in place would stop again at once.
    if (hit.length > 0) this.stoppedOn = { vcpu: event.vcpu, entries: hit };
    for (const e of hit) {
      e.hits++;
      if (e.oneShotRefs > 0) {
        const drop = e.oneShotRefs;
        e.oneShotRefs = 0;
        for (let i = 0; i < drop; i++) this.remove(e.requested, e.addr, e.length);
      }
    }
    const first = hit[0];
    if (first && isCode(first.requested) && (r.kind === 'swbreak' || r.kind === 'hwbreak')) {
      const kind = first.requested === 'sw' ? 'swbreak' : 'hwbreak';
      if (kind !== r.kind) return { ...event, reason: { kind } };
    }
    return event;
  }

  /** Interrupt a running resume (Ctrl-C); safe during a step-over. */
  interrupt(): void {
    this.interruptRequested = true;
    this.target.interrupt();
  }

  /** The action that applies to `vcpu` (the first that names it), if any. */
  private static actionFor(actions: readonly ResumeAction[], vcpu: number): ResumeAction | undefined {
    return actions.find((a) => a.vcpu === vcpu || a.vcpu === 'all');
  }

  /**
   * Resume the target per `actions`, first stepping over the breakpoint or
   * watchpoint the last stop was on (if that vCPU is resumed): remove it, step
   * that vCPU alone while the others stay stopped, re-insert it. Resolves with
   * the accounted stop.
   */
  async resume(actions: readonly ResumeAction[]): Promise<StopEvent> {
    this.interruptRequested = false;
    const at = this.stoppedOn;
    this.stoppedOn = undefined;
    if (at) {
      const action = BreakpointTable.actionFor(actions, at.vcpu);
      // Only what is still installed (gdb may have removed it already for its own step-over).
      const lifted = action ? at.entries.filter((e) => this.entries.get(key(e.requested, e.addr, e.length)) === e) : [];
      if (action && lifted.length > 0) {
        for (const e of lifted) this.target.removeBreakpoint(toTarget(e));
        let stepped: StopEvent;
        try {
          stepped = await this.target.resume([{ vcpu: at.vcpu, step: true }]);
        } finally {
          // Put back whatever is still in the table (a concurrent remove may have dropped it).
          for (const e of lifted) {
            if (this.entries.get(key(e.requested, e.addr, e.length)) === e) this.target.insertBreakpoint(toTarget(e));
          }
        }
        if (action.step || stepped.reason.kind !== 'step') return this.onStop(stepped);
        if (this.interruptRequested) {
          // The interrupt was spent on the step: stop here rather than run on.
          return this.onStop({ ...stepped, reason: { kind: 'signal', signal: SIGINT } });
        }
      }
    }
    return this.onStop(await this.target.resume(actions));
  }
}
