/** Both builds map the core's errors to a JS Error with the same .code and .message. */
import { loadBackend, type Backend, type DecodeApi } from '../src/binding';
import { halves, parseValue, toU64, type Value } from '../src/decode';
import { isError } from '../src/errors';

const cases: [string, string, (api: DecodeApi) => unknown][] = [
  ['unknown kind', 'ERR_UNKNOWN_KIND', (a) => a.encodeBreakpoint('brk128', 0)],
  ['immediate too wide for A64', 'ERR_IMMEDIATE_RANGE', (a) => a.encodeBreakpoint('brk64', 0x1_0000)],
  ['immediate too wide for T32', 'ERR_IMMEDIATE_RANGE', (a) => a.breakpointBytes('bkpt16', 0x100)],
  ['misaligned A64 insert', 'ERR_MISALIGNED', (a) => a.planInsert('brk64', 0x1002, 0, new Uint8Array(4))],
  ['misaligned T32 insert', 'ERR_MISALIGNED', (a) => a.planInsert('bkpt16', 0x1001, 0, new Uint8Array(2))],
  ['wrong length', 'ERR_WRONG_LENGTH', (a) => a.planInsert('brk64', 0x1000, 0, new Uint8Array(3))],
  [
    'insert over our own BRK',
    'ERR_ALREADY_PATCHED',
    (a) => a.planInsert('brk64', 0x1000, 0, Uint8Array.of(0x00, 0x00, 0x20, 0xd4)),
  ],
  [
    'remove after the guest rewrote our BRK',
    'ERR_PATCH_CONFLICT',
    (a) => a.planRemove('brk64', 0x1000, 0x8, Uint8Array.of(1, 2, 3, 4), Uint8Array.of(0x1f, 0x20, 0x03, 0xd5)),
  ],
  ['batch output too short', 'ERR_WRONG_LENGTH', (a) => a.classifyBatch(new BigUint64Array(4), new Uint32Array(3))],
];

function thrown(f: () => unknown): { code: unknown; message: string; isError: boolean } {
  try {
    f();
  } catch (e) {
    return { code: (e as { code?: unknown }).code, message: (e as Error).message, isError: isError(e) };
  }
  throw new Error('expected the call to throw');
}

