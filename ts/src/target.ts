/**
 * The abstract debug target: what the GDB server and the BreakpointTable talk to.
 *
 * A Session over KVM vCPUs implements it (issue 4), and in-memory fakes implement
 * it in tests. Register, memory and breakpoint calls are synchronous because the
 * native addon's are (docs/native-api.md); running the guest is asynchronous.
 *
 * Conventions:
 * - vCPUs are numbered from 0. (The GDB server maps them to thread ids vcpu+1.)
 * - Registers are addressed by GDB regnum, as laid out in the target description
 *   (ts/src/gdb/aarch64.ts), and exchanged as little-endian bytes of bitsize/8.
 * - Addresses are guest-virtual for the given vCPU unless a name says `pa`.
 * - Errors are TargetError with a stable `code` and the offending address.
 */

import type { PolicyCapabilities } from './policy';

/** Stable error codes a target reports. Shared with the native addon's codes. */
export const TargetErrorCode = {
  /** A guest-physical address (range) lies outside every RAM slot. */
  OutsideRam: 'ERR_OUTSIDE_RAM',
  /** A stage-1 page-table walk failed for a virtual address. */
  Translation: 'ERR_TRANSLATION',
  /** The guest rewrote our breakpoint instruction; its bytes were left alone. */
  PatchConflict: 'ERR_PATCH_CONFLICT',
  /** The address already holds a breakpoint instruction. */
  AlreadyPatched: 'ERR_ALREADY_PATCHED',
  /** No free hardware breakpoint or watchpoint slot. */
  NoSlot: 'ERR_NO_SLOT',
  /** The target does not support the operation (e.g. debugging is off). */
  Unsupported: 'ERR_UNSUPPORTED',
  /** An argument is out of range (register number, length, alignment). */
  BadArgument: 'ERR_BAD_ARGUMENT',
  /** The operation needs the target stopped (or running) and it is not. */
  BadState: 'ERR_BAD_STATE',
} as const;

/** One of the {@link TargetErrorCode} values. */
export type TargetErrorCodeValue = (typeof TargetErrorCode)[keyof typeof TargetErrorCode];

/** An error from a debug target: a stable `code` plus the offending address or value. */
export class TargetError extends Error {
  /** Stable machine-readable code, e.g. `ERR_OUTSIDE_RAM`. */
  readonly code: string;
  /** The offending address, when the error is about one. */
  readonly addr: bigint | undefined;

  constructor(code: string, message: string, addr?: bigint) {
    super(addr === undefined ? message : `${message} (address 0x${addr.toString(16)})`);
    this.name = 'TargetError';
    this.code = code;
    this.addr = addr;
  }
}

