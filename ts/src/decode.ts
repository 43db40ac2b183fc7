/**
 * The backend-independent decode API. Every function takes an optional
 * {@link Backend}; without one it uses {@link defaultBackend} (native if it
 * loads, else wasm; see binding.ts). Results are identical on both builds.
 */
import { loadBackend, type Backend, type DecodeApi } from './binding';
import { ErrorCode, badValue, codedError } from './errors';
import type { Field } from './field';
import { U64_MAX, parseU64 } from './syndrome-text';

export type { Field } from './field';

/** A value accepted where a 64-bit register value is expected. */
export type Value = bigint | number | string;

const U32_MASK = 0xffff_ffffn;

let fallback: Backend | undefined;

/** The backend used when none is passed: loaded once, on first use. */
export function defaultBackend(): Backend {
  fallback ??= loadBackend();
  return fallback;
}

/**
 * Parses `0x` hex, `0b` binary or decimal text (surrounding blanks allowed; `_` between
 * digits, as in `0x9600_0045`) into a 64-bit value. Anything else, or more than 64 bits, throws
 * ERR_BAD_VALUE with a message naming the text.
 */
export function parseValue(text: string): bigint {
  const parsed = parseU64(text);
  if ('problem' in parsed) throw badValue(text, parsed.problem);
  return parsed.value;
}

/** Any {@link Value} as a 64-bit bigint; throws ERR_BAD_VALUE naming it. */
export function toU64(value: Value): bigint {
  if (typeof value === 'string') return parseValue(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw badValue(String(value), 'not a non-negative safe integer (use a bigint)');
    }
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > U64_MAX) throw outsideU64(value);
    return value;
  }
  throw codedError(ErrorCode.BadArgument, `expected bigint, number or string, got ${typeof value}`);
}

function outsideU64(value: bigint): Error {
  return badValue(`0x${value.toString(16)}`, 'outside 0..2^64-1');
}

/** 2^32: a number's high half is `floor(v / TWO_32)`, its low half `v % TWO_32`. */
const TWO_32 = 0x1_0000_0000;

/**
 * The u32 halves `[lo, hi]` the bindings take; throws like {@link toU64}.
 * This is on every single-value call, so it avoids BigInt arithmetic (about
 * 100 ns of allocation per call): u32s and safe integers are split as
 * numbers, bigints are range-checked by comparison.
 */
export function halves(value: Value): [number, number] {
  if (typeof value === 'number') {
    if (value >>> 0 === value) return [value >>> 0, 0]; // a u32 (and -0 -> 0)
    if (Number.isSafeInteger(value) && value >= 0) return [value % TWO_32, Math.floor(value / TWO_32)];
    return halvesOfBigint(toU64(value)); // toU64 throws ERR_BAD_VALUE naming it
  }
  return halvesOfBigint(typeof value === 'bigint' ? value : toU64(value));
}

function halvesOfBigint(v: bigint): [number, number] {
  if (v >= 0n && v <= U32_MASK) return [Number(v), 0];
  if (v < 0n || v > U64_MAX) throw outsideU64(v);
  return [Number(BigInt.asUintN(32, v)), Number(v >> 32n)];
}

/** Words before the first node, and per node, of a packed tree (crates/decode/src/packed.rs). */
const TREE_HEADER_WORDS = 3;
const TREE_NODE_WORDS = 6;

/**
 * Reads packed trees of one backend (crates/decode/src/packed.rs): its copy of the string
 * table, and where the words are (a Uint32Array of ours for native, wasm memory for wasm).
 */
class TreeReader {
  private generation = -1;
  private strings: string[] = [];
  private out = new Uint32Array(256);
  private view: Uint32Array | undefined;
  /** Wasm: the module's memory (one object for its life; its buffer changes when it grows). */
  private wasm: { buffer: ArrayBufferLike } | undefined;

  constructor(private readonly api: DecodeApi) {}

