/**
 * THE PLAIN-TS BASELINE. A straightforward TypeScript implementation of the
 * fast classification (crates/decode/src/classify.rs), written only to give
 * the bindings something to beat. It is not used by the product. bench.ts
 * checks it against both builds before timing anything.
 *
 * There is no TS baseline for the full field tree: that would mean porting the
 * whole decoder (crates/decode/src/esr/), which is exactly what the Rust core
 * is for; the tree is compared against the Rust loop only.
 */

/** Short class name per EC (Linux arch/arm64/include/asm/esr.h ESR_ELx_EC_*). */
export const CLASS_NAMES: readonly string[] = (() => {
  const t: string[] = new Array<string>(64).fill('Unallocated');
  const named: [number, string][] = [
    [0x00, 'UNKNOWN'], [0x01, 'WFx'], [0x03, 'CP15_32'], [0x04, 'CP15_64'],
    [0x05, 'CP14_MR'], [0x06, 'CP14_LS'], [0x07, 'FP_ASIMD'], [0x08, 'CP10_ID'],
    [0x09, 'PAC'], [0x0a, 'OTHER'], [0x0c, 'CP14_64'], [0x0d, 'BTI'], [0x0e, 'ILL'],
    [0x11, 'SVC32'], [0x12, 'HVC32'], [0x13, 'SMC32'], [0x14, 'SYS128'],
    [0x15, 'SVC64'], [0x16, 'HVC64'], [0x17, 'SMC64'], [0x18, 'SYS64'], [0x19, 'SVE'],
    [0x1a, 'ERET'], [0x1b, 'TSTART'], [0x1c, 'FPAC'], [0x1d, 'SME'], [0x1f, 'IMP_DEF'],
    [0x20, 'IABT_LOW'], [0x21, 'IABT_CUR'], [0x22, 'PC_ALIGN'], [0x24, 'DABT_LOW'],
    [0x25, 'DABT_CUR'], [0x26, 'SP_ALIGN'], [0x27, 'MOPS'], [0x28, 'FP_EXC32'],
    [0x2c, 'FP_EXC64'], [0x2d, 'GCS'], [0x2f, 'SERROR'], [0x30, 'BREAKPT_LOW'],
    [0x31, 'BREAKPT_CUR'], [0x32, 'SOFTSTP_LOW'], [0x33, 'SOFTSTP_CUR'],
    [0x34, 'WATCHPT_LOW'], [0x35, 'WATCHPT_CUR'], [0x38, 'BKPT32'], [0x3a, 'VECTOR32'],
    [0x3c, 'BRK64'], [0x3d, 'PMU'],
  ];
  for (const [ec, name] of named) t[ec] = name;
  return t;
})();

/** Debug kinds, indexed like the core's KIND_* (packed bits 11:8). */
const KINDS = ['none', 'brk64', 'bkpt32', 'hwBreakpoint', 'softwareStep', 'watchpoint', 'vectorCatch'] as const;
const KIND_WATCHPOINT = 5;
const KIND_SOFTWARE_STEP = 4;

/** Debug kind per EC (Arm ARM D24.2.40: 0x30/31 breakpoint, 0x32/33 step, 0x34/35 watchpoint, 0x38 BKPT, 0x3a vector catch, 0x3c BRK). */
const KIND_BY_EC: Uint8Array = (() => {
  const t = new Uint8Array(64);
  t[0x3c] = 1;
  t[0x38] = 2;
  t[0x30] = t[0x31] = 3;
  t[0x32] = t[0x33] = KIND_SOFTWARE_STEP;
  t[0x34] = t[0x35] = KIND_WATCHPOINT;
  t[0x3a] = 6;
  return t;
})();

/** ECs whose ISS[6] is WnR and ISS[8] is CM: data aborts (0x24/25) and watchpoints (0x34/35). */
function hasWnrCm(ec: number): boolean {
  return ec === 0x24 || ec === 0x25 || ec === 0x34 || ec === 0x35;
}