/** The string `code` of an Error (TargetError or an addon error), if it has one. */
export function errorCode(e: unknown): string | undefined {
  if (!(e instanceof Error)) return undefined;
  const code: unknown = (e as Error & { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Watchpoint access kinds (GDB Z2 write, Z3 read, Z4 access). */
export type WatchKind = 'write' | 'read' | 'access';

/** Breakpoint kinds: software (BRK patch), hardware (DBGBCR), watchpoints (DBGWCR). */
export type BreakpointKind = 'sw' | 'hw' | 'watch-write' | 'watch-read' | 'watch-access';

/** All breakpoint kinds, in GDB Z-packet order (Z0 sw, Z1 hw, Z2 write, Z3 read, Z4 access). */
export const BREAKPOINT_KINDS: readonly BreakpointKind[] = [
  'sw',
  'hw',
  'watch-write',
  'watch-read',
  'watch-access',
];

/** True for the three watchpoint kinds. */
export function isWatchKind(kind: BreakpointKind): boolean {
  return kind === 'watch-write' || kind === 'watch-read' || kind === 'watch-access';
}

/** A breakpoint as the target installs it on every vCPU. */
export interface TargetBreakpoint {
  /** What to install. */
  kind: BreakpointKind;
  /** Guest-virtual address (what the PC / the data access will match). */
  addr: bigint;
  /**
   * Guest-physical address of `addr` at insert time (where a sw patch is written).
   * Undefined for hardware kinds whose VA did not translate (they match on the VA).
   */
  pa?: bigint;
  /** Bytes covered: 4 for an A64 instruction, 1..8 for a watchpoint. */
  length: number;
}

/** Result of a virtual-to-physical translation. */
export interface Translation {
  /** Guest-physical address. */
  pa: bigint;
  /** True when `pa` lies in guest RAM (so software breakpoints can patch it). */
  ram: boolean;
}

/** Why the guest stopped. */
export type StopReason =
  | { kind: 'swbreak' }
  | { kind: 'hwbreak' }
  | { kind: 'watch'; watch: WatchKind; addr: bigint }
  | { kind: 'step' }
  | { kind: 'signal'; signal: number }
  | { kind: 'exited'; code: number }
  /**
   * A debug exception that was not ours went back to the guest (its EL1 vector),
   * and the target stopped to say so. `esr` is the syndrome delivered.
   */
  | { kind: 'reinjected'; esr: bigint; vector: bigint };

/** A stop: which vCPU, why, and its PC at the stop. All other vCPUs are stopped too. */
export interface StopEvent {
  /** The vCPU that caused the stop. */
  vcpu: number;
  /** The reason. */
  reason: StopReason;
  /** PC of `vcpu` at the stop (for swbreak: the address of the BRK). */
  pc: bigint;
}

/** One resume action. For each vCPU the first action naming it (or 'all') applies. */
export interface ResumeAction {
  /** A vCPU index, or every vCPU not named by an earlier action. */
  vcpu: number | 'all';
  /** Single-step instead of continue. */
  step: boolean;
}

/** What `monitor caps` shows: the policy's capability fields (kvmCapabilities() of the addon) and more. */
export interface CapabilitySummary extends Omit<PolicyCapabilities, 'arch' | 'vmSupported'> {
  /** Whether debugging is enabled for this session (after the policy). */
  debugEnabled?: boolean;
  /** Anything else the target wants to show. */
  [extra: string]: unknown;
}

/** The debug target interface. */
export interface DebugTarget {
  /** Architecture name as GDB spells it; only 'aarch64' for now. */
  readonly arch: 'aarch64';
  /** Number of vCPUs (indices 0..n-1). */
  vcpuCount(): number;

  /** Read register `regnum` of `vcpu`: little-endian bytes of the register's size. */
  readRegister(vcpu: number, regnum: number): Buffer;
  /** Write register `regnum` of `vcpu` from little-endian bytes of the register's size. */
  writeRegister(vcpu: number, regnum: number, bytes: Buffer): void;

  /** Read guest memory at a virtual address of `vcpu`. Never partial: throws instead. */
  readMemory(vcpu: number, addr: bigint, length: number): Buffer;
  /** Write guest memory at a virtual address of `vcpu`. Never partial: throws instead. */
  writeMemory(vcpu: number, addr: bigint, data: Buffer): void;
  /** Translate a virtual address of `vcpu`; throws ERR_TRANSLATION with the address. */
  translate(vcpu: number, addr: bigint): Translation;

  /** Install a breakpoint on every vCPU. */
  insertBreakpoint(bp: TargetBreakpoint): void;
  /**
   * Remove a breakpoint from every vCPU. For `sw`, restores the saved instruction;
   * throws ERR_PATCH_CONFLICT (and leaves the guest's bytes) if the guest rewrote it.
   */
  removeBreakpoint(bp: TargetBreakpoint): void;

  /**
   * Resume per the actions (all-stop: vCPUs no action names stay stopped) and
   * resolve at the next stop, after which every vCPU is stopped.
   */
  resume(actions: readonly ResumeAction[]): Promise<StopEvent>;
  /** Ask a running guest to stop; the pending resume resolves with signal 2 (SIGINT). */
  interrupt(): void;

  /** Capability summary for `monitor caps`. */
  capabilities(): CapabilitySummary;
  /** The last ESR_ELx syndrome a debug exit reported, for `monitor esr`. */
  lastSyndrome(): bigint | undefined;

  /** Stop debugging the guest (guest debug control back to 0); it keeps running or stays as is. */
  detach?(): void;
  /** Kill the guest. */
  kill?(): void;
}
