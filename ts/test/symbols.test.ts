/**
 * `kvm-debug symbols`: kernel symbols recovered from an arm64 Image's own kallsyms, on both
 * backends. The Image here is synthetic, laid out as Linux 6.1's scripts/kallsyms.c writes
 * the tables (built independently of the Rust unit test's builder); the real Debian Image is
 * checked against the running kernel's /proc/kallsyms in the arm64 lane (linux part).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadBackend } from '../src/binding';
import { recoverKernelSymbols } from '../src/decode';
import { runSymbols } from '../src/cli/symbols';
import type { CliIo } from '../src/cli/command';

const R_AARCH64_RELATIVE = 1027n;
const SYMS: [bigint, string, string][] = [
  [0xffff_8000_0801_0000n, 'T', '_stext'],
  [0xffff_8000_0801_0800n, 'T', 'vectors'],
  [0xffff_8000_0839_dd90n, 't', 'do_sys_openat2'],
  [0xffff_8000_0939_09f4n, 'T', 'start_kernel'],
];

/** Offsets, base (0, relocated), num, names (one token per byte), markers, token table + index, .rela.dyn. */
function syntheticImage(): Buffer {
  const parts: number[] = new Array(0x80).fill(0xcc);
  const u32 = (v: number): void => void parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: bigint): void => {
    for (let i = 0n; i < 8n; i++) parts.push(Number((v >> (8n * i)) & 0xffn));
  };
  const pad = (): void => {
    while (parts.length % 8) parts.push(0);
  };
  const base = SYMS[0]?.[0] as bigint;
  for (const [a] of SYMS) u32(Number(a - base));
  pad();
  const baseAt = parts.length;
  u64(0n);
  u32(SYMS.length);
  pad();
  const namesAt = parts.length;
  for (const [, kind, name] of SYMS) {
    const text = Buffer.from(kind + name);
    parts.push(text.length, ...text);
  }
  pad();
  u32(0); // one marker: the first name at offset 0
  pad();
  const tt = parts.length;
  const index: number[] = [];
  for (let i = 0; i < 256; i++) {
    index.push(parts.length - tt);
    if (i >= 0x20 && i < 0x7f) parts.push(i);
    parts.push(0);
  }
  pad();
  for (const i of index) parts.push(i & 0xff, i >> 8);
  pad();
  const link = 0xffff_8000_0800_0000n;
  for (const [off, add] of [
    [link + 8n, link],
    [link + BigInt(baseAt), base],
  ] as const) {
    u64(off);
    u64(R_AARCH64_RELATIVE);
    u64(add);
  }
  void namesAt;
  return Buffer.from(parts);
}

function io(): { io: CliIo; out: () => string; err: () => string } {
  const o: string[] = [];
  const e: string[] = [];
  const w = (a: string[]): NodeJS.WritableStream => ({ write: (s: string) => a.push(String(s)) }) as unknown as NodeJS.WritableStream;
  return { io: { stdin: process.stdin, stdout: w(o), stderr: w(e) }, out: () => o.join(''), err: () => e.join('') };
}

describe('kernel symbols from an Image', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-debug-sym-'));
  const image = path.join(tmp, 'Image');
  fs.writeFileSync(image, syntheticImage());

  test.each(['native', 'wasm'] as const)('%s: the symbols and their link addresses come back', (b) => {
    const r = recoverKernelSymbols(syntheticImage(), loadBackend({ backend: b }));
    expect(r.symbols).toEqual(SYMS.map(([addr, kind, name]) => ({ addr, kind, name })));
    expect(Buffer.from(r.elf.subarray(0, 4))).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  });

  test('both backends write the same symbol file', () => {
    const n = recoverKernelSymbols(syntheticImage(), loadBackend({ backend: 'native' })).elf;
    const w = recoverKernelSymbols(syntheticImage(), loadBackend({ backend: 'wasm' })).elf;
    expect(Buffer.from(n).equals(Buffer.from(w))).toBe(true);
  });

  test('the CLI writes FILE, prints nm text, and says how to load it', async () => {
    const t = io();
    const out = path.join(tmp, 'k.sym');
    expect(await runSymbols([image, '-o', out, '--nm'], t.io)).toBe(0);
    expect(t.out()).toContain('ffff80000839dd90 t do_sys_openat2\n');
    expect(t.err()).toBe(`kvm-debug symbols: 4 symbols from the kernel's own kallsyms (lowest 0xffff800008010000), written to ${out}; in gdb: symbol-file ${out}\n`);
    expect(fs.readFileSync(out).subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  });

  test('a file without kallsyms: exit 2 with why; a vmlinux is used as it is', async () => {
    const t = io();
    const junk = path.join(tmp, 'junk');
    fs.writeFileSync(junk, Buffer.alloc(4096, 0x41));
    expect(await runSymbols([junk], t.io)).toBe(2);
    expect(t.err()).toMatch(/no kernel symbols recovered: no kallsyms token table .*CONFIG_KALLSYMS/);
    const elf = path.join(tmp, 'vmlinux');
    fs.writeFileSync(elf, Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46]), Buffer.alloc(60)]));
    const u = io();
    expect(await runSymbols([elf, '-o', path.join(tmp, 'v.sym')], u.io)).toBe(0);
    expect(u.err()).toContain('is an ELF (a vmlinux): copied as the symbol file');
    expect(await runSymbols([], io().io)).toBe(2);
  });
});
