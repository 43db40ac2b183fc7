/**
 * The native addon's KVM API as the host uses it (the contract is docs/native-api.md).
 * Session, the VMM and KvmTarget are written against these interfaces, so the jest
 * suites can drive them with a fake Vm of the same shape where there is no arm64 KVM.
 */

/** kvmCapabilities() of the addon. */
export interface KvmCapabilities {
  /** /dev/kvm opened and answered. */
  available: boolean;
  /** When !available: ERR_NO_KVM | ERR_KVM_PERMISSION | ERR_KVM_IOCTL. */
  code?: string;
  /** When !available: what happened and what to do. */
  reason?: string;
  /** Host architecture ('aarch64', 'x86_64', ...). */
  arch: string;
  /** Vm.create works here (aarch64 only). */
  vmSupported: boolean;
  /** KVM_GET_API_VERSION. */
  apiVersion: number;
  /** KVM_CAP_SET_GUEST_DEBUG. */
  setGuestDebug: boolean;
  /** KVM_CAP_SET_GUEST_DEBUG2 mask (0 on kernels < 5.7). */
  guestDebugControlMask: number;
  /** KVM_CAP_GUEST_DEBUG_HW_BPS. */
  hwBreakpoints: number;
  /** KVM_CAP_GUEST_DEBUG_HW_WPS. */
  hwWatchpoints: number;
  /** KVM_CAP_ARM_VM_IPA_SIZE. */
  ipaSize: number;
  /** KVM_CAP_ONE_REG. */
  oneReg: boolean;
  /** KVM_CAP_ARM_PSCI_0_2. */
  psci02: boolean;
}

/** What the addon's removeAll()/detach() report. */
export interface NativeRemoveAllReport {
  /** Guest-physical addresses restored. */
  removed: bigint[];
  /** Breakpoints the guest rewrote: left alone, forgotten. */
  conflicts: { addr: bigint; code: string; message: string }[];
}

/** A typed exit of Vm.run (docs/native-api.md `VmExit`). */
export interface VmExit {
  /** Exit kind. */
  kind: 'debug' | 'mmio' | 'systemEvent' | 'internalError' | 'failEntry' | 'interrupted' | 'reinjected' | 'unknown';
  /** The vCPU. */
  vcpu: number;
  /** kind 'debug': which debug event. */
  cause?: 'swbp' | 'step' | 'hwbp' | 'watch' | 'other';
  /** 'debug': ESR_EL2; 'reinjected': what ESR_EL1 got. */
  esr?: bigint;
  /** ESR.EC. */
  ec?: number;
  /** KVM_DEBUG_ARCH_HSR_HIGH_VALID. */
  hsrHighValid?: boolean;
  /** Decoded one-line summary of `esr`. */
  summary?: string;
  /** PC at the exit ('debug', 'mmio'). */
  pc?: bigint;
  /** Watchpoints: the accessed address. */
  far?: bigint;
  /** 'mmio': guest-physical address. */
  addr?: bigint;
  /** 'mmio': access size in bytes. */
  len?: number;
  /** 'mmio': store (true) or load. */
  isWrite?: boolean;
  /** 'mmio': the stored value (little-endian), 0 for loads. */
  data?: bigint;
  /** 'systemEvent'. */
  event?: 'shutdown' | 'reset' | 'crash' | 'other';
  /** 'systemEvent': KVM_SYSTEM_EVENT_* number. */
  eventType?: number;
  /** 'systemEvent': data words. */
  eventData?: bigint[];
  /** 'internalError'. */
  suberror?: number;
  /** 'failEntry'. */
  hardwareReason?: bigint;
  /** 'failEntry'. */
  cpu?: number;
  /** 'reinjected': ELR_EL1 given to the guest. */
  elr?: bigint;
  /** 'reinjected': the vector entered. */
  vector?: bigint;
  /** 'unknown': KVM exit reason number. */
  exitReason?: number;
}