describe('error parity', () => {
  let native: Backend;
  let wasm: Backend;
  beforeAll(() => {
    native = loadBackend({ backend: 'native' });
    wasm = loadBackend({ backend: 'wasm' });
  });

  it.each(cases)('%s: %s, identical on both builds', (_what, code, call) => {
    const n = thrown(() => call(native.api));
    const w = thrown(() => call(wasm.api));
    expect(n.isError).toBe(true);
    expect(w.isError).toBe(true);
    expect(n.code).toBe(code);
    expect(w).toEqual(n);
  });

  // classify is a raw Node-API callback on native (crates/node/src/fast.rs) and
  // wasm-bindgen glue on wasm: both must convert any argument as JS ToNumber +
  // ToUint32 does, and throw the same error where that conversion throws.
  const conversions: [string, unknown, unknown][] = [
    ['u32 halves', 0xf2000123, 0x1],
    ['the largest u32s', 0xffff_ffff, 0xffff_ffff],
    ['-1 (ToUint32: 0xffffffff)', -1, 0],
    ['2^32 + 5 (ToUint32: 5)', 2 ** 32 + 5, 2 ** 32 + 1],
    ['a fraction', 0x4000_0001 + 0.7, 0],
    ['NaN and Infinity', NaN, Infinity],
    ['numeric strings', '0xf2000000', '7'],
    ['undefined and null', undefined, null],
    ['booleans', true, false],
    ['an object with valueOf', { valueOf: () => 0xca00_0022 }, 0],
    ['a bigint', 0xf2000123n, 0],
    ['a symbol', 1, Symbol('hi')],
    ['a throwing valueOf', { valueOf: (): number => { throw new RangeError('valueOf refused'); } }, 0],
  ];

  it.each(conversions)('raw classify(%s): same result or same error on both builds', (_what, lo, hi) => {
    const call = (api: DecodeApi): unknown => (api.classify as (l: unknown, h: unknown) => number)(lo, hi);
    const outcome = (api: DecodeApi): unknown => {
      try {
        return { value: call(api) };
      } catch (e) {
        return { type: (e as Error).constructor.name, message: (e as Error).message, code: (e as { code?: unknown }).code };
      }
    };
    expect(outcome(native.api)).toEqual(outcome(wasm.api));
  });

  it('raw classify with missing arguments treats them as undefined on both builds', () => {
    const none = (api: DecodeApi): number => (api.classify as () => number)();
    expect(none(native.api)).toBe(none(wasm.api));
    expect(none(native.api)).toBe(native.api.classify(0, 0));
  });

  // decodeTreePacked is a raw Node-API callback too: its halves convert as
  // classify's, and an `out` that is not a Uint32Array is a TypeError.
  it.each(conversions)('raw decodeTreePacked(%s) converts its halves as the wasm build does', (_what, lo, hi) => {
    const packed = native.api.decodeTreePacked as (l: unknown, h: unknown, out: Uint32Array) => number;
    const outcome = (f: () => string): unknown => {
      try {
        return { value: f() };
      } catch (e) {
        return { type: (e as Error).constructor.name, message: (e as Error).message };
      }
    };
    const out = new Uint32Array(512);
    // The root node's value words (header 3 words, then name, bits, lo, hi).
    const n = outcome(() => (packed(lo, hi, out), `0x${((BigInt(out[6] as number) << 32n) | BigInt(out[5] as number)).toString(16)}`));
    const w = outcome(() => (JSON.parse((wasm.api.decodeJson as (l: unknown, h: unknown) => string)(lo, hi)) as { value: string }).value);
    expect(n).toEqual(w);
  });

  it.each([
    ['a Uint8Array', new Uint8Array(64)],
    ['an Int32Array', new Int32Array(64)],
    ['a plain array', [0, 0, 0]],
    ['undefined', undefined],
  ])('raw decodeTreePacked with out = %s throws a TypeError naming out', (_what, out) => {
    const packed = native.api.decodeTreePacked as (l: number, h: number, out: unknown) => number;
    let err: unknown;
    try {
      packed(0x96000045, 0, out);
    } catch (e) {
      err = e;
    }
    // Node's own TypeError (another realm than jest's, so compared by name).
    expect([(err as Error).constructor.name, (err as Error).message]).toEqual(['TypeError', 'decodeTreePacked: out must be a Uint32Array']);
  });

  it('raw decodeTreePacked with a short out writes nothing and says how much it needs', () => {
    const packed = native.api.decodeTreePacked as (l: number, h: number, out: Uint32Array) => number;
    const short = new Uint32Array(4).fill(7);
    const need = packed(0x96000045, 0, short);
    expect(need).toBeGreaterThan(4);
    expect(Array.from(short)).toEqual([7, 7, 7, 7]);
    const out = new Uint32Array(need);
    expect(packed(0x96000045, 0, out)).toBe(need);
    expect(out[2]).toBe((need - 3) / 6); // the header's node count (crates/decode/src/packed.rs)
  });

  it('the conflict names the address, our instruction and what was found', () => {
    const n = thrown(() =>
      native.api.planRemove('brk64', 0x1000, 0x8, Uint8Array.of(1, 2, 3, 4), Uint8Array.of(0x1f, 0x20, 0x03, 0xd5)),
    );
    expect(n.message).toContain('0x800001000');
    expect(n.message).toContain('0xd4200000');
    expect(n.message).toContain('0xd503201f');
  });
});

describe('value parsing (host side, same code and wording as the core)', () => {
  it.each([
    ['0xzz', /bad value "0xzz": not a number/],
    ['0x1ffffffffffffffff', /bad value "0x1ffffffffffffffff": more than 64 bits/],
    ['18446744073709551616', /more than 64 bits/],
    ['', /not a number/],
    ['-1', /not a number/],
    ['0b2', /not a number/],
    ['1e3', /not a number/],
  ])('rejects %j', (text, message) => {
    expect(() => parseValue(text)).toThrow(message);
    expect(() => parseValue(text)).toThrow(expect.objectContaining({ code: 'ERR_BAD_VALUE' }) as Error);
  });

  it.each([
    ['0xf2000123', 0xf2000123n],
    ['0XFFFFFFFFFFFFFFFF', 0xffff_ffff_ffff_ffffn],
    ['18446744073709551615', 0xffff_ffff_ffff_ffffn],
    ['0b101', 5n],
    [' 42\n', 42n],
  ])('accepts %j', (text, value) => {
    expect(parseValue(text)).toBe(value);
  });

  it('rejects numbers that are not exact u64s', () => {
    expect(() => toU64(-1)).toThrow(expect.objectContaining({ code: 'ERR_BAD_VALUE' }) as Error);
    expect(() => toU64(2 ** 53)).toThrow(/safe integer/);
    expect(() => toU64(1n << 64n)).toThrow(/bad value "0x10000000000000000"/);
  });
});

