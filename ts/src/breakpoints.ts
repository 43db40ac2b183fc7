/**
 * BreakpointTable: what only the host knows about breakpoints and watchpoints,
 * over a DebugTarget that owns what the guest holds (the Rust VM: BRKs and the
 * bytes under them, debug registers, slot counts).
 *
 * - Reference-counted per (kind, address[, length for watchpoints]): the target
 *   sees one insert for the first reference and one remove for the last.
 * - Every entry applies to every vCPU (the target installs it on all of them).
 * - The CapabilityPolicy picks the mechanism: a software breakpoint on memory that
 *   the target cannot patch (unmapped, or not RAM) becomes a hardware one.
 * - A software breakpoint's VA is translated and patched by the target in one call;
 *   the PA it patched is kept, so a later change of the guest's page tables cannot
 *   make us restore the wrong page.
 * - One-shot references and hit counts.
 * - Step-over on resume, all-stop: the vCPU that stopped on a breakpoint (or a
 *   watchpoint, which fires before the access) steps
 *   alone with that breakpoint removed while the others stay stopped, then the
 *   breakpoint goes back and the real resume proceeds.
 * - removeAll restores memory and reports conflicts without stopping at the first.
 */

import { ErrorCode, codedError, errorCode, messageOf } from './errors';
import { capabilityPolicy, isRefusal, A64_INSN_BYTES, type PolicyCapabilities } from './policy';
import {
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
  /** Guest-physical address a software breakpoint patched (undefined for the hardware kinds). */
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
  /** Capabilities the policy decides from (whether hardware slots exist at all). */
  capabilities: PolicyCapabilities;
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
  /** The vCPU of the last stop on entries of ours, and those entries, for step-over. */
  private stoppedOn: { vcpu: number; entries: BreakpointEntry[] } | undefined;
  /** An interrupt arrived during this resume (it may land on the step-over step). */
  private interruptRequested = false;

  constructor(
    private readonly target: DebugTarget,
    options: BreakpointTableOptions,
  ) {
    this.caps = options.capabilities;
  }

  /** All entries, in insertion order. */
  list(): BreakpointEntry[] {
    return [...this.entries.values()].sort((a, b) => a.id - b.id);
  }

  /** The entry for (kind, addr[, length]), if any. */
  find(kind: BreakpointKind, addr: bigint, length = A64_INSN_BYTES): BreakpointEntry | undefined {
    return this.entries.get(key(kind, addr, length));
  }

  /** Add a reference; the first one installs it on the target. Throws a coded error on refusal. */
  insert(req: InsertRequest): InsertResult {
    const length = req.length ?? A64_INSN_BYTES;
    if (!isWatchKind(req.kind) && req.addr % BigInt(A64_INSN_BYTES) !== 0n) {
      // A BRK across two instructions would corrupt both (A64 instructions are 4-byte aligned).
      throw codedError(ErrorCode.Misaligned, `address 0x${req.addr.toString(16)} is not 4-byte aligned, as an A64 breakpoint requires`);
    }
    const k = key(req.kind, req.addr, length);
    const existing = this.entries.get(k);
    if (existing) {
      existing.refs++;
      if (req.oneShot) existing.oneShotRefs++;
      return { entry: existing, installed: false };
    }
    const ask = { type: 'breakpoint' as const, kind: req.kind, addr: req.addr, length };
    let plan = capabilityPolicy(this.caps, ask);
    if (isRefusal(plan)) throw codedError(plan.code, plan.reason, req.addr);
    let pa: bigint | undefined;
    try {
      pa = this.target.insertBreakpoint({ kind: plan.kind, addr: req.addr, length, vcpu: req.vcpu ?? 0 });
    } catch (e) {
      // Memory the target cannot patch: the policy may place it in a hardware slot.
      const code = errorCode(e);
      if (plan.kind !== 'sw' || (code !== ErrorCode.Translation && code !== ErrorCode.OutsideRam)) throw e;
      plan = capabilityPolicy(this.caps, { ...ask, memory: { writable: false, reason: messageOf(e) } });
      if (isRefusal(plan)) throw codedError(plan.code, plan.reason, req.addr);
      try {
        this.target.insertBreakpoint({ kind: plan.kind, addr: req.addr, length });
      } catch (e2) {
        if (errorCode(e2) !== ErrorCode.HwSlots) throw e2;
        const why = `cannot set a software breakpoint at 0x${req.addr.toString(16)} (${messageOf(e)}), and ${messageOf(e2)}`;
        throw codedError(ErrorCode.NotWritable, why);
      }
    }
    const entry: BreakpointEntry = {
      id: this.nextId++,
      requested: req.kind,
      installed: plan.kind,
      addr: req.addr,
      pa,
      length,
      refs: 1,
      oneShotRefs: req.oneShot ? 1 : 0,
      hits: 0,
      note: plan.note,
    };
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
   * (a sw breakpoint placed in a hw slot still stops as `swbreak`).
   */
  onStop(event: StopEvent): StopEvent {
    this.stoppedOn = undefined;
    const r = event.reason;
    let hit: BreakpointEntry[] = [];
    if (r.kind === 'swbreak' || r.kind === 'hwbreak') {
      hit = this.codeAt(event.pc);
    } else if (r.kind === 'watch') {
      // The target names an address inside the watchpoint that fired (exit-to-stop.ts).
      const want = `watch-${r.watch}`;
      hit = this.list().filter(
        (e) => (e.requested === want || e.requested === 'watch-access') && r.addr >= e.addr && r.addr < e.addr + BigInt(e.length),
      );
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