/** A watchpoint request of setGuestDebug. */
export interface NativeWatchpoint {
  /** Guest-virtual address. */
  addr: bigint;
  /** Bytes (1..8). */
  len: number;
  /** Access kind. */
  kind: 'read' | 'write' | 'access';
}

/** setGuestDebug options. */
export interface GuestDebugOptions {
  /** Single-step the next run. */
  singleStep?: boolean;
  /** Hardware breakpoints by VA. */
  hwBreakpoints?: { addr: bigint }[];
  /** Watchpoints by VA. */
  watchpoints?: NativeWatchpoint[];
}

/** The addon's Vm translation result. */
export interface NativeTranslation {
  /** VA asked. */
  va: bigint;
  /** Guest-physical address. */
  pa: bigint;
  /** Level of the leaf, when the MMU is on. */
  level?: number;
  /** Size of the page. */
  pageSize: bigint;
  /** Stage 1 enabled. */
  mmuOn: boolean;
  /** Writable at EL1. */
  writable: boolean;
}

/** The addon's class Vm, as the host uses it. */
export interface KvmVm {
  /** RAM base (guest-physical). */
  readonly ramBase: bigint;
  /** RAM size in bytes. */
  readonly ramSize: bigint;
  /** vCPU count. */
  readonly vcpuCount: number;
  /** Load bytes at a guest-physical address; all or nothing. */
  loadImage(gpa: bigint, bytes: Uint8Array): void;
  /** Load an ELF's PT_LOAD segments; returns e_entry. */
  loadElf(bytes: Uint8Array): bigint;
  /** vCPU back to the entry state with PC = entry. */
  resetVcpu(vcpu: number, entry: bigint): void;
  /** Register by addon name. */
  getReg(vcpu: number, name: string): bigint;
  /** Register by addon name. */
  setReg(vcpu: number, name: string, value: bigint): void;
  /** Guest-physical read. */
  readPhys(gpa: bigint, len: number): Buffer;
  /** Guest-physical write (never partial). */
  writePhys(gpa: bigint, bytes: Uint8Array): void;
  /** Guest-virtual read through the vCPU's stage 1. */
  readVirt(vcpu: number, va: bigint, len: number): Buffer;
  /** Guest-virtual write through the vCPU's stage 1. */
  writeVirt(vcpu: number, va: bigint, bytes: Uint8Array): void;
  /** Stage-1 translation. */
  translate(vcpu: number, va: bigint): NativeTranslation;
  /** KVM_SET_GUEST_DEBUG on one vCPU; {} turns it off. */
  setGuestDebug(vcpu: number, opts: GuestDebugOptions): void;
  /** BRK at a guest-physical address. */
  insertSwBreakpoint(gpa: bigint): void;
  /** Restore the bytes under our BRK. */
  removeSwBreakpoint(gpa: bigint): void;
  /** Remove every software breakpoint. */
  removeAll(): NativeRemoveAllReport;
  /** Our software breakpoints (guest-physical). */
  swBreakpoints(): bigint[];
  /** The value a pending MMIO load returns. */
  setMmioReadData(vcpu: number, data: bigint): void;
  /** Guest exceptions re-injected so far. */
  reinjections(vcpu: number): number;
  /** Run on the vCPU's own thread until an exit. */
  run(vcpu: number, opts?: { reportReinjections?: boolean }): Promise<VmExit>;
  /** Make a running vCPU return 'interrupted' promptly. */
  stop(vcpu: number): void;
  /** Whether a run is in progress. */
  isRunning(vcpu: number): boolean;
  /** removeAll + guest debug off on every vCPU. */
  detach(): NativeRemoveAllReport;
  /** Stop all, end the threads, detach. */
  close(): NativeRemoveAllReport;
}

/** The addon module's KVM part. */
export interface KvmModule {
  /** Capability probe; never throws. */
  kvmCapabilities(): KvmCapabilities;
  /** The Vm class. */
  Vm: { create(opts: { memMib: number; vcpus?: number; ramBase?: bigint }): KvmVm };
}