describe('halves() (the fast path of every single-value call)', () => {
  /** The plain BigInt split halves() must agree with. */
  const reference = (v: bigint): [number, number] => [Number(v & 0xffff_ffffn), Number(v >> 32n)];

  it.each([
    ['0', 0n, [0, 0]],
    ['2^32-1', 2n ** 32n - 1n, [0xffff_ffff, 0]],
    ['2^32', 2n ** 32n, [0, 1]],
    ['2^32+1', 2n ** 32n + 1n, [1, 1]],
    ['2^53-1', 2n ** 53n - 1n, [0xffff_ffff, 0x1f_ffff]],
    ['2^64-1', 2n ** 64n - 1n, [0xffff_ffff, 0xffff_ffff]],
  ] as [string, bigint, [number, number]][])('%s as bigint, hex text and (when safe) number', (_what, v, want) => {
    expect(reference(v)).toEqual(want);
    const inputs: Value[] = [v, `0x${v.toString(16)}`, v.toString()];
    if (v <= BigInt(Number.MAX_SAFE_INTEGER)) inputs.push(Number(v));
    for (const input of inputs) {
      const got = halves(input);
      expect(got).toEqual(want);
      expect(got.every((h) => Number.isInteger(h) && h >= 0 && h <= 0xffff_ffff && !Object.is(h, -0))).toBe(true);
    }
  });

  it('-0 is 0', () => {
    const [lo, hi] = halves(-0);
    expect(Object.is(lo, 0)).toBe(true);
    expect(hi).toBe(0);
  });

  it.each([
    ['2^64 as bigint', 2n ** 64n, 'ERR_BAD_VALUE', /bad value "0x10000000000000000": outside 0\.\.2\^64-1/],
    ['2^64 as text', '0x10000000000000000', 'ERR_BAD_VALUE', /more than 64 bits/],
    ['2^64-1 as a number (not exact)', 2 ** 64 - 1, 'ERR_BAD_VALUE', /bad value "18446744073709552000": not a non-negative safe integer/],
    ['2^53 as a number', 2 ** 53, 'ERR_BAD_VALUE', /bad value "9007199254740992": not a non-negative safe integer/],
    ['-1 as a number', -1, 'ERR_BAD_VALUE', /bad value "-1": not a non-negative safe integer/],
    ['-1 as bigint', -1n, 'ERR_BAD_VALUE', /bad value "0x-1": outside 0\.\.2\^64-1/],
    ['-(2^40) as bigint', -(2n ** 40n), 'ERR_BAD_VALUE', /outside 0\.\.2\^64-1/],
    ['-1 as text', '-1', 'ERR_BAD_VALUE', /bad value "-1": not a number/],
    ['a fraction', 1.5, 'ERR_BAD_VALUE', /bad value "1.5"/],
    ['2^32 + 0.5', 2 ** 32 + 0.5, 'ERR_BAD_VALUE', /bad value "4294967296.5"/],
    ['NaN', NaN, 'ERR_BAD_VALUE', /bad value "NaN"/],
    ['Infinity', Infinity, 'ERR_BAD_VALUE', /bad value "Infinity"/],
    ['null', null, 'ERR_BAD_ARGUMENT', /expected bigint, number or string, got object/],
  ] as [string, unknown, string, RegExp][])('refuses %s with the same error as toU64', (_what, v, code, message) => {
    expect(() => halves(v as Value)).toThrow(message);
    expect(() => halves(v as Value)).toThrow(expect.objectContaining({ code }) as Error);
    let viaToU64: unknown;
    try {
      toU64(v as Value);
    } catch (e) {
      viaToU64 = e;
    }
    expect(viaToU64).toBeDefined();
    expect(() => halves(v as Value)).toThrow((viaToU64 as Error).message);
  });

  it('agrees with the BigInt split on random values of every width', () => {
    let x = 0x9e37_79b9_7f4a_7c15n; // splitmix64 state, fixed seed
    for (let i = 0; i < 4096; i++) {
      x = (x + 0x9e37_79b9_7f4a_7c15n) & 0xffff_ffff_ffff_ffffn;
      let z = x;
      z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & 0xffff_ffff_ffff_ffffn;
      z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & 0xffff_ffff_ffff_ffffn;
      z ^= z >> 31n;
      const v = z >> BigInt(i % 64); // widths 64 down to 1 bit
      expect(halves(v)).toEqual(reference(v));
      if (v <= BigInt(Number.MAX_SAFE_INTEGER)) expect(halves(Number(v))).toEqual(reference(v));
    }
  });
});
