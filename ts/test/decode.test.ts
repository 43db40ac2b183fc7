/**
 * Golden decoding through BOTH builds. A backend that fails to load fails
 * every test of its block (beforeAll throws): it is never skipped.
 *
 * fixtures/esr/*.json and fixtures/insn/*.json must exist (a missing or empty
 * folder fails); the five syndromes observed on real KVM/arm64
 * (shared/lab/arm64-kvm) are always run.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadBackend, type Backend } from '../src/binding';
import {
  breakpointBytes,
  classify,
  classifyBatch,
  classNames,
  decodeText,
  decodeTree,
  encodeBreakpoint,
  esrFromKvmDebugExit,
  planInsert,
  planRemove,
  recogniseBreakpoint,
  summary,
  type BreakpointKindName,
  type Field,
} from '../src/decode';

const FIXTURES = path.resolve(__dirname, '..', '..', 'fixtures');

/** JSON files of a fixture folder, each an object or an array of objects. */
function fixtureCases(dir: string): Case[] {
  const d = path.join(FIXTURES, dir);
  const files = fs.readdirSync(d).filter((f) => f.endsWith('.json'));
  if (files.length === 0) throw new Error(`no golden fixtures in ${d}`);
  return files
    .sort()
    .flatMap((f) => {
      const data = JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')) as unknown;
      const items = (Array.isArray(data) ? data : [data]) as Record<string, unknown>[];
      return items.map((c, i): Case => [`${dir}/${f}#${i}`, c]);
    });
}

type Case = [string, Record<string, unknown>];
type Kind = BreakpointKindName;
interface BreakpointFixture {
  vectors?: { kind: Kind; imm: number; word: string; le: string }[];
  out_of_range?: { kind: Kind; imm: number; code: string }[];
  not_this_kind?: { kind: Kind; word: string; why: string }[];
}
interface PatchCase {
  name: string;
  kind: Kind;
  addr: string;
  current: string;
  saved?: string;
  write?: string | null;
  code?: string;
}
interface PatchFixture {
  insert?: PatchCase[];
  remove?: PatchCase[];
}

/** fixtures/insn/<file>; a missing file throws (fails the suite). */
function insnFixture<T>(file: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, 'insn', file), 'utf8')) as T;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

function bytes(h: string): Uint8Array {
  return Uint8Array.from(Buffer.from(h, 'hex'));
}

function find(f: Field, name: string): Field | undefined {
  if (f.name === name) return f;
  for (const s of f.fields) {
    const hit = find(s, name);
    if (hit) return hit;
  }
  return undefined;
}

/** The five syndromes seen on real KVM/arm64, with what the Arm ARM says they are. */
const KVM_OBSERVED: { esr: bigint; ec: string; summary: RegExp }[] = [
  // EC 0x3c BRK instruction execution in AArch64 state; ISS.Comment = imm16.
  { esr: 0xf2000000n, ec: '0x3c', summary: /^EC 0x3c BRK64.*comment 0x0\b/ },
  { esr: 0xf2000123n, ec: '0x3c', summary: /^EC 0x3c BRK64.*comment 0x123\b/ },
  // EC 0x32 Software Step exception from a lower EL; ISV=1 (0xcb) or 0 (0xca).
  { esr: 0xcb000022n, ec: '0x32', summary: /^EC 0x32\b/ },
  { esr: 0xca000022n, ec: '0x32', summary: /^EC 0x32\b/ },
  // EC 0x30 Breakpoint exception from a lower EL (hardware breakpoint).
  { esr: 0xc2000022n, ec: '0x30', summary: /^EC 0x30\b/ },
];

