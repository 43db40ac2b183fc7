/** Both builds map the core's errors to a JS Error with the same .code and .message. */
import { loadBackend, type Backend, type DecodeApi } from '../src/binding';
import { parseValue, toU64 } from '../src/decode';
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
