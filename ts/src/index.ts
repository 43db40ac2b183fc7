/** kvm-debug's TypeScript host: public API, exported by name. */

// Backends and the loader.
export {
  loadBackend,
  loadNative,
  loadWasm,
  nativePath,
  nativePlatform,
  wasmPath,
  REQUIRED_FUNCTIONS,
} from './binding';
export type { Backend, BackendName, DecodeApi, LoadOptions } from './binding';

// Syndrome decoding.
export {
  decodeTree,
  decodeJson,
  decodeText,
  renderMany,
  summary,
  classify,
  classifyBatch,
  classNames,
  unpackClassification,
  esrFromKvmDebugExit,
  parseValue,
  toU64,
  halves,
  defaultBackend,
} from './decode';
export type { Field, Value, Classification, DebugKind, RenderOptions } from './decode';
export { syndromesIn, parseU64, U64_MAX } from './syndrome-text';

// Breakpoint instruction codec and patch plans.
export { encodeBreakpoint, breakpointBytes, recogniseBreakpoint, planInsert, planRemove } from './decode';
export type { BreakpointKindName, InsertPlan, RemovePlan } from './decode';

// Stage-1 page-table walks over a memory dump (any OS, either backend).
export { walkStage1 } from './decode';
export type { Stage1Registers, Stage1Translation } from './decode';

// Kernel symbols recovered from an arm64 Image (its kallsyms).
export { recoverKernelSymbols, parseNm } from './decode';
export type { KernelSymbol } from './decode';

// Errors.
export { ErrorCode, codedError, errorCode, isCodedError, isError, messageOf, badValue } from './errors';
export type { CodedError } from './errors';

// Sessions on KVM, the built-in VMM and the debug target over them.
export { Session, EXIT_POWER_OFF, EXIT_GUEST_FAILURE } from './session';
export type { SessionOptions, SessionState, SessionStop, DebugStatus, CleanupReport } from './session';
export { KvmTarget } from './kvm-target';
export type { KvmTargetOptions, ReinjectionEvent } from './kvm-target';
export { exitToStop } from './exit-to-stop';
export type { ExitOutcome } from './exit-to-stop';
export { Vmm, loadGuestImage, describeUnknownMmio } from './vmm/vmm';
export type { UnknownMmio, LoadedImage, VmmOptions } from './vmm/vmm';
export { RAM_BASE, UART_BASE, PSCI_SYSTEM_OFF } from './vmm/memory-map';
export { loadKvm, hostProblem } from './vmm/host';
export type { KvmVm, KvmModule, KvmCapabilities, VmExit } from './vmm/native-vm';

// Debug targets, breakpoint bookkeeping and the capability policy.
export { BREAKPOINT_KINDS, isWatchKind } from './target';
export type {
  DebugTarget,
  StopEvent,
  StopReason,
  ResumeAction,
  TargetBreakpoint,
  BreakpointKind,
  WatchKind,
  CapabilitySummary,
} from './target';
export { BreakpointTable } from './breakpoints';
export type { BreakpointEntry, BreakpointTableOptions, InsertRequest, InsertResult, RemoveAllReport } from './breakpoints';
export { capabilityPolicy, isRefusal, debugUnavailableReason } from './policy';
export type { PolicyCapabilities, DebugMode, Plan, Refusal, SessionPlan, BreakpointPlan } from './policy';

// The GDB server (gdb and lldb): over TCP or a Unix socket, or the protocol core alone.
export { listen, GdbListener, DEFAULT_HOST } from './gdb/tcp';
export type { ListenOptions } from './gdb/tcp';
export { GdbServer } from './gdb/server';
export type { GdbServerOptions, RunControl, SessionEnd } from './gdb/server';
export { TARGET_XML, AARCH64_REGISTERS, registerByName, registerByNumber } from './gdb/aarch64';
export type { RegisterDef } from './gdb/aarch64';

// The guest kernel's KASLR slide.
export { KernelSlide, kaslrSeedSource, slideAdvice } from './kaslr';