describe.each(['native', 'wasm'] as const)('%s backend', (name) => {
  let b: Backend;
  beforeAll(() => {
    b = loadBackend({ backend: name });
  });

  it('is the backend asked for', () => {
    expect(b.backend).toBe(name);
  });

  describe('ESR_ELx syndromes observed on real KVM/arm64', () => {
    it.each(KVM_OBSERVED.map((k) => [`0x${k.esr.toString(16)}`, k] as const))('%s', (_hex, { esr, ec, summary: want }) => {
      const tree = decodeTree(esr, b);
      expect(tree.value).toBe(`0x${esr.toString(16)}`);
      expect(find(tree, 'EC')?.value).toBe(ec);
      expect(summary(esr, b)).toMatch(want);
      const text = decodeText(esr, b);
      expect(text.split('\n')[0]).toMatch(/^\S/);
      expect(text).toMatch(/\n {2}EC \[31:26\] 0x/);
    });

    it('number, bigint and string inputs decode alike', () => {
      expect(decodeTree(0xf2000123, b)).toEqual(decodeTree(0xf2000123n, b));
      expect(decodeTree('0xf2000123', b)).toEqual(decodeTree(0xf2000123n, b));
    });
  });

  describe('golden fixtures/esr', () => {
    const cases = fixtureCases('esr');
    it.each(cases)('%s', (_file, c) => {
      const raw = c.esr ?? c.value;
      expect(typeof raw).toBe('string');
      const esr = BigInt(raw as string);
      let asserted = 0;
      if (c.tree !== undefined) {
        expect(decodeTree(esr, b)).toEqual(c.tree);
        asserted++;
      }
      if (typeof c.summary === 'string') {
        expect(summary(esr, b)).toBe(c.summary);
        asserted++;
      }
      if (typeof c.text === 'string') {
        expect(decodeText(esr, b)).toBe(c.text);
        asserted++;
      }
      expect(asserted).toBeGreaterThan(0);
    });
  });

  describe('KVM debug exit pair', () => {
    it('joins hsr_high only when flagged valid', () => {
      expect(esrFromKvmDebugExit(0xf2000123, 0x12, true, b)).toBe(0x12_f200_0123n);
      expect(esrFromKvmDebugExit(0xf2000123, 0x12, false, b)).toBe(0xf200_0123n);
    });
  });

  describe('classification', () => {
    it('BRK #0x123 is a BRK64 debug event with its comment', () => {
      const c = classify(0xf2000123n, b);
      expect(c).toMatchObject({ ec: 0x3c, className: 'BRK64', il: true, debug: 'brk64', imm16: 0x123, wpt: null });
    });

    it('the KVM software-step syndromes carry ISV and EX', () => {
      // 0xcb000022: ISS[24] ISV=1, ISS[6] EX=0; 0xca000022: ISV=0.
      expect(classify(0xcb000022n, b)).toMatchObject({ ec: 0x32, debug: 'softwareStep', iss24: true, ex: false });
      expect(classify(0xca000022n, b)).toMatchObject({ ec: 0x32, debug: 'softwareStep', iss24: false });
      expect(classify(0xc2000022n, b)).toMatchObject({ ec: 0x30, debug: 'hwBreakpoint' });
    });

    it('a watchpoint with WnR set (EC 0x34, ISS[6])', () => {
      expect(classify(0xd2000040n, b)).toMatchObject({ ec: 0x34, debug: 'watchpoint', wnr: true, imm16: null });
    });

    it('an SVC is not a debug event; imm16 is its immediate', () => {
      expect(classify(0x56000042n, b)).toMatchObject({ ec: 0x15, debug: 'none', imm16: 0x42 });
    });

    it('batch classification equals the single-value path', () => {
      const values = BigUint64Array.from([...KVM_OBSERVED.map((k) => k.esr), 0xd2000040n, 0xffff_ffff_ffff_ffffn]);
      const packed = classifyBatch(values, b);
      expect(packed).toHaveLength(values.length);
      values.forEach((v, i) => expect(packed[i]).toBe(classify(v, b).packed));
    });

    it('has a class name for every EC', () => {
      expect(classNames(b)).toHaveLength(64);
    });
  });

  describe('breakpoint codec', () => {
    // Arm ARM C6.2 BRK/HLT: 0xd4200000 / 0xd4400000 | imm16 << 5;
    // F5.1 BKPT A1: 0xe1200070 | imm12 << 8 | imm4; T1: 0xbe00 | imm8.
    it.each([
      ['brk64', 0, 0xd4200000],
      ['brk64', 0x123, 0xd4202460],
      ['brk64', 0xffff, 0xd43fffe0],
      ['hlt64', 0xf000, 0xd45e0000],
      ['bkpt32', 0x1234, 0xe1212374],
      ['bkpt16', 0xab, 0xbeab],
    ] as const)('%s #%i encodes to %i', (kind, imm, word) => {
      expect(encodeBreakpoint(kind, imm, b) >>> 0).toBe(word);
      expect(recogniseBreakpoint(kind, word, b)).toBe(imm);
      const bytes = breakpointBytes(kind, imm, b);
      const le = kind === 'bkpt16' ? [word & 0xff, word >>> 8] : [0, 8, 16, 24].map((s) => (word >>> s) & 0xff);
      expect(Array.from(bytes)).toEqual(le);
    });

    it('does not recognise other instructions', () => {
      expect(recogniseBreakpoint('brk64', 0xd503201f, b)).toBeNull(); // NOP
      expect(recogniseBreakpoint('hlt64', 0xd4200000, b)).toBeNull();
    });

    it('plans an insert and its remove', () => {
      const nop = Uint8Array.of(0x1f, 0x20, 0x03, 0xd5);
      const ins = planInsert('brk64', 0x4000_0000n, nop, b);
      expect(Array.from(ins.saved)).toEqual(Array.from(nop));
      expect(Array.from(ins.patch)).toEqual([0x00, 0x00, 0x20, 0xd4]);
      const rm = planRemove('brk64', 0x4000_0000n, ins.saved, ins.patch, b);
      expect(Array.from(rm.restore ?? [])).toEqual(Array.from(nop));
      expect(planRemove('brk64', 0x4000_0000n, ins.saved, nop, b).restore).toBeNull();
    });
  });

  describe('golden fixtures/insn', () => {
    const bp = insnFixture<BreakpointFixture>('breakpoints.json');
    const plans = insnFixture<PatchFixture>('patch-plans.json');

    it.each(bp.vectors ?? [])('$kind #$imm = $word', ({ kind, imm, word, le }) => {
      expect(encodeBreakpoint(kind, imm, b) >>> 0).toBe(Number(word));
      expect(recogniseBreakpoint(kind, Number(word), b)).toBe(imm);
      expect(hex(breakpointBytes(kind, imm, b))).toBe(le);
    });

    it.each(bp.out_of_range ?? [])('$kind #$imm is refused with $code', ({ kind, imm, code }) => {
      expect(() => encodeBreakpoint(kind, imm, b)).toThrow(expect.objectContaining({ code }) as Error);
    });

    it.each(bp.not_this_kind ?? [])('$kind does not recognise $word ($why)', ({ kind, word }) => {
      expect(recogniseBreakpoint(kind, Number(word), b)).toBeNull();
    });

    it.each(plans.insert ?? [])('insert: $name', ({ kind, addr, current, saved, write, code }) => {
      const plan = () => planInsert(kind, addr, bytes(current), b);
      if (code !== undefined) {
        expect(plan).toThrow(expect.objectContaining({ code }) as Error);
      } else {
        const p = plan();
        expect(hex(p.saved)).toBe(saved);
        expect(hex(p.patch)).toBe(write);
      }
    });

    it.each(plans.remove ?? [])('remove: $name', ({ kind, addr, current, saved, write, code }) => {
      const plan = () => planRemove(kind, addr, bytes(saved ?? ''), bytes(current), b);
      if (code !== undefined) {
        expect(plan).toThrow(expect.objectContaining({ code }) as Error);
      } else {
        const r = plan().restore;
        expect(r === null ? null : hex(r)).toBe(write ?? null);
      }
    });

    it('the fixture files exist and hold cases', () => {
      expect((bp.vectors ?? []).length).toBeGreaterThan(0);
      expect((plans.insert ?? []).length + (plans.remove ?? []).length).toBeGreaterThan(0);
    });
  });
});
