import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  AARCH64_REGISTERS,
  FEATURE_CORE,
  FEATURE_FPU,
  FEATURE_SYS,
  G_PACKET_BYTES,
  REG_CPSR,
  REG_FPCR,
  REG_FPSR,
  REG_PC,
  REG_SP,
  REG_SYS0,
  REG_V0,
  SYSTEM_REGISTERS,
  TARGET_XML,
  decodeRegister,
  encodeRegister,
  registerByName,
} from '../../src/gdb/aarch64';
import { loadNative } from '../../src/binding';
import type { ServerContext } from '../../src/gdb/commands/common';
import { TARGET_XML_FRAMES_MAX, TARGET_XML_WIRE, targetXmlWindow, xferWindow } from '../../src/gdb/commands/query';
import { DEFAULT_MAX_PACKET, encodePacket } from '../../src/gdb/packet';
import { MemClient } from './client';
import { FakeTarget } from './fake-target';

const GDB = '/usr/bin/gdb-multiarch';

/** Minimal well-formedness check: every tag closes in order, attributes are quoted. */
function checkWellFormed(xml: string): string[] {
  const stack: string[] = [];
  const body = xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!DOCTYPE[^>]*>/, '');
  for (const m of body.matchAll(/<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:-]+="[^"<>]*")*)\s*(\/?)>|<[^>]*>/g)) {
    if (m[2] === undefined) throw new Error(`malformed tag ${m[0]}`);
    if (m[1] === '/') {
      const open = stack.pop();
      if (open !== m[2]) throw new Error(`</${m[2]}> closes <${open ?? 'nothing'}>`);
    } else if (m[4] !== '/') {
      stack.push(m[2]);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed ${stack.join(',')}`);
  return [...body.matchAll(/<reg ([^>]*)\/>/g)].map((m) => m[1] ?? '');
}

describe('target.xml', () => {
  test('goes on the wire compact, in two of gdb 13\'s 4 KiB windows, and says the same', () => {
    const c = new MemClient(new FakeTarget());
    const first = c.req('qXfer:features:read:target.xml:0,1000');
    const second = c.req('qXfer:features:read:target.xml:1000,1000');
    expect([first[0], second[0]]).toEqual(['m', 'l']);
    const wire = first.slice(1) + second.slice(1);
    expect(wire).toBe(TARGET_XML_WIRE.toString('utf8'));
    expect(wire.length).toBeLessThanOrEqual(0x2000);
    expect(checkWellFormed(wire)).toEqual(checkWellFormed(TARGET_XML));
  });

  test('each window is framed once and then served as the same bytes; past the cap, windows are framed anew and still right', () => {
    const ctx = { maxPacket: DEFAULT_MAX_PACKET } as ServerContext;
    const frameOf = (text: string): Buffer => {
      const r = targetXmlWindow(text, ctx);
      if (r.kind !== 'frame') throw new Error(`not a frame: ${r.kind}`);
      return r.frame;
    };
    const expected = (text: string): Buffer => {
      const r = xferWindow(TARGET_XML_WIRE, text, ctx);
      if (r.kind !== 'reply') throw new Error(`not a reply: ${r.kind}`);
      return encodePacket(r.data);
    };
    const first = frameOf('0,1000');
    expect(first).toEqual(expected('0,1000'));
    expect(frameOf('0,1000')).toBe(first); // the same Buffer: framed once
    expect(frameOf('00,01000')).toBe(first); // the same window, spelled otherwise
    // A client asking for many windows fills the cache; the rest are framed each time, correctly.
    const texts = Array.from({ length: TARGET_XML_FRAMES_MAX + 8 }, (_, i) => `${(i * 0x31).toString(16)},${(0x80 + i).toString(16)}`);
    for (const t of texts) expect(frameOf(t)).toEqual(expected(t));
    const last = texts[texts.length - 1] as string;
    expect(frameOf(last)).not.toBe(frameOf(last));
    expect(targetXmlWindow('zz,10', ctx)).toEqual({ kind: 'reply', data: 'E16' });
  });

  test('is well-formed, one root, and every reg has name, bitsize, type and regnum', () => {
    const regs = checkWellFormed(TARGET_XML);
    expect(TARGET_XML.match(/<target /g)).toHaveLength(1);
    expect(TARGET_XML).toContain('<architecture>aarch64</architecture>');
    expect(regs).toHaveLength(AARCH64_REGISTERS.length);
    for (const r of regs) expect(r).toMatch(/^name="[^"]+" bitsize="\d+" type="[^"]+" regnum="\d+"/);
    expect(checkWellFormed.bind(null, '<a><b></a></b>')).toThrow(/closes/);
  });

  test('regnums are 0..n-1 in document order, matching the table the g packet uses', () => {
    const fromXml = [...TARGET_XML.matchAll(/<reg name="([^"]+)" bitsize="(\d+)" type="[^"]+" regnum="(\d+)"/g)].map((m) => ({
      name: m[1],
      bitsize: Number(m[2]),
      regnum: Number(m[3]),
    }));
    expect(fromXml.map((r) => r.regnum)).toEqual(AARCH64_REGISTERS.map((_, i) => i));
    expect(fromXml).toEqual(AARCH64_REGISTERS.map((r) => ({ name: r.name, bitsize: r.bitsize, regnum: r.regnum })));
    expect([REG_SP, REG_PC, REG_CPSR, REG_V0, REG_FPSR, REG_FPCR, REG_SYS0]).toEqual([31, 32, 33, 34, 66, 67, 68]);
    expect(G_PACKET_BYTES).toBe(31 * 8 + 8 + 8 + 4 + 32 * 16 + 4 + 4 + 13 * 8);
  });

  test('features: gdb core and fpu names, and one extra system-register feature', () => {
    const features = [...TARGET_XML.matchAll(/<feature name="([^"]+)">/g)].map((m) => m[1]);
    expect(features).toEqual([FEATURE_CORE, FEATURE_FPU, FEATURE_SYS]);
    expect(AARCH64_REGISTERS.filter((r) => r.feature === FEATURE_SYS).map((r) => r.name)).toEqual([...SYSTEM_REGISTERS]);
    expect(AARCH64_REGISTERS.find((r) => r.name === 'v31')).toMatchObject({ bitsize: 128, type: 'aarch64v' });
    expect(TARGET_XML).toMatch(/<union id="aarch64v">.*<field name="q" type="vnq"\/><\/union>/);
  });

  test('gdb-multiarch accepts it and numbers the registers as we do', () => {
    // scripts/setup.sh installs it, so a missing client is a set-up bug, not a skip.
    if (!existsSync(GDB)) throw new Error(`${GDB} is not installed: run scripts/setup.sh (apt-get install gdb-multiarch)`);
    const dir = mkdtempSync(join(tmpdir(), 'kvm-debug-tdesc-'));
    try {
      const file = join(dir, 'target.xml');
      writeFileSync(file, TARGET_XML);
      const out = execFileSync(GDB, ['-nx', '-batch', '-ex', `set tdesc filename ${file}`, '-ex', 'maint print registers'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      // Lines: " Name Nr Rel Offset Size Type"
      const rows = new Map<string, { nr: number; size: number }>();
      for (const line of out.split('\n')) {
        const m = /^ (\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(line);
        if (m && m[1]) rows.set(m[1], { nr: Number(m[2]), size: Number(m[5]) });
      }
      for (const r of AARCH64_REGISTERS) {
        expect([r.name, rows.get(r.name)]).toEqual([r.name, { nr: r.regnum, size: r.bitsize / 8 }]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('register values', () => {
  test('encode little-endian at the register size, and back', () => {
    const pc = registerByName('pc');
    const cpsr = registerByName('cpsr');
    const v0 = registerByName('v0');
    if (!pc || !cpsr || !v0) throw new Error('missing registers');
    expect(encodeRegister(pc, 0x0102030405060708n).toString('hex')).toBe('0807060504030201');
    expect(encodeRegister(cpsr, 0x1_0000_03c5n).toString('hex')).toBe('c5030000'); // 32 bits kept
    const q = (1n << 127n) | 0xabn;
    expect(encodeRegister(v0, q)).toHaveLength(16);
    expect(decodeRegister(encodeRegister(v0, q))).toBe(q);
  });

  test('every register maps to a name the native addon accepts', () => {
    // The native addon is built by the test command (parity.test.ts needs it too): not loading it fails.
    const native = loadNative() as { kvmRegisterNames?: () => string[] };
    expect(typeof native.kvmRegisterNames).toBe('function');
    const names = native.kvmRegisterNames?.() ?? [];
    expect(AARCH64_REGISTERS.map((r) => r.kvmName).sort()).toEqual([...names].sort());
  });
});