  /** The words of the tree of `hi:lo`; its header is at word {@link at}. */
  private words(lo: number, hi: number): Uint32Array {
    const api = this.api;
    if (api.decodeTreePacked) {
      const need = api.decodeTreePacked(lo, hi, this.out);
      if (need > this.out.length) {
        this.out = new Uint32Array(need * 2);
        api.decodeTreePacked(lo, hi, this.out);
      }
      this.at = 0;
      return this.out;
    }
    this.at = (api.decodeTreeWords as (lo: number, hi: number) => number)(lo, hi) >>> 2;
    return this.memory();
  }

  /** Where the last tree's header is in the words {@link words} returned. */
  private at = 0;

  /**
   * A view over wasm memory, taken again after the memory grew: growing
   * detaches the old buffer, and a view of a detached buffer has length 0
   * (cheaper to test than the `buffer` getter).
   */
  private memory(): Uint32Array {
    let view = this.view;
    if (view === undefined || view.length === 0) {
      this.wasm ??= (this.api.wasmMemory as () => { buffer: ArrayBufferLike })();
      view = this.view = new Uint32Array(this.wasm.buffer);
    }
    return view;
  }

  read(lo: number, hi: number): Field {
    let w = this.words(lo, hi);
    const at = this.at;
    const generation = w[at] as number;
    const known = w[at + 1] as number;
    if (generation !== this.generation) {
      this.generation = generation;
      this.strings = [];
    }
    if (known > this.strings.length) {
      const more = this.api.treeStrings(generation, this.strings.length);
      // Another thread of this process started the table over meanwhile: decode again.
      if (this.strings.length + more.length < known) return JSON.parse(this.api.decodeJson(lo, hi)) as Field;
      for (const s of more) this.strings.push(s);
      // Fetching the strings may have grown wasm memory: its words are where they were.
      if (!this.api.decodeTreePacked) w = this.memory();
    }
    cursor = at + TREE_HEADER_WORDS;
    return readNode(w, this.strings);
  }
}

/** The next node's word while {@link readNode} walks a tree (one tree at a time: JS is single-threaded). */
let cursor = 0;

/** The node at word {@link cursor} of `w` and its sub-fields; leaves the cursor after them. */
function readNode(w: Uint32Array, strings: string[]): Field {
  const i = cursor;
  const bits = w[i + 1] as number;
  const meaning = w[i + 4] as number;
  const count = w[i + 5] as number;
  const node: Field = {
    name: strings[w[i] as number] as string,
    hi: bits >>> 8,
    lo: bits & 0xff,
    value: hexOf(w[i + 3] as number, w[i + 2] as number),
    meaning: meaning === 0 ? null : (strings[meaning - 1] as string),
    fields: [],
  };
  cursor = i + TREE_NODE_WORDS;
  for (let k = 0; k < count; k++) node.fields.push(readNode(w, strings));
  return node;
}

/** `0x0` .. `0xff`: most field values are small. */
const SMALL_HEX: readonly string[] = Array.from({ length: 256 }, (_, v) => `0x${v.toString(16)}`);
/** `00` .. `ff`. */
const BYTE_HEX: readonly string[] = Array.from({ length: 256 }, (_, v) => v.toString(16).padStart(2, '0'));

/**
 * `hi:lo` as `0x` hex without leading zeros, a byte at a time from tables:
 * `toString(16)` and `padStart` took two thirds of a tree's JS time.
 */
function hexOf(hi: number, lo: number): string {
  if (hi === 0) return hex32(lo);
  return hex32(hi) + (BYTE_HEX[lo >>> 24] as string) + (BYTE_HEX[(lo >>> 16) & 0xff] as string) + (BYTE_HEX[(lo >>> 8) & 0xff] as string) + (BYTE_HEX[lo & 0xff] as string);
}

