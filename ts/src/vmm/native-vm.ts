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
  /** Why guest debugging cannot work on this kernel (the Rust probe's verdict); absent when it can. */
  debugUnavailable?: string;
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
  /** kind 'debug': which debug event, named as the stop reason and gdb's stop reply name it. */
  cause?: DebugCause;
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
  /** Watchpoints: the watchpoint that fired (the one holding `far`, else the nearest). */
  watch?: NativeWatchpoint;
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

/** What a debug exit of ours was: the StopReason kind it becomes (ts/src/exit-to-stop.ts). */
export type DebugCause = 'swbreak' | 'hwbreak' | 'step' | 'watch' | 'other';

/** A watchpoint of the VM. */
export interface NativeWatchpoint {
  /** Guest-virtual address. */
  addr: bigint;
  /** Bytes (1..8). */
  len: number;
  /** Access kind. */
  kind: 'read' | 'write' | 'access';
}

/** Options of one run. */
export interface RunOptions {
  /** One instruction, then a 'step' exit (ERR_DEBUG_OFF while debugging is off). */
  singleStep?: boolean;
  /** End the run with kind 'reinjected' when a guest exception was re-injected. */
  reportReinjections?: boolean;
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

/** What vm.bootLinux loads. */
export interface LinuxBootOptions {
  /** The arm64 Image. */
  kernel: Uint8Array;
  /** The initramfs. */
  initrd?: Uint8Array;
  /** The kernel command line. */
  cmdline: string;
  /** A kaslr-seed for the device tree (absent: KASLR stays off). */
  kaslrSeed?: bigint;
}

/** Where vm.bootLinux put everything. */
export interface LinuxBootResult {
  kernel: bigint;
  kernelEnd: bigint;
  initrdStart?: bigint;
  initrdEnd?: bigint;
  dtbAddr: bigint;
  /** The device tree blob written at dtbAddr. */
  dtb: Buffer;
  /** The interrupt controller KVM gave the board. */
  gic: 'v3' | 'v2';
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
  /** readVirt framed in Rust as the GDB `m` reply: `$<hex>#<checksum>` (crates/node/src/rsp.rs). */
  readVirtReply(vcpu: number, va: bigint, len: number): Buffer;
  /** Guest-virtual write through the vCPU's stage 1. */
  writeVirt(vcpu: number, va: bigint, bytes: Uint8Array): void;
  /** Stage-1 translation. */
  translate(vcpu: number, va: bigint): NativeTranslation;
  /** BRK at a guest-physical address. */
  insertSwBreakpoint(gpa: bigint): void;
  /** BRK at a virtual address of `vcpu`, translated and patched in one call; returns the PA. */
  insertSwBreakpointVirt(vcpu: number, va: bigint): bigint;
  /** Hardware breakpoint at a VA on every vCPU (ERR_HW_SLOTS names the count). */
  insertHwBreakpoint(va: bigint): void;
  /** Remove a hardware breakpoint. */
  removeHwBreakpoint(va: bigint): void;
  /** Hardware breakpoints (VAs). */
  hwBreakpoints(): bigint[];
  /** Watchpoint on every vCPU (ERR_HW_SLOTS names the count). */
  insertWatchpoint(w: NativeWatchpoint): void;
  /** Remove a watchpoint (same address, length, kind). */
  removeWatchpoint(w: NativeWatchpoint): void;
  /** Watchpoints. */
  watchpoints(): NativeWatchpoint[];
  /** Try the control word a session needs once; throws the kernel's refusal. */
  probeGuestDebug(): void;
  /** Debugging off for good with this reason: everything removed, later requests ERR_DEBUG_OFF. */
  turnDebugOff(reason: string): NativeRemoveAllReport;
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
  run(vcpu: number, opts?: RunOptions): Promise<VmExit>;
  /** Make a running vCPU return 'interrupted' promptly. */
  stop(vcpu: number): void;
  /** Whether a run is in progress. */
  isRunning(vcpu: number): boolean;
  /** turnDebugOff('the debugger detached'). */
  detach(): NativeRemoveAllReport;
  /** Stop all, end the threads, detach. */
  close(): NativeRemoveAllReport;
  /** Load a Linux kernel on the board and point vCPU 0 at it (a VM created with `board`). */
  bootLinux(boot: LinuxBootOptions): LinuxBootResult;
  /** Bytes from the host's console into the board's UART. */
  consoleInput(bytes: Uint8Array): void;
}

/** The addon module's KVM part. */
export interface KvmModule {
  /** Capability probe; never throws. */
  kvmCapabilities(): KvmCapabilities;
  /** The Vm class. */
  Vm: { create(opts: { memMib: number; vcpus?: number; ramBase?: bigint; board?: { consoleFd?: number } }): KvmVm };
}
