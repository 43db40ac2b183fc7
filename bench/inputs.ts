/**
 * The bench inputs, identical to bench/rust/src/main.rs (same generator,
 * seeds and mix; bench.ts compares the checksums the Rust binary prints).
 */

/** The syndromes observed on real KVM/arm64 (../shared/lab/arm64-kvm results). */
export const KVM_SYNDROMES: readonly bigint[] = [0xf200_0000n, 0xf200_0123n, 0xcb00_0022n, 0xca00_0022n, 0xc200_0022n];

/**
 * Common exception classes of the realistic part of the mix (Linux esr.h
 * ESR_ELx_EC_*): DABT_LOW, IABT_LOW, HVC64, SYS64, WATCHPT_LOW, SOFTSTP_LOW,
 * SVC64, SERROR.
 */
const COMMON_ECS: readonly bigint[] = [0x24n, 0x20n, 0x16n, 0x18n, 0x34n, 0x32n, 0x15n, 0x2fn];

/** Seed of the single-decode ring ("kvm-debg" in ASCII). */
const SEED_RING = 0x6b76_6d2d_6465_6267n;
/** Seed of the batch array. */
const SEED_BATCH = SEED_RING ^ 1n;
/** Values in the single-decode ring (a power of two: index with a mask). */
export const RING = 1024;
/** Values in the batch workload. */
export const BATCH = 1_000_000;
/** ESR_ELx.EC position (Arm ARM D24.2.40: EC is bits 31:26). */
const EC_SHIFT = 26n;
/** ESR_ELx bits 25:0: IL and ISS. */
const IL_ISS_MASK = 0x3ff_ffffn;
const U64 = (1n << 64n) - 1n;

/** splitmix64 (Steele, Lea, Flood 2014), as in the Rust bench. */
class SplitMix64 {
  constructor(private state: bigint) {}
  next(): bigint {
    this.state = (this.state + 0x9e37_79b9_7f4a_7c15n) & U64;
    let z = this.state;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & U64;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & U64;
    return z ^ (z >> 31n);
  }
}

/**
 * `n` values: 3/8 real KVM syndromes, 3/8 common classes with random IL and
 * ISS (ISS2 zero), 2/8 fully random 64-bit values (RES0 violations included).
 */
function genValues(seed: bigint, n: number): BigUint64Array {
  const rng = new SplitMix64(seed);
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    const sel = r >> 61n;
    if (sel <= 2n) {
      out[i] = KVM_SYNDROMES[Number((r >> 32n) % 5n)]!;
    } else if (sel <= 5n) {
      const ec = COMMON_ECS[Number((r >> 40n) % 8n)]!;
      out[i] = (ec << EC_SHIFT) | (r & IL_ISS_MASK);
    } else {
      out[i] = rng.next();
    }
  }
  return out;
}

/** The single-decode ring: the five KVM syndromes, then the seeded mix. */
export function ringValues(): BigUint64Array {
  const out = new BigUint64Array(RING);
  out.set(KVM_SYNDROMES, 0);
  out.set(genValues(SEED_RING, RING - KVM_SYNDROMES.length), KVM_SYNDROMES.length);
  return out;
}

/** The batch array. */
export function batchValues(): BigUint64Array {
  return genValues(SEED_BATCH, BATCH);
}

/** Wrapping 64-bit sum, as `0x` hex: the Rust binary prints the same. */
export function checksum(values: BigUint64Array): string {
  let s = 0n;
  for (const v of values) s = (s + v) & U64;
  return `0x${s.toString(16)}`;
}