/** A u32 as `0x` hex without leading zeros. */
function hex32(v: number): string {
  if (v < 0x100) return SMALL_HEX[v] as string;
  if (v < 0x1_0000) return (SMALL_HEX[v >>> 8] as string) + (BYTE_HEX[v & 0xff] as string);
  if (v < 0x100_0000) return (SMALL_HEX[v >>> 16] as string) + (BYTE_HEX[(v >>> 8) & 0xff] as string) + (BYTE_HEX[v & 0xff] as string);
  return (SMALL_HEX[v >>> 24] as string) + (BYTE_HEX[(v >>> 16) & 0xff] as string) + (BYTE_HEX[(v >>> 8) & 0xff] as string) + (BYTE_HEX[v & 0xff] as string);
}

const treeReaders = new WeakMap<DecodeApi, TreeReader>();

/**
 * The field tree of an ESR_ELx value: the same objects as `JSON.parse(decodeJson(value))`,
 * built from the packed words without JSON.
 */
export function decodeTree(value: Value, backend: Backend = defaultBackend()): Field {
  const [lo, hi] = halves(value);
  let reader = treeReaders.get(backend.api);
  if (!reader) {
    reader = new TreeReader(backend.api);
    treeReaders.set(backend.api, reader);
  }
  return reader.read(lo, hi);
}

/** The field tree as JSON text, exactly as the core renders it. */
export function decodeJson(value: Value, backend: Backend = defaultBackend()): string {
  const [lo, hi] = halves(value);
  return backend.api.decodeJson(lo, hi);
}

/** The field tree as indented multi-line text. */
export function decodeText(value: Value, backend: Backend = defaultBackend()): string {
  const [lo, hi] = halves(value);
  return backend.api.decodeTextTree(lo, hi);
}

/** Options of {@link renderMany}. */
export interface RenderOptions {
  /** One JSON tree a line, instead of each summary line and text tree. */
  json?: boolean;
  /** Earlier output precedes this block: in text, a blank line comes first. */
  continued?: boolean;
}

/**
 * Many values rendered as `kvm-debug decode` prints them, in one call, as
 * UTF-8 bytes ready to write: per value its summary and text tree
 * (blank-line separated), or its JSON tree on one line.
 */
export function renderMany(values: BigUint64Array, opts: RenderOptions = {}, backend: Backend = defaultBackend()): Uint8Array {
  return backend.api.renderMany(values, opts.json === true, opts.continued === true);
}

/** The one-line summary, e.g. `EC 0x3c BRK64 (AArch64) comment 0x123`. */
export function summary(value: Value, backend: Backend = defaultBackend()): string {
  const [lo, hi] = halves(value);
  return backend.api.summary(lo, hi);
}

/** The debug event kind of a classification (packed bits 11:8). */
export type DebugKind =
  | 'none'
  | 'brk64'
  | 'bkpt32'
  | 'hwBreakpoint'
  | 'softwareStep'
  | 'watchpoint'
  | 'vectorCatch'
  | 'unknown';

/** Packed kinds 0..6 (crates/decode/src/classify.rs `KIND_*`). */
const DEBUG_KINDS: readonly DebugKind[] = [
  'none',
  'brk64',
  'bkpt32',
  'hwBreakpoint',
  'softwareStep',
  'watchpoint',
  'vectorCatch',
];
const KIND_WATCHPOINT = 5;

/**
 * A syndrome's classification: the fast path's facts, unpacked from the
 * documented u32 layout of the core's `Classification::pack`.
 */
