/**
 * The kernel-symbol and KASLR-anchor recovery on the lane's real Debian arm64 Image, on both
 * backends (the synthetic Images in symbols.test.ts and kaslr.test.ts cannot show that the
 * search finds the real tables). The arm64 lane runs this on the host after its setup has
 * fetched the kernel (scripts/arm64/lane.sh, KVM_DEBUG_LANE_IMAGE); plain `jest` does not
 * match *.lane.ts. In the guest, linux/run.sh compares the same recovery with the running
 * kernel's /proc/kallsyms and its KASLR slide.
 */
import * as fs from 'fs';
import { loadBackend } from '../../src/binding';
import { kaslrAnchor, recoverKernelSymbols, type KernelSymbol } from '../../src/decode';

const IMAGE_PATH = process.env.KVM_DEBUG_LANE_IMAGE;
if (!IMAGE_PATH) throw new Error('KVM_DEBUG_LANE_IMAGE is not set: run this through scripts/arm64/lane.sh');
const image = fs.readFileSync(IMAGE_PATH);
const native = loadBackend({ backend: 'native' });
const wasm = loadBackend({ backend: 'wasm' });
const TWO_MIB = 2n << 20n;

describe(`the lane's Image (${IMAGE_PATH})`, () => {
  const fromNative = recoverKernelSymbols(image, native);
  const byName = new Map<string, KernelSymbol>(fromNative.symbols.map((s) => [s.name, s]));

  test('both backends recover the same symbols and the same ELF', () => {
    const fromWasm = recoverKernelSymbols(image, wasm);
    expect(fromWasm.symbols).toEqual(fromNative.symbols);
    expect(Buffer.from(fromWasm.elf).equals(Buffer.from(fromNative.elf))).toBe(true);
  });

  test('the kallsyms part is a kernel table: tens of thousands of names, in address order', () => {
    const k = fromNative.symbols.slice(0, fromNative.fromKallsyms);
    expect(k.length).toBeGreaterThan(20_000);
    const disorder = k.findIndex((s, i) => i > 0 && s.addr < (k[i - 1] as KernelSymbol).addr);
    expect(disorder).toBe(-1);
    expect(byName.get('start_kernel')?.kind).toBe('T');
    expect(byName.get('do_sys_openat2')?.kind).toMatch(/^[tT]$/);
    expect(byName.get('vectors')?.kind).toBe('T');
    expect(byName.get('jiffies')?.kind).toMatch(/^[dDbB]$/);
  });

  test('the KASLR anchor is kimage_vaddr, agreeing with kallsyms, and reads 0 in the file', () => {
    const a = kaslrAnchor(image, native);
    expect(kaslrAnchor(image, wasm)).toEqual(a);
    expect(a.relocatable).toBe(true);
    expect(a.link % TWO_MIB).toBe(0n);
    expect(a.link + a.kimageVaddr).toBe(byName.get('kimage_vaddr')?.addr);
    expect(image.readBigUInt64LE(Number(a.kimageVaddr))).toBe(0n);
    // The Image's first byte is _text: every kernel symbol lies above the link address.
    expect(fromNative.symbols.every((s) => s.addr >= a.link)).toBe(true);
  });
});
