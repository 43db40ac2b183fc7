/**
 * Syndromes as text: the value syntax and the free-text finder. Shared by the
 * CLI (`decode`, `decode --grep`) and the decoder web page (web/app.ts), so it
 * imports nothing: the page compiles it for the browser as it is.
 */

/** The largest ESR_ELx value. */
export const U64_MAX = (1n << 64n) - 1n;

/** 0x-hex, 0b-binary or decimal; `_` groups digits one at a time (0x9600_0045), as in Rust and JS. */
const VALUE_SYNTAX = /^(0[xX][0-9a-fA-F](_?[0-9a-fA-F])*|0[bB][01](_?[01])*|[0-9](_?[0-9])*)$/;

/** `text` as a 64-bit value, or why it is not one. */
export function parseU64(text: string): { value: bigint } | { problem: string } {
  const t = text.trim();
  if (!VALUE_SYNTAX.test(t)) return { problem: 'not a number (expected 0x-hex, 0b-binary or decimal; _ may group digits)' };
  const value = BigInt(t.replace(/_/g, ''));
  if (value > U64_MAX) return { problem: 'more than 64 bits' };
  return { value };
}

/**
 * Syndromes in free text: `ESR`, `esr` or `ESR_ELx` then `=`, `:` or blanks and a 0x value
 * (Linux arm64 do_mem_abort's "ESR = 0x...", KVM's "esr=0x..."), or the 16 hex digits an
 * arm64 die() prints after "Internal error: <what>:" (arch/arm64/kernel/traps.c).
 */
const SYNDROME_IN_TEXT = /\besr(?:_el[123])?\s*[=:]?\s*(0x[0-9a-f_]+)\b|Internal error: [^:\n]*: ([0-9a-f]{16}) \[#/gi;

/** The syndromes written in free text (dmesg, a KVM log), as written there. */
export function syndromesIn(text: string): string[] {
  return [...text.matchAll(SYNDROME_IN_TEXT)].map((m) => (m[1] !== undefined ? m[1] : `0x${m[2] as string}`));
}