export interface Classification {
  /** ESR_ELx.EC (bits 31:26). */
  ec: number;
  /** Short class name (Linux ESR_ELx_EC_* style), from `classNames()`. */
  className: string;
  /** ESR_ELx.IL: a 32-bit instruction was trapped. */
  il: boolean;
  /** ISS[24]: ISV for data aborts and software step (CV/IDS elsewhere). */
  iss24: boolean;
  /** The debug event this is, if any. */
  debug: DebugKind;
  /** WnR, for data aborts and watchpoints (else false). */
  wnr: boolean;
  /** CM, for data aborts and watchpoints (else false). */
  cm: boolean;
  /** EX, for software step with ISV set (else false). */
  ex: boolean;
  /** WPTV, for watchpoints (else false). */
  wptv: boolean;
  /** Watchpoints: WPT when WPTV, else 0. Others: null. */
  wpt: number | null;
  /** Non-watchpoints: ISS[15:0] (BRK/BKPT comment, SVC/HVC/SMC imm16, ...). Watchpoints: null. */
  imm16: number | null;
  /** The packed word itself. */
  packed: number;
}

/** Unpacks a `Classification::pack` word; `names` are the backend's `classNames()`. */
export function unpackClassification(packed: number, names: readonly string[]): Classification {
  const ec = packed & 0x3f; // bits 5:0
  const kind = (packed >>> 8) & 0xf; // bits 11:8
  const top = packed >>> 16; // bits 31:16
  const watch = kind === KIND_WATCHPOINT;
  return {
    ec,
    className: names[ec] ?? `EC 0x${ec.toString(16)}`,
    il: ((packed >>> 6) & 1) === 1,
    iss24: ((packed >>> 7) & 1) === 1,
    debug: DEBUG_KINDS[kind] ?? 'unknown',
    wnr: ((packed >>> 12) & 1) === 1,
    cm: ((packed >>> 13) & 1) === 1,
    ex: ((packed >>> 14) & 1) === 1,
    wptv: ((packed >>> 15) & 1) === 1,
    wpt: watch ? top : null,
    imm16: watch ? null : top,
    packed: packed >>> 0,
  };
}

const classNameCache = new WeakMap<object, readonly string[]>();
/** The last lookup, checked before the WeakMap: classify() calls this per value. */
let lastNames: { api: object; names: readonly string[] } | undefined;

/** The backend's class names, fetched once per backend. */
export function classNames(backend: Backend = defaultBackend()): readonly string[] {
  if (lastNames?.api === backend.api) return lastNames.names;
  let names = classNameCache.get(backend.api);
  if (names === undefined) {
    names = Object.freeze(backend.api.classNames());
    classNameCache.set(backend.api, names);
  }
  lastNames = { api: backend.api, names };
  return names;
}

/** Classifies one value (allocation-free on the Rust side) and unpacks the result. */
export function classify(value: Value, backend: Backend = defaultBackend()): Classification {
  const [lo, hi] = halves(value);
  return unpackClassification(backend.api.classify(lo, hi), classNames(backend));
}

/** Packed classifications of every value (see the core's `Classification::pack`). */
export function classifyBatch(values: BigUint64Array, backend: Backend = defaultBackend()): Uint32Array {
  const out = new Uint32Array(values.length);
  backend.api.classifyBatch(values, out);
  return out;
}

/**
 * KVM's debug exit (`run.debug.arch.hsr`, `hsr_high`, and whether
 * `run.flags & KVM_DEBUG_ARCH_HSR_HIGH_VALID`) joined into one ESR.
 */
export function esrFromKvmDebugExit(
  hsr: number,
  hsrHigh: number,
  highValid: boolean,
  backend: Backend = defaultBackend(),
): bigint {
  return backend.api.esrFromKvmDebugExit(u32(hsr, 'hsr'), u32(hsrHigh, 'hsrHigh'), highValid);
}

function u32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff_ffff) {
    throw codedError(ErrorCode.BadArgument, `${what} ${v} is not a u32`);
  }
  return v;
}

/** Breakpoint instruction kinds, as the core names them. */
export type BreakpointKindName = 'brk64' | 'hlt64' | 'bkpt32' | 'bkpt16';

/** A breakpoint instruction word (T32: the low halfword). */
export function encodeBreakpoint(
  kind: BreakpointKindName,
  imm: number,
  backend: Backend = defaultBackend(),
): number {
  return backend.api.encodeBreakpoint(kind, u32(imm, 'immediate'));
}

