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
export type { Field, Value, Classification, DebugKind } from './decode';

// Breakpoint instruction codec and patch plans.
export { encodeBreakpoint, breakpointBytes, recogniseBreakpoint, planInsert, planRemove } from './decode';
export type { BreakpointKindName, InsertPlan, RemovePlan } from './decode';

// Errors.
export { ErrorCode, codedError, isCodedError, isError, messageOf, badValue } from './errors';
export type { CodedError } from './errors';
