/**
 * CapabilityPolicy: a pure function (capabilities, request) -> plan | refusal.
 *
 * The session applies the plan; nothing here touches KVM. Two requests:
 * - `session`: may the guest run with guest debugging, and if not, why. Debugging
 *   unavailable never stops the guest from running unless the user said 'require'
 *   (the 2015 QEMU review: "disable the breakpoint/debug support, rather than refuse
 *   to run at all").
 * - `breakpoint`: which mechanism a breakpoint or watchpoint uses, with a software
 *   breakpoint on unwritable memory falling back to a free hardware slot.
 */

import type { BreakpointKind } from './target';

/** Linux include/uapi/linux/kvm.h: KVM_GUESTDBG_ENABLE. */
export const KVM_GUESTDBG_ENABLE = 0x1;
/** Linux include/uapi/linux/kvm.h: KVM_GUESTDBG_SINGLESTEP. */
export const KVM_GUESTDBG_SINGLESTEP = 0x2;
/** Linux arch/arm64/include/uapi/asm/kvm.h: KVM_GUESTDBG_USE_SW_BP (1 << 16). */
export const KVM_GUESTDBG_USE_SW_BP = 1 << 16;
/** Linux arch/arm64/include/uapi/asm/kvm.h: KVM_GUESTDBG_USE_HW (1 << 17). */
export const KVM_GUESTDBG_USE_HW = 1 << 17;

/** The control flags a debugging session needs on arm64. */
export const REQUIRED_DEBUG_CONTROL = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP;

/** Debug policy option: require debugging, use it if possible, or never. */
export type DebugMode = 'require' | 'auto' | 'off';

/** The capability fields the policy reads (a subset of the addon's kvmCapabilities()). */
export interface PolicyCapabilities {
  /** /dev/kvm usable. */
  available: boolean;
  /** Why not, when `available` is false. */
  reason?: string;
  /** KVM_CAP_SET_GUEST_DEBUG. */
  setGuestDebug: boolean;
  /** KVM_CAP_SET_GUEST_DEBUG2 control mask; 0 or absent when the kernel does not report it. */
  guestDebugControlMask?: number;
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

/** Where the memory of a software breakpoint stands. */
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
  /** Whether debugging is on for the session (the session plan's `debug`). */
  debugEnabled: boolean;
  /** For `sw`: whether the instruction's memory can be patched. */
  memory: MemoryState;
  /** Hardware breakpoint slots already in use. */
  hwBreakpointsInUse: number;
  /** Hardware watchpoint slots already in use. */
  hwWatchpointsInUse: number;
}

/** A policy request. */
export type PolicyRequest = SessionRequest | BreakpointRequest;

/** Plan for a session: run with or without guest debugging. */
export interface SessionPlan {
  /** Plan type. */
  type: 'session';
  /** Enable guest debugging. */
  debug: boolean;
  /** KVM_SET_GUEST_DEBUG control flags to use when `debug` (0 otherwise). */
  control: number;
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

/** Stable refusal codes. */
export type RefusalCode =
  | 'ERR_DEBUG_UNAVAILABLE'
  | 'ERR_DEBUG_OFF'
  | 'ERR_NOT_WRITABLE'
  | 'ERR_NO_SLOT'
  | 'ERR_BAD_LENGTH';

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
  if (!caps.setGuestDebug) return 'the kernel lacks KVM_CAP_SET_GUEST_DEBUG';
  const mask = caps.guestDebugControlMask ?? 0;
  if (mask !== 0 && (mask & REQUIRED_DEBUG_CONTROL) !== REQUIRED_DEBUG_CONTROL) {
    const missing = REQUIRED_DEBUG_CONTROL & ~mask;
    return `the kernel rejects guest-debug control flags 0x${missing.toString(16)} (KVM_CAP_SET_GUEST_DEBUG2 mask 0x${mask.toString(16)})`;
  }
  if (controlRejected !== undefined) return `the kernel rejected KVM_SET_GUEST_DEBUG: ${controlRejected}`;
  return undefined;
}

function planSession(caps: PolicyCapabilities, req: SessionRequest): SessionPlan | Refusal {
  if (req.debug === 'off') {
    return { type: 'session', debug: false, control: 0, reason: 'debugging turned off (--debug off)' };
  }
  const why = debugUnavailableReason(caps, req.controlRejected);
  if (why === undefined) {
    const mask = caps.guestDebugControlMask ?? 0;
    const hw = caps.hwBreakpoints > 0 || caps.hwWatchpoints > 0;
    const useHw = hw && (mask === 0 || (mask & KVM_GUESTDBG_USE_HW) !== 0) ? KVM_GUESTDBG_USE_HW : 0;
    return { type: 'session', debug: true, control: REQUIRED_DEBUG_CONTROL | useHw };
  }
  if (req.debug === 'require') {
    return { refused: true, code: 'ERR_DEBUG_UNAVAILABLE', reason: `debugging required but ${why}` };
  }
  return { type: 'session', debug: false, control: 0, reason: why };
}

function planBreakpoint(caps: PolicyCapabilities, req: BreakpointRequest): BreakpointPlan | Refusal {
  const at = hex(req.addr);
  if (!req.debugEnabled) {
    return { refused: true, code: 'ERR_DEBUG_OFF', reason: `debugging is off for this session; no breakpoint at ${at}` };
  }
  const hwFree = caps.hwBreakpoints - req.hwBreakpointsInUse;
  const hwFull = `all ${caps.hwBreakpoints} hardware breakpoint slots are in use`;
  switch (req.kind) {
    case 'sw': {
      if (req.memory.writable) return { type: 'breakpoint', kind: 'sw' };
      if (hwFree > 0) {
        return {
          type: 'breakpoint',
          kind: 'hw',
          note: `software breakpoint at ${at} placed as a hardware breakpoint: ${req.memory.reason}`,
        };
      }
      const slots = caps.hwBreakpoints === 0 ? 'there are no hardware breakpoint slots' : hwFull;
      return {
        refused: true,
        code: 'ERR_NOT_WRITABLE',
        reason: `cannot set a software breakpoint at ${at} (${req.memory.reason}) and ${slots}`,
      };
    }
    case 'hw':
      if (hwFree > 0) return { type: 'breakpoint', kind: 'hw' };
      return { refused: true, code: 'ERR_NO_SLOT', reason: `no hardware breakpoint at ${at}: ${hwFull}` };
    case 'watch-write':
    case 'watch-read':
    case 'watch-access': {
      if (req.length < 1 || req.length > MAX_WATCH_LENGTH) {
        return {
          refused: true,
          code: 'ERR_BAD_LENGTH',
          reason: `watchpoint length ${req.length} at ${at} is outside 1..${MAX_WATCH_LENGTH}`,
        };
      }
      if (caps.hwWatchpoints - req.hwWatchpointsInUse > 0) return { type: 'breakpoint', kind: req.kind };
      return {
        refused: true,
        code: 'ERR_NO_SLOT',
        reason: `no watchpoint at ${at}: all ${caps.hwWatchpoints} hardware watchpoint slots are in use`,
      };
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