/** A breakpoint instruction's bytes in memory order (always little-endian). */
export function breakpointBytes(
  kind: BreakpointKindName,
  imm: number,
  backend: Backend = defaultBackend(),
): Uint8Array {
  return backend.api.breakpointBytes(kind, u32(imm, 'immediate'));
}

/** The immediate of `insn` if it is a `kind` breakpoint instruction, else null. */
export function recogniseBreakpoint(
  kind: BreakpointKindName,
  insn: number,
  backend: Backend = defaultBackend(),
): number | null {
  const imm = backend.api.recogniseBreakpoint(kind, u32(insn, 'instruction'));
  return imm < 0 ? null : imm;
}

/** What to do to insert a breakpoint: save `saved`, write `patch` at `addr`. */
export interface InsertPlan {
  addr: bigint;
  kind: BreakpointKindName;
  saved: Uint8Array;
  patch: Uint8Array;
}

/** Plans inserting our breakpoint at `addr`, whose bytes are now `current`. */
export function planInsert(
  kind: BreakpointKindName,
  addr: Value,
  current: Uint8Array,
  backend: Backend = defaultBackend(),
): InsertPlan {
  const a = toU64(addr);
  const [lo, hi] = halves(a);
  const patch = backend.api.planInsert(kind, lo, hi, current);
  return { addr: a, kind, saved: Uint8Array.from(current), patch };
}

/** What to do to remove a breakpoint: write `restore` at `addr`, or nothing (null). */
export interface RemovePlan {
  addr: bigint;
  restore: Uint8Array | null;
}

/**
 * Plans removing our breakpoint at `addr`. Throws ERR_PATCH_CONFLICT when the
 * guest rewrote our instruction (its bytes are to be left alone).
 */
export function planRemove(
  kind: BreakpointKindName,
  addr: Value,
  saved: Uint8Array,
  current: Uint8Array,
  backend: Backend = defaultBackend(),
): RemovePlan {
  const a = toU64(addr);
  const [lo, hi] = halves(a);
  const restore = backend.api.planRemove(kind, lo, hi, saved, current);
  return { addr: a, restore: restore.length === 0 ? null : restore };
}

/** The stage-1 registers of a walk (Arm ARM D8, `AArch64.S1Walk()`). */
export interface Stage1Registers {
  /** SCTLR_EL1 (M, EE, WXN are used). */
  sctlr: Value;
  /** TCR_EL1. */
  tcr: Value;
  /** TTBR0_EL1. */
  ttbr0: Value;
  /** TTBR1_EL1. */
  ttbr1: Value;
}

/** A successful stage-1 translation (core `decode::walk::Translation`). */
export interface Stage1Translation {
  /** The virtual address translated. */
  va: bigint;
  /** Its physical address. */
  pa: bigint;
  /** Level of the final descriptor; null with the MMU off. */
  level: number | null;
  /** Size of the page or block. */
  pageSize: bigint;
  /** The final descriptor, and where it was read. */
  descriptor: bigint;
  descriptorAddr: bigint;
  /** TTBR used (0 or 1). */
  ttbr: number;
  /** EL1 may write / execute; EL0 may access; the access flag is set. */
  writable: boolean;
  executable: boolean;
  user: boolean;
  accessed: boolean;
}

/**
 * Walk the guest's stage-1 EL1&0 page tables in a memory dump (`dump.bytes` at
 * guest-physical `dump.base`) for `va`, on any OS and either backend. A fault is a
 * coded error: ERR_WALK_NOT_VALID, ERR_WALK_RESERVED, ERR_WALK_ADDRESS_SIZE,
 * ERR_WALK_VA_RANGE, ERR_WALK_DISABLED, or ERR_WALK_UNREADABLE (a table outside the dump).
 */
