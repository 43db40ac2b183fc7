/**
 * CapabilityPolicy: a pure function (capabilities, request) -> plan | refusal.
 *
 * The session applies the plan; nothing here touches KVM. Two requests:
 * - `session`: may the guest run with guest debugging, and if not, why. Debugging
 *   unavailable never stops the guest from running unless the user said 'require'
 *   (the 2015 QEMU review: "disable the breakpoint/debug support, rather than refuse
 *   to run at all").
 * - `breakpoint`: which mechanism a breakpoint or watchpoint uses, with a software
 *   breakpoint on memory that cannot be patched falling back to a hardware one.
 *
 * The Rust VM owns the rest: the control word (crates/kvm-debug/src/debug.rs),
 * the slot counts (ERR_HW_SLOTS) and refusing everything once debugging is off
 * (ERR_DEBUG_OFF).
 */

import { ErrorCode } from './errors';
import type { BreakpointKind } from './target';

/** Debug policy option: require debugging, use it if possible, or never. */
export type DebugMode = 'require' | 'auto' | 'off';

/** The capability fields the policy reads (a subset of the addon's kvmCapabilities()). */
export interface PolicyCapabilities {
  /** /dev/kvm usable. */
  available: boolean;
  /** Why not, when `available` is false. */
  reason?: string;
  /** Why guest debugging cannot work on this kernel (the Rust probe's verdict); absent when it can. */
  debugUnavailable?: string;
  /** KVM_CAP_GUEST_DEBUG_HW_BPS: hardware breakpoint slots. */
  hwBreakpoints: number;
  /** KVM_CAP_GUEST_DEBUG_HW_WPS: hardware watchpoint slots. */
  hwWatchpoints: number;
  /** Host architecture, e.g. 'aarch64' (named in the reason when VMs are unsupported). */
  arch?: string;
  /** Whether this host can create the VMs kvm-debug debugs (arm64); absent means yes. */
  vmSupported?: boolean;
}

/** Should this session debug the guest? */
export interface SessionRequest {
  /** Request type. */
  type: 'session';
  /** The user's `--debug` option. */
  debug: DebugMode;
  /**
   * Set when the kernel already refused KVM_SET_GUEST_DEBUG with our control
   * flags (e.g. EINVAL): the error text.
   */
  controlRejected?: string;
}

/** Where the memory of a software breakpoint stands: why it could not be patched. */
export type MemoryState = { writable: true } | { writable: false; reason: string };

/** Which mechanism should this breakpoint use? */
export interface BreakpointRequest {
  /** Request type. */
  type: 'breakpoint';
  /** The kind asked for. */
  kind: BreakpointKind;
  /** Guest-virtual address. */
  addr: bigint;
  /** Length in bytes (4 for code, 1..8 for watchpoints). */
  length: number;
  /** For `sw`: set once patching the memory was refused, with the target's reason. */
  memory?: MemoryState;
}

/** A policy request. */
export type PolicyRequest = SessionRequest | BreakpointRequest;

/** Plan for a session: run with or without guest debugging. */
export interface SessionPlan {
  /** Plan type. */
  type: 'session';
  /** Enable guest debugging. */
  debug: boolean;
  /** Why debugging is off, to show in the CLI, in `monitor caps` and in the API. */
  reason?: string;
}

/** Plan for a breakpoint: the mechanism, and a note when it differs from the request. */
export interface BreakpointPlan {
  /** Plan type. */
  type: 'breakpoint';
  /** The kind to install. */
  kind: BreakpointKind;
  /** Set when the plan changed the kind, saying why. */
  note?: string;
}

/** A plan. */
export type Plan = SessionPlan | BreakpointPlan;

/** Stable refusal codes (ts/src/errors.ts ErrorCode). */
export type RefusalCode =
  | typeof ErrorCode.DebugUnavailable
  | typeof ErrorCode.NotWritable
  | typeof ErrorCode.HwSlots
  | typeof ErrorCode.BadLength;

/** A refusal with a reason for the user. */
export interface Refusal {
  /** Always true: tells a refusal from a plan. */
  refused: true;
  /** Stable code. */
  code: RefusalCode;
  /** Human-readable reason, naming the values involved. */
  reason: string;
}

