/**
 * The running kernel's KASLR slide: whether there can be one, and reading it from guest
 * memory where the kernel itself keeps its base (`kimage_vaddr`, found in the Image by
 * crates/decode/src/kaslr.rs). The CLI reports it; the GDB server answers `qOffsets` and
 * `monitor kaslr` with it, so gdb can slide the symbols from `kvm-debug symbols`.
 */

import type { KaslrAnchor } from './decode';

const MASK64 = (1n << 64n) - 1n;
/** ID_AA64ISAR0_EL1.RNDR, bits [63:60] (Arm ARM): non-zero with FEAT_RNG. */
const ISAR0_RNDR_SHIFT = 60n;
const ISAR0_RNDR_MASK = 0xfn;

/**
 * What seeds the kernel's randomization, if anything: a kaslr-seed in the device tree, or
 * else the RNDR instruction (FEAT_RNG), which arm64 Linux uses when the FDT has no seed
 * (arch/arm64/kernel/pi/kaslr_early.c). Neither: the kernel runs at its link address.
 */
export function kaslrSeedSource(seeded: boolean, idAa64Isar0: bigint): 'kaslr-seed' | 'RNDR' | undefined {
  if (seeded) return 'kaslr-seed';
  return ((idAa64Isar0 >> ISAR0_RNDR_SHIFT) & ISAR0_RNDR_MASK) !== 0n ? 'RNDR' : undefined;
}

/** Guest-physical reads (the VM's, which hide our BRKs). */
export type PhysRead = (gpa: bigint, len: number) => Uint8Array;

/** The slide of one booted kernel, read from its own `kimage_vaddr`. */
export class KernelSlide {
  private known: bigint | undefined;

  /** `kernelPa`: where the Image's first byte was loaded. */
  constructor(
    readonly anchor: KaslrAnchor,
    readonly kernelPa: bigint,
    private readonly readPhys: PhysRead,
  ) {}

  /**
   * The slide (0 under nokaslr) once the kernel has relocated itself, which it does before
   * start_kernel; undefined before that. A value once read is kept: the kernel does not move.
   */
  read(): bigint | undefined {
    if (this.known !== undefined) return this.known;
    const b = Buffer.from(this.readPhys(this.kernelPa + this.anchor.kimageVaddr, 8));
    const base = b.readBigUInt64LE(0);
    if (base === 0n) return undefined;
    this.known = (base - this.anchor.link) & MASK64;
    return this.known;
  }

  /**
   * Calls `onKnown` once the slide can be read, checking every `intervalMs` while the guest
   * runs (the timer never keeps the process alive). Returns the function that stops it.
   */
  watch(onKnown: (slide: bigint) => void, intervalMs = 100): () => void {
    const check = (): boolean => {
      const s = this.read();
      if (s === undefined) return false;
      onKnown(s);
      return true;
    };
    if (check()) return () => undefined;
    const timer = setInterval(() => {
      let done: boolean;
      try {
        done = check();
      } catch {
        done = true; // the VM is gone: nothing more to read
      }
      if (done) clearInterval(timer);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/** How to load symbols at the slide, for a message. */
export function slideAdvice(slide: bigint): string {
  return slide === 0n
    ? 'KASLR slide 0: the kernel runs at its link address'
    : `KASLR slide 0x${slide.toString(16)}; in gdb: symbol-file kernel.sym -o 0x${slide.toString(16)}`;
}