export function walkStage1(
  regs: Stage1Registers,
  va: Value,
  dump: { base: Value; bytes: Uint8Array },
  backend: Backend = defaultBackend(),
): Stage1Translation {
  const r = BigUint64Array.from([regs.sctlr, regs.tcr, regs.ttbr0, regs.ttbr1].map((v) => toU64(v)));
  const [vaLo, vaHi] = halves(toU64(va));
  const [baseLo, baseHi] = halves(toU64(dump.base));
  const raw = JSON.parse(backend.api.walkStage1(r, vaLo, vaHi, baseLo, baseHi, dump.bytes)) as Record<string, unknown>;
  const big = (k: string): bigint => BigInt(raw[k] as string);
  return {
    va: big('va'),
    pa: big('pa'),
    level: (raw.level as number | null) ?? null,
    pageSize: big('pageSize'),
    descriptor: big('descriptor'),
    descriptorAddr: big('descriptorAddr'),
    ttbr: raw.ttbr as number,
    writable: raw.writable as boolean,
    executable: raw.executable as boolean,
    user: raw.user as boolean,
    accessed: raw.accessed as boolean,
  };
}

/** A kernel symbol recovered from an Image (as /proc/kallsyms shows it, without modules). */
export interface KernelSymbol {
  /** Its link-time address (KASLR off). */
  addr: bigint;
  /** The nm type letter (T, t, D, ...). */
  kind: string;
  /** Its name. */
  name: string;
}

/** Parse nm text ("address type name" per line, as /proc/kallsyms). */
export function parseNm(text: string): KernelSymbol[] {
  const out: KernelSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]+) (\S) (\S+)/.exec(line);
    if (m) out.push({ addr: BigInt(`0x${m[1] as string}`), kind: m[2] as string, name: m[3] as string });
  }
  return out;
}

/**
 * The kernel's own symbol table, recovered from an arm64 Linux `Image` with nothing else
 * (its compressed kallsyms; crates/decode/src/kallsyms.rs), on either backend: the symbols,
 * and the ELF symbol file gdb loads with `symbol-file`. Throws ERR_NO_KALLSYMS saying what
 * was missing (no CONFIG_KALLSYMS, a compressed image).
 */
export function recoverKernelSymbols(
  image: Uint8Array,
  backend: Backend = defaultBackend(),
): { symbols: KernelSymbol[]; fromKallsyms: number; elf: Uint8Array } {
  const text = backend.api.kallsymsNm(image);
  // The kallsyms part (as /proc/kallsyms) comes first; exports after a `# __ksymtab` line.
  const cut = text.indexOf('\n#');
  const symbols = parseNm(text);
  const fromKallsyms = cut < 0 ? symbols.length : parseNm(text.slice(0, cut + 1)).length;
  return { symbols, fromKallsyms, elf: backend.api.kallsymsElf(image) };
}

/**
 * Where a running arm64 kernel reports its KASLR slide, found in its `Image`
 * (crates/decode/src/kaslr.rs): the quad at the load address + `kimageVaddr` reads 0
 * until the kernel has relocated itself (before start_kernel), then `link` + the slide.
 */
export interface KaslrAnchor {
  /** The link address of `_text`, the Image's first byte. */
  link: bigint;
  /** The file offset of `kimage_vaddr`. */
  kimageVaddr: bigint;
  /** The Image relocates itself; a fixed one never slides. */
  relocatable: boolean;
}

/** The Image's KASLR anchor, on either backend; throws ERR_NO_KASLR_ANCHOR saying what was missing. */
export function kaslrAnchor(image: Uint8Array, backend: Backend = defaultBackend()): KaslrAnchor {
  const raw = JSON.parse(backend.api.kaslrAnchor(image)) as { link: string; kimageVaddr: string; relocatable: boolean };
  return { link: BigInt(raw.link), kimageVaddr: BigInt(raw.kimageVaddr), relocatable: raw.relocatable };
}
