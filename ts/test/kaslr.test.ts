/**
 * The KASLR slide (ts/src/kaslr.ts): where it is read (the decode core's anchor, both
 * backends, on a synthetic Image), whether there can be one, and reading it as the kernel
 * relocates itself. The real Image's anchor is checked in the arm64 lane, where a kernel
 * booted with --kaslr-seed is compared with its own /proc/kallsyms.
 */
import { loadBackend } from '../src/binding';
import { kaslrAnchor } from '../src/decode';
import { KernelSlide, kaslrSeedSource, slideAdvice } from '../src/kaslr';
import { errorCode } from '../src/errors';

const LINK = 0xffff_8000_0800_0000n;
const R_AARCH64_RELATIVE = 1027n;

/** Code, the quad (0: relocatable), an exported "kimage_vaddr" (ksymtab PREL32), .rela.dyn. */
function syntheticImage(withRela = true): { image: Buffer; at: number } {
  const d = Buffer.alloc(0x1400, 0xcc);
  const at = 0x808;
  d.writeBigUInt64LE(0n, at);
  const name = 0x1000;
  d.write('kimage_vaddr\0', name, 'latin1');
  const e = 0x1100; // struct kernel_symbol { value_offset, name_offset, namespace_offset }
  d.writeInt32LE(at - e, e);
  d.writeInt32LE(name - (e + 4), e + 4);
  d.writeInt32LE(0, e + 8);
  if (withRela) {
    let r = 0x1200;
    for (const [off, add] of [
      [LINK + 0x900n, LINK + 0x10000n], // another relocation: not ours
      [LINK + BigInt(at), LINK],
    ] as const) {
      d.writeBigUInt64LE(off, r);
      d.writeBigUInt64LE(R_AARCH64_RELATIVE, r + 8);
      d.writeBigUInt64LE(add, r + 16);
      r += 24;
    }
  }
  return { image: d, at };
}

describe('kaslrAnchor', () => {
  for (const name of ['native', 'wasm'] as const) {
    test(`${name}: kimage_vaddr's file offset and the link address of _text`, () => {
      const backend = loadBackend({ backend: name });
      const { image, at } = syntheticImage();
      expect(kaslrAnchor(image, backend)).toEqual({ link: LINK, kimageVaddr: BigInt(at), relocatable: true });
      let err: unknown;
      try {
        kaslrAnchor(syntheticImage(false).image, backend);
      } catch (e) {
        err = e;
      }
      expect(errorCode(err)).toBe('ERR_NO_KASLR_ANCHOR');
      expect((err as Error).message).toMatch(/kimage_vaddr \(file offset 0x808\) reads 0 and no R_AARCH64_RELATIVE entry fills it/);
    });
  }
});

describe('kaslrSeedSource', () => {
  test('a kaslr-seed, else RNDR (ID_AA64ISAR0_EL1 bits 63:60), else none', () => {
    expect(kaslrSeedSource(true, 0n)).toBe('kaslr-seed');
    expect(kaslrSeedSource(false, 1n << 60n)).toBe('RNDR');
    expect(kaslrSeedSource(false, (1n << 60n) - 1n)).toBeUndefined();
  });
});

describe('KernelSlide', () => {
  const anchor = { link: LINK, kimageVaddr: 0x808n, relocatable: true };
  const KERNEL_PA = 0x4020_0000n;

  function guest(): { mem: Buffer; read: (pa: bigint, len: number) => Buffer; reads: bigint[] } {
    const mem = Buffer.alloc(0x1000);
    const reads: bigint[] = [];
    return {
      mem,
      reads,
      read: (pa, len) => {
        reads.push(pa);
        const o = Number(pa - KERNEL_PA);
        return mem.subarray(o, o + len);
      },
    };
  }

  test('unknown while the quad reads 0, then kimage_vaddr - link, kept once read', () => {
    const g = guest();
    const s = new KernelSlide(anchor, KERNEL_PA, g.read);
    expect(s.read()).toBeUndefined();
    expect(g.reads).toEqual([KERNEL_PA + 0x808n]);
    g.mem.writeBigUInt64LE(LINK + 0x3a_0000_0000n, 0x808);
    expect(s.read()).toBe(0x3a_0000_0000n);
    g.mem.writeBigUInt64LE(0n, 0x808);
    expect(s.read()).toBe(0x3a_0000_0000n);
    expect(g.reads).toHaveLength(2);
  });

  test('nokaslr: the kernel relocates by 0', () => {
    const g = guest();
    g.mem.writeBigUInt64LE(LINK, 0x808);
    expect(new KernelSlide(anchor, KERNEL_PA, g.read).read()).toBe(0n);
  });

  test('watch calls back once the slide is known, then stops polling', async () => {
    jest.useFakeTimers();
    try {
      const g = guest();
      const seen: bigint[] = [];
      const stop = new KernelSlide(anchor, KERNEL_PA, g.read).watch((s) => seen.push(s), 100);
      jest.advanceTimersByTime(250);
      expect(seen).toEqual([]);
      g.mem.writeBigUInt64LE(LINK + 0x20_0000n, 0x808);
      jest.advanceTimersByTime(100);
      expect(seen).toEqual([0x20_0000n]);
      const n = g.reads.length;
      jest.advanceTimersByTime(1000);
      expect(g.reads).toHaveLength(n);
      stop();
    } finally {
      jest.useRealTimers();
    }
  });

  test('a read that fails (the VM is gone) ends the watch without throwing', () => {
    jest.useFakeTimers();
    try {
      let calls = 0;
      const s = new KernelSlide(anchor, KERNEL_PA, () => {
        calls++;
        if (calls > 1) throw new Error('the VM is closed');
        return Buffer.alloc(8);
      });
      s.watch(() => undefined, 100);
      jest.advanceTimersByTime(500);
      expect(calls).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  test('slideAdvice says how to load the symbols', () => {
    expect(slideAdvice(0x1e0_0000n)).toBe('KASLR slide 0x1e00000; in gdb: symbol-file kernel.sym -o 0x1e00000');
    expect(slideAdvice(0n)).toMatch(/slide 0: the kernel runs at its link address/);
  });
});
