/**
 * The binding loader. Two builds of the same Rust core expose the same
 * functions: the napi-rs addon (crates/node, `kvm-debug.<platform>.node`) and
 * the wasm-bindgen package (crates/wasm/pkg). Decoding may run on either; the
 * loader says which one it loaded and why. The KVM path needs the native addon
 * and must never fall back silently: it calls {@link loadNative}, which throws.
 *
 * The addon comes from a checkout's build or, installed from npm, from the
 * per-platform package `kvm-debug-<platform>` (napi-rs layout). Overrides:
 * option `backend`, else env KVM_DEBUG_BACKEND=native|wasm; env
 * KVM_DEBUG_NATIVE=<path> names the addon file to load.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ErrorCode, codedError, messageOf, type CodedError } from './errors';

/** Which build. */
export type BackendName = 'native' | 'wasm';

/**
 * The functions both builds expose (crates/node/src/decode.rs and
 * crates/wasm/src/lib.rs). 64-bit values cross as u32 halves `lo`, `hi`.
 */
export interface DecodeApi {
  /** The field tree as JSON. */
  decodeJson(lo: number, hi: number): string;
  /** The field tree as indented text (not `decodeText`: wasm-bindgen's glue uses that name). */
  decodeTextTree(lo: number, hi: number): string;
  /** The one-line summary. */
  summary(lo: number, hi: number): string;
  /** `kvm-debug decode`'s output for many values as UTF-8 (core `render_many`): text, or one JSON tree a line. */
  renderMany(values: BigUint64Array, json: boolean, continued: boolean): Uint8Array;
  /**
   * The packed classification (core `Classification::pack`). Native: a raw
   * Node-API callback (crates/node/src/fast.rs) converting arguments as the
   * wasm glue does (JS ToNumber, then ToUint32).
   */
  classify(lo: number, hi: number): number;
  /** Short class names indexed by EC (core `classify::CLASS_NAMES`). */
  classNames(): string[];
  /** Packed classifications of `values` into `out` (`out.length >= values.length`). */
  classifyBatch(values: BigUint64Array, out: Uint32Array): void;
  /** KVM's debug-exit pair joined into one ESR. */
  esrFromKvmDebugExit(hsr: number, hsrHigh: number, highValid: boolean): bigint;
  /** A breakpoint instruction word (`kind`: brk64, hlt64, bkpt32, bkpt16). */
  encodeBreakpoint(kind: string, imm: number): number;
  /** A breakpoint instruction's little-endian bytes. */
  breakpointBytes(kind: string, imm: number): Uint8Array;
  /** The immediate of `insn` if it is a `kind` breakpoint, else -1. */
  recogniseBreakpoint(kind: string, insn: number): number;
  /** The bytes to write to insert our breakpoint (the bytes to save are `current`). */
  planInsert(kind: string, addrLo: number, addrHi: number, current: Uint8Array): Uint8Array;
  /** The bytes to restore, or an empty array when already restored; throws on conflict. */
  planRemove(
    kind: string,
    addrLo: number,
    addrHi: number,
    saved: Uint8Array,
    current: Uint8Array,
  ): Uint8Array;
  /**
   * A stage-1 walk over a memory dump at `baseHi:baseLo`; `regs` = [SCTLR_EL1, TCR_EL1,
   * TTBR0_EL1, TTBR1_EL1]. Returns the translation as JSON; throws ERR_WALK_* on a fault.
   */
  walkStage1(regs: BigUint64Array, vaLo: number, vaHi: number, baseLo: number, baseHi: number, dump: Uint8Array): string;
  /** The kernel's symbols recovered from an arm64 Image, as an ELF symbol file; throws ERR_NO_KALLSYMS. */
  kallsymsElf(image: Uint8Array): Uint8Array;
  /** The same as `nm` text ("address type name" per line). */
  kallsymsNm(image: Uint8Array): string;
  /** Where a running kernel's KASLR slide is read, as JSON; throws ERR_NO_KASLR_ANCHOR. */
  kaslrAnchor(image: Uint8Array): string;
  /** The tree strings (crates/decode/src/packed.rs) from id `from` on, while the table is at `generation`. */
  treeStrings(generation: number, from: number): string[];
  /** Native: the field tree as words into `out`; returns the words it takes (more: nothing written). */
  decodeTreePacked?(lo: number, hi: number, out: Uint32Array): number;
  /** Wasm: the field tree as words in wasm memory; returns their byte offset. */
  decodeTreeWords?(lo: number, hi: number): number;
  /** Wasm: the module's memory (a WebAssembly.Memory), for views over what it wrote. */
  wasmMemory?(): { buffer: ArrayBufferLike };
}

/** Function names every backend must export; a backend lacking one fails to load. */
export const REQUIRED_FUNCTIONS: readonly (keyof DecodeApi)[] = [
  'decodeJson',
  'decodeTextTree',
  'summary',
  'renderMany',
  'classify',
  'classNames',
  'classifyBatch',
  'esrFromKvmDebugExit',
  'encodeBreakpoint',
  'breakpointBytes',
  'recogniseBreakpoint',
  'planInsert',
  'planRemove',
  'walkStage1',
  'kallsymsElf',
  'kallsymsNm',
  'kaslrAnchor',
  'treeStrings',
];

/** A loaded backend and why it was chosen. */
export interface Backend {
  backend: BackendName;
  reason: string;
  api: DecodeApi;
}

/** Options of {@link loadBackend}. */
export interface LoadOptions {
  /** Force one build; overrides env KVM_DEBUG_BACKEND. */
  backend?: BackendName;
}

/** The repository root: this file is ts/src/binding.ts or ts/dist/binding.js. */
const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Whether this Linux runs on musl, as napi-rs's loader checks: `ldd` names musl, or, without
 * an `ldd`, the process report names no glibc (the report took 4.6 ms of each CLI start).
 */