/** Largest watchpoint length the byte-address-select encoding covers (Arm ARM D2.10.5, DBGWCR.BAS). */
export const MAX_WATCH_LENGTH = 8;
/** A64 instruction size in bytes: a breakpoint covers one. */
export const A64_INSN_BYTES = 4;

function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** Why guest debugging cannot be used with these capabilities, or undefined when it can. */
export function debugUnavailableReason(caps: PolicyCapabilities, controlRejected?: string): string | undefined {
  if (!caps.available) return `KVM unavailable: ${caps.reason ?? 'no reason given'}`;
  if (caps.vmSupported === false) return `this host (${caps.arch ?? 'unknown arch'}) cannot create arm64 VMs`;
  if (caps.debugUnavailable !== undefined) return caps.debugUnavailable;
  if (controlRejected !== undefined) return `the kernel rejected KVM_SET_GUEST_DEBUG: ${controlRejected}`;
  return undefined;
}

function planSession(caps: PolicyCapabilities, req: SessionRequest): SessionPlan | Refusal {
  if (req.debug === 'off') return { type: 'session', debug: false, reason: 'debugging turned off (--debug off)' };
  const why = debugUnavailableReason(caps, req.controlRejected);
  if (why === undefined) return { type: 'session', debug: true };
  if (req.debug === 'require') {
    return { refused: true, code: ErrorCode.DebugUnavailable, reason: `debugging required but ${why}` };
  }
  return { type: 'session', debug: false, reason: why };
}

function noSlots(what: string): string {
  return `this CPU/KVM has no hardware ${what} slots`;
}

function planBreakpoint(caps: PolicyCapabilities, req: BreakpointRequest): BreakpointPlan | Refusal {
  const at = hex(req.addr);
  switch (req.kind) {
    case 'sw': {
      if (req.memory === undefined || req.memory.writable) return { type: 'breakpoint', kind: 'sw' };
      if (caps.hwBreakpoints > 0) {
        return {
          type: 'breakpoint',
          kind: 'hw',
          note: `software breakpoint at ${at} placed as a hardware breakpoint: ${req.memory.reason}`,
        };
      }
      return {
        refused: true,
        code: ErrorCode.NotWritable,
        reason: `cannot set a software breakpoint at ${at} (${req.memory.reason}) and ${noSlots('breakpoint')}`,
      };
    }
    case 'hw':
      if (caps.hwBreakpoints > 0) return { type: 'breakpoint', kind: 'hw' };
      return { refused: true, code: ErrorCode.HwSlots, reason: `no hardware breakpoint at ${at}: ${noSlots('breakpoint')}` };
    case 'watch-write':
    case 'watch-read':
    case 'watch-access': {
      if (req.length < 1 || req.length > MAX_WATCH_LENGTH) {
        return {
          refused: true,
          code: ErrorCode.BadLength,
          reason: `watchpoint length ${req.length} at ${at} is outside 1..${MAX_WATCH_LENGTH}`,
        };
      }
      if (caps.hwWatchpoints > 0) return { type: 'breakpoint', kind: req.kind };
      return { refused: true, code: ErrorCode.HwSlots, reason: `no watchpoint at ${at}: ${noSlots('watchpoint')}` };
    }
  }
}

/** The capability policy. Pure: same inputs, same answer; no I/O. */
export function capabilityPolicy(caps: PolicyCapabilities, request: SessionRequest): SessionPlan | Refusal;
export function capabilityPolicy(caps: PolicyCapabilities, request: BreakpointRequest): BreakpointPlan | Refusal;
export function capabilityPolicy(caps: PolicyCapabilities, request: PolicyRequest): Plan | Refusal;
export function capabilityPolicy(caps: PolicyCapabilities, request: PolicyRequest): Plan | Refusal {
  return request.type === 'session' ? planSession(caps, request) : planBreakpoint(caps, request);
}

/** Narrowing helper. */
export function isRefusal(r: Plan | Refusal): r is Refusal {
  return (r as Refusal).refused === true;
}
