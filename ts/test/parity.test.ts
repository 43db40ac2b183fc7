/**
 * Parity: the same 100,000 seeded random 64-bit values through the native
 * addon and the wasm build give identical JSON trees, text, summaries and
 * packed classifications (single and batch). Any difference fails.
 */
import { loadBackend, type Backend } from '../src/binding';
import { decodeTree } from '../src/decode';

const COUNT = 100_000;
const SEED = 0x6b766d64; // "kvmd"

/** xorshift32 (Marsaglia 2003): a fixed, seeded sequence of u32. */
function* xorshift32(seed: number): Generator<number> {
  let x = seed >>> 0 || 1;
  for (;;) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield x;
  }
}

/**
 * Value halves: fully random, plus every EC with random ISS, and a share of
 * values with ISS2/RES0 bits set, so every class and its reserved paths show up.
 */
function values(): { lo: Uint32Array; hi: Uint32Array } {
  const rnd = xorshift32(SEED);
  const next = () => rnd.next().value as number;
  const lo = new Uint32Array(COUNT);
  const hi = new Uint32Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const a = next();
    const b = next();
    switch (i % 4) {
      case 0: // fully random
        lo[i] = a;
        hi[i] = b;
        break;
      case 1: // each EC in turn, random IL/ISS, no high half
        lo[i] = (((i >>> 2) & 0x3f) << 26) | (a & 0x03ff_ffff);
        hi[i] = 0;
        break;
      case 2: // each EC, random ISS2 (bits 55:32), RES0 [63:56] clear
        lo[i] = (((i >>> 2) & 0x3f) << 26) | (a & 0x03ff_ffff);
        hi[i] = b & 0x00ff_ffff;
        break;
      default: // sparse bits
        lo[i] = a & b;
        hi[i] = (a >>> 16) & b;
    }
  }
  return { lo, hi };
}

describe('native and wasm decode identically', () => {
  let native: Backend;
  let wasm: Backend;
  const { lo, hi } = values();
  beforeAll(() => {
    native = loadBackend({ backend: 'native' });
    wasm = loadBackend({ backend: 'wasm' });
  });

  function firstDifference(render: (b: Backend, lo: number, hi: number) => string | number): string | null {
    for (let i = 0; i < COUNT; i++) {
      const l = lo[i] as number;
      const h = hi[i] as number;
      const n = render(native, l, h);
      const w = render(wasm, l, h);
      if (n !== w) {
        const v = (BigInt(h) << 32n) | BigInt(l);
        return `value 0x${v.toString(16)}: native ${JSON.stringify(n)} != wasm ${JSON.stringify(w)}`;
      }
    }
    return null;
  }

  it(`${COUNT} JSON trees`, () => {
    expect(firstDifference((b, l, h) => b.api.decodeJson(l, h))).toBeNull();
  });

  it.each(['native', 'wasm'] as const)(`${COUNT} trees without JSON (%s) are the JSON trees, object for object`, (name) => {
    const b = name === 'native' ? native : wasm;
    let first: string | null = null;
    for (let i = 0; i < COUNT && first === null; i++) {
      const l = lo[i] as number;
      const h = hi[i] as number;
      const v = (BigInt(h) << 32n) | BigInt(l);
      // Key order too: the objects stringify to the core's own JSON.
      const tree = JSON.stringify(decodeTree(v, b));
      if (tree !== b.api.decodeJson(l, h)) first = `value 0x${v.toString(16)}: ${tree} != ${b.api.decodeJson(l, h)}`;
    }
    expect(first).toBeNull();
  });

  it(`${COUNT} summaries`, () => {
    expect(firstDifference((b, l, h) => b.api.summary(l, h))).toBeNull();
  });

  it(`${COUNT} text trees`, () => {
    expect(firstDifference((b, l, h) => b.api.decodeTextTree(l, h))).toBeNull();
  });

  it(`${COUNT} packed classifications, single and batch`, () => {
    expect(firstDifference((b, l, h) => b.api.classify(l, h))).toBeNull();
    const all = new BigUint64Array(COUNT);
    for (let i = 0; i < COUNT; i++) all[i] = (BigInt(hi[i] as number) << 32n) | BigInt(lo[i] as number);
    const n = new Uint32Array(COUNT);
    const w = new Uint32Array(COUNT);
    native.api.classifyBatch(all, n);
    wasm.api.classifyBatch(all, w);
    expect(Buffer.from(w.buffer).equals(Buffer.from(n.buffer))).toBe(true);
    // The batch path agrees with the single-value path.
    for (let i = 0; i < COUNT; i += 997) {
      expect(n[i]).toBe(native.api.classify(lo[i] as number, hi[i] as number));
    }
  });

  it('batch over views that share memory: same words on both builds (values read before out is written)', () => {
    const N = 64;
    const run = (b: Backend, outByteOffset: number): Uint32Array => {
      const buf = new ArrayBuffer(N * 8 + 256);
      const values = new BigUint64Array(buf, 0, N);
      for (let i = 0; i < N; i++) values[i] = (BigInt(hi[i] as number) << 32n) | BigInt(lo[i] as number);
      const out = new Uint32Array(buf, outByteOffset, N);
      b.api.classifyBatch(values, out);
      return Uint32Array.from(out);
    };
    for (const offset of [0, 4, 128, 256]) {
      const n = run(native, offset);
      expect(n).toEqual(run(wasm, offset));
      for (let i = 0; i < N; i++) expect(n[i]).toBe(native.api.classify(lo[i] as number, hi[i] as number));
    }
  });

  it('class names', () => {
    expect(wasm.api.classNames()).toEqual(native.api.classNames());
  });

  it('the sample is not degenerate: it covers every EC and many distinct summaries', () => {
    const ecs = new Set<number>();
    const summaries = new Set<string>();
    for (let i = 0; i < COUNT; i += 7) {
      ecs.add(((lo[i] as number) >>> 26) & 0x3f);
      summaries.add(native.api.summary(lo[i] as number, hi[i] as number));
    }
    expect(ecs.size).toBe(64);
    expect(summaries.size).toBeGreaterThan(1000);
  });
});
