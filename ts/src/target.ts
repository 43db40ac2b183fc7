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
 * - Errors are coded errors (ts/src/errors.ts `codedError`) with a stable `code`
 *   and the offending address.
 */

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
  /** Bytes covered: 4 for an A64 instruction, 1..8 for a watchpoint. */
  length: number;
  /** `sw` insert: the vCPU whose stage 1 translates `addr` (default 0). */
  vcpu?: number;
  /**
   * `sw`: the guest-physical address the first insert patched (what it returned).
   * A remove restores it and a re-insert (step-over) patches it again without
   * translating, so a later change of the guest's page tables cannot make us
   * patch or restore the wrong page.
   */
  pa?: bigint;
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
  /** The syndrome of a debug exit (ESR_EL2 as KVM gave it). */
  esr?: bigint;
  /** Its one-line decode. */
  summary?: string;
  /** Why, in words, for stops that are not a breakpoint/step/watch/interrupt. */
  detail?: string;
}

/** One resume action. For each vCPU the first action naming it (or 'all') applies. */
export interface ResumeAction {
  /** A vCPU index, or every vCPU not named by an earlier action. */
  vcpu: number | 'all';
  /** Single-step instead of continue. */
  step: boolean;
}

/** What `monitor caps` shows: kvmCapabilities() of the addon, the session's decision, and more. */
export interface CapabilitySummary {
  /** /dev/kvm usable. */
  available: boolean;
  /** Why debugging is off, or why KVM is unavailable. */
  reason?: string;
  /** KVM_CAP_SET_GUEST_DEBUG. */
  setGuestDebug?: boolean;
  /** KVM_CAP_SET_GUEST_DEBUG2 control mask (0: not reported). */
  guestDebugControlMask?: number;
  /** KVM_CAP_GUEST_DEBUG_HW_BPS. */
  hwBreakpoints: number;
  /** KVM_CAP_GUEST_DEBUG_HW_WPS. */
  hwWatchpoints: number;
  /** Why guest debugging cannot work on this kernel (the Rust probe's verdict). */
  debugUnavailable?: string;
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
  /**
   * Optional: the same read, already framed as the GDB `m` reply (`$<hex>#<checksum>`), when
   * the target can build it where the bytes are (the KVM target: in the addon). The GDB
   * server sends it as it is; without it, the server frames {@link readMemory}'s bytes.
   */
  readMemoryReply?(vcpu: number, addr: bigint, length: number): Buffer;
  /** Write guest memory at a virtual address of `vcpu`. Never partial: throws instead. */
  writeMemory(vcpu: number, addr: bigint, data: Buffer): void;

  /**
   * Install a breakpoint on every vCPU. For `sw`, translates `addr` and patches it
   * in one call and returns the guest-physical address patched; memory that
   * cannot be patched is refused with ERR_TRANSLATION or ERR_OUTSIDE_RAM.
   */
  insertBreakpoint(bp: TargetBreakpoint): bigint | undefined;
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