let muslCache: boolean | undefined;
function isMusl(): boolean {
  if (muslCache === undefined) {
    try {
      muslCache = fs.readFileSync('/usr/bin/ldd', 'latin1').includes('musl');
    } catch {
      const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
      muslCache = report?.header?.glibcVersionRuntime === undefined;
    }
  }
  return muslCache;
}

/** napi-rs platform suffix: linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, darwin-arm64, ... */
export function nativePlatform(): string {
  const arch = process.arch;
  if (process.platform !== 'linux') return `${process.platform}-${arch}`;
  return `linux-${arch}-${isMusl() ? 'musl' : 'gnu'}`;
}

/** The per-platform npm package that carries the addon (an optional dependency of kvm-debug). */
export function nativePackage(): string {
  return `kvm-debug-${nativePlatform()}`;
}

/** Where an addon is looked for, or what was looked for when none is there. */
type NativeLocation = { file: string } | { file?: undefined; missing: string };

/**
 * The addon for this platform, in order: env KVM_DEBUG_NATIVE; a checkout's
 * build (crates/node); the per-platform package next to this one.
 */
function locateNative(): NativeLocation {
  const env = process.env.KVM_DEBUG_NATIVE;
  if (env !== undefined && env !== '') return { file: path.resolve(env) };
  const name = `kvm-debug.${nativePlatform()}.node`;
  const built = path.join(ROOT, 'crates', 'node', name);
  if (fs.existsSync(built)) return { file: built };
  try {
    return { file: require.resolve(`${nativePackage()}/${name}`) };
  } catch {
    const checkout = fs.existsSync(path.dirname(built)) ? `; this checkout has no ${built} (npm run build:native)` : '';
    return {
      missing: `no addon for ${nativePlatform()}: package ${nativePackage()} is not installed (npm installs it only on that platform)${checkout}`,
    };
  }
}

/** The addon file the loader loads, or undefined when this platform has none (see {@link loadNative}'s error). */
export function nativePath(): string | undefined {
  return locateNative().file;
}

/** The wasm-pack output (`--target nodejs`). */
export function wasmPath(): string {
  return path.join(ROOT, 'crates', 'wasm', 'pkg', 'kvm_debug_wasm.js');
}

function unavailable(which: BackendName, why: string): CodedError {
  return codedError(ErrorCode.BackendUnavailable, `${which} backend unavailable: ${why}`);
}

function checkApi(which: BackendName, file: string, mod: unknown): DecodeApi {
  const missing = REQUIRED_FUNCTIONS.filter(
    (f) => typeof (mod as Record<string, unknown>)[f] !== 'function',
  );
  if (missing.length > 0) {
    throw unavailable(which, `${file} lacks ${missing.join(', ')} (stale build? rebuild it)`);
  }
  return mod as DecodeApi;
}

/** Loaded modules by file (env KVM_DEBUG_NATIVE may name another file). */
const cache = new Map<string, unknown>();

function requireModule(which: BackendName, file: string): unknown {
  const hit = cache.get(file);
  if (hit !== undefined) return hit;
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file);
  } catch (e) {
    const msg = messageOf(e).split('\n')[0] ?? '';
    throw unavailable(which, `cannot load ${file}: ${msg}`);
  }
  cache.set(file, mod);
  return mod;
}

/**
 * The native addon, or an ERR_BACKEND_UNAVAILABLE error saying why not. The
 * KVM path uses this: it never falls back. The module also carries the KVM
 * API (docs/native-api.md), hence the `unknown`-typed extra members.
 */
export function loadNative(): DecodeApi & Record<string, unknown> {
  const where = locateNative();
  if (where.file === undefined) throw unavailable('native', where.missing);
  const file = where.file;
  return checkApi('native', file, requireModule('native', file)) as DecodeApi &
    Record<string, unknown>;
}

/** The wasm build, or an ERR_BACKEND_UNAVAILABLE error saying why not. */
export function loadWasm(): DecodeApi {
  const file = wasmPath();
  return checkApi('wasm', file, requireModule('wasm', file));
}

function parseBackendName(v: string, from: string): BackendName {
  if (v === 'native' || v === 'wasm') return v;
  throw codedError(ErrorCode.BadArgument, `${from}=${JSON.stringify(v)}: expected native or wasm`);
}

/**
 * Loads a backend for decoding. Forced (option, else KVM_DEBUG_BACKEND): that
 * one or an error. Otherwise native, falling back to wasm with the reason.
 */
export function loadBackend(opts: LoadOptions = {}): Backend {
  let forced: BackendName | undefined;
  let from = '';
  if (opts.backend !== undefined) {
    forced = parseBackendName(opts.backend, 'option backend');
    from = 'option backend';
  } else if (process.env.KVM_DEBUG_BACKEND) {
    forced = parseBackendName(process.env.KVM_DEBUG_BACKEND, 'KVM_DEBUG_BACKEND');
    from = 'KVM_DEBUG_BACKEND';
  }
  if (forced === 'native') {
    const api = loadNative();
    return { backend: 'native', reason: `forced by ${from}: ${nativePath()}`, api };
  }
  if (forced === 'wasm') {
    return { backend: 'wasm', reason: `forced by ${from}: ${wasmPath()}`, api: loadWasm() };
  }
  try {
    const api = loadNative();
    return { backend: 'native', reason: `default: native addon ${nativePath()}`, api };
  } catch (e) {
    // Both halves: why native failed, and which wasm build serves instead.
    const api = loadWasm();
    return { backend: 'wasm', reason: `fell back to wasm (${wasmPath()}) because ${messageOf(e)}`, api };
  }
}
