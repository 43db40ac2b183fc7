/**
 * Stage-1 walks over a page-table dump (fixtures/walk/stage1.json, the file the Rust core's
 * crates/decode/tests/walk_fixtures.rs runs too), through both builds: same translations,
 * same error codes and messages.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { loadBackend, type Backend } from '../src/binding';
import { walkStage1, type Stage1Registers } from '../src/decode';
import { isCodedError } from '../src/errors';

interface Case {
  name: string;
  va: string;
  regs?: Partial<Record<keyof Stage1Registers, string>>;
  expect?: { pa: string; level: number | null; pageSize: string; writable: boolean };
  error?: { code: string; message: string };
}

const doc = JSON.parse(readFileSync(join(__dirname, '../../fixtures/walk/stage1.json'), 'utf8')) as {
  dump: { base: string; size: number; words: [string, string, string][] };
  regs: Record<keyof Stage1Registers, string>;
  cases: Case[];
};
const base = BigInt(doc.dump.base);
const bytes = Buffer.alloc(doc.dump.size);
for (const [at, desc] of doc.dump.words) bytes.writeBigUInt64LE(BigInt(desc), Number(BigInt(at) - base));

const backends: Backend[] = [loadBackend({ backend: 'native' }), loadBackend({ backend: 'wasm' })];

describe.each(backends.map((b) => [b.backend, b] as const))('walkStage1 (%s)', (_name, backend) => {
  test('the fixture has its cases', () => expect(doc.cases.length).toBeGreaterThanOrEqual(7));

  test.each(doc.cases.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const regs = { ...doc.regs, ...c.regs };
    const walk = (): ReturnType<typeof walkStage1> => walkStage1(regs, c.va, { base, bytes }, backend);
    if (c.error) {
      let err: unknown;
      try {
        walk();
      } catch (e) {
        err = e;
      }
      expect(isCodedError(err)).toBe(true);
      expect(err).toMatchObject({ code: c.error.code, message: expect.stringContaining(c.error.message) });
      return;
    }
    const t = walk();
    const want = c.expect as NonNullable<Case['expect']>;
    expect({ pa: t.pa, level: t.level, pageSize: t.pageSize, writable: t.writable, va: t.va }).toEqual({
      pa: BigInt(want.pa),
      level: want.level,
      pageSize: BigInt(want.pageSize),
      writable: want.writable,
      va: BigInt(c.va),
    });
  });

  test('fewer than four registers is ERR_WRONG_LENGTH', () => {
    expect(() => backend.api.walkStage1(new BigUint64Array(3), 0, 0, 0, 0, new Uint8Array(8))).toThrow(
      expect.objectContaining({ code: 'ERR_WRONG_LENGTH' }),
    );
  });
});