/** The same shape as ts/src/decode.ts `Classification`. */
export interface BaselineClassification {
  ec: number;
  className: string;
  il: boolean;
  iss24: boolean;
  debug: (typeof KINDS)[number];
  wnr: boolean;
  cm: boolean;
  ex: boolean;
  wptv: boolean;
  wpt: number | null;
  imm16: number | null;
  packed: number;
}

/**
 * Classifies ESR_ELx `hi:lo` into an object. Only `lo` matters: ISS2 (in
 * `hi`) is not part of the classification, as in the core.
 */
export function classifyTs(lo: number, _hi: number): BaselineClassification {
  const ec = lo >>> 26; // EC, bits 31:26
  const iss = lo & 0x1ff_ffff; // ISS, bits 24:0
  const kind = KIND_BY_EC[ec]!;
  const watch = kind === KIND_WATCHPOINT;
  const wnrCm = hasWnrCm(ec);
  const iss24 = ((iss >>> 24) & 1) === 1;
  const wptv = watch && ((iss >>> 17) & 1) === 1; // WPTV, ISS[17]
  const c: BaselineClassification = {
    ec,
    className: CLASS_NAMES[ec]!,
    il: ((lo >>> 25) & 1) === 1,
    iss24,
    debug: KINDS[kind]!,
    wnr: wnrCm && ((iss >>> 6) & 1) === 1,
    cm: wnrCm && ((iss >>> 8) & 1) === 1,
    ex: kind === KIND_SOFTWARE_STEP && iss24 && ((iss >>> 6) & 1) === 1,
    wptv,
    wpt: watch ? (wptv ? (iss >>> 18) & 0x3f : 0) : null, // WPT, ISS[23:18]
    imm16: watch ? null : iss & 0xffff,
    packed: 0,
  };
  c.packed = packOf(c);
  return c;
}

function packOf(c: BaselineClassification): number {
  const kind = KINDS.indexOf(c.debug);
  const top = c.wpt ?? c.imm16 ?? 0;
  return (
    (c.ec |
      (+c.il << 6) |
      (+c.iss24 << 7) |
      (kind << 8) |
      (+c.wnr << 12) |
      (+c.cm << 13) |
      (+c.ex << 14) |
      (+c.wptv << 15) |
      (top << 16)) >>>
    0
  );
}

/** The packed word of `lo` directly, with no object (the batch path). */
export function packTs(lo: number): number {
  const ec = lo >>> 26;
  const iss = lo & 0x1ff_ffff;
  const kind = KIND_BY_EC[ec]!;
  const b24 = (iss >>> 24) & 1;
  const b6 = (iss >>> 6) & 1;
  let p = ec | (((lo >>> 25) & 1) << 6) | (b24 << 7) | (kind << 8);
  if (hasWnrCm(ec)) p |= (b6 << 12) | (((iss >>> 8) & 1) << 13);
  if (kind === KIND_WATCHPOINT) {
    if ((iss >>> 17) & 1) p |= (1 << 15) | (((iss >>> 18) & 0x3f) << 16);
  } else {
    if (kind === KIND_SOFTWARE_STEP) p |= (b6 & b24) << 14;
    p |= (iss & 0xffff) << 16;
  }
  return p >>> 0;
}

/**
 * Batch baseline, the straightforward way: read each element as a bigint.
 * `out.length >= values.length`.
 */
export function classifyBatchBigInt(values: BigUint64Array, out: Uint32Array): void {
  for (let i = 0; i < values.length; i++) {
    out[i] = packTs(Number(values[i]! & 0xffff_ffffn));
  }
}

/**
 * Batch baseline without BigInt: a Uint32Array view of the same buffer. The
 * low half of element i is word 2i on a little-endian host (bench.ts checks
 * os.endianness() before using this).
 */
export function classifyBatchWords(values: BigUint64Array, out: Uint32Array): void {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  for (let i = 0; i < values.length; i++) {
    out[i] = packTs(words[2 * i]!);
  }
}
